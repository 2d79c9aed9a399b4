"""`cvewatch db …`: the store's migrations."""

from __future__ import annotations

import typer

from cvewatch.cli.common import State, handled, out

app = typer.Typer(help="The store: migrations.", no_args_is_help=True)


@app.command("upgrade")
@handled
def upgrade() -> None:
    """Run pending migrations (they also run on first use)."""
    from cvewatch.store.db import default_url, make_engine
    from cvewatch.store.db import upgrade as run_upgrade

    url = State.db_url or default_url()
    rev = run_upgrade(make_engine(url))
    out.print(f"store at revision {rev}: {url}", highlight=False)
