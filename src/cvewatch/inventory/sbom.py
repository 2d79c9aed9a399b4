"""Installed RPMs from SBOMs: SPDX 2.x JSON and CycloneDX 1.x JSON, as syft and Trivy write them.

Both formats name an RPM by its package URL: ``pkg:rpm/azurelinux/curl@8.11.1-3.azl3?arch=x86_64&epoch=1``
(version-release in the purl's version, the epoch and arch as qualifiers; some tools write ``1:2.3-4`` as the
version instead of an ``epoch`` qualifier). Where an SPDX package has a ``purl`` external reference or a
CycloneDX component a ``purl``, it is read with ``packageurl-python``; elements that are not RPMs (other
ecosystems, the operating system, the image itself, elements without a purl) are counted in
``ImageListResult.skipped``. The binary's source RPM is kept when the SBOM names it (the purl's
``upstream`` qualifier, as syft writes it, or Trivy's ``SrcName``/``SrcVersion``/``SrcRelease``
properties). A malformed element is a Problem naming the file and the element (``packages[12]
(SPDXRef-…)``, ``components[3].components[0] (bom-ref …)``). No I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from packageurl import PackageURL

from cvewatch.errors import InputError
from cvewatch.inventory.packagelist import (
    FORMAT_CYCLONEDX_JSON,
    FORMAT_SPDX_JSON,
    NAME_RE,
    VERSION_RE,
    ImageListResult,
)
from cvewatch.limits import MAX_RECORDS, check_records
from cvewatch.model.packages import InstalledPackage, Problem
from cvewatch.versions.rpm import is_ascii_number, parse_epoch


def is_sbom(doc: object) -> bool:
    """True for a document that says it is SPDX (``spdxVersion``) or CycloneDX (``bomFormat``)."""
    return isinstance(doc, dict) and ("spdxVersion" in doc or doc.get("bomFormat") == "CycloneDX")


def package_from_purl(purl: str, *, version_hint: str | None = None) -> InstalledPackage | None:
    """An ``pkg:rpm/…`` purl -> InstalledPackage; None for another package type. Raises InputError.

    ``version_hint`` (SPDX ``versionInfo``, CycloneDX ``version``) is used when the purl has no version.
    """
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError as exc:
        raise InputError(f"malformed purl {purl!r}: {exc}") from exc
    if str(parsed.type).lower() != "rpm":
        return None
    name = str(parsed.name)
    qualifiers: dict[str, str] = dict(parsed.qualifiers or {})
    text = str(parsed.version or version_hint or "").strip()
    if not text:
        raise InputError(f"rpm purl without a version: {purl!r}")
    epoch_text = qualifiers.get("epoch", "").strip()
    if ":" in text:
        head, _, text = text.partition(":")
        if epoch_text and epoch_text != head:
            raise InputError(f"rpm purl with two epochs ({head!r} and epoch={epoch_text!r}): {purl!r}")
        epoch_text = head
    version, dash, release = text.rpartition("-")
    if not dash or not version or not release:
        raise InputError(f"rpm purl version has no release ({text!r}): {purl!r}")
    if epoch_text and not is_ascii_number(epoch_text):  # "²" and "٣" pass str.isdigit()
        raise InputError(f"rpm purl with a non-numeric epoch {epoch_text!r}: {purl!r}")
    try:
        epoch = parse_epoch(epoch_text) if epoch_text else 0
    except InputError as exc:
        raise InputError(f"rpm purl with a bad epoch ({exc}): {purl!r}") from None
    if not NAME_RE.match(name) or not VERSION_RE.match(version) or not VERSION_RE.match(release):
        raise InputError(f"rpm purl is not a package name, version and release: {purl!r}")
    arch = qualifiers.get("arch") or None
    source_rpm = qualifiers.get("upstream") or None  # syft: upstream=curl-8.11.1-11.azl3.src.rpm
    return InstalledPackage(name, epoch, version, release, arch, source_rpm)


def _spdx_purl(package: dict[str, Any]) -> str | None:
    refs = package.get("externalRefs")
    if not isinstance(refs, list):
        return None
    purls: list[str] = [
        r["referenceLocator"]
        for r in refs
        if isinstance(r, dict)
        and str(r.get("referenceType", "")).lower() == "purl"
        and isinstance(r.get("referenceLocator"), str)
    ]
    rpm = [p for p in purls if p.startswith("pkg:rpm/")]
    candidates = rpm or purls
    return candidates[0] if candidates else None


def parse_spdx(doc: dict[str, Any], *, path: str) -> ImageListResult:
    """An SPDX 2.x JSON document: each package with a ``purl`` external reference of type rpm."""
    packages: list[InstalledPackage] = []
    problems: list[Problem] = []
    skipped = 0
    version = str(doc.get("spdxVersion", ""))
    if not version.startswith("SPDX-2."):
        problems.append(Problem(path, f"spdxVersion {version!r}: only SPDX 2.x JSON is read"))
    items = doc.get("packages", [])
    if not isinstance(items, list):
        problems.append(Problem(path, "SPDX document: 'packages' is not a list"))
        items = []
    check_records(len(items), "SBOM elements", path)
    for k, item in enumerate(items):
        where = f"packages[{k}]"
        if not isinstance(item, dict):
            problems.append(Problem(path, f"{where}: not an object"))
            continue
        where = f"{where} ({item.get('SPDXID', item.get('name', '?'))})"
        purl = _spdx_purl(item)
        if purl is None:
            skipped += 1
            continue
        hint = item.get("versionInfo")
        try:
            pkg = package_from_purl(purl, version_hint=hint if isinstance(hint, str) else None)
        except InputError as exc:
            problems.append(Problem(path, f"{where}: {exc}"))
            continue
        if pkg is None:
            skipped += 1
            continue
        packages.append(pkg)
    if not packages:
        problems.append(Problem(path, f"no rpm packages in the SPDX document ({skipped} other elements)"))
    return ImageListResult(tuple(packages), tuple(problems), format=FORMAT_SPDX_JSON, skipped=skipped)


_SHOWN_DEPTH = 8  # nested components deeper than this are named by their first 8 levels and "…"


def cyclonedx_components(items: object, *, path: str) -> Iterator[tuple[str, object]]:
    """(where, component) of a CycloneDX ``components`` list, nested components included, depth first.

    Iterative, so that any nesting orjson accepts (:data:`~cvewatch.limits.MAX_JSON_DEPTH`) is safe; a
    deep element's ``where`` stops growing after :data:`_SHOWN_DEPTH` levels (``components[0]…[3]``), so a
    deep document cannot fill memory with names. More than :data:`~cvewatch.limits.MAX_RECORDS` elements
    is an InputError."""
    if not isinstance(items, list):
        return
    stack: list[tuple[Iterator[tuple[int, object]], str]] = [(enumerate(items), "components")]
    count = 0
    while stack:
        it, prefix = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            stack.pop()
            continue
        k, item = nxt
        count += 1
        if count > MAX_RECORDS:
            check_records(count, "SBOM elements", path)
        where = f"{prefix}[{k}]"
        yield where, item
        if isinstance(item, dict) and isinstance(item.get("components"), list):
            deeper = f"{where}.components" if len(stack) < _SHOWN_DEPTH else f"{prefix.removesuffix('…')}…"
            stack.append((enumerate(item["components"]), deeper))


def _with_trivy_source(pkg: InstalledPackage, properties: object) -> InstalledPackage:
    """``pkg`` with the source RPM Trivy names in its properties (``aquasecurity:trivy:SrcName``,
    ``SrcVersion``, ``SrcRelease``), when all three are there."""
    if not isinstance(properties, list):
        return pkg
    found = {
        str(p.get("name", "")).removeprefix("aquasecurity:trivy:"): str(p.get("value", "")).strip()
        for p in properties
        if isinstance(p, dict)
    }
    name, version, release = (found.get(k) for k in ("SrcName", "SrcVersion", "SrcRelease"))
    if not name or not version or not release:
        return pkg
    return replace(pkg, source_rpm=f"{name}-{version}-{release}.src.rpm")


def parse_cyclonedx(doc: dict[str, Any], *, path: str) -> ImageListResult:
    """A CycloneDX 1.x JSON BOM: each component (nested ones too) whose ``purl`` is an rpm purl. The
    ``operating-system`` component gives ``os_release`` ID and VERSION_ID."""
    packages: list[InstalledPackage] = []
    problems: list[Problem] = []
    os_release: list[tuple[str, str]] = []
    skipped = 0
    spec = str(doc.get("specVersion", ""))
    if not spec.startswith("1."):
        problems.append(Problem(path, f"specVersion {spec!r}: only CycloneDX 1.x JSON is read"))
    items = doc.get("components", [])
    if not isinstance(items, list):
        problems.append(Problem(path, "CycloneDX document: 'components' is not a list"))
    for where, item in cyclonedx_components(items, path=path):
        if not isinstance(item, dict):
            problems.append(Problem(path, f"{where}: not an object"))
            continue
        label = f"{where} ({item.get('bom-ref', item.get('name', '?'))})"
        purl = item.get("purl")
        if item.get("type") == "operating-system" and not os_release:
            if item.get("name"):
                os_release.append(("ID", str(item["name"])))
            if item.get("version"):
                os_release.append(("VERSION_ID", str(item["version"])))
        if purl is None:
            skipped += 1
            continue
        if not isinstance(purl, str):
            problems.append(Problem(path, f"{label}: purl is not a string"))
            continue
        hint = item.get("version")
        try:
            pkg = package_from_purl(purl, version_hint=hint if isinstance(hint, str) else None)
        except InputError as exc:
            problems.append(Problem(path, f"{label}: {exc}"))
            continue
        if pkg is None:
            skipped += 1
            continue
        packages.append(pkg if pkg.source_rpm else _with_trivy_source(pkg, item.get("properties")))
    if not packages:
        problems.append(Problem(path, f"no rpm components in the CycloneDX BOM ({skipped} other elements)"))
    return ImageListResult(
        tuple(packages),
        tuple(problems),
        os_release=tuple(os_release),
        format=FORMAT_CYCLONEDX_JSON,
        skipped=skipped,
    )


def parse_sbom_document(doc: object, *, path: str) -> ImageListResult:
    """A decoded JSON document: SPDX or CycloneDX; anything else is a Problem. Raises only InputError,
    for more than :data:`~cvewatch.limits.MAX_RECORDS` elements."""
    if isinstance(doc, dict) and "spdxVersion" in doc:
        return parse_spdx(doc, path=path)
    if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
        return parse_cyclonedx(doc, path=path)
    return ImageListResult(
        (), (Problem(path, "JSON document is neither SPDX (spdxVersion) nor CycloneDX (bomFormat)"),)
    )
