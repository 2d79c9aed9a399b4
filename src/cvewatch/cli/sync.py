"""`cvewatch sync …`: importing vulnerability records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cvewatch.cli.common import engine, fail, handled, out, print_json, report_problems

app = typer.Typer(help="Import vulnerability records.", no_args_is_help=True)


@app.command("nvd")
@handled
def nvd(
    source: Annotated[
        Path,
        typer.Option(
            "--from", help="A file or folder of NVD API 2.0 pages or cve objects (.json, .json.gz)."
        ),
    ],
) -> None:
    """Import NVD CVE records, keeping the newest lastModified per CVE."""
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


@app.command("status")
@handled
def status(json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """The most recent sync runs."""
    from cvewatch.store.sync_runs import recent_runs

    with engine().connect() as conn:
        runs = recent_runs(conn)
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
                }
                for r in runs
            ]
        )
        return
    table = Table("run", "source", "started", "status", "new", "updated", "unchanged", "rejected", "errors")
    for r in runs:
        table.add_row(
            str(r.id),
            r.source,
            f"{r.started:%Y-%m-%d %H:%M}",
            r.status,
            str(r.new),
            str(r.updated),
            str(r.unchanged),
            str(r.rejected),
            str(r.errors),
        )
    out.print(table)
