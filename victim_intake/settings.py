"""Settings from environment variables, read when a command or flow runs (never at import)."""

from __future__ import annotations

import os
import re
from pathlib import Path


def home() -> Path:
    """Working folder of the embedded defaults (`VICTIM_INTAKE_HOME`, default `./data`)."""
    return Path(os.environ.get("VICTIM_INTAKE_HOME", "data")).expanduser().resolve()


def database_url() -> str:
    """SQLAlchemy URL of the warehouse; a SQLite file under the home folder by default."""
    configured = os.environ.get("VICTIM_INTAKE_DATABASE_URL")
    if configured:
        return configured
    return f"sqlite:///{home() / 'warehouse.sqlite'}"


def inbox() -> Path:
    """Folder the nightly flow reads (`VICTIM_INTAKE_INBOX`, default `<home>/inbox`)."""
    configured = os.environ.get("VICTIM_INTAKE_INBOX")
    return Path(configured).expanduser().resolve() if configured else home() / "inbox"


def partners_dir() -> Path | None:
    """Folder of extra partner definitions (`VICTIM_INTAKE_PARTNERS`), or None for the shipped ones only."""
    configured = os.environ.get("VICTIM_INTAKE_PARTNERS")
    return Path(configured).expanduser().resolve() if configured else None


def keys_dir() -> Path:
    """Folder of the key files written by `victim-intake keys init`."""
    return home() / "keys"


def hash_cache_file() -> Path:
    """Where the SHA-256 of unchanged inbox files is remembered between runs (`connectors.hash_cache`)."""
    return home() / "file-hashes.json"


def prefect_home() -> Path:
    """Prefect's own folder for embedded runs, unless `PREFECT_HOME` is set."""
    configured = os.environ.get("PREFECT_HOME")
    return Path(configured).expanduser() if configured else home() / "prefect"


def max_file_bytes() -> int:
    """Largest input file accepted (`VICTIM_INTAKE_MAX_FILE_MB`, default 2048 MB)."""
    return int(float(os.environ.get("VICTIM_INTAKE_MAX_FILE_MB", "2048")) * 1024 * 1024)


def part_bytes() -> int:
    """Police feed files are read, validated and loaded in parts of about this much text
    (`VICTIM_INTAKE_PART_MB`, default 256): memory stays bounded however large a file is."""
    return int(float(os.environ.get("VICTIM_INTAKE_PART_MB", "256")) * 1024 * 1024)


def prepare_ahead() -> str:
    """`VICTIM_INTAKE_PREPARE_AHEAD`: `auto` (default: a second process prepares the next police
    feed part while one loads, when the run's feeds are large enough to gain), `1` (whenever a run
    has two parts or more) or `0` (never)."""
    value = os.environ.get("VICTIM_INTAKE_PREPARE_AHEAD", "auto").strip().lower()
    if value not in ("auto", "1", "0"):
        raise ValueError(f"VICTIM_INTAKE_PREPARE_AHEAD must be auto, 1 or 0, not {value!r:.20}")
    return value


def max_person_registrations() -> int:
    """Most registrations one person may reach through name links alone
    (`VICTIM_INTAKE_MAX_PERSON_REGISTRATIONS`, default 50): far above what any real person
    gathers (the registry counts about 1.03 registrations per person), far below the clusters a
    feed of namesakes builds by name. Links that would pass it are not made; the steward is warned."""
    from warehouse.linkage import DEFAULT_MAX_PERSON_REGISTRATIONS

    value = int(os.environ.get("VICTIM_INTAKE_MAX_PERSON_REGISTRATIONS", DEFAULT_MAX_PERSON_REGISTRATIONS))
    if value < 2:
        raise ValueError("VICTIM_INTAKE_MAX_PERSON_REGISTRATIONS must be 2 or more")
    return value


def lock_timeout_seconds() -> float:
    """How long a load waits for another run's load of the same source (`VICTIM_INTAKE_LOCK_TIMEOUT_S`, default 300)."""
    return float(os.environ.get("VICTIM_INTAKE_LOCK_TIMEOUT_S", "300"))


def source_expectations():
    """Expected delivery interval per source and the volume-drop threshold, for monitoring.

    `VICTIM_INTAKE_SOURCE_INTERVALS` lists `source=hours` pairs (default `police=24`);
    `VICTIM_INTAKE_VOLUME_DROP` is the share of the recent average below which a delivery is
    flagged (default 0.5).
    """
    import datetime as dt

    from warehouse.monitoring import SourceExpectations

    pairs = os.environ.get("VICTIM_INTAKE_SOURCE_INTERVALS", "police=24")
    intervals = {}
    for pair in filter(None, (part.strip() for part in pairs.split(","))):
        source, _, hours = pair.partition("=")
        intervals[source.strip()] = dt.timedelta(hours=float(hours))
    return SourceExpectations(intervals=intervals, volume_ratio=float(os.environ.get("VICTIM_INTAKE_VOLUME_DROP", "0.5")))


def redact_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def analyst_k() -> int:
    """VICTIM_INTAKE_ANALYST_K: every combination of quasi-identifiers in the analyst tier covers at
    least this many persons (default 5)."""
    value = int(os.environ.get("VICTIM_INTAKE_ANALYST_K", "5"))
    if value < 2:
        raise ValueError("VICTIM_INTAKE_ANALYST_K must be at least 2")
    return value


def analyst_suppression() -> float:
    """VICTIM_INTAKE_ANALYST_SUPPRESSION: most persons of a year the analyst tier may suppress, as a
    share (default 0.02, 2 %)."""
    value = float(os.environ.get("VICTIM_INTAKE_ANALYST_SUPPRESSION", "0.02"))
    if not 0 <= value <= 1:
        raise ValueError("VICTIM_INTAKE_ANALYST_SUPPRESSION must be a share between 0 and 1")
    return value


def analyst_role() -> str:
    """VICTIM_INTAKE_ANALYST_ROLE: the PostgreSQL group role of analysts (default victim_intake_analyst)."""
    return _role_name("VICTIM_INTAKE_ANALYST_ROLE", "victim_intake_analyst")


def steward_role() -> str:
    """VICTIM_INTAKE_STEWARD_ROLE: the PostgreSQL group role of stewards (default victim_intake_steward)."""
    return _role_name("VICTIM_INTAKE_STEWARD_ROLE", "victim_intake_steward")


def _role_name(variable: str, default: str) -> str:
    value = os.environ.get(variable, default).strip()
    # Written into GRANT statements: a plain lower-case identifier only.
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        raise ValueError(f"{variable} must be a lower-case PostgreSQL identifier (letters, digits, _)")
    return value
