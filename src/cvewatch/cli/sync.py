"""`cvewatch sync …`: importing vulnerability records."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cvewatch.cli.common import (
    engine,
    err,
    fail,
    handled,
    out,
    print_json,
    report_problems,
    table,
    warn,
    writes,
)
from cvewatch.cli.tables import Col
from cvewatch.errors import ConfigError

app = typer.Typer(help="Import vulnerability records.", no_args_is_help=True)


def _setup_logging() -> bool:
    """Structured logs on stderr when it is not a terminal; returns whether stderr is a terminal (then a
    progress bar is shown and only warnings are logged)."""
    import logging

    from rich.logging import RichHandler

    terminal = err.is_terminal
    root = logging.getLogger("cvewatch")
    if not root.handlers:
        if terminal:
            handler: logging.Handler = RichHandler(console=err, show_path=False, show_time=False)
            root.setLevel(logging.WARNING)
        else:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(
                logging.Formatter(
                    "ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)r",
                    datefmt="%Y-%m-%dT%H:%M:%S%z",
                )
            )
            root.setLevel(logging.INFO)
        root.addHandler(handler)
        root.propagate = False
    return terminal


def _parse_since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--since: not an ISO-8601 date or date-time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.command("nvd")
@handled
@writes
def nvd(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A file or folder of NVD API 2.0 pages or cve objects (.json, .json.gz); "
            "without it, sync from the NVD API.",
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="The CVE API 2.0 endpoint (default: NVD's).", show_default=False),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="A full load, whatever the last sync was.")] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Records modified since this ISO-8601 date or date-time (UTC if no zone)."
        ),
    ] = None,
    page_size: Annotated[
        int, typer.Option("--page-size", help="resultsPerPage, 1..2000.", min=1, max=2000)
    ] = 2000,
    rate_limit: Annotated[
        str,
        typer.Option(
            "--rate-limit",
            help="REQUESTS/SECONDS, 'auto' (NVD's limits: 5/30 without a key, 50/30 with $NVD_API_KEY) "
            "or 'off'.",
        ),
    ] = "auto",
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for an answer.", min=0.1, max=3600)
    ] = 60.0,
) -> None:
    """Import NVD CVE records, keeping the newest lastModified per CVE: from the NVD API (resumable,
    incremental after the first run) or, with --from, from files."""
    if source is not None:
        if full or since or api_url:
            raise ConfigError("--full, --since and --api-url apply to the API, not to --from")
        _nvd_files(source)
        return
    from cvewatch.sources.http import RateLimit
    from cvewatch.sources.nvd_api import NvdApiConfig, PageEvent, sync_nvd_api

    if full and since:
        raise ConfigError("--full and --since exclude each other")
    if api_url is not None:
        from cvewatch.cli.values import http_url

        http_url(api_url, "--api-url")
    config = NvdApiConfig.from_env(
        **({"api_url": api_url} if api_url else {}),
        results_per_page=page_size,
        rate_limit="auto" if rate_limit.strip().lower() == "auto" else RateLimit.parse(rate_limit),
        timeout=timeout,
    )
    since_dt = _parse_since(since) if since else None
    terminal = _setup_logging()
    store = engine()
    if terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]nvd[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("connecting", total=None)

            def on_page(event: PageEvent) -> None:
                bar.update(
                    task,
                    description=f"window {event.window + 1}/{event.windows}",
                    completed=event.start_index + event.received,
                    total=max(event.total_results, event.start_index + event.received),
                )

            report = sync_nvd_api(store, config, full=full, since=since_dt, on_page=on_page)
    else:
        report = sync_nvd_api(store, config, full=full, since=since_dt)
    for message in report.messages[:20]:
        warn(message)
    if report.interrupted_run is not None:
        warn(f"run {report.interrupted_run} had been interrupted; this run resumed it")
    resumed = " (resumed)" if report.resumed else ""
    out.print(
        f"nvd api: run {report.run_id} {report.status}, {report.mode}{resumed}, {report.pages} pages, "
        f"{report.received} records received, {report.new} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.rejected} rejected, {report.errors} problems",
        highlight=False,
    )
    if report.retried or report.to_retry:
        out.print(
            f"retry list: {report.retried} asked again, {report.recovered} stored, {report.to_retry} "
            "still to retry (cvewatch sync status)",
            highlight=False,
        )


def _nvd_files(source: Path) -> None:
    from cvewatch.sources.importer import import_source
    from cvewatch.sources.nvd_files import NvdFileSource

    report = import_source(engine(), NvdFileSource(source), origin=str(source))
    report_problems(report.problems)
    s = report.stats
    out.print(
        f"nvd: {report.read} records read, {s.new} new, {s.updated} updated, {s.unchanged} unchanged, "
        f"{s.rejected} rejected, {len(report.problems)} problems",
        highlight=False,
    )
    if report.status == "failed":
        fail(f"nothing could be imported from {source}")


@app.command("nvd-feed")
@handled
@writes
def nvd_feed(
    location: Annotated[
        str, typer.Argument(help="A base URL or a folder of nvdcve-2.0-*.json.gz and .meta files.")
    ],
    feed: Annotated[
        list[str] | None,
        typer.Option("--feed", help="A feed name (nvdcve-2.0-2024, nvdcve-2.0-modified…); repeatable."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Import even feeds whose sha256 is unchanged.")
    ] = False,
) -> None:
    """Import NVD 2.0 feed files, checking each against its .meta sha256 and skipping unchanged feeds."""
    from cvewatch.sources.nvd_feeds import sync_nvd_feeds

    _setup_logging()
    report = sync_nvd_feeds(engine(), location, names=feed or None, force=force)
    for message in report.messages[:20]:
        warn(message)
    for r in report.feeds:
        if r.status == "skipped":
            out.print(f"{r.name}: unchanged (sha256 {r.sha256[:12]}…), skipped", highlight=False)
        else:
            out.print(
                f"{r.name}: {r.records} records, {r.new} new, {r.updated} updated, {r.unchanged} unchanged, "
                f"{r.rejected} rejected, {r.errors} problems",
                highlight=False,
            )


@app.command("status")
@handled
def status(json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """The most recent sync runs, and the records waiting to be asked for again (the retry list)."""

    from cvewatch.store.sync_runs import pending_retries, recent_runs

    with engine().connect() as conn:
        runs = recent_runs(conn)
        retry = pending_retries(conn)
    newest = {r.source: r.id for r in reversed(runs)}  # runs are newest first: keep each source's first
    if json_out:
        print_json(
            [
                {
                    "id": r.id,
                    "source": r.source,
                    "origin": r.origin,
                    "started": r.started.isoformat(),
                    "finished": r.finished.isoformat() if r.finished else None,
                    "status": r.status,
                    "pages": r.pages,
                    "new": r.new,
                    "updated": r.updated,
                    "unchanged": r.unchanged,
                    "rejected": r.rejected,
                    "errors": r.errors,
                    # on the newest run of each source: every record of that source still to retry
                    "retry": [
                        {
                            "cve": e.cve_id,
                            "reason": e.reason,
                            "first_seen": e.first_seen.isoformat(),
                            "last_tried": e.last_tried.isoformat(),
                            "attempts": e.attempts,
                            "run": e.run_id,
                        }
                        for e in retry
                        if e.source == r.source and newest[r.source] == r.id
                    ],
                }
                for r in runs
            ]
        )
        return
    table(
        [
            Col("run", "num"),
            Col("source"),
            Col("started"),
            Col("finished", drop=4),
            Col("status"),
            Col("pages", "num", drop=3),
            Col("new", "num"),
            Col("updated", "num", drop=1),
            Col("unchanged", "num", drop=2),
            Col("rejected", "num"),
            Col("errors", "num"),
        ],
        [
            [
                str(r.id),
                r.source,
                f"{r.started:%Y-%m-%d %H:%M}",
                f"{r.finished:%Y-%m-%d %H:%M}" if r.finished else "",
                r.status,
                str(r.pages),
                str(r.new),
                str(r.updated),
                str(r.unchanged),
                str(r.rejected),
                str(r.errors),
            ]
            for r in runs
        ],
    )
    if retry:
        out.print(f"{len(retry)} records could not be stored; the next sync asks for them again:")
        table(
            [Col("source"), Col("CVE"), Col("first seen"), Col("tries", "num"), Col("why", "text")],
            [
                [e.source, e.cve_id, f"{e.first_seen:%Y-%m-%d %H:%M}", str(e.attempts), e.reason]
                for e in retry
            ],
            title="to retry",
        )
