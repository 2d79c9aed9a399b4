"""Verdicts and their evidence: what the matcher decides for one (CVE, source package, release/image)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    AFFECTED = "affected"
    FIXED = "fixed"
    NOT_AFFECTED = "not_affected"
    UNDER_INVESTIGATION = "under_investigation"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One step of the reasoning: ``kind`` is a stable key (``cpe-match``, ``version-range``, ``patch``,
    ``nopatch``, ``changelog``, ``cvss``, ...), ``detail`` a sentence a person can check."""

    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class CvssSummary:
    version: str
    score: float
    vector: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "score": self.score, "vector": self.vector, "source": self.source}


@dataclass(frozen=True, slots=True)
class Verdict:
    cve: str
    package: str  # source package name
    release: str
    image: str | None
    version: str  # the EVR scanned, "epoch:version-release"
    status: Status
    fixed_in: str | None
    severity: Severity
    cvss: CvssSummary | None
    evidence: tuple[Evidence, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "cve": self.cve,
            "package": self.package,
            "release": self.release,
            "image": self.image,
            "version": self.version,
            "status": self.status.value,
            "fixed_in": self.fixed_in,
            "severity": self.severity.value,
            "cvss": None if self.cvss is None else self.cvss.to_json(),
            "evidence": [{"kind": e.kind, "detail": e.detail} for e in self.evidence],
        }
