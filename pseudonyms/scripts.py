"""Names written in other scripts, and Latin names typed with look-alike letters of other scripts.

Sources abroad and shelters write names in Cyrillic, Chinese or Arabic script; a keyboard left in
another layout types a Cyrillic `і` or `о` inside a Latin name. A word that mixes Latin letters
with Cyrillic or Greek ones is a Latin word: its look-alike letters become the Latin letters they
are confusable with (Unicode's confusables, UTS #39, from `confusable_homoglyphs`). Everything
else is transliterated to ASCII by `anyascii` (`Шевченко` -> Shevchenko, `Олена` -> Olena).

Some scripts lose, in transliteration, the difference between names: Chinese characters
(`李伟` and `黎威` are both "Li Wei": many characters share a syllable, and tones are not
written) and the abjads Arabic and Hebrew (short vowels are not written, and distinct letters
fold into one Latin letter: ح and ه both give h). `LOSSY_SCRIPTS` names them; a name in one of
them is linked by name only to the same name in that script (`lossy_script_forms`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from anyascii import anyascii

LOSSY_SCRIPTS: tuple[str, ...] = ("Han", "Arabic", "Hebrew")
# An RE2 class (Arrow's regular expressions) matching a letter of a lossy script.
LOSSY_SCRIPT_LETTER = "[" + "".join(rf"\p{{{script}}}" for script in LOSSY_SCRIPTS) + "]"
_LOOK_ALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK"})
_WORD = re.compile(r"[^\W\d_]+")


@cache
def _look_alikes() -> dict[int, str]:
    """Cyrillic and Greek letters that UTS #39 lists as confusable with one ASCII letter."""
    from confusable_homoglyphs import categories, confusables

    table = {}
    for character, glyphs in confusables.confusables_data.items():
        if len(character) != 1 or categories.alias(character) not in _LOOK_ALIKE_SCRIPTS:
            continue
        latin = [glyph["c"] for glyph in glyphs if len(glyph["c"]) == 1 and glyph["c"].isascii() and glyph["c"].isalpha()]
        if latin:
            table[ord(character)] = latin[0]
    return table


@cache
def _script(character: str) -> str:
    from confusable_homoglyphs import categories

    return categories.alias(character)


def _latin_lookalikes(word: re.Match) -> str:
    """A word that mixes Latin letters with Cyrillic or Greek ones, with those letters made Latin."""
    text = word.group(0)
    scripts = {_script(character) for character in text}
    if "LATIN" in scripts and scripts & _LOOK_ALIKE_SCRIPTS:
        return text.translate(_look_alikes())
    return text


def to_latin(text: str) -> str:
    """`text` in ASCII letters: look-alike letters inside Latin words folded, the rest transliterated."""
    return anyascii(_WORD.sub(_latin_lookalikes, unicodedata.normalize("NFC", text)))
