"""Running a scan against the store: read what it needs, decide, write the verdicts back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, or_, select, tuple_

from cvewatch.matching.mapping import PackageMapping
from cvewatch.matching.rules import distro_cves
from cvewatch.matching.scan import group_by_source, scan
from cvewatch.matching.verdict import Verdict
from cvewatch.store.inventory import (
    T_RELEASE,
    image_id,
    load_image_packages,
    load_release_packages,
)
from cvewatch.store.triage import load_triage
from cvewatch.store.verdicts import replace_verdicts
from cvewatch.store.vulnerabilities import T_CPE, load_vulnerabilities


@dataclass(frozen=True, slots=True)
class ScanResult:
    release: str
    image: str | None
    verdicts: list[Verdict]
    packages: int
    unmapped_binaries: tuple[str, ...] = ()


def run_scan(
    engine: Engine,
    *,
    release: str | None = None,
    image: str | None = None,
    mapping: PackageMapping | None = None,
) -> ScanResult:
    """Scan a release (or a node image, whose release is taken from the store) and store the verdicts."""
    mapping = mapping or PackageMapping.load()
    with engine.begin() as conn:
        if image is not None:
            _, image_release = image_id(conn, image)
            release = release or image_release
        if release is None:
            raise ValueError("run_scan needs a release or an image")
        specs = load_release_packages(conn, release)
        dist = conn.execute(select(T_RELEASE.c.dist).where(T_RELEASE.c.name == release)).scalar()
        installed = None
        unmapped: tuple[str, ...] = ()
        if image is not None:
            grouped = group_by_source(load_image_packages(conn, image), specs)
            installed, unmapped = grouped.installed, grouped.unmapped
        scope = [s for s in specs if installed is None or s.name in installed]
        triage = load_triage(conn, release)
        pairs: set[tuple[str, str]] = set()
        products: set[str] = set()
        wanted: set[str] = set()
        for s in scope:
            names = mapping.names_for(s.name)
            if names.curated:
                pairs.update(names.names)
            else:
                products.add(s.name.lower())
            wanted |= distro_cves(s)
        wanted |= {cve for cve, _ in triage}
        conds = []
        pair_list, product_list = sorted(pairs), sorted(products)
        for i in range(0, len(pair_list), 400):
            conds.append(tuple_(T_CPE.c.vendor, T_CPE.c.product).in_(pair_list[i : i + 400]))
        for i in range(0, len(product_list), 400):
            conds.append(T_CPE.c.product.in_(product_list[i : i + 400]))
        if conds:
            stmt = select(T_CPE.c.cve_id).where(T_CPE.c.vulnerable.is_(True), or_(*conds)).distinct()
            wanted.update(conn.execute(stmt).scalars())
        vulns = {v.id: v for v in load_vulnerabilities(conn, sorted(wanted))}
        verdicts = scan(
            vulns, scope, mapping, release=release, dist=dist, image=image, installed=installed, triage=triage
        )
        replace_verdicts(conn, release, image, verdicts)
    return ScanResult(release, image, verdicts, len(scope), unmapped)
