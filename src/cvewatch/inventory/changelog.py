"""``%changelog`` entries of a spec file. No I/O.

An entry starts with ``* Www Mmm DD YYYY Author <email> - EVR``; the lines up to the next ``*`` header are its
text. The EVR is kept as written, less a trailing ``%{?dist}`` / ``%{dist}`` / expanded dist tag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from cvewatch.model.packages import ChangelogEntry, Problem

CVE_RE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}")  # ASCII digits: "\d" also matches "٢٠٢٤"
# "* Www Mmm DD YYYY", also with full month names, "Www DD Mmm YYYY" and "Www Mmm DD HH:MM:SS TZ YYYY"
_HEADER_RE = re.compile(
    r"^\*\s*(?:[A-Za-z]{3}[a-z]*,?\s+)?"
    r"(?:(?P<mon>[A-Za-z]{3})[a-z]*\.?\s+(?P<day>[0-9]{1,2})"
    r"|(?P<day2>[0-9]{1,2})\s+(?P<mon2>[A-Za-z]{3})[a-z]*)"
    r",?\s+(?:[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?\s+(?:(?:[A-Z]{2,5}|[+-][0-9]{2,4})\s+)?)?"
    r"(?P<year>[0-9]{4})\b\s*(?P<rest>.*)$"
)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_EVR_START = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ%")
_EVR_NODASH_RE = re.compile(r"^(.*>)\s*-?\s*([0-9][^\s<>]*)\s*$")


@dataclass(frozen=True, slots=True)
class ChangelogResult:
    entries: tuple[ChangelogEntry, ...]
    problems: tuple[Problem, ...]


def cve_ids(text: str) -> tuple[str, ...]:
    """CVE ids in order of first appearance, without duplicates."""
    if "CVE-" not in text:
        return ()
    return tuple(dict.fromkeys(CVE_RE.findall(text)))


def _strip_dist(evr: str, dist: str) -> str:
    for suffix in ("%{?dist}", "%{dist}", "%dist", "%{?dist:%{dist}}"):
        if evr.endswith(suffix):
            return evr[: -len(suffix)]
    if dist and evr.endswith(dist):
        return evr[: -len(dist)]
    return evr


def parse_header(line: str, *, dist: str = ".azl3") -> tuple[date | None, str, str | None] | None:
    """(date, author, evr) of a ``* ...`` header line, or None when the line is not one."""
    m = _HEADER_RE.match(line)
    if m is None:
        return None
    mon = m.group("mon") or m.group("mon2")
    day = m.group("day") or m.group("day2")
    year, rest = m.group("year"), m.group("rest")
    when: date | None
    try:
        when = date(int(year), _MONTHS[mon.lower()], int(day))
    except (KeyError, ValueError):
        when = None
    evr: str | None = None
    author = rest.strip()
    head, dash, tail = author.rpartition(" -")
    tail = tail.strip()
    if dash and tail and " " not in tail and tail[0] in _EVR_START and not tail.endswith(">"):
        author, evr = head.strip(), tail
    elif author.endswith(tuple("0123456789")) and ">" in author:
        t = _EVR_NODASH_RE.match(author)
        if t is not None:
            author, evr = t.group(1).strip(), t.group(2)
    if evr is not None:
        evr = _strip_dist(evr, dist)
    return when, author, evr


def parse_changelog(lines: Iterable[tuple[int, str]], *, path: str, dist: str = ".azl3") -> ChangelogResult:
    """Entries from the numbered lines of a ``%changelog`` section (section line excluded)."""
    entries: list[ChangelogEntry] = []
    problems: list[Problem] = []
    header: tuple[date | None, str, str | None] | None = None
    body: list[str] = []

    def flush() -> None:
        if header is not None:
            text = "\n".join(body).strip()
            entries.append(ChangelogEntry(header[0], header[1], header[2], text, cve_ids(text)))

    for lineno, line in lines:
        if line.startswith("*"):
            parsed = parse_header(line, dist=dist)
            if parsed is None:
                problems.append(
                    Problem(path, f"changelog header not understood: {line.strip()[:80]}", lineno)
                )
                if header is not None:
                    body.append(line.rstrip())
                continue
            flush()
            header = parsed
            body = []
            if parsed[0] is None:
                problems.append(Problem(path, f"changelog date not understood: {line.strip()[:80]}", lineno))
        elif header is not None:
            body.append(line.rstrip())
        elif line.strip():
            problems.append(Problem(path, "changelog text before the first entry header", lineno))
    flush()
    return ChangelogResult(tuple(entries), tuple(problems))
