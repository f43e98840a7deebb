"""Baseline: the schema `metadata.create_all` created before the warehouse had migrations.

Frozen: later changes are new revisions, never edits here.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 06:09:23.019813
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ingest_runs',
    sa.Column('run_id', sa.String(length=64), nullable=False, comment='Prefect flow run id'),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False, comment='running | completed | failed'),
    sa.PrimaryKeyConstraint('run_id'),
    comment='One row per run of the nightly ingestion flow.'
    )
    op.create_table('key_fingerprints',
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('fingerprint', sa.String(length=32), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('purpose'),
    comment='Fingerprint of each key the warehouse was built with; a run with another key is refused.'
    )
    op.create_table('registrations',
    sa.Column('registration_id', sa.Text(), nullable=False, comment='stable keyed pseudonym of (source, source record id)'),
    sa.Column('source', sa.Text(), nullable=False, comment='source name: `police` or the partner id'),
    sa.Column('source_kind', sa.Text(), nullable=False, comment="the source's category"),
    sa.Column('reporting_unit', sa.Text(), nullable=True, comment='police unit or region of the reporter, if known'),
    sa.Column('reported_on', sa.Date(), nullable=True, comment='date of the report, if known'),
    sa.Column('registration_year', sa.Integer(), nullable=False, comment='year of the report'),
    sa.Column('person_id', sa.Text(), nullable=True, comment='keyed pseudonym of the person; null when the source carries no identifiers'),
    sa.Column('birth_year', sa.Integer(), nullable=True, comment='year of birth'),
    sa.Column('age_at_report', sa.Integer(), nullable=True, comment='age in completed years on the report date'),
    sa.Column('age_group', sa.Text(), nullable=False, comment='age group at the report'),
    sa.Column('is_minor', sa.Boolean(), nullable=True, comment='under 18 at the report; null when the age is unknown'),
    sa.Column('gender', sa.Text(), nullable=False, comment='gender'),
    sa.Column('nationality', sa.Text(), nullable=False, comment='nationality, ISO 3166-1 alpha-3 code, `UNK` when unknown'),
    sa.Column('exploitation_type', sa.Text(), nullable=False, comment='form of exploitation'),
    sa.Column('exploitation_country', sa.Text(), nullable=False, comment='country of exploitation, ISO 3166-1 alpha-3 code, `UNK` when unknown'),
    sa.Column('exploitation_sector', sa.Text(), nullable=True, comment='sector of labour exploitation, as the source names it'),
    sa.Column('exploitation_municipality', sa.Text(), nullable=True, comment='municipality where the exploitation took place'),
    sa.Column('b8_reflection_offered', sa.Boolean(), nullable=True, comment='a B8/3 reflection period was offered; null when unknown'),
    sa.Column('report_filed', sa.Boolean(), nullable=True, comment='the person filed a report (aangifte); null when unknown'),
    sa.Column('source_exported_at', sa.Text(), nullable=True, comment='export time the source gave the delivery; a later export wins'),
    sa.Column('batch_id', sa.Text(), nullable=False, comment='the load that brought (or last updated) the row'),
    sa.PrimaryKeyConstraint('registration_id'),
    comment='One row per registration: a report of a presumed victim by one source.'
    )
    op.create_index('ix_registrations_person', 'registrations', ['person_id'], unique=False)
    op.create_index('ix_registrations_year', 'registrations', ['registration_year'], unique=False)
    op.create_table('ingest_batches',
    sa.Column('batch_id', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False, comment="content hash: a file's identity"),
    sa.Column('state', sa.String(length=16), nullable=False, comment='loaded | failed'),
    sa.Column('rows_in', sa.Integer(), nullable=True),
    sa.Column('rows_loaded', sa.Integer(), nullable=True),
    sa.Column('rows_quarantined', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True, comment='why the file failed; never quotes file content'),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], ),
    sa.PrimaryKeyConstraint('batch_id'),
    comment='One row per attempt to load one file (a batch).'
    )
    op.create_index('ix_ingest_batches_run', 'ingest_batches', ['run_id'], unique=False)
    op.create_index('uq_ingest_batches_loaded_file', 'ingest_batches', ['file_sha256'], unique=True, sqlite_where=sa.text("state = 'loaded'"), postgresql_where=sa.text("state = 'loaded'"))
    op.create_table('quarantine',
    sa.Column('quarantine_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=32), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False, comment='1-based line or row in the file'),
    sa.Column('column_name', sa.String(length=128), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False, comment='the check that failed; never the failing value'),
    sa.Column('source_record_id', sa.Text(), nullable=True, comment="the source's own key of the record, for the steward"),
    sa.ForeignKeyConstraint(['batch_id'], ['ingest_batches.batch_id'], ),
    sa.PrimaryKeyConstraint('quarantine_id'),
    comment='One row per (invalid row, column, rule) of a loaded file.'
    )
    op.create_index('ix_quarantine_batch', 'quarantine', ['batch_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_quarantine_batch', table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_index('uq_ingest_batches_loaded_file', table_name='ingest_batches', sqlite_where=sa.text("state = 'loaded'"), postgresql_where=sa.text("state = 'loaded'"))
    op.drop_index('ix_ingest_batches_run', table_name='ingest_batches')
    op.drop_table('ingest_batches')
    op.drop_index('ix_registrations_year', table_name='registrations')
    op.drop_index('ix_registrations_person', table_name='registrations')
    op.drop_table('registrations')
    op.drop_table('key_fingerprints')
    op.drop_table('ingest_runs')
