"""rpm's expression language: the conditions of ``%if``/``%elif`` and the bodies of ``%[...]`` and
``%{expr:...}``, after macro expansion (rpm 4.18's ``rpmExprStr``, restated).

Integers (64-bit in rpm: longer literals are refused), ``"strings"``, ``v"versions"`` (compared with rpm's
EVR order), ``! - * / + - < > <= >= == != && || ?:`` and parentheses, with C's precedence; ``&&`` and
``||`` give one of their operands, as in rpm. A bare word is taken as a string, best effort (rpm refuses it).
No I/O, no macros: :class:`cvewatch.inventory.macros.MacroContext` expands the text first and turns an
:class:`ExprError` into a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from cvewatch.versions.rpm import EVR

__all__ = ["ExprError", "evaluate_expression", "truth"]


class ExprError(Exception):
    """An expression rpm could not evaluate either (the expander reports it and goes on)."""


def evaluate_expression(text: str) -> int | str:
    """The value of the expression ``text`` (macros already expanded); raises :class:`ExprError`."""
    return _Parser(text).parse()


def truth(v: int | str) -> bool:
    """rpm's truth of a value: a non-zero integer, a non-empty string."""
    return bool(v) if isinstance(v, int) else v != ""


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>[0-9]+)|(?P<ver>v\"[^\"]*\")|(?P<str>\"[^\"]*\")"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[<>!()+\-*/?:])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(self._tokenize(text))
        self.pos = 0

    @staticmethod
    def _tokenize(text: str) -> Iterator[tuple[str, str]]:
        i = 0
        n = len(text)
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                return
            m = _TOKEN_RE.match(text, i)
            if m is None or m.end() == i:
                raise ExprError(f"unexpected {text[i : i + 12]!r}")
            kind = m.lastgroup or "op"
            yield kind, m.group(kind)
            i = m.end()

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _peek_op(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op":
            return self.tokens[self.pos][1]
        return None

    def parse(self) -> int | str:
        if not self.tokens:
            raise ExprError("empty expression")
        v = self._ternary()
        if self.pos != len(self.tokens):
            raise ExprError(f"unexpected {self._peek()!r}")
        return v

    def _ternary(self) -> int | str:
        cond = self._or()
        if self._peek_op() == "?":
            self.pos += 1
            a = self._ternary()
            if self._peek_op() != ":":
                raise ExprError("expected ':'")
            self.pos += 1
            b = self._ternary()
            return a if truth(cond) else b
        return cond

    def _or(self) -> int | str:
        v = self._and()
        while self._peek_op() == "||":
            self.pos += 1
            w = self._and()
            v = v if truth(v) else w
        return v

    def _and(self) -> int | str:
        v = self._eq()
        while self._peek_op() == "&&":
            self.pos += 1
            w = self._eq()
            v = w if truth(v) else v
        return v

    def _eq(self) -> int | str:
        v = self._rel()
        while (op := self._peek_op()) in ("==", "!="):
            self.pos += 1
            w = self._rel()
            c = _cmp(v, w)
            v = int((c == 0) == (op == "=="))
        return v

    def _rel(self) -> int | str:
        v = self._add()
        while (op := self._peek_op()) in ("<", ">", "<=", ">="):
            self.pos += 1
            w = self._add()
            c = _cmp(v, w)
            v = int({"<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[op or ""])
        return v

    def _add(self) -> int | str:
        v = self._mul()
        while (op := self._peek_op()) in ("+", "-"):
            self.pos += 1
            w = self._mul()
            if isinstance(v, int) and isinstance(w, int):
                v = v + w if op == "+" else v - w
            elif isinstance(v, str) and isinstance(w, str) and op == "+":
                v = v + w
            else:
                raise ExprError("types must match")
        return v

    def _mul(self) -> int | str:
        v = self._unary()
        while (op := self._peek_op()) in ("*", "/"):
            self.pos += 1
            w = self._unary()
            if not (isinstance(v, int) and isinstance(w, int)):
                raise ExprError("* and / need integers")
            if op == "*":
                v = v * w
            else:
                if w == 0:
                    raise ExprError("division by zero")
                v = int(v / w)
        return v

    def _unary(self) -> int | str:
        op = self._peek_op()
        if op == "!":
            self.pos += 1
            return int(not truth(self._unary()))
        if op == "-":
            self.pos += 1
            v = self._unary()
            if not isinstance(v, int):
                raise ExprError("- needs an integer")
            return -v
        return self._primary()

    def _primary(self) -> int | str:
        if self.pos >= len(self.tokens):
            raise ExprError("unexpected end of expression")
        kind, tok = self.tokens[self.pos]
        self.pos += 1
        if kind == "num":
            if len(tok.lstrip("0")) > 18:  # rpm's expressions are 64-bit; int() refuses 4,300 digits
                raise ExprError(f"number too large: {tok[:20]}…")
            return int(tok)
        if kind == "str":
            return tok[1:-1]
        if kind == "ver":
            return "\x00v" + tok[2:-1]
        if kind == "word":
            return tok  # rpm 4.18 rejects bare words; accept them as strings, best effort
        if tok == "(":
            v = self._ternary()
            if self._peek_op() != ")":
                raise ExprError("expected ')'")
            self.pos += 1
            return v
        raise ExprError(f"unexpected {tok!r}")


def _cmp(a: int | str, b: int | str) -> int:
    if isinstance(a, int) and isinstance(b, int):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        if a.startswith("\x00v") and b.startswith("\x00v"):
            try:
                return EVR.parse(a[2:]).compare(EVR.parse(b[2:]))
            except Exception as exc:
                raise ExprError("bad version literal") from exc
        return (a > b) - (a < b)
    raise ExprError("types must match")
