"""A scan: every (CVE, source package) that something links, decided by :mod:`cvewatch.matching.rules`.

Pure: takes the vulnerabilities and packages as values, returns verdicts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from cvewatch.inventory.binaries import BinaryIndex, ImagePackages
from cvewatch.matching.cna import CnaIndex, package_aliases
from cvewatch.matching.components import (
    ComponentFacts,
    ComponentIndex,
    ComponentMemo,
    component_verdicts,
    effective_components,
    merge,
)
from cvewatch.matching.mapping import PackageMapping, PackageNames
from cvewatch.matching.rules import CriteriaIndex, Relevance, decide, distro_cves, sort_verdicts
from cvewatch.model.cve5 import Cve5Record
from cvewatch.model.packages import InstalledPackage, SourcePackage
from cvewatch.model.records import Vulnerability
from cvewatch.model.triage import TriageRecord
from cvewatch.model.verdicts import Verdict
from cvewatch.versions.rpm import EVR


class CpeIndex:
    """(vendor, product) and product -> ids of CVEs with a vulnerable criterion naming them."""

    def __init__(
        self, vulns: Iterable[Vulnerability], criteria: Mapping[str, CriteriaIndex] | None = None
    ) -> None:
        self.by_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.by_product: dict[str, set[str]] = defaultdict(set)
        for v in vulns:
            crit = criteria[v.id] if criteria is not None else CriteriaIndex(v)
            for pair in crit.by_pair:
                self.by_pair[pair].add(v.id)
            for product in crit.by_product:
                self.by_product[product].add(v.id)

    def candidates(self, names: PackageNames) -> set[str]:
        if names.curated:
            out: set[str] = set()
            for pair in names.names:
                out |= self.by_pair.get(pair, set())
            return out
        return set(self.by_product.get(names.package.lower(), set()))


def group_by_source(installed: Sequence[InstalledPackage], specs: Sequence[SourcePackage]) -> ImagePackages:
    """The image's source packages at their builds' EVRs (the rule: :mod:`cvewatch.inventory.binaries`)."""
    return BinaryIndex(specs).group(installed)


def relevance(
    specs: Sequence[SourcePackage], mapping: PackageMapping, components: ComponentFacts | None
) -> Relevance:
    """Every CPE name a scan of ``specs`` may look up."""
    pairs, products = mapping.cpe_names(s.name for s in specs)
    if components is not None:
        for comps in components.components.values():
            for c in comps:
                found = components.mapping.names_for(c)
                if found is not None:
                    pairs.update(found.cpe)
        for entry in components.mapping.assumed_go_modules():
            pairs.update(entry.cpe)
        pairs.update(components.mapping.protocol_pairs)
    return Relevance(frozenset(pairs), frozenset(products))


def scan(
    vulns: Mapping[str, Vulnerability],
    specs: Sequence[SourcePackage],
    mapping: PackageMapping,
    *,
    release: str,
    dist: str | None,
    image: str | None = None,
    installed: Mapping[str, EVR] | None = None,
    index: CpeIndex | None = None,
    triage: Mapping[tuple[str, str], TriageRecord] | None = None,
    cna: Mapping[str, Cve5Record] | None = None,
    components: ComponentFacts | None = None,
) -> list[Verdict]:
    """Verdicts for the release's ``specs`` (or, with ``installed``, the image's packages). With
    ``components``, what the packages carry inside is matched too (:mod:`cvewatch.matching.components`)
    and merged into the one verdict per pair."""
    wanted = relevance(specs, mapping, components)
    criteria = {cve: CriteriaIndex(v, wanted) for cve, v in vulns.items()}  # each CVE's criteria, read once
    index = index or CpeIndex(vulns.values(), criteria)
    triage = triage or {}
    cna = cna or {}
    cna_index = CnaIndex(cna.values())
    comp_index = ComponentIndex(vulns.values(), cna.values(), criteria) if components is not None else None
    protocol_packages = {
        p
        for proto in (components.mapping.protocols if components is not None else ())
        for p in proto.packages
    }
    memo = ComponentMemo()
    triaged: dict[str, set[str]] = defaultdict(set)
    for cve, package in triage:
        triaged[package].add(cve)
    out: list[Verdict] = []
    for spec in specs:
        if installed is not None and spec.name not in installed:
            continue
        names = mapping.names_for(spec.name)
        aliases = package_aliases(spec, names, mapping.cna_products(spec.name))
        own = distro_cves(spec)
        linked = own | triaged[spec.name] | cna_index.candidates(aliases)
        candidates = index.candidates(names) | {c for c in linked if c in vulns}
        comps = (
            effective_components(spec, components.components.get(spec.name, ()), components.mapping)
            if components is not None
            else []
        )
        if comp_index is not None and components is not None:
            candidates |= {c for c in comp_index.candidates(spec, comps, components.mapping) if c in vulns}
        for cve in sorted(candidates):
            v = vulns[cve]
            if v.rejected:
                continue
            crit = criteria[cve]
            verdict = decide(
                v,
                spec,
                names,
                release=release,
                dist=dist,
                image=image,
                installed=installed.get(spec.name) if installed is not None else None,
                triage=triage.get((cve, spec.name)),
                cna=cna.get(cve),
                aliases=aliases,
                criteria_index=crit,
                own_cves=own,
            )
            if components is not None and (comps or spec.name in protocol_packages):
                extra = component_verdicts(
                    v,
                    spec,
                    comps,
                    components.mapping,
                    release=release,
                    dist=dist,
                    cna=cna.get(cve),
                    image=image,
                    installed=installed.get(spec.name) if installed is not None else None,
                    triage=triage.get((cve, spec.name)),
                    toolchains=components.toolchains,
                    criteria_index=crit,
                    own_cves=own,
                    memo=memo,
                )
                verdict = merge(verdict, extra)
            if verdict is not None:
                out.append(verdict)
    return sort_verdicts(out)
