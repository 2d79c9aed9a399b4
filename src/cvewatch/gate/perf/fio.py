"""fio ``--output-format=json`` (fio 2.x and 3.x), also ``json+normal`` where text surrounds the JSON.

Per job and direction (read, write, trim) that did I/O: ``iops`` and ``bw`` (KiB/s, higher is better),
completion latency mean and 50th/99th percentiles in µs (lower is better). fio 2.x reports ``clat`` in µs,
fio 3.x ``clat_ns`` in ns. A direction without I/O gives no metric; a job with a non-zero ``error`` is an
error, not a measurement.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cvewatch.errors import InputError
from cvewatch.gate.model import Direction, Family, Measurement
from cvewatch.gate.perf.interface import PerfParser, load_json, member, number, register

_JSON_START = re.compile(r"^\{\s*$", re.MULTILINE)
_PERCENTILES = {"50.000000": "clat_p50_us", "99.000000": "clat_p99_us"}


def _document(text: str, source: str) -> Any:
    """The JSON document of a fio output; with ``json+normal`` it starts at the first line that is ``{``."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return load_json(stripped, source, "fio")
    start = _JSON_START.search(text)
    if start is None:
        raise InputError("fio output without a JSON document", source)
    try:
        doc, _ = json.JSONDecoder().raw_decode(text, start.start())
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed or truncated fio JSON: {exc.msg} (line {exc.lineno})", source) from None
    return doc


def _latency(section: dict[str, Any], what: str, source: str) -> dict[str, float]:
    """Completion-latency figures in µs from a direction's ``clat_ns`` (3.x) or ``clat`` (2.x)."""
    if "clat_ns" in section:
        clat, scale = section["clat_ns"], 1e-3
    elif "clat" in section:
        clat, scale = section["clat"], 1.0
    else:
        return {}
    out = {"clat_mean_us": number(member(clat, "mean", what, source), f"{what}.mean", source) * scale}
    percentiles = clat.get("percentile", {}) if isinstance(clat, dict) else {}
    for key, name in _PERCENTILES.items():
        if key in percentiles:
            out[name] = number(percentiles[key], f"{what}.percentile", source) * scale
    return out


def _direction(job: str, rw: str, section: Any, source: str) -> list[tuple[str, float, str, Direction]]:
    what = f"job {job!r} {rw}"
    iops = number(member(section, "iops", what, source), f"{what}.iops", source)
    runtime = number(member(section, "runtime", what, source), f"{what}.runtime", source)
    if iops <= 0 or runtime <= 0:
        return []
    rows = [
        (f"fio.{job}.{rw}.iops", iops, "IOPS", Direction.HIGHER),
        (
            f"fio.{job}.{rw}.bw",
            number(member(section, "bw", what, source), what, source),
            "KiB/s",
            Direction.HIGHER,
        ),
    ]
    for name, value in _latency(section, f"{what} clat", source).items():
        rows.append((f"fio.{job}.{rw}.{name}", value, "us", Direction.LOWER))
    return rows


@register
class FioParser(PerfParser):
    """fio JSON output."""

    name = "fio"

    def sniff(self, text: str) -> bool:
        return '"fio version"' in text[:4096] and '"jobs"' in text

    def parse(self, text: str, source: str) -> list[Measurement]:
        doc = _document(text, source)
        jobs = member(doc, "jobs", "fio output", source)
        if not isinstance(jobs, list) or not jobs:
            raise InputError("fio output has no jobs", source)
        version = str(doc.get("fio version", ""))
        out: list[Measurement] = []
        for job in jobs:
            name = str(member(job, "jobname", "fio job", source))
            if job.get("error", 0):
                raise InputError(f"fio job {name!r} ended with error {job['error']}", source)
            for rw in ("read", "write", "trim"):
                if rw in job:
                    for metric, value, unit, direction in _direction(name, rw, job[rw], source):
                        labels = (("fio_version", version), ("job", name))
                        out.append(
                            Measurement(metric, value, unit, direction, Family.STORAGE, source, labels)
                        )
        if not out:
            raise InputError("fio output without any job that did I/O", source)
        return out
