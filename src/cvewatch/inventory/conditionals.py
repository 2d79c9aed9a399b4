"""The ``%if`` family of a spec: which lines rpm reads and which it skips.

``%if EXPR`` (rpm's expression language, :mod:`cvewatch.inventory.macroexpr`), ``%ifarch``/``%ifnarch``/
``%ifos``/``%ifnos`` against the target of the :class:`~cvewatch.inventory.macros.MacroContext`, their
``%elif`` forms, ``%else`` and ``%endif``, nested. What rpmbuild would refuse (``%else`` without ``%if``,
``%elif`` after ``%else``, an ``%if`` left open) is kept in ``errors`` and ``open_lines()``, and the reading
goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cvewatch.inventory.macros import MacroContext, MacroWarning

__all__ = ["ConditionalStack"]

_COND_RE = re.compile(
    r"^\s*%(ifarch|ifnarch|ifos|ifnos|if|elifarch|elifnarch|elifos|elifnos|elif|else|endif)(?![A-Za-z0-9_])(.*)$",
    re.DOTALL,
)


@dataclass(slots=True)
class _Frame:
    parent_active: bool
    active: bool
    taken: bool
    line: int | None
    seen_else: bool = False


class ConditionalStack:
    """Tracks ``%if`` nesting. Feed each logical line to :meth:`handle` before using it."""

    def __init__(self, ctx: MacroContext) -> None:
        self.ctx = ctx
        self._frames: list[_Frame] = []
        self.errors: list[MacroWarning] = []

    @property
    def active(self) -> bool:
        return not self._frames or self._frames[-1].active

    @property
    def depth(self) -> int:
        return len(self._frames)

    def open_lines(self) -> list[int | None]:
        return [f.line for f in self._frames]

    def _test(self, kw: str, args: str) -> bool:
        base = kw[2:] if kw.startswith("el") else kw
        if base == "if":
            return self.ctx.evaluate(args)
        if base == "ifarch":
            return self.ctx.match_arch(args)
        if base == "ifnarch":
            return not self.ctx.match_arch(args)
        if base == "ifos":
            return self.ctx.match_os(args)
        return not self.ctx.match_os(args)  # ifnos

    def handle(self, line: str, lineno: int | None = None) -> bool:
        """True when ``line`` is a conditional directive (consumed); False for any other line."""
        if "%" not in line:
            return False
        s = line.lstrip()
        if not s.startswith(("%if", "%el", "%endif")):
            return False
        m = _COND_RE.match(line)
        if m is None:
            return False
        kw, args = m.group(1), m.group(2)
        self.ctx.line = lineno
        if kw.startswith("if"):
            parent = self.active
            ok = self._test(kw, args) if parent else False
            self._frames.append(_Frame(parent, parent and ok, ok, lineno))
            return True
        if not self._frames:
            self.errors.append(MacroWarning(f"%{kw} without %if", None, lineno))
            return True
        f = self._frames[-1]
        if kw == "endif":
            self._frames.pop()
            return True
        if f.seen_else:
            self.errors.append(MacroWarning(f"%{kw} after %else", None, lineno))
        if kw == "else":
            f.seen_else = True
            f.active = f.parent_active and not f.taken
            f.taken = True
            return True
        # %elif family
        if f.parent_active and not f.taken:
            ok = self._test(kw, args)
            f.active = ok
            f.taken = ok
        else:
            f.active = False
        return True
