"""The record of every sync run, and each source's sync state.

A run's ``origin`` and ``messages`` are stored and read back with the URLs in them redacted
(:func:`~cvewatch.sources.redact.redact_text`): a user name, password or ``apiKey=`` given in a URL never
reaches the store or ``sync status``, and rows written before this was so are redacted when read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from cvewatch.sources.redact import redact_text
from cvewatch.store.models import SyncRunRow, SyncStateRow

T_RUN: Table = SyncRunRow.__table__  # type: ignore[assignment]
T_STATE: Table = SyncStateRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class SyncRun:
    id: int
    source: str
    origin: str
    started: datetime
    finished: datetime | None
    status: str
    pages: int
    new: int
    updated: int
    unchanged: int
    rejected: int
    errors: int
    messages: tuple[str, ...]


def start_run(conn: Connection, source: str, origin: str) -> int:
    res = conn.execute(
        insert(T_RUN).values(
            source=source,
            origin=redact_text(origin),
            started=datetime.now(UTC),
            status="running",
            pages=0,
            new=0,
            updated=0,
            unchanged=0,
            rejected=0,
            errors=0,
            messages=[],
        )
    )
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def finish_run(conn: Connection, run_id: int, *, status: str, messages: list[str], **counts: int) -> None:
    values: dict[str, Any] = {
        "finished": datetime.now(UTC),
        "status": status,
        "messages": [redact_text(m) for m in messages[:1000]],
    }
    values.update(counts)
    conn.execute(update(T_RUN).where(T_RUN.c.id == run_id).values(**values))


def mark_success(conn: Connection, source: str, when: datetime, cursor: dict[str, Any] | None = None) -> None:
    exists = conn.execute(select(T_STATE.c.source).where(T_STATE.c.source == source)).first()
    if exists:
        conn.execute(
            update(T_STATE).where(T_STATE.c.source == source).values(last_success=when, cursor=cursor)
        )
    else:
        conn.execute(insert(T_STATE).values(source=source, last_success=when, cursor=cursor))


def last_success(conn: Connection, source: str) -> datetime | None:
    value = conn.execute(select(T_STATE.c.last_success).where(T_STATE.c.source == source)).scalar()
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def recent_runs(conn: Connection, limit: int = 20) -> list[SyncRun]:
    rows = conn.execute(select(T_RUN).order_by(T_RUN.c.id.desc()).limit(limit))
    return [
        SyncRun(
            r.id,
            r.source,
            redact_text(r.origin),
            r.started,
            r.finished,
            r.status,
            r.pages,
            r.new,
            r.updated,
            r.unchanged,
            r.rejected,
            r.errors,
            tuple(redact_text(m) for m in r.messages or ()),
        )
        for r in rows
    ]


# --- page-wise syncs (NVD API, feeds): progress, checkpoints and interrupted runs ---


def add_run_progress(conn: Connection, run_id: int, **counts: int) -> None:
    """Add ``counts`` (``pages``, ``new``, ``updated``, ``unchanged``, ``rejected``, ``errors``) to a run,
    in the caller's transaction: a page's counts commit together with the page."""
    if not counts:
        return
    values = {name: T_RUN.c[name] + amount for name, amount in counts.items()}
    conn.execute(update(T_RUN).where(T_RUN.c.id == run_id).values(**values))


def run_status(conn: Connection, run_id: int) -> str | None:
    """The status of run ``run_id`` (``None`` if there is no such run)."""
    value = conn.execute(select(T_RUN.c.status).where(T_RUN.c.id == run_id)).scalar()
    return str(value) if value is not None else None


def mark_interrupted(conn: Connection, run_id: int, message: str) -> bool:
    """Mark a run that is still ``running`` as ``interrupted`` (its process died); ``True`` if it was."""
    res = conn.execute(
        update(T_RUN)
        .where(T_RUN.c.id == run_id, T_RUN.c.status == "running")
        .values(status="interrupted", finished=datetime.now(UTC), messages=[redact_text(message)])
    )
    return bool(res.rowcount)


def load_cursor(conn: Connection, source: str) -> dict[str, Any] | None:
    """The saved cursor of ``source`` (``None`` if there is none)."""
    value = conn.execute(select(T_STATE.c.cursor).where(T_STATE.c.source == source)).scalar()
    return dict(value) if isinstance(value, dict) else None


def save_cursor(conn: Connection, source: str, cursor: dict[str, Any] | None) -> None:
    """Store ``cursor`` for ``source`` without touching its ``last_success``."""
    exists = conn.execute(select(T_STATE.c.source).where(T_STATE.c.source == source)).first()
    if exists:
        conn.execute(update(T_STATE).where(T_STATE.c.source == source).values(cursor=cursor))
    else:
        conn.execute(insert(T_STATE).values(source=source, last_success=None, cursor=cursor))
