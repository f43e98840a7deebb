"""Exceptions whose messages may be shown and logged, and a guard that makes any other one so.

Third-party messages can quote the data they choked on (Pandera and pandas do), and anything
raised inside a task ends up in Prefect's logs and database. Unknown exceptions are therefore
replaced by their type and the place they came from, never their text.
"""

from __future__ import annotations

import sqlite3
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import exc as sqlalchemy_errors

from config.settings import SettingsError
from connectors.files import FileRejected
from pseudonyms.keys import KeyConfigError
from schemas.partner_definition import DefinitionError
from schemas.validation import SchemaViolation
from warehouse.ledger import KeyMismatch
from warehouse.load import AlreadyLoaded, CountMismatch
from warehouse.replay import NotReplayable, ReplayConflict

# Exceptions raised by this project with messages built to hold no values.
VALUE_FREE = (
    FileRejected, SchemaViolation, KeyConfigError, KeyMismatch, AlreadyLoaded, CountMismatch, DefinitionError, NotReplayable, ReplayConflict,
    SettingsError,
)


class StageFailed(Exception):
    """A stage failed for a reason this project's code did not foresee; the message is value-free."""


class DatabaseError(StageFailed):
    """The warehouse could not be reached or refused the work."""


class TransientDatabaseError(DatabaseError):
    """A database error that may pass by itself (unreachable, lock timeout, deadlock): worth retrying."""


# SQLSTATE classes of PostgreSQL errors that a later attempt may not meet: connection exceptions,
# transaction rollbacks (deadlock, serialisation), lock not available, operator intervention.
_TRANSIENT_SQLSTATES = ("08", "40", "55P03", "57")


def is_transient(driver_error: BaseException | None, connection_invalidated: bool = False) -> bool:
    """Retry connection losses and lock waits; never constraint, data or disk-full errors."""
    if connection_invalidated:
        return True
    if isinstance(driver_error, sqlite3.OperationalError):
        return "locked" in str(driver_error) or "busy" in str(driver_error)
    if isinstance(driver_error, psycopg.OperationalError):
        sqlstate = driver_error.sqlstate
        return sqlstate is None or sqlstate.startswith(_TRANSIENT_SQLSTATES)
    return False


def _database_error(stage: str, driver_error: BaseException | None, connection_invalidated: bool = False) -> DatabaseError:
    """A value-free error from the driver's: its class and first line, never a quoted value."""
    name = type(driver_error).__name__
    first_line = str(driver_error).strip().splitlines()[0][:200] if driver_error is not None else name
    if getattr(driver_error, "sqlstate", None) and driver_error.sqlstate.startswith("22"):
        # PostgreSQL data exceptions quote the offending value in their first line.
        first_line = f"data exception (SQLSTATE {driver_error.sqlstate})"
    kind = TransientDatabaseError if is_transient(driver_error, connection_invalidated) else DatabaseError
    return kind(f"{stage}: database error ({name}): {first_line}")


def _origin(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown place"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 2)[-2:][-1]}:{last.lineno} in {last.name}"


@contextmanager
def value_free_errors(stage: str) -> Iterator[None]:
    """Re-raise unforeseen errors of `stage` without their message (and without chaining it)."""
    try:
        yield
    except (*VALUE_FREE, StageFailed):  # StageFailed: already made value-free by an inner guard
        raise
    except sqlalchemy_errors.DBAPIError as error:
        # The driver's first line names the problem (connection refused, constraint); later lines
        # and SQLAlchemy's own text may quote statement parameters.
        raise _database_error(stage, error.orig, error.connection_invalidated) from None
    except (sqlite3.Error, psycopg.Error) as error:
        # Bulk loads talk to the driver directly (COPY, executemany), so its errors arrive unwrapped.
        raise _database_error(stage, error) from None
    except Exception as error:  # noqa: BLE001 - everything else is reported without its text
        raise StageFailed(f"{stage}: unexpected {type(error).__name__} at {_origin(error)}") from None
