"""`cvewatch publish …`: documents from stored verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvewatch import __version__
from cvewatch.cli.common import engine, handled, out, writes
from cvewatch.config import PublisherCategory
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
    publisher_name: Annotated[
        str | None,
        typer.Option(
            "--publisher-name", help="Who issues the documents (else [publisher] name in --config)."
        ),
    ] = None,
    publisher_namespace: Annotated[
        str | None,
        typer.Option("--publisher-namespace", help="An https URL the publisher controls (its CSAF id)."),
    ] = None,
    publisher_category: Annotated[
        PublisherCategory | None,
        typer.Option("--publisher-category", help="A CSAF publisher category (default: vendor)."),
    ] = None,
    publisher_contact: Annotated[
        str | None, typer.Option("--publisher-contact", help="How to reach the publisher's security team.")
    ] = None,
    publisher_authority: Annotated[
        str | None, typer.Option("--publisher-authority", help="The publisher's issuing authority.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="CVEWATCH_CONFIG", help="The settings file (TOML): [publisher]."),
    ] = None,
) -> None:
    """One CSAF 2.0 VEX document per CVE with the product status of the release's packages. A document
    whose content changed since it was last published gets the next version and a revision entry."""
    from cvewatch.cli.values import text
    from cvewatch.config import load_settings, resolve_publisher
    from cvewatch.publishing.csaf_vex import CsafVexOptions, CsafVexPublisher
    from cvewatch.publishing.interface import Publisher
    from cvewatch.services.publish import publish_release
    from cvewatch.store.inventory import release_id

    if product_name is not None:
        text(product_name, "--product-name", limit=200, required=True)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out: {out_dir} exists and is not a folder")
    settings = resolve_publisher(
        load_settings(config).publisher,
        {
            "name": publisher_name,
            "namespace": publisher_namespace,
            "category": publisher_category.value if publisher_category is not None else None,
            "contact_details": publisher_contact,
            "issuing_authority": publisher_authority,
        },
    )
    assert settings.name is not None and settings.namespace is not None
    store = engine()
    with store.connect() as conn:
        release_id(conn, release)  # an unknown release is an error before anything is written
    try:  # before the store is read: an output folder that cannot be made is one line, not a traceback
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror or exc}", str(out_dir)) from exc
    publisher = CsafVexPublisher(
        CsafVexOptions(
            release=release,
            product_name=product_name or release,
            generator_version=__version__,
            publisher=Publisher(
                settings.name,
                settings.namespace,
                settings.category,
                settings.contact_details,
                settings.issuing_authority,
            ),
        )
    )
    report = publish_release(store, release, publisher, out_dir)
    out.print(
        f"csaf: {len(report.paths)} VEX documents written to {out_dir} as {settings.name} "
        f"({report.new} new, {report.revised} revised, {report.unchanged} unchanged)",
        highlight=False,
        soft_wrap=True,
    )
