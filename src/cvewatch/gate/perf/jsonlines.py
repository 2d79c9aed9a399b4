"""The generic JSON-lines format: one object per line, ``{"metric", "value", "unit", "labels"}``.

``labels.family`` (cpu, network, storage, memory, cluster) and ``labels.direction`` (higher or lower) are
required: the gate cannot guess them. Other labels are kept. Blank lines are skipped; any other line that
is not such an object is an error naming the file and the line.
"""

from __future__ import annotations

import json
from typing import Any

from cvewatch.errors import InputError
from cvewatch.gate.model import Measurement, parse_direction, parse_family
from cvewatch.gate.perf.interface import PerfParser, member, number, register


def json_lines(text: str, source: str, what: str) -> list[tuple[int, Any]]:
    """``(line number, object)`` for each non-blank line; a malformed line is an :class:`InputError`."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"line {lineno}: malformed or truncated {what} JSON: {exc.msg}", source
            ) from None
        if not isinstance(obj, dict):
            raise InputError(f"line {lineno}: a {what} line must be a JSON object", source)
        out.append((lineno, obj))
    return out


def _measurement(lineno: int, obj: dict[str, Any], source: str) -> Measurement:
    where = f"line {lineno}"
    labels = obj.get("labels", {})
    if not isinstance(labels, dict):
        raise InputError(f"{where}: labels must be an object", source)
    for key in ("family", "direction"):
        if key not in labels:
            raise InputError(f"{where}: labels.{key} is required in the generic format", source)
    where_file = f"{source}:{lineno}"
    return Measurement(
        name=str(member(obj, "metric", where, source)),
        value=number(member(obj, "value", where, source), f"{where} value", source),
        unit=str(obj.get("unit", "")),
        direction=parse_direction(str(labels["direction"]), where_file),
        family=parse_family(str(labels["family"]), where_file),
        source=source,
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items() if k not in ("family", "direction"))),
    )


@register
class JsonLinesParser(PerfParser):
    """Generic metric/value/unit/labels JSON lines."""

    name = "jsonl"

    def sniff(self, text: str) -> bool:
        first = text.lstrip().split("\n", 1)[0]
        return (
            first.startswith("{") and '"metric"' in first and '"labels"' in first and '"run_uri"' not in first
        )

    def parse(self, text: str, source: str) -> list[Measurement]:
        return [_measurement(n, obj, source) for n, obj in json_lines(text, source, "metrics")]
