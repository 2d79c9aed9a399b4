"""`cvewatch inventory load-sbom` and `cvewatch rebuild-plan`: what packages carry inside."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvewatch.cli.common import engine, fail, handled, out, print_json, report_problems, table, writes
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
    from cvewatch.inventory.components import read_component_file
    from cvewatch.model.components import ORIGIN_GO_VERSION_M, ORIGIN_SBOM
    from cvewatch.store.components import replace_build_components

    result = read_component_file(file)
    report_problems(result.problems)
    if not result.components:
        fail(f"no component could be read from {file}")
    origin = ORIGIN_GO_VERSION_M if result.format == "go-version-m" else ORIGIN_SBOM
    with engine().begin() as conn:
        stored, changed = replace_build_components(conn, release, package, result.components, origin=origin)
    if json_out:
        print_json(
            {
                "package": package,
                "release": release,
                "format": result.format,
                "origin": origin,
                "components": stored,
                "changed": changed,
                "kinds": {
                    k: sum(1 for c in result.components if c.kind == k)
                    for k in sorted({c.kind for c in result.components})
                },
            }
        )
        return
    out.print(
        f"{package} ({release}): {stored} components from {file} ({result.format}"
        f"{', changed' if changed else ', unchanged'}; {len(result.problems)} problems)",
        highlight=False,
    )


@handled
def rebuild_plan(
    release: Annotated[str, typer.Option("--release", help="The release to plan rebuilds for.")],
    json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Packages to rebuild after a toolchain or vendored-module fix, with the CVEs each rebuild closes."""
    from sqlalchemy import select

    from cvewatch.matching.components import ComponentMapping
    from cvewatch.matching.rebuild import plan_rebuilds
    from cvewatch.services.scan import component_candidate_cves, load_component_facts
    from cvewatch.services.shards import load_records
    from cvewatch.store.inventory import T_RELEASE, load_release_packages

    with engine().connect() as conn:
        specs = load_release_packages(conn, release)
        dist = conn.execute(select(T_RELEASE.c.dist).where(T_RELEASE.c.name == release)).scalar()
        facts = load_component_facts(conn, release, specs, ComponentMapping.load())
        vulns, cna = load_records(conn, component_candidate_cves(conn, specs, facts))
    items = plan_rebuilds(vulns, cna, specs, facts, dist=dist)
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
