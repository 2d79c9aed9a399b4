"""The store's one datetime column type: UTC in, aware UTC out, on SQLite and PostgreSQL, with the storage
the migrations made (no migration of its own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import DateTime, Engine, Table, insert, inspect, select, text, update
from sqlalchemy.exc import StatementError

from cvewatch.errors import StoreError
from cvewatch.store.models import Base, SyncRunRow
from cvewatch.store.types import UtcDateTime, from_store, to_store

T_RUN: Table = SyncRunRow.__table__  # type: ignore[assignment]
BERLIN_SUMMER = timezone(timedelta(hours=2))


def _run(engine: Engine, started: datetime) -> int:
    with engine.begin() as conn:
        row_id = conn.execute(
            insert(T_RUN).values(source="nvd-api", origin="test", started=started, status="ok", messages=[])
        )
        return int(row_id.inserted_primary_key[0])  # type: ignore[index]


def _started(engine: Engine, row_id: int) -> datetime:
    with engine.connect() as conn:
        value = conn.execute(select(T_RUN.c.started).where(T_RUN.c.id == row_id)).scalar_one()
    assert isinstance(value, datetime)
    return value


def test_every_datetime_column_is_utc() -> None:
    columns = [c for table in Base.metadata.tables.values() for c in table.columns]
    times = [c for c in columns if isinstance(c.type, DateTime | UtcDateTime)]
    assert len(times) >= 19
    assert [f"{c.table.name}.{c.name}" for c in times if not isinstance(c.type, UtcDateTime)] == []


def test_times_come_back_aware_in_utc(engine: Engine) -> None:
    utc = datetime(2024, 3, 29, 9, 51, 3, 123456, tzinfo=UTC)
    read = _started(engine, _run(engine, utc))
    assert read == utc and read.tzinfo is UTC
    # another zone is converted before it is written: the instant is kept, not the wall-clock time
    read = _started(engine, _run(engine, utc.astimezone(BERLIN_SUMMER)))
    assert read == utc and read.tzinfo is UTC and read.hour == 9


def test_a_naive_time_is_refused(engine: Engine) -> None:
    with pytest.raises(
        StatementError, match="aware datetimes only, got the naive 2024-03-29T09:51:03"
    ) as info:
        _run(engine, datetime(2024, 3, 29, 9, 51, 3))
    assert isinstance(info.value.orig, StoreError)
    row_id = _run(engine, datetime(2024, 3, 29, tzinfo=UTC))
    with engine.begin() as conn, pytest.raises(StatementError, match="naive"):  # in a comparison too
        conn.execute(update(T_RUN).where(T_RUN.c.started < datetime(2025, 1, 1)).values(status="x"))
    assert _started(engine, row_id) == datetime(2024, 3, 29, tzinfo=UTC)


def test_postgresql_in_another_session_time_zone(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL session setting")
    utc = datetime(2024, 3, 29, 9, 51, 3, tzinfo=UTC)
    row_id = _run(engine, utc)
    with engine.connect() as conn:
        conn.execute(text("SET TIME ZONE 'Europe/Berlin'"))
        raw = conn.exec_driver_sql(f"SELECT started FROM sync_runs WHERE id = {row_id}").scalar_one()
        value = conn.execute(select(T_RUN.c.started).where(T_RUN.c.id == row_id)).scalar_one()
    assert raw.utcoffset() == timedelta(hours=1)  # the driver gives the session's zone
    assert value == utc and value.tzinfo is UTC


def test_sqlite_text_with_or_without_an_offset(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite keeps times as text")
    utc = datetime(2024, 3, 29, 9, 51, 3, tzinfo=UTC)
    row_id = _run(engine, utc)
    with engine.begin() as conn:
        stored = conn.exec_driver_sql(f"SELECT started FROM sync_runs WHERE id = {row_id}").scalar_one()
        assert stored == "2024-03-29 09:51:03.000000"  # as DateTime stored it before: no migration
        # the bulk path of store/vulnerabilities.py writes isoformat(" "), with its offset
        conn.exec_driver_sql(
            f"UPDATE sync_runs SET started = '2024-03-29 11:51:03+02:00' WHERE id = {row_id}"
        )
    assert _started(engine, row_id) == utc


def test_the_migrations_made_these_columns(engine: Engine) -> None:
    """The type changes nothing in the schema: autogenerate against the migrated store sees no column of
    another type, and PostgreSQL's columns are ``timestamptz``."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if "modify_type" in repr(d)]
        columns = inspect(conn).get_columns("vulnerabilities")
    assert diffs == []
    if engine.dialect.name == "postgresql":
        stored_at = next(c for c in columns if c["name"] == "stored_at")
        assert getattr(stored_at["type"], "timezone", False) is True


def test_from_store_and_to_store() -> None:
    utc = datetime(2024, 3, 29, 9, 51, 3, tzinfo=UTC)
    assert from_store(utc.replace(tzinfo=None)) == utc
    assert from_store(utc.astimezone(BERLIN_SUMMER)).tzinfo is UTC
    assert to_store(utc) is utc
    assert to_store(utc.astimezone(BERLIN_SUMMER)).tzinfo is UTC
    with pytest.raises(StoreError, match="naive"):
        to_store(utc.replace(tzinfo=None))
