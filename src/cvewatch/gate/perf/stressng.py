"""stress-ng ``--metrics-brief`` / ``--metrics`` text output (``info:`` or, since 0.14, ``metrc:`` lines).

Per stressor: bogo ops/s over real time (higher is better). Family memory for the memory stressors, cpu for
the rest. ``fail:`` lines or "unsuccessful run" mean the run failed: an error, not a measurement.
"""

from __future__ import annotations

import re

from cvewatch.errors import InputError
from cvewatch.gate.model import Direction, Family, Measurement
from cvewatch.gate.perf.interface import PerfParser, register

_ROW = re.compile(
    r"^stress-ng: (?:info|metrc): +\[\d+\] +(?P<name>[\w-]+) +(?P<ops>\d+) +(?P<real>[\d.]+) +"
    r"(?P<usr>[\d.]+) +(?P<sys>[\d.]+) +(?P<rate>[\d.]+) +(?P<rate_cpu>[\d.]+)",
    re.MULTILINE,
)
_MEMORY = {"vm", "malloc", "memcpy", "stream", "bigheap", "mmap", "memrate", "memthrash", "brk", "stack"}


@register
class StressNgParser(PerfParser):
    """stress-ng metrics output."""

    name = "stress-ng"

    def sniff(self, text: str) -> bool:
        return text.lstrip().startswith("stress-ng:") and "bogo ops" in text

    def parse(self, text: str, source: str) -> list[Measurement]:
        if re.search(r"^stress-ng: fail:", text, re.MULTILINE) or "unsuccessful run" in text:
            raise InputError("stress-ng reports a failed run", source)
        if "bogo ops/s" not in text:
            raise InputError("stress-ng output without a metrics table (run with --metrics-brief)", source)
        out = []
        for row in _ROW.finditer(text):
            name = row.group("name")
            family = Family.MEMORY if name in _MEMORY else Family.CPU
            value = float(row.group("rate"))
            metric = f"stress-ng.{name}.bogo_ops_per_s"
            out.append(Measurement(metric, value, "bogo ops/s", Direction.HIGHER, family, source))
        if not out:
            raise InputError("stress-ng metrics table has no stressor row (truncated?)", source)
        return out
