"""`cvewatch triage …`: record a person's decision on a (CVE, package)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from cvewatch.cli.common import engine, handled, out, print_json, writes

app = typer.Typer(
    help="Triage records: decisions by people, which override the matcher.", no_args_is_help=True
)


@app.command("set")
@handled
@writes
def set_cmd(
    cve: Annotated[str, typer.Argument(help="CVE-YYYY-NNNN")],
    package: Annotated[str, typer.Argument(help="Source package name.")],
    status: Annotated[
        str, typer.Option("--status", help="affected, fixed, not_affected, under_investigation.")
    ],
    justification: Annotated[
        str | None,
        typer.Option("--justification", help="For not_affected: a CSAF/OpenVEX justification label."),
    ] = None,
    fixed_in: Annotated[
        str | None, typer.Option("--fixed-in", help="For fixed: the EVR with the fix.")
    ] = None,
    detail: Annotated[str, typer.Option("--detail", help="Why, for the next person.")] = "",
    release: Annotated[
        str | None, typer.Option("--release", help="Only this release (default: all).")
    ] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="Who decides (default: the login name).")
    ] = None,
) -> None:
    """Record a decision; the next scan applies it."""
    from cvewatch.errors import InputError
    from cvewatch.matching.verdict import Status
    from cvewatch.store.triage import add_triage
    from cvewatch.tracking.triage import TriageRecord

    try:
        st = Status(status)
    except ValueError as exc:
        raise InputError(
            f"unknown status {status!r}; use one of: {', '.join(s.value for s in Status)}"
        ) from exc
    record = TriageRecord(
        cve=cve,
        package=package,
        status=st,
        author=author or getpass.getuser(),
        created_at=datetime.now(UTC),
        release=release,
        justification=justification,
        fixed_in=fixed_in,
        detail=detail,
    )
    with engine().begin() as conn:
        add_triage(conn, record)
    out.print(f"recorded: {record.describe()}", highlight=False)


@app.command("list")
@handled
def list_cmd(
    release: Annotated[
        str | None, typer.Option("--release", help="Records that apply to this release.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The triage records in force."""
    from cvewatch.store.triage import load_triage

    with engine().connect() as conn:
        records = sorted(load_triage(conn, release).values(), key=lambda r: (r.cve, r.package))
    if json_out:
        print_json(
            [
                {
                    "cve": r.cve,
                    "package": r.package,
                    "release": r.release,
                    "status": r.status.value,
                    "justification": r.justification,
                    "fixed_in": r.fixed_in,
                    "detail": r.detail,
                    "author": r.author,
                    "created_at": r.created_at.isoformat(),
                }
                for r in records
            ]
        )
        return
    table = Table("CVE", "package", "release", "status", "justification / fixed in", "author", "detail")
    for r in records:
        table.add_row(
            r.cve,
            r.package,
            r.release or "all",
            r.status.value,
            r.justification or r.fixed_in or "",
            r.author,
            r.detail,
        )
    out.print(table)
