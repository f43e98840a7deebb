"""The spool keeps prepared parts on disk encrypted, private, whole or not at all, and for one run."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sources.spool
from sources.spool import SpoolBroken, spool_in

NAME = "Wilhelmina Oranje-Nassau"


def part() -> dict:
    """A part as large as several chunks, holding a name in clear among other columns."""
    size = 400_000
    return {
        "frame": pd.DataFrame({"name": pd.array([NAME] * size, dtype="str"), "year": np.arange(size)}),
        "payload": (NAME + ";") * 2_000_000,  # about 50 MB of text: more than one chunk
    }


def test_a_part_comes_back_as_it_went_in_and_lies_on_disk_encrypted_and_private(tmp_path: Path) -> None:
    value = part()
    with spool_in(tmp_path / "spool") as spool:
        spool.put("batch-0", value)
        stored = spool.folder / "batch-0"
        assert NAME.encode() not in stored.read_bytes()
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert stat.S_IMODE(spool.folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "spool").stat().st_mode) == 0o700
        back = spool.take("batch-0")
        pd.testing.assert_frame_equal(back["frame"], value["frame"])
        assert back["payload"] == value["payload"]
        spool.drop("batch-0")
        assert not spool.has("batch-0")
    assert list((tmp_path / "spool").iterdir()) == []  # the run's spool goes with it


def test_a_text_column_is_written_as_it_lies_and_a_slice_comes_back_as_itself(tmp_path: Path) -> None:
    """pandas pickles an Arrow-backed column as a copy of its Arrow data; a prepared part's text
    columns are written without one (300 MB of them for a part of 324,000 records)."""
    whole = pd.Series(pd.array([NAME] * 400_000, dtype="str"))
    value = {"whole": whole, "slice": whole.iloc[1000:2000].reset_index(drop=True)}
    measured = pa.proxy_memory_pool(pa.default_memory_pool())
    default = pa.default_memory_pool()
    with spool_in(tmp_path / "spool") as spool:
        pa.set_memory_pool(measured)
        try:
            spool.put("batch-0", value)
        finally:
            pa.set_memory_pool(default)
        back = spool.take("batch-0")
    assert measured.max_memory() < 2 * 2**20  # the slice's copy only, not the column's 13 MB
    pd.testing.assert_series_equal(back["whole"], value["whole"])
    pd.testing.assert_series_equal(back["slice"], value["slice"])
    assert back["slice"].array._pa_array.get_total_buffer_size() < 100_000  # its values, not the whole column's


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap", "other spool"])
def test_a_damaged_or_foreign_part_is_refused(tmp_path: Path, damage: str) -> None:
    with spool_in(tmp_path / "spool") as spool, spool_in(tmp_path / "other") as other:
        spool.put("batch-0", part())
        spool.put("batch-1", {"frame": pd.DataFrame({"x": [1]})})
        stored = spool.folder / "batch-0"
        data = bytearray(stored.read_bytes())
        if damage == "flip":
            data[len(data) // 2] ^= 1
            stored.write_bytes(bytes(data))
        elif damage == "truncate":
            stored.write_bytes(bytes(data[: len(data) - 100]))
        elif damage == "swap":  # a whole part under another part's name
            os.replace(spool.folder / "batch-1", stored)
        else:  # the same part, read with another run's key
            (other.folder / "batch-0").write_bytes(bytes(data))
            spool = other
        with pytest.raises(SpoolBroken) as refused:
            spool.take("batch-0")
        assert NAME not in str(refused.value)


SMALL_CHUNK = 4096


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records of a few kilobytes: a small part spans many, and the tests stay fast."""
    monkeypatch.setattr(sources.spool, "_CHUNK", SMALL_CHUNK)


def small_part(seed: int) -> dict:
    """A part whose head spans several chunks: Python bytes in an object column (pickled in the
    head, like a prepared part's sealed vault entries), a bytes value larger than a pickle frame
    (written by the pickler whole), and numpy and Arrow columns (out-of-band buffers)."""
    rng = np.random.default_rng(seed)
    size = 2_000
    return {
        "frame": pd.DataFrame(
            {
                "sealed": pd.Series([rng.bytes(int(length)) for length in rng.integers(30, 131, size)], dtype=object),
                "name": pd.array([NAME] * size, dtype="str"),
                "year": np.arange(size),
            }
        ),
        "large": rng.bytes(200_000),
    }


def records(data: bytes) -> list[bytes]:
    """A spooled part's file, record by record, each with its frame."""
    found, at = [], 0
    while at < len(data):
        _, length = sources.spool._FRAME.unpack_from(data, at)
        end = at + sources.spool._FRAME.size + sources.spool._NONCE + length
        found.append(data[at:end])
        at = end
    return found


def test_a_part_whose_head_spans_several_chunks_comes_back_whole(tmp_path: Path, small_chunks: None) -> None:
    value = small_part(seed=1)
    with spool_in(tmp_path / "spool") as spool:
        spool.put("batch-0", value)
        kinds = b"".join(record[:1] for record in records((spool.folder / "batch-0").read_bytes()))
        assert re.fullmatch(rb"h{50,}tb{2,}", kinds), "head records, the trailer, then the buffers"
        back = spool.take("batch-0")
    pd.testing.assert_frame_equal(back["frame"], value["frame"])
    assert back["large"] == value["large"]


@pytest.mark.parametrize(
    "damage",
    [
        "cut after a head record",
        "cut before the last record",
        "cut inside a record",
        "swap two head records",
        "swap two buffer records",
        "record of another part",
    ],
)
def test_a_part_with_a_record_dropped_moved_or_foreign_is_refused(tmp_path: Path, small_chunks: None, damage: str) -> None:
    with spool_in(tmp_path / "spool") as spool:
        spool.put("batch-0", small_part(seed=1))
        spool.put("batch-1", small_part(seed=2))
        stored = spool.folder / "batch-0"
        parts = records(stored.read_bytes())
        heads = [at for at, record in enumerate(parts) if record[:1] == b"h"]
        buffers = [at for at, record in enumerate(parts) if record[:1] == b"b"]
        if damage == "cut after a head record":
            parts = parts[: heads[1] + 1]
        elif damage == "cut before the last record":
            parts = parts[:-1]
        elif damage == "cut inside a record":
            parts[heads[3]] = parts[heads[3]][: len(parts[heads[3]]) // 2]
            parts = parts[: heads[3] + 1]
        elif damage.startswith("swap"):
            first, second = (heads if "head" in damage else buffers)[:2]
            parts[first], parts[second] = parts[second], parts[first]
        else:  # the same place in another part of the same spool: same key, same kind, same size
            parts[heads[2]] = records((spool.folder / "batch-1").read_bytes())[heads[2]]
        stored.write_bytes(b"".join(parts))
        with pytest.raises(SpoolBroken) as refused:
            spool.take("batch-0")
        assert NAME not in str(refused.value)


def test_the_spool_a_killed_run_left_is_removed_by_the_next(tmp_path: Path) -> None:
    parent = tmp_path / "spool"
    script = (
        "import os, pathlib\n"
        "from sources.spool import spool_in\n"
        f"with spool_in(pathlib.Path({str(parent)!r})) as spool:\n"
        "    spool.put('batch-0', 1)\n"
        "    os._exit(9)  # killed: no clean-up runs\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], check=False)
    assert killed.returncode == 9
    assert len(list(parent.iterdir())) == 1
    with spool_in(parent) as spool:
        assert list(parent.iterdir()) == [spool.folder]


def test_a_prepared_part_holds_no_clear_identifying_value(tmp_path: Path, pseudonym_key: bytes) -> None:
    """What waits in the spool is sealed already: the vault rows are made while a part is prepared."""
    import pickle

    from feed import record, write_feed
    from source_files import prepared_file

    from config.settings import current
    from pseudonyms.keys import load_key

    values = {"achternaam": "Qwyxzvorn", "voornamen": "Zebulonia", "geboortedatum": "1931-02-17"}
    write_feed(tmp_path / "police", "politie-2025-03-15", [record("PL0900-2025-900001", **values, bsn="582047195", v_nummer="7319046285")])
    (path,) = (tmp_path / "police").glob("*.ndjson")
    _, prepared = prepared_file("police", path, "batch-0")
    held = pickle.dumps(prepared, protocol=5)
    needles = [*values.values(), "19310217", "582047195", "7319046285", "qwyxzvorn", "zebulonia"]
    assert [value for value in needles if value.encode() in held] == []
    # Nor the vault key: the part is sealed, and the load needs no key to store it.
    key_inside = load_key("vault", current().keys_dir).material in held
    assert not key_inside, "the vault key travels with the prepared part"
    assert len(prepared.identities.vault_rows) == 1
