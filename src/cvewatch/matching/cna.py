"""CNA data (CVE JSON 5 ``affected``) for CVEs that NVD has not analysed yet.

NVD's analysis backlog leaves many recent CVEs without configurations ("Received", "Awaiting
Analysis", "Undergoing Analysis"). Their CNA (and ADP containers such as CISA's) usually say which
product and versions are affected. The rules (docs/matching.md, "CNA data"):

* an ``affected`` entry names a package when its product (spaces as ``_``, lower case) is one of the
  package's CPE products or CNA product names, or its ``packageName`` is the package or one of its binary
  packages; entries about another distribution's packages (``versionType`` rpm/deb/apk, or a vendor that
  is a distribution) say nothing about ours and are skipped;
* versions: ``version`` + ``lessThan``/``lessThanOrEqual`` is a range (``0`` or ``*`` start: from the
  beginning; ``*`` end: open; ``6.6.*`` end: all of 6.6), a ``changes`` list switches the status inside it;
  a lone ``version`` is exact; free-text ranges such as ``>= 1.7.0, < 1.7.27`` are read too;
  ``versionType: git`` (commit ids) cannot be compared with a package version: unknown;
* a version matched by an ``affected`` entry is vulnerable, by an ``unaffected`` one not vulnerable;
  otherwise the entry's ``defaultStatus`` decides (missing: unknown). An entry without versions whose
  default is affected means every version: unknown, it needs triage.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from cvewatch.matching.mapping import PackageNames
from cvewatch.matching.outcome import CriterionResult, Decision
from cvewatch.model.cve5 import AffectedEntry, AffectedVersion, Cve5Record, name_key
from cvewatch.model.packages import SourcePackage
from cvewatch.model.records import CvssMetric, Description, Vulnerability
from cvewatch.model.verdicts import EvidenceKind
from cvewatch.versions.upstream import compare_upstream

DISTRIBUTION_VENDORS = frozenset(
    {
        "red hat",
        "redhat",
        "suse",
        "opensuse",
        "openanolis",
        "debian",
        "ubuntu",
        "fedora",
        "fedora project",
        "oracle linux",
        "amazon linux",
        "almalinux",
        "rocky linux",
        "gentoo",
        "alpine",
        "mageia",
    }
)
DISTRIBUTION_VERSION_TYPES = frozenset({"rpm", "deb", "apk", "ebuild"})
_OPS = re.compile(r"\s*(<=|>=|<|>|=)?\s*([^\s,<>=]+)\s*")


normalize = name_key  # the store's lookup keys are made the same way (cna_affected.*_key)


def package_aliases(spec: SourcePackage, names: PackageNames, cna_products: Iterable[str] = ()) -> set[str]:
    """Every name an ``affected`` entry may use for ``spec``."""
    out = {spec.name.lower(), *(b.lower() for b in spec.subpackages), *(normalize(p) for p in cna_products)}
    out.update(p for _, p in names.names)
    return out


def describes_another_distribution(entry: AffectedEntry) -> bool:
    if normalize(entry.vendor).replace("_", " ") in DISTRIBUTION_VENDORS:
        return True
    return any((v.version_type or "").lower() in DISTRIBUTION_VERSION_TYPES for v in entry.versions)


def names_package(entry: AffectedEntry, aliases: set[str]) -> str | None:
    """Why ``entry`` names the package (a sentence), or None."""
    if describes_another_distribution(entry):
        return None
    if entry.package_name and entry.package_name.lower() in aliases:
        return f"packageName {entry.package_name!r}"
    product = normalize(entry.product)
    if product and product in aliases:
        return f"product {entry.product!r} (vendor {entry.vendor!r})"
    return None


def _open(bound: str | None) -> bool:
    return bound is None or bound.strip() in ("", "*", "0")


def _in_wildcard(version: str, pattern: str) -> bool:
    """``6.6.*`` holds every version whose leading parts are 6.6."""
    prefix = pattern[:-2]
    return version == prefix or version.startswith(prefix + ".")


def _status_in(v: AffectedVersion, version: str) -> str | None:
    """The status ``v`` gives ``version``, or None when ``v`` does not cover it. Raises ValueError when
    ``v`` cannot be compared with a package version."""
    if (v.version_type or "").lower() == "git":
        raise ValueError(f"a git commit range ({v.version[:12]}…) cannot be compared with a version")
    text = v.version.strip()
    if text[:1] in "<>=" and v.less_than is None and v.less_than_or_equal is None:
        for part in text.split(","):
            m = _OPS.fullmatch(part)
            if not m:
                raise ValueError(f"unreadable version range {text!r}")
            op, bound = m.group(1) or "=", m.group(2)
            c = compare_upstream(version, bound)
            ok = {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0, "=": c == 0}[op]
            if not ok:
                return None
        return v.status
    if v.less_than is None and v.less_than_or_equal is None:
        return v.status if compare_upstream(version, text) == 0 else None
    if not _open(text) and compare_upstream(version, text) < 0:
        return None
    if v.less_than is not None and not _open(v.less_than) and compare_upstream(version, v.less_than) >= 0:
        return None
    lte = v.less_than_or_equal
    if lte is not None and lte.strip() != "*":
        if lte.endswith(".*"):
            if not _in_wildcard(version, lte):
                return None
        elif compare_upstream(version, lte) > 0:
            return None
    status = v.status
    for change in v.changes:
        if compare_upstream(version, change.at) >= 0:
            status = change.status
    return status


def judge_entry(entry: AffectedEntry, version: str) -> tuple[Decision, str]:
    product = entry.product or entry.package_name or "?"
    where = f"{entry.container} affected entry {entry.vendor or '?'} / {product}"
    if not entry.versions:
        if (entry.default_status or "").lower() == "affected":
            return Decision.UNKNOWN, f"{where} says every version is affected: needs triage"
        return Decision.UNKNOWN, f"{where} gives no versions: needs triage"
    statuses: list[str] = []
    uncomparable: list[str] = []
    for v in entry.versions:
        try:
            s = _status_in(v, version)
        except ValueError as exc:
            uncomparable.append(str(exc))
            continue
        if s is not None:
            statuses.append(s.lower())
    if "affected" in statuses:
        return Decision.VULNERABLE, f"version {version} is within a range {where} marks affected"
    if "unaffected" in statuses:
        return Decision.NOT_VULNERABLE, f"version {version} is within a range {where} marks unaffected"
    if uncomparable and len(uncomparable) == len(entry.versions):
        return Decision.UNKNOWN, f"{where}: {uncomparable[0]}: needs triage"
    default = (entry.default_status or "unknown").lower()
    if default == "unaffected":
        return Decision.NOT_VULNERABLE, f"version {version} is outside every affected range of {where}"
    if default == "affected":
        return Decision.VULNERABLE, f"version {version} is affected by default per {where}"
    return Decision.UNKNOWN, f"version {version} is outside the listed ranges of {where}, default unknown"


def judge_cna(record: Cve5Record, aliases: set[str], version: str) -> list[CriterionResult]:
    out: list[CriterionResult] = []
    for entry in record.affected:
        why = names_package(entry, aliases)
        if why is None:
            continue
        decision, detail = judge_entry(entry, version)
        out.append(
            CriterionResult(
                f"CVE JSON 5 {entry.container} data",
                decision,
                detail,
                f"it names {why}",
                kind=EvidenceKind.CNA_MATCH,
            )
        )
    return out


class CnaIndex:
    """Alias (product or packageName, normalized) -> ids of CVE JSON 5 records naming it."""

    def __init__(self, records: Iterable[Cve5Record]) -> None:
        self.by_alias: dict[str, set[str]] = defaultdict(set)
        for r in records:
            for e in r.affected:
                if describes_another_distribution(e):
                    continue
                for name in (normalize(e.product), (e.package_name or "").lower()):
                    if name:
                        self.by_alias[name].add(r.cve_id)

    def candidates(self, aliases: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for a in aliases:
            out |= self.by_alias.get(a, set())
        return out


def vulnerability_from_cve5(record: Cve5Record) -> Vulnerability:
    """A stand-in NVD record for a CVE that NVD does not have yet (status "Not in NVD")."""
    published = record.date_published or record.date_updated
    updated = record.date_updated or record.date_published
    assert published is not None and updated is not None
    return Vulnerability(
        id=record.cve_id,
        published=published,
        last_modified=updated,
        status="Rejected" if record.state == "REJECTED" else "Not in NVD",
        source_identifier=record.assigner,
        descriptions=(Description("en", record.description or ""),),
        metrics=cve5_metrics(record),
        weaknesses=record.problem_types,
    )


def cve5_metrics(record: Cve5Record) -> tuple[CvssMetric, ...]:
    return tuple(
        CvssMetric(m.version, m.vector, m.base_score, m.base_severity, m.source, "Secondary")
        for m in record.metrics
    )
