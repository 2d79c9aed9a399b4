"""`cvewatch mapping …`: review the package -> CPE mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvewatch.cli.common import engine, handled, out, print_json, table
from cvewatch.cli.tables import Col
from cvewatch.errors import InputError
from cvewatch.limits import load_json, read_input

app = typer.Typer(help="Review which NVD CPE names each source package goes by.", no_args_is_help=True)

MappingOption = Annotated[
    Path | None, typer.Option("--mapping", help="A mapping TOML file (default: the one cvewatch ships).")
]


def _cgmanifest_urls(path: Path) -> dict[str, list[str]]:
    """Upstream download URLs per component name from a cgmanifest.json (Azure Linux's upstream manifest)."""
    doc = load_json(read_input(path), str(path))
    try:
        out: dict[str, list[str]] = {}
        for reg in doc["Registrations"]:
            comp = reg["component"]
            body = comp.get(comp.get("type", "other"), {})
            if body.get("name") and body.get("downloadUrl"):
                out.setdefault(body["name"], []).append(body["downloadUrl"])
        return out
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"not a readable cgmanifest.json: {exc}", str(path)) from exc


@app.command("suggest")
@handled
def suggest_cmd(
    release: Annotated[str, typer.Option("--release", help="The release whose packages to look at.")],
    package: Annotated[
        list[str] | None, typer.Option("--package", help="Only these packages (repeatable).")
    ] = None,
    cgmanifest: Annotated[
        Path | None,
        typer.Option("--cgmanifest", help="An upstream manifest (cgmanifest.json) for more URLs."),
    ] = None,
    include_mapped: Annotated[bool, typer.Option("--all", help="Also packages that have a mapping.")] = False,
    mapping_file: MappingOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Propose CPE names for packages, from the CPE names in the store, spec URLs and an upstream manifest."""
    from cvewatch.matching.mapping import PackageMapping
    from cvewatch.services.mapping import suggest_mappings

    mapping = PackageMapping.load(mapping_file)
    urls = _cgmanifest_urls(cgmanifest) if cgmanifest else {}
    rows = suggest_mappings(
        engine(), release, mapping, packages=package or (), upstream_urls=urls, include_mapped=include_mapped
    )
    if json_out:
        print_json(
            [
                {
                    "package": s.package,
                    "cpe": s.name,
                    "score": s.score,
                    "cves": s.cves,
                    "reasons": list(s.reasons),
                }
                for s in rows
            ]
        )
        return
    table(
        [
            Col("package"),
            Col("suggested vendor:product"),
            Col("score", "num"),
            Col("CVEs", "num"),
            Col("why", "text", drop=1),
        ],
        [[s.package, s.name, f"{s.score:g}", str(s.cves), "; ".join(s.reasons)] for s in rows],
    )
    out.print(
        f"{len(rows)} suggestions; add the right ones to the mapping file after review", highlight=False
    )


@app.command("check")
@handled
def check_cmd(
    release: Annotated[str, typer.Option("--release", help="The release whose packages to check.")],
    mapping_file: MappingOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Packages with no mapping, mappings that never matched a CPE in the store, and other vendors."""
    from cvewatch.matching.mapping import PackageMapping
    from cvewatch.services.mapping import check_mapping

    result = check_mapping(engine(), release, PackageMapping.load(mapping_file))
    if json_out:
        print_json(
            {
                "unmapped": [{"package": p, "fallback_cves": n} for p, n in result.unmapped],
                "never_matched": [{"package": p, "cpe": c} for p, c in result.never_matched],
                "other_vendors": [
                    {"package": p, "product": prod, "vendor": v, "cves": n}
                    for p, prod, v, n in result.other_vendors
                ],
            }
        )
        return
    table(
        [Col("package"), Col("CVEs found by the name fallback", "num")],
        [[p, str(n)] for p, n in result.unmapped],
        title="packages without a reviewed mapping",
    )
    table(
        [Col("package"), Col("vendor:product")],
        [[p, c] for p, c in result.never_matched],
        title="mapped names no CVE in the store uses",
    )
    table(
        [Col("package"), Col("product"), Col("other vendor"), Col("CVEs", "num")],
        [[p, prod, v, str(n)] for p, prod, v, n in result.other_vendors],
        title="mapped products NVD also lists under another vendor",
    )
    out.print(
        f"{len(result.unmapped)} unmapped, {len(result.never_matched)} never matched, "
        f"{len(result.other_vendors)} other vendors",
        highlight=False,
    )
