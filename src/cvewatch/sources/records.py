"""Normalized vulnerability records: what every source yields and the store keeps.

Plain frozen values, no I/O. Field names follow NVD CVE API 2.0 in snake_case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from cvewatch.errors import RecordError

CVE_ID_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def validate_cve_id(value: str, where: str | None = None) -> str:
    """Return ``value`` if it is a well-formed CVE id, else raise :class:`RecordError`."""
    if not isinstance(value, str) or not CVE_ID_RE.match(value):
        raise RecordError(f"invalid CVE id {value!r}", where)
    return value


@dataclass(frozen=True, slots=True)
class CvssMetric:
    """One CVSS assessment of a CVE (NVD ``metrics.cvssMetricV*[]``)."""

    version: str  # "2.0", "3.0", "3.1", "4.0"
    vector: str
    base_score: float
    base_severity: str | None  # as the source states it, upper case (v2: from the metric's baseSeverity)
    source: str  # e.g. "nvd@nist.gov" or a CNA's address
    type: str  # "Primary" (NVD) or "Secondary" (CNA)


@dataclass(frozen=True, slots=True)
class CpeMatch:
    """One ``cpeMatch`` criterion of a configuration node."""

    criteria: str
    vulnerable: bool
    version_start_including: str | None = None
    version_start_excluding: str | None = None
    version_end_including: str | None = None
    version_end_excluding: str | None = None
    match_criteria_id: str | None = None

    @property
    def has_range(self) -> bool:
        return any(
            (
                self.version_start_including,
                self.version_start_excluding,
                self.version_end_including,
                self.version_end_excluding,
            )
        )


@dataclass(frozen=True, slots=True)
class ConfigNode:
    operator: str  # "OR" or "AND"
    negate: bool
    cpe_match: tuple[CpeMatch, ...]


@dataclass(frozen=True, slots=True)
class Configuration:
    """A configuration: its nodes are combined with ``operator`` (default OR)."""

    nodes: tuple[ConfigNode, ...]
    operator: str | None = None
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Reference:
    url: str
    source: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Description:
    lang: str
    value: str


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """A CVE as NVD describes it (API 2.0 ``cve`` object), normalized."""

    id: str
    published: datetime
    last_modified: datetime
    status: str  # vulnStatus
    source_identifier: str | None = None
    descriptions: tuple[Description, ...] = ()
    metrics: tuple[CvssMetric, ...] = ()
    weaknesses: tuple[str, ...] = ()  # CWE ids ("CWE-787", "NVD-CWE-noinfo")
    references: tuple[Reference, ...] = ()
    configurations: tuple[Configuration, ...] = ()
    cisa_kev: bool = field(default=False)

    @property
    def description(self) -> str:
        """The English description, or the first one."""
        for d in self.descriptions:
            if d.lang == "en":
                return d.value
        return self.descriptions[0].value if self.descriptions else ""

    @property
    def rejected(self) -> bool:
        return self.status == "Rejected"
