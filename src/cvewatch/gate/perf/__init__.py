"""Benchmark-output parsers, one module per tool, behind :mod:`cvewatch.gate.perf.interface`.

Importing this package registers every parser; use :func:`load_file` or :func:`parse_text`.
"""

from cvewatch.gate.perf import (  # noqa: F401  (each module registers its parser)
    clusterloader2,
    fio,
    iperf3,
    jsonlines,
    netperf,
    pkb,
    stressng,
    sysbench,
    systemd_analyze,
)
from cvewatch.gate.perf.interface import PerfParser, detect, formats, load_file, parse_text

__all__ = ["PerfParser", "detect", "formats", "load_file", "parse_text"]
