"""The scheduled job: sync the configured sources, then scan the configured releases and node images.

:func:`run_once` runs the job now, under the store's run lock (what systemd or a Kubernetes CronJob call);
:func:`run_forever` runs it at every fire time of the cron expression. Each step is independent: a source
that cannot be read is reported and the job goes on with the next step; the job is ``ok`` only when every
step is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from cvewatch.config import Settings, validate_cron
from cvewatch.errors import ConfigError, CvewatchError
from cvewatch.store.locks import OnWait
from cvewatch.store.runlock import LockHeld, run_lock

__all__ = [
    "JobReport",
    "StepResult",
    "fire_times",
    "next_fire_times",
    "run_forever",
    "run_job",
    "run_once",
]

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class StepResult:
    name: str  # "sync nvd-files", "sync kev", "scan release azl3", "scan image …"
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class JobReport:
    started: datetime
    finished: datetime
    steps: tuple[StepResult, ...]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def failed(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if not s.ok)


# --- cron ---------------------------------------------------------------------------------------------------


def fire_times(cron: str, after: datetime, tz: ZoneInfo | None = None) -> Iterator[datetime]:
    """The fire times of ``cron`` strictly after ``after``, in ``tz`` (default UTC), as aware UTC times."""
    from croniter import croniter

    expr = validate_cron(cron)
    zone = tz or ZoneInfo("UTC")
    start = (after if after.tzinfo else after.replace(tzinfo=UTC)).astimezone(zone)
    it = croniter(expr, start)
    while True:
        yield it.get_next(datetime).astimezone(UTC)


def next_fire_times(cron: str, after: datetime, count: int = 2, tz: ZoneInfo | None = None) -> list[datetime]:
    return list(islice(fire_times(cron, after, tz), count))


# --- the job ------------------------------------------------------------------------------------------------


def _sync_steps(settings: Settings) -> list[tuple[str, Callable[[Engine], str]]]:
    """The sync steps the settings ask for, each a name and a function of the engine returning a summary.
    Settings that cannot run (an unknown NVD mode) raise :class:`ConfigError` before anything runs."""
    src = settings.sources
    steps: list[tuple[str, Callable[[Engine], str]]] = []
    if src.nvd == "files":
        for path in src.nvd_paths:

            def nvd_files(engine: Engine, path: str = path) -> str:
                from cvewatch.sources.importer import import_source
                from cvewatch.sources.nvd_files import NvdFileSource

                report = import_source(engine, NvdFileSource(path), origin=path)
                s = report.stats
                summary = (
                    f"{report.read} read, {s.new} new, {s.updated} updated, {s.unchanged} unchanged, "
                    f"{len(report.problems)} problems"
                )
                if report.status == "failed":
                    raise CvewatchError(f"nothing could be imported from {path}: {summary}")
                return summary

            steps.append((f"sync nvd-files {path}", nvd_files))
    elif src.nvd == "api":
        try:
            from cvewatch.sources import nvd_api
        except ImportError as err:  # pragma: no cover - the module ships with cvewatch
            raise ConfigError(f"{settings.origin}: sources.nvd = 'api' is not available: {err}") from err
        if not hasattr(nvd_api, "sync_nvd_api"):  # pragma: no cover
            raise ConfigError(f"{settings.origin}: sources.nvd = 'api' is not available in this version")

        def nvd_api_step(engine: Engine) -> str:
            from cvewatch.sources.nvd_api import NvdApiConfig, sync_nvd_api

            r = sync_nvd_api(engine, NvdApiConfig.from_env())
            summary = (
                f"{r.mode}, {r.pages} pages, {r.new} new, {r.updated} updated, {r.unchanged} unchanged, "
                f"{r.errors} errors, status {r.status}"
            )
            return summary

        steps.append(("sync nvd-api", nvd_api_step))
    elif src.nvd != "off":
        raise ConfigError(f"{settings.origin}: unknown sources.nvd {src.nvd!r}")

    if src.cve5 is not None or src.cve5_delta is not None:

        def cve5(engine: Engine) -> str:
            from cvewatch.sources.cve5 import Cve5Source, import_cve5

            report = import_cve5(engine, Cve5Source(src.cve5, delta=src.cve5_delta))
            s = report.stats
            summary = (
                f"{report.read} read, {s.new} new, {s.updated} updated, {s.unchanged} unchanged, "
                f"{len(report.problems)} problems"
            )
            if report.status == "failed":
                raise CvewatchError(f"no CVE JSON 5 record could be read: {summary}")
            return summary

        steps.append(("sync cve5", cve5))
    if src.kev is not None:
        kev_location = src.kev

        def kev(engine: Engine) -> str:
            from cvewatch.sources.kev import import_kev

            r = import_kev(engine, kev_location)
            return (
                f"catalogue {r.catalog_version}: {r.entries} entries, {r.added} added, {r.removed} removed, "
                f"{len(r.problems)} problems"
            )

        steps.append(("sync kev", kev))
    if src.epss is not None:
        epss_location = src.epss

        def epss(engine: Engine) -> str:
            from cvewatch.sources.epss import import_epss

            r = import_epss(engine, epss_location)
            if r.stale:
                return f"{r.score_date}: older than the stored day, skipped"
            return f"{r.score_date} (model {r.model_version}): {r.scores} scores, {len(r.problems)} problems"

        steps.append(("sync epss", epss))
    return steps


def _scan_steps(settings: Settings) -> list[tuple[str, Callable[[Engine], str]]]:
    from cvewatch.services.scan import ScanResult, run_scan

    def summary(result: ScanResult) -> str:
        counts: dict[str, int] = {}
        for v in result.verdicts:
            counts[v.status.value] = counts.get(v.status.value, 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        c = result.changes
        return (
            f"{result.packages} packages, {len(result.verdicts)} verdicts"
            + (f" ({parts})" if parts else "")
            + f"; {c.added} new, {c.changed} changed, {c.removed} removed"
        )

    steps: list[tuple[str, Callable[[Engine], str]]] = []
    for release in settings.releases:

        def scan_release(engine: Engine, release: str = release) -> str:
            result = run_scan(engine, release=release, workers=settings.workers)
            return summary(result)

        steps.append((f"scan release {release}", scan_release))
    for image in settings.images:

        def scan_image(engine: Engine, image: str = image) -> str:
            result = run_scan(engine, image=image, workers=settings.workers)
            return summary(result)

        steps.append((f"scan image {image}", scan_image))
    return steps


def run_job(engine: Engine, settings: Settings, *, log: Log | None = None) -> JobReport:
    """Sync every configured source, then scan every configured release and image. A step that raises
    (a :class:`CvewatchError`, or anything unexpected, named with its type) is recorded as a failed step and
    the job goes on with the next one."""
    steps = _sync_steps(settings) + _scan_steps(settings)
    if not steps:
        raise ConfigError(
            f"{settings.origin}: nothing to do: configure [sources] to sync and/or [scan] releases or images"
        )
    emit = log or (lambda _msg: None)
    started = datetime.now(UTC)
    results: list[StepResult] = []
    for name, step in steps:
        try:
            detail = step(engine)
        except (CvewatchError, ValueError) as err:
            results.append(StepResult(name, False, str(err)))
            emit(f"{name}: FAILED: {err}")
        except Exception as err:  # an unexpected failure of one step must not cost the others
            detail = f"unexpected {type(err).__name__}: {err}"
            results.append(StepResult(name, False, detail))
            emit(f"{name}: FAILED: {detail}")
        else:
            results.append(StepResult(name, True, detail))
            emit(f"{name}: {detail}")
    return JobReport(started, datetime.now(UTC), tuple(results))


def run_once(
    url: str,
    settings: Settings,
    *,
    log: Log | None = None,
    wait: float = 0.0,
    on_wait: OnWait | None = None,
) -> JobReport:
    """Run the job now under the run lock of the store at ``url`` (migrated first when behind).
    Raises :class:`~cvewatch.store.runlock.LockHeld` when another run holds the lock (after waiting up to
    ``wait`` seconds for it: by default not at all, the next fire time tries again). The job's steps call
    the same functions the commands do; none of them takes the lock again (it is re-entrant if one did)."""
    from cvewatch.store.db import open_engine

    _sync_steps(settings)  # settings errors before taking the lock
    with run_lock(url, wait=wait, on_wait=on_wait):
        engine = open_engine(url)
        try:
            return run_job(engine, settings, log=log)
        finally:
            engine.dispose()


def run_forever(
    url: str,
    settings: Settings,
    *,
    log: Log | None = None,
    stop: threading.Event | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    max_runs: int | None = None,
) -> int:
    """Run the job at every fire time of ``settings.cron`` until ``stop`` is set (or ``max_runs`` jobs ran).
    A fire time at which another run holds the lock is skipped with a message. Returns the number of jobs
    that ran."""
    emit = log or (lambda _msg: None)
    stop = stop or threading.Event()
    _sync_steps(settings)
    ran = 0
    while not stop.is_set() and (max_runs is None or ran < max_runs):
        at = next_fire_times(settings.cron, now(), 1, settings.tz)[0]
        emit(f"next run at {at:%Y-%m-%d %H:%M:%S} UTC ({settings.cron}, {settings.timezone})")
        while not stop.is_set():
            wait = (at - now()).total_seconds()
            if wait <= 0:
                break
            stop.wait(min(wait, 60.0))
        if stop.is_set():
            break
        try:
            report = run_once(url, settings, log=emit)
        except LockHeld as err:
            emit(f"skipped: {err}")
        except Exception as err:  # the scheduler outlives a failed job: the next fire time tries again
            emit(f"job failed: {type(err).__name__}: {err}")
        else:
            emit(
                f"job {'ok' if report.ok else 'finished with failed steps'} in "
                f"{(report.finished - report.started).total_seconds():.0f} s"
            )
        ran += 1
    return ran
