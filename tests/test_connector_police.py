"""The police feed connector: manifest checks, flattening, free text dropped, safe refusals."""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
import tracemalloc
from pathlib import Path

import pytest
from feed import record, write_feed
from pyarrow import types as pa_types

from connectors.files import FileRejected, sha256_of
from connectors.police import discover, manifest_path, read_police_file, read_schema
from schemas.police import PoliceRecord

MAX = 10**9


def read(path: Path):
    return read_police_file(path, sha256_of(path), MAX)


def test_the_reader_reads_every_field_of_the_model_where_the_model_nests_it() -> None:
    leaves = {}  # leaf name -> (object holding it, arrow type)
    for field in read_schema():
        for leaf in field.type if pa_types.is_struct(field.type) else [field]:
            leaves[leaf.name] = (field.name if leaf is not field else None, str(leaf.type))
    model = PoliceRecord.to_schema().columns
    assert list(leaves) == list(model)
    assert {name: group for name, (group, _) in leaves.items()} == {
        name: (column.metadata or {}).get("group") for name, column in model.items()
    }
    assert {name for name, (_, kind) in leaves.items() if kind == "bool"} == {"bedenktijd_aangeboden", "aangifte"}
    assert leaves["bsn"] == ("persoon", "string")


def test_reads_and_flattens_records(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "politie-2025-03-15", [record("A-1"), record("A-2", bsn=None)])
    feed = read(path)
    assert list(feed.records()["registratie_id"]) == ["A-1", "A-2"]
    assert feed.records().loc[0, "achternaam"] == "de Vries"
    assert feed.records().loc[0, "vorm"] == "seksueel"
    assert feed.records()["aangifte"].dtype == "boolean"
    assert feed.records()["bsn"].isna().tolist() == [False, True]
    assert feed.exported_at == "2025-03-15T02:00:00+01:00"


def test_free_text_never_becomes_a_column(tmp_path: Path) -> None:
    feed = read(write_feed(tmp_path, "f", [record()]))
    assert "toelichting" not in feed.records().columns
    assert not feed.records().astype(str).apply(lambda column: column.str.contains("aangetroffen")).any().any()


def test_gzip_feed(tmp_path: Path) -> None:
    plain = write_feed(tmp_path, "f", [record("A-1"), record("A-2")])
    packed = tmp_path / "f.ndjson.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    manifest = json.loads(manifest_path(packed).read_text())
    manifest.update(bestand=packed.name, sha256=hashlib.sha256(packed.read_bytes()).hexdigest())
    manifest_path(packed).write_text(json.dumps(manifest))
    assert manifest_path(packed).name == "f.manifest.json"
    assert len(read(packed).records()) == 2


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sha256": "0" * 64}, "checksum does not match"),
        ({"aantal_records": 5}, "2 records in the file but 5 in the manifest"),
        ({"bestand": "other.ndjson"}, "manifest names another file"),
        ({"schema_version": "2"}, "schema version is not supported"),
    ],
)
def test_manifest_mismatch_refuses_the_file(tmp_path: Path, changes: dict, expected: str) -> None:
    path = write_feed(tmp_path, "f", [record("A-1"), record("A-2")], manifest_changes=changes)
    with pytest.raises(FileRejected, match=expected):
        read(path)


@pytest.mark.parametrize("field", ["bestand", "schema_version"])
def test_the_reason_never_quotes_what_the_manifest_says(tmp_path: Path, field: str) -> None:
    # Free fields of a manifest are written by the source and may hold anything, a name included.
    canary = "Jan Jansen [/Name] \x1b[31m"
    path = write_feed(tmp_path, "f", [record("A-1")], manifest_changes={field: canary})
    with pytest.raises(FileRejected) as rejected:
        read(path)
    assert "Jansen" not in str(rejected.value)


def test_missing_manifest(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "f", [record()])
    manifest_path(path).unlink()
    with pytest.raises(FileRejected, match="missing"):
        read(path)


def test_wrong_type_is_refused_without_quoting_the_value(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "f", [record("A-1"), record("A-2", achternaam=12345)])
    # Verification parses only the ids; the type error surfaces when the records are read.
    with pytest.raises(FileRejected) as refused:
        read(path).records()
    assert "/persoon/achternaam" in str(refused.value)
    assert "12345" not in str(refused.value)


def test_truncated_file_is_refused_without_quoting_content(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "f", [record("A-1"), record("A-2")])
    data = path.read_bytes()[:-40]
    path.write_bytes(data)
    manifest = json.loads(manifest_path(path).read_text())
    manifest["sha256"] = hashlib.sha256(data).hexdigest()
    manifest_path(path).write_text(json.dumps(manifest))
    with pytest.raises(FileRejected) as refused:
        read(path).records()
    assert "Vries" not in str(refused.value) and "Anna" not in str(refused.value)


def test_size_cap(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "f", [record()])
    with pytest.raises(FileRejected, match="over the cap"):
        read_police_file(path, sha256_of(path), max_bytes=10)


def test_discover_lists_feed_files_only_in_name_order(tmp_path: Path) -> None:
    write_feed(tmp_path, "politie-2025-03-16", [record()])
    write_feed(tmp_path, "politie-2025-03-15", [record()])
    (tmp_path / "notes.txt").write_text("x")
    assert [path.name for path in discover(tmp_path)] == ["politie-2025-03-15.ndjson", "politie-2025-03-16.ndjson"]
    assert discover(tmp_path / "absent") == []


def test_parts_cover_the_file_in_order_with_file_line_numbers(tmp_path: Path) -> None:
    records = [record(f"P-{number}", achternaam=f"Naam{number}") for number in range(200)]
    path = write_feed(tmp_path, "politie-2025-03-14", records)
    whole = read(path).records()
    feed = read_police_file(path, sha256_of(path), MAX, part_bytes=4096)
    parts = list(feed.parts())
    assert len(parts) > 5
    assert [len(part) for part in parts] and sum(len(part) for part in parts) == 200
    # Each part's index continues where the previous one stopped: row numbers are the file's.
    assert [part.index[0] for part in parts[1:]] == [part.index[-1] + 1 for part in parts[:-1]]
    assert feed.records().equals(whole)


def test_a_file_is_cut_into_parts_of_equal_size(tmp_path: Path) -> None:
    """Just over one part's size gives two halves, not a full part and a sliver: the largest part
    sets the load's peak memory."""
    path = write_feed(tmp_path, "politie-2025-03-14", [record(f"P-{number:03}") for number in range(100)])
    feed = read_police_file(path, sha256_of(path), MAX, part_bytes=path.stat().st_size * 3 // 5)
    sizes = [len(part) for part in feed.parts()]
    assert len(sizes) == 2 and abs(sizes[0] - sizes[1]) <= 2


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_the_reader_holds_no_bytes_of_a_part_it_handed_out(tmp_path: Path, packed: bool) -> None:
    """Between parts the reader keeps nothing of the part before: its bytes would add to the peak
    of the process that prepares the next part (three copies of a part's text, once)."""
    path = write_feed(tmp_path, "politie-2025-03-14", [record(f"P-{number}", achternaam="N" * 400) for number in range(600)])
    if packed:
        path = gzip_feed(path, tmp_path / "packed")
    part_bytes = 100_000  # of text: about a third of the file
    parts = read_police_file(path, sha256_of(path), MAX, part_bytes=part_bytes).parts()
    tracemalloc.start()
    try:
        for _ in range(2):
            before = tracemalloc.get_traced_memory()[0]
            frame = next(parts)
            del frame
            gc.collect()
            kept = tracemalloc.get_traced_memory()[0] - before
            assert kept < part_bytes / 2, kept  # before: 230-320 KB, the part's text up to three times
    finally:
        tracemalloc.stop()


def test_ids_repeated_in_different_parts_are_found_before_any_part_is_read(tmp_path: Path) -> None:
    records = [record(f"P-{number}") for number in range(100)] + [record("P-3"), record("P-77")]
    path = write_feed(tmp_path, "politie-2025-03-14", records)
    feed = read_police_file(path, sha256_of(path), MAX, part_bytes=2048)
    assert feed.duplicate_ids == frozenset({"P-3", "P-77"})
    assert feed.record_count == 102


def gzip_feed(plain: Path, folder: Path) -> Path:
    """The feed file compressed, in `folder`, with its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    packed = folder / f"{plain.name}.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    manifest = json.loads(manifest_path(plain).read_text())
    manifest.update(bestand=packed.name, sha256=hashlib.sha256(packed.read_bytes()).hexdigest())
    manifest_path(packed).write_text(json.dumps(manifest))
    return packed


def test_gzip_feed_in_parts(tmp_path: Path) -> None:
    plain = write_feed(tmp_path / "plain", "politie-2025-03-14", [record(f"G-{number}") for number in range(150)])
    packed = gzip_feed(plain, tmp_path)
    feed = read_police_file(packed, sha256_of(packed), MAX, part_bytes=3000)
    assert len(list(feed.parts())) > 3
    assert feed.records().equals(read(plain).records())
