"""``systemd-analyze`` (``time``) and ``systemd-analyze critical-chain`` output: boot times.

``time``: "Startup finished in 1.5s (kernel) + 2.3s (initrd) + 7.3s (userspace) = 11.2s" gives the total
and every phase (s, lower is better); "graphical.target reached after 7.3s in userspace" gives that target.
``critical-chain``: the first unit line (the default target, "graphical.target @2.741s", or the unit asked
for, "systemd-sysctl.service +103us") gives the time it was up: its "@" time plus its "+" start time.
Family cluster (a node's boot is part of cluster create and upgrade times).
"""

from __future__ import annotations

import re

from cvewatch.errors import InputError
from cvewatch.gate.model import Direction, Family, Measurement
from cvewatch.gate.perf.interface import PerfParser, register

_SPAN = re.compile(r"(?P<n>\d+(?:\.\d+)?)(?P<u>h|min|ms|us|µs|s)(?![a-z])")
_SCALE = {"h": 3600.0, "min": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}
_PHASE = re.compile(r"(?P<span>(?:\d+(?:\.\d+)?(?:h|min|ms|us|µs|s) ?)+) \((?P<phase>\w+)\)")
_CHAIN = re.compile(
    r"^(?P<unit>[\w@\-.\\]+\.[a-z]+)(?: @(?P<at>[\dhminsuµ. ]+?))?(?: \+(?P<took>[\dhminsuµ. ]+?))?\s*$",
    re.MULTILINE,
)


def seconds(span: str, source: str) -> float:
    """A systemd time span ("1min 2.5s", "671ms", "103us") in seconds."""
    parts = _SPAN.findall(span)
    if not parts or _SPAN.sub("", span).strip():
        raise InputError(f"not a systemd time span: {span!r}", source)
    return sum(float(n) * _SCALE[u] for n, u in parts)


def _time(text: str, source: str) -> list[tuple[str, float]]:
    line = next((ln for ln in text.splitlines() if ln.startswith("Startup finished in ")), None)
    if line is None:
        return []
    if "=" not in line:
        raise InputError("truncated 'Startup finished' line (no total)", source)
    phases, total = line.removeprefix("Startup finished in ").rsplit("=", 1)
    rows = [("systemd.boot.total", seconds(total.strip(), source))]
    for match in _PHASE.finditer(phases):
        rows.append((f"systemd.boot.{match.group('phase')}", seconds(match.group("span").strip(), source)))
    reached = re.search(r"^(\S+\.target) reached after (.+?) in userspace", text, re.MULTILINE)
    if reached:
        rows.append((f"systemd.boot.{reached.group(1)}", seconds(reached.group(2), source)))
    return rows


def _chain(text: str, source: str) -> list[tuple[str, float]]:
    match = next((m for m in _CHAIN.finditer(text) if m.group("at") or m.group("took")), None)
    if match is None:
        return []
    at = seconds(match.group("at"), source) if match.group("at") else 0.0
    took = seconds(match.group("took"), source) if match.group("took") else 0.0
    return [(f"systemd.critical_chain.{match.group('unit')}", at + took)]


@register
class SystemdAnalyzeParser(PerfParser):
    """systemd-analyze time / critical-chain output."""

    name = "systemd-analyze"

    def sniff(self, text: str) -> bool:
        return "Startup finished in " in text or "The time when unit became active or started" in text

    def parse(self, text: str, source: str) -> list[Measurement]:
        rows = _time(text, source) or _chain(text, source)
        if not rows:
            raise InputError("systemd-analyze output without a boot time (truncated?)", source)
        return [Measurement(n, v, "s", Direction.LOWER, Family.CLUSTER, source) for n, v in rows]
