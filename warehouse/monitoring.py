"""Silent under-reporting: warn when a source stops delivering or its volume drops far below normal.

One source going quiet distorted the national figures before; these warnings appear in the run
summary and in `victim-intake status` so a steward sees them the next morning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from config.settings import Settings
from store.tables import ingest_batches


@dataclass(frozen=True)
class SourceExpectations:
    """How often each source should deliver, and how far a delivery's volume may fall."""

    intervals: dict[str, dt.timedelta] = field(default_factory=lambda: {"police": dt.timedelta(days=1)})
    volume_ratio: float = 0.5  # warn below this share of the recent average
    history: int = 14  # deliveries that make the recent average
    min_history: int = 3  # fewer earlier deliveries than this: no volume warning yet


def configured_expectations(settings: Settings) -> SourceExpectations:
    """The expectations the settings name (`VICTIM_INTAKE_SOURCE_INTERVALS`, `VICTIM_INTAKE_VOLUME_DROP`)."""
    intervals = {source: dt.timedelta(hours=hours) for source, hours in settings.source_intervals.items()}
    return SourceExpectations(intervals=intervals, volume_ratio=settings.volume_drop)


def _as_utc(moment: dt.datetime) -> dt.datetime:
    # SQLite returns naive datetimes; the ledger always writes UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _age(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 72 else f"{hours / 24:.0f} days"


def source_warnings(engine: Engine, expected: SourceExpectations, now: dt.datetime | None = None) -> list[str]:
    """Value-free warnings about sources that are late or delivered far less than usual."""
    now = now or dt.datetime.now(dt.UTC)
    # A replay loads rows of an earlier delivery again: it is no delivery of its own.
    loaded = (ingest_batches.c.state == "loaded") & ingest_batches.c.replay_of.is_(None)
    with engine.connect() as connection:
        last_delivery = dict(
            connection.execute(
                select(ingest_batches.c.source, func.max(ingest_batches.c.finished_at)).where(loaded).group_by(ingest_batches.c.source)
            ).all()
        )
        volumes: dict[str, list[int]] = {}
        for source in last_delivery:
            rows = connection.execute(
                select(ingest_batches.c.rows_in)
                .where(loaded, ingest_batches.c.source == source)
                .order_by(ingest_batches.c.finished_at.desc())
                .limit(expected.history + 1)
            ).scalars()
            volumes[source] = [value or 0 for value in rows]
    warnings = []
    for source, interval in sorted(expected.intervals.items()):
        if source in last_delivery:
            silence = now - _as_utc(last_delivery[source])
            if silence > interval:
                warnings.append(
                    f"source {source} delivered nothing for {_age(silence)} (expected every {_age(interval)}): "
                    "ask the source whether its export runs"
                )
    for source, counts in sorted(volumes.items()):
        latest, earlier = counts[0], counts[1:]
        if len(earlier) >= expected.min_history:
            average = sum(earlier) / len(earlier)
            if latest < expected.volume_ratio * average:
                warnings.append(
                    f"source {source}'s latest delivery has {latest:,} rows, far below its recent average of "
                    f"{average:,.0f}: ask the source whether the export is complete"
                )
    return warnings


def linkage_warnings(engine: Engine, recent: int = 20) -> list[str]:
    """Value-free warnings about recent loads whose name links the bound on a person's
    registrations refused (`linkage.components`): a steward checks whether they are one person."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(ingest_batches.c.batch_id, ingest_batches.c.source, ingest_batches.c.rows_kept_apart)
            .where(ingest_batches.c.state == "loaded")
            .order_by(ingest_batches.c.finished_at.desc())
            .limit(recent)
        ).all()
    return [
        f"batch {batch_id[:12]} ({source}): {kept:,} registration(s) were not linked by name, the person would have "
        "held more registrations than VICTIM_INTAKE_MAX_PERSON_REGISTRATIONS; if they are one person, "
        "`victim-intake persons join` joins them"
        for batch_id, source, kept in rows
        if kept
    ]
