"""`cvewatch inventory load-sbom` and `cvewatch rebuild-plan`: what packages carry inside."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvewatch.cli.common import engine, handled, out, print_json, report_problems, table, writes
from cvewatch.cli.inventory import app as inventory_app
from cvewatch.cli.tables import Col


@inventory_app.command("load-sbom")
@handled
@writes
def load_sbom(
    file: Annotated[
        Path,
        typer.Argument(
            help="A package's build SBOM (SPDX 2.3 or CycloneDX 1.5/1.6 JSON) or `go version -m` output."
        ),
    ],
    package: Annotated[str, typer.Option("--package", help="The source package the file describes.")],
    release: Annotated[str, typer.Option("--release", help="The release the package belongs to.")],
    json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Store the components of one source package from its build SBOM or `go version -m` output."""
    from cvewatch.services.components import load_build_record

    report = load_build_record(engine(), file, package=package, release=release)
    report_problems(report.problems)
    if json_out:
        print_json(
            {
                "package": report.package,
                "release": report.release,
                "format": report.format,
                "origin": report.origin,
                "components": report.stored,
                "changed": report.changed,
                "kinds": report.kinds,
            }
        )
        return
    out.print(
        f"{package} ({release}): {report.stored} components from {file} ({report.format}"
        f"{', changed' if report.changed else ', unchanged'}; {len(report.problems)} problems)",
        highlight=False,
    )


@handled
def rebuild_plan(
    release: Annotated[str, typer.Option("--release", help="The release to plan rebuilds for.")],
    json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Packages to rebuild after a toolchain or vendored-module fix, with the CVEs each rebuild closes."""
    from cvewatch.services.components import rebuild_plan as plan

    items = plan(engine(), release)
    if json_out:
        print_json({"release": release, "packages": [i.to_json() for i in items]})
        return
    rows = []
    for i in items:
        tool = f"{i.toolchain} {i.built_with or '?'}" if i.toolchain else ""
        mods = "; ".join(
            f"{m.module} {m.current or '?'} -> >= {m.needed or '?'} ({len(m.cves)} CVEs)" for m in i.modules
        )
        rows.append(
            [
                i.package,
                tool,
                i.rebuild_with or ("blocked" if i.blocked else ""),
                ", ".join(i.closes),
                ", ".join(i.still_open),
                mods,
            ]
        )
    table(
        [
            Col("package"),
            Col("toolchain", "text", drop=2),
            Col("rebuild with", "list"),
            Col("closes", "list"),
            Col("still open", "list", drop=1),
            Col("modules to update", "text", drop=3),
        ],
        rows,
        title=release,
    )
    blocked = [i for i in items if i.blocked]
    for i in blocked:
        out.print(f"{i.package}: {i.blocked}", highlight=False)
    out.print(
        f"{len(items)} packages to rebuild or update; {sum(len(i.closes) for i in items)} CVE closures by a "
        f"toolchain rebuild; {len(blocked)} blocked by their BuildRequires",
        highlight=False,
    )
