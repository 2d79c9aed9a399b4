"""Value types shared by the gate's parsers, statistics and verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from cvewatch.errors import InputError


class Family(StrEnum):
    """A metric's family; it sets the margin of tolerated regression."""

    CPU = "cpu"
    NETWORK = "network"
    STORAGE = "storage"
    MEMORY = "memory"
    CLUSTER = "cluster"


class Direction(StrEnum):
    """Which way is better for a metric."""

    HIGHER = "higher"
    LOWER = "lower"


#: Default margins per family (docs/gate-statistics.md, table at the top).
MARGINS: dict[Family, float] = {
    Family.CPU: 0.05,
    Family.NETWORK: 0.05,
    Family.STORAGE: 0.05,
    Family.MEMORY: 0.05,
    Family.CLUSTER: 0.10,
}


@dataclass(frozen=True)
class Measurement:
    """One value of one metric, as one tool's output reported it."""

    name: str
    value: float
    unit: str
    direction: Direction
    family: Family
    source: str
    labels: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise InputError(f"metric {self.name!r} has a non-finite value {self.value!r}", self.source)


@dataclass(frozen=True)
class MetricSamples:
    """All samples of one metric on one side (baseline or candidate) of a gate run."""

    name: str
    unit: str
    direction: Direction
    family: Family
    values: tuple[float, ...]


def parse_family(text: str, where: str) -> Family:
    """A family name from a label or a file, or an :class:`InputError` that lists the valid ones."""
    try:
        return Family(text.strip().lower())
    except ValueError:
        valid = ", ".join(f.value for f in Family)
        raise InputError(f"unknown metric family {text!r} (one of: {valid})", where) from None


def parse_direction(text: str, where: str) -> Direction:
    """``higher``/``lower`` (also ``higher_is_better``, ``lower_is_better``) or an :class:`InputError`."""
    key = text.strip().lower().removesuffix("_is_better")
    try:
        return Direction(key)
    except ValueError:
        raise InputError(f"unknown metric direction {text!r} (higher or lower)", where) from None


def group_samples(measurements: list[Measurement] | tuple[Measurement, ...]) -> dict[str, MetricSamples]:
    """Collect measurements by metric name (labels are not part of a metric's identity).

    The same name with a different unit, direction or family is an :class:`InputError`: the files mix
    two different metrics under one name.
    """
    values: dict[str, list[float]] = {}
    first: dict[str, Measurement] = {}
    for m in measurements:
        seen = first.setdefault(m.name, m)
        if (seen.unit, seen.direction, seen.family) != (m.unit, m.direction, m.family):
            raise InputError(
                f"metric {m.name!r} is {m.unit}/{m.direction}/{m.family} here but "
                f"{seen.unit}/{seen.direction}/{seen.family} in {seen.source}",
                m.source,
            )
        values.setdefault(m.name, []).append(m.value)
    return {
        name: MetricSamples(name, m.unit, m.direction, m.family, tuple(values[name]))
        for name, m in sorted(first.items())
    }
