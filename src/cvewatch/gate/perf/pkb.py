"""PerfKitBenchmarker samples as its NewlineDelimitedJSONPublisher writes them (one JSON object a line).

A line holds ``test`` (the benchmark), ``metric``, ``value``, ``unit``, ``labels`` (metadata collapsed to
``|key:value|,|key:value|``; or ``metadata`` as an object when collapsing is off), ``run_uri``,
``sample_uri``, ``timestamp``, ``official``, ``owner``, ``product_name``. PKB writes no direction or family,
so they are derived: the family from the benchmark (``test``), the direction from the unit (times are
lower-is-better, rates and counts per second higher). A unit or benchmark the table does not know is an
error that says to use the generic format. PKB's fio writes IOPS with an empty unit (read as ``IOPS``);
other samples with an empty unit and the value 0 are PKB's informational records (``lscpu``,
``proccpu``): they carry no measurement and are skipped.
"""

from __future__ import annotations

import re
from typing import Any

from cvewatch.errors import InputError
from cvewatch.gate.model import Direction, Family, Measurement
from cvewatch.gate.perf.interface import PerfParser, member, number, register
from cvewatch.gate.perf.jsonlines import json_lines

_FAMILIES = (
    (re.compile(r"fio|iozone|bonnie|blazemark_disk|diskspd"), Family.STORAGE),
    (re.compile(r"iperf|netperf|ping|nttcp|ntttcp"), Family.NETWORK),
    (re.compile(r"stream|memtier|multichase|mlc|sysbench_memory"), Family.MEMORY),
    (re.compile(r"cluster|boot|kubernetes|k8s|provision"), Family.CLUSTER),
    (re.compile(r"sysbench|coremark|stress|unixbench|lmbench|specint|speccpu|scimark|cpu"), Family.CPU),
)
_LOWER = re.compile(r"^(ns|us|usec|microseconds|ms|msec|milliseconds|s|sec|seconds|minutes|hours)$", re.I)
_HIGHER = re.compile(r"/s(ec)?$|per ?sec|^iops$|^ops$|^bogo|^score$|^trans", re.I)


def _labels(obj: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    if isinstance(obj.get("metadata"), dict):
        return tuple(sorted((str(k), str(v)) for k, v in obj["metadata"].items()))
    text = obj.get("labels", "")
    pairs = re.findall(r"\|([^:|]+):([^|]*)\|", text) if isinstance(text, str) else []
    return tuple(sorted(pairs))


def _family(test: str, where: str, source: str) -> Family:
    for pattern, family in _FAMILIES:
        if pattern.search(test.lower()):
            return family
    raise InputError(f"{where}: no family known for benchmark {test!r}; use the generic format", source)


def _direction(unit: str, where: str, source: str) -> Direction:
    if _LOWER.match(unit.strip()):
        return Direction.LOWER
    if _HIGHER.search(unit.strip()):
        return Direction.HIGHER
    raise InputError(f"{where}: no direction known for unit {unit!r}; use the generic format", source)


@register
class PkbParser(PerfParser):
    """PerfKitBenchmarker JSON-lines samples."""

    name = "pkb"

    def sniff(self, text: str) -> bool:
        first = text.lstrip().split("\n", 1)[0]
        return first.startswith("{") and '"metric"' in first and ('"run_uri"' in first or '"test"' in first)

    def parse(self, text: str, source: str) -> list[Measurement]:
        out = []
        for lineno, obj in json_lines(text, source, "PerfKitBenchmarker sample"):
            where = f"line {lineno}"
            unit = str(member(obj, "unit", where, source))
            test = str(member(obj, "test", where, source))
            metric = str(member(obj, "metric", where, source))
            value = number(member(obj, "value", where, source), f"{where} value", source)
            if not unit.strip() and metric.lower().endswith("iops"):
                unit = "IOPS"
            elif not unit.strip() and value == 0:
                continue
            family, direction = _family(test, where, source), _direction(unit, where, source)
            out.append(
                Measurement(f"pkb.{test}.{metric}", value, unit, direction, family, source, _labels(obj))
            )
        return out
