"""Rebuild planning: which packages must be rebuilt after a toolchain or vendored-module fix.

A package that links the Go (or Rust) standard library statically is fixed by a rebuild with a fixed
toolchain; one that vendors a module by updating the vendored copy and rebuilding. For every package with
components (:mod:`cvewatch.matching.components`) and every CVE that names one of them, where the package's
own records (triage, .nopatch, patch, changelog) do not already decide:

* toolchain CVEs: the plan picks the newest toolchain of the release that the package's BuildRequires
  allow and lists the CVEs a rebuild with it closes (its version is outside every vulnerable range) and
  those it leaves open; when the BuildRequires exclude every fixed toolchain (``golang < 1.25`` and a fix
  only in 1.25.9/1.26.2) the item says so (``blocked``);
* vendored modules with a known version inside a vulnerable range, and modules assumed vendored whose
  version is unknown: the module version needed (the end of the range), with the CVEs.

Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cmp_to_key
from typing import Any

from cvewatch.inventory.components import resolve_toolchain, toolchain_requirements
from cvewatch.matching.components import (
    ComponentFacts,
    ComponentIndex,
    effective_components,
    judge_component,
)
from cvewatch.matching.outcome import Decision
from cvewatch.matching.rules import distro_decision
from cvewatch.model.components import KIND_GOLANG_STDLIB, KIND_TOOLCHAIN, Component
from cvewatch.model.cve5 import Cve5Record
from cvewatch.model.packages import SourcePackage
from cvewatch.model.records import Vulnerability
from cvewatch.versions.upstream import compare_upstream

_ukey = cmp_to_key(compare_upstream)


@dataclass(frozen=True, slots=True)
class ModuleUpdate:
    module: str
    current: str | None  # None: version unknown (assumed vendored)
    needed: str | None  # the upstream version that fixes every listed CVE (None: no fixed version known)
    cves: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RebuildItem:
    package: str
    evr: str
    toolchain: str | None = None  # golang, rust
    built_with: str | None = None  # the toolchain version assumed or recorded
    requires: str = ""  # the BuildRequires naming the toolchain
    rebuild_with: str | None = None  # the release's toolchain EVR to rebuild with
    closes: tuple[str, ...] = ()  # CVEs a rebuild with it closes
    still_open: tuple[str, ...] = ()  # toolchain CVEs it does not close (no fixed toolchain allowed)
    needed: str | None = None  # the toolchain version that would close every toolchain CVE
    blocked: str | None = None  # why no allowed toolchain of the release closes them
    modules: tuple[ModuleUpdate, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "evr": self.evr,
            "toolchain": self.toolchain,
            "built_with": self.built_with,
            "requires": self.requires,
            "rebuild_with": self.rebuild_with,
            "closes": list(self.closes),
            "still_open": list(self.still_open),
            "needed": self.needed,
            "blocked": self.blocked,
            "modules": [
                {"module": m.module, "current": m.current, "needed": m.needed, "cves": list(m.cves)}
                for m in self.modules
            ],
        }


def _open(hits: Sequence[Any]) -> bool:
    return any(h.decision in (Decision.VULNERABLE, Decision.UNKNOWN) for h in hits)


def plan_rebuilds(
    vulns: Mapping[str, Vulnerability],
    cna: Mapping[str, Cve5Record],
    specs: Sequence[SourcePackage],
    facts: ComponentFacts,
    *,
    dist: str | None = None,
) -> list[RebuildItem]:
    """The rebuild plan of a release: one item per package with an open toolchain or module CVE."""
    index = ComponentIndex(vulns.values(), cna.values())
    toolchain_specs: dict[str, list[SourcePackage]] = {}
    for s in specs:
        toolchain_specs.setdefault(s.name, []).append(s)
    for tool, evrs in facts.toolchains.items():  # every toolchain spec of the tree, not only the stored one
        known = {p.evr for p in toolchain_specs.get(tool, [])}
        for e in evrs:
            if e not in known:
                known.add(e)
                toolchain_specs.setdefault(tool, []).append(
                    SourcePackage(tool, e.epoch, e.version, e.release)
                )
    out: list[RebuildItem] = []
    for spec in specs:
        comps = effective_components(spec, facts.components.get(spec.name, ()), facts.mapping)
        if not comps:
            continue
        tool_cves: dict[str, list[tuple[Component, Vulnerability]]] = {}
        modules: dict[tuple[str, str | None], tuple[list[str], list[str]]] = {}
        for cve in sorted(index.candidates(spec, comps, facts.mapping) & vulns.keys()):
            v = vulns[cve]
            if v.rejected or distro_decision(v, spec, dist, spec.evr, None, None) is not None:
                continue
            for c in comps:
                hits = judge_component(v, cna.get(cve), c, facts.mapping.names_for(c))
                if not hits or not _open(hits):
                    continue
                if c.kind in (KIND_TOOLCHAIN, KIND_GOLANG_STDLIB):
                    tool = "golang" if c.kind == KIND_GOLANG_STDLIB else c.name
                    tool_cves.setdefault(tool, []).append((c, v))
                elif c.kind not in ("bundled", "generic"):
                    cves, fixes = modules.setdefault((c.name, c.version), ([], []))
                    cves.append(cve)
                    fixes.extend(h.fix_at for h in hits if h.fix_at)
        if not tool_cves and not modules:
            continue
        item = RebuildItem(spec.name, str(spec.evr))
        for tool, pairs in sorted(tool_cves.items()):
            current = pairs[0][0]
            requires = ", ".join(toolchain_requirements(spec).get(tool, [])) or f"(build record: {tool})"
            fixes = sorted(
                {
                    h.fix_at
                    for c, v in pairs
                    for h in judge_component(v, cna.get(v.id), c, facts.mapping.names_for(c))
                    if h.fix_at
                },
                key=_ukey,
            )
            chosen, _ = resolve_toolchain(
                toolchain_requirements(spec).get(tool, []), toolchain_specs.get(tool, [])
            )
            closes: list[str] = []
            still: list[str] = []
            for c, v in pairs:
                if chosen is None:
                    still.append(v.id)
                    continue
                trial = replace(c, version=chosen.version)
                if _open(judge_component(v, cna.get(v.id), trial, facts.mapping.names_for(trial))):
                    still.append(v.id)
                else:
                    closes.append(v.id)
            blocked = None
            if still:
                listed = ", ".join(str(p.evr) for p in toolchain_specs.get(tool, [])) or "none"
                blocked = (
                    f"no {tool} the BuildRequires ({requires}) allow fixes "
                    f"{', '.join(sorted(set(still)))} (fixed upstream in {', '.join(fixes) or '?'}; "
                    f"release has: {listed})"
                )
            item = replace(
                item,
                toolchain=tool,
                built_with=current.version,
                requires=requires,
                rebuild_with=str(chosen.evr) if chosen is not None and closes else None,
                closes=tuple(sorted(set(closes))),
                still_open=tuple(sorted(set(still))),
                needed=fixes[-1] if fixes else None,
                blocked=blocked,
            )
            break  # one toolchain per item (a package built with both Go and Rust keeps Go's here)
        item = replace(
            item,
            modules=tuple(
                ModuleUpdate(
                    name, version, max(fixes, key=_ukey) if fixes else None, tuple(sorted(set(cves)))
                )
                for (name, version), (cves, fixes) in sorted(
                    modules.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
                )
            ),
        )
        out.append(item)
    return out
