"""`cvewatch publish …`: documents from stored verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvewatch import __version__
from cvewatch.cli.common import engine, handled, out, writes
from cvewatch.errors import InputError

app = typer.Typer(help="Publish documents from stored verdicts.", no_args_is_help=True)


@app.command("csaf")
@handled
@writes
def csaf(
    release: Annotated[str, typer.Option("--release", help="The release whose verdicts to publish.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder (one subfolder per year).")],
    product_name: Annotated[
        str | None, typer.Option("--product-name", help="The product's name in the documents.")
    ] = None,
) -> None:
    """One CSAF 2.0 VEX document per CVE with the product status of the release's packages."""
    from cvewatch.publishing.csaf_vex import CsafVexPublisher
    from cvewatch.publishing.run import publish_release

    try:  # before the store is read: an output folder that cannot be made is one line, not a traceback
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror or exc}", str(out_dir)) from exc
    publisher = CsafVexPublisher(
        release=release, product_name=product_name or release, generator_version=__version__
    )
    paths = publish_release(engine(), release, publisher, out_dir)
    out.print(f"csaf: {len(paths)} VEX documents written to {out_dir}", highlight=False)
