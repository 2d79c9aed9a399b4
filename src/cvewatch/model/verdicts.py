"""Verdicts and their evidence: what the matcher decides for one (CVE, source package, release/image)."""

from __future__ import annotations

from collections.abc import Mapping
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


class EvidenceKind(StrEnum):
    """What a piece of evidence is about: the one list of the kinds the matcher emits.

    The value is the contract between the stages: it is stored with the verdict (and hashed into its digest,
    so renaming a value rewrites every stored verdict at the next scan), shown in ``--json`` output and
    mapped by every publisher (tests check each table is total over this enum). A kind nothing emits does
    not belong here. Meanings: :data:`EVIDENCE_KIND_MEANING` (docs/matching.md shows them).
    """

    # what decided: the distribution's records and a person's triage (docs/matching.md, section 2)
    TRIAGE = "triage"
    JUSTIFICATION = "justification"
    NOPATCH = "nopatch"
    PATCH = "patch"
    CHANGELOG = "changelog"
    INSTALLED = "installed"
    # what the package carries (section 6)
    COMPONENT = "component"
    TOOLCHAIN = "toolchain"
    PROTOCOL = "protocol"
    # what the vulnerability records say (sections 3, 3a)
    NVD_BACKLOG = "nvd-backlog"
    CPE_MATCH = "cpe-match"
    CNA_MATCH = "cna-match"
    CONDITION = "condition"
    VERSION_AFFECTED = "version-affected"
    VERSION_NOT_AFFECTED = "version-not-affected"
    VERSION_UNKNOWN = "version-unknown"
    # the severity's source (section 5)
    CVSS = "cvss"


#: what an evidence item of each kind says (docs/matching.md shows this table; a test keeps the two equal)
EVIDENCE_KIND_MEANING: Mapping[EvidenceKind, str] = {
    EvidenceKind.TRIAGE: (
        "a person's triage record (`cvewatch triage set`) decided: author, date, status, why"
    ),
    EvidenceKind.JUSTIFICATION: (
        "the triage record's CSAF/OpenVEX justification label (the detail is the label)"
    ),
    EvidenceKind.NOPATCH: (
        "a `CVE-….nopatch` file of the package: not affected, for the reason the file gives"
    ),
    EvidenceKind.PATCH: "a patch of the spec (`PatchN:`) names the CVE: fixed",
    EvidenceKind.CHANGELOG: "the oldest `%changelog` entry citing the CVE: fixed in that entry's EVR",
    EvidenceKind.INSTALLED: "a node image's installed EVR against the fixed EVR (older: still affected)",
    EvidenceKind.COMPONENT: (
        "what the package links or bundles that the CVE names (toolchain, Go module, crate, library): "
        "its version and where that fact comes from"
    ),
    EvidenceKind.TOOLCHAIN: (
        "a statically linked standard library: the toolchain it was built with, the rebuild"
    ),
    EvidenceKind.PROTOCOL: "the CVE names a protocol the package implements (the curated list): needs triage",
    EvidenceKind.NVD_BACKLOG: (
        "NVD has no configuration for the CVE: the CNA's and ADPs' CVE JSON 5 data decides"
    ),
    EvidenceKind.CPE_MATCH: (
        "a vulnerable NVD criterion names the package or component, and through which name"
    ),
    EvidenceKind.CNA_MATCH: "a CVE JSON 5 `affected` entry names the package or component",
    EvidenceKind.CONDITION: 'another node of an AND configuration ("running on/with"): listed, not evaluated',
    EvidenceKind.VERSION_AFFECTED: (
        "the version is inside the criterion's vulnerable range, or is its version"
    ),
    EvidenceKind.VERSION_NOT_AFFECTED: (
        "the version is outside the vulnerable range (past it: the upstream fix is in), not the "
        "criterion's version, or in a range the CNA marks unaffected"
    ),
    EvidenceKind.VERSION_UNKNOWN: (
        "the criterion cannot decide (`*` without a range, `-`, versions that cannot be compared, a "
        "component of unknown version, a protocol-level flaw): needs triage"
    ),
    EvidenceKind.CVSS: "the CVSS assessment the severity comes from: version, score, vector, source",
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One step of the reasoning: ``kind`` says what it is about (:class:`EvidenceKind`), ``detail`` is a
    sentence a person can check."""

    kind: EvidenceKind
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
