"""Verdicts through what a package carries inside: toolchains, vendored modules, bundled libraries, and
the protocols it implements. Pure functions over plain values (docs/matching.md, "Components").

For one CVE and one source package with components (:mod:`cvewatch.inventory.components`):

* a component names the CVE when a vulnerable NVD criterion names one of its CPE names
  (``data/component-mapping.toml``), or, when NVD has no configuration, a CVE JSON 5 affected entry
  names it (its vendor:product, or a Go module path / crate name as ``packageName``);
* the package's own records decide first, as for direct matches: a triage record, a ``.nopatch`` file, a
  CVE patch (``moby-engine``'s ``CVE-2024-45337.patch`` fixes its vendored golang.org/x/crypto), a
  ``%changelog`` entry;
* otherwise the component's version is judged against the ranges. A toolchain (the Go or Rust standard
  library, linked statically) inside the range -> affected, "statically linked; rebuild with golang >= X";
  past it -> fixed. A vendored module or bundled library with a known version is judged like a direct
  match; a Go module assumed vendored (no SBOM or build info) has no version -> under_investigation,
  "vendored golang.org/x/net version unknown";
* a CVE whose criterion names a protocol (``ietf:http`` 2.0) reaches the packages of the curated list
  ``data/protocols.toml``: under_investigation, unless something more specific judges the pair.

:func:`merge` makes one verdict of the direct one and the component ones: the worst status wins
(affected > under_investigation > fixed > not_affected), its evidence first, every other's after it.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cmp_to_key
from importlib import resources
from pathlib import Path

from cvewatch.errors import ConfigError
from cvewatch.matching.cna import cve5_metrics, describes_another_distribution, judge_entry, normalize
from cvewatch.matching.outcome import VERSION_EVIDENCE, Decision
from cvewatch.matching.rules import (
    CriteriaIndex,
    distro_decision,
    judge_criterion,
    make_verdict,
    nvd_backlog_evidence,
)
from cvewatch.matching.severity import Assessment, assess
from cvewatch.model.components import (
    KIND_BUNDLED,
    KIND_CARGO,
    KIND_GENERIC,
    KIND_GOLANG,
    KIND_GOLANG_STDLIB,
    KIND_NPM,
    KIND_TOOLCHAIN,
    ORIGIN_BUILDREQUIRES,
    ORIGIN_BUNDLED,
    ORIGIN_GO_VERSION_M,
    ORIGIN_SBOM,
    Component,
)
from cvewatch.model.cve5 import AffectedEntry, Cve5Record
from cvewatch.model.packages import SourcePackage
from cvewatch.model.records import CpeMatch, Vulnerability
from cvewatch.model.triage import TriageRecord
from cvewatch.model.verdicts import Evidence, EvidenceKind, Status, Verdict
from cvewatch.versions.cpe import cpe_fields
from cvewatch.versions.rpm import EVR
from cvewatch.versions.upstream import compare_upstream

ORIGIN_ASSUMED = "assumed"
ORIGIN_LABEL = {
    ORIGIN_BUNDLED: "bundled tag",
    ORIGIN_BUILDREQUIRES: "toolchain rule",
    ORIGIN_SBOM: "SBOM",
    ORIGIN_GO_VERSION_M: "go version -m",
    ORIGIN_ASSUMED: "assumed vendored",
}
STATUS_ORDER = {
    Status.AFFECTED: 3,
    Status.UNDER_INVESTIGATION: 2,
    Status.FIXED: 1,
    Status.NOT_AFFECTED: 0,
}
_GO_KINDS = (KIND_GOLANG, KIND_GOLANG_STDLIB)
_STATIC_KINDS = (KIND_TOOLCHAIN, KIND_GOLANG_STDLIB)
_MODULE_KINDS = (KIND_GOLANG, KIND_CARGO, KIND_NPM)


# --- the reviewed data ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComponentNames:
    """How CVE records name one component."""

    name: str
    cpe: tuple[tuple[str, str], ...] = ()
    cna: tuple[tuple[str, str], ...] = ()  # (vendor, product or "*"), normalized
    aliases: tuple[str, ...] = ()
    static: bool = False
    assumed: str | None = None  # "go": assumed vendored by every Go package without build data


@dataclass(frozen=True, slots=True)
class Protocol:
    cpe: tuple[str, str]
    name: str
    versions: tuple[str, ...]  # CPE versions covered; empty = every version
    packages: Mapping[str, str]  # source package -> why it implements the protocol


class ComponentMapping:
    """Component name -> CPE/CNA names (``data/component-mapping.toml``) and the protocol list
    (``data/protocols.toml``)."""

    def __init__(
        self, entries: Sequence[ComponentNames], protocols: Sequence[Protocol] = (), digest: str = ""
    ) -> None:
        self.entries = tuple(entries)
        self.protocols = tuple(protocols)
        self.protocol_pairs: frozenset[tuple[str, str]] = frozenset(p.cpe for p in self.protocols)
        self._by_name: dict[str, ComponentNames] = {}
        for e in self.entries:
            for n in (e.name, *e.aliases):
                self._by_name[n.lower()] = e
        self.digest = digest or hashlib.sha256(repr((self.entries, self.protocols)).encode()).hexdigest()

    @classmethod
    def load(cls, components: Path | None = None, protocols: Path | None = None) -> ComponentMapping:
        texts: list[str] = []
        for path, default in ((components, "component-mapping.toml"), (protocols, "protocols.toml")):
            if path is None:
                texts.append(
                    resources.files("cvewatch.matching").joinpath(f"data/{default}").read_text("utf-8")
                )
                continue
            try:
                texts.append(path.read_text("utf-8"))
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            cdata = tomllib.loads(texts[0])
            pdata = tomllib.loads(texts[1])
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"component mapping or protocol list: not valid TOML: {exc}") from exc
        entries = [_entry(name, value) for name, value in cdata.get("components", {}).items()]
        prots = [_protocol(name, value) for name, value in pdata.get("protocols", {}).items()]
        digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
        return cls(entries, prots, digest)

    def names_for(self, component: Component) -> ComponentNames | None:
        entry = self._by_name.get(component.name.lower())
        if entry is not None:
            return entry
        if component.kind == KIND_GOLANG:  # github.com/golang-jwt/jwt/v4 is github.com/golang-jwt/jwt
            for e in self.entries:
                if component.name.startswith(e.name + "/"):
                    return e
        return None

    def assumed_go_modules(self) -> list[ComponentNames]:
        return [e for e in self.entries if e.assumed == "go"]

    def protocol_for(self, vendor: str, product: str, version: str) -> Protocol | None:
        for p in self.protocols:
            if p.cpe == (vendor, product) and (not p.versions or version in p.versions or version == "*"):
                return p
        return None


def _pairs(values: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v.count(":") == 1 for v in values):
        raise ConfigError(f"component mapping {where}: needs a list of 'vendor:product' strings")
    return tuple((normalize(v.split(":")[0]), normalize(v.split(":")[1])) for v in values)


def _entry(name: str, value: object) -> ComponentNames:
    if not isinstance(value, dict):
        raise ConfigError(f"component mapping: [components.{name!r}] is not a table")
    aliases = value.get("aliases", [])
    if not isinstance(aliases, list):
        raise ConfigError(f"component mapping: {name!r} aliases must be a list")
    return ComponentNames(
        name,
        _pairs(value.get("cpe", []), f"{name!r} cpe"),
        _pairs(value.get("cna", []), f"{name!r} cna"),
        tuple(str(a) for a in aliases),
        value.get("linkage") == "static",
        value.get("assumed"),
    )


def _protocol(key: str, value: object) -> Protocol:
    if not isinstance(value, dict) or not isinstance(value.get("packages"), dict):
        raise ConfigError(f"protocol list: [protocols.{key!r}] needs a name and a packages table")
    (cpe,) = _pairs([key], f"protocol {key!r}")
    return Protocol(
        cpe,
        str(value.get("name", key)),
        tuple(str(v) for v in value.get("versions", [])),
        {str(k): str(v) for k, v in value["packages"].items()},
    )


# --- the facts a scan needs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComponentFacts:
    """What :func:`cvewatch.matching.scan.scan` needs beyond the packages: their components, the
    release's toolchain EVRs (golang, rust…, every spec of the name) and the reviewed names."""

    components: Mapping[str, Sequence[Component]]
    toolchains: Mapping[str, Sequence[EVR]] = field(default_factory=dict)
    mapping: ComponentMapping = field(default_factory=ComponentMapping.load)


def effective_components(
    spec: SourcePackage, components: Sequence[Component], mapping: ComponentMapping
) -> list[Component]:
    """The package's components, plus the Go modules assumed vendored when it is a Go package (built with
    golang) and no SBOM or build info lists its modules."""
    out = list(components)
    if any(c.kind == KIND_GOLANG_STDLIB and c.origin in (ORIGIN_SBOM, ORIGIN_GO_VERSION_M) for c in out):
        # a build record names the Go that built the binaries: the BuildRequires assumption is not needed
        out = [c for c in out if not (c.kind == KIND_TOOLCHAIN and c.name == "golang")]
    is_go = any(c.kind in (KIND_TOOLCHAIN,) and c.name == "golang" for c in components) or any(
        c.kind in _GO_KINDS for c in components
    )
    has_build_data = any(
        c.kind == KIND_GOLANG and c.origin in (ORIGIN_SBOM, ORIGIN_GO_VERSION_M) for c in components
    )
    if is_go and not has_build_data:
        present = {c.name for c in components}
        for e in mapping.assumed_go_modules():
            if e.name not in present:
                out.append(
                    Component(
                        KIND_GOLANG,
                        e.name,
                        None,
                        None,
                        ORIGIN_ASSUMED,
                        f"{spec.name} is built with Go and no SBOM or `go version -m` record lists its "
                        "modules; "
                        f"Go packages vendor {e.name}",
                    )
                )
    return out


# --- judging ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Hit:
    source: str  # the criterion or CVE JSON 5 entry
    mapping: str
    decision: Decision
    detail: str
    fix_at: str | None  # the upstream version that ends the range holding the version (None: unknown)
    past: bool  # the version is past a vulnerable range: the fix is in
    kind: EvidenceKind = EvidenceKind.CPE_MATCH  # or CNA_MATCH


def _cpe_hit(m: CpeMatch, version: str | None, names: str) -> _Hit:
    fields = cpe_fields(m.criteria)
    end = m.version_end_excluding
    if version is None:
        return _Hit(
            m.criteria,
            names,
            Decision.UNKNOWN,
            f"{fields[3]}:{fields[4]}: component version unknown",
            end,
            False,
        )
    decision, detail = judge_criterion(m, version)
    bound = m.version_end_excluding or m.version_end_including
    past = decision is Decision.NOT_VULNERABLE and bound is not None and compare_upstream(version, bound) >= 0
    return _Hit(m.criteria, names, decision, detail, end, past)


class ComponentMemo:
    """A scan's component judgements, shared by every package with the same component: (CVE, component
    kind, name, version) -> what the CVE's records say, and the toolchain sentence for each status."""

    __slots__ = ("hits", "notes")

    def __init__(self) -> None:
        self.hits: dict[tuple[str, str, str, str | None], list[_Hit]] = {}
        self.notes: dict[tuple[str, str, str, str | None, Status], str] = {}


def _in(version: str, start: str | None, end: str | None) -> bool:
    lo = start is None or start.strip() in ("", "0", "*") or compare_upstream(version, start) >= 0
    hi = end is None or end.strip() == "*" or compare_upstream(version, end) < 0
    return lo and hi


def _cna_hit(entry: AffectedEntry, version: str | None, why: str) -> _Hit:
    product = entry.product or entry.package_name or "?"
    src = f"CVE JSON 5 {entry.container} entry {entry.vendor or '?'} / {product}"
    ends = [
        (v.version, v.less_than)
        for v in entry.versions
        if (v.status or "").lower() == "affected" and v.less_than and v.less_than.strip() != "*"
    ]
    if version is None:
        fix = ends[0][1] if len(ends) == 1 else None
        return _Hit(
            src,
            why,
            Decision.UNKNOWN,
            f"{src}: component version unknown",
            fix,
            False,
            EvidenceKind.CNA_MATCH,
        )
    decision, detail = judge_entry(entry, version)
    fix_at = next((end for start, end in ends if _in(version, start, end)), None)
    past = decision is not Decision.VULNERABLE and any(
        end is not None and compare_upstream(version, end) >= 0 for _, end in ends
    )
    return _Hit(src, why, decision, detail, fix_at, past, EvidenceKind.CNA_MATCH)


def _module_of(package_name: str, module: str) -> bool:
    p, m = package_name.lower(), module.lower()
    return p == m or p.startswith(m + "/")


def _cna_names(entry: AffectedEntry, component: Component, names: ComponentNames | None) -> str | None:
    if describes_another_distribution(entry):
        return None
    if (
        component.kind in _MODULE_KINDS
        and entry.package_name
        and _module_of(entry.package_name, component.name)
    ):
        return f"packageName {entry.package_name!r} is in module {component.name}"
    if names is None:
        return None
    vendor, product = normalize(entry.vendor), normalize(entry.product)
    for v, p in names.cna:
        if vendor == v and (p == "*" or product == p):
            return f"vendor {entry.vendor!r} / product {entry.product!r} (component mapping {names.name})"
    return None


def judge_component(
    vuln: Vulnerability,
    cna: Cve5Record | None,
    component: Component,
    names: ComponentNames | None,
    index: CriteriaIndex | None = None,
) -> list[_Hit]:
    """Every NVD criterion (or, without NVD configurations, CVE JSON 5 entry) naming the component.
    ``index`` (the CVE's criteria by product) turns the walk over every criterion into lookups."""
    hits: list[_Hit] = []
    if names is not None and names.cpe:
        index = index or CriteriaIndex(vuln)
        found = sorted(
            (c for pair in names.cpe for c in index.by_pair.get(pair, ())), key=lambda c: c.ordinal
        )
        for c in found:
            hits.append(
                _cpe_hit(
                    c.match,
                    component.version,
                    f"component mapping {names.name} -> {c.fields[3]}:{c.fields[4]}",
                )
            )
    if not vuln.configurations and cna is not None:
        for entry in cna.affected:
            why = _cna_names(entry, component, names)
            if why is not None:
                hits.append(_cna_hit(entry, component.version, why))
    return hits


def protocol_links(
    vuln: Vulnerability, package: str, mapping: ComponentMapping, index: CriteriaIndex | None = None
) -> list[tuple[str, Protocol]]:
    """(criterion, protocol) for each vulnerable criterion of ``vuln`` naming a protocol ``package``
    implements per the curated list. ``index`` (the CVE's criteria by product) makes this a lookup."""
    index = index or CriteriaIndex(vuln)
    found: list[tuple[int, str, Protocol]] = []
    for pair in mapping.protocol_pairs & index.by_pair.keys():
        for c in index.by_pair[pair]:
            p = mapping.protocol_for(pair[0], pair[1], c.fields[5])
            if p is not None and package in p.packages:
                found.append((c.ordinal, c.match.criteria, p))
    return [(criteria, p) for _, criteria, p in sorted(found, key=lambda x: x[0])]


def _describe(c: Component, spec: SourcePackage) -> str:
    what = {
        KIND_TOOLCHAIN: "toolchain",
        KIND_GOLANG_STDLIB: "Go standard library",
        KIND_GOLANG: "Go module",
        KIND_CARGO: "Rust crate",
        KIND_NPM: "npm package",
        KIND_BUNDLED: "bundled library",
        KIND_GENERIC: "component",
    }.get(c.kind, c.kind)
    version = c.version or "version unknown"
    detail = f": {c.detail}" if c.detail else ""
    return (
        f"{what} {c.name} {version} in {spec.name} (source: {ORIGIN_LABEL.get(c.origin, c.origin)}{detail})"
    )


def _toolchain_note(
    c: Component, hits: Sequence[_Hit], status: Status, toolchains: Mapping[str, Sequence[EVR]]
) -> str:
    tool = "golang" if c.name in ("golang", "stdlib") else c.name
    fixes = sorted({h.fix_at for h in hits if h.fix_at}, key=cmp_to_key(compare_upstream))
    available = sorted(toolchains.get(tool, ()), reverse=True)
    have = f"; the release's {tool}: {', '.join(str(e) for e in available)}" if available else ""
    if status is Status.FIXED:
        return f"statically linked; built with {tool} {c.version}, past the vulnerable range{have}"
    if fixes:
        return f"statically linked; rebuild with {tool} >= {' or >= '.join(fixes)}{have}"
    return f"statically linked; no fixed {tool} version known{have}"


def component_verdicts(
    vuln: Vulnerability,
    spec: SourcePackage,
    components: Sequence[Component],
    mapping: ComponentMapping,
    *,
    release: str,
    dist: str | None,
    cna: Cve5Record | None = None,
    image: str | None = None,
    installed: EVR | None = None,
    triage: TriageRecord | None = None,
    toolchains: Mapping[str, Sequence[EVR]] | None = None,
    criteria_index: CriteriaIndex | None = None,
    own_cves: AbstractSet[str] | None = None,
    memo: ComponentMemo | None = None,
) -> list[Verdict]:
    """One verdict per component of ``spec`` that ``vuln`` names, and one for a protocol link. Components
    should come from :func:`effective_components`. ``own_cves`` (the spec's CVE ids) and ``memo`` (a
    scan's cache of component judgements, shared by every package with the same component) save work
    when one CVE is judged for many packages."""
    if vuln.rejected:
        return []
    toolchains = toolchains or {}
    scanned = installed or spec.evr
    assessment: Assessment | None = None
    out: list[Verdict] = []

    def verdict(status: Status, fixed: EVR | None, evidence: list[Evidence]) -> Verdict:
        nonlocal assessment
        if assessment is None:
            assessment = assess(tuple(vuln.metrics or (cve5_metrics(cna) if cna is not None else ())))
        return make_verdict(vuln, spec, release, image, scanned, status, fixed, assessment, evidence)

    unset: tuple[Status, EVR | None, list[Evidence]] | None = (Status.AFFECTED, None, [])
    distro_found = unset

    def distro() -> tuple[Status, EVR | None, list[Evidence]] | None:
        nonlocal distro_found
        if distro_found is unset:
            distro_found = (
                None
                if triage is None and own_cves is not None and vuln.id not in own_cves
                else distro_decision(vuln, spec, dist, scanned, installed, triage)
            )
        return distro_found

    for c in components:
        names = mapping.names_for(c)
        key = (vuln.id, c.kind, c.name, c.version)
        found = memo.hits.get(key) if memo is not None else None
        if found is None:
            found = judge_component(vuln, cna, c, names, criteria_index)
            if memo is not None:
                memo.hits[key] = found
        hits = found
        if not hits:
            continue
        static = c.kind in _STATIC_KINDS or (names is not None and names.static)
        comp_ev = Evidence(EvidenceKind.COMPONENT, _describe(c, spec))
        matched: list[Evidence] = []
        if not vuln.configurations and cna is not None:
            matched.append(nvd_backlog_evidence(vuln))
        for h in hits:
            matched.append(Evidence(h.kind, f"{h.source} ({h.mapping})"))
            matched.append(Evidence(VERSION_EVIDENCE[h.decision], h.detail))
        decided = distro()
        fixed: EVR | None = None
        if decided is not None:
            status, fixed, first = decided
            evidence = [*first, comp_ev]
        else:
            decisions = {h.decision for h in hits}
            if Decision.VULNERABLE in decisions:
                status = Status.AFFECTED
            elif Decision.UNKNOWN in decisions:
                status = Status.UNDER_INVESTIGATION
            elif static and any(h.past for h in hits):
                status, fixed = Status.FIXED, scanned
            else:
                status = Status.NOT_AFFECTED
            evidence = [comp_ev]
            if c.version is None and c.kind in _MODULE_KINDS and status is Status.UNDER_INVESTIGATION:
                evidence.append(Evidence(EvidenceKind.COMPONENT, f"vendored {c.name} version unknown"))
        if static:
            note = memo.notes.get((*key, status)) if memo is not None else None
            if note is None:
                note = _toolchain_note(c, hits, status, toolchains)
                if memo is not None:
                    memo.notes[(*key, status)] = note
            evidence.append(Evidence(EvidenceKind.TOOLCHAIN, note))
        out.append(verdict(status, fixed, evidence + matched))

    for criteria, proto in protocol_links(vuln, spec.name, mapping, criteria_index):
        ev = Evidence(
            EvidenceKind.PROTOCOL,
            f"{criteria} names the protocol {proto.name}, which {spec.name} implements: "
            f"{proto.packages[spec.name]} (source: curated protocol list)",
        )
        decided = distro()
        if decided is not None:
            status, fixed, first = decided
            out.append(verdict(status, fixed, [*first, ev]))
        else:
            triage_note = Evidence(
                EvidenceKind.VERSION_UNKNOWN,
                f"a protocol-level flaw: whether {spec.name} is affected needs triage",
            )
            out.append(verdict(Status.UNDER_INVESTIGATION, None, [ev, triage_note]))
        break  # one protocol link per pair is enough
    return out


def _is_protocol_only(v: Verdict) -> bool:
    kinds = {e.kind for e in v.evidence}
    return EvidenceKind.PROTOCOL in kinds and EvidenceKind.COMPONENT not in kinds


def merge(direct: Verdict | None, from_components: Sequence[Verdict]) -> Verdict | None:
    """One verdict per (CVE, package): the worst status wins (affected > under_investigation > fixed >
    not_affected), its evidence first and every other verdict's evidence after it. A protocol link
    decides only when nothing more specific judged the pair; otherwise its evidence is appended."""
    if not from_components:
        return direct
    specific = ([direct] if direct is not None else []) + [
        v for v in from_components if not _is_protocol_only(v)
    ]
    protocol = [v for v in from_components if _is_protocol_only(v)]
    pool = specific or protocol
    if not pool:
        return None
    winner = max(pool, key=lambda v: STATUS_ORDER[v.status])  # max keeps the first of equals: direct first
    evidence: list[Evidence] = list(winner.evidence)
    seen = set(evidence)
    for v in [*pool, *(protocol if specific else [])]:
        if v is winner:
            continue
        for e in v.evidence:
            if e not in seen:
                seen.add(e)
                evidence.append(e)
    w = winner  # a direct call: dataclasses.replace costs more than the rest of a merge
    return Verdict(
        w.cve,
        w.package,
        w.release,
        w.image,
        w.version,
        w.status,
        w.fixed_in,
        w.severity,
        w.cvss,
        tuple(evidence),
    )


# --- candidates -------------------------------------------------------------------------------------


class ComponentIndex:
    """Which CVEs name which components: NVD (vendor, product) pairs, CVE JSON 5 vendor/product pairs and
    packageNames, and protocol criteria."""

    def __init__(
        self,
        vulns: Iterable[Vulnerability],
        cna: Iterable[Cve5Record],
        criteria: Mapping[str, CriteriaIndex] | None = None,
    ) -> None:
        self.by_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.cna_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.cna_vendor: dict[str, set[str]] = defaultdict(set)
        self.package_names: dict[str, set[str]] = defaultdict(set)
        for v in vulns:
            crit = criteria[v.id] if criteria is not None else CriteriaIndex(v)
            for pair in crit.by_pair:
                self.by_pair[pair].add(v.id)
        for r in cna:
            for e in r.affected:
                if describes_another_distribution(e):
                    continue
                vendor = normalize(e.vendor)
                self.cna_pair[(vendor, normalize(e.product))].add(r.cve_id)
                self.cna_vendor[vendor].add(r.cve_id)
                if e.package_name:
                    self.package_names[e.package_name.lower()].add(r.cve_id)

    def candidates(
        self, spec: SourcePackage, components: Sequence[Component], mapping: ComponentMapping
    ) -> set[str]:
        out: set[str] = set()
        for c in components:
            names = mapping.names_for(c)
            if names is not None:
                for pair in names.cpe:
                    out |= self.by_pair.get(pair, set())
                for v, p in names.cna:
                    out |= self.cna_vendor.get(v, set()) if p == "*" else self.cna_pair.get((v, p), set())
            if c.kind in _MODULE_KINDS:
                prefix = c.name.lower()
                for pn, ids in self.package_names.items():
                    if pn == prefix or pn.startswith(prefix + "/"):
                        out |= ids
        for proto in mapping.protocols:
            if spec.name in proto.packages:
                out |= self.by_pair.get(proto.cpe, set())
        return out


def search_terms(
    components: Iterable[Component], mapping: ComponentMapping, packages: Iterable[str]
) -> tuple[set[tuple[str, str]], set[tuple[str, str]], set[str]]:
    """For the store: (NVD vendor:product pairs, CVE JSON 5 (vendor, product|*) pairs, module paths whose
    packages a CVE JSON 5 packageName may name) of ``components`` and the protocols ``packages`` implement."""
    cpe: set[tuple[str, str]] = set()
    cna: set[tuple[str, str]] = set()
    modules: set[str] = set()
    for c in components:
        names = mapping.names_for(c)
        if names is not None:
            cpe.update(names.cpe)
            cna.update(names.cna)
        if c.kind in _MODULE_KINDS:
            modules.add(c.name.lower())
    wanted = set(packages)
    for p in mapping.protocols:
        if wanted & set(p.packages):
            cpe.add(p.cpe)
    return cpe, cna, modules
