"""Reviewing which NVD CPE names each source package goes by: suggestions for unmapped packages and a
check of the reviewed mapping against the CPE names in the store."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import Engine

from cvewatch.matching.mapping import PackageMapping
from cvewatch.matching.suggest import MappingCheck, Suggestion, check, suggest
from cvewatch.services.inventory import require_packages
from cvewatch.store.inventory import load_release_packages
from cvewatch.store.vulnerabilities import seen_cpe_names

__all__ = ["check_mapping", "suggest_mappings"]


def suggest_mappings(
    engine: Engine,
    release: str,
    mapping: PackageMapping,
    *,
    packages: Collection[str] = (),
    upstream_urls: Mapping[str, Sequence[str]] | None = None,
    include_mapped: bool = False,
) -> list[Suggestion]:
    """CPE names proposed for the release's packages (``packages`` only, when given; else those without
    a reviewed mapping, or all with ``include_mapped``), from the CPE names in the store, the specs' URLs
    and ``upstream_urls`` (a cgmanifest's download URLs by component name)."""
    with engine.connect() as conn:
        specs = load_release_packages(conn, release)
        require_packages(conn, packages, release, "--package")
        seen = seen_cpe_names(conn)
    wanted = set(packages)
    out: list[Suggestion] = []
    for p in specs:
        if wanted and p.name not in wanted:
            continue
        if not wanted and not include_mapped and mapping.names_for(p.name).curated:
            continue
        out += suggest(p, seen, upstream_urls=(upstream_urls or {}).get(p.name, ()))
    return out


def check_mapping(engine: Engine, release: str, mapping: PackageMapping) -> MappingCheck:
    """The release's packages with no reviewed mapping, mapped names no CVE in the store uses, and mapped
    products NVD also lists under another vendor."""
    with engine.connect() as conn:
        names = [p.name for p in load_release_packages(conn, release)]
        seen = seen_cpe_names(conn)
    return check(names, mapping, seen)
