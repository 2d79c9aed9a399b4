"""One cvewatch run at a time per store: the run lock every writing command and the scheduled job take.

The lock itself is :data:`cvewatch.store.locks.RUN_LOCK` (a ``flock`` on ``<database file>.lock`` next to a
SQLite database, a PostgreSQL advisory lock on a dedicated connection; see :mod:`cvewatch.store.locks`).

A second process either fails at once (``wait=0``, what the scheduler does: the next fire time tries again)
or waits up to ``wait`` seconds (what interactive commands do, ``cvewatch --wait SECONDS``), and then
raises :class:`LockHeld` ("another cvewatch run holds the lock since …").

The lock is re-entrant within one thread: code that already runs under it (the scheduled job calls the same
functions the commands do) takes it again without waiting for itself; the lock is released when the
outermost ``with`` ends. Another thread of the same process is another holder, as another process is.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from cvewatch.store.db import check_url
from cvewatch.store.locks import RUN_LOCK, LockHeld, LockInfo, OnWait, hold, lock_path

__all__ = ["ADVISORY_KEY", "DEFAULT_WAIT", "LockHeld", "LockInfo", "lock_file_for", "run_lock"]

#: The two int4 keys of the PostgreSQL advisory lock: "cvw" and the run lock's number.
ADVISORY_KEY = RUN_LOCK.key
#: How long an interactive command waits for the run lock by default (seconds): a scan or an incremental
#: sync usually ends within it; a full NVD load does not, and the error then says who holds the lock.
DEFAULT_WAIT = 600.0


class _Held(threading.local):
    def __init__(self) -> None:
        self.locks: dict[str, LockInfo | None] = {}  # store -> this thread's run


_held = _Held()


def lock_file_for(url: str) -> Path | None:
    """The lock file of a SQLite URL (``None`` for an in-memory database); :class:`ValueError` otherwise."""
    return lock_path(make_url(url), RUN_LOCK)


def _store_key(url: str) -> str:
    parsed = check_url(url)
    if parsed.drivername.startswith("sqlite"):
        path = lock_path(parsed, RUN_LOCK)
        return f"sqlite:{path.resolve() if path else ':memory:'}"
    return f"postgresql:{parsed.host or ''}:{parsed.port or 5432}/{parsed.database or ''}"


@contextlib.contextmanager
def run_lock(url: str, *, wait: float = 0.0, on_wait: OnWait | None = None) -> Iterator[LockInfo | None]:
    """Hold the run lock of the store at ``url`` for the ``with`` block; when another run has it, wait up
    to ``wait`` seconds (telling ``on_wait`` once), then :class:`LockHeld`. Yields this run's
    :class:`LockInfo` (``None`` for an in-memory SQLite store). Re-entrant within one thread."""
    key = _store_key(url)
    if key in _held.locks:  # this thread already runs under the lock: only the outermost releases it
        yield _held.locks[key]
        return
    with hold(RUN_LOCK, check_url(url), wait=wait, on_wait=on_wait) as info:
        _held.locks[key] = info
        try:
            yield info
        finally:
            del _held.locks[key]
