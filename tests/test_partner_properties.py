"""Property tests: no byte string and no CSV shape crashes the partner connector, and nothing that
comes out as valid breaks the canonical contract."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from budget import examples
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from source_files import read_and_validate

from connectors.files import FileRejected
from schemas.canonical import record_schema, registration_schema
from schemas.partner_definition import load_definition, load_definitions
from sources.partner import PartnerSource
from sources.prepare import registrations_of

PROEF = load_definition(Path(__file__).parent / "fixtures" / "hostile" / "partners" / "proef.yaml")
DEFINITIONS = {"proef (cp1252, ;)": PROEF, "kmar (utf-8, ,)": load_definitions()["kmar"]}


@pytest.fixture(autouse=True)
def keys(pseudonym_key, vault_key) -> None:
    """Keys for the pseudonymisation step (the same for every example of a test)."""
# Cells that are valid somewhere, cells that are hostile, and anything at all.
CELLS = st.one_of(
    st.sampled_from([
        "", "H-1", "H-2", "Kowalska", "Anna Maria", "02-04-1999", "1999-04-02", "14-03-2025", "2025-03-14",
        "Vrouw", "Man", "F", "M", "Polen", "PL", "POL", "Roemenië", "Atlantis", "Seksuele uitbuiting",
        "Arbeidsuitbuiting", "labour", "sexual", "=1+1", "@SUM(A1)", "-99", "31-02-2024", "01-01-1850",
        "Y", "N", '"', ";", ",", "\r\n", "\n", "\x00",
    ]),
    st.text(max_size=20),
)


def check(definition, data: bytes) -> None:
    """Read and validate `data` as a delivery of `definition`: refused as a whole, or split so that
    every row is accounted for and every valid row satisfies the canonical and warehouse contracts."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"delivery.{definition.format}"
        path.write_bytes(data)
        try:
            _, validated = read_and_validate(PartnerSource(definition), path)
        except FileRejected as refused:
            assert "\n" not in str(refused)
            return
    quarantined = validated.quarantined["row_number"].nunique() if len(validated.quarantined) else 0
    assert len(validated.records) + quarantined == validated.rows_in
    record_schema().validate(validated.records)
    registration_schema().validate(registrations_of(PartnerSource(definition), validated, "batch", b"k" * 32))


def encoded(text: str, definition) -> bytes:
    try:
        return text.encode(definition.encoding)
    except UnicodeEncodeError:
        return text.encode("utf-8")


@pytest.mark.parametrize("definition", DEFINITIONS.values(), ids=list(DEFINITIONS))
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600))
def test_random_bytes_never_crash(definition, data: bytes) -> None:
    check(definition, data)


@st.composite
def csv_shapes(draw, definition) -> bytes:
    headers = list(definition.columns.values())
    header = draw(st.one_of(st.just(headers), st.permutations(headers), st.lists(st.sampled_from([*headers, "x"]), max_size=12)))
    width = len(header)
    rows = draw(st.lists(st.lists(CELLS, min_size=max(0, width - 2), max_size=width + 2), max_size=8))
    quoted = draw(st.booleans())
    if quoted:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=definition.delimiter, lineterminator=draw(st.sampled_from(["\r\n", "\n"]))).writerows([header, *rows])
        text = buffer.getvalue()
    else:
        text = "\n".join(definition.delimiter.join(row) for row in [header, *rows])
    return encoded(text, definition)


@pytest.mark.parametrize("definition", DEFINITIONS.values(), ids=list(DEFINITIONS))
@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_csv_shapes_never_crash_nor_load_a_bad_row(definition, data) -> None:
    check(definition, data.draw(csv_shapes(definition)))


XLSX_PARTNER = load_definitions()["nla"]
WORKBOOK_CELLS = st.one_of(CELLS.filter(lambda text: "\x00" not in text), st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.dates(), st.none())


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_workbooks_never_crash_nor_load_a_bad_row(data) -> None:
    import openpyxl
    from openpyxl.utils.exceptions import IllegalCharacterError

    headers = list(XLSX_PARTNER.columns.values())
    header = data.draw(st.one_of(st.just(headers), st.permutations(headers), st.lists(st.sampled_from([*headers, "x"]), max_size=12)))
    rows = data.draw(st.lists(st.lists(WORKBOOK_CELLS, max_size=len(header) + 2), max_size=6))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = data.draw(st.sampled_from(["Signalen", "Blad1"]))
    try:
        for row in [header, *rows]:
            sheet.append(row)
    except IllegalCharacterError:
        reject()  # a control character no workbook can hold: draw another example
    buffer = io.BytesIO()
    workbook.save(buffer)
    check(XLSX_PARTNER, buffer.getvalue())
