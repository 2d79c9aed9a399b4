"""The store's locks on SQLite and on the real PostgreSQL: waiting for the run lock, and migrations that
several processes start at once (the first use of a new store)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator

import pytest
from alembic import command
from sqlalchemy import inspect

from cvewatch.errors import StoreBusy
from cvewatch.store.db import alembic_config, check_url, current_revision, head_revision, make_engine
from cvewatch.store.locks import MIGRATION_LOCK, RUN_LOCK, LockInfo, LockKind, hold
from cvewatch.store.runlock import LockHeld, run_lock

from ..procs import Running, cli_env


@contextlib.contextmanager
def held_by_another_thread(url: str) -> Iterator[Callable[[], None]]:
    """The run lock held by another thread of this process (to this thread, another holder); yields a
    function that releases it."""
    taken, done = threading.Event(), threading.Event()

    def holder() -> None:
        with run_lock(url):
            taken.set()
            done.wait(300)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert taken.wait(300)
        yield done.set
    finally:
        done.set()
        thread.join()


# --- the run lock: waiting ----------------------------------------------------------------------------------


def test_a_waiting_run_takes_the_lock_when_its_holder_lets_go(db_url: str) -> None:
    told: list[tuple[LockKind, LockInfo, float]] = []
    with held_by_another_thread(db_url) as release:

        def on_wait(kind: LockKind, holder: LockInfo, wait: float) -> None:
            told.append((kind, holder, wait))
            release()

        with run_lock(db_url, wait=300, on_wait=on_wait) as info:
            assert info is not None and info.pid == os.getpid()
    ((kind, holder, wait),) = told
    assert kind is RUN_LOCK and wait == 300
    assert holder.pid == os.getpid() and holder.since is not None and holder.host


def test_a_run_that_waited_too_long_names_the_holder(db_url: str) -> None:
    told: list[LockInfo] = []
    with (
        held_by_another_thread(db_url),
        pytest.raises(LockHeld) as raised,
        run_lock(db_url, wait=0.3, on_wait=lambda _k, holder, _w: told.append(holder)),
    ):
        pass
    message = str(raised.value)
    assert message.startswith("another cvewatch run holds the lock since ")
    assert f"pid {os.getpid()}" in message and message.endswith("; gave up after waiting 0.3 s")
    assert isinstance(raised.value, StoreBusy) and raised.value.exit_status == 75
    assert len(told) == 1  # told once, not at every try
    # without waiting, at once and without being told
    with (
        held_by_another_thread(db_url),
        pytest.raises(LockHeld, match="holds the lock since") as raised,
        run_lock(db_url, on_wait=lambda *_: pytest.fail("told to wait")),
    ):
        pass
    assert "gave up" not in str(raised.value)


# --- migrations: the first use of a new store by several processes ------------------------------------------


def _three_at_once(db_url: str) -> list[Running]:
    return [Running("inventory", "releases", "--json", env=cli_env(db_url)) for _ in range(3)]


def test_three_processes_at_the_first_use_of_a_store_all_see_it_at_head(db_url: str) -> None:
    """Three read-only commands at once on a new store: one migrates, the others wait for the migration lock
    and then find the store at head (they used to exit 1 with "cannot migrate … already exists")."""
    engine = make_engine(db_url)
    try:
        procs = _three_at_once(db_url)
        for p in procs:
            ended = p.finish()
            assert ended.returncode == 0, ended.stderr
            assert json.loads(ended.stdout) == [] and "Traceback" not in ended.stderr
        assert current_revision(engine) == head_revision(engine)

        # the same, made certain to overlap: a new store again, and its migration lock held here until all
        # three processes wait for it
        command.downgrade(alembic_config(engine), "base")
        assert "verdicts" not in inspect(engine).get_table_names()
        with hold(MIGRATION_LOCK, check_url(db_url)):
            procs = _three_at_once(db_url)
            try:
                for p in procs:
                    assert p.wait_for(f"waiting for the migration lock held by pid {os.getpid()}"), p.finish()
            except BaseException:
                for p in procs:
                    p.kill()
                raise
        for p in procs:
            ended = p.finish()
            assert ended.returncode == 0, ended.stderr
            assert json.loads(ended.stdout) == [] and "Traceback" not in ended.stderr
        assert current_revision(engine) == head_revision(engine)
        assert "verdicts" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_migration_lock_is_not_the_run_lock(db_url: str) -> None:
    """A run in progress does not keep a read-only command from opening (and migrating) the store."""
    with run_lock(db_url), hold(MIGRATION_LOCK, check_url(db_url), wait=0) as info:
        assert info is not None and info.pid == os.getpid()
    url = check_url(db_url)
    with (
        hold(MIGRATION_LOCK, url),
        pytest.raises(LockHeld, match="is migrating the store since"),
        hold(MIGRATION_LOCK, url, wait=0),
    ):
        pass
