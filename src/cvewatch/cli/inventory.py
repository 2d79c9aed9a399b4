"""`cvewatch inventory …`: loading spec trees and node images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvewatch.cli.common import engine, fail, handled, out, print_json, report_problems, table, writes
from cvewatch.cli.tables import Col

app = typer.Typer(help="Load the distribution's packages: spec trees and node images.", no_args_is_help=True)


@app.command("load-specs")
@handled
@writes
def load_specs(
    specs_dir: Annotated[Path, typer.Argument(help="A SPECS tree: one folder per package with NAME.spec.")],
    release: Annotated[str, typer.Option("--release", help="The release these specs make, e.g. azl3.")],
    dist: Annotated[str, typer.Option("--dist", help="The dist tag %{?dist} expands to.")] = ".azl3",
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="The folder is the whole release: remove the release's packages that are not in it. "
            "Without it, packages are added or updated and none is removed.",
        ),
    ] = False,
) -> None:
    """Read every spec of a SPECS tree into a release (add or update; --replace for a full reload)."""
    from cvewatch.cli.values import dist_tag, new_name
    from cvewatch.services.inventory import load_specs_into

    new_name(release, "--release")
    dist_tag(dist)
    report = load_specs_into(engine(), specs_dir, release=release, dist=dist, replace=replace)
    report_problems(report.problems)
    if report.packages == 0:
        fail(f"no spec in {specs_dir} could be read")
    kept = (
        f", {report.kept} not in the folder kept (--replace removes them)"
        if report.kept and not replace
        else ""
    )
    out.print(
        f"release {release}: {report.stored} source packages ({report.packages} specs read from {specs_dir}: "
        f"{report.added} added, {report.changed} changed, {report.removed} removed{kept}; "
        f"{len(report.problems)} problems)",
        highlight=False,
        soft_wrap=True,
    )


@app.command("load-image")
@handled
@writes
def load_image(
    file: Annotated[
        Path,
        typer.Argument(
            help="A package list: AKS node-image build note, `rpm -qa` (plain or --qf JSON lines), "
            "SPDX or CycloneDX JSON."
        ),
    ],
    name: Annotated[str, typer.Option("--name", help="The node image's name.")],
    release: Annotated[str, typer.Option("--release", help="The release the image is built from.")],
) -> None:
    """Read a node image's installed packages (replacing an image of the same name)."""
    from cvewatch.cli.values import new_name
    from cvewatch.services.inventory import load_image_into

    new_name(name, "--name", limit=200)
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
    from cvewatch.services.inventory import releases as list_releases

    rows = list_releases(engine())
    if json_out:
        print_json([{"release": n, "packages": c} for n, c in rows])
        return
    table([Col("release"), Col("source packages", "num")], [[n, str(c)] for n, c in rows])


@app.command("diff")
@handled
def diff(
    image_a: Annotated[
        str, typer.Argument(help="The older image: a package-list file or an image in the store.")
    ],
    image_b: Annotated[
        str, typer.Argument(help="The newer image: a package-list file or an image in the store.")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """What changed between two node images: added, removed, upgraded and downgraded packages."""
    from cvewatch.inventory.diff import evr_label
    from cvewatch.services.inventory import diff_images

    a, b, result = diff_images(engine(), image_a, image_b)
    report_problems([*a.problems, *b.problems])
    label_a, label_b = a.label, b.label
    if json_out:
        print_json({"from": image_a, "to": image_b, **result.to_dict()})
        return
    out.print(f"{label_a} -> {label_b}", highlight=False)
    for p in result.added:
        out.print(f"  + {p.nevra}", highlight=False)
    for p in result.removed:
        out.print(f"  - {p.nevra}", highlight=False)
    for title, changes in (
        ("^", result.upgraded),
        ("v", result.downgraded),
        ("~", result.changed),
    ):
        for c in changes:
            arch = c.new.arch if c.old.arch == c.new.arch else f"{c.old.arch} -> {c.new.arch}"
            out.print(
                f"  {title} {c.name} {evr_label(c.old)} -> {evr_label(c.new)} ({arch})", highlight=False
            )
    out.print(
        f"{len(result.added)} added, {len(result.removed)} removed, {len(result.upgraded)} upgraded, "
        f"{len(result.downgraded)} downgraded, {len(result.changed)} changed arch, "
        f"{result.unchanged} unchanged",
        highlight=False,
    )
