"""One RPM spec file -> :class:`SourcePackage`, with every problem met on the way.

:func:`parse_spec_text` does the work on text (no I/O except through the optional ``read_sibling``
callback); :func:`parse_spec` reads the file and its folder.

How the spec is read (a reduced rpmbuild -bs):

* logical lines: a ``%define``/``%global`` line ending in ``\\`` continues on the next line, and so does a
  line with an unclosed ``%{`` or ``%(``;
* ``%if``-family conditionals are evaluated everywhere (see :mod:`cvewatch.inventory.macros`);
* ``%define``/``%global``/``%undefine``/``%bcond*`` lines and ``%{?x:...}``-style lines run in every section;
  a line that calls a macro defined by the spec itself (``%do_package arm64 1``) is expanded and its lines are
  read in its place, as rpm does;
* Name/Epoch/Version/Release/URL/Source0/PatchN are taken from the main preamble (the lines before the first
  section), ``PatchN``, ``Provides`` and ``BuildRequires`` from any preamble; tag values are
  macro-expanded; ``name``, ``version``, ``release``, ``epoch`` and ``SOURCEn``/``PATCHn`` become macros
  as in rpm;
* binary packages: each ``%package [-n] NAME``, and the main package, are built when they have a ``%files``
  section, like rpm. A ``%package`` preamble with a Version or Epoch of its own (perl's modules) puts the
  binary in ``SourcePackage.own_version``: its EVR is not the source build's. When a spec has a ``%files``
  header we cannot resolve (an unknown macro in it), or no ``%files`` at all, we are unsure and include
  every declared package, the main one too.
* script bodies (%prep, %build, %install, ...) and %description text are not expanded: nothing there is
  needed, and expanding shell code would only produce noise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cvewatch.errors import InputError, SpecParseError
from cvewatch.inventory.changelog import CVE_RE, cve_ids, parse_changelog
from cvewatch.inventory.conditionals import ConditionalStack
from cvewatch.inventory.macros import MacroContext
from cvewatch.inventory.treefiles import Folder, SpecTree, problem_of
from cvewatch.limits import MAX_NOPATCH_BYTES, MAX_TREE_FILE_BYTES, PATCH_HEAD_BYTES
from cvewatch.model.packages import PatchFile, Problem, SourcePackage, TriageFile
from cvewatch.versions.rpm import parse_epoch

SECTIONS = frozenset(
    {
        "package",
        "description",
        "prep",
        "build",
        "install",
        "check",
        "clean",
        "conf",
        "generate_buildrequires",
        "pre",
        "post",
        "preun",
        "postun",
        "pretrans",
        "posttrans",
        "preuntrans",
        "postuntrans",
        "verifyscript",
        "trigger",
        "triggerin",
        "triggerun",
        "triggerpostun",
        "triggerprein",
        "filetriggerin",
        "filetriggerun",
        "filetriggerpostun",
        "transfiletriggerin",
        "transfiletriggerun",
        "transfiletriggerpostun",
        "files",
        "changelog",
        "patchlist",
        "sourcelist",
        "sepolicy",
        "end",
    }
)
_DEFINE_WORDS = ("%define", "%global", "%undefine", "%bcond", "%{bcond", "%{!?", "%{?", "%{expand:", "%{lua:")
_TAG_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(\([^)]*\))?\s*:\s*(.*?)\s*$")
_WORD_RE = re.compile(r"%\{?([A-Za-z_][A-Za-z0-9_]*)")
_NOPATCH_RE = re.compile(r"^(CVE-[0-9]{4}-[0-9]{4,})\.nopatch$")
_CVE_LINE_RE = re.compile(r"^\s*CVE(?:-IDs?)?\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE)
_SECTION_KIND = {
    "package": "subpreamble",
    "changelog": "changelog",
    "patchlist": "patchlist",
    "files": "files",
}
_MAX_EXPANDED_LINES = 50_000  # lines a spec's own macros may produce, in all


@dataclass(frozen=True, slots=True)
class SpecResult:
    """A spec's package, or None when the spec is rejected: then the last problem says why."""

    package: SourcePackage | None
    problems: tuple[Problem, ...]


# problems that rpmbuild stops on too: an unclosed %if, a %else/%elif/%endif without its %if or after a
# %else, an unterminated %{, %( or %[ in a tag value
_RPM_FATAL_RE = re.compile(r"^%\w+ (?:without %if|without %endif|after %else)$|unterminated %[{(\[]")


def rpm_refuses(problem: Problem) -> bool:
    """True for a parser problem that makes rpmbuild itself refuse the spec (``cvewatch lint`` reports
    these as errors; the loader reads on, as far as it can)."""
    return _RPM_FATAL_RE.search(problem.message) is not None


ReadSibling = Callable[[str], str | None]


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, logical line): joins ``\\`` continuations of defines and unclosed ``%{``/``%(``."""
    lines = text.splitlines()
    i = 0
    n = len(lines)
    while i < n:
        start = i
        line = lines[i]
        i += 1
        if "%" not in line:
            yield i, line
            continue
        s = line.lstrip()
        if s.startswith(("%define", "%global")):
            while line.endswith("\\") and i < n:
                line = line + "\n" + lines[i]
                i += 1
        if ("%{" in line or "%(" in line) and (
            line.count("{") > line.count("}") or line.count("(") > line.count(")")
        ):
            # an unclosed %{ or %( continues (up to 500 lines; else keep the line as it is)
            joined = line
            k = i
            while k < n and k - i < 500 and _unclosed(joined):
                joined = joined + "\n" + lines[k]
                k += 1
            if not _unclosed(joined):
                line, i = joined, k
        yield start + 1, line


def _unclosed(text: str) -> bool:
    level = 0
    stack: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "%" and i + 1 < n and text[i + 1] in "{(":
            stack.append("}" if text[i + 1] == "{" else ")")
            level += 1
            i += 2
            continue
        if stack:
            if ch in "{(":
                stack.append("}" if ch == "{" else ")")
            elif ch == stack[-1]:
                stack.pop()
        i += 1
    return bool(stack)


def _patch_filename(value: str) -> str:
    """The file name a PatchN value names: a URL's ``#/name`` fragment or its last path part."""
    value = value.strip()
    if "#/" in value:
        return value.rsplit("#/", 1)[1]
    return value.rstrip("/").rsplit("/", 1)[-1]


def patch_header_cves(text: str) -> tuple[str, ...]:
    """CVE ids in a patch's header (the part before the first diff), ``CVE:`` lines included."""
    cut = len(text)
    for marker in ("\ndiff ", "\n--- ", "\nIndex: ", "\n+++ "):
        k = text.find(marker)
        if 0 <= k < cut:
            cut = k
    if text.startswith(("diff ", "--- ", "Index: ")):
        cut = 0
    head = text[:cut]
    ids = list(CVE_RE.findall(head))
    for m in _CVE_LINE_RE.finditer(text[:65536]):
        ids.extend(CVE_RE.findall(m.group(1)))
    return tuple(dict.fromkeys(ids))


@dataclass(slots=True)
class _State:
    path: str
    ctx: MacroContext
    problems: list[Problem]
    name: str | None = None
    version: str | None = None
    release: str | None = None
    epoch: str | None = None
    url: str | None = None
    source0: str | None = None


def _expand_field(st: _State, value: str, lineno: int, what: str) -> str:
    st.ctx.line = lineno
    try:
        out = st.ctx.expand(value)
    except SpecParseError as exc:
        st.problems.append(Problem(st.path, f"{what}: {exc}", lineno))
        return value
    for w in st.ctx.take_warnings():
        st.problems.append(Problem(st.path, f"{what}: {w.message}", w.line))
    return out.strip()


def _run_silently(st: _State, line: str, lineno: int) -> str:
    st.ctx.line = lineno
    try:
        return st.ctx.expand(line, warn=False)
    except SpecParseError as exc:
        st.problems.append(Problem(st.path, str(exc), lineno))
        return ""


def _section_args(args: str) -> tuple[str | None, bool, bool]:
    """(name, has -n, ok) from the expanded arguments of %package/%files/%description."""
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
    return name, dash_n, True


def parse_spec_text(
    text: str,
    *,
    path: str,
    dist: str = ".azl3",
    arch: str = "x86_64",
    sibling_files: Collection[str] = (),
    read_sibling: ReadSibling | None = None,
    defines: Mapping[str, str] | None = None,
) -> SpecResult:
    """Parse one spec's text. ``sibling_files`` names the files beside the spec (for ``present`` and the
    ``CVE-*.nopatch`` triage files); ``read_sibling(name)`` returns a sibling's text (patch headers,
    nopatch justifications) or None when it cannot be read (a ``.nopatch`` not read is no triage record:
    what could not be read has no effect); ``defines`` adds macros (like ``rpmbuild --define``). Never raises:
    everything wrong becomes a Problem."""
    ctx = MacroContext(dist=dist, arch=arch, defines=defines)
    st = _State(path, ctx, [])
    cond = ConditionalStack(ctx)
    siblings = frozenset(sibling_files)

    section = "preamble"  # preamble | subpreamble | changelog | files | patchlist | other
    declared: list[str] = []  # binary package names, in order, main first when known
    current_sub: str | None = None  # the binary package whose %package preamble is being read
    sub_tags: dict[str, dict[str, str]] = {}  # binary -> its own Version/Epoch tags, expanded
    files_for: set[str] = set()
    files_unsure = False
    any_files = False
    patches: list[tuple[str, int | None, int]] = []  # (value, number, line)
    auto_patch = 0
    changelog: list[tuple[int, str]] = []
    provides: list[str] = []  # Provides: of every package section, in order
    build_requires: list[str] = []
    expanded_budget = _MAX_EXPANDED_LINES

    pending: list[tuple[int, str]] = []  # lines produced by the spec's own macros, read first (reversed)
    source = _logical_lines(text)

    def next_line() -> tuple[int, str] | None:
        if pending:
            return pending.pop()
        return next(source, None)

    def sub_name(arg_name: str | None, dash_n: bool) -> str | None:
        if dash_n:
            return arg_name
        main = st.name
        if main and "%" in main:  # a Name that names a macro defined later
            main = _run_silently(st, main, lineno).strip()
        if arg_name is None:
            return main
        return f"{main}-{arg_name}" if main else None

    while True:
        item = next_line()
        if item is None:
            break
        lineno, line = item
        if "%" not in line:  # fast path: no directive, no macro
            if not cond.active:
                continue
            if section == "changelog":
                changelog.append((lineno, line))
                continue
            if section != "preamble" and section != "subpreamble":
                continue
        elif cond.handle(line, lineno):
            for w in ctx.take_warnings():
                st.problems.append(Problem(path, w.message, w.line))
            continue
        if not cond.active:
            continue
        s = line.lstrip()
        if section == "changelog":
            # only conditionals and a new section end the changelog
            if s.startswith("%") and _first_word(s) in SECTIONS:
                pass
            else:
                changelog.append((lineno, line))
                continue
        if s.startswith("%"):
            word = _first_word(s)
            if word in SECTIONS:
                args = s[len(word) + 1 :]
                section = _SECTION_KIND.get(word, "other")
                if word in ("package", "files"):
                    if "%" not in args:
                        exp = args
                    elif word == "package":
                        exp = _expand_field(st, args, lineno, "%package header")
                    else:  # a %files header with an unknown macro only makes the package list unsure
                        exp = _run_silently(st, args, lineno)
                    arg_name, dash_n, _ok = _section_args(exp)
                    bname = sub_name(arg_name, dash_n)
                    if bname is None or "%" in bname:
                        if word == "files":
                            files_unsure = True
                        else:
                            st.problems.append(
                                Problem(path, f"%package name not resolved: {args.strip()}", lineno)
                            )
                    elif word == "package":
                        if bname not in declared:
                            declared.append(bname)
                        current_sub = bname
                    else:
                        any_files = True
                        files_for.add(bname)
                continue
            if word == "include":
                st.problems.append(Problem(path, f"%include not followed: {s.strip()[:80]}", lineno))
                continue
            if s.startswith(_DEFINE_WORDS):
                _run_silently(st, line, lineno)
                continue
            m = _WORD_RE.match(s)
            if m is not None and ctx.is_spec_macro(m.group(1)) and expanded_budget > 0:
                out = _run_silently(st, line, lineno)
                produced = out.split("\n")
                expanded_budget -= len(produced)
                if len(produced) > 1 or out.lstrip().startswith("%"):
                    pending.extend((lineno, p) for p in reversed(produced))
                    continue
                line = out
                s = line.lstrip()
        if section in ("preamble", "subpreamble"):
            m2 = _TAG_RE.match(s)
            if m2 is None:
                continue
            tag = m2.group(1).lower()
            raw = m2.group(3)
            if tag.startswith("patch") and (tag == "patch" or tag[5:].isdigit()):
                if len(tag) > 5 + 9:  # rpm's patch numbers are 32-bit (and int() refuses 4,300 digits)
                    st.problems.append(Problem(path, f"bad patch number: {m2.group(1)[:24]}…", lineno))
                    continue
                number = int(tag[5:]) if tag[5:] else None
                value = _expand_field(st, raw, lineno, f"Patch{tag[5:]}")
                ctx.define(f"PATCH{number if number is not None else auto_patch}", value)
                patches.append((value, number, lineno))
                auto_patch = (number if number is not None else auto_patch) + 1
                continue
            if tag.startswith("source") and (tag == "source" or tag[6:].isdigit()):
                num = tag[6:] or "0"
                if num == "0" and section == "preamble" and st.source0 is None:
                    value = _expand_field(st, raw, lineno, "Source0")
                    st.source0 = value
                else:
                    value = _run_silently(st, raw, lineno).strip()
                ctx.define(f"SOURCE{num}", value)
                continue
            if tag in ("provides", "buildrequires") and m2.group(2) is None:
                deps = split_dependencies(_run_silently(st, raw, lineno).strip())
                (provides if tag == "provides" else build_requires).extend(deps)
                continue
            if section != "preamble":
                if tag in ("version", "epoch") and current_sub is not None:
                    value = _expand_field(st, raw, lineno, f"{current_sub} {tag.capitalize()}")
                    sub_tags.setdefault(current_sub, {})[tag] = value
                continue
            if tag in ("name", "version", "release", "epoch", "url"):
                value = _expand_field(st, raw, lineno, tag.capitalize())
                setattr(st, tag, value)
                ctx.define(tag, value)
                continue
            if tag in ("summary", "license", "group", "vendor", "distribution"):
                ctx.define(tag, raw)
        elif section == "patchlist" and s.strip() and not s.startswith("#"):
            value = _expand_field(st, s, lineno, "%patchlist")
            patches.append((value, auto_patch, lineno))
            auto_patch += 1

    for lineno_open in cond.open_lines():
        st.problems.append(Problem(path, "%if without %endif", lineno_open))
    for err in cond.errors:
        st.problems.append(Problem(path, err.message, err.line))
    for w in ctx.take_warnings():
        st.problems.append(Problem(path, w.message, w.line))

    # -- assemble --------------------------------------------------------------------------------
    _second_chance(st)
    missing = [
        label
        for label, value in (("Name", st.name), ("Version", st.version), ("Release", st.release))
        if not value or "%" in value or any(c.isspace() for c in value)
    ]
    if missing:
        detail = ", ".join(
            f"{label}={getattr(st, label.lower())!r}" if getattr(st, label.lower()) else f"no {label}"
            for label in missing
        )
        st.problems.append(Problem(path, f"cannot determine {', '.join(missing)} ({detail})"))
        return SpecResult(None, tuple(st.problems))
    assert st.name is not None and st.version is not None and st.release is not None

    epoch = 0
    if st.epoch:
        try:
            epoch = parse_epoch(st.epoch)
        except InputError as exc:
            st.problems.append(Problem(path, f"Epoch: {exc}; 0 used"))

    if files_unsure or not any_files:
        subpackages = [st.name, *(d for d in declared if d != st.name)]
    else:
        subpackages = [b for b in [st.name, *declared] if b in files_for]
    subpackages = list(dict.fromkeys(subpackages))
    # perl's modules are built with their own Version (perl-Text-Tabs+Wrap 2021.0814 from perl 5.38.2):
    # such a binary's EVR says nothing about its source build's
    own_version = [
        b
        for b in subpackages
        if b in sub_tags
        and (
            sub_tags[b].get("version", st.version) != st.version
            or _epoch_number(sub_tags[b].get("epoch", st.epoch)) != epoch
        )
    ]

    patch_files: list[PatchFile] = []
    for value, number, lineno in patches:
        fname = _patch_filename(value)
        present = fname in siblings
        cves = list(CVE_RE.findall(fname))
        if present and read_sibling is not None:
            body = read_sibling(fname)
            if body:
                cves.extend(patch_header_cves(body))
        if "%" in fname:
            st.problems.append(Problem(path, f"patch file name not resolved: {value}", lineno))
        patch_files.append(PatchFile(fname, number, tuple(dict.fromkeys(cves)), present))

    triage: list[TriageFile] = []
    for fname in sorted(siblings):
        m = _NOPATCH_RE.match(fname)
        if m is None:
            continue
        just = ""
        if read_sibling is not None:
            body = read_sibling(fname)
            if body is None:  # not read (a FIFO, over the size limit...): its reader said why
                continue
            just = body.strip()
        triage.append(TriageFile(m.group(1), just))

    clog = parse_changelog(changelog, path=path, dist=dist)
    st.problems.extend(clog.problems)

    pkg = SourcePackage(
        name=st.name,
        epoch=epoch,
        version=st.version,
        release=st.release,
        subpackages=tuple(subpackages),
        own_version=tuple(own_version),
        patches=tuple(patch_files),
        triage=tuple(triage),
        changelog=clog.entries,
        url=st.url or None,
        source0=st.source0,
        spec_path=path,
        build_requires=tuple(dict.fromkeys(build_requires)),
        provides=tuple(dict.fromkeys(provides)),
    )
    return SpecResult(pkg, tuple(st.problems))


def _epoch_number(text: str | None) -> int | None:
    """An Epoch tag's value as a number (no tag: 0); None when it is not one."""
    if not text:
        return 0
    return int(text) if text.isascii() and text.isdigit() else None


def _second_chance(st: _State) -> None:
    """A header tag that names a macro defined further down (``Name: python-%{pypi_name}`` before
    ``%global pypi_name wheel``): rpm itself would reject the spec; we expand the value again with the
    final macro table, best effort, and say so."""
    for tag in ("name", "version", "release", "epoch"):
        value = getattr(st, tag)
        if not value or "%" not in value:
            continue
        st.ctx.line = None
        try:
            again = st.ctx.expand(value, warn=False).strip()
        except SpecParseError:
            continue
        if again != value and "%" not in again:
            st.problems.append(
                Problem(
                    st.path, f"{tag.capitalize()} uses a macro defined after it; expanded late to {again!r}"
                )
            )
            setattr(st, tag, again)


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


def _first_word(s: str) -> str:
    """The directive of a line starting with '%': ``%files -n x`` -> ``files``."""
    k = 1
    n = len(s)
    while k < n and (s[k].isalnum() or s[k] == "_"):
        k += 1
    return s[1:k]


def read_spec(folder: Folder, name: str) -> str:
    """A spec's text, read as every spec of a tree is (regular file inside the tree, at most
    :data:`~cvewatch.limits.MAX_TREE_FILE_BYTES`); undecodable bytes replaced (specs are mostly UTF-8, some
    Latin-1). Raises SpecParseError for what is no spec at all: unreadable, binary (NUL bytes), empty."""
    where = str(folder.path / name)
    try:
        data = folder.read(name, max_bytes=MAX_TREE_FILE_BYTES)
    except InputError as exc:
        raise SpecParseError(problem_of(exc).message, where) from None
    if b"\x00" in data:
        raise SpecParseError("a binary file (NUL bytes), not a spec", where)
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise SpecParseError("an empty file, not a spec", where)
    return text


def _sibling_reader(folder: Folder, problems: list[Problem]) -> ReadSibling:
    """Reads a patch's head (its header is all that is needed) or a whole ``.nopatch`` file; a file that
    cannot be read is None and a Problem."""

    def read(name: str) -> str | None:
        if name not in folder.files:
            return None
        nopatch = name.endswith(".nopatch")
        try:
            data = folder.read(
                name, max_bytes=MAX_NOPATCH_BYTES if nopatch else PATCH_HEAD_BYTES, head=not nopatch
            )
        except InputError as exc:
            problems.append(problem_of(exc))
            return None
        return data.decode("utf-8", errors="replace")

    return read


def parse_spec(
    path: Path,
    *,
    dist: str = ".azl3",
    arch: str = "x86_64",
    folder: Folder | None = None,
    defines: Mapping[str, str] | None = None,
) -> SpecResult:
    """Read a spec and the files beside it, then :func:`parse_spec_text`.

    ``folder`` is the spec's folder as its tree listed it (:mod:`cvewatch.inventory.treefiles`: only regular
    files inside the tree are seen and read); without it the spec's own folder is listed as a tree of its
    own, and what that listing left out is reported with the spec's problems.
    """
    own: tuple[Problem, ...] = ()
    if folder is None:
        folder = SpecTree(path.parent).folder(path.parent)
        own = folder.problems
    try:
        text = read_spec(folder, path.name)
    except SpecParseError as exc:
        return SpecResult(None, (*own, problem_of(exc)))
    problems: list[Problem] = []
    result = parse_spec_text(
        text,
        path=str(path),
        dist=dist,
        arch=arch,
        sibling_files=folder.names,
        read_sibling=_sibling_reader(folder, problems),
        defines=defines,
    )
    if not own and not problems:
        return result
    return SpecResult(result.package, (*own, *result.problems, *problems))


__all__ = [
    "SpecResult",
    "cve_ids",
    "parse_spec",
    "parse_spec_text",
    "patch_header_cves",
    "read_spec",
    "rpm_refuses",
    "split_dependencies",
]
