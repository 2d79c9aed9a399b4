"""Tables that fit the output's width without cutting an id or a status.

Piped output and CI logs are 80 columns wide (rich's default when stdout is not a terminal, or
``$COLUMNS``); rich's own fitting shrinks every column and cuts ``CVE-2023-38545`` to ``CVE-200…``. Here the
columns say what they hold (:class:`Col`), and :func:`print_table` keeps ids and statuses whole: a boxed
table when everything fits, else a compact one, leaving out the least important columns (named in the
caption) until the ids fit; text columns wrap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["TEXT_MIN", "Cell", "Col", "fits", "print_table"]

TEXT_MIN = 12  # the narrowest a text column is planned at
_COMPACT: dict[str, Any] = {
    "box": box.SIMPLE_HEAD,
    "show_edge": False,
    "pad_edge": False,
    "collapse_padding": True,
}

Cell = str | Text


@dataclass(frozen=True, slots=True)
class Col:
    """A column of :func:`print_table`.

    ``kind``: ``id`` (CVE ids, package names, statuses, EVRs, dates: never cut or wrapped), ``num`` (the
    same, right-aligned), ``list`` (ids separated by spaces: wraps between them, never inside one),
    ``text`` (wraps; a word longer than the column folds onto the next line). ``drop`` > 0: the column may
    be left out when the table does not fit the width, the highest first.
    """

    header: str
    kind: Literal["id", "num", "list", "text"] = "id"
    drop: int = 0


def _overhead(console: Console, columns: int, style: dict[str, Any]) -> int:
    """The width a table of ``style`` needs besides its cells (borders, padding)."""
    probe = Table(*(["x"] * columns), **style)
    return Measurement.get(console, console.options, probe).maximum - columns


@dataclass(frozen=True, slots=True)
class _Plan:
    body: list[list[Text]]
    longest: list[int]  # each column's widest cell (the header included)
    words: list[int]  # each column's widest word
    planned: list[int]  # the width each column needs at the least

    @classmethod
    def of(cls, cols: Sequence[Col], rows: Iterable[Sequence[Cell]]) -> _Plan:
        body = [[c if isinstance(c, Text) else Text(c) for c in row] for row in rows]
        longest = [max([cell_len(c.header), *(row[i].cell_len for row in body)]) for i, c in enumerate(cols)]
        words = [
            max([1, *(cell_len(w) for row in body for w in row[i].plain.split())]) for i in range(len(cols))
        ]
        planned = [
            min(longest[i], TEXT_MIN)
            if c.kind == "text"
            else min(longest[i], max(words[i], TEXT_MIN))
            if c.kind == "list"
            else longest[i]
            for i, c in enumerate(cols)
        ]
        return cls(body, longest, words, planned)


def fits(console: Console, cols: Sequence[Col], rows: Iterable[Sequence[Cell]]) -> bool:
    """Whether the columns that cannot be left out fit ``console``'s width (a command may then choose
    another layout, such as one column for two)."""
    plan = _Plan.of(cols, rows)
    keep = [i for i, c in enumerate(cols) if not c.drop]
    return sum(plan.planned[i] for i in keep) + _overhead(console, len(keep), _COMPACT) <= console.width


def print_table(
    console: Console, cols: Sequence[Col], rows: Iterable[Sequence[Cell]], *, title: str | None = None
) -> None:
    """Print ``rows`` under ``cols`` on ``console`` (see the module docstring). Cells are plain text (never
    markup) or rich :class:`Text`."""
    plan = _Plan.of(cols, rows)
    body, longest, words = plan.body, plan.longest, plan.words
    width = console.width
    keep = list(range(len(cols)))
    style: dict[str, Any] = {}
    if sum(longest) + _overhead(console, len(keep), style) > width:
        style = _COMPACT
        droppable = sorted((i for i in keep if cols[i].drop), key=lambda i: (-cols[i].drop, -i))
        while droppable and sum(plan.planned[i] for i in keep) + _overhead(console, len(keep), style) > width:
            keep.remove(droppable.pop(0))
    left_out = [cols[i].header for i in range(len(cols)) if i not in keep]
    caption = None
    if left_out:
        caption = (
            f"left out at {width} columns: {', '.join(left_out)} (all of them: --json, or a wider $COLUMNS)"
        )
    table = Table(title=title, caption=caption, **style)
    for i in keep:
        c = cols[i]
        fixed = c.kind in ("id", "num")
        table.add_column(
            c.header,
            justify="right" if c.kind == "num" else "left",
            no_wrap=fixed,
            overflow="fold",
            min_width=longest[i] if fixed else (words[i] if c.kind == "list" else None),
        )
    for row in body:
        table.add_row(*(row[i] for i in keep))
    console.print(table)
