"""The analysts' documentation matches the code: generated dictionary, runnable example SQL, working grants."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from scratch_db import POSTGRES_ADMIN_URL
from test_report import rows, warehouse_with  # noqa: F401  (fixture)

from warehouse.dictionary import data_dictionary

DOCS = Path(__file__).resolve().parent.parent / "docs"


def sql_blocks(text: str) -> list[str]:
    return re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL)


def test_data_dictionary_is_generated_from_the_declarations() -> None:
    published = (DOCS / "data-dictionary.md").read_text(encoding="utf-8")
    assert published == data_dictionary(), "regenerate: python -m warehouse.dictionary > docs/data-dictionary.md"


def test_example_queries_run_on_sqlite(tmp_path, rows) -> None:  # noqa: F811
    engine = warehouse_with(f"sqlite:///{tmp_path / 'w.sqlite'}", rows)
    examples = [block for block in sql_blocks((DOCS / "analysts.md").read_text(encoding="utf-8")) if block.lstrip().startswith("SELECT")]
    assert len(examples) >= 5
    with engine.connect() as connection:
        for example in examples:
            assert connection.execute(sa.text(example)).all(), example


@pytest.mark.postgres
def test_read_only_role_sees_the_analyst_tier_and_nothing_else(rows, scratch_postgres) -> None:  # noqa: F811
    engine = warehouse_with(scratch_postgres, rows)
    text = (DOCS / "analysts.md").read_text(encoding="utf-8")
    grants = next(block for block in sql_blocks(text) if "CREATE ROLE" in block)
    role = f"alice_{uuid.uuid4().hex[:8]}"
    without_comments = "\n".join(line.split("--")[0] for line in grants.splitlines())
    statements = [
        statement.replace("alice", role).replace("'...'", "'x'")
        for statement in without_comments.split(";")
        if statement.strip()
    ]
    assert len(statements) == 3
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
        with engine.connect() as connection:
            connection.execute(sa.text(f"SET ROLE {role}"))
            for example in sql_blocks(text):
                if example.lstrip().startswith("SELECT"):
                    assert connection.execute(sa.text(example)).all(), example
            for forbidden in (
                "registrations", "mart_person_years", "mart_yearly_counts", "ingest_batches", "quarantine", "key_fingerprints",
                "mart_stale_years", "publications", "published_cells",
            ):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    with connection.begin_nested():
                        connection.execute(sa.text(f"SELECT * FROM {forbidden}"))
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with connection.begin_nested():
                    connection.execute(sa.text("DELETE FROM registrations"))
            connection.rollback()
    finally:
        engine.dispose()
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            # Roles belong to the cluster, not to the scratch database.
            connection.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()
