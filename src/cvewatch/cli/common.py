"""What every command module shares: the consoles, the store, error handling and JSON output."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console

from cvewatch.cli.tables import Cell, Col, fits, print_table
from cvewatch.errors import CvewatchError, StoreBusy
from cvewatch.services.store import StoreOptions

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cvewatch.model.verdicts import Verdict
    from cvewatch.store.locks import LockInfo, LockKind

P = ParamSpec("P")
R = TypeVar("R")

out = Console()
err = Console(stderr=True)


#: the exit status when another process holds the store's lock (EX_TEMPFAIL: try again later)
LOCK_HELD_EXIT = StoreBusy.exit_status


@dataclass
class CliState:
    """The options of one invocation (set by the main callback): which store, how long to wait for its
    locks, and, inside a ``@writes`` command, what holds the run lock until the command ends."""

    store: StoreOptions = field(default_factory=StoreOptions)
    run_stack: contextlib.ExitStack | None = None


_STATE: ContextVar[CliState] = ContextVar("cvewatch_cli_state")


def state() -> CliState:
    """This invocation's options (defaults outside a command, e.g. in a test calling a command function)."""
    try:
        return _STATE.get()
    except LookupError:
        fresh = CliState(StoreOptions(on_wait=say_waiting))
        _STATE.set(fresh)
        return fresh


def begin(db_url: str | None, wait: float | None) -> None:
    """Start an invocation with the global options ``--db`` and ``--wait``."""
    _STATE.set(CliState(StoreOptions(db_url, wait, say_waiting)))


def lock_wait(default: float | None = None) -> float:
    """Seconds to wait for a lock another process holds: ``--wait``, else ``default``, else
    :data:`cvewatch.services.store.DEFAULT_WAIT`."""
    return state().store.lock_wait(default)


def say_waiting(kind: LockKind, holder: LockInfo, wait: float) -> None:
    """Told once by a lock this process starts to wait for."""
    limit = "as long as it takes" if wait == float("inf") else f"up to {wait:g} s"
    err.print(
        f"waiting for the {kind.name} held by {holder.who()} since {holder.since_text()} "
        f"({holder.where}; {limit}, see --wait)",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def locked_store_url() -> str:
    """The store's URL; inside a ``@writes`` command the run lock is taken first (once: the lock is
    re-entrant), waiting for another run up to ``--wait`` seconds."""
    current = state()
    url = current.store.resolved_url()
    if current.run_stack is not None:
        current.run_stack.enter_context(current.store.run_lock())
    return url


def engine() -> Engine:
    """The store, migrated to head (waiting for another process's migration as for the run lock); inside
    a ``@writes`` command, under the run lock."""
    locked_store_url()
    return state().store.open()


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(code)


def _os_error_line(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    return f"{exc.filename}: {what}" if exc.filename is not None else what


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a CvewatchError into one clear line on stderr and exit status 1 (75 when another process holds
    the store's lock). A file that cannot be read or written (an OSError) and a database that fails under
    the command (an OperationalError: the server went away, a disk is full) are one line too."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CvewatchError as exc:
            fail(str(exc).replace("[", r"\["), exc.exit_status)
            raise AssertionError("unreachable") from exc
        except OSError as exc:
            fail(_os_error_line(exc).replace("[", r"\["))
            raise AssertionError("unreachable") from exc
        except Exception as exc:
            from sqlalchemy.exc import OperationalError

            from cvewatch.store.db import db_error_line

            if isinstance(exc, OperationalError):
                fail(f"the store failed: {db_error_line(exc)}".replace("[", r"\["))
            raise

    return wrapper


def writes(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a command that writes the store: it runs under the store's run lock (the one the scheduler
    takes), taken when the command first opens the store (:func:`engine`, :func:`locked_store_url`), so
    that its arguments are checked before it waits, and held until the command ends. Put it below
    ``@handled``, which turns a lock held too long into one line and exit status 75."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        current = state()
        with contextlib.ExitStack() as stack:
            current.run_stack = stack
            try:
                return fn(*args, **kwargs)
            finally:
                current.run_stack = None

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
