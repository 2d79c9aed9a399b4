"""netperf output with ``-o`` / ``-k`` selected fields, as text or as PerfKitBenchmarker stores it.

Text: a ``MIGRATED <TEST> TEST from ...`` banner, a line of comma-separated field names (possibly wrapped),
then the line of values. PerfKitBenchmarker's JSON keeps a list of ``[banner, field names, values]``
triples. Metrics per test (``tcp_stream``, ``tcp_rr``, ``tcp_crr``, ``udp_stream``, ``udp_rr``): the
throughput (higher is better, in its reported unit) and the 50th/90th/99th percentile latencies (µs, lower
is better) when selected. UDP tests print one value more than they name (netperf's own quirk): extra
trailing values are ignored, fewer values than names is a truncated file. The remote host is a label,
not part of the metric's name.
"""

from __future__ import annotations

import re

from cvewatch.errors import InputError
from cvewatch.gate.model import Direction, Family, Measurement
from cvewatch.gate.perf.interface import PerfParser, load_json, register

_BANNER = re.compile(r"MIGRATED (?P<test>.+?) TEST from .*? to\s+(?P<remote>\S+)")
_LATENCY = {
    "50th Percentile Latency Microseconds": "latency_p50_us",
    "90th Percentile Latency Microseconds": "latency_p90_us",
    "99th Percentile Latency Microseconds": "latency_p99_us",
}


def _test_name(banner: str, source: str) -> tuple[str, str]:
    match = _BANNER.search(banner)
    if not match:
        raise InputError(f"not a netperf test banner: {banner[:60]!r}", source)
    words = match.group("test").upper().replace("CONNECT/REQUEST/RESPONSE", "CRR")
    words = words.replace("REQUEST/RESPONSE", "RR")
    return "_".join(words.lower().split()), match.group("remote")


def _one(banner: str, header: str, values: str, source: str) -> list[Measurement]:
    test, remote = _test_name(banner, source)
    fields = [f.strip() for f in header.split(",")]
    cells = [c.strip() for c in values.split(",")]
    if len(cells) < len(fields):
        raise InputError(f"netperf {test}: {len(fields)} field names but {len(cells)} values", source)
    # netperf's UDP tests print one value more than they name (the MSS, -1): extra values are ignored.
    row = dict(zip(fields, cells[: len(fields)], strict=True))
    if "Throughput" not in row:
        raise InputError(f"netperf {test}: no Throughput field", source)
    labels = (("remote", remote),)
    out = [
        _measure(
            f"netperf.{test}.throughput",
            row["Throughput"],
            row.get("Throughput Units", ""),
            Direction.HIGHER,
            source,
            labels,
        )
    ]
    for field, name in _LATENCY.items():
        if field in row:
            out.append(_measure(f"netperf.{test}.{name}", row[field], "us", Direction.LOWER, source, labels))
    return out


def _measure(
    name: str, cell: str, unit: str, direction: Direction, source: str, labels: tuple[tuple[str, str], ...]
) -> Measurement:
    try:
        value = float(cell)
    except ValueError:
        raise InputError(f"{name}: not a number: {cell!r}", source) from None
    return Measurement(name, value, unit, direction, Family.NETWORK, source, labels)


def _text_blocks(text: str, source: str) -> list[tuple[str, str, str]]:
    """(banner, header, values) of each test in a text output; a wrapped header is joined with spaces."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if not line.startswith("MIGRATED"):
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("Throughput"):
            j += 1
        k = j
        while k < len(lines) and not re.match(r"^-?\d", lines[k]):
            k += 1
        if j >= len(lines) or k >= len(lines):
            raise InputError("netperf output is truncated (no field names or values)", source)
        banner = " ".join(s.strip() for s in lines[i:j])
        blocks.append((banner, " ".join(s.strip() for s in lines[j:k]), lines[k]))
    return blocks


@register
class NetperfParser(PerfParser):
    """netperf output (text or PerfKitBenchmarker's JSON list)."""

    name = "netperf"

    def sniff(self, text: str) -> bool:
        return "MIGRATED" in text[:2048] and " TEST from " in text[:2048] and "Throughput" in text

    def parse(self, text: str, source: str) -> list[Measurement]:
        if text.lstrip().startswith("["):
            doc = load_json(text, source, "netperf")
            if not isinstance(doc, list) or not all(isinstance(t, list) and len(t) == 3 for t in doc):
                raise InputError("netperf JSON must be a list of [banner, fields, values]", source)
            blocks = [(str(a), str(b), str(c)) for a, b, c in doc]
        else:
            blocks = _text_blocks(text, source)
        if not blocks:
            raise InputError("no netperf test in this file", source)
        return [m for block in blocks for m in _one(*block, source)]
