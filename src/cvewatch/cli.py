"""The command line: parses arguments, calls the stages, prints with rich. No logic of its own."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

from cvewatch import __version__
from cvewatch.errors import CvewatchError

if TYPE_CHECKING:
    from sqlalchemy import Engine

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="cvewatch",
    help="CVE infrastructure for RPM-based container-host distributions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The store: migrations.", no_args_is_help=True)
sync_app = typer.Typer(help="Import vulnerability records.", no_args_is_help=True)
inventory_app = typer.Typer(
    help="Load the distribution's packages: spec trees and node images.", no_args_is_help=True
)
publish_app = typer.Typer(help="Publish documents from stored verdicts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sync_app, name="sync")
app.add_typer(inventory_app, name="inventory")
app.add_typer(publish_app, name="publish")

out = Console()
err = Console(stderr=True)


class State:
    db_url: str | None = None


def engine() -> Engine:
    from cvewatch.store.db import open_engine

    return open_engine(State.db_url)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a CvewatchError into one clear line on stderr and exit status 1."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CvewatchError as exc:
            fail(str(exc))
            raise AssertionError("unreachable") from exc

    return wrapper


def print_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def report_problems(problems: Sequence[object], limit: int = 20) -> None:
    for p in problems[:limit]:
        err.print(f"[yellow]warning:[/] {p}", highlight=False, soft_wrap=True)
    if len(problems) > limit:
        err.print(f"[yellow]warning:[/] … and {len(problems) - limit} more", highlight=False)


def version_callback(value: bool) -> None:
    if value:
        out.print(f"cvewatch {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    db: Annotated[
        str | None,
        typer.Option(
            "--db", envvar="CVEWATCH_DB", help="Store URL: sqlite:///PATH or postgresql+psycopg://…"
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    State.db_url = db


# --- db ---------------------------------------------------------------------------------------------


@db_app.command("upgrade")
@handled
def db_upgrade() -> None:
    """Run pending migrations (they also run on first use)."""
    from cvewatch.store.db import default_url, make_engine, upgrade

    url = State.db_url or default_url()
    rev = upgrade(make_engine(url))
    out.print(f"store at revision {rev}: {url}")


# --- sync -------------------------------------------------------------------------------------------


@sync_app.command("nvd")
@handled
def sync_nvd(
    source: Annotated[
        Path,
        typer.Option(
            "--from", help="A file or folder of NVD API 2.0 pages or cve objects (.json, .json.gz)."
        ),
    ],
) -> None:
    """Import NVD CVE records, keeping the newest lastModified per CVE."""
    from cvewatch.sources.importer import import_source
    from cvewatch.sources.nvd_files import NvdFileSource

    report = import_source(engine(), NvdFileSource(source), origin=str(source))
    report_problems(report.problems)
    s = report.stats
    out.print(
        f"nvd: {report.read} records read, {s.new} new, {s.updated} updated, {s.unchanged} unchanged, "
        f"{s.rejected} rejected, {len(report.problems)} problems"
    )
    if report.status == "failed":
        fail(f"nothing could be imported from {source}")


@sync_app.command("status")
@handled
def sync_status(json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """The most recent sync runs."""
    from cvewatch.store.sync_runs import recent_runs

    with engine().connect() as conn:
        runs = recent_runs(conn)
    if json_out:
        print_json(
            [
                {
                    "id": r.id,
                    "source": r.source,
                    "origin": r.origin,
                    "started": r.started.isoformat(),
                    "finished": r.finished.isoformat() if r.finished else None,
                    "status": r.status,
                    "new": r.new,
                    "updated": r.updated,
                    "unchanged": r.unchanged,
                    "rejected": r.rejected,
                    "errors": r.errors,
                }
                for r in runs
            ]
        )
        return
    table = Table("run", "source", "started", "status", "new", "updated", "unchanged", "rejected", "errors")
    for r in runs:
        table.add_row(
            str(r.id),
            r.source,
            f"{r.started:%Y-%m-%d %H:%M}",
            r.status,
            str(r.new),
            str(r.updated),
            str(r.unchanged),
            str(r.rejected),
            str(r.errors),
        )
    out.print(table)


# --- inventory ---------------------------------------------------------------------------------------


@inventory_app.command("load-specs")
@handled
def load_specs(
    specs_dir: Annotated[Path, typer.Argument(help="A SPECS tree: one folder per package with NAME.spec.")],
    release: Annotated[str, typer.Option("--release", help="The release these specs make, e.g. azl3.")],
    dist: Annotated[str, typer.Option("--dist", help="The dist tag %{?dist} expands to.")] = ".azl3",
) -> None:
    """Read every spec of a SPECS tree into a release."""
    from cvewatch.inventory.load import load_specs_into

    report = load_specs_into(engine(), specs_dir, release=release, dist=dist)
    report_problems(report.problems)
    out.print(
        f"release {release}: {report.packages} source packages from {specs_dir} "
        f"({report.added} added, {report.changed} changed, {report.removed} removed, "
        f"{len(report.problems)} problems)"
    )
    if report.packages == 0:
        fail(f"no spec in {specs_dir} could be read")


@inventory_app.command("load-image")
@handled
def load_image(
    file: Annotated[Path, typer.Argument(help="An AKS node-image build note or an `rpm -qa` list.")],
    name: Annotated[str, typer.Option("--name", help="The node image's name.")],
    release: Annotated[str, typer.Option("--release", help="The release the image is built from.")],
) -> None:
    """Read a node image's installed packages."""
    from cvewatch.inventory.load import load_image_into

    report = load_image_into(engine(), file, name=name, release=release)
    report_problems(report.problems)
    out.print(f"image {name}: {report.packages} installed packages ({len(report.problems)} problems)")
    if report.packages == 0:
        fail(f"no package line in {file} could be read")


@inventory_app.command("releases")
@handled
def releases(json_out: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """The releases in the store."""
    from cvewatch.store.inventory import list_releases

    with engine().connect() as conn:
        rows = list_releases(conn)
    if json_out:
        print_json([{"release": n, "packages": c} for n, c in rows])
        return
    table = Table("release", "source packages")
    for n, c in rows:
        table.add_row(n, str(c))
    out.print(table)


# --- scan ---------------------------------------------------------------------------------------------


STATUS_STYLE = {"affected": "red", "fixed": "green", "not_affected": "cyan", "under_investigation": "yellow"}


@app.command("scan")
@handled
def scan_cmd(
    release: Annotated[
        str | None, typer.Option("--release", help="Scan a release's source packages.")
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", help="Scan a node image's installed packages.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="A JSON array of verdicts.")] = False,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Show only these statuses (repeatable).")
    ] = None,
) -> None:
    """Decide, for every CVE that touches a package, affected / fixed / not_affected / under_investigation."""
    from cvewatch.matching.runner import run_scan

    if release is None and image is None:
        fail("give --release NAME or --image NAME", 2)
    result = run_scan(engine(), release=release, image=image)
    verdicts = [v for v in result.verdicts if not status or v.status.value in status]
    if json_out:
        print_json([v.to_json() for v in verdicts])
        return
    table = Table("CVE", "package", "version", "status", "fixed in", "severity", "why")
    for v in verdicts:
        why = next((e.detail for e in v.evidence if e.kind not in ("cpe-match", "condition", "cvss")), "")
        table.add_row(
            v.cve,
            v.package,
            v.version,
            f"[{STATUS_STYLE[v.status.value]}]{v.status.value}[/]",
            v.fixed_in or "",
            v.severity.value,
            why,
        )
    out.print(table)
    print_summary(result.verdicts, f"{result.image or result.release}: {result.packages} packages scanned")
    if result.unmapped_binaries:
        err.print(
            f"[yellow]warning:[/] {len(result.unmapped_binaries)} installed binaries map to no "
            f"source package of release {result.release}: {', '.join(result.unmapped_binaries[:15])}"
            + (" …" if len(result.unmapped_binaries) > 15 else ""),
            highlight=False,
        )


def print_summary(verdicts: Sequence[Any], title: str) -> None:
    by_status = Counter(v.status.value for v in verdicts)
    by_sev: Counter[tuple[str, str]] = Counter((v.status.value, v.severity.value) for v in verdicts)
    sevs = ["critical", "high", "medium", "low", "none", "unknown"]
    table = Table("status", *sevs, "total", title=title)
    for st in ("affected", "fixed", "not_affected", "under_investigation"):
        table.add_row(st, *(str(by_sev[(st, s)]) for s in sevs), str(by_status[st]))
    table.add_row("total", *(str(sum(by_sev[(st, s)] for st in by_status)) for s in sevs), str(len(verdicts)))
    out.print(table)


# --- publish ------------------------------------------------------------------------------------------


@publish_app.command("csaf")
@handled
def publish_csaf(
    release: Annotated[str, typer.Option("--release", help="The release whose verdicts to publish.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder (one subfolder per year).")],
    product_name: Annotated[
        str | None, typer.Option("--product-name", help="The product's name in the documents.")
    ] = None,
) -> None:
    """One CSAF 2.0 VEX document per CVE with the product status of the release's packages."""
    from cvewatch.publishing.csaf_vex import CsafVexPublisher
    from cvewatch.publishing.run import publish_release

    publisher = CsafVexPublisher(
        release=release, product_name=product_name or release, generator_version=__version__
    )
    paths = publish_release(engine(), release, publisher, out_dir)
    out.print(f"csaf: {len(paths)} VEX documents written to {out_dir}")


# --- demo ---------------------------------------------------------------------------------------------


@app.command("demo")
@handled
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the database and documents go.")] = Path(
        "demo-out"
    ),
) -> None:
    """The whole chain on the embedded demo data: sync, inventory, scan, publish."""
    from cvewatch.demo.run import run_demo

    result = run_demo(out_dir, db_url=State.db_url, say=out.print)
    print_summary(result.verdicts, f"demo: release {result.release} and image {result.image}")
    out.print(f"store: {result.db_url}")
    out.print(f"CSAF VEX documents: {len(result.documents)} in {result.csaf_dir}")
    out.print(f"verdicts as JSON: {result.verdicts_json}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
