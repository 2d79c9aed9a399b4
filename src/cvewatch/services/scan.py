"""Running a scan against the store: read what it needs, decide, write the verdicts back.

A scan is *full* the first time, on request, or when the mapping or the decision rules changed since the
last scan of the same scope; otherwise it is *incremental*: only CVEs stored (or triaged) since the last
scan, and packages changed since then, are evaluated again, and only their verdicts replaced. The result
equals a full rescan (tests/matching/test_incremental.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import Connection, Engine, Table, func, insert, select, update

from cvewatch.errors import InputError
from cvewatch.gcpause import gc_paused
from cvewatch.inventory.components import TOOLCHAIN_PROVIDERS
from cvewatch.inventory.sbom import package_from_purl
from cvewatch.matching.cna import package_aliases
from cvewatch.matching.components import ComponentFacts, ComponentMapping, effective_components, search_terms
from cvewatch.matching.mapping import PackageMapping
from cvewatch.matching.rules import RULES_VERSION, distro_cves
from cvewatch.matching.scan import group_by_source
from cvewatch.model.components import KIND_TOOLCHAIN, Component
from cvewatch.model.packages import SourcePackage
from cvewatch.model.verdicts import Verdict
from cvewatch.services.shards import ScanScope, decide_scope, load_records, run_full
from cvewatch.store.components import load_components
from cvewatch.store.cve5 import T_CVE5, cves_naming_cna
from cvewatch.store.db import refresh_statistics
from cvewatch.store.inventory import (
    T_IMAGE,
    T_RELEASE,
    T_SRC,
    image_id,
    load_image_packages,
    load_release_packages,
    release_id,
)
from cvewatch.store.models import ScanRunRow
from cvewatch.store.triage import T_TRIAGE_RECORD, load_triage
from cvewatch.store.verdicts import T_VERDICT, VerdictChanges, apply_diff, load_verdicts, replace_verdicts
from cvewatch.store.vulnerabilities import T_VULN, cves_naming
from cvewatch.versions.rpm import EVR

T_SCAN: Table = ScanRunRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class ScanResult:
    release: str
    image: str | None
    verdicts: list[Verdict]  # every verdict of the scope after the scan
    packages: int
    mode: str = "full"
    cves_evaluated: int = 0
    packages_evaluated: int = 0
    unmapped_binaries: tuple[str, ...] = ()
    changes: VerdictChanges = field(default_factory=VerdictChanges)  # what the scan changed in the store


def candidate_cves(
    conn: Connection,
    specs: Iterable[SourcePackage],
    mapping: PackageMapping,
    triage: Iterable[tuple[str, str]],
) -> set[str]:
    """Ids of the CVEs that something links to one of ``specs``: a vulnerable CPE criterion naming one of
    their products, a CVE JSON 5 affected entry naming one of their aliases, their own CVE
    patches/changelog/.nopatch, or a triage record."""
    specs = list(specs)
    names = {s.name for s in specs}
    aliases: set[str] = set()
    wanted: set[str] = {cve for cve, package in triage if package in names}
    for s in specs:
        aliases |= package_aliases(s, mapping.names_for(s.name), mapping.cna_products(s.name))
        wanted |= distro_cves(s)
    wanted |= cves_naming_cna(conn, names=aliases)
    wanted |= cves_naming(conn, *mapping.cpe_names(names))
    return wanted


def component_candidate_cves(
    conn: Connection, specs: Iterable[SourcePackage], facts: ComponentFacts
) -> set[str]:
    """Ids of the CVEs that name a component of one of ``specs`` (its CPE names, its CVE JSON 5
    vendor/product, a packageName inside its Go module) or a protocol one of them implements."""
    specs = list(specs)
    comps: list[Component] = []
    for s in specs:
        comps += effective_components(s, facts.components.get(s.name, ()), facts.mapping)
    cpe, cna, modules = search_terms(comps, facts.mapping, [s.name for s in specs])
    wanted = cves_naming(conn, cpe)
    wanted |= cves_naming_cna(
        conn,
        vendor_products=[(v, p) for v, p in cna if p != "*"],
        vendors=[v for v, p in cna if p == "*"],
        modules=modules,
    )
    return wanted


def load_component_facts(
    conn: Connection, release: str, specs: Sequence[SourcePackage], mapping: ComponentMapping | None = None
) -> ComponentFacts:
    """The release's components (store) and toolchain EVRs (its golang/rust/nodejs packages)."""
    toolchains: dict[str, list[EVR]] = {}
    names = set(TOOLCHAIN_PROVIDERS.values())
    for s in specs:
        if s.name in names:
            toolchains.setdefault(s.name, []).append(s.evr)
    components = load_components(conn, release)
    for comps in components.values():  # the toolchain specs the load resolved (golang 1.24 beside 1.26)
        for c in comps:
            if c.kind == KIND_TOOLCHAIN and c.purl and c.purl.startswith("pkg:rpm/"):
                found = package_from_purl(c.purl)
                if found is not None and found.evr not in toolchains.setdefault(c.name, []):
                    toolchains[c.name].append(found.evr)
    return ComponentFacts(
        {k: tuple(v) for k, v in components.items()},
        {k: tuple(sorted(v)) for k, v in toolchains.items()},
        mapping or ComponentMapping.load(),
    )


def scan_digest(mapping: PackageMapping, components: ComponentMapping) -> str:
    """What a stored scan must share with this one to be the base of an incremental scan."""
    return hashlib.sha256(f"{mapping.digest}\n{components.digest}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _LastScan:
    started: datetime
    mapping_digest: str | None
    rules_version: int | None
    verdicts: int | None  # the scope's verdicts after it


def _last_scan(conn: Connection, rid: int, iid: int | None) -> _LastScan | None:
    c = T_SCAN.c
    stmt = (
        select(c.started, c.mapping_digest, c.rules_version, c.verdicts)
        .where(c.release_id == rid, c.image_id.is_(None) if iid is None else c.image_id == iid)
        .where(c.finished.is_not(None))
        .order_by(c.id.desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    return _LastScan(row.started, row.mapping_digest, row.rules_version, row.verdicts)


def _count_verdicts(conn: Connection, rid: int, iid: int | None) -> int:
    c = T_VERDICT.c
    stmt = select(func.count()).where(
        c.release_id == rid, c.image_id.is_(None) if iid is None else c.image_id == iid
    )
    return int(conn.execute(stmt).scalar_one())


def _changed_cves(conn: Connection, since: datetime) -> set[str]:
    out = set(conn.execute(select(T_VULN.c.id).where(T_VULN.c.stored_at > since)).scalars())
    out |= set(conn.execute(select(T_CVE5.c.cve_id).where(T_CVE5.c.stored_at > since)).scalars())
    out |= set(
        conn.execute(select(T_TRIAGE_RECORD.c.cve_id).where(T_TRIAGE_RECORD.c.created_at > since)).scalars()
    )
    return out


def _changed_packages(conn: Connection, rid: int, since: datetime) -> set[str]:
    stmt = select(T_SRC.c.name).where(T_SRC.c.release_id == rid, T_SRC.c.changed_at > since)
    return set(conn.execute(stmt).scalars())


@lru_cache(maxsize=1)
def _shipped_mapping() -> PackageMapping:
    return PackageMapping.load()


@lru_cache(maxsize=1)
def _shipped_component_mapping() -> ComponentMapping:
    return ComponentMapping.load()


def run_scan(
    engine: Engine,
    *,
    release: str | None = None,
    image: str | None = None,
    mapping: PackageMapping | None = None,
    full: bool = False,
    component_mapping: ComponentMapping | None = None,
    collect: bool = True,
    workers: int | None = None,
) -> ScanResult:
    """Scan a release (or a node image, whose release is taken from the store) and store the verdicts.
    The packages' components (``inventory load-specs``/``load-sbom``) are matched too. With
    ``collect=False`` the scan does not hand back the scope's verdicts (``ScanResult.verdicts`` then holds
    only those an incremental scan evaluated, none for a full one); the store has them all. A full scan
    runs in ``workers`` processes (default: :func:`cvewatch.services.shards.default_workers`)."""
    mapping = mapping or _shipped_mapping()
    component_mapping = component_mapping or _shipped_component_mapping()
    digest = scan_digest(mapping, component_mapping)
    started = datetime.now(UTC)
    # a scan makes many objects and no cycles; a long-lived process (the scheduler) has a large heap that
    # every collection of the oldest generation would walk
    with gc_paused(), engine.begin() as conn:
        iid: int | None = None
        if image is not None:
            iid, image_release = image_id(conn, image)
            if release is not None and release != image_release:
                raise InputError(
                    f"image {image!r} is an image of release {image_release!r}, not of {release!r}"
                )
            release = image_release
        if release is None:
            raise ValueError("run_scan needs a release or an image")
        rid = release_id(conn, release)
        specs = load_release_packages(conn, release, cve_changelog_only=True)
        dist = conn.execute(select(T_RELEASE.c.dist).where(T_RELEASE.c.id == rid)).scalar()
        installed = None
        unmapped: tuple[str, ...] = ()
        if image is not None:
            grouped = group_by_source(load_image_packages(conn, image), specs)
            installed, unmapped = grouped.installed, grouped.unmapped
        scope = [s for s in specs if installed is None or s.name in installed]
        triage = load_triage(conn, release)
        facts = load_component_facts(conn, release, specs, component_mapping)

        last = None if full else _last_scan(conn, rid, iid)
        if last is not None and (last.mapping_digest != digest or last.rules_version != RULES_VERSION):
            last = None
        if last is not None and iid is not None:
            loaded = conn.execute(select(T_IMAGE.c.loaded_at).where(T_IMAGE.c.id == iid)).scalar()
            if loaded is not None and loaded > last.started:
                last = None  # the image's package list was replaced: start over

        run_id = conn.execute(
            insert(T_SCAN).values(
                release_id=rid,
                image_id=iid,
                started=started,
                mode="full" if last is None else "incremental",
                mapping_digest=digest,
                rules_version=RULES_VERSION,
            )
        ).inserted_primary_key[0]  # type: ignore[index]

        shard_scope = ScanScope(
            release, dist, image, rid, iid, scope, mapping, installed, triage, facts, collect
        )
        if last is None:
            ids = candidate_cves(conn, scope, mapping, triage) | component_candidate_cves(conn, scope, facts)
            outcome = run_full(engine, conn, shard_scope, ids, workers)
            changes = apply_diff(conn, rid, iid, outcome.diff, started)
            verdicts = outcome.verdicts
            cves_n, pkgs_n = outcome.cves, len(scope)
        else:
            changed_cves = _changed_cves(conn, last.started)
            changed = _changed_packages(conn, rid, last.started) & {s.name for s in scope}
            present = {s.name for s in scope}
            # packages leave a release only when it is loaded again (replace_release_packages)
            reloaded = conn.execute(select(T_RELEASE.c.loaded_at).where(T_RELEASE.c.id == rid)).scalar()
            gone: set[str] = set()
            if reloaded is None or reloaded > last.started:
                gone = (
                    set(
                        conn.execute(
                            select(T_VERDICT.c.package)
                            .where(T_VERDICT.c.release_id == rid)
                            .where(
                                T_VERDICT.c.image_id.is_(None) if iid is None else T_VERDICT.c.image_id == iid
                            )
                            .distinct()
                        ).scalars()
                    )
                    - present
                )
            changed_specs = [s for s in scope if s.name in changed]
            other_specs = [s for s in scope if s.name not in changed]
            ids_p = (
                candidate_cves(conn, changed_specs, mapping, triage)
                | component_candidate_cves(conn, changed_specs, facts)
                if changed_specs
                else set()
            )
            vulns_p, cna_p = load_records(conn, ids_p)
            vulns_c, cna_c = load_records(conn, changed_cves)
            verdicts = decide_scope(shard_scope, vulns_p, cna_p, changed_specs)
            verdicts += decide_scope(shard_scope, vulns_c, cna_c, other_specs)
            changes = replace_verdicts(
                conn,
                release,
                image,
                verdicts,
                only_cves=sorted(changed_cves),
                only_packages=sorted(changed | gone),
            )
            cves_n, pkgs_n = len(vulns_c | vulns_p), len(changed_specs)
        # a full scan has every verdict in hand (when collecting); an incremental one merged into the stored
        all_verdicts = verdicts if last is None or not collect else load_verdicts(conn, release, image)
        conn.execute(
            update(T_SCAN)
            .where(T_SCAN.c.id == run_id)
            .values(
                finished=datetime.now(UTC),
                cves_evaluated=cves_n,
                packages_evaluated=pkgs_n,
                verdicts=len(all_verdicts)
                if collect
                else last.verdicts + changes.added - changes.removed
                if last is not None and last.verdicts is not None
                else _count_verdicts(conn, rid, iid),
            )
        )
    refresh_statistics(engine, changes.written, (T_VERDICT.name,))
    return ScanResult(
        release,
        image,
        all_verdicts,
        len(scope),
        "full" if last is None else "incremental",
        cves_n,
        pkgs_n,
        unmapped,
        changes,
    )
