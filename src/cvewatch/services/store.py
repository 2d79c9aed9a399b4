"""The store a use case works on: which one (``--db``, ``$CVEWATCH_DB`` or the default file), opened and
migrated, and the run lock that every writer holds (the one the scheduler takes)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Engine

from cvewatch.store.db import check_url, make_engine, open_engine, resolve_url, upgrade
from cvewatch.store.locks import LockInfo, OnWait
from cvewatch.store.runlock import DEFAULT_WAIT, run_lock

__all__ = ["DEFAULT_WAIT", "StoreOptions", "upgrade_store"]


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Which store, and how long to wait for a lock (the run lock, a migration) another process holds:
    ``wait`` None is the caller's default (:data:`DEFAULT_WAIT` unless it says otherwise); ``on_wait``
    is told once when waiting starts."""

    url: str | None = None
    wait: float | None = None
    on_wait: OnWait | None = None

    def resolved_url(self) -> str:
        """The store's URL, checked before anything is created; only the default location's folder is
        made."""
        return resolve_url(self.url)

    def lock_wait(self, default: float | None = None) -> float:
        if self.wait is not None:
            return self.wait
        return DEFAULT_WAIT if default is None else default

    def open(self) -> Engine:
        """The store, migrated to head (waiting for another process's migration as for the run lock)."""
        return open_engine(self.resolved_url(), wait=self.lock_wait(), on_wait=self.on_wait)

    def run_lock(self, default_wait: float | None = None) -> AbstractContextManager[LockInfo | None]:
        """Hold the store's run lock (re-entrant within a thread), waiting for another run as long as
        :meth:`lock_wait` says."""
        return run_lock(self.resolved_url(), wait=self.lock_wait(default_wait), on_wait=self.on_wait)


def upgrade_store(options: StoreOptions) -> tuple[str | None, str]:
    """Run the store's pending migrations; returns the revision it is at and its URL without password."""
    url = options.resolved_url()
    revision = upgrade(make_engine(url), wait=options.lock_wait(), on_wait=options.on_wait)
    return revision, check_url(url).render_as_string(hide_password=True)
