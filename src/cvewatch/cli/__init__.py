"""The command line: one module per command group; each parses arguments, calls a stage and prints.

Command modules import the stages lazily, so `cvewatch --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cvewatch import __version__
from cvewatch.cli import (
    components,  # registers `inventory load-sbom` on the inventory app
    db,
    demo,
    inventory,
    lint,
    mapping,
    publish,
    scan,
    sources,
    sync,
    triage,
)
from cvewatch.cli.common import begin, err, out

app = typer.Typer(
    name="cvewatch",
    help="CVE infrastructure for RPM-based container-host distributions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(sync.app, name="sync")
app.add_typer(inventory.app, name="inventory")
app.add_typer(publish.app, name="publish")
app.add_typer(mapping.app, name="mapping")
app.add_typer(triage.app, name="triage")
app.command("scan")(scan.scan)
app.command("demo")(demo.demo)
app.command("lint")(lint.lint)
app.command("schedule")(sources.schedule)
app.command("rebuild-plan")(components.rebuild_plan)


def _version(value: bool) -> None:
    if value:
        out.print(f"cvewatch {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db", envvar="CVEWATCH_DB", help="Store URL: sqlite:///PATH or postgresql+psycopg://…"
        ),
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            envvar="CVEWATCH_LOCK_WAIT",
            min=0,
            metavar="SECONDS",
            help="How long a command waits for the store's run lock (or a migration) another process "
            "holds; 0: fail at once (exit status 75). Default: 600 s; `schedule --once`: 0.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    begin(db_url, wait)


def _click_exception() -> type[Any]:
    """The usage-error class of the click that typer runs on (typer >= 0.22 vendors its own)."""
    try:
        from typer._click.exceptions import ClickException

        return ClickException
    except ImportError:  # a typer that does not vendor click
        import click.exceptions

        return click.exceptions.ClickException


def main() -> None:
    """Run the command line. A usage error (an unknown option, a value not among an option's choices, a
    missing argument) is one line on stderr and exit status 2, as every other error is one line (exit 1,
    ``common.handled``); click's usage box would be a dozen lines, cut at 80 columns in a CI log."""
    click_exception = _click_exception()
    try:
        code = app(standalone_mode=False)
    except click_exception as exc:
        if type(exc).__name__ != "NoArgsIsHelpError":  # that one has printed the help already
            ctx = getattr(exc, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            message = exc.format_message().replace("\n", " ")
            err.print(f"error: {message}{hint}", highlight=False, markup=False, soft_wrap=True)
        raise SystemExit(exc.exit_code) from None
    raise SystemExit(code if isinstance(code, int) else 0)
