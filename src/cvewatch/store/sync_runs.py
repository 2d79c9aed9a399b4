"""The record of every sync run, and each source's sync state.

A run's ``origin`` and ``messages`` are stored and read back with the URLs in them redacted
(:func:`~cvewatch.redact.redact_text`): a user name, password or ``apiKey=`` given in a URL never
reaches the store or ``sync status``, and rows written before this was so are redacted when read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select, update

from cvewatch.redact import redact_text
from cvewatch.store.models import SyncRetryRow, SyncRunRow, SyncStateRow

T_RUN: Table = SyncRunRow.__table__  # type: ignore[assignment]
T_STATE: Table = SyncStateRow.__table__  # type: ignore[assignment]
T_RETRY: Table = SyncRetryRow.__table__  # type: ignore[assignment]
_MAX_REASON = 1000
_CHUNK = 500


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
    return value if isinstance(value, datetime) else None


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


# --- the retry list: records a sync could not store, asked for again by the next runs ---


@dataclass(frozen=True, slots=True)
class RetryEntry:
    """A record of ``source`` that could not be stored: why (the last time), since when, how often it was
    tried and by which run last."""

    source: str
    cve_id: str
    reason: str
    first_seen: datetime
    last_tried: datetime
    attempts: int
    run_id: int | None


def keep_for_retry(
    conn: Connection,
    source: str,
    rejected: Iterable[tuple[str, str]],
    *,
    run_id: int | None,
    now: datetime | None = None,
) -> None:
    """Add ``(cve_id, reason)`` pairs to ``source``'s retry list in the caller's transaction (a page's
    rejected records commit together with the page); a CVE already listed gets the new reason, one more
    attempt and ``run_id``."""
    reasons: dict[str, str] = {}
    for cve_id, reason in rejected:
        reasons[cve_id] = redact_text(reason).replace("\x00", "\\x00")[:_MAX_REASON]
    if not reasons:
        return
    stamp = now or datetime.now(UTC)
    ids = sorted(reasons)
    listed: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        listed.update(
            conn.execute(
                select(T_RETRY.c.cve_id).where(T_RETRY.c.source == source, T_RETRY.c.cve_id.in_(chunk))
            ).scalars()
        )
    fresh = [
        {
            "source": source,
            "cve_id": cve_id,
            "reason": reasons[cve_id],
            "first_seen": stamp,
            "last_tried": stamp,
            "attempts": 1,
            "run_id": run_id,
        }
        for cve_id in ids
        if cve_id not in listed
    ]
    if fresh:
        conn.execute(insert(T_RETRY), fresh)
    again = [{"b_id": cve_id, "b_reason": reasons[cve_id]} for cve_id in ids if cve_id in listed]
    if again:
        conn.execute(
            update(T_RETRY)
            .where(T_RETRY.c.source == source, T_RETRY.c.cve_id == bindparam("b_id"))
            .values(
                reason=bindparam("b_reason"),
                last_tried=stamp,
                attempts=T_RETRY.c.attempts + 1,
                run_id=run_id,
            ),
            again,
        )


def clear_retries(conn: Connection, source: str, cve_ids: Sequence[str]) -> int:
    """Remove ``cve_ids`` (now stored) from ``source``'s retry list; returns how many were listed."""
    removed = 0
    for start in range(0, len(cve_ids), _CHUNK):
        chunk = list(cve_ids[start : start + _CHUNK])
        res = conn.execute(delete(T_RETRY).where(T_RETRY.c.source == source, T_RETRY.c.cve_id.in_(chunk)))
        removed += int(res.rowcount or 0)
    return removed


def pending_retries(
    conn: Connection, source: str | None = None, *, before_run: int | None = None, limit: int | None = None
) -> list[RetryEntry]:
    """The retry list (of ``source``, or of every source), the longest untried first; ``before_run`` keeps
    the records last tried by an earlier run than that one."""
    stmt = select(T_RETRY).order_by(T_RETRY.c.last_tried, T_RETRY.c.source, T_RETRY.c.cve_id)
    if source is not None:
        stmt = stmt.where(T_RETRY.c.source == source)
    if before_run is not None:
        stmt = stmt.where((T_RETRY.c.run_id < before_run) | T_RETRY.c.run_id.is_(None))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        RetryEntry(
            r.source,
            r.cve_id,
            r.reason,
            r.first_seen,
            r.last_tried,
            int(r.attempts),
            r.run_id,
        )
        for r in conn.execute(stmt)
    ]


def count_retries(conn: Connection, source: str) -> int:
    """How many records ``source``'s retry list holds."""
    stmt = select(func.count()).select_from(T_RETRY).where(T_RETRY.c.source == source)
    return int(conn.execute(stmt).scalar_one())
