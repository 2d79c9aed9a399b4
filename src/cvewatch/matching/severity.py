"""Choosing one CVSS assessment per CVE and the severity it implies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cvewatch.model.records import CvssMetric
from cvewatch.model.verdicts import CvssSummary, Evidence, EvidenceKind, Severity

# NVD's own (Primary) v3.x first, then a CNA's v3.x, then v4.0, then v2.
_PREFERENCE = {
    ("3.1", "Primary"): 0,
    ("3.0", "Primary"): 1,
    ("3.1", "Secondary"): 2,
    ("3.0", "Secondary"): 3,
    ("4.0", "Primary"): 4,
    ("4.0", "Secondary"): 5,
    ("2.0", "Primary"): 6,
    ("2.0", "Secondary"): 7,
}


def best_metric(metrics: Sequence[CvssMetric]) -> CvssMetric | None:
    known = [m for m in metrics if (m.version, m.type) in _PREFERENCE]
    return min(known, key=lambda m: _PREFERENCE[(m.version, m.type)]) if known else None


def severity_of(metric: CvssMetric | None) -> Severity:
    if metric is None:
        return Severity.UNKNOWN
    if metric.base_severity:
        try:
            return Severity(metric.base_severity.lower())
        except ValueError:
            pass
    s = metric.base_score
    if metric.version == "2.0":
        return Severity.HIGH if s >= 7.0 else Severity.MEDIUM if s >= 4.0 else Severity.LOW
    if s == 0:
        return Severity.NONE
    if s >= 9.0:
        return Severity.CRITICAL
    if s >= 7.0:
        return Severity.HIGH
    return Severity.MEDIUM if s >= 4.0 else Severity.LOW


def cvss_summary(metric: CvssMetric | None) -> CvssSummary | None:
    if metric is None:
        return None
    return CvssSummary(metric.version, metric.base_score, metric.vector, metric.source)


def cvss_evidence(metric: CvssMetric | None) -> list[Evidence]:
    """The evidence line naming the CVSS assessment a severity came from (none without one)."""
    if metric is None:
        return []
    return [
        Evidence(
            EvidenceKind.CVSS,
            f"CVSS {metric.version} {metric.base_score} {metric.vector} from {metric.source}",
        )
    ]


@dataclass(frozen=True, slots=True)
class Assessment:
    """The CVSS assessment a CVE's verdicts use: its metric, the severity, the summary and the evidence."""

    metric: CvssMetric | None
    severity: Severity
    cvss: CvssSummary | None
    evidence: tuple[Evidence, ...]


@lru_cache(maxsize=8192)
def assess(metrics: tuple[CvssMetric, ...]) -> Assessment:
    """:func:`best_metric` of ``metrics`` and what follows from it, computed once per CVE of a scan."""
    metric = best_metric(metrics)
    return Assessment(metric, severity_of(metric), cvss_summary(metric), tuple(cvss_evidence(metric)))
