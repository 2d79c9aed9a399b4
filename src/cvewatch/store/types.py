"""Column types of the store that read and write alike on SQLite and PostgreSQL.

``DateTime(timezone=True)`` is ``timestamptz`` on PostgreSQL, which returns aware datetimes in the session's
time zone; on SQLite it is text without an offset: SQLAlchemy writes an aware value by dropping its offset
(12:00+02:00 is stored as 12:00) and reads every value back naive, unless the text was written with an
offset by the driver (the SQLite bulk path of ``store/vulnerabilities.py``), which is read back aware.
:class:`UtcDateTime` stores the same columns the same way (so no migration) and makes the store's times
one kind of value: aware, in UTC, whatever the database and whoever wrote them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator

from cvewatch.errors import StoreError

__all__ = ["UtcDateTime", "from_store", "to_store"]


def to_store(value: datetime) -> datetime:
    """``value`` in UTC, as the store writes it; a naive datetime is refused: which zone it means is a guess
    (the machine's local time? UTC?), and a wrong guess silently moves every clock computed from it."""
    if not isinstance(value, datetime):
        raise StoreError(f"the store keeps a point in time as a datetime, not {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(
            f"the store keeps aware datetimes only, got the naive {value.isoformat()}: "
            "give its time zone (datetime.now(UTC), value.replace(tzinfo=UTC) if it is UTC)"
        )
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def from_store(value: datetime) -> datetime:
    """A time as a driver returns it, as an aware UTC datetime: naive ones are UTC (SQLite's text without an
    offset, written by :func:`to_store`), aware ones are converted (PostgreSQL's are in the session's zone).
    For the statements that read through the driver past :class:`UtcDateTime` (``store/match_view.py``)."""
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time: written in UTC (a naive datetime is refused with a :class:`StoreError`), read back
    as an aware UTC datetime, on SQLite and PostgreSQL alike. Stored as ``DateTime(timezone=True)``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        return None if value is None else to_store(value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        return None if value is None else from_store(value)
