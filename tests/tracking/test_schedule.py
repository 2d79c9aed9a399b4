"""The scheduled job: cron fire times, settings, the run lock across processes, `schedule --once`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from cvewatch.config import DEFAULT_CRON, Settings, SourceSettings, load_settings, settings_from
from cvewatch.errors import ConfigError, StoreError
from cvewatch.services.schedule import next_fire_times, run_forever, run_job, run_once
from cvewatch.sources.kev import KEV_URL
from cvewatch.store.db import open_engine
from cvewatch.store.models import VerdictRow
from cvewatch.store.runlock import LockHeld, lock_file_for, run_lock
from cvewatch.store.sync_runs import recent_runs

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
NVD_RECENT = SHARED_DATA / "nvd" / "recent"
CVE5_RECENT = SHARED_DATA / "cve5" / "recent"
SPECS = SHARED_DATA / "azurelinux" / "SPECS-3.0"
PACKAGES = ("curl", "libxml2", "sqlite")
CLI = [sys.executable, "-m", "cvewatch.cli"]
LOCK_MESSAGE = "another cvewatch run holds the lock since"


@pytest.fixture(scope="module")
def shared() -> Path:
    if not (NVD_RECENT.is_dir() and SPECS.is_dir()):
        pytest.skip(f"shared data not found under {SHARED_DATA}")
    return SHARED_DATA


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVEWATCH_")}
    env.update(COLUMNS="200", **extra)
    return env


# --- cron ---------------------------------------------------------------------------------------------------


def test_default_cron_fires_twice_a_day_twelve_hours_apart() -> None:
    first, second = next_fire_times(DEFAULT_CRON, datetime(2026, 3, 1, 5, 17, tzinfo=UTC))
    assert first == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert second - first == timedelta(hours=12)
    assert second == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    # exactly at a fire time, the next one is the following fire time
    (after,) = next_fire_times(DEFAULT_CRON, datetime(2026, 3, 1, 12, 0, tzinfo=UTC), 1)
    assert after == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_cron_in_a_time_zone() -> None:
    (at,) = next_fire_times("30 6 * * *", datetime(2026, 7, 1, 0, 0, tzinfo=UTC), 1, ZoneInfo("Europe/Paris"))
    assert at == datetime(2026, 7, 1, 4, 30, tzinfo=UTC)  # 06:30 CEST


# --- settings -----------------------------------------------------------------------------------------------


def test_settings_defaults_file_and_environment(tmp_path: Path) -> None:
    assert load_settings(None, env={}) == Settings(origin="environment")
    config = tmp_path / "cvewatch.toml"
    config.write_text(
        textwrap.dedent(
            """
            [store]
            url = "postgresql+psycopg://cvewatch@db/cvewatch"
            [schedule]
            cron = "15 */6 * * *"
            [sources]
            nvd = "files"
            nvd_paths = ["/srv/nvd"]
            kev = true
            epss = "/srv/epss.csv.gz"
            [scan]
            releases = ["azl3"]
            images = ["AKSAzureLinuxV3-gen2-202608.20.0"]
            workers = 3
            """
        ),
        encoding="utf-8",
    )
    s = load_settings(None, env={"CVEWATCH_CONFIG": str(config)})
    assert s.cron == "15 */6 * * *"
    assert s.db_url == "postgresql+psycopg://cvewatch@db/cvewatch"
    assert s.sources == SourceSettings("files", ("/srv/nvd",), None, None, KEV_URL, "/srv/epss.csv.gz")
    assert s.sources.enabled == ("nvd-files", "kev", "epss")
    assert (s.releases, s.images) == (("azl3",), ("AKSAzureLinuxV3-gen2-202608.20.0",))
    assert s.workers == 3
    # the environment overrides the file
    s = load_settings(
        config, env={"CVEWATCH_SCHEDULE": "0 3 * * *", "CVEWATCH_KEV": "off", "CVEWATCH_RELEASES": "a, b"}
    )
    assert (s.cron, s.sources.kev, s.releases) == ("0 3 * * *", None, ("a", "b"))
    assert load_settings(config, env={"CVEWATCH_SCAN_WORKERS": "1"}).workers == 1


@pytest.mark.parametrize(
    ("doc", "env", "message"),
    [
        ({"schedule": {"cron": "every 12 hours"}}, {}, "not a five-field cron expression"),
        ({}, {"CVEWATCH_SCHEDULE": "0 */12 * *"}, "$CVEWATCH_SCHEDULE: '0 */12 * *' is not a five-field"),
        ({"schedule": {"cron": "61 * * * *"}}, {}, "cron"),
        ({"schedule": {"timezone": "Mars/Olympus"}}, {}, "unknown time zone 'Mars/Olympus'"),
        ({"sources": {"nvd": "ftp"}}, {}, "nvd must be one of off, files, api"),
        ({"sources": {"nvd": "files"}}, {}, "nvd = 'files' needs nvd_paths"),
        ({"sources": {"kev": 3}}, {}, "expected true, false or a URL or path"),
        ({"scan": {"releases": "azl3", "image": ["x"]}}, {}, "unknown setting scan.image"),
        ({"scans": {}}, {}, "unknown section [scans]"),
        (
            {"scan": {"workers": 0}},
            {},
            "cvewatch.toml: workers: expected a number of processes (1 or more), got 0",
        ),
        ({}, {"CVEWATCH_SCAN_WORKERS": "all"}, "$CVEWATCH_SCAN_WORKERS: expected a number of processes"),
    ],
)
def test_bad_settings_name_the_setting(doc: dict[str, Any], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from(doc, env, "cvewatch.toml")
    assert message in str(info.value)


def test_bad_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[schedule\ncron = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(bad, env={})


# --- the run lock -------------------------------------------------------------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from typing import Any
from cvewatch.errors import CvewatchError
from cvewatch.store.runlock import run_lock
url, release = sys.argv[1], Path(sys.argv[2])
try:
    with run_lock(url):
        print("locked", flush=True)
        while not release.exists():
            time.sleep(0.05)
except CvewatchError as exc:
    print(exc, file=sys.stderr, flush=True)
    sys.exit(75)
"""


@contextlib.contextmanager
def held_by_another_thread(url: str) -> Iterator[None]:
    """The run lock held by another thread of this process (another holder, as another process is)."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with run_lock(url):
            taken.set()
            done.wait(120)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(60)
        yield
    finally:
        done.set()
        thread.join()


def _wait_first(procs: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    deadline = datetime.now(UTC) + timedelta(seconds=120)
    while datetime.now(UTC) < deadline:
        for p in procs:
            if p.poll() is not None:
                return p
        threading.Event().wait(0.05)
    raise AssertionError("neither process ended")


def _race(url: str, tmp_path: Path) -> None:
    """Two processes started at once: one holds the lock, the other exits 75 with the message."""
    release = tmp_path / "release"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HOLDER, url, str(release)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for _ in range(2)
    ]
    try:
        loser = _wait_first(procs)
        winner = procs[1 - procs.index(loser)]
        out, err = loser.communicate(timeout=60)
        assert loser.returncode == 75, (out, err)
        assert LOCK_MESSAGE in err
        assert f"pid {winner.pid}" in err
        release.touch()
        out, err = winner.communicate(timeout=60)
        assert winner.returncode == 0, err
        assert out.strip() == "locked"
    finally:
        release.touch()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_two_processes_at_once(db_url: str, tmp_path: Path) -> None:
    """On SQLite (a lock file next to the database) and on PostgreSQL (an advisory lock)."""
    _race(db_url, tmp_path)
    # once released, the lock can be taken again; the same thread takes it again without waiting for
    # itself (re-entrant), another thread is another holder
    with run_lock(db_url) as info:
        assert info is not None and info.pid == os.getpid()
        with run_lock(db_url, wait=600) as again:
            assert again == info
        raised: list[BaseException] = []

        def other() -> None:
            try:
                with run_lock(db_url):
                    pass
            except LockHeld as exc:
                raised.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert len(raised) == 1 and LOCK_MESSAGE in str(raised[0])
    # the outermost block released it
    with run_lock(db_url):
        pass


def test_sqlite_lock_file_is_next_to_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'store.sqlite'}"
    assert lock_file_for(url) == tmp_path / "data" / "store.sqlite.lock"
    assert lock_file_for("sqlite://") is None
    # a store's folder is never made by its lock (only the default store's folder is, by cvewatch.store.db)
    with pytest.raises(StoreError, match="does not exist"), run_lock(url):
        pass
    assert not (tmp_path / "data").exists()
    (tmp_path / "data").mkdir()
    with run_lock(url):
        held = json.loads((tmp_path / "data" / "store.sqlite.lock").read_text())
        assert held["pid"] == os.getpid()
    assert (tmp_path / "data" / "store.sqlite.lock").read_text() == ""


def test_schedule_once_exits_when_the_lock_is_held(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[scan]\nreleases = ["azl3"]\n', encoding="utf-8")
    with run_lock(db_url):
        proc = subprocess.run(
            [*CLI, "--db", db_url, "schedule", "--once", "--config", str(config)],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
        )
    assert proc.returncode == 75, proc.stderr
    assert LOCK_MESSAGE in proc.stderr
    assert f"pid {os.getpid()}" in proc.stderr


# --- the job ------------------------------------------------------------------------------------------------


@pytest.fixture
def specs(shared: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "SPECS"
    for name in PACKAGES:
        shutil.copytree(SPECS / name, folder / name)
    return folder


def test_schedule_once_end_to_end(specs: Path, tmp_path: Path) -> None:
    """`cvewatch schedule --once` in a subprocess: NVD files and CVE JSON 5 records in, verdicts out."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    load = subprocess.run(
        [*CLI, "inventory", "load-specs", str(specs), "--release", "azl3"],
        capture_output=True,
        text=True,
        env=_env(CVEWATCH_DB=url),
        timeout=300,
    )
    assert load.returncode == 0, load.stderr
    config = tmp_path / "cvewatch.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [sources]
            nvd = "files"
            nvd_paths = ["{NVD_RECENT}"]
            cve5 = "{CVE5_RECENT}"
            [scan]
            releases = ["azl3"]
            """
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [*CLI, "schedule", "--once"],
        capture_output=True,
        text=True,
        env=_env(CVEWATCH_DB=url, CVEWATCH_CONFIG=str(config)),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"sync nvd-files {NVD_RECENT}:" in proc.stdout
    assert "scan release azl3: 3 packages" in proc.stdout
    assert "job done: 3 of 3 steps ok" in proc.stdout
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            verdicts = conn.execute(select(VerdictRow.package, VerdictRow.cve_id, VerdictRow.status)).all()
            runs = {r.source: r.status for r in recent_runs(conn)}
            n_verdicts = conn.execute(select(func.count()).select_from(VerdictRow)).scalar_one()
    finally:
        engine.dispose()
    assert n_verdicts == len(verdicts) > 0
    assert {p for p, _, _ in verdicts} <= set(PACKAGES)
    assert ("curl", "CVE-2025-14017") in {(p, c) for p, c, _ in verdicts}
    assert runs == {"nvd-files": "ok", "cve5": "ok"}


def test_a_failing_step_does_not_stop_the_job(engine: Engine, tmp_path: Path, shared: Path) -> None:
    settings = Settings(
        sources=SourceSettings("files", (str(NVD_RECENT),), kev=str(tmp_path / "missing-kev.json")),
        releases=("no-such-release",),
    )
    lines: list[str] = []
    report = run_job(engine, settings, log=lines.append)
    assert [s.name for s in report.steps] == [
        f"sync nvd-files {NVD_RECENT}",
        "sync kev",
        "scan release no-such-release",
    ]
    assert [s.ok for s in report.steps] == [True, False, False]
    assert "missing-kev.json: no such file" in report.steps[1].detail
    assert not report.ok
    assert any("sync kev: FAILED" in line for line in lines)


def test_nothing_configured_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nothing to do"):
        run_once(f"sqlite:///{tmp_path / 's.sqlite'}", Settings())


def test_run_forever_runs_at_fire_times_and_skips_when_locked(tmp_path: Path, shared: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    settings = Settings(sources=SourceSettings("files", (str(NVD_RECENT / "CVE-2025-14017.json"),)))
    # a clock that is always past the next fire time: every loop runs at once, no real waiting
    clock = iter(datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=13 * i) for i in range(100))
    lines: list[str] = []
    ran = run_forever(url, settings, log=lines.append, now=lambda: next(clock), max_runs=2)
    assert ran == 2
    assert lines[0] == "next run at 2026-03-01 12:00:00 UTC (0 */12 * * *, UTC)"
    assert sum("sync nvd-files" in line for line in lines) == 2
    with held_by_another_thread(url):  # the lock is re-entrant in one thread: another one holds it here
        lines.clear()
        run_forever(url, settings, log=lines.append, now=lambda: next(clock), max_runs=1)
    assert any(line.startswith(f"skipped: {LOCK_MESSAGE}") for line in lines)
