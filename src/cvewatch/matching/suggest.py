"""Reviewing the package -> CPE mapping: candidates for unmapped packages, and mappings that look stale.

Pure functions over what the store has seen (which vendor:product pairs NVD uses, and how often) and
what the packages say about their upstream (spec URL, Source0, an upstream manifest such as
Azure Linux's cgmanifest.json). Suggestions are for a person to review, never applied automatically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from cvewatch.matching.mapping import PackageMapping, VendorProduct
from cvewatch.model.packages import SourcePackage

_PREFIXES = ("python3-", "python-", "perl-", "golang-", "rust-", "nodejs-", "ruby-", "lib")
_GENERIC_HOSTS = {
    "github.com",
    "gitlab.com",
    "sourceforge.net",
    "download.sourceforge.net",
    "pypi.org",
    "files.pythonhosted.org",
    "www.kernel.org",
    "kernel.org",
    "cdn.kernel.org",
    "bitbucket.org",
    "crates.io",
    "proxy.golang.org",
    "registry.npmjs.org",
    "ftp.gnu.org",
    "www.gnu.org",
    "azurelinuxsrcstorage.blob.core.windows.net",
    "cpan.metacpan.org",
    "search.cpan.org",
    "www.cpan.org",
    "metacpan.org",
    "gitlab.freedesktop.org",
    "releases.pagure.org",
}


@dataclass(frozen=True, slots=True)
class Suggestion:
    package: str
    vendor: str
    product: str
    score: float
    cves: int  # CVEs in the store that name the pair
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.vendor}:{self.product}"


def name_variants(name: str) -> list[str]:
    """Product names a package may go by in NVD: ``python3-jinja2`` -> ``jinja2``, ``libcap`` -> ``cap``…"""
    base = name.lower()
    out = [base]
    for prefix in _PREFIXES:
        if base.startswith(prefix) and len(base) > len(prefix) + 1:
            out.append(base[len(prefix) :])
    if not base.startswith("lib"):
        out.append("lib" + base)
    for v in list(out):
        out.extend({v.replace("-", "_"), v.replace("_", "-"), re.sub(r"\d+$", "", v)} - {v, ""})
    seen: dict[str, None] = {}
    for v in out:
        seen.setdefault(v, None)
    return list(seen)


def url_candidates(url: str) -> list[tuple[str, str | None, str]]:
    """(vendor, product or None, reason) guesses from an upstream URL."""
    parsed = urlparse(url.strip())
    host = (parsed.hostname or "").lower()
    parts = [p for p in parsed.path.split("/") if p]
    out: list[tuple[str, str | None, str]] = []
    if host in ("github.com", "gitlab.com", "bitbucket.org") and len(parts) >= 2:
        out.append(
            (parts[0].lower(), parts[1].lower().removesuffix(".git"), f"{host} project {parts[0]}/{parts[1]}")
        )
    if host.endswith(".sourceforge.net") or host.endswith(".sourceforge.io"):
        project = host.split(".")[0]
        out.append((f"{project}_project", project, f"SourceForge project {project}"))
    if host == "sourceforge.net" and len(parts) >= 2 and parts[0] == "projects":
        out.append((f"{parts[1]}_project", parts[1], f"SourceForge project {parts[1]}"))
    if host in ("ftp.gnu.org", "www.gnu.org") and len(parts) >= 2 and parts[0] in ("gnu", "software"):
        out.append(("gnu", parts[1].lower(), f"GNU project {parts[1]}"))
    if host and host not in _GENERIC_HOSTS:
        labels = [
            x for x in host.split(".") if x not in ("www", "ftp", "download", "downloads", "dl", "files")
        ]
        if len(labels) >= 2:
            out.append((labels[-2], None, f"upstream host {host}"))
    return out


def suggest(
    package: SourcePackage,
    seen: Mapping[str, Mapping[str, int]],
    *,
    upstream_urls: Sequence[str] = (),
    limit: int = 5,
) -> list[Suggestion]:
    """Candidate CPE names for ``package``. ``seen`` maps product -> vendor -> number of CVEs naming it."""
    scores: dict[VendorProduct, float] = {}
    reasons: dict[VendorProduct, list[str]] = {}

    def add(pair: VendorProduct, score: float, reason: str) -> None:
        if reason in reasons.get(pair, ()):
            return
        scores[pair] = scores.get(pair, 0.0) + score
        reasons.setdefault(pair, []).append(reason)

    variants = name_variants(package.name)
    for i, product in enumerate(variants):
        for vendor, count in seen.get(product, {}).items():
            add((vendor, product), 3.0 if i == 0 else 2.0, f"NVD names {vendor}:{product} in {count} CVEs")
    urls = list(dict.fromkeys(u for u in (package.url, package.source0, *upstream_urls) if u))
    for url in urls:
        for vendor, url_product, why in url_candidates(url):
            if url_product is not None:
                in_store = vendor in seen.get(url_product, {})
                add((vendor, url_product), 2.0 if in_store else 0.5, f"{why} ({url})")
            else:
                for product_name in variants:
                    if vendor in seen.get(product_name, {}):
                        add((vendor, product_name), 1.5, f"{why} matches the vendor ({url})")
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [
        Suggestion(package.name, v, p, round(s, 2), seen.get(p, {}).get(v, 0), tuple(reasons[(v, p)]))
        for (v, p), s in ranked
    ]


@dataclass(frozen=True, slots=True)
class MappingCheck:
    unmapped: tuple[tuple[str, int], ...]  # package, CVEs the name-fallback finds in the store
    never_matched: tuple[tuple[str, str], ...]  # package, "vendor:product" no CVE in the store names
    other_vendors: tuple[tuple[str, str, str, int], ...]  # package, product, unmapped vendor, CVEs


def check(
    packages: Iterable[str], mapping: PackageMapping, seen: Mapping[str, Mapping[str, int]]
) -> MappingCheck:
    """Packages without a reviewed mapping, mapped names that never matched, and mapped products that NVD
    also lists under a vendor the mapping does not name (the openssh/openbsd case: review them)."""
    unmapped: list[tuple[str, int]] = []
    never: list[tuple[str, str]] = []
    others: list[tuple[str, str, str, int]] = []
    for name in sorted(set(packages)):
        names = mapping.names_for(name)
        if not names.curated:
            unmapped.append((name, sum(seen.get(name.lower(), {}).values())))
            continue
        vendors_by_product: dict[str, set[str]] = {}
        for vendor, product in names.names:
            vendors_by_product.setdefault(product, set()).add(vendor)
            if vendor not in seen.get(product, {}):
                never.append((name, f"{vendor}:{product}"))
        for product, vendors in vendors_by_product.items():
            for vendor, count in sorted(seen.get(product, {}).items()):
                if vendor not in vendors:
                    others.append((name, product, vendor, count))
    return MappingCheck(tuple(unmapped), tuple(never), tuple(others))
