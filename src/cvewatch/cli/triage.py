"""`cvewatch triage …`: record a person's decision on a (CVE, package)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import typer

from cvewatch.cli.common import engine, handled, out, print_json, table, writes
from cvewatch.cli.tables import Col
from cvewatch.model.verdicts import Status
from cvewatch.model.vex import Justification

app = typer.Typer(
    help="Triage records: decisions by people, which override the matcher.", no_args_is_help=True
)


@app.command("set")
@handled
@writes
def set_cmd(
    cve: Annotated[str, typer.Argument(help="CVE-YYYY-NNNN")],
    package: Annotated[str, typer.Argument(help="Source package name (the spec's Name:).")],
    status: Annotated[Status, typer.Option("--status", help="The decision.", show_default=False)],
    justification: Annotated[
        Justification | None,
        typer.Option("--justification", help="For not_affected (required there): a CSAF/OpenVEX label."),
    ] = None,
    fixed_in: Annotated[
        str | None,
        typer.Option("--fixed-in", help="For fixed (required) or affected: the EVR with the fix, E:V-R."),
    ] = None,
    detail: Annotated[str, typer.Option("--detail", help="Why, for the next person.")] = "",
    release: Annotated[
        str | None, typer.Option("--release", help="Only this release (default: all).")
    ] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="Who decides (default: the login name).")
    ] = None,
) -> None:
    """Record a decision; the next scan applies it. The package must be a source package of the release
    (of some release in the store without --release)."""
    from cvewatch.cli.values import cve_id, fix_evr, text
    from cvewatch.errors import InputError
    from cvewatch.model.triage import TriageRecord
    from cvewatch.services.triage import record_triage

    cve_id(cve)
    if fixed_in is not None:
        fix_evr(fixed_in, "--fixed-in")
        if status not in (Status.FIXED, Status.AFFECTED):
            raise InputError(f"--fixed-in applies to fixed and affected, not to {status.value}")
    if justification is not None and status is not Status.NOT_AFFECTED:
        raise InputError(f"--justification applies to not_affected, not to {status.value}")
    text(detail, "--detail", limit=4000)
    who = text(author if author is not None else getpass.getuser(), "--author", limit=200, required=True)
    record = TriageRecord(
        cve=cve,
        package=package,
        status=status,
        author=who.strip(),
        created_at=datetime.now(UTC),
        release=release,
        justification=justification,
        fixed_in=fixed_in.strip() if fixed_in is not None else None,
        detail=detail,
    )
    record_triage(engine(), record, package_option="PACKAGE")
    out.print(f"recorded: {record.describe()}", highlight=False, markup=False, soft_wrap=True)


@app.command("list")
@handled
def list_cmd(
    release: Annotated[
        str | None, typer.Option("--release", help="Records that apply to this release.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The triage records in force."""
    from cvewatch.services.triage import list_triage

    records = list_triage(engine(), release)
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
    table(
        [
            Col("CVE"),
            Col("package"),
            Col("release"),
            Col("status"),
            Col("justification / fixed in", "text"),
            Col("author", drop=1),
            Col("detail", "text", drop=2),
        ],
        [
            [
                r.cve,
                r.package,
                r.release or "all",
                r.status.value,
                r.justification or r.fixed_in or "",
                r.author,
                r.detail,
            ]
            for r in records
        ],
    )
