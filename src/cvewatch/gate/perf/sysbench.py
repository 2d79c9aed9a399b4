"""sysbench 1.x text output: oltp_* (SQL statistics), memory, cpu and fileio tests.

A file may hold several runs one after the other (PerfKitBenchmarker's memory sample prefixes each run's
banner with ``CPU n``); each run is split at its ``sysbench x.y`` banner and its metric names carry that
prefix. Per run: oltp → transactions/s and queries/s (higher), latency avg and the reported percentile (ms,
lower); memory → MiB/s (higher, family memory); cpu → events/s (higher); fileio → reads/s, writes/s (higher).
A run without its ``General statistics`` section is truncated: an error.
"""

from __future__ import annotations

import re

from cvewatch.errors import InputError
from cvewatch.gate.model import Direction, Family, Measurement
from cvewatch.gate.perf.interface import PerfParser, register

_BANNER = re.compile(r"^(?P<prefix>.*?)\s*sysbench (?P<version>\d+\.\d+[\w.\-]*)", re.MULTILINE)
_Row = tuple[str, float, str, Direction, Family]


def _find(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else None


def _oltp(run: str) -> list[_Row]:
    rows: list[_Row] = []
    for key, pattern in (
        ("transactions_per_s", r"^\s*transactions:\s+\d+\s+\(([\d.]+) per sec\.\)"),
        ("queries_per_s", r"^\s*queries:\s+\d+\s+\(([\d.]+) per sec\.\)"),
    ):
        value = _find(pattern, run)
        if value is not None:
            rows.append((key, value, "1/s", Direction.HIGHER, Family.CPU))
    avg = _find(r"^\s*avg:\s+([\d.]+)", run)
    if avg is not None:
        rows.append(("latency_avg_ms", avg, "ms", Direction.LOWER, Family.CPU))
    pct = re.search(r"^\s*(\d+)th percentile:\s+([\d.]+)", run, re.MULTILINE)
    if pct:
        rows.append((f"latency_p{pct.group(1)}_ms", float(pct.group(2)), "ms", Direction.LOWER, Family.CPU))
    return rows


def _memory(run: str) -> list[_Row]:
    value = _find(r"MiB transferred \(([\d.]+) MiB/sec\)", run)
    op = re.search(r"^\s*operation:\s*(\w+)", run, re.MULTILINE)
    block = re.search(r"^\s*block size:\s*(\w+)", run, re.MULTILINE)
    if value is None:
        return []
    name = f"{op.group(1) if op else 'op'}.{block.group(1) if block else 'block'}.mib_per_s"
    return [(name, value, "MiB/s", Direction.HIGHER, Family.MEMORY)]


def _cpu(run: str) -> list[_Row]:
    value = _find(r"^\s*events per second:\s+([\d.]+)", run)
    return [] if value is None else [("events_per_s", value, "1/s", Direction.HIGHER, Family.CPU)]


def _fileio(run: str) -> list[_Row]:
    rows: list[_Row] = []
    for key in ("reads", "writes"):
        value = _find(rf"^\s*{key}/s:\s+([\d.]+)", run)
        if value is not None:
            rows.append((f"{key}_per_s", value, "1/s", Direction.HIGHER, Family.STORAGE))
    return rows


def _kind(run: str) -> str:
    if "SQL statistics:" in run:
        return "oltp"
    if "memory speed test" in run:
        return "memory"
    if "Prime numbers limit" in run or "events per second:" in run:
        return "cpu"
    if "File operations:" in run:
        return "fileio"
    return "unknown"


def _runs(text: str) -> list[tuple[str, str, str]]:
    """``(prefix, version, body)`` for every run in the file."""
    banners = list(_BANNER.finditer(text))
    if not banners:
        return []
    ends = [b.start() for b in banners[1:]] + [len(text)]
    return [
        (b.group("prefix").strip(), b.group("version"), text[b.start() : e])
        for b, e in zip(banners, ends, strict=True)
    ]


@register
class SysbenchParser(PerfParser):
    """sysbench text output."""

    name = "sysbench"

    def sniff(self, text: str) -> bool:
        return _BANNER.search(text[:2048]) is not None and "Threads started!" in text

    def parse(self, text: str, source: str) -> list[Measurement]:
        runs = _runs(text)
        if not runs:
            raise InputError("no sysbench run in this file", source)
        out: list[Measurement] = []
        readers = {"oltp": _oltp, "memory": _memory, "cpu": _cpu, "fileio": _fileio}
        for prefix, version, body in runs:
            where = f"sysbench run {prefix or len(out)}"
            if "General statistics:" not in body:
                raise InputError(f"{where} is truncated (no 'General statistics')", source)
            kind = _kind(body)
            if kind not in readers:
                raise InputError(f"{where}: unknown sysbench test", source)
            rows = readers[kind](body)
            if not rows:
                raise InputError(f"{where}: no {kind} figures found", source)
            tag = "." + re.sub(r"\W+", "", prefix).lower() if prefix else ""
            labels = (("sysbench_version", version), ("test", kind))
            for name, value, unit, direction, family in rows:
                out.append(
                    Measurement(
                        f"sysbench.{kind}{tag}.{name}", value, unit, direction, family, source, labels
                    )
                )
        return out
