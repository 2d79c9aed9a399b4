"""One cvewatch run at a time per store.

* SQLite: an exclusive ``flock`` on ``<database file>.lock`` next to the database. The holder writes its pid,
  host and start time into the file; the kernel drops the lock when the process ends, however it ends.
* PostgreSQL: ``pg_try_advisory_lock`` on a dedicated connection kept open for the whole run; the connection's
  ``application_name`` carries the holder's start time, pid and host (visible in ``pg_stat_activity``). The
  server drops the lock when the connection closes, so a crashed run never leaves it behind.

A second run does not wait: :func:`run_lock` raises :class:`LockHeld` ("another cvewatch run holds the lock
since …") at once. An in-memory SQLite store needs no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cvewatch.errors import CvewatchError, StoreError

__all__ = ["ADVISORY_KEY", "LockHeld", "LockInfo", "lock_file_for", "run_lock"]

#: The two int4 keys of the PostgreSQL advisory lock: "cvw" and the run lock's number.
ADVISORY_KEY = (0x637677, 1)
_APP_RE = re.compile(r"^cvewatch-run (?P<since>\S+) (?P<pid>\d+)@(?P<host>.*)$")


class LockHeld(CvewatchError):
    """Another run holds the store's run lock."""

    def __init__(self, holder: LockInfo, where: str) -> None:
        self.holder = holder
        self.where = where
        since = holder.since.strftime("%Y-%m-%d %H:%M:%S UTC") if holder.since else "an unknown time"
        who = []
        if holder.pid is not None:
            who.append(f"pid {holder.pid}")
        if holder.host:
            who.append(f"on {holder.host}")
        detail = f" ({' '.join(who)}; {where})" if who else f" ({where})"
        super().__init__(f"another cvewatch run holds the lock since {since}{detail}")


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds (or now holds) the lock."""

    pid: int | None
    host: str | None
    since: datetime | None
    where: str  # the lock file, or "postgresql advisory lock …"


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


def lock_file_for(url: str) -> Path | None:
    """The lock file of a SQLite URL (``None`` for an in-memory database); :class:`ValueError` otherwise."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        raise ValueError(f"not a SQLite URL: {url!r}")
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).with_name(Path(database).name + ".lock")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[LockInfo]:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise StoreError(f"cannot open the lock file {path}: {err.strerror or err}") from err
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raw = os.pread(fd, 4096, 0)
            try:
                held = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                held = {}
            if not isinstance(held, dict):
                held = {}
            pid = held.get("pid")
            holder = LockInfo(
                pid if isinstance(pid, int) else None,
                held.get("host") if isinstance(held.get("host"), str) else None,
                _parse_since(held.get("since")),
                str(path),
            )
            raise LockHeld(holder, f"lock file {path}") from None
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


@contextlib.contextmanager
def _advisory_lock(url: str) -> Iterator[LockInfo]:
    from cvewatch.store.db import make_engine

    engine = make_engine(url)
    where = f"PostgreSQL advisory lock {ADVISORY_KEY[0]},{ADVISORY_KEY[1]} in {make_url(url).database}"
    try:
        try:
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as err:
            raise StoreError(f"cannot connect to take the run lock: {err}") from err
        with conn:
            pid, host, since = _me()
            name = f"cvewatch-run {since.strftime('%Y-%m-%dT%H:%M:%SZ')} {pid}@{host}"[:63]
            conn.execute(text("select set_config('application_name', :name, false)"), {"name": name})
            got = conn.execute(
                text("select pg_try_advisory_lock(:k1, :k2)"), {"k1": ADVISORY_KEY[0], "k2": ADVISORY_KEY[1]}
            ).scalar()
            if not got:
                row = conn.execute(
                    text(
                        "select a.application_name, a.backend_start, a.client_hostname, a.pid "
                        "from pg_locks l join pg_stat_activity a on a.pid = l.pid "
                        "where l.locktype = 'advisory' and l.granted and l.objsubid = 2 "
                        "and l.classid = cast(:k1 as oid) and l.objid = cast(:k2 as oid) "
                        "and l.database = (select oid from pg_database where datname = current_database())"
                    ),
                    {"k1": ADVISORY_KEY[0], "k2": ADVISORY_KEY[1]},
                ).first()
                holder = LockInfo(None, None, None, where)
                if row is not None:
                    m = _APP_RE.match(row.application_name or "")
                    if m:
                        holder = LockInfo(int(m["pid"]), m["host"], _parse_since(m["since"]), where)
                    else:
                        start = row.backend_start
                        holder = LockInfo(
                            None,
                            row.client_hostname,
                            start.astimezone(UTC) if isinstance(start, datetime) else None,
                            where,
                        )
                raise LockHeld(holder, where)
            try:
                yield LockInfo(pid, host, since, where)
            finally:
                with contextlib.suppress(SQLAlchemyError):
                    conn.execute(
                        text("select pg_advisory_unlock(:k1, :k2)"),
                        {"k1": ADVISORY_KEY[0], "k2": ADVISORY_KEY[1]},
                    )
    finally:
        engine.dispose()


@contextlib.contextmanager
def run_lock(url: str) -> Iterator[LockInfo | None]:
    """Hold the run lock of the store at ``url`` for the ``with`` block; :class:`LockHeld` if another run
    has it. Yields this run's :class:`LockInfo` (``None`` for an in-memory SQLite store)."""
    drivername = make_url(url).drivername
    if drivername.startswith("sqlite"):
        path = lock_file_for(url)
        if path is None:
            yield None
            return
        with _file_lock(path) as info:
            yield info
        return
    if drivername.startswith("postgresql"):
        with _advisory_lock(url) as info:
            yield info
        return
    raise StoreError(f"no run lock for the store URL scheme {drivername!r} (SQLite or PostgreSQL only)")
