"""The decision rules for one (CVE, source package): pure functions over plain values.

Written down in docs/matching.md; in short, in order:

0. a triage record (a person's decision) overrides everything below;
1. a ``CVE-….nopatch`` file of the package -> not_affected (its text is the justification);
2. a CVE patch file (``PatchN:`` naming the CVE) -> fixed, in the EVR of the earliest ``%changelog``
   entry citing the CVE, else the spec's EVR;
3. a ``%changelog`` entry citing the CVE (a version bump "to address CVE-…") -> fixed in that entry's EVR;
4. otherwise the NVD configurations decide, through the package's CPE names:
   a vulnerable criterion whose range (or exact version) holds the package's upstream version -> affected;
   criteria that name the package but no version (``*`` without a range, ``-``) -> under_investigation;
   criteria that name the package and exclude its version -> not_affected.
For a node image the scanned EVR is the installed one: a distribution fix counts only when the installed
EVR is at least the fixed EVR; otherwise the package is affected and ``fixed_in`` says where the fix is.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import NamedTuple

from cvewatch.errors import InputError
from cvewatch.matching.cna import cve5_metrics, judge_cna
from cvewatch.matching.mapping import PackageNames
from cvewatch.matching.outcome import VERSION_EVIDENCE, CriterionResult, Decision
from cvewatch.matching.severity import Assessment, assess
from cvewatch.model.cve5 import Cve5Record
from cvewatch.model.packages import SourcePackage, TriageFile
from cvewatch.model.records import CpeMatch, Vulnerability
from cvewatch.model.triage import TriageRecord
from cvewatch.model.verdicts import Evidence, EvidenceKind, Status, Verdict
from cvewatch.versions.cpe import cpe_fields, match_fields
from cvewatch.versions.rpm import EVR
from cvewatch.versions.upstream import compare_upstream, in_range, with_update

#: bump when a change to these rules changes verdicts: stored verdicts made before are then rescanned in full
RULES_VERSION = 1


@dataclass(frozen=True, slots=True)
class Relevance:
    """The CPE names a scan can look up: (vendor, product) pairs of curated mappings and components, and
    the products of unmapped packages (matched under any vendor)."""

    pairs: frozenset[tuple[str, str]]
    products: frozenset[str]

    def names(self, vendor: str, product: str) -> bool:
        return product in self.products or (vendor, product) in self.pairs


class Criterion(NamedTuple):
    """A vulnerable criterion of a CVE, where it sits, and the AND siblings it depends on (a named tuple:
    a scan builds hundreds of thousands)."""

    ordinal: int  # position in the record
    match: CpeMatch
    fields: tuple[str, ...]
    conditions: tuple[str, ...]


class CriteriaIndex:
    """A CVE's vulnerable criteria by (vendor, product) and by product, built once per CVE.

    ``wanted`` (a scan's :class:`Relevance`) leaves out criteria naming none of the scope's products:
    nothing would look them up."""

    __slots__ = ("by_pair", "by_product")

    def __init__(self, vuln: Vulnerability, wanted: Relevance | None = None) -> None:
        ordinal = 0
        self.by_pair: dict[tuple[str, str], list[Criterion]] = {}
        self.by_product: dict[str, list[Criterion]] = {}
        products = wanted.products if wanted is not None else None
        pairs = wanted.pairs if wanted is not None else frozenset()
        for conf in vuln.configurations:
            nodes = conf.nodes
            anded = (conf.operator or "OR") == "AND" and len(nodes) > 1
            for ni, node in enumerate(nodes):
                if node.negate:
                    continue
                conditions: tuple[str, ...] | None = None if anded else ()
                for m in node.cpe_match:
                    ordinal += 1
                    if not m.vulnerable:
                        continue
                    fields = match_fields(m.criteria)
                    if fields is None:  # not a CPE 2.3 name: it names no product
                        continue
                    if (
                        products is not None
                        and fields[4] not in products
                        and (fields[3], fields[4]) not in pairs
                    ):
                        continue
                    if conditions is None:  # the other nodes of an AND: "running on/with"
                        conditions = tuple(
                            c.criteria for oi, other in enumerate(nodes) if oi != ni for c in other.cpe_match
                        )
                    c = Criterion(ordinal, m, fields, conditions)
                    self.by_pair.setdefault((fields[3], fields[4]), []).append(c)
                    self.by_product.setdefault(fields[4], []).append(c)

    def naming(self, names: PackageNames) -> list[Criterion]:
        """The criteria that name the package, in record order."""
        if not names.curated:
            return self.by_product.get(names.package.lower(), [])
        found = [c for pair in names.names for c in self.by_pair.get(pair, ())]
        if len(names.names) > 1:
            found.sort(key=lambda c: c.ordinal)
        return found


def _range_text(m: CpeMatch) -> str:
    lo = (
        f"[{m.version_start_including}"
        if m.version_start_including
        else f"({m.version_start_excluding}"
        if m.version_start_excluding
        else "(-inf"
    )
    hi = (
        f"{m.version_end_including}]"
        if m.version_end_including
        else f"{m.version_end_excluding})"
        if m.version_end_excluding
        else "+inf)"
    )
    return f"{lo}, {hi}"


def judge_criterion(m: CpeMatch, version: str, fields: tuple[str, ...] | None = None) -> tuple[Decision, str]:
    """Does criterion ``m`` hold the upstream ``version``? (decision, a sentence saying why)."""
    fields = fields or cpe_fields(m.criteria)
    cpe_version, update = fields[5], fields[6]
    product = f"{fields[3]}:{fields[4]}"
    if cpe_version == "*":
        if not m.has_range:
            return Decision.UNKNOWN, f"{product} criterion names every version (no range): needs triage"
        vulnerable = in_range(
            version,
            start_including=m.version_start_including,
            start_excluding=m.version_start_excluding,
            end_including=m.version_end_including,
            end_excluding=m.version_end_excluding,
        )
        rng = _range_text(m)
        if vulnerable:
            return Decision.VULNERABLE, f"version {version} is within the vulnerable range {rng} of {product}"
        end = m.version_end_excluding or m.version_end_including
        if end and compare_upstream(version, end) >= 0:
            return (
                Decision.NOT_VULNERABLE,
                f"version {version} is past the vulnerable range {rng} of {product} (fixed upstream in "
                f"{m.version_end_excluding or 'a version after ' + str(m.version_end_including)})",
            )
        return (
            Decision.NOT_VULNERABLE,
            f"version {version} is outside the vulnerable range {rng} of {product}",
        )
    if cpe_version == "-":
        return Decision.UNKNOWN, f"{product} criterion has version '-' (not applicable): needs triage"
    target = with_update(cpe_version, update)
    if compare_upstream(version, target) == 0:
        return Decision.VULNERABLE, f"version {version} equals the vulnerable version {target} of {product}"
    return Decision.NOT_VULNERABLE, f"version {version} is not the vulnerable version {target} of {product}"


def judge_configurations(
    vuln: Vulnerability, names: PackageNames, version: str, index: CriteriaIndex | None = None
) -> list[CriterionResult]:
    """Every vulnerable criterion of ``vuln`` that names the package, judged for ``version``.

    In an AND configuration the other nodes are conditions ("running on/with"): they never name the
    affected product and are recorded, not evaluated. ``index`` (the CVE's :class:`CriteriaIndex`) saves
    reading every criterion again when one CVE is judged for many packages.
    """
    index = index or CriteriaIndex(vuln)
    results: list[CriterionResult] = []
    for c in index.naming(names):
        decision, detail = judge_criterion(c.match, version, c.fields)
        results.append(
            CriterionResult(
                c.match.criteria, decision, detail, names.describe(c.fields[3], c.fields[4]), c.conditions
            )
        )
    return results


def _with_dist(evr: EVR, spec: SourcePackage, dist: str | None) -> EVR:
    release = evr.release
    if dist and release and not release.endswith(dist):
        release += dist
    epoch = evr.epoch or spec.epoch
    return EVR(epoch, evr.version, release)


def fixed_in(cve: str, spec: SourcePackage, dist: str | None) -> tuple[EVR | None, list[Evidence]]:
    """Where the distribution fixed ``cve`` in this spec, and the evidence that says so."""
    evidence: list[Evidence] = []
    patches = [p for p in spec.patches if cve in p.cves]
    entries = [c for c in spec.changelog if cve in c.cves]
    for p in patches:
        where = f"Patch{p.number}" if p.number is not None else "Patch"
        note = "" if p.present else " (the file is missing from the spec folder)"
        evidence.append(
            Evidence(EvidenceKind.PATCH, f"{where}: {p.filename} in {spec.name}.spec fixes {cve}{note}")
        )
    found: EVR | None = None
    if entries:
        first = entries[-1]  # %changelog is newest first: the last citing entry introduced the fix
        try:
            found = _with_dist(EVR.parse(first.evr), spec, dist) if first.evr else None
        except InputError:
            found = None
        when = first.date.isoformat() if first.date else "undated"
        evidence.append(
            Evidence(
                EvidenceKind.CHANGELOG,
                f"%changelog {first.evr or '?'} ({when}) cites {cve}: {first.text[:200]}",
            )
        )
    if found is None and (patches or entries):
        found = spec.evr
    if found is not None and found > spec.evr:
        found = spec.evr
    return found, evidence


def distro_decision(
    vuln: Vulnerability,
    spec: SourcePackage,
    dist: str | None,
    scanned: EVR,
    installed: EVR | None,
    triage: TriageRecord | None,
) -> tuple[Status, EVR | None, list[Evidence]] | None:
    """What the package's own records say about the CVE, in the rules' order (a triage record, a
    ``.nopatch`` file, a patch or ``%changelog`` entry): (status, fixed EVR, the evidence that decided);
    None when there are none. ``scanned`` is the installed EVR, else the spec's. Direct matches
    (:func:`decide`) and components share it, so :func:`cvewatch.matching.components.merge` finds the
    same evidence of both and lists it once."""
    if triage is not None:
        evidence = [Evidence(EvidenceKind.TRIAGE, triage.describe())]
        if triage.justification:
            evidence.append(Evidence(EvidenceKind.JUSTIFICATION, triage.justification.value))
        fixed = EVR.parse(triage.fixed_in) if triage.fixed_in else None
        status = triage.status
        if fixed is not None and status is Status.FIXED and scanned < fixed:
            status = Status.AFFECTED
            evidence.append(
                Evidence(EvidenceKind.INSTALLED, f"installed {scanned} is older than the fix {fixed}")
            )
        return status, fixed, evidence
    nopatch: TriageFile | None = next((t for t in spec.triage if t.cve == vuln.id), None)
    if nopatch is not None:
        why = nopatch.justification or "empty file: no justification recorded"
        return (
            Status.NOT_AFFECTED,
            None,
            [Evidence(EvidenceKind.NOPATCH, f"{vuln.id}.nopatch in {spec.name}: {why}")],
        )
    fix, evidence = fixed_in(vuln.id, spec, dist)
    if fix is None:
        return None
    if scanned >= fix:
        if installed is not None:
            evidence.append(
                Evidence(EvidenceKind.INSTALLED, f"installed {scanned} is at or past the fix {fix}")
            )
        return Status.FIXED, fix, evidence
    evidence.append(Evidence(EvidenceKind.INSTALLED, f"installed {scanned} is older than the fix {fix}"))
    return Status.AFFECTED, fix, evidence


def criteria_evidence(criteria: Sequence[CriterionResult]) -> list[Evidence]:
    """Each criterion that named the package, its conditions (at most five) and its judgement."""
    matched: list[Evidence] = []
    for c in criteria:
        matched.append(Evidence(c.kind, f"{c.criteria} ({c.mapping})"))
        for cond in c.conditions[:5]:
            matched.append(Evidence(EvidenceKind.CONDITION, f"only when running with {cond} (not evaluated)"))
        matched.append(Evidence(VERSION_EVIDENCE[c.decision], c.detail))
    return matched


def nvd_backlog_evidence(vuln: Vulnerability) -> Evidence:
    """Why the CVE JSON 5 record decides: NVD has not analysed the CVE (or does not have it)."""
    return Evidence(
        EvidenceKind.NVD_BACKLOG,
        f"NVD has no configuration for {vuln.id} (status {vuln.status}): using the CVE JSON 5 "
        "record of the CNA and ADPs",
    )


def decide(
    vuln: Vulnerability,
    spec: SourcePackage,
    names: PackageNames,
    *,
    release: str,
    dist: str | None,
    image: str | None = None,
    installed: EVR | None = None,
    triage: TriageRecord | None = None,
    cna: Cve5Record | None = None,
    aliases: set[str] | None = None,
    criteria_index: CriteriaIndex | None = None,
    own_cves: AbstractSet[str] | None = None,
) -> Verdict | None:
    """The verdict for ``vuln`` and the package of ``spec`` (or its installed EVR in ``image``);
    None when nothing links the two. ``cna`` is the CVE's CVE JSON 5 record, used when NVD has no
    configuration; ``aliases`` the names its entries may use for the package; ``own_cves`` (the spec's
    :func:`distro_cves`, when the caller has them) saves looking for records the spec does not have."""
    scanned = installed or spec.evr
    matched: list[Evidence] = []  # what NVD (or the CNA) says: the criteria and how the version compares
    criteria = judge_configurations(vuln, names, scanned.version, criteria_index)
    metrics = vuln.metrics
    if not vuln.configurations and cna is not None:
        criteria = judge_cna(cna, aliases or {spec.name.lower()}, scanned.version)
        if criteria:
            matched.append(nvd_backlog_evidence(vuln))
        metrics = metrics or cve5_metrics(cna)
    matched += criteria_evidence(criteria)
    decided = None
    if triage is not None or own_cves is None or vuln.id in own_cves:
        decided = distro_decision(vuln, spec, dist, scanned, installed, triage)
    if not criteria and decided is None:
        return None
    assessment = assess(tuple(metrics))
    evidence: list[Evidence] = []  # what decided, first; then ``matched``; then the CVSS used
    status: Status
    fixed: EVR | None = None
    if decided is not None:
        status, fixed, evidence = decided
    else:
        decisions = {c.decision for c in criteria}
        if Decision.VULNERABLE in decisions:
            status = Status.AFFECTED
        elif Decision.UNKNOWN in decisions:
            status = Status.UNDER_INVESTIGATION
        else:
            status = Status.NOT_AFFECTED
    evidence.extend(matched)
    return make_verdict(vuln, spec, release, image, scanned, status, fixed, assessment, evidence)


def make_verdict(
    vuln: Vulnerability,
    spec: SourcePackage,
    release: str,
    image: str | None,
    scanned: EVR,
    status: Status,
    fixed: EVR | None,
    assessment: Assessment,
    evidence: Sequence[Evidence],
) -> Verdict:
    """The verdict for the pair: ``evidence`` first, the CVSS assessment's after it."""
    return Verdict(
        cve=vuln.id,
        package=spec.name,
        release=release,
        image=image,
        version=str(scanned),
        status=status,
        fixed_in=str(fixed) if fixed is not None else None,
        severity=assessment.severity,
        cvss=assessment.cvss,
        evidence=(*evidence, *assessment.evidence),
    )


def distro_cves(spec: SourcePackage) -> set[str]:
    """CVE ids the spec itself names: patch files, changelog entries, .nopatch files."""
    out = {t.cve for t in spec.triage}
    for p in spec.patches:
        out.update(p.cves)
    for c in spec.changelog:
        out.update(c.cves)
    return out


def sort_verdicts(verdicts: Sequence[Verdict]) -> list[Verdict]:
    return sorted(verdicts, key=lambda v: (v.cve, v.package, v.image or ""))
