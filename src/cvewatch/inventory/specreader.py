"""The sections of a spec, read line by line into what a :class:`~cvewatch.model.packages.SourcePackage`
needs: one handler per kind of section (:mod:`cvewatch.inventory.specfile` assembles the package).

* the main preamble (the lines before the first section): Name, Epoch, Version, Release, URL, Source0 and
  the PatchN lines; tag values are macro-expanded and ``name``, ``version``, ``release``, ``epoch`` and
  ``SOURCEn``/``PATCHn`` become macros, as in rpm;
* a ``%package [-n] NAME`` header declares a binary package, and its preamble may give it a Version or
  Epoch of its own; PatchN, Provides and BuildRequires are read in every preamble;
* a ``%files`` header names a binary that is built (its file list is not read);
* ``%changelog``: the lines, kept for :func:`cvewatch.inventory.changelog.parse_changelog`;
* ``%patchlist``: one patch file per line;
* script bodies (``%prep``, ``%build``, ``%install``...), ``%description`` text, file lists: not read, not
  expanded (nothing there is needed, and expanding shell code would only produce noise).

In every section, ``%if``-family conditionals are evaluated, ``%define``/``%global``/``%undefine``/
``%bcond*`` lines and ``%{?x:...}``-style lines run, and a line that calls a macro defined by the spec itself
(``%do_package arm64 1``) is expanded and its lines are read in its place, as rpm does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from cvewatch.errors import SpecParseError
from cvewatch.inventory.conditionals import ConditionalStack
from cvewatch.inventory.macros import MacroContext
from cvewatch.inventory.speclines import SECTIONS, first_word, logical_lines
from cvewatch.model.packages import Problem

__all__ = ["SpecReader", "split_dependencies"]

_DEFINE_WORDS = ("%define", "%global", "%undefine", "%bcond", "%{bcond", "%{!?", "%{?", "%{expand:", "%{lua:")
_TAG_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(\([^)]*\))?\s*:\s*(.*?)\s*$")
_WORD_RE = re.compile(r"%\{?([A-Za-z_][A-Za-z0-9_]*)")
_SECTION_KIND = {
    "package": "subpreamble",
    "changelog": "changelog",
    "patchlist": "patchlist",
    "files": "files",
}
_MAX_EXPANDED_LINES = 50_000  # lines a spec's own macros may produce, in all


class SpecReader:
    """What one spec's lines say, read by :meth:`read` (then :meth:`finish`); every problem is kept in
    ``problems``, nothing raises.

    The loop of :meth:`read` deals with the lines most of a spec is made of (``%changelog`` text, script
    bodies, which need no handler); a section's handler gets the others."""

    def __init__(self, path: str, ctx: MacroContext) -> None:
        self.path = path
        self.ctx = ctx
        self.cond = ConditionalStack(ctx)
        self.problems: list[Problem] = []
        # the main preamble's tags, expanded
        self.name: str | None = None
        self.version: str | None = None
        self.release: str | None = None
        self.epoch: str | None = None
        self.url: str | None = None
        self.source0: str | None = None
        # binary packages
        self.declared: list[str] = []  # %package names, in order
        self.current_sub: str | None = None  # the binary package whose %package preamble is being read
        self.sub_tags: dict[str, dict[str, str]] = {}  # binary -> its own Version/Epoch tags, expanded
        self.files_for: set[str] = set()  # binaries with a %files section
        self.files_unsure = False  # a %files header that names no binary we can resolve
        self.any_files = False
        # the rest
        self.patches: list[tuple[str, int | None, int]] = []  # (value, number, line)
        self.changelog: list[tuple[int, str]] = []
        self.provides: list[str] = []  # Provides: of every package section, in order
        self.build_requires: list[str] = []
        self.section = "preamble"  # preamble | subpreamble | changelog | files | patchlist | other
        self._auto_patch = 0  # the number of the next unnumbered patch
        self._budget = _MAX_EXPANDED_LINES
        self._pending: list[tuple[int, str]] = []  # lines produced by the spec's own macros (reversed)
        self._handlers: dict[str, Callable[[str, int], None]] = {
            "preamble": self._tag,
            "subpreamble": self._tag,
            "patchlist": self._patchlist,
        }

    # -- the loop ------------------------------------------------------------------------------------

    def read(self, text: str) -> None:
        """Read every logical line of ``text``, each in the section it is in."""
        cond = self.cond
        changelog = self.changelog
        pending = self._pending
        handlers = self._handlers
        source = logical_lines(text)
        section = self.section  # kept in a local: read for every line, changed by _section only
        item: tuple[int, str] | None
        while True:
            if pending:
                item = pending.pop()
            else:
                item = next(source, None)
                if item is None:
                    break
            lineno, line = item
            if "%" not in line:  # no directive, no macro: most lines
                if not cond.active:
                    continue
                if section == "changelog":
                    changelog.append(item)
                elif (handler := handlers.get(section)) is not None:
                    handler(line.lstrip(), lineno)
                continue
            if cond.handle(line, lineno):
                self._take_warnings()
                continue
            if not cond.active:
                continue
            s = line.lstrip()
            if s.startswith("%"):
                word = first_word(s)
                if word in SECTIONS:
                    section = self._section(word, s[len(word) + 1 :], lineno)
                    continue
                if section == "changelog":  # only conditionals and a new section end it
                    changelog.append(item)
                    continue
                directed = self._directive(word, line, s, lineno)
                if directed is None:
                    continue
                s = directed
            elif section == "changelog":
                changelog.append(item)
                continue
            handler = handlers.get(section)
            if handler is not None:
                handler(s, lineno)

    def finish(self) -> None:
        """After the last line: the conditionals left open or misplaced, the macros' last warnings, and the
        header tags that name a macro defined after them."""
        for lineno_open in self.cond.open_lines():
            self.problems.append(Problem(self.path, "%if without %endif", lineno_open))
        for err in self.cond.errors:
            self.problems.append(Problem(self.path, err.message, err.line))
        self._take_warnings()
        self._second_chance()

    # -- macros --------------------------------------------------------------------------------------

    def expand_field(self, value: str, lineno: int, what: str) -> str:
        """``value`` expanded, its warnings reported as problems of ``what``; unexpanded on an error."""
        self.ctx.line = lineno
        try:
            out = self.ctx.expand(value)
        except SpecParseError as exc:
            self.problems.append(Problem(self.path, f"{what}: {exc}", lineno))
            return value
        for w in self.ctx.take_warnings():
            self.problems.append(Problem(self.path, f"{what}: {w.message}", w.line))
        return out.strip()

    def run_silently(self, line: str, lineno: int) -> str:
        """``line`` expanded for its effects (definitions) and its text; warnings left out."""
        self.ctx.line = lineno
        try:
            return self.ctx.expand(line, warn=False)
        except SpecParseError as exc:
            self.problems.append(Problem(self.path, str(exc), lineno))
            return ""

    def _take_warnings(self) -> None:
        for w in self.ctx.take_warnings():
            self.problems.append(Problem(self.path, w.message, w.line))

    def _directive(self, word: str, line: str, s: str, lineno: int) -> str | None:
        """A line starting with ``%`` that starts no section: run it when it defines macros or calls one of
        the spec's own (the lines it produces are read next); None when nothing of it is left to read,
        else the (expanded) line."""
        if word == "include":
            self.problems.append(Problem(self.path, f"%include not followed: {s.strip()[:80]}", lineno))
            return None
        if s.startswith(_DEFINE_WORDS):
            self.run_silently(line, lineno)
            return None
        m = _WORD_RE.match(s)
        if m is None or not self.ctx.is_spec_macro(m.group(1)) or self._budget <= 0:
            return s
        out = self.run_silently(line, lineno)
        produced = out.split("\n")
        self._budget -= len(produced)
        if len(produced) > 1 or out.lstrip().startswith("%"):
            self._pending.extend((lineno, p) for p in reversed(produced))
            return None
        return out.lstrip()

    # -- section headers -----------------------------------------------------------------------------

    def _section(self, word: str, args: str, lineno: int) -> str:
        """A section starts: its kind (which handler reads its lines)."""
        self.section = _SECTION_KIND.get(word, "other")
        if word == "package":
            self._package_header(args, lineno)
        elif word == "files":
            self._files_header(args, lineno)
        return self.section

    def _package_header(self, args: str, lineno: int) -> None:
        """``%package [-n] NAME``: a binary package, whose preamble follows."""
        expanded = args if "%" not in args else self.expand_field(args, lineno, "%package header")
        name = self._binary_name(expanded, lineno)
        if name is None or "%" in name:
            self.problems.append(Problem(self.path, f"%package name not resolved: {args.strip()}", lineno))
            return
        if name not in self.declared:
            self.declared.append(name)
        self.current_sub = name

    def _files_header(self, args: str, lineno: int) -> None:
        """``%files [-n] NAME``: that binary is built. A header with an unknown macro only makes the list of
        binaries unsure."""
        expanded = args if "%" not in args else self.run_silently(args, lineno)
        name = self._binary_name(expanded, lineno)
        if name is None or "%" in name:
            self.files_unsure = True
            return
        self.any_files = True
        self.files_for.add(name)

    def _binary_name(self, args: str, lineno: int) -> str | None:
        """The binary a ``%package``/``%files``/``%description`` header names: ``-n NAME``, else
        ``<Name>-NAME``, else the main package; None when the spec's Name is not known yet."""
        arg_name, dash_n = _section_args(args)
        if dash_n:
            return arg_name
        main = self.name
        if main and "%" in main:  # a Name that names a macro defined later
            main = self.run_silently(main, lineno).strip()
        if arg_name is None:
            return main
        return f"{main}-{arg_name}" if main else None

    # -- preambles -----------------------------------------------------------------------------------

    def _tag(self, s: str, lineno: int) -> None:
        """A line of the main preamble or of a ``%package`` preamble."""
        m = _TAG_RE.match(s)
        if m is None:
            return
        tag = m.group(1).lower()
        raw = m.group(3)
        if tag.startswith("patch") and (tag == "patch" or tag[5:].isdigit()):
            self._patch_tag(m.group(1), raw, lineno)
        elif tag.startswith("source") and (tag == "source" or tag[6:].isdigit()):
            self._source_tag(tag[6:] or "0", raw, lineno)
        elif tag in ("provides", "buildrequires") and m.group(2) is None:
            deps = split_dependencies(self.run_silently(raw, lineno).strip())
            (self.provides if tag == "provides" else self.build_requires).extend(deps)
        elif self.section != "preamble":
            if tag in ("version", "epoch") and self.current_sub is not None:
                value = self.expand_field(raw, lineno, f"{self.current_sub} {tag.capitalize()}")
                self.sub_tags.setdefault(self.current_sub, {})[tag] = value
        elif tag in ("name", "version", "release", "epoch", "url"):
            value = self.expand_field(raw, lineno, tag.capitalize())
            setattr(self, tag, value)
            self.ctx.define(tag, value)
        elif tag in ("summary", "license", "group", "vendor", "distribution"):
            self.ctx.define(tag, raw)

    def _patch_tag(self, tag: str, raw: str, lineno: int) -> None:
        """``PatchN: file`` (``Patch:`` numbers itself after the previous one), and the macro ``PATCHn``."""
        digits = tag[5:]
        if len(digits) > 9:  # rpm's patch numbers are 32-bit (and int() refuses 4,300 digits)
            self.problems.append(Problem(self.path, f"bad patch number: {tag[:24]}…", lineno))
            return
        number = int(digits) if digits else None
        value = self.expand_field(raw, lineno, f"Patch{digits}")
        self.ctx.define(f"PATCH{number if number is not None else self._auto_patch}", value)
        self.patches.append((value, number, lineno))
        self._auto_patch = (number if number is not None else self._auto_patch) + 1

    def _source_tag(self, num: str, raw: str, lineno: int) -> None:
        """``SourceN: file``: the macro ``SOURCEn``; the main preamble's first Source0 is the spec's."""
        if num == "0" and self.section == "preamble" and self.source0 is None:
            value = self.expand_field(raw, lineno, "Source0")
            self.source0 = value
        else:
            value = self.run_silently(raw, lineno).strip()
        self.ctx.define(f"SOURCE{num}", value)

    def _second_chance(self) -> None:
        """A header tag that names a macro defined further down (``Name: python-%{pypi_name}`` before
        ``%global pypi_name wheel``): rpm itself would reject the spec; we expand the value again with the
        final macro table, best effort, and say so."""
        for tag in ("name", "version", "release", "epoch"):
            value = getattr(self, tag)
            if not value or "%" not in value:
                continue
            self.ctx.line = None
            try:
                again = self.ctx.expand(value, warn=False).strip()
            except SpecParseError:
                continue
            if again != value and "%" not in again:
                self.problems.append(
                    Problem(
                        self.path,
                        f"{tag.capitalize()} uses a macro defined after it; expanded late to {again!r}",
                    )
                )
                setattr(self, tag, again)

    # -- other sections ------------------------------------------------------------------------------

    def _patchlist(self, s: str, lineno: int) -> None:
        """A line of ``%patchlist``: a patch file, numbered after the previous patch."""
        if not s.strip() or s.startswith("#"):
            return
        value = self.expand_field(s, lineno, "%patchlist")
        self.patches.append((value, self._auto_patch, lineno))
        self._auto_patch += 1


def _section_args(args: str) -> tuple[str | None, bool]:
    """(name, has -n) from the expanded arguments of %package/%files/%description."""
    words = args.split()
    name: str | None = None
    dash_n = False
    k = 0
    while k < len(words):
        w = words[k]
        if w == "-n" and k + 1 < len(words):
            name, dash_n = words[k + 1], True
            k += 2
            continue
        if w in ("-f", "-p", "-e", "-P", "-q") and k + 1 < len(words):
            k += 2
            continue
        if w.startswith("-"):
            k += 1
            continue
        if name is None:
            name = w
        k += 1
    return name, dash_n


_DEP_OPS = frozenset({"<", ">", "=", "<=", ">=", "=="})


def split_dependencies(value: str) -> tuple[str, ...]:
    """A ``Provides:``/``BuildRequires:`` value -> its dependencies: names separated by spaces or commas,
    ``NAME OP VERSION`` kept together (``golang < 1.25``), parentheses (``bundled(crate(x))``, rich
    dependencies ``(a or b)``) kept whole."""
    tokens: list[str] = []
    i, n = 0, len(value)
    while i < n:
        if value[i].isspace() or value[i] == ",":
            i += 1
            continue
        j, depth = i, 0
        while j < n and (depth > 0 or not (value[j].isspace() or value[j] == ",")):
            if value[j] == "(":
                depth += 1
            elif value[j] == ")":
                depth -= 1
            j += 1
        tokens.append(value[i:j])
        i = j
    out: list[str] = []
    k = 0
    while k < len(tokens):
        if k + 2 < len(tokens) and tokens[k + 1] in _DEP_OPS:
            out.append(f"{tokens[k]} {tokens[k + 1]} {tokens[k + 2]}")
            k += 3
        else:
            out.append(tokens[k])
            k += 1
    return tuple(out)
