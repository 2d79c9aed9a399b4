"""Locks on a store, across processes and hosts: the run lock and the migration lock.

* SQLite: an exclusive ``flock`` on a file next to the database (``<database file>.lock`` for the run lock,
  ``<database file>.migrate.lock`` for migrations). The holder writes its pid, host and start time into the
  file; the kernel drops the lock when the process ends, however it ends.
* PostgreSQL: a session advisory lock (two int4 keys: "cvw" and the lock's number) on a dedicated connection
  kept open while the lock is held; the connection's ``application_name`` carries the holder's start time,
  pid and host (visible in ``pg_stat_activity``). The server drops the lock when the connection closes, so a
  crashed process never leaves it behind.

A process that finds a lock taken either fails at once (``wait=0``) or waits up to ``wait`` seconds, telling
``on_wait`` once who it waits for; then :class:`LockHeld` names the holder. Waiting on PostgreSQL is the
server's (``pg_advisory_lock`` under ``lock_timeout``): the lock passes to a waiter as soon as it is released.
An in-memory SQLite store needs no lock (no other process can open it).

This module holds the mechanism only; :mod:`cvewatch.store.runlock` (the run lock) and
:func:`cvewatch.store.db.upgrade` (migrations) say when each lock is taken.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from cvewatch.errors import StoreBusy, StoreError

__all__ = [
    "MIGRATION_LOCK",
    "RUN_LOCK",
    "LockHeld",
    "LockInfo",
    "LockKind",
    "OnWait",
    "db_error_line",
    "hold",
    "lock_path",
]

#: how often a waiter tries a SQLite lock file again
POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class LockKind:
    """One of the store's locks: how it is named to people and where it lives."""

    name: str  # "run lock"
    held_by_other: str  # the start of the message when another process has it
    file_suffix: str  # SQLite: appended to the database file's name
    key: tuple[int, int]  # PostgreSQL: the advisory lock's two int4 keys
    app_name: str  # PostgreSQL: the holder's application_name starts with it


#: One run (a sync, a load, a scan, a publish, the scheduled job) at a time per store.
RUN_LOCK = LockKind("run lock", "another cvewatch run holds the lock", ".lock", (0x637677, 1), "cvewatch-run")
#: One process at a time checks the store's revision and migrates it.
MIGRATION_LOCK = LockKind(
    "migration lock",
    "another cvewatch process is migrating the store",
    ".migrate.lock",
    (0x637677, 2),
    "cvewatch-migrate",
)


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds (or now holds) a lock."""

    pid: int | None
    host: str | None
    since: datetime | None
    where: str  # the lock file, or "PostgreSQL advisory lock …"

    def who(self) -> str:
        """``pid 4242 on node-a`` (what is known of it)."""
        parts = []
        if self.pid is not None:
            parts.append(f"pid {self.pid}")
        if self.host:
            parts.append(f"on {self.host}")
        return " ".join(parts) or "another process"

    def since_text(self) -> str:
        return self.since.strftime("%Y-%m-%d %H:%M:%S UTC") if self.since else "an unknown time"


#: told once, when a process starts to wait: the lock, its holder, and how long it will wait (seconds)
OnWait = Callable[[LockKind, LockInfo, float], None]


class LockHeld(StoreBusy):
    """Another process holds one of the store's locks (and this one did not, or no longer, wait)."""

    def __init__(self, holder: LockInfo, kind: LockKind = RUN_LOCK, waited: float | None = None) -> None:
        self.holder = holder
        self.kind = kind
        self.where = holder.where
        self.waited = waited
        who = []
        if holder.pid is not None:
            who.append(f"pid {holder.pid}")
        if holder.host:
            who.append(f"on {holder.host}")
        detail = f" ({' '.join(who)}; {holder.where})" if who else f" ({holder.where})"
        gave_up = f"; gave up after waiting {waited:g} s" if waited else ""
        super().__init__(f"{kind.held_by_other} since {holder.since_text()}{detail}{gave_up}")


def db_error_line(err: BaseException) -> str:
    """A database error as one line: the driver's message without SQLAlchemy's statement and link."""
    orig = err.orig if isinstance(err, DBAPIError) and err.orig is not None else err
    lines = [line.strip() for line in str(orig).splitlines()]
    lines = [line for line in lines if line and not line.startswith("(Background on this error")]
    return " ".join(lines) or type(orig).__name__


def _me() -> tuple[int, str, datetime]:
    return os.getpid(), socket.gethostname(), datetime.now(UTC).replace(microsecond=0)


def _parse_since(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def lock_path(url: URL, kind: LockKind) -> Path | None:
    """The lock file of ``kind`` for a SQLite URL (``None`` for an in-memory database)."""
    if not url.drivername.startswith("sqlite"):
        raise ValueError(f"not a SQLite URL: {url.render_as_string(hide_password=True)!r}")
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).with_name(Path(database).name + kind.file_suffix)


# --- SQLite: a lock file ------------------------------------------------------------------------------------


def _file_holder(fd: int, path: Path) -> LockInfo:
    raw = os.pread(fd, 4096, 0)
    for _ in range(20):  # the holder writes who it is just after it got the lock: give it that moment
        if raw.strip():
            break
        time.sleep(0.05)
        raw = os.pread(fd, 4096, 0)
    try:
        held = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        held = {}
    if not isinstance(held, dict):
        held = {}
    pid, host = held.get("pid"), held.get("host")
    return LockInfo(
        pid if isinstance(pid, int) else None,
        host if isinstance(host, str) else None,
        _parse_since(held.get("since")),
        f"lock file {path}",
    )


@contextlib.contextmanager
def _file_lock(path: Path, kind: LockKind, wait: float, on_wait: OnWait | None) -> Iterator[LockInfo]:
    # the folder is never created here: a store's folder exists (cvewatch.store.db.check_url) before its lock
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise StoreError(f"cannot open the lock file {path}: {err.strerror or err}") from err
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LockHeld(_file_holder(fd, path), kind, wait if told else None) from None
                if not told:
                    told = True
                    if on_wait is not None:
                        on_wait(kind, _file_holder(fd, path), wait)
                time.sleep(min(POLL_SECONDS, left))
        pid, host, since = _me()
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": pid, "host": host, "since": since.isoformat()}).encode() + b"\n", 0)
        os.fsync(fd)
        try:
            yield LockInfo(pid, host, since, str(path))
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# --- PostgreSQL: an advisory lock ---------------------------------------------------------------------------


def _advisory_holder(conn: Connection, kind: LockKind, where: str) -> LockInfo:
    row = conn.execute(
        text(
            "select a.application_name, a.backend_start, a.client_hostname, a.pid "
            "from pg_locks l join pg_stat_activity a on a.pid = l.pid "
            "where l.locktype = 'advisory' and l.granted and l.objsubid = 2 "
            "and l.classid = cast(:k1 as oid) and l.objid = cast(:k2 as oid) "
            "and l.database = (select oid from pg_database where datname = current_database())"
        ),
        {"k1": kind.key[0], "k2": kind.key[1]},
    ).first()
    if row is None:
        return LockInfo(None, None, None, where)
    m = re.match(rf"^{re.escape(kind.app_name)} (?P<since>\S+) (?P<pid>\d+)@(?P<host>.*)$", row[0] or "")
    if m:
        return LockInfo(int(m["pid"]), m["host"], _parse_since(m["since"]), where)
    start = row[1]
    return LockInfo(None, row[2], start.astimezone(UTC) if isinstance(start, datetime) else None, where)


@contextlib.contextmanager
def _advisory_lock(url: URL, kind: LockKind, wait: float, on_wait: OnWait | None) -> Iterator[LockInfo]:
    engine = create_engine(url, poolclass=NullPool)
    where = f"PostgreSQL advisory lock {kind.key[0]},{kind.key[1]} in {url.database}"
    keys = {"k1": kind.key[0], "k2": kind.key[1]}
    try:
        try:
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as err:
            shown = url.render_as_string(hide_password=True)
            raise StoreError(
                f"cannot open the store at {shown} (to take the {kind.name}): {db_error_line(err)}"
            ) from err
        with conn:
            pid, host, since = _me()
            name = f"{kind.app_name} {since.strftime('%Y-%m-%dT%H:%M:%SZ')} {pid}@{host}"[:63]
            conn.execute(text("select set_config('application_name', :name, false)"), {"name": name})
            if not conn.execute(text("select pg_try_advisory_lock(:k1, :k2)"), keys).scalar():
                holder = _advisory_holder(conn, kind, where)
                if wait <= 0:
                    raise LockHeld(holder, kind)
                if on_wait is not None:
                    on_wait(kind, holder, wait)
                # lock_timeout also bounds the wait for an advisory lock; 0 means no limit
                timeout = "0" if math.isinf(wait) else f"{max(1, math.ceil(wait * 1000))}ms"
                conn.execute(text("select set_config('lock_timeout', :t, false)"), {"t": timeout})
                try:
                    conn.execute(text("select pg_advisory_lock(:k1, :k2)"), keys)
                except DBAPIError as err:
                    if getattr(err.orig, "sqlstate", None) != "55P03":  # lock_not_available
                        raise StoreError(f"cannot take the {kind.name}: {db_error_line(err)}") from err
                    raise LockHeld(_advisory_holder(conn, kind, where), kind, wait) from None
                conn.execute(text("select set_config('lock_timeout', '0', false)"))
            try:
                yield LockInfo(pid, host, since, where)
            finally:
                with contextlib.suppress(SQLAlchemyError):
                    conn.execute(text("select pg_advisory_unlock(:k1, :k2)"), keys)
    finally:
        engine.dispose()


@contextlib.contextmanager
def hold(
    kind: LockKind, url: URL, *, wait: float = 0.0, on_wait: OnWait | None = None
) -> Iterator[LockInfo | None]:
    """Hold ``kind`` of the store at ``url`` for the ``with`` block. When another process has it, wait up
    to ``wait`` seconds (``0``: not at all; ``math.inf``: as long as it takes), telling ``on_wait`` once;
    then :class:`LockHeld`. Yields this process's :class:`LockInfo` (``None`` for an in-memory SQLite
    store). Not re-entrant: the same process asking again while it holds the lock waits for itself."""
    wait = max(0.0, wait)
    if url.drivername.startswith("sqlite"):
        path = lock_path(url, kind)
        if path is None:
            yield None
            return
        with _file_lock(path, kind, wait, on_wait) as info:
            yield info
        return
    if url.drivername.startswith("postgresql"):
        with _advisory_lock(url, kind, wait, on_wait) as info:
            yield info
        return
    raise StoreError(
        f"no {kind.name} for the store URL scheme {url.drivername!r} (SQLite or PostgreSQL only)"
    )
