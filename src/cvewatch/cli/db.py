"""`cvewatch db …`: the store's migrations."""

from __future__ import annotations

import typer

from cvewatch.cli.common import handled, locked_store_url, out, state, writes

app = typer.Typer(help="The store: migrations.", no_args_is_help=True)


@app.command("upgrade")
@handled
@writes
def upgrade() -> None:
    """Run pending migrations (they also run on first use)."""
    from cvewatch.services.store import upgrade_store

    locked_store_url()
    rev, shown = upgrade_store(state().store)
    out.print(f"store at revision {rev}: {shown}", highlight=False)
