"""What packages carry inside: a package's build record (SBOM, `go version -m`) into the store, and the
rebuilds a toolchain or vendored-module fix calls for."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from cvewatch.errors import InputError
from cvewatch.inventory.components import read_component_file
from cvewatch.matching.components import ComponentMapping
from cvewatch.matching.rebuild import RebuildItem, plan_rebuilds
from cvewatch.model.components import ORIGIN_GO_VERSION_M, ORIGIN_SBOM
from cvewatch.model.packages import Problem
from cvewatch.services.scan import component_candidate_cves, load_component_facts
from cvewatch.services.shards import load_records
from cvewatch.store.components import replace_build_components
from cvewatch.store.inventory import load_release_packages, release_dist

__all__ = ["BuildComponentsReport", "load_build_record", "rebuild_plan"]


@dataclass(frozen=True, slots=True)
class BuildComponentsReport:
    package: str
    release: str
    format: str  # spdx-json, cyclonedx-json, go-version-m
    origin: str  # sbom, go-version-m
    stored: int
    changed: bool
    kinds: dict[str, int]  # components read, by kind
    problems: tuple[Problem, ...]


def load_build_record(engine: Engine, file: Path, *, package: str, release: str) -> BuildComponentsReport:
    """Store the components of one source package from its build SBOM or `go version -m` output,
    replacing those of the same origin. A file without one readable component is an InputError and
    stores nothing."""
    result = read_component_file(file)
    if not result.components:
        problems = "; ".join(str(p) for p in result.problems[:3])
        raise InputError(f"no component could be read{': ' + problems if problems else ''}", str(file))
    origin = ORIGIN_GO_VERSION_M if result.format == "go-version-m" else ORIGIN_SBOM
    with engine.begin() as conn:
        stored, changed = replace_build_components(conn, release, package, result.components, origin=origin)
    kinds = Counter(c.kind for c in result.components)
    return BuildComponentsReport(
        package, release, result.format, origin, stored, changed, dict(sorted(kinds.items())), result.problems
    )


def rebuild_plan(engine: Engine, release: str) -> list[RebuildItem]:
    """The release's packages to rebuild after a toolchain or vendored-module fix, with the CVEs each
    rebuild closes (docs/matching.md, rebuild plans)."""
    with engine.connect() as conn:
        dist = release_dist(conn, release)
        specs = load_release_packages(conn, release)
        facts = load_component_facts(conn, release, specs, ComponentMapping.load())
        vulns, cna = load_records(conn, component_candidate_cves(conn, specs, facts))
    return plan_rebuilds(vulns, cna, specs, facts, dist=dist)
