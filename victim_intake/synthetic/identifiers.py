"""Invented Dutch identifiers: BSNs that pass the 11-test (or deliberately fail it) and V-numbers."""

from __future__ import annotations

import numpy as np

# Weights of the first eight BSN digits; the ninth weighs -1, so it must equal the sum modulo 11.
_BODY_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2])
_BODY_LOW, _BODY_HIGH = 10_000_000, 100_000_000  # eight-digit bodies: BSNs without a leading zero
_ALIEN_LOW, _ALIEN_HIGH = 1_000_000_000, 10_000_000_000


def _body_digits(bodies: np.ndarray) -> np.ndarray:
    return (bodies[:, None] // 10 ** np.arange(7, -1, -1)) % 10


def draw_bsns(rng: np.random.Generator, size: int) -> np.ndarray:
    """`size` different BSNs (9-digit strings) passing the 11-test."""
    spare = size // 8 + 16
    while True:
        # One body in eleven has remainder 10 and no check digit: draw spares and drop those.
        bodies = rng.choice(_BODY_HIGH - _BODY_LOW, size=size + spare, replace=False) + _BODY_LOW
        check = (_body_digits(bodies) @ _BODY_WEIGHTS) % 11
        usable = check < 10
        if usable.sum() >= size:
            break
        spare *= 2
    numbers = (bodies[usable] * 10 + check[usable])[:size]
    return np.array([f"{n:09d}" for n in numbers.tolist()], dtype=object)


def break_bsns(rng: np.random.Generator, bsns: np.ndarray) -> np.ndarray:
    """The same numbers with the check digit changed so that each fails the 11-test."""
    # Changing the last digit by 1-9 changes the weighted sum by a non-multiple of 11.
    shift = rng.integers(1, 10, len(bsns))
    return np.array(
        [f"{b[:8]}{(int(b[8]) + s) % 10}" for b, s in zip(bsns.tolist(), shift.tolist(), strict=True)], dtype=object
    )


def draw_alien_numbers(rng: np.random.Generator, size: int) -> np.ndarray:
    """`size` different V-numbers (10-digit strings)."""
    numbers = rng.choice(_ALIEN_HIGH - _ALIEN_LOW, size=size, replace=False) + _ALIEN_LOW
    return np.array([str(n) for n in numbers.tolist()], dtype=object)
