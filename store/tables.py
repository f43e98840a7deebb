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
    LargeBinary,
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
    # Every run checks, without reading the rows: each partner's scope (`warehouse.scopes`) and
    # the national registrations per year against the marts (`warehouse.marts.stale_years`).
    Index("ix_registrations_source_scope", "source", "scope"),
    Index("ix_registrations_scope_year", "scope", "registration_year"),
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
    Column("rows_kept_apart", Integer, comment="registrations not linked by name: the person would have passed the bound"),
    Column("reason", Text, comment="why the file failed; never quotes file content"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("file_path", Text, comment="where the file was read from; used by `rerun`"),
    Column(
        "rows_ignored_older",
        Integer,
        comment="rows not applied because the warehouse holds them from a later export (a correction older than the stored row)",
    ),
    Column(
        "rows_warned",
        Integer,
        comment="loaded rows with a warning (a place, sector or unit no code list knows became `unknown`); not in rows_quarantined",
    ),
    Column("replay_of", String(32), comment="a replay: the batch whose quarantined rows it validated again (`quarantine replay`)"),
    Column(
        "replayed_by",
        String(32),
        comment="the replay batch that took over this batch's quarantined rows; its own rows_quarantined are history",
    ),
    Column(
        "rules_fingerprint",
        String(64),
        comment="SHA-256 of the rules the rows were validated under: partner definition or police contract, and code lists",
    ),
    Column("warnings_cleared", Integer, comment="a replay: warnings of loaded rows whose value a code list now knows, coded in place"),
    # The exactly-once guarantee: a file content can be in state `loaded` only once, whatever
    # runs race for it. Enforced by the database, so it also holds after crashes. A replay reads
    # the file again for its quarantined rows only, and is guarded by `replayed_by` instead.
    Index(
        "uq_ingest_batches_loaded_file",
        "file_sha256",
        unique=True,
        sqlite_where=text("state = 'loaded' AND replay_of IS NULL"),
        postgresql_where=text("state = 'loaded' AND replay_of IS NULL"),
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
        LargeBinary,
        comment="the offending value, AES-GCM sealed under the vault key (nonce, ciphertext and tag); never in clear",
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

# Steward relations: the memory of disclosure control. Never granted to analysts: they hold the
# true values of suppressed cells.
publications = Table(
    "publications",
    metadata,
    Column("publication_id", Integer, primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False, comment="registration year the report is about"),
    Column("report", String(32), nullable=False, comment="which report: `scale_and_nature`"),
    Column("top", Integer, nullable=False, comment="nationalities and countries shown by name (--top)"),
    Column("language", String(8), nullable=False, comment="nl | en"),
    Column("format", String(8), nullable=False, comment="html | md | csv"),
    Column("min_cell", Integer, nullable=False, comment="the suppression level K (--min-cell)"),
    Column("table_count", Integer, nullable=False, comment="tables in the report"),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False, comment="operating-system user the report was made as"),
    Column("claimed_actor", String(128), comment="VICTIM_INTAKE_ACTOR as set when the report was made: a name claimed, not verified"),
    Column("data_fingerprint", String(64), nullable=False, comment="SHA-256 of the year's marts the report was made from"),
    Column(
        "revision_of",
        Integer,
        ForeignKey("publications.publication_id"),
        comment="the latest earlier publication of the year made from other data, when this one is a revision",
    ),
    Index("ix_publications_year", "year"),
    comment="One row per report that went out; drafts and --min-cell 0 reports are not recorded.",
)

published_cells = Table(
    "published_cells",
    metadata,
    Column("publication_id", Integer, ForeignKey("publications.publication_id"), primary_key=True),
    Column("table_name", String(64), primary_key=True),
    Column("row_position", Integer, primary_key=True, comment="row in the table; -1 for the row of column totals"),
    Column("column_position", Integer, primary_key=True, comment="column in the table; -1 for the column of row totals"),
    Column("cell", Text, nullable=False, comment="what the cell counts: measure, year and categories, as JSON"),
    Column("year", Integer, nullable=False, comment="the year the cell counts (the trend shows earlier years)"),
    Column("data_fingerprint", String(64), nullable=False, comment="SHA-256 of that year's marts when the cell went out"),
    Column("value", Integer, nullable=False, comment="the true count, also of a suppressed cell"),
    Column("suppressed", Boolean, nullable=False),
    Index("ix_published_cells_year", "year"),
    comment="One row per cell of every table of every publication, with its true value and whether it was suppressed.",
)
