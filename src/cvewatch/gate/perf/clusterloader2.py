"""clusterloader2 PerfData JSON (``{"version": ..., "dataItems": [{"data", "unit", "labels"}]}``).

Each data item gives one metric per key of its ``data`` (``Perc50``, ``Perc90``, ``Perc99``, ...), named
after its labels (``Metric`` first, then the others sorted). Latencies and durations are lower-is-better;
an item whose unit is a rate (``1/s``, ``pods/s``) is higher-is-better. Family cluster.
"""

from __future__ import annotations

from typing import Any

from cvewatch.errors import InputError
from cvewatch.gate.model import Direction, Family, Measurement
from cvewatch.gate.perf.interface import PerfParser, load_json, member, number, register


def _item_name(labels: Any, index: int, source: str) -> str:
    if not isinstance(labels, dict):
        raise InputError(f"clusterloader2 dataItems[{index}].labels is not an object", source)
    head = [str(labels["Metric"])] if "Metric" in labels else []
    rest = [f"{k}={v}" for k, v in sorted(labels.items()) if k != "Metric"]
    return ".".join(head + rest) or f"item{index}"


def _item(item: Any, index: int, source: str) -> list[Measurement]:
    what = f"clusterloader2 dataItems[{index}]"
    data = member(item, "data", what, source)
    unit = str(member(item, "unit", what, source))
    if not isinstance(data, dict) or not data:
        raise InputError(f"{what}.data is empty", source)
    base = _item_name(item.get("labels", {}), index, source)
    direction = Direction.HIGHER if "/s" in unit else Direction.LOWER
    return [
        Measurement(
            f"clusterloader2.{base}.{key}",
            number(value, f"{what}.data.{key}", source),
            unit,
            direction,
            Family.CLUSTER,
            source,
        )
        for key, value in sorted(data.items())
    ]


@register
class ClusterLoader2Parser(PerfParser):
    """clusterloader2 PerfData."""

    name = "clusterloader2"

    def sniff(self, text: str) -> bool:
        return '"dataItems"' in text[:4096]

    def parse(self, text: str, source: str) -> list[Measurement]:
        doc = load_json(text, source, "clusterloader2 PerfData")
        member(doc, "version", "clusterloader2 PerfData", source)
        items = member(doc, "dataItems", "clusterloader2 PerfData", source)
        if not isinstance(items, list) or not items:
            raise InputError("clusterloader2 PerfData has no dataItems", source)
        return [m for i, item in enumerate(items) for m in _item(item, i, source)]
