"""`cvewatch sync cve5|kev|epss` (registered onto the `sync` group) and `cvewatch schedule`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cvewatch.cli.common import (
    LOCK_HELD_EXIT,
    engine,
    err,
    fail,
    handled,
    lock_wait,
    out,
    report_problems,
    say_waiting,
    state,
    writes,
)
from cvewatch.cli.sync import app
from cvewatch.errors import InputError

__all__ = ["app", "cve5", "epss", "kev", "schedule"]


@app.command("cve5")
@handled
@writes
def cve5(
    source: Annotated[
        str | None,
        typer.Option(
            "--from", help="A CVE JSON 5 record file or a folder of them, e.g. a cvelistV5 checkout."
        ),
    ] = None,
    delta: Annotated[
        str | None,
        typer.Option(
            "--delta",
            help="Only the records a cvelistV5 delta.json/deltaLog.json names (a path, relative to --from, "
            "or a URL; without --from each record is fetched from GitHub).",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="With --delta: only deltas fetched after this ISO time.")
    ] = None,
) -> None:
    """Import CVE JSON 5 records (CNA and ADP affected data, CVSS, CWEs), keeping the newest dateUpdated."""
    from cvewatch.sources.cve5 import Cve5Source, import_cve5, parse_datetime

    if source is None and delta is None:
        fail("give --from PATH and/or --delta FILE_OR_URL", 2)
    if since is not None and delta is None:
        raise InputError("--since applies to --delta (the deltas fetched after it)")
    if delta is not None and not delta.startswith(("http://", "https://")):
        root = Path(source) if source is not None else None
        places = [Path(delta)]
        if root is not None and not Path(delta).is_absolute():
            places += [root / delta, (root.parent if root.name == "cves" else root) / delta]
        if not any(p.is_file() for p in places):
            raise InputError(
                f"--delta: {delta}: no such file (a path, relative to --from, or an http(s) URL)"
            )
    since_at = parse_datetime(since, "--since", "--since") if since else None
    src = Cve5Source(source, delta=delta, since=since_at)
    report = import_cve5(engine(), src)
    report_problems(report.problems)
    s = report.stats
    out.print(
        f"cve5: {report.read} records read, {s.new} new, {s.updated} updated, {s.unchanged} unchanged, "
        f"{s.rejected} rejected, {len(report.problems)} problems",
        highlight=False,
    )
    if report.status == "failed":
        fail(f"nothing could be imported from {src.origin}")


@app.command("kev")
@handled
@writes
def kev(
    source: Annotated[
        str | None, typer.Option("--from", help="A URL or file (default: CISA's JSON feed).")
    ] = None,
) -> None:
    """Replace the stored CISA Known Exploited Vulnerabilities catalogue with the current one."""
    from cvewatch.cli.values import url_or_file
    from cvewatch.sources.kev import KEV_URL, import_kev

    if source is not None:
        url_or_file(source, "--from")
    r = import_kev(engine(), source or KEV_URL)
    report_problems(r.problems)
    out.print(
        f"kev: catalogue {r.catalog_version}, {r.entries} entries ({r.added} added, {r.removed} removed), "
        f"{len(r.problems)} problems",
        highlight=False,
    )


@app.command("epss")
@handled
@writes
def epss(
    source: Annotated[
        str | None,
        typer.Option("--from", help="A URL or file, CSV plain or .gz (default: FIRST's current scores)."),
    ] = None,
    allow_older: Annotated[
        bool, typer.Option("--allow-older", help="Load the file even if the store has a newer day.")
    ] = False,
) -> None:
    """Replace the stored EPSS scores with one day's scores."""
    from cvewatch.cli.values import url_or_file
    from cvewatch.sources.epss import EPSS_URL, import_epss

    if source is not None:
        url_or_file(source, "--from")
    r = import_epss(engine(), source or EPSS_URL, allow_older=allow_older)
    report_problems(r.problems)
    if r.stale:
        out.print(f"epss: {r.score_date} is older than the stored day; nothing changed", highlight=False)
        return
    out.print(
        f"epss: {r.scores} scores of {r.score_date} (model {r.model_version}), {r.replaced} replaced, "
        f"{len(r.problems)} problems",
        highlight=False,
    )


@handled
def schedule(
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="CVEWATCH_CONFIG", help="The settings file (TOML)."),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run the job once now (under the run lock) and exit.")
    ] = False,
    show_next: Annotated[
        int, typer.Option("--show-next", help="Print the next N fire times and exit.", min=0)
    ] = 0,
) -> None:
    """Sync the configured sources, then scan the configured releases and images, on the cron schedule
    (default twice a day); `--once` runs the job once, as systemd timers and Kubernetes CronJobs do."""
    from cvewatch.config import load_settings
    from cvewatch.services.schedule import next_fire_times, run_forever, run_once
    from cvewatch.store.db import resolve_url
    from cvewatch.store.runlock import LockHeld

    settings = load_settings(config)

    def log(message: str) -> None:
        out.print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z {message}", highlight=False, markup=False, soft_wrap=True
        )

    if show_next:
        for at in next_fire_times(settings.cron, datetime.now(UTC), show_next, settings.tz):
            out.print(f"{at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)
        return
    url = resolve_url(state().store.url or settings.db_url)
    if not once:
        log(
            f"scheduling {settings.cron} ({settings.timezone}); sources: "
            f"{', '.join(settings.sources.enabled) or 'none'}; store {_redact(url)}"
        )
        try:
            run_forever(url, settings, log=log)
        except KeyboardInterrupt:
            log("stopped")
        return
    try:
        # a scheduled run does not wait (the next fire time tries again) unless --wait says so
        report = run_once(url, settings, log=log, wait=lock_wait(0.0), on_wait=say_waiting)
    except LockHeld as exc:
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(LOCK_HELD_EXIT) from exc
    failed = report.failed
    log(
        f"job done: {len(report.steps) - len(failed)} of {len(report.steps)} steps ok in "
        f"{(report.finished - report.started).total_seconds():.1f} s"
    )
    if failed:
        fail(f"{len(failed)} step(s) failed: " + "; ".join(f"{s.name}: {s.detail}" for s in failed))


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL is reported later, by the store
        return url
