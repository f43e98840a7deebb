"""Every environment variable the product reads, declared once: name, default, type, check, meaning.

`current()` reads the environment each time it is called, never at import: the command line, the
flows and the tests change variables between calls. Defaults work out of the box: everything lives
under `./data`, the warehouse is a SQLite file there. A bad value stops the caller with a
`SettingsError` of one line that names the variable; key values are `SecretStr`, so no message,
log or repr shows them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "VICTIM_INTAKE_"
# Far above the registrations of any one real person (the registry counts about 1.03 registrations
# per person; the demo's most reported person has a handful), far below the clusters that a feed
# of namesakes builds by name alone (`linkage.resolution`).
DEFAULT_MAX_PERSON_REGISTRATIONS = 50
_MB = 1024 * 1024
# The fields `Settings.key_variables` hands to `pseudonyms.keys` and `flows.key_blocks`.
_KEY_FIELDS = (
    "pseudonym_key", "pseudonym_key_version", "pseudonym_key_block",
    "vault_key", "vault_key_version", "vault_key_block",
)


class SettingsError(ValueError):
    """A variable holds a value the product cannot use; the message names it and never shows a key."""


def _at_least(minimum: float) -> AfterValidator:
    def check(value: float) -> float:
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return AfterValidator(check)


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be more than 0")
    return value


def _share(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError("must be a share between 0 and 1")
    return value


def _role_name(value: str) -> str:
    value = value.strip()
    # Written into GRANT statements: a plain lower-case identifier only.
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        raise ValueError("must be a lower-case PostgreSQL identifier (letters, digits, _)")
    return value


def _prepare_ahead(value: object) -> object:
    text = str(value).strip().lower()
    if text not in ("auto", "1", "0"):
        raise ValueError(f"must be auto, 1 or 0, not {str(value)!r:.20}")
    return text


def _claimed_name(value: str | None) -> str | None:
    return (value or "").strip()[:128] or None


def _intervals(value: object) -> dict[str, float]:
    if isinstance(value, dict):  # given as a mapping, not read from the environment
        return value
    usage = "must list source=hours pairs, like police=24,fairwork=744"
    intervals = {}
    for pair in filter(None, (part.strip() for part in str(value).split(","))):
        source, _, hours = (text.strip() for text in pair.partition("="))
        try:
            interval = float(hours)
        except ValueError:
            raise ValueError(usage) from None
        if not source or not math.isfinite(interval) or interval <= 0:
            raise ValueError(usage)
        intervals[source] = interval
    return intervals


def _folder(value: Path | None) -> Path | None:
    return value.expanduser().resolve() if value is not None else None


class Settings(BaseSettings):
    """The product's configuration, from `VICTIM_INTAKE_*` variables (and Prefect's `PREFECT_HOME`)."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_ignore_empty=True, use_attribute_docstrings=True, frozen=True, extra="ignore", allow_inf_nan=False
    )

    home: Annotated[Path, AfterValidator(_folder)] = Path("data")
    """Working folder: SQLite warehouse, keys, Prefect's home, reports, remembered file hashes."""
    database_url: SecretStr | None = None
    """SQLAlchemy URL of the warehouse, secret as it may hold a password; unset: a SQLite file under
    the home folder (`warehouse_url`)."""
    inbox: Annotated[Path | None, AfterValidator(_folder)] = None
    """Folder the nightly flow reads; unset: `<home>/inbox` (`inbox_folder`)."""
    partners: Annotated[Path | None, AfterValidator(_folder)] = None
    """Folder of extra partner definitions (`*.yaml`); unset: the shipped definitions only."""

    pseudonym_key: SecretStr | None = None
    """The pseudonym key, base64 of 32 random bytes; unset: the key file under `<home>/keys`."""
    pseudonym_key_version: Annotated[int, _at_least(1)] = 1
    """Version of the pseudonym key given in the environment (key files carry it in their name)."""
    pseudonym_key_block: str | None = None
    """Name of a Prefect Secret block holding the pseudonym key, read at the start of a flow run."""
    vault_key: SecretStr | None = None
    """The vault key, base64 of 32 random bytes; unset: the key file under `<home>/keys`."""
    vault_key_version: Annotated[int, _at_least(1)] = 1
    """Version of the vault key given in the environment."""
    vault_key_block: str | None = None
    """Name of a Prefect Secret block holding the vault key, read at the start of a flow run."""
    next_pseudonym_key: SecretStr | None = None
    """The new pseudonym key for `keys rotate` when keys come from the environment."""

    analyst_k: Annotated[int, _at_least(2)] = 5
    """Every combination of quasi-identifiers in the analyst tier covers at least this many persons of a year."""
    analyst_suppression: Annotated[float, AfterValidator(_share)] = 0.02
    """Most persons of a year the analyst tier may suppress, as a share."""
    analyst_role: Annotated[str, AfterValidator(_role_name)] = "victim_intake_analyst"
    """PostgreSQL group role of analysts, applied when the warehouse is migrated."""
    steward_role: Annotated[str, AfterValidator(_role_name)] = "victim_intake_steward"
    """PostgreSQL group role of stewards, applied when the warehouse is migrated."""
    actor: Annotated[str | None, BeforeValidator(_claimed_name)] = None
    """A name the operator claims (a person behind a service account), recorded beside the
    operating-system user in every audit row and publication, never instead of it."""

    max_file_mb: Annotated[float, AfterValidator(_positive)] = 2048
    """Larger input files are refused before reading (`max_file_bytes`)."""
    part_mb: Annotated[float, AfterValidator(_positive)] = 64
    """A police file is read, validated and loaded in parts of about this much text (`part_bytes`):
    memory stays bounded however large a file is. Larger parts cost memory (two are held at once,
    one loading and one being prepared) and gain little."""
    prepare_ahead: Annotated[Literal["auto", "1", "0"], BeforeValidator(_prepare_ahead)] = "auto"
    """`auto`: a second process prepares the run's files (police and partner) while the flow's
    process loads, when the run's files are large enough to gain; `1`: whenever a run has two parts
    or more; `0`: never."""
    max_person_registrations: Annotated[int, _at_least(2)] = DEFAULT_MAX_PERSON_REGISTRATIONS
    """Most registrations one person may reach through name links alone; links that would pass it
    are not made, and the steward is warned."""
    lock_timeout_s: Annotated[float, _at_least(0)] = 300
    """How long a load waits for another run's load of the same source (PostgreSQL) before a retry."""
    source_intervals: Annotated[dict[str, float], NoDecode, BeforeValidator(_intervals)] = {"police": 24.0}
    """Expected hours between deliveries per source, as `source=hours` pairs (`police=24,fairwork=744`)."""
    volume_drop: Annotated[float, AfterValidator(_share)] = 0.5
    """A delivery with fewer rows than this share of its source's recent average is flagged."""
    crash_at: str | None = None
    """Tests only: the process kills itself when it reaches this stage (`flows/faults.py`)."""

    prefect_home: Annotated[Path | None, Field(validation_alias="PREFECT_HOME")] = None
    """Prefect's own folder (Prefect's variable, no prefix); unset: `<home>/prefect` (`prefect_folder`)."""

    @property
    def warehouse_url(self) -> str:
        """The warehouse's SQLAlchemy URL: `database_url`, or the SQLite file under the home folder.
        May hold a password: messages show `shown_warehouse_url`."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.home / 'warehouse.sqlite'}"

    @property
    def shown_warehouse_url(self) -> str:
        """The warehouse URL with any password masked, for messages."""
        from sqlalchemy.engine import make_url

        return make_url(self.warehouse_url).render_as_string(hide_password=True)

    @property
    def inbox_folder(self) -> Path:
        """Folder the nightly flow reads: `inbox`, or `<home>/inbox`."""
        return self.inbox or self.home / "inbox"

    @property
    def keys_dir(self) -> Path:
        """Folder of the key files written by `victim-intake keys init`."""
        return self.home / "keys"

    @property
    def hash_cache_file(self) -> Path:
        """Where the SHA-256 of unchanged inbox files is remembered between runs (`connectors.hash_cache`)."""
        return self.home / "file-hashes.json"

    @property
    def prefect_folder(self) -> Path:
        """Prefect's folder: `PREFECT_HOME`, or `<home>/prefect`."""
        return self.prefect_home.expanduser() if self.prefect_home else self.home / "prefect"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * _MB)

    @property
    def part_bytes(self) -> int:
        return int(self.part_mb * _MB)

    def key_variables(self) -> dict[str, str]:
        """The key variables that are set, by name, as `pseudonyms.keys.load_key` reads them.
        Holds key material: hand it on, never show it."""
        given = {name: getattr(self, name) for name in _KEY_FIELDS if name in self.model_fields_set}
        return {variable(name): value.get_secret_value() if isinstance(value, SecretStr) else str(value) for name, value in given.items()}


def variable(field: str) -> str:
    """The environment variable of a field of `Settings`."""
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else PREFIX + field.upper()


def variables() -> list[str]:
    """Every environment variable the product reads."""
    return [variable(field) for field in Settings.model_fields]


def current() -> Settings:
    """The settings as the environment gives them now; a bad value raises `SettingsError`."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None


_PHRASES = {
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
}


def _one_line(error: ValidationError) -> str:
    """The first problem as `<VARIABLE> <what is wrong>`: never the value given (it may be a key)."""
    first = error.errors(include_input=False, include_url=False)[0]
    where = str(first["loc"][0])  # a field's name, or the alias it is read under (PREFECT_HOME)
    name = variable(where) if where in Settings.model_fields else where
    if first["type"] == "value_error":
        what = str(first["ctx"]["error"])
    else:
        what = _PHRASES.get(first["type"], f"is not valid: {first['msg'][:1].lower()}{first['msg'][1:]}")
    return f"{name} {what}"
