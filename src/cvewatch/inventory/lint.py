"""Spec lint: the CVE bookkeeping of a SPECS tree (patch files, ``%changelog``, ``.nopatch`` triage files).

Each finding names a file (relative to the linted root), a line when there is one, a rule, a severity and a
message. The rules, what they check and why, are in ``docs/lint.md``; :data:`RULES` lists them with their
severities. Specs are read with :func:`cvewatch.inventory.specfile.parse_spec_text` (conditionals evaluated
for x86_64, macros expanded), so a Patch line in a false ``%if`` branch is not "applied"; the rules that
would misfire on such lines (unused-patch-file) also look at the raw text.

Reads files; writes nothing. Never raises on a spec's content: everything becomes a finding.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from cvewatch.errors import InputError, SpecParseError
from cvewatch.inventory.changelog import CVE_RE, parse_header
from cvewatch.inventory.specfile import SpecResult, parse_spec_text, patch_header_cves, read_spec, rpm_refuses
from cvewatch.inventory.speclines import SECTIONS
from cvewatch.inventory.tree import kernel_defines
from cvewatch.inventory.treefiles import Folder, SpecTree, problem_of
from cvewatch.limits import LINT_PATCH_BYTES, MAX_NOPATCH_BYTES, MAX_TREE_FILE_BYTES, load_json
from cvewatch.model.packages import PatchFile, Problem, SourcePackage


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)

# rule -> what it finds (one line; docs/lint.md has the why)
RULES: dict[str, str] = {
    "missing-patch-file": "a PatchN line names a file that is not in the spec's folder",
    "cve-patch-mismatch": "a CVE-named patch whose header names other CVEs than its file name",
    "unused-patch-file": "a *.patch file in the folder that no Patch line (nor the spec text) names",
    "patch-without-cve-ref": "a CVE-named patch file whose text never names a CVE id",
    "missing-cve-reference": "a Patch line named for a CVE that %changelog never mentions",
    "invalid-cve-format": "a CVE id that is not CVE-YYYY-NNNN (digit count, case, dash character)",
    "future-dated-cve": "a CVE id whose year is after its changelog entry's date, or after today",
    "duplicate-cve-patch": "the same patch file applied twice, or several patch files for one CVE",
    "missing-changelog-entry": "the spec's current [epoch:]version-release has no %changelog entry",
    "invalid-changelog-format": "a %changelog header that rpm rejects or that departs from the house format",
    "missing-cve-in-changelog": "a patch whose header declares a CVE fix that no %changelog entry names",
    "empty-nopatch-justification": "an empty CVE-*.nopatch triage file",
    "unreadable-spec": "a spec that `inventory load-specs` rejects or that rpm refuses to parse",
    "skipped-file": "a file that is not read: a symlink out of the tree, a FIFO, a device, too large",
}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str  # relative to the linted root, with "/" separators
    line: int | None
    rule: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        loc = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{loc}: {self.severity.value} [{self.rule}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class LintResult:
    root: str
    specs: int
    findings: tuple[Finding, ...]
    problems: tuple[Problem, ...]  # what the spec parser could not read (not findings)

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    def counts(self) -> dict[tuple[str, Severity], int]:
        return dict(Counter((f.rule, f.severity) for f in self.findings))


# -- CVE ids ---------------------------------------------------------------------------------------------

_DASHES = "-‐‑‒–—―−_"  # hyphen-minus, the Unicode hyphens and dashes, minus sign, underscore
# anything that looks like a CVE id: "cve", an optional dash-like separator, digits, a separator, digits
# (any decimal digits, "٢٠٢٤" too: an id written with them is not found by tools that match CVE-YYYY-NNNN)
_CVE_LIKE_RE = re.compile(rf"(?<![A-Za-z0-9])(cve)([{_DASHES}]?)(\d+)(?:([{_DASHES}])(\d+))?", re.IGNORECASE)
_STRICT_CVE_RE = re.compile(r"^CVE-([0-9]{4})-([0-9]{4,7})$")
_FIRST_CVE_YEAR = 1999


def malformed_cve_ids(text: str) -> list[tuple[str, str]]:
    """(token, why) for each CVE-like token in ``text`` that is not a well-formed ``CVE-YYYY-NNNN``."""
    out: list[tuple[str, str]] = []
    if "cve" not in text.lower():
        return out
    for m in _CVE_LIKE_RE.finditer(text):
        word, sep1, year, sep2, number = m.groups()
        token = m.group(0)
        if number is None:
            # "CVE-2019" alone is a year, not an id; "CVE-12345" is broken
            if sep1 and len(year) >= 2 and len(year) != 4:
                out.append((token, "no year and sequence number"))
            continue
        why: list[str] = []
        if not (year + (number or "")).isascii():
            why.append("digits that are not ASCII 0-9")
        if word != "CVE":
            why.append(f"{word!r} instead of 'CVE'")
        for sep in (sep1, sep2):
            if sep != "-":
                what = "no separator" if not sep else f"{sep!r} (U+{ord(sep):04X}) instead of '-'"
                why.append(what)
        if len(year) != 4:
            why.append(f"year of {len(year)} digits")
        elif int(year) < _FIRST_CVE_YEAR:
            why.append(f"year {year} before 1999")
        if not 4 <= len(number) <= 7:
            why.append(f"sequence number of {len(number)} digits")
        if why:
            out.append((token, ", ".join(dict.fromkeys(why))))
    return out


def _year(cve: str) -> int:
    return int(cve[4:8])


# -- reading a folder ------------------------------------------------------------------------------------

_PATCH_LINE_RE = re.compile(r"^\s*Patch([0-9]*)\s*:\s*(\S+)", re.IGNORECASE)
_NOPATCH_RE = re.compile(r"^(CVE-[0-9]{4}-[0-9]{4,})\.nopatch$")
_PATCH_EXTS = (".patch",)
_STRICT_HEADER_RE = re.compile(
    r"^\* (Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2}) "
    r"([0-9]{4}) "
    r"(\S[^<>]*?) <[^<>\s@]+@[^<>\s]+> - (\S+)$"
)
_DAY_RE = re.compile(r"^\*\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class _Header:
    line: int
    text: str
    when: date | None
    evr: str | None
    cves: tuple[str, ...]  # strict ids in the entry's text


@dataclass(slots=True)
class _Changelog:
    start: int | None  # line of %changelog
    headers: list[_Header]
    text: str  # the whole section
    bad: list[tuple[int, str]]  # "*" lines that are not entry headers


def _changelog(lines: Sequence[str], dist: str) -> _Changelog:
    start: int | None = None
    for k, line in enumerate(lines):
        if line.startswith("%changelog") and line[10:].strip() == "":
            start = k
            break
    if start is None:
        return _Changelog(None, [], "", [])
    body: list[tuple[int, str]] = []
    bad: list[tuple[int, str]] = []
    for k in range(start + 1, len(lines)):
        s = lines[k]
        if s.startswith("%"):
            word = re.match(r"%([A-Za-z_]+)", s)
            if word is not None and word.group(1) == "changelog":
                bad.append((k + 1, s))  # a second %changelog line: rpm reads on, so do we
                continue
            if word is not None and word.group(1) in SECTIONS:
                break
        body.append((k + 1, s))
    headers: list[_Header] = []
    texts: dict[int, list[str]] = defaultdict(list)
    current: int | None = None
    for lineno, s in body:
        if s.startswith("*"):
            parsed = parse_header(s, dist=dist)
            if parsed is None or parsed[0] is None:
                bad.append((lineno, s))
                if current is not None:
                    texts[current].append(s)
                continue
            headers.append(_Header(lineno, s.rstrip(), parsed[0], parsed[2], ()))
            current = lineno
        elif current is not None:
            texts[current].append(s)
    headers = [
        _Header(h.line, h.text, h.when, h.evr, tuple(dict.fromkeys(CVE_RE.findall("\n".join(texts[h.line])))))
        for h in headers
    ]
    return _Changelog(start + 1, headers, "\n".join(s for _, s in body), bad)


def _read(listing: Folder, name: str, problems: list[Problem]) -> str | None:
    """The head of a patch file, the whole of a ``.nopatch``; None and a Problem when it is not read
    (:mod:`cvewatch.inventory.treefiles`)."""
    nopatch = name.endswith(".nopatch")
    try:
        data = listing.read(
            name, max_bytes=MAX_NOPATCH_BYTES if nopatch else LINT_PATCH_BYTES, head=not nopatch
        )
    except InputError as exc:
        problems.append(problem_of(exc))
        return None
    return data.decode("utf-8", errors="replace")


def _signature_names(listing: Folder) -> set[str]:
    """File names listed in the folder's ``*.signatures.json`` (sources fetched by the build, not in git)."""
    names: set[str] = set()
    for sig in (n for n in listing.names if n.endswith(".signatures.json")):
        try:
            doc = load_json(listing.read(sig, max_bytes=MAX_TREE_FILE_BYTES), str(listing.path / sig))
        except InputError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("Signatures"), dict):
            names.update(str(k) for k in doc["Signatures"])
    return names


def _raw_patch_patterns(text: str) -> list[str]:
    """Glob patterns from the raw Patch lines (every %if branch): each macro becomes ``*``."""
    out: list[str] = []
    for line in text.splitlines():
        m = _PATCH_LINE_RE.match(line)
        if m is None:
            continue
        value = m.group(2)
        value = value.rsplit("#/", 1)[1] if "#/" in value else value.rsplit("/", 1)[-1]
        pattern = re.sub(r"%\{[^}]*\}|%[A-Za-z_][A-Za-z0-9_]*", "*", value)
        pattern = pattern.replace("[", "[[]")
        out.append(pattern)
    return out


def _patch_lines(text: str) -> dict[str, list[int]]:
    """Raw PatchN values' numbers -> line numbers, for pointing a finding at its Patch line."""
    by_number: dict[str, list[int]] = defaultdict(list)
    for k, line in enumerate(text.splitlines(), 1):
        m = _PATCH_LINE_RE.match(line)
        if m is not None:
            by_number[m.group(1)].append(k)
    return by_number


def _line_of(patch: PatchFile, by_number: dict[str, list[int]], lines: Sequence[str]) -> int | None:
    for lineno in by_number.get("" if patch.number is None else str(patch.number), []):
        if patch.filename in lines[lineno - 1]:
            return lineno
    numbered = by_number.get("" if patch.number is None else str(patch.number), [])
    if numbered:
        return numbered[0]
    for k, line in enumerate(lines, 1):
        if patch.filename in line:
            return k
    return None


def _name_cves(filename: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(CVE_RE.findall(filename)))


# -- the rules -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Ctx:
    rel: str  # the spec's path relative to the root
    folder_rel: str
    findings: list[Finding]

    def add(
        self, line: int | None, rule: str, severity: Severity, message: str, path: str | None = None
    ) -> None:
        self.findings.append(Finding(path if path is not None else self.rel, line, rule, severity, message))


def _lint_spec(
    listing: Folder,
    name: str,
    rel: str,
    folder_rel: str,
    *,
    today: date,
    dist: str,
    defines: dict[str, str],
    patch_texts: dict[str, str | None],
    fetched: set[str],
    findings: list[Finding],
    problems: list[Problem],
    unread: list[Problem],
) -> tuple[SourcePackage | None, str]:
    """Lint one spec: (its package or None, its text, empty when it could not be read)."""
    ctx = _Ctx(rel, folder_rel, findings)
    try:
        text = read_spec(listing, name)
    except SpecParseError as exc:
        ctx.add(None, "unreadable-spec", Severity.ERROR, f"not a readable spec: {problem_of(exc).message}")
        return None, ""
    lines = text.splitlines()

    def read_sibling(sibling: str) -> str | None:
        if sibling not in patch_texts:
            patch_texts[sibling] = _read(listing, sibling, unread)
        return patch_texts[sibling]

    result = parse_spec_text(
        text, path=rel, dist=dist, sibling_files=listing.names, read_sibling=read_sibling, defines=defines
    )
    problems.extend(result.problems)
    _check_readable(ctx, result)
    clog = _changelog(lines, dist)
    _check_cve_format(ctx, lines)
    _check_changelog(ctx, clog)
    _check_future_dated(ctx, lines, clog, today)
    pkg = result.package
    if pkg is None:
        return None, text
    _check_current_entry(ctx, pkg, clog, dist)
    _check_patches(ctx, pkg, listing, text, lines, clog, patch_texts, fetched)
    return pkg, text


def _check_readable(ctx: _Ctx, result: SpecResult) -> None:
    """unreadable-spec: what the loader rejects (the last problem says why) and what rpm stops on."""
    for p in result.problems:
        if rpm_refuses(p):
            ctx.add(p.line, "unreadable-spec", Severity.ERROR, f"rpm refuses it: {p.message}")
    if result.package is None:
        why = result.problems[-1].message if result.problems else "no package"
        ctx.add(None, "unreadable-spec", Severity.ERROR, f"`inventory load-specs` rejects it: {why}")


def _check_cve_format(ctx: _Ctx, lines: list[str]) -> None:
    """invalid-cve-format: anywhere in the spec text."""
    for lineno, line in enumerate(lines, 1):
        for token, why in malformed_cve_ids(line):
            ctx.add(lineno, "invalid-cve-format", Severity.WARNING, f"{token!r}: {why}")


def _check_future_dated(ctx: _Ctx, lines: list[str], clog: _Changelog, today: date) -> None:
    """future-dated-cve: a changelog entry citing a CVE of a later year than its date; a CVE of a year
    after today before the changelog."""
    for h in clog.headers:
        if h.when is None:
            continue
        later = [c for c in h.cves if _year(c) > h.when.year]
        for cve in later:
            ctx.add(
                h.line,
                "future-dated-cve",
                Severity.WARNING,
                f"{cve} is cited in an entry dated {h.when.isoformat()}, before the CVE's year",
            )
    for lineno, line in enumerate(lines, 1):
        if clog.start is not None and lineno > clog.start:
            break
        for cve in dict.fromkeys(CVE_RE.findall(line)):
            if _year(cve) > today.year:
                ctx.add(
                    lineno, "future-dated-cve", Severity.WARNING, f"{cve} has a year after today ({today})"
                )


def _check_patches(
    ctx: _Ctx,
    pkg: SourcePackage,
    listing: Folder,
    text: str,
    lines: list[str],
    clog: _Changelog,
    patch_texts: dict[str, str | None],
    fetched: set[str],
) -> None:
    """The rules on the PatchN lines: duplicate-cve-patch, missing-patch-file, missing-cve-reference,
    missing-cve-in-changelog."""
    clog_upper = clog.text.upper()
    by_number = _patch_lines(text)
    seen_files: dict[str, int | None] = {}
    files_by_cve: dict[str, list[str]] = defaultdict(list)
    for patch in pkg.patches:
        if "%" in patch.filename:
            continue
        at = _line_of(patch, by_number, lines)
        label = f"Patch{'' if patch.number is None else patch.number}"
        if patch.filename in seen_files:
            first = seen_files[patch.filename]
            ctx.add(
                at,
                "duplicate-cve-patch",
                Severity.ERROR,
                f"{patch.filename} is applied twice ({label}, first at line {first})",
            )
            continue
        seen_files[patch.filename] = at
        present = patch.present or listing.tree.file(listing.path / "SOURCES" / patch.filename) is not None
        if not present and patch.filename not in fetched:
            ctx.add(
                at,
                "missing-patch-file",
                Severity.ERROR,
                f"{label} names {patch.filename}, not in the folder",
            )
        name_cves = _name_cves(patch.filename)
        for cve in name_cves:
            files_by_cve[cve].append(patch.filename)
            if cve not in clog_upper:
                ctx.add(
                    at,
                    "missing-cve-reference",
                    Severity.WARNING,
                    f"{label} {patch.filename} is named for {cve}, which %changelog never mentions",
                )
        body = patch_texts.get(patch.filename) if present else None
        if body:
            declared = [c for c in patch_header_cves(body) if c not in name_cves]
            absent = [c for c in declared if not any(c in h.cves for h in clog.headers)]
            if absent:
                ctx.add(
                    at,
                    "missing-cve-in-changelog",
                    Severity.WARNING,
                    f"{label} {patch.filename} declares {', '.join(absent)} in its header; "
                    "no %changelog entry names it",
                )
    for cve, files in sorted(files_by_cve.items()):
        if len(files) > 1:
            ctx.add(
                seen_files.get(files[1]),
                "duplicate-cve-patch",
                Severity.INFO,
                f"{cve} is fixed by {len(files)} patch files: {', '.join(files)}",
            )


def _check_current_entry(ctx: _Ctx, pkg: SourcePackage, clog: _Changelog, dist: str) -> None:
    release = pkg.release[: -len(dist)] if dist and pkg.release.endswith(dist) else pkg.release
    wanted = {f"{pkg.version}-{release}", f"{pkg.epoch}:{pkg.version}-{release}"}
    label = f"{pkg.epoch}:{pkg.version}-{release}" if pkg.epoch else f"{pkg.version}-{release}"
    if clog.start is None:
        ctx.add(None, "missing-changelog-entry", Severity.ERROR, f"no %changelog section for {label}")
        return
    evrs = [h.evr for h in clog.headers if h.evr]
    if any(e in wanted for e in evrs):
        return
    if "_" in release:
        # out-of-tree kernel modules: Release: N%{release_suffix} with _<kernel version>.<kernel release>;
        # the changelog names N, or N with the kernel of the day
        base = {f"{pkg.version}-{release.split('_', 1)[0]}"}
        if any(e.split("_", 1)[0] in base or e.split(":", 1)[-1].split("_", 1)[0] in base for e in evrs):
            return
    top = f"; the newest entry is {evrs[0]}" if evrs else ""
    ctx.add(
        clog.headers[0].line if clog.headers else clog.start,
        "missing-changelog-entry",
        Severity.ERROR,
        f"no %changelog entry for the current {label}{top}",
    )


def _check_changelog(ctx: _Ctx, clog: _Changelog) -> None:
    rule = "invalid-changelog-format"
    for lineno, s in clog.bad:
        if s.startswith("%changelog"):
            ctx.add(lineno, rule, Severity.WARNING, "a second %changelog line")
            continue
        ctx.add(
            lineno, rule, Severity.ERROR, f"'*' line is not an entry header with a date: {s.strip()[:70]!r}"
        )
    previous: _Header | None = None
    loose: list[int] = []
    for k, h in enumerate(clog.headers):
        assert h.when is not None
        day = _DAY_RE.match(h.text)
        if day is not None and _WEEKDAYS[h.when.weekday()] != day.group(1):
            ctx.add(
                h.line,
                rule,
                Severity.WARNING,
                f"{h.when.isoformat()} is a {_WEEKDAYS[h.when.weekday()]}, not a {day.group(1)}",
            )
        if previous is not None and previous.when is not None and h.when > previous.when:
            ctx.add(
                h.line,
                rule,
                Severity.ERROR,
                f"dated {h.when.isoformat()}, after the entry above it ({previous.when.isoformat()} at "
                f"line {previous.line}): not in descending order",
            )
        if _STRICT_HEADER_RE.match(h.text) is None:
            if k == 0:
                ctx.add(
                    h.line,
                    rule,
                    Severity.WARNING,
                    f"newest entry header is not '* Day Mon DD YYYY Name <email> - EVR': {h.text[:80]!r}",
                )
            else:
                loose.append(h.line)
        previous = h
    if loose:
        ctx.add(
            loose[0],
            rule,
            Severity.INFO,
            f"{len(loose)} older entry header(s) depart from '* Day Mon DD YYYY Name <email> - EVR' "
            f"(first at line {loose[0]})",
        )


def _lint_folder_files(
    ctx: _Ctx,
    listing: Folder,
    spec_texts: Iterable[str],
    applied: set[str],
    patch_texts: dict[str, str | None],
    today: date,
    unread: list[Problem],
) -> None:
    names = listing.names
    texts = list(spec_texts)
    patterns = [p for t in texts for p in _raw_patch_patterns(t)]
    for name in names:
        rel = f"{ctx.folder_rel}/{name}" if ctx.folder_rel else name
        for token, why in malformed_cve_ids(name):
            ctx.add(None, "invalid-cve-format", Severity.WARNING, f"file name {token!r}: {why}", path=rel)
        cves = _name_cves(name)
        for cve in cves:
            if _year(cve) > today.year:
                ctx.add(None, "future-dated-cve", Severity.WARNING, f"{cve} has a year after today", path=rel)
        m = _NOPATCH_RE.match(name)
        if m is not None:
            if name not in patch_texts:
                patch_texts[name] = _read(listing, name, unread)
            body = patch_texts[name]
            if body is not None and not body.strip():
                ctx.add(
                    None,
                    "empty-nopatch-justification",
                    Severity.INFO,
                    f"{m.group(1)} is triaged as not applicable with no justification",
                    path=rel,
                )
            continue
        if not name.endswith(_PATCH_EXTS):
            continue
        if (
            name not in applied
            and not any(fnmatchcase(name, p) for p in patterns)
            and not any(name in t for t in texts)
        ):
            ctx.add(
                None,
                "unused-patch-file",
                Severity.WARNING,
                "no Patch line of the folder's specs names it",
                path=rel,
            )
        if not _looks_cve_named(name):
            continue
        body = patch_texts[name] if name in patch_texts else _read(listing, name, unread)
        patch_texts[name] = body
        if body is None:
            continue
        if not CVE_RE.search(body):
            ctx.add(
                None,
                "patch-without-cve-ref",
                Severity.WARNING,
                "named for a CVE, but its text names no CVE id",
                path=rel,
            )
            continue
        named = cves or _name_cves(_normalise_cve_text(name))
        header = set(patch_header_cves(body))
        if named and header and not header & set(named):
            ctx.add(
                None,
                "cve-patch-mismatch",
                Severity.WARNING,
                f"named for {', '.join(named)}, but its header names {', '.join(sorted(header))}",
                path=rel,
            )


def _normalise_cve_text(text: str) -> str:
    """``cve_2018_20102`` -> ``CVE-2018-20102``: for reading the CVE a badly spelt file name means."""
    return re.sub(rf"[{_DASHES}]", "-", text.upper())


def _looks_cve_named(name: str) -> bool:
    return "cve" in name.lower() and bool(_CVE_LIKE_RE.search(name))


def _rel(path: str, base: Path) -> str:
    try:
        return Path(path).relative_to(base).as_posix()
    except ValueError:
        return path


def lint_folder(
    folder: Path,
    *,
    root: Path | None = None,
    today: date | None = None,
    dist: str = ".azl3",
    defines: dict[str, str] | None = None,
    tree: SpecTree | None = None,
) -> tuple[list[Finding], list[Problem], int]:
    """(findings, parser problems, specs read) for one package folder (all its ``*.spec`` files).

    Files are read as ``inventory load-specs`` reads them (:mod:`cvewatch.inventory.treefiles`, inside
    ``tree``, by default the tree rooted at ``root``); each file it leaves out is a ``skipped-file`` finding.
    """
    today = today or date.today()
    base = root if root is not None else folder.parent
    folder_rel = folder.relative_to(base).as_posix() if folder != base else ""
    findings: list[Finding] = []
    problems: list[Problem] = []
    listing = (tree or SpecTree(base)).folder(folder)
    unread: list[Problem] = list(listing.problems)
    fetched = _signature_names(listing)
    patch_texts: dict[str, str | None] = {}
    applied: set[str] = set()
    spec_texts: list[str] = []
    specs = [n for n in listing.names if n.endswith(".spec")]
    for name in specs:
        rel = f"{folder_rel}/{name}" if folder_rel else name
        pkg, text = _lint_spec(
            listing,
            name,
            rel,
            folder_rel,
            today=today,
            dist=dist,
            defines=defines or {},
            patch_texts=patch_texts,
            fetched=fetched,
            findings=findings,
            problems=problems,
            unread=unread,
        )
        spec_texts.append(text)
        if pkg is not None:
            applied.update(p.filename for p in pkg.patches)
    if specs:
        ctx = _Ctx("", folder_rel, findings)
        _lint_folder_files(ctx, listing, spec_texts, applied, patch_texts, today, unread)
    findings.extend(
        Finding(_rel(p.path, base), None, "skipped-file", Severity.ERROR, p.message) for p in unread
    )
    return findings, problems, len(specs)


def lint_tree(root: Path, *, today: date | None = None, dist: str = ".azl3") -> LintResult:
    """Lint a SPECS tree (``root/<folder>/*.spec``) or one package folder (``root/*.spec``)."""
    today = today or date.today()
    if not root.is_dir():
        return LintResult(str(root), 0, (), (Problem(str(root), "not a folder"),))
    tree = SpecTree(root)
    top = tree.folder(root)
    findings: list[Finding] = []
    problems: list[Problem] = []
    if any(n.endswith(".spec") for n in top.names) or any(p.path.endswith(".spec") for p in top.problems):
        folders = [root]
    else:
        folders = [top.folders[n] for n in sorted(top.folders)]
        findings.extend(
            Finding(_rel(p.path, root), None, "skipped-file", Severity.ERROR, p.message) for p in top.problems
        )
    defines = kernel_defines(root, dist=dist, tree=tree) if folders != [root] else {}
    specs = 0
    for folder in folders:
        f, p, n = lint_folder(folder, root=root, today=today, dist=dist, defines=defines, tree=tree)
        findings.extend(f)
        problems.extend(p)
        specs += n
    findings.sort(key=lambda f: (f.path, f.line or 0, f.rule, f.message))
    return LintResult(str(root), specs, tuple(findings), tuple(problems))
