"""`cvewatch scan`: verdicts for a release or a node image."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from cvewatch.cli.common import (
    STATUS_STYLE,
    engine,
    fail,
    handled,
    print_json,
    print_summary,
    table,
    table_fits,
    warn,
    writes,
)
from cvewatch.cli.tables import Col
from cvewatch.model.verdicts import Status


@handled
@writes
def scan(
    release: Annotated[
        str | None, typer.Option("--release", help="Scan a release's source packages.")
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", help="Scan a node image's installed packages.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="A JSON array of verdicts.")] = False,
    status: Annotated[
        list[Status] | None, typer.Option("--status", help="Show only these statuses (repeatable).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Evaluate everything, not only what changed since the last scan.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes for a full scan (default: $CVEWATCH_SCAN_WORKERS, else the CPUs, at most 4).",
        ),
    ] = None,
) -> None:
    """Decide, for every CVE that touches a package, affected / fixed / not_affected / under_investigation."""
    from cvewatch.services.scan import run_scan

    if release is None and image is None:
        fail("give --release NAME or --image NAME", 2)
    result = run_scan(engine(), release=release, image=image, full=full, workers=workers)
    verdicts = [v for v in result.verdicts if not status or v.status in status]
    if json_out:
        print_json([v.to_json() for v in verdicts])
        return
    rows: list[list[str | Text]] = []
    for v in verdicts:
        why = next((e.detail for e in v.evidence if e.kind not in ("cpe-match", "condition", "cvss")), "")
        status_cell = Text(v.status.value, style=STATUS_STYLE[v.status.value])
        rows.append([v.cve, v.package, v.version, status_cell, v.fixed_in or "", v.severity.value, why])
    cols = [
        Col("CVE"),
        Col("package"),
        Col("version", "list"),
        Col("status"),
        Col("fixed in", "list"),
        Col("severity", drop=2),
        Col("why", "text", drop=3),
    ]
    if not table_fits(cols, rows):  # at 80 columns: the version and its fix in one column, each EVR whole
        cols = [Col("CVE"), Col("package"), Col("version (fix)", "list"), Col("status"), *cols[5:]]
        rows = [[r[0], r[1], f"{r[2]} (fix {r[4]})" if r[4] else r[2], r[3], r[5], r[6]] for r in rows]
    table(cols, rows)
    print_summary(
        result.verdicts,
        f"{result.image or result.release}: {result.mode} scan of {result.packages} packages "
        f"({result.packages_evaluated} packages and {result.cves_evaluated} CVEs evaluated; stored verdicts: "
        f"{result.changes.added} new, {result.changes.changed} changed, {result.changes.removed} removed, "
        f"{result.changes.unchanged} unchanged)",
    )
    if result.unmapped_binaries:
        shown = ", ".join(result.unmapped_binaries[:15]) + (
            " …" if len(result.unmapped_binaries) > 15 else ""
        )
        warn(
            f"{len(result.unmapped_binaries)} installed binaries map to no source package "
            f"of release {result.release}: {shown}"
        )
