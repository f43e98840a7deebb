"""Table definitions. `registrations` is generated from the canonical declarations."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from schemas.canonical import REGISTRATION_COLUMNS, FieldSpec

metadata = MetaData()

_SQL_TYPES = {"text": Text, "date": Date, "year": Integer, "integer": Integer, "boolean": Boolean}


def _column(spec: FieldSpec) -> Column:
    return Column(
        spec.name,
        _SQL_TYPES[spec.kind](),
        primary_key=spec.name == "registration_id",
        nullable=spec.nullable,
        comment=spec.description,
    )


# Analyst relation: one row per registration (a report of a presumed victim by one source).
registrations = Table(
    "registrations",
    metadata,
    *(_column(spec) for spec in REGISTRATION_COLUMNS),
    Index("ix_registrations_year", "registration_year"),
    Index("ix_registrations_person", "person_id"),
    comment="One row per registration: a report of a presumed victim by one source.",
)

# Steward relations: what ran, which file each load took, and which rows were held back.
ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("run_id", String(64), primary_key=True, comment="Prefect flow run id"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("state", String(16), nullable=False, comment="running | completed | failed"),
    Column("reason", Text, comment="why the run failed, in counts; never file content"),
    comment="One row per run of the nightly ingestion flow.",
)

ingest_batches = Table(
    "ingest_batches",
    metadata,
    Column("batch_id", String(32), primary_key=True),
    Column("run_id", String(64), ForeignKey("ingest_runs.run_id"), nullable=False),
    Column("source", String(64), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False, comment="content hash: a file's identity"),
    Column("state", String(16), nullable=False, comment="loaded | failed"),
    Column("rows_in", Integer),
    Column("rows_loaded", Integer),
    Column("rows_quarantined", Integer),
    Column("reason", Text, comment="why the file failed; never quotes file content"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("file_path", Text, comment="where the file was read from; used by `rerun`"),
    Column(
        "rows_warned",
        Integer,
        comment="loaded rows with a warning (a place, sector or unit no code list knows became `unknown`); not in rows_quarantined",
    ),
    # The exactly-once guarantee: a file content can be in state `loaded` only once, whatever
    # runs race for it. Enforced by the database, so it also holds after crashes.
    Index(
        "uq_ingest_batches_loaded_file",
        "file_sha256",
        unique=True,
        sqlite_where=text("state = 'loaded'"),
        postgresql_where=text("state = 'loaded'"),
    ),
    Index("ix_ingest_batches_run", "run_id"),
    comment="One row per attempt to load one file (a batch).",
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(32), ForeignKey("ingest_batches.batch_id"), nullable=False),
    Column("row_number", Integer, nullable=False, comment="1-based line or row in the file"),
    Column("column_name", String(128), nullable=False),
    Column("rule", Text, nullable=False, comment="the check that failed; never the failing value"),
    Column("source_record_id", Text, comment="the source's own key of the record, for the steward"),
    Column(
        "sealed_value",
        Text,
        comment="the offending value, AES-GCM sealed under the vault key (base64); never in clear",
    ),
    Column(
        "severity",
        String(8),
        nullable=False,
        server_default="error",
        comment="error: the row was held back; warning: the row loaded, the value no code list knows became `unknown`",
    ),
    Index("ix_quarantine_batch", "batch_id"),
    comment="One row per (invalid row, column, rule) of a loaded file, and per warning about a loaded row.",
)

key_fingerprints = Table(
    "key_fingerprints",
    metadata,
    Column("purpose", String(32), primary_key=True),
    Column("fingerprint", String(32), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    comment="Fingerprint of each key the warehouse was built with; a run with another key is refused.",
)
