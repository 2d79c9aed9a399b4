"""iperf3 ``-J`` (JSON) output, TCP and UDP.

TCP: the sender's and the receiver's throughput (``end.sum_sent`` / ``end.sum_received``, bit/s, higher is
better) and, when iperf3 reports it, the mean RTT of the sending streams (µs, lower is better). UDP:
throughput, jitter (ms) and lost percentage are in ``end.sum``; throughput and jitter are reported. A
document with an ``error`` member (iperf3 writes one when the test failed) is an error.
"""

from __future__ import annotations

from typing import Any

from cvewatch.errors import InputError
from cvewatch.gate.model import Direction, Family, Measurement
from cvewatch.gate.perf.interface import PerfParser, load_json, member, number, register


def _prefix(start: Any, source: str) -> tuple[str, str]:
    test = member(start, "test_start", "iperf3 start", source)
    protocol = str(member(test, "protocol", "iperf3 test_start", source)).lower()
    reverse = ".reverse" if test.get("reverse") else ""
    return f"iperf3.{protocol}{reverse}", protocol


def _tcp(end: Any, prefix: str, source: str) -> list[tuple[str, float, str, Direction]]:
    rows = []
    for key in ("sum_sent", "sum_received"):
        section = member(end, key, "iperf3 end", source)
        bps = number(member(section, "bits_per_second", key, source), f"{key}.bits_per_second", source)
        rows.append((f"{prefix}.{key}.bits_per_second", bps, "bit/s", Direction.HIGHER))
    rtts = [
        number(s["sender"]["mean_rtt"], "mean_rtt", source)
        for s in end.get("streams", [])
        if isinstance(s, dict) and isinstance(s.get("sender"), dict) and "mean_rtt" in s["sender"]
    ]
    if rtts:
        rows.append((f"{prefix}.mean_rtt", sum(rtts) / len(rtts), "us", Direction.LOWER))
    return rows


def _udp(end: Any, prefix: str, source: str) -> list[tuple[str, float, str, Direction]]:
    section = member(end, "sum", "iperf3 end", source)
    return [
        (
            f"{prefix}.bits_per_second",
            number(member(section, "bits_per_second", "sum", source), "bps", source),
            "bit/s",
            Direction.HIGHER,
        ),
        (
            f"{prefix}.jitter_ms",
            number(member(section, "jitter_ms", "sum", source), "jitter", source),
            "ms",
            Direction.LOWER,
        ),
    ]


@register
class Iperf3Parser(PerfParser):
    """iperf3 JSON output."""

    name = "iperf3"

    def sniff(self, text: str) -> bool:
        head = text[:4096]
        return '"start"' in head and ('"iperf 3' in text or '"iperf3' in text) and '"intervals"' in text

    def parse(self, text: str, source: str) -> list[Measurement]:
        doc = load_json(text, source, "iperf3")
        if isinstance(doc, dict) and doc.get("error"):
            raise InputError(f"iperf3 reported an error: {doc['error']}", source)
        prefix, protocol = _prefix(member(doc, "start", "iperf3 output", source), source)
        end = member(doc, "end", "iperf3 output", source)
        if not end:
            raise InputError("iperf3 output has an empty 'end' section (the test did not finish)", source)
        rows = _udp(end, prefix, source) if protocol == "udp" else _tcp(end, prefix, source)
        version = str(doc["start"].get("version", ""))
        labels = (("iperf_version", version), ("protocol", protocol))
        return [Measurement(n, v, u, d, Family.NETWORK, source, labels) for n, v, u, d in rows]
