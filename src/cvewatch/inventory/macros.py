"""rpm macro expansion and spec conditionals, restated for reading spec files without rpm.

What is covered (best effort, the way rpm 4.18 behaves):

* ``%name``, ``%{name}``, ``%%``; ``%{?name}``, ``%{!?name}``, ``%{?name:text}``, ``%{!?name:text}``;
* ``%define`` / ``%global`` (lazy / eager body), ``%undefine``, multi-line bodies with ``\\`` continuation,
  parametric macros ``%define foo(ab:) body`` called as ``%foo args`` or ``%{foo args}`` with ``%0``
  ``%1``.. ``%*`` ``%**`` ``%#`` ``%{-a}`` ``%{-b*}``;
* builtins ``%{expand:}``, ``%{expr:}``, ``%[expr]``, ``%{defined x}``, ``%{undefined x}``, ``%{with x}``,
  ``%{without x}``, ``%bcond_with``, ``%bcond_without``, ``%bcond``, ``%{basename:}``, ``%{dirname:}``,
  ``%{suffix:}``, ``%{lower:}``, ``%{upper:}``, ``%{len:}``, ``%{shrink:}``, ``%{quote:}``, ``%{S:n}``,
  ``%{P:n}``, ``%{url2path:}``, ``%dnl``;
* ``%{lua:}`` and shell ``%(...)`` are NOT evaluated: they stay literal and are reported;
* unknown macros stay literal and are reported (a warning naming the macro);
* ``%if`` / ``%elif`` / ``%else`` / ``%endif`` with rpm's expression language, ``%ifarch`` / ``%ifnarch`` /
  ``%ifos`` / ``%ifnos`` (and their ``%elif`` forms) against a configurable target: the tests in
  :class:`MacroContext` (``evaluate``, ``match_arch``, ``match_os``), the nesting in
  :mod:`cvewatch.inventory.conditionals`, the expressions in :mod:`cvewatch.inventory.macroexpr`.

The macros a build host defines before the spec's first line are data (``data/rpm-macros.toml``). The
expander never raises on arbitrary text except :class:`SpecParseError` (recursion too deep, output too
large). No I/O but reading that file, once.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from string import Template
from types import MappingProxyType
from typing import Any

from cvewatch.errors import SpecParseError
from cvewatch.inventory.macroexpr import ExprError, evaluate_expression, truth

MAX_DEPTH = 64  # nested expansions, as rpm's max_macro_depth
MAX_OUTPUT = 1_000_000  # characters one expansion may produce
MAX_CALLS = 200_000  # macro look-ups in one top-level expansion

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFINE_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)(\(([^)]*)\))?(?:[ \t]+|$|(?=\n))(.*)", re.DOTALL)


@lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:
    text = resources.files("cvewatch.inventory").joinpath("data/rpm-macros.toml").read_text("utf-8")
    return tomllib.loads(text)


def default_macros(*, dist: str = ".azl3", arch: str = "x86_64", os_name: str = "linux") -> dict[str, str]:
    """The macros of an Azure Linux 3 build host for ``arch`` (``data/rpm-macros.toml``), in its order."""
    data = _defaults()
    isa, bits = data["isa"].get(arch, (arch, "64"))
    target = {
        "dist": dist,
        "arch": arch,
        "os": os_name,
        "isa": isa,
        "isa_name": isa.split("-")[0],
        "bits": bits,
        "lib": "lib64" if bits == "64" else "lib",
    }
    macros = {name: Template(body).substitute(target) for name, body in data["macros"].items()}
    macros.update(data["arch_groups"])
    return macros


@dataclass(frozen=True, slots=True)
class Macro:
    name: str
    body: str
    params: str | None = None  # getopt string of a parametric macro; None for a plain one
    builtin_default: bool = False  # seeded by default_macros, not by the spec


@lru_cache(maxsize=16)
def _default_table(dist: str, arch: str, os_name: str) -> Mapping[str, Macro]:
    table = default_macros(dist=dist, arch=arch, os_name=os_name)
    return MappingProxyType({k: Macro(k, v, None, True) for k, v in table.items()})


@dataclass(frozen=True, slots=True)
class MacroWarning:
    message: str
    macro: str | None = None
    line: int | None = None


_DIGITS = frozenset("0123456789")  # ASCII only, like rpm's risdigit: str.isdigit() also takes "²" and "٣"


def _is_number(name: str) -> bool:
    return name.isascii() and name.isdigit()


_BUILTIN_BRACED = frozenset(
    {
        "expand",
        "expr",
        "lua",
        "defined",
        "undefined",
        "with",
        "without",
        "basename",
        "dirname",
        "suffix",
        "lower",
        "upper",
        "len",
        "shrink",
        "quote",
        "S",
        "P",
        "url2path",
        "u2p",
        "echo",
        "warn",
        "error",
        "verbose",
        "getenv",
        "uncompress",
        "exists",
        "load",
        "macrobody",
        "define",
        "global",
        "undefine",
        "bcond",
        "bcond_with",
        "bcond_without",
        "dnl",
        "trace",
        "dump",
    }
)
_DEFINE_WORDS = frozenset({"define", "global", "undefine", "bcond", "bcond_with", "bcond_without"})


class MacroContext:
    """Macro table plus warnings. One per spec file; not thread-safe."""

    def __init__(
        self,
        *,
        dist: str = ".azl3",
        arch: str = "x86_64",
        os_name: str = "linux",
        defines: Mapping[str, str] | None = None,
    ) -> None:
        self.arch = arch
        self.os_name = os_name
        self.macros: dict[str, Macro] = dict(_default_table(dist, arch, os_name))
        for k, v in (defines or {}).items():
            self.macros[k] = Macro(k, v)
        self.warnings: list[MacroWarning] = []
        self.line: int | None = None  # current spec line, stamped on warnings
        self._scopes: list[dict[str, str]] = []  # arguments of parametric calls
        self._warn = True
        self._calls = 0

    # -- table ---------------------------------------------------------------------------------

    def define(self, name: str, body: str, params: str | None = None) -> None:
        self.macros[name] = Macro(name, body, params)

    def undefine(self, name: str) -> None:
        self.macros.pop(name, None)

    def is_defined(self, name: str) -> bool:
        if name[:1] == "-" or name in ("*", "**", "#") or _is_number(name):
            return any(name in s for s in self._scopes[-1:])
        return name in self.macros

    def is_spec_macro(self, name: str) -> bool:
        """Defined by the spec itself (not a seeded default)."""
        m = self.macros.get(name)
        return m is not None and not m.builtin_default

    def get(self, name: str) -> str | None:
        m = self.macros.get(name)
        return None if m is None else m.body

    # -- warnings ------------------------------------------------------------------------------

    def _report(self, message: str, macro: str | None = None) -> None:
        if self._warn:
            self.warnings.append(MacroWarning(message, macro, self.line))

    def take_warnings(self) -> list[MacroWarning]:
        out, self.warnings = self.warnings, []
        return out

    # -- expansion -----------------------------------------------------------------------------

    def expand(self, text: str, *, warn: bool = True) -> str:
        """Expand every macro in ``text``. Raises only SpecParseError (too deep, too large)."""
        if "%" not in text:
            return text
        saved = self._warn
        self._warn = warn
        self._calls = 0
        try:
            return self._expand(text, 0)
        except RecursionError as exc:  # pragma: no cover - guarded by MAX_DEPTH
            raise SpecParseError("macro expansion too deep", where=self._where()) from exc
        finally:
            self._warn = saved

    def _where(self) -> str | None:
        return f"line {self.line}" if self.line is not None else None

    def _expand(self, text: str, depth: int) -> str:
        if "%" not in text:
            return text
        if depth > MAX_DEPTH:
            raise SpecParseError("macro recursion too deep (more than 64 levels)", where=self._where())
        out: list[str] = []
        size = 0
        i = 0
        n = len(text)
        while i < n:
            j = text.find("%", i)
            if j < 0:
                out.append(text[i:])
                break
            out.append(text[i:j])
            size += j - i
            i, piece = self._one(text, j, depth)
            out.append(piece)
            size += len(piece)
            if size > MAX_OUTPUT:
                raise SpecParseError("macro expansion too large", where=self._where())
        result = "".join(out)
        if len(result) > MAX_OUTPUT:
            raise SpecParseError("macro expansion too large", where=self._where())
        return result

    def _tick(self) -> None:
        self._calls += 1
        if self._calls > MAX_CALLS:
            raise SpecParseError("too many macro expansions", where=self._where())

    def _one(self, text: str, j: int, depth: int) -> tuple[int, str]:
        """Expand the macro starting at text[j] == '%'. Returns (next index, output)."""
        n = len(text)
        if j + 1 >= n:
            return n, "%"
        c = text[j + 1]
        if c == "%":
            return j + 2, "%"
        if c == "{":
            end = _match(text, j + 1, "{", "}")
            if end < 0:
                self._report("unterminated %{ left literal")
                return n, text[j:]
            self._tick()
            return end + 1, self._braced(text[j + 2 : end], text[j : end + 1], depth)
        if c == "(":
            end = _match(text, j + 1, "(", ")")
            if end < 0:
                self._report("unterminated %( left literal")
                return n, text[j:]
            self._report("shell expansion %(...) not evaluated", "%(")
            return end + 1, text[j : end + 1]
        if c == "[":
            end = _match(text, j + 1, "[", "]")
            if end < 0:
                self._report("unterminated %[ left literal")
                return n, text[j:]
            self._tick()
            return end + 1, self._expr_value(text[j + 2 : end], depth)
        if c in "*#" or c in _DIGITS:
            # positional arguments of a parametric macro (ASCII digits, like rpm's risdigit)
            if c == "*" and text.startswith("**", j + 1):
                key, k = "**", j + 3
            elif c in _DIGITS:
                k = j + 1
                while k < n and text[k] in _DIGITS:
                    k += 1
                key = text[j + 1 : k]
            else:
                key, k = c, j + 2
            if self._scopes:
                return k, self._scopes[-1].get(key, "")
            return k, text[j:k]
        if c in "?!":
            # bare %?name, %!?name, %?!name: the conditional forms without braces
            p = j + 1
            while p < n and text[p] in "?!":
                p += 1
            mm = _NAME_RE.match(text, p)
            if mm is None or "?" not in text[j + 1 : p]:
                return j + 1, "%"
            self._tick()
            return mm.end(), self._braced(text[j + 1 : mm.end()], text[j : mm.end()], depth)
        m = _NAME_RE.match(text, j + 1)
        if m is None:
            return j + 1, "%"
        name = m.group(0)
        k = m.end()
        self._tick()
        if name in _DEFINE_WORDS or name == "dnl":
            # the rest of the (logical) line is the argument
            eol = _line_end(text, k)
            if name != "dnl":
                self._builtin_define(name, text[k:eol], depth)
            return (eol + 1 if name == "dnl" and eol < n else eol), ""
        macro = self.macros.get(name)
        if macro is None:
            if name in ("trace", "dump"):
                return k, ""
            self._report(f"unknown macro %{name} left literal", name)
            return k, text[j:k]
        if macro.params is not None:
            eol = _line_end(text, k)
            args = text[k:eol].strip()
            return eol, self._call(macro, self._expand(args, depth + 1) if args else "", depth)
        return k, self._expand(macro.body, depth + 1)

    def _braced(self, inner: str, whole: str, depth: int) -> str:
        # conditional forms
        neg = False
        cond = False
        p = 0
        while p < len(inner) and inner[p] in "?!":
            if inner[p] == "?":
                cond = True
            else:
                neg = True
            p += 1
        rest = inner[p:]
        if cond:
            colon = rest.find(":")
            name = rest if colon < 0 else rest[:colon]
            name = name.strip()
            defined = self.is_defined(name)
            if colon >= 0:
                return self._expand(rest[colon + 1 :], depth + 1) if defined != neg else ""
            if neg or not defined:
                return ""
            return self._value(name, depth)
        if neg:  # %{!name}: rpm treats it like %{name} when defined, else empty
            return self._value(rest.strip(), depth) if self.is_defined(rest.strip()) else ""
        # name, then ':' argument or whitespace arguments
        m = re.match(r"(-?[A-Za-z_][A-Za-z0-9_]*\*?|[0-9]+|\*\*?|#)", rest)
        if m is None:
            self._report(f"malformed macro {whole} left literal")
            return whole
        name = m.group(0)
        tail = rest[m.end() :]
        if tail.startswith(":"):
            return self._builtin_colon(name, tail[1:], whole, depth)
        if tail and not tail[0].isspace():
            self._report(f"malformed macro {whole} left literal")
            return whole
        args = tail.strip()
        if name in _BUILTIN_BRACED and name not in self.macros:
            return self._builtin_args(name, args, whole, depth)
        if name[:1] == "-" or name in ("*", "**", "#") or _is_number(name):
            return self._scopes[-1].get(name, "") if self._scopes else whole
        macro = self.macros.get(name)
        if macro is None:
            self._report(f"unknown macro %{{{name}}} left literal", name)
            return whole
        if macro.params is not None:
            return self._call(macro, self._expand(args, depth + 1) if args else "", depth)
        return self._expand(macro.body, depth + 1)

    def _value(self, name: str, depth: int) -> str:
        if name[:1] == "-" or name in ("*", "**", "#") or _is_number(name):
            return self._scopes[-1].get(name, "") if self._scopes else ""
        macro = self.macros.get(name)
        if macro is None:
            return ""
        if macro.params is not None:
            return self._call(macro, "", depth)
        return self._expand(macro.body, depth + 1)

    def _call(self, macro: Macro, args: str, depth: int) -> str:
        scope: dict[str, str] = {"0": macro.name, "**": args}
        words = args.split()
        opts = macro.params or ""
        positional: list[str] = []
        k = 0
        while k < len(words):
            w = words[k]
            if len(w) >= 2 and w[0] == "-" and w[1] != "-" and not positional:
                for pos, letter in enumerate(w[1:]):
                    idx = opts.find(letter)
                    scope["-" + letter] = "-" + letter
                    if idx >= 0 and idx + 1 < len(opts) and opts[idx + 1] == ":":
                        value = w[pos + 2 :]
                        if not value and k + 1 < len(words):
                            k += 1
                            value = words[k]
                        scope["-" + letter] = f"-{letter} {value}"
                        scope["-" + letter + "*"] = value
                        break
            else:
                positional.append(w)
            k += 1
        for idx, w in enumerate(positional, 1):
            scope[str(idx)] = w
        scope["*"] = " ".join(positional)
        scope["#"] = str(len(positional))
        self._scopes.append(scope)
        try:
            return self._expand(macro.body, depth + 1)
        finally:
            self._scopes.pop()

    def _builtin_define(self, word: str, arg: str, depth: int) -> None:
        if word == "undefine":
            name = arg.strip().split()[0] if arg.strip() else ""
            if name:
                self.undefine(name)
            return
        if word in ("bcond", "bcond_with", "bcond_without"):
            self._bcond(word, arg, depth)
            return
        m = _DEFINE_RE.match(arg)
        if m is None:
            self._report(f"malformed %{word} left unapplied: {arg.strip()[:60]}")
            return
        name, params, body = m.group(1), m.group(3), m.group(4)
        body = body.replace("\\\n", "\n").strip()
        if word == "global" and params is None:
            saved = self._warn
            self._warn = False
            try:
                body = self._expand(body, depth + 1)
            finally:
                self._warn = saved
        self.define(name, body, params)

    def _bcond(self, word: str, arg: str, depth: int) -> None:
        parts = self._expand(arg, depth + 1).split()
        if not parts:
            return
        name = parts[0]
        if word == "bcond_with":
            on = self.is_defined(f"_with_{name}")
        elif word == "bcond_without":
            on = not self.is_defined(f"_without_{name}")
        else:
            default = parts[1] if len(parts) > 1 else "0"
            try:
                on = bool(self._eval(default, depth))
            except ExprError:
                on = False
            if self.is_defined(f"_with_{name}"):
                on = True
            if self.is_defined(f"_without_{name}"):
                on = False
        if on:
            self.define(f"with_{name}", "1")
        else:
            self.undefine(f"with_{name}")

    def _builtin_args(self, name: str, args: str, whole: str, depth: int) -> str:
        if name in ("defined", "undefined"):
            target = self._expand(args, depth + 1).strip()
            return "1" if self.is_defined(target) == (name == "defined") else "0"
        if name in ("with", "without"):
            target = self._expand(args, depth + 1).strip()
            on = self.is_defined(f"with_{target}")
            return "1" if on == (name == "with") else "0"
        if name in _DEFINE_WORDS:
            self._builtin_define(name, args, depth)
            return ""
        if name in ("dnl", "trace", "dump"):
            return ""
        if name == "lua":
            self._report("%{lua:...} not evaluated", "lua")
            return whole
        self._report(f"unsupported builtin %{{{name}}} left literal", name)
        return whole

    def _builtin_colon(self, name: str, arg: str, whole: str, depth: int) -> str:
        if name == "lua":
            self._report("%{lua:...} not evaluated", "lua")
            return whole
        if name in ("expand",):
            return self._expand(self._expand(arg, depth + 1), depth + 1)
        if name == "expr":
            return self._expr_value(arg, depth)
        if name in _DEFINE_WORDS:
            self._builtin_define(name, arg, depth)
            return ""
        if name in ("defined", "undefined", "with", "without"):
            return self._builtin_args(name, arg, whole, depth)
        if name in ("error", "warn", "echo", "verbose"):
            if name == "error":
                self._report(f"%{{error:}} in spec: {self._expand(arg, depth + 1).strip()[:80]}", name)
            return ""
        if name in ("getenv", "exists", "load", "uncompress"):
            self._report(f"%{{{name}:}} not evaluated (needs the build host)", name)
            return whole
        if name == "macrobody":
            return self.get(self._expand(arg, depth + 1).strip()) or ""
        value = self._expand(arg, depth + 1)
        if name == "basename":
            return value.rstrip("/").rsplit("/", 1)[-1]
        if name == "dirname":
            return value.rsplit("/", 1)[0] if "/" in value else value
        if name == "suffix":
            base = value.rsplit("/", 1)[-1]
            return base.rsplit(".", 1)[1] if "." in base else ""
        if name == "lower":
            return value.lower()
        if name == "upper":
            return value.upper()
        if name == "len":
            return str(len(value))
        if name == "shrink":
            return " ".join(value.split())
        if name == "quote":
            return value
        if name in ("url2path", "u2p"):
            return re.sub(r"^[a-z]+://[^/]*", "", value)
        if name in ("S", "P"):
            key = ("SOURCE" if name == "S" else "PATCH") + value.strip()
            got = self.get(key)
            return self._expand(got, depth + 1) if got is not None else ""
        macro = self.macros.get(name)
        if macro is not None:
            # %{name:arg}: rpm passes arg as the single argument of a parametric macro
            if macro.params is not None:
                return self._call(macro, value, depth)
            return self._expand(macro.body, depth + 1)
        self._report(f"unknown macro %{{{name}:...}} left literal", name)
        return whole

    # -- expressions ---------------------------------------------------------------------------

    def _expr_value(self, expr: str, depth: int) -> str:
        try:
            v = self._eval(expr, depth)
        except ExprError as exc:
            self._report(f"cannot evaluate expression {expr.strip()[:60]!r}: {exc}")
            return "%[" + expr + "]"
        return str(v)

    def _eval(self, expr: str, depth: int) -> int | str:
        return evaluate_expression(self._expand(expr, depth + 1))

    def evaluate(self, expr: str) -> bool:
        """Evaluate an ``%if`` expression (macros expanded first). Errors: warning and False."""
        try:
            text = self.expand(expr, warn=False)
        except SpecParseError as exc:
            self._report(f"cannot evaluate %if {expr.strip()[:60]!r}: {exc}")
            return False
        if not text.strip():
            self._report(f"empty %if expression {expr.strip()[:60]!r} treated as false")
            return False
        try:
            v = evaluate_expression(text)
        except ExprError as exc:
            self._report(f"cannot evaluate %if {expr.strip()[:60]!r} (-> {text.strip()[:60]!r}): {exc}")
            return False
        return truth(v)

    def match_arch(self, args: str) -> bool:
        """``%ifarch`` list membership for the target arch."""
        words = re.split(r"[\s,]+", self.expand(args, warn=False).strip())
        return self.arch in words

    def match_os(self, args: str) -> bool:
        words = re.split(r"[\s,]+", self.expand(args, warn=False).strip())
        return self.os_name in words


def _match(text: str, start: int, opening: str, closing: str) -> int:
    """Index of the bracket closing text[start] (== opening), or -1."""
    level = 0
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            i += 2
            continue
        if ch == opening:
            level += 1
        elif ch == closing:
            level -= 1
            if level == 0:
                return i
        i += 1
    return -1


def _line_end(text: str, start: int) -> int:
    """End of the logical line from start: the first newline not escaped by a backslash."""
    i = start
    while True:
        k = text.find("\n", i)
        if k < 0:
            return len(text)
        if k > 0 and text[k - 1] == "\\":
            i = k + 1
            continue
        return k
