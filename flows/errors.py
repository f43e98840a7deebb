"""Exceptions whose messages may be shown and logged, and a guard that makes any other one so.

Third-party messages can quote the data they choked on (Pandera and pandas do), and anything
raised inside a task ends up in Prefect's logs and database. Unknown exceptions are therefore
replaced by their type and the place they came from, never their text.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sqlalchemy_errors

from connectors.files import FileRejected
from pseudonyms.keys import KeyConfigError
from schemas.partner_definition import DefinitionError
from schemas.validation import SchemaViolation
from warehouse.ledger import KeyMismatch
from warehouse.load import AlreadyLoaded, CountMismatch

# Exceptions raised by this project with messages built to hold no values.
VALUE_FREE = (FileRejected, SchemaViolation, KeyConfigError, KeyMismatch, AlreadyLoaded, CountMismatch, DefinitionError)


class StageFailed(Exception):
    """A stage failed for a reason this project's code did not foresee; the message is value-free."""


class DatabaseError(StageFailed):
    """The warehouse could not be reached or refused the work."""


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
    except VALUE_FREE:
        raise
    except sqlalchemy_errors.DBAPIError as error:
        # The driver's first line names the problem (connection refused, constraint); later lines
        # and SQLAlchemy's own text may quote statement parameters.
        first_line = str(error.orig).strip().splitlines()[0][:200] if error.orig else type(error).__name__
        raise DatabaseError(f"{stage}: database error ({type(error.orig).__name__}): {first_line}") from None
    except Exception as error:  # noqa: BLE001 - everything else is reported without its text
        raise StageFailed(f"{stage}: unexpected {type(error).__name__} at {_origin(error)}") from None
