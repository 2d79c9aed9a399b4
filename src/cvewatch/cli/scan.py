"""`cvewatch scan`: verdicts for a release or a node image."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cvewatch.cli.common import STATUS_STYLE, engine, fail, handled, out, print_json, print_summary, warn
from cvewatch.errors import InputError
from cvewatch.matching.verdict import Status


@handled
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
    from cvewatch.matching.runner import run_scan

    if release is None and image is None:
        fail("give --release NAME or --image NAME", 2)
    store = engine()
    if release is not None and image is not None:
        from cvewatch.store.inventory import image_id

        with store.connect() as conn:
            _, image_release = image_id(conn, image)
        if image_release != release:
            raise InputError(f"--image {image} is an image of release {image_release!r}, not of {release!r}")
    result = run_scan(store, release=release, image=image, full=full, workers=workers)
    verdicts = [v for v in result.verdicts if not status or v.status in status]
    if json_out:
        print_json([v.to_json() for v in verdicts])
        return
    table = Table("CVE", "package", "version", "status", "fixed in", "severity", "why")
    for v in verdicts:
        why = next((e.detail for e in v.evidence if e.kind not in ("cpe-match", "condition", "cvss")), "")
        table.add_row(
            v.cve,
            v.package,
            v.version,
            f"[{STATUS_STYLE[v.status.value]}]{v.status.value}[/]",
            v.fixed_in or "",
            v.severity.value,
            why.replace("[", r"\["),
        )
    out.print(table)
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
