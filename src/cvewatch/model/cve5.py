"""CVE JSON 5 records (the CVE Program's format, CVEProject/cvelistV5) as frozen values: the header, the
CVSS scores and CWE ids of every container, and every container's ``affected[]`` entries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_WHITESPACE = re.compile(r"\s+")


def name_key(name: str | None) -> str:
    """A vendor or product name as matching compares them: lower case, whitespace runs as ``_``
    ("Linux Foundation" -> "linux_foundation"); "" for none."""
    return _WHITESPACE.sub("_", (name or "").strip().lower())


@dataclass(frozen=True, slots=True)
class VersionChange:
    """One ``changes[]`` item of a version range: from ``at`` on, the status is ``status``."""

    at: str
    status: str


@dataclass(frozen=True, slots=True)
class AffectedVersion:
    """One ``versions[]`` item: a single version, or a range from ``version`` up to a ``less_than*`` bound."""

    version: str
    status: str  # affected, unaffected, unknown
    less_than: str | None = None
    less_than_or_equal: str | None = None
    version_type: str | None = None  # semver, git, rpm, custom, python, ...
    changes: tuple[VersionChange, ...] = ()

    @property
    def is_range(self) -> bool:
        return self.less_than is not None or self.less_than_or_equal is not None


@dataclass(frozen=True, slots=True)
class AffectedEntry:
    """One ``affected[]`` item of a container. ``container`` is ``"cna"`` or ``"adp:<shortName>"``."""

    container: str
    vendor: str | None
    product: str | None
    package_name: str | None
    collection_url: str | None
    default_status: str | None
    versions: tuple[AffectedVersion, ...] = ()
    cpes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cve5Metric:
    """A CVSS score of one container. ``source`` is ``"cna"`` or ``"adp:<shortName>"``."""

    source: str
    version: str  # "4.0", "3.1", "3.0", "2.0"
    vector: str
    base_score: float
    base_severity: str | None  # upper case; CVSS v2 metrics have none


@dataclass(frozen=True, slots=True)
class Cve5Record:
    cve_id: str
    state: str  # PUBLISHED or REJECTED
    assigner: str | None  # the CNA's short name (else its org id)
    date_published: datetime | None
    date_updated: datetime | None
    title: str | None
    description: str | None  # English; for a REJECTED record, the rejection reason
    metrics: tuple[Cve5Metric, ...] = ()
    problem_types: tuple[str, ...] = ()  # CWE ids, CNA's first, without repeats
    affected: tuple[AffectedEntry, ...] = ()

    @property
    def rejected(self) -> bool:
        return self.state == "REJECTED"
