"""Countries as partners write them -> ISO alpha-3, from pycountry and its Dutch translations."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pycountry

from schemas.countries import to_alpha3


def test_dutch_translations_are_installed_with_pycountry() -> None:
    assert (Path(pycountry.LOCALES_DIR) / "nl" / "LC_MESSAGES" / "iso3166-1.mo").is_file()


def test_codes_and_english_and_dutch_names() -> None:
    written = pd.Series(["PL", "pol", "Polen", "Poland", " roemenië ", "Roemenie", "Verenigde Staten",
                         "Duitsland", "NA", "Namibië", "XK", "Kosovo", "GBR", "Verenigd Koninkrijk"])
    assert to_alpha3(written).tolist() == ["POL", "POL", "POL", "POL", "ROU", "ROU", "USA",
                                           "DEU", "NAM", "NAM", "XKX", "XKX", "GBR", "GBR"]


def test_unknown_and_missing_stay_null() -> None:
    assert to_alpha3(pd.Series(["Atlantis", "00", "ZZ", None, ""])).isna().all()
