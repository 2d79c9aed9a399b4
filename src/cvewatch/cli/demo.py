"""`cvewatch demo`: the whole chain on the embedded demo data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvewatch.cli.common import handled, locked_store_url, out, print_summary, state, writes


@handled
@writes
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the database and documents go.")] = Path(
        "demo-out"
    ),
) -> None:
    """The whole chain on the embedded demo data: sync, inventory, scan, publish."""
    from cvewatch.demo.run import run_demo
    from cvewatch.errors import InputError

    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out: {out_dir} exists and is not a folder")
    db_url = state().store.url
    if db_url is not None:  # a store of the user's (else the demo's own, in --out)
        locked_store_url()
    result = run_demo(out_dir, db_url=db_url, say=lambda s: out.print(s, highlight=False, soft_wrap=True))
    print_summary(result.verdicts, f"release {result.release}: verdicts by status and severity")
    print_summary(result.image_verdicts, f"node image {result.image}")
    out.print(f"store: {result.db_url}", highlight=False, soft_wrap=True)
    out.print(
        f"CSAF VEX documents: {len(result.documents)} in {result.csaf_dir}", highlight=False, soft_wrap=True
    )
    out.print(
        f"every verdict with its evidence, as JSON: {result.verdicts_json}", highlight=False, soft_wrap=True
    )
