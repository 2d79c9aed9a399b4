"""`cvewatch inventory …`: loading spec trees and node images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cvewatch.cli.common import engine, fail, handled, out, print_json, report_problems

app = typer.Typer(help="Load the distribution's packages: spec trees and node images.", no_args_is_help=True)


@app.command("load-specs")
@handled
def load_specs(
    specs_dir: Annotated[Path, typer.Argument(help="A SPECS tree: one folder per package with NAME.spec.")],
    release: Annotated[str, typer.Option("--release", help="The release these specs make, e.g. azl3.")],
    dist: Annotated[str, typer.Option("--dist", help="The dist tag %{?dist} expands to.")] = ".azl3",
) -> None:
    """Read every spec of a SPECS tree into a release."""
    from cvewatch.inventory.load import load_specs_into

    report = load_specs_into(engine(), specs_dir, release=release, dist=dist)
    report_problems(report.problems)
    out.print(
        f"release {release}: {report.packages} source packages from {specs_dir} "
        f"({report.added} added, {report.changed} changed, {report.removed} removed, "
        f"{len(report.problems)} problems)",
        highlight=False,
    )
    if report.packages == 0:
        fail(f"no spec in {specs_dir} could be read")


@app.command("load-image")
@handled
def load_image(
    file: Annotated[Path, typer.Argument(help="An AKS node-image build note or an `rpm -qa` list.")],
    name: Annotated[str, typer.Option("--name", help="The node image's name.")],
    release: Annotated[str, typer.Option("--release", help="The release the image is built from.")],
) -> None:
    """Read a node image's installed packages."""
    from cvewatch.inventory.load import load_image_into

    report = load_image_into(engine(), file, name=name, release=release)
    report_problems(report.problems)
    out.print(
        f"image {name}: {report.packages} installed packages ({len(report.problems)} problems)",
        highlight=False,
    )
    if report.packages == 0:
        fail(f"no package line in {file} could be read")


@app.command("releases")
@handled
def releases(json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """The releases in the store."""
    from cvewatch.store.inventory import list_releases

    with engine().connect() as conn:
        rows = list_releases(conn)
    if json_out:
        print_json([{"release": n, "packages": c} for n, c in rows])
        return
    table = Table("release", "source packages")
    for n, c in rows:
        table.add_row(n, str(c))
    out.print(table)
