"""Normalized vulnerability records: what every source yields and the store keeps.

Plain frozen values, no I/O. Field names follow NVD CVE API 2.0 in snake_case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from cvewatch.errors import RecordError
from cvewatch.versions.cpe import match_fields

#: The longest CVE id the store keeps (its ``String(32)`` id columns): ``CVE-YYYY-`` and at most 23 digits.
CVE_ID_MAX_LENGTH = 32
#: A CVE id: ``CVE-``, a four-digit year, ``-`` and at least four digits; ASCII digits only (``\d`` would
#: take other scripts' digits too) and nothing after them (``$`` would let a trailing newline through).
CVE_ID_RE = re.compile(rf"^CVE-[0-9]{{4}}-[0-9]{{4,{CVE_ID_MAX_LENGTH - 9}}}\Z")

# The longest value the store keeps in each bounded column of a record (``store/models.py``; a test checks
# that they agree). On PostgreSQL a longer value, or any text with a NUL character, fails the whole write
# (``DataError``), so a record holding one is rejected on its own when it is read (:func:`storage_problem`).
MAX_SOURCE = 200  # sourceIdentifier, a metric's and a reference's source
MAX_STATUS = 40  # vulnStatus
MAX_CVSS_VERSION = 8
MAX_VECTOR = 300
MAX_SEVERITY = 16
MAX_METRIC_TYPE = 16
MAX_CWE = 40
MAX_CPE_PART = 200  # the vendor and the product of a criterion
MAX_VERSION_BOUND = 100
MAX_MATCH_CRITERIA_ID = 64


def validate_cve_id(value: str, where: str | None = None) -> str:
    """Return ``value`` if it is a well-formed CVE id, else raise :class:`RecordError`."""
    if not isinstance(value, str) or not CVE_ID_RE.match(value):
        raise RecordError(f"invalid CVE id {value!r}", where)
    return value


def vendor_product(criteria: str) -> tuple[str, str]:
    """The (vendor, product) of a CPE 2.3 formatted string, unescaped and lower case, as the matcher reads
    them (:func:`cvewatch.versions.cpe.match_fields`): the store's columns select a scan's candidate CVEs
    by them. ``("", "")`` when there are none.

    Without a backslash a split is enough and cheaper (an import stores every criterion): of a name the
    matcher accepts, it gives the same values; of one it rejects, a value that names nothing it matches."""
    if "\\" not in criteria:
        parts = criteria.split(":", 5)
        if len(parts) < 5:
            return ("", "")
        return (parts[3].lower(), parts[4].lower())
    fields = match_fields(criteria)
    return ("", "") if fields is None else (fields[3], fields[4])


def text_problem(value: str | None, name: str, limit: int = 0) -> str | None:
    """Why the store cannot keep the text ``value`` of field ``name``: it holds a NUL character, or it is
    longer than ``limit`` (0: no limit); ``None`` if it can."""
    if value is None:
        return None
    if "\x00" in value:
        return f"{name} contains a NUL character"
    if limit and len(value) > limit:
        return f"{name} is {len(value)} characters long, more than the {limit} the store keeps"
    return None


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


def storage_problem(v: Vulnerability) -> str | None:
    """Why the store cannot keep record ``v`` as it is (a NUL character in any text, a value longer than
    its column), naming the field; ``None`` if it can. The id is checked by :data:`CVE_ID_RE`."""
    problem = text_problem(v.source_identifier, "sourceIdentifier", MAX_SOURCE) or text_problem(
        v.status, "vulnStatus", MAX_STATUS
    )
    if problem:
        return problem
    for i, d in enumerate(v.descriptions):
        problem = text_problem(d.lang, "lang") or text_problem(d.value, "value")
        if problem:
            return f"descriptions[{i}]: {problem}"
    for m in v.metrics:
        problem = (
            text_problem(m.version, "version", MAX_CVSS_VERSION)
            or text_problem(m.vector, "vectorString", MAX_VECTOR)
            or text_problem(m.base_severity, "baseSeverity", MAX_SEVERITY)
            or text_problem(m.source, "source", MAX_SOURCE)
            or text_problem(m.type, "type", MAX_METRIC_TYPE)
        )
        if problem:
            return f"the CVSS {m.version[:8]!r} metric of {m.source[:60]!r}: {problem}"
    for cwe in v.weaknesses:
        problem = text_problem(cwe, "a weakness", MAX_CWE)
        if problem:
            return problem
    for i, r in enumerate(v.references):
        problem = text_problem(r.url, "url") or text_problem(r.source, "source", MAX_SOURCE)
        for tag in r.tags:
            problem = problem or text_problem(tag, "a tag")
        if problem:
            return f"references[{i}]: {problem}"
    for ci, conf in enumerate(v.configurations):
        for ni, node in enumerate(conf.nodes):
            for mi, cm in enumerate(node.cpe_match):
                problem = _cpe_match_problem(cm)
                if problem:
                    return f"configurations[{ci}].nodes[{ni}].cpeMatch[{mi}]: {problem}"
    return None


def _cpe_match_problem(cm: CpeMatch) -> str | None:
    problem = (
        text_problem(cm.criteria, "criteria")
        or text_problem(cm.version_start_including, "versionStartIncluding", MAX_VERSION_BOUND)
        or text_problem(cm.version_start_excluding, "versionStartExcluding", MAX_VERSION_BOUND)
        or text_problem(cm.version_end_including, "versionEndIncluding", MAX_VERSION_BOUND)
        or text_problem(cm.version_end_excluding, "versionEndExcluding", MAX_VERSION_BOUND)
        or text_problem(cm.match_criteria_id, "matchCriteriaId", MAX_MATCH_CRITERIA_ID)
    )
    # the store keeps the criterion's vendor and product (lower case) in bounded columns; lower() at most
    # doubles a text's length, so a criterion of at most MAX_CPE_PART / 2 characters always fits
    if problem is None and len(cm.criteria) > MAX_CPE_PART // 2:
        vendor, product = vendor_product(cm.criteria)
        problem = text_problem(vendor, "the criteria's vendor", MAX_CPE_PART) or text_problem(
            product, "the criteria's product", MAX_CPE_PART
        )
    return problem


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """A record or a file that a source could not turn into a :class:`Vulnerability`.

    ``origin`` names where the data came from (a file path, a URL); ``record_id`` is the CVE id when one could
    be read (it may be malformed: it is reported as found), else ``None``.
    """

    origin: str
    record_id: str | None
    message: str

    def __str__(self) -> str:
        if self.record_id is None:
            return f"{self.origin}: {self.message}"
        return f"{self.origin} [{self.record_id}]: {self.message}"
