"""What every command module shares: the consoles, the store, error handling and JSON output."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console

from cvewatch.cli.tables import Cell, Col, fits, print_table
from cvewatch.errors import CvewatchError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cvewatch.matching.verdict import Verdict

P = ParamSpec("P")
R = TypeVar("R")

out = Console()
err = Console(stderr=True)


class State:
    """Global options, set by the main callback."""

    db_url: str | None = None


def engine() -> Engine:
    from cvewatch.store.db import open_engine

    return open_engine(State.db_url)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(code)


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a CvewatchError into one clear line on stderr and exit status 1."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CvewatchError as exc:
            fail(str(exc).replace("[", r"\["))
            raise AssertionError("unreachable") from exc

    return wrapper


def print_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    sys.stdout.buffer.flush()


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {message.replace('[', chr(92) + '[')}", highlight=False, soft_wrap=True)


def report_problems(problems: Sequence[object], limit: int = 20) -> None:
    for p in problems[:limit]:
        warn(str(p))
    if len(problems) > limit:
        warn(f"… and {len(problems) - limit} more")


STATUS_STYLE = {"affected": "red", "fixed": "green", "not_affected": "cyan", "under_investigation": "yellow"}
STATUSES = ("affected", "fixed", "not_affected", "under_investigation")
SEVERITIES = ("critical", "high", "medium", "low", "none", "unknown")


def table(cols: Sequence[Col], rows: Iterable[Sequence[Cell]], *, title: str | None = None) -> None:
    """A table on stdout that never cuts an id or a status (:mod:`cvewatch.cli.tables`)."""
    print_table(out, cols, rows, title=title)


def table_fits(cols: Sequence[Col], rows: Iterable[Sequence[Cell]]) -> bool:
    """Whether the columns that cannot be left out fit stdout's width."""
    return fits(out, cols, rows)


def print_summary(verdicts: Sequence[Verdict], title: str) -> None:
    """Counts by status and severity."""
    by_status = Counter(v.status.value for v in verdicts)
    by_sev: Counter[tuple[str, str]] = Counter((v.status.value, v.severity.value) for v in verdicts)
    rows = [[st, *(str(by_sev[(st, s)]) for s in SEVERITIES), str(by_status[st])] for st in STATUSES]
    rows.append(
        ["total", *(str(sum(by_sev[(st, s)] for st in STATUSES)) for s in SEVERITIES), str(len(verdicts))]
    )
    table([Col("status"), *(Col(s, "num") for s in SEVERITIES), Col("total", "num")], rows, title=title)
