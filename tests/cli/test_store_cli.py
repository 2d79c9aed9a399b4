"""The store from the command line, in real processes, on SQLite and on the real PostgreSQL: writing commands
take the run lock (the scheduler's) and wait for it with a message, or fail in one line; bad store URLs and
output paths are one line, not a traceback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from cvewatch.store.db import open_engine
from cvewatch.store.models import VerdictRow, VulnerabilityRow
from cvewatch.store.runlock import run_lock
from cvewatch.store.sync_runs import recent_runs

from ..conftest import NVD, SPECS
from ..procs import Ended, Running, cli_env, one_clear_line
from ..sources.nvd_server import FakeNvd, serve

WAITING = f"waiting for the run lock held by pid {os.getpid()} on "
HELD = "error: another cvewatch run holds the lock since "


def cvewatch(*args: str, db: str | None, **env: str) -> Ended:
    return Running(*args, env=cli_env(db, **env)).finish()


def _ok(ended: Ended) -> Ended:
    assert ended.returncode == 0, ended.stdout + ended.stderr
    assert "Traceback" not in ended.stderr, ended.stderr
    return ended


def _at_once(db_url: str, *commands: tuple[str, ...]) -> list[Ended]:
    """Each command in its own process, all started together."""
    procs = [Running(*args, env=cli_env(db_url)) for args in commands]
    return [p.finish() for p in procs]


def _while_this_process_holds_the_lock(db_url: str, args: tuple[str, ...], waiting: int) -> list[Ended]:
    """``waiting`` processes of ``args`` started while this process holds the run lock: each must say that
    it waits for this pid; a process with ``--wait 0`` must fail in one line meanwhile. Then the lock is
    released and they run one after another."""
    with run_lock(db_url):
        procs = [Running(*args, env=cli_env(db_url)) for _ in range(waiting)]
        try:
            impatient = Running("--wait", "0", *args, env=cli_env(db_url)).finish()
            assert impatient.returncode == 75, impatient.stderr
            line = one_clear_line(impatient)
            assert line.startswith(HELD) and f"(pid {os.getpid()} on " in line, line
            for p in procs:
                assert p.wait_for(WAITING), p.finish()
        except BaseException:
            for p in procs:
                p.kill()
            raise
    return [p.finish() for p in procs]


# --- the run lock: two writing commands at once -------------------------------------------------------------


def _cves() -> list[dict[str, Any]]:
    return [orjson.loads(p.read_bytes()) for p in sorted((NVD / "recent").glob("CVE-*.json"))]


def test_two_nvd_syncs_at_once_run_one_after_the_other(db_url: str) -> None:
    """Two `sync nvd` against one (loopback) NVD API at once: they used to exceed the rate limit together,
    and on PostgreSQL one died with a UniqueViolation traceback."""
    cves = _cves()
    fake = FakeNvd.of(cves)
    with serve(fake) as url:
        args = ("sync", "nvd", "--api-url", url, "--rate-limit", "off")
        for ended in _at_once(db_url, args, args):
            _ok(ended)
        for ended in _while_this_process_holds_the_lock(db_url, args, 2):
            assert "nvd api: run" in _ok(ended).stdout
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(VulnerabilityRow)).scalar_one()
            runs = recent_runs(conn)
    finally:
        engine.dispose()
    assert stored == len({c["id"] for c in cves})
    assert [r.status for r in runs if r.source == "nvd-api"] == ["ok"] * 4


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    folder = tmp_path / "SPECS"
    for name in ("curl", "libxml2", "sqlite"):
        shutil.copytree(SPECS / name, folder / name)
    return folder


def _one_verdict_per_scope(db_url: str) -> int:
    engine = open_engine(db_url)
    c = VerdictRow.__table__.c
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(VerdictRow)).scalar_one()
            keys = select(c.cve_id, c.package, c.release_id, c.image_id).distinct().subquery()
            scopes = conn.execute(select(func.count()).select_from(keys)).scalar_one()
    finally:
        engine.dispose()
    assert rows == scopes
    return int(rows)


def test_two_scans_at_once_leave_one_verdict_per_scope(db_url: str, specs: Path) -> None:
    """Two full scans of a release at once (on PostgreSQL they used to double the verdict rows)."""
    _ok(cvewatch("sync", "nvd", "--from", str(NVD / "recent"), db=db_url))
    _ok(cvewatch("inventory", "load-specs", str(specs), "--release", "azl3", db=db_url))
    args = ("scan", "--release", "azl3", "--full", "--json")
    first, second = (json.loads(_ok(e).stdout) for e in _at_once(db_url, args, args))
    assert first == second and first
    assert _one_verdict_per_scope(db_url) == len(first)
    for ended in _while_this_process_holds_the_lock(db_url, args, 2):
        assert json.loads(_ok(ended).stdout) == first
    assert _one_verdict_per_scope(db_url) == len(first)


def test_read_only_commands_do_not_wait_for_the_run_lock(db_url: str) -> None:
    _ok(cvewatch("inventory", "releases", db=db_url))  # migrated
    with run_lock(db_url):
        for args in (("sync", "status", "--json"), ("inventory", "releases", "--json"), ("triage", "list")):
            ended = _ok(cvewatch("--wait", "0", *args, db=db_url))
            assert "waiting" not in ended.stderr


def test_the_scheduled_job_runs_under_its_own_lock(db_url: str, tmp_path: Path) -> None:
    """`schedule --once` takes the run lock and its steps (the functions the commands call) do not wait
    for it again."""
    config = tmp_path / "c.toml"
    config.write_text(f'[sources]\nnvd = "files"\nnvd_paths = ["{NVD / "recent"}"]\n', encoding="utf-8")
    ended = _ok(cvewatch("schedule", "--once", "--config", str(config), db=db_url))
    assert "job done: 1 of 1 steps ok" in ended.stdout and "waiting" not in ended.stderr


# --- bad store URLs and output paths: one line, exit status 1 ----------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("notaurl", "error: not a store URL: 'notaurl'; use sqlite:///PATH or postgresql+psycopg://"),
        (
            "mysql://scott:tiger@db.example/cvewatch",
            "error: unsupported store URL mysql://scott:***@db.example",
        ),
        ("postgresql+psycopg2://u@127.0.0.1/x", "error: unsupported store URL postgresql+psycopg2://"),
        (
            "postgresql+psycopg://postgres@127.0.0.1:1/x",
            "error: cannot open the store at postgresql+psycopg:",
        ),
    ],
)
@pytest.mark.parametrize("args", [("sync", "status"), ("scan", "--release", "azl3")], ids=["read", "write"])
def test_a_bad_store_url_is_one_line(url: str, message: str, args: tuple[str, ...]) -> None:
    ended = cvewatch("--db", url, *args, db=None)
    assert ended.returncode == 1
    line = one_clear_line(ended)
    assert line.startswith(message), line
    assert "tiger" not in line


@pytest.mark.parametrize("args", [("sync", "status"), ("inventory", "load-specs", "SPECS", "--release", "x")])
def test_a_store_in_a_folder_that_does_not_exist_is_not_created(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    url = f"sqlite:///{tmp_path / 'nonexistent' / 'dir' / 'x.sqlite'}"
    ended = cvewatch("--db", url, *args, db=None)
    assert ended.returncode == 1
    line = one_clear_line(ended)
    assert line == (
        f"error: the folder of the SQLite store {url} does not exist: {tmp_path / 'nonexistent' / 'dir'} "
        "(create it first; only the default store's folder is created)"
    )
    assert not (tmp_path / "nonexistent").exists()


def test_the_default_store_and_its_folder_are_created(tmp_path: Path) -> None:
    data = tmp_path / "xdg"
    _ok(cvewatch("inventory", "releases", db=None, XDG_DATA_HOME=str(data)))
    assert (data / "cvewatch" / "cvewatch.sqlite").is_file()


PUBLISHER = ("--publisher-name", "Example", "--publisher-namespace", "https://example.org/")


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path: Path, specs: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    assert cvewatch("inventory", "load-specs", str(specs), "--release", "azl3", db=db).returncode == 0
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for out, why in (("/proc/nope", "No such file or directory"), (str(a_file / "csaf"), "Not a directory")):
        ended = cvewatch("publish", "csaf", "--release", "azl3", "--out", out, *PUBLISHER, db=db)
        assert ended.returncode == 1
        assert one_clear_line(ended) == f"error: {out}: cannot create the output folder: {why}"
        ended = cvewatch("demo", "--out", out, db=None)
        assert ended.returncode == 1
        assert one_clear_line(ended) == f"error: {out}: {why}"
