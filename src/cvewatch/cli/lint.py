"""`cvewatch lint SPECS_DIR`: the CVE bookkeeping of a SPECS tree (rules in docs/lint.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from cvewatch.cli.common import handled, out, print_json, table
from cvewatch.cli.tables import Col


@handled
def lint(
    specs_dir: Annotated[
        Path, typer.Argument(help="A SPECS tree (one folder per package) or one package folder.")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="JSON output: a list of findings.")] = False,
    dist: Annotated[str, typer.Option("--dist", help="The dist tag %{?dist} expands to.")] = ".azl3",
) -> None:
    """Check specs, patch files, %changelog and .nopatch files. Exit status 1 on any error finding."""
    from cvewatch.cli.values import dist_tag
    from cvewatch.inventory.lint import RULES, SEVERITY_ORDER
    from cvewatch.services.inventory import lint_specs

    dist_tag(dist)
    result = lint_specs(specs_dir, dist=dist)
    if json_out:
        print_json([f.to_dict() for f in result.findings])
    else:
        for f in result.findings:
            out.print(str(f), highlight=False, markup=False, soft_wrap=True)
        counts = Counter((f.rule, f.severity) for f in result.findings)
        rows = [[rule, *(str(counts[(rule, s)]) for s in SEVERITY_ORDER)] for rule in RULES]
        rows.append(["total", *(str(sum(counts[(r, s)] for r in RULES)) for s in SEVERITY_ORDER)])
        table(
            [Col("rule"), *(Col(s.value, "num") for s in SEVERITY_ORDER)], rows, title=f"{result.specs} specs"
        )
    if result.has_errors:
        raise typer.Exit(1)
