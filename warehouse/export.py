"""`victim-intake export --tier analyst`: the analyst tier in a file of its own, audited.

For the embedded SQLite warehouse, whose file also holds the steward relations and the vault:
the four analyst relations are read in one transaction (one consistent state) and written to a
new SQLite file, or to a folder of Parquet files (one per relation) when the path ends in
`.parquet`. The result is private to its user (files 0600, folder 0700) and appears at its path
only when complete (written beside it, then renamed). The export is recorded in the privacy audit
(who, when, which relations and how many rows, where to).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, MetaData, create_engine, select

from config.private_files import make_private_dir
from store.bulk import bulk_insert
from vault.entries import audit
from warehouse.analyst_tier import ANALYST_RELATIONS
from warehouse.marts import refresh_marts

FILE_MODE = 0o600


def _read(engine: Engine) -> dict[str, pd.DataFrame]:
    with engine.begin() as connection:
        # Nothing stale goes out: the tier is brought up to date in the same transaction.
        refresh_marts(connection)
        return {relation.name: pd.read_sql(select(relation), connection) for relation in ANALYST_RELATIONS}


def _write_sqlite(frames: dict[str, pd.DataFrame], path: Path) -> None:
    target = create_engine(f"sqlite:///{path}")
    schema = MetaData()
    for relation in ANALYST_RELATIONS:
        relation.to_metadata(schema)
    try:
        schema.create_all(target)
        with target.begin() as connection:
            for name, frame in frames.items():
                bulk_insert(connection, name, frame)
    finally:
        target.dispose()
    os.chmod(path, FILE_MODE)


def _write_parquet(frames: dict[str, pd.DataFrame], folder: Path) -> None:
    make_private_dir(folder)
    for name, frame in frames.items():
        file = folder / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), file)
        os.chmod(file, FILE_MODE)


def export_analyst_tier(engine: Engine, out: Path) -> dict[str, int]:
    """Write the analyst tier to `out` (refused when it exists) and audit it; returns rows per relation."""
    out = out.expanduser().absolute()
    if out.exists() or out.is_symlink():
        raise FileExistsError(f"{out} exists: choose a new path")
    frames = _read(engine)
    make_private_dir(out.parent)
    partial = out.with_name(f".{out.name}.partial")
    if partial.is_dir():
        shutil.rmtree(partial)
    else:
        partial.unlink(missing_ok=True)
    try:
        if out.suffix == ".parquet":
            _write_parquet(frames, partial)
        else:
            _write_sqlite(frames, partial)
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
        raise
    rows = {name: len(frame) for name, frame in frames.items()}
    with engine.begin() as connection:
        audit(
            connection,
            "export",
            reason="analyst tier",
            detail=f"{', '.join(f'{name}: {count} row(s)' for name, count in rows.items())}; to {out}",
        )
    return rows
