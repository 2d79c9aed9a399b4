"""`cvewatch db …`: the store's migrations."""

from __future__ import annotations

import typer

from cvewatch.cli.common import handled, lock_wait, locked_store_url, out, say_waiting, writes

app = typer.Typer(help="The store: migrations.", no_args_is_help=True)


@app.command("upgrade")
@handled
@writes
def upgrade() -> None:
    """Run pending migrations (they also run on first use)."""
    from cvewatch.store.db import check_url, make_engine
    from cvewatch.store.db import upgrade as run_upgrade

    url = locked_store_url()
    rev = run_upgrade(make_engine(url), wait=lock_wait(), on_wait=say_waiting)
    shown = check_url(url).render_as_string(hide_password=True)
    out.print(f"store at revision {rev}: {shown}", highlight=False)
