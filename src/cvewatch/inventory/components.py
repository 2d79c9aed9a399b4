"""What a source package carries inside: bundled libraries, vendored modules, the toolchain it links.

Where the facts come from (``Component.origin``):

* ``bundled-tag`` — the spec's ``Provides: bundled(NAME) = VERSION`` tags (``bundled(crate(NAME))`` is a
  Rust crate, ``bundled(golang(PATH))`` a Go module, ``bundled(npm(NAME))`` an npm package);
* ``buildrequires`` — toolchain linkage: a package that ``BuildRequires: golang`` (``msft-golang``,
  ``go-toolset``) links the Go standard library statically, one that needs ``rust``/``cargo`` the Rust
  standard library. The version is the release's own toolchain package that satisfies the requirement
  (``golang < 1.25`` picks the newest golang spec of the tree below 1.25): without a build record we
  assume the package was built with it, and the evidence says so;
* ``sbom`` — a build SBOM of the package (SPDX 2.3 or CycloneDX 1.5/1.6 JSON, as syft or cyclonedx-gomod
  write them): every element with a package URL (``pkg:golang/golang.org/x/net@v0.17.0``,
  ``pkg:golang/stdlib@v1.22.5``, ``pkg:cargo/…``, ``pkg:npm/…``, ``pkg:generic/zlib@1.2.13``);
* ``go-version-m`` — ``go version -m BINARY`` output (:mod:`cvewatch.inventory.gobuildinfo`): the Go
  toolchain and every module linked, replacements applied.

Versions are stored as upstream versions (the ``v`` of Go and crate versions removed); the purl keeps
the original. Pure functions, no I/O except :func:`read_component_file`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packageurl import PackageURL

from cvewatch.errors import InputError
from cvewatch.inventory.gobuildinfo import GoBuildInfo, looks_like_go_version_m, parse_go_version_m
from cvewatch.inventory.sbom import cyclonedx_components
from cvewatch.limits import MAX_INPUT_BYTES, check_records, load_json, read_input, too_large
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
from cvewatch.model.packages import Problem, SourcePackage
from cvewatch.versions.upstream import compare_upstream

#: BuildRequires name -> the source package of the toolchain in the release
TOOLCHAIN_PROVIDERS = {
    "golang": "golang",
    "msft-golang": "golang",
    "go-toolset": "golang",
    "golang-bin": "golang",
    "rust": "rust",
    "cargo": "rust",
    "rust-toolset": "rust",
    "nodejs": "nodejs",
    "nodejs-devel": "nodejs",
    "npm": "nodejs",
}

_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit() also takes "²" and "٣"
_BUNDLED_RE = re.compile(r"^bundled\((?P<inner>.+)\)$")
_TYPED_RE = re.compile(r"^(?P<type>crate|golang|npm|nodejs|python3dist|js|ocaml)\((?P<name>.+)\)$")
_DEP_RE = re.compile(r"^(?P<name>\S+)(?:\s+(?P<op><=|>=|==|<|>|=)\s+(?P<version>\S+))?$")


@dataclass(frozen=True, slots=True)
class ComponentsResult:
    components: tuple[Component, ...]
    problems: tuple[Problem, ...]
    format: str  # spdx-json, cyclonedx-json, go-version-m


def upstream_version(version: str | None) -> str | None:
    """``v0.17.0`` -> ``0.17.0``, ``go1.22.5`` -> ``1.22.5``; ``(devel)``, empty or unexpanded -> None."""
    if version is None:
        return None
    v = version.strip()
    if not v or v.startswith("(") or "%" in v:
        return None
    if v.startswith("go") and v[2:3] in _DIGITS:
        v = v[2:]
    if v[:1] in ("v", "V") and v[1:2] in _DIGITS:
        v = v[1:]
    v = v.removesuffix("+incompatible")
    return v or None


def _purl(type_: str, name: str, version: str | None) -> str:
    namespace: str | None = None
    if type_ == "golang" and "/" in name:
        namespace, name = name.rsplit("/", 1)
    return str(PackageURL(type=type_, namespace=namespace, name=name, version=version).to_string())


# --- spec facts ---------------------------------------------------------------------------------------


def parse_dependency(dep: str) -> tuple[str, str | None, str | None]:
    """``golang < 1.25`` -> ("golang", "<", "1.25"); ``bundled(zlib)`` -> ("bundled(zlib)", None, None)."""
    m = _DEP_RE.match(dep.strip())
    if m is None:
        return dep.strip(), None, None
    return m.group("name"), m.group("op"), m.group("version")


def bundled_components(pkg: SourcePackage) -> list[Component]:
    """The ``Provides: bundled(…)`` tags of the spec."""
    out: dict[tuple[str, str, str | None], Component] = {}
    for dep in pkg.provides:
        name, op, version = parse_dependency(dep)
        m = _BUNDLED_RE.match(name)
        if m is None:
            continue
        inner = m.group("inner")
        kind, purl_type = KIND_BUNDLED, "generic"
        t = _TYPED_RE.match(inner)
        if t is not None:
            inner = t.group("name")
            kind, purl_type = {
                "crate": (KIND_CARGO, "cargo"),
                "golang": (KIND_GOLANG, "golang"),
                "npm": (KIND_NPM, "npm"),
                "nodejs": (KIND_NPM, "npm"),
            }.get(t.group("type"), (KIND_BUNDLED, "generic"))
        v = upstream_version(version) if op in ("=", "==") else None
        unexpanded = " (version macro not expanded)" if version and "%" in version else ""
        comp = Component(
            kind,
            inner,
            v,
            _purl(purl_type, inner, (version if purl_type == "golang" else v) if v else None),
            ORIGIN_BUNDLED,
            f"Provides: {dep} in {pkg.name}.spec{unexpanded}",
        )
        out[(kind, inner, v)] = comp
    versioned = {(k, n) for k, n, v in out if v is not None}
    # edk2 tags bundled(openssl) = 3.0.7 in one subpackage and bare bundled(openssl) in others: one library
    return [c for (k, n, v), c in out.items() if v is not None or (k, n) not in versioned]


def _satisfies(version: str, op: str | None, bound: str | None) -> bool:
    if op is None or bound is None:
        return True
    bound = bound.split(":", 1)[-1].split("-", 1)[0]  # epoch and release of the bound are not compared
    c = compare_upstream(version, bound)
    return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0, "=": c == 0, "==": c == 0}[op]


def toolchain_requirements(pkg: SourcePackage) -> dict[str, list[str]]:
    """Toolchain source package -> the BuildRequires lines naming it (``{"golang": ["golang < 1.25"]}``)."""
    out: dict[str, list[str]] = {}
    for dep in pkg.build_requires:
        name, _, _ = parse_dependency(dep)
        tool = TOOLCHAIN_PROVIDERS.get(name)
        if tool is not None and tool != pkg.name:
            out.setdefault(tool, []).append(dep)
    return out


def resolve_toolchain(
    requirements: Sequence[str], candidates: Iterable[SourcePackage]
) -> tuple[SourcePackage | None, list[SourcePackage]]:
    """(the newest candidate that satisfies every requirement, or None; all candidates newest first)."""
    ordered = sorted(candidates, key=lambda p: p.evr, reverse=True)
    parsed = [parse_dependency(r) for r in requirements]
    for cand in ordered:
        if all(_satisfies(cand.version, op, bound) for _, op, bound in parsed):
            return cand, ordered
    return None, ordered


def toolchain_components(pkg: SourcePackage, release_packages: Iterable[SourcePackage]) -> list[Component]:
    """The toolchains ``pkg`` is built with, each at the release's own toolchain EVR that satisfies its
    BuildRequires (``release_packages`` may hold several specs of one name, e.g. golang 1.23…1.26)."""
    reqs = toolchain_requirements(pkg)
    if not reqs:
        return []
    by_name: dict[str, list[SourcePackage]] = {}
    for p in release_packages:
        if p.name in reqs:
            by_name.setdefault(p.name, []).append(p)
    out: list[Component] = []
    for tool, lines in sorted(reqs.items()):
        chosen, ordered = resolve_toolchain(lines, by_name.get(tool, []))
        needs = ", ".join(lines)
        if chosen is None:
            have = ", ".join(str(p.evr) for p in ordered) or "none"
            out.append(
                Component(
                    KIND_TOOLCHAIN,
                    tool,
                    None,
                    None,
                    ORIGIN_BUILDREQUIRES,
                    f"BuildRequires: {needs}; no {tool} of the release satisfies it (release has: {have})",
                )
            )
            continue
        out.append(
            Component(
                KIND_TOOLCHAIN,
                tool,
                chosen.version,
                f"pkg:rpm/azurelinux/{tool}@{chosen.version}-{chosen.release}"
                + (f"?epoch={chosen.epoch}" if chosen.epoch else ""),
                ORIGIN_BUILDREQUIRES,
                f"BuildRequires: {needs}; built with the release's {tool} {chosen.evr} (assumed: no build "
                "record)",
            )
        )
    return out


def spec_components(pkg: SourcePackage, release_packages: Iterable[SourcePackage]) -> list[Component]:
    """What the spec itself says: bundled tags and toolchain linkage."""
    return bundled_components(pkg) + toolchain_components(pkg, release_packages)


# --- build records: SBOMs and go version -m ----------------------------------------------------------


def component_from_purl(
    purl: str, *, origin: str, detail: str = "", version_hint: str | None = None
) -> Component | None:
    """A package URL -> Component; None for an RPM (the distribution's own packages are not components)
    and for the operating system. Raises InputError for a malformed purl."""
    try:
        p = PackageURL.from_string(purl)
    except ValueError as exc:
        raise InputError(f"malformed purl {purl!r}: {exc}") from exc
    t = str(p.type).lower()
    if t in ("rpm", "deb", "apk"):
        return None
    name = f"{p.namespace}/{p.name}" if p.namespace else str(p.name)
    raw_version = str(p.version) if p.version else version_hint
    version = upstream_version(raw_version)
    if t == "golang":
        if name in ("stdlib", "std", "go"):
            return Component(KIND_GOLANG_STDLIB, "stdlib", version, purl, origin, detail)
        return Component(KIND_GOLANG, name, version, purl, origin, detail)
    if t == "cargo":
        return Component(KIND_CARGO, name, version, purl, origin, detail)
    if t == "npm":
        return Component(KIND_NPM, name, version, purl, origin, detail)
    return Component(KIND_GENERIC, str(p.name), version, purl, origin, detail)


def components_from_buildinfo(
    infos: Sequence[GoBuildInfo], *, origin: str = ORIGIN_GO_VERSION_M
) -> list[Component]:
    """The Go toolchain and every linked module of each binary; one component per (name, version), its
    detail naming the binaries."""
    seen: dict[tuple[str, str, str | None], list[str]] = {}
    purls: dict[tuple[str, str, str | None], str | None] = {}
    notes: dict[tuple[str, str, str | None], str] = {}
    for info in infos:
        key = (KIND_GOLANG_STDLIB, "stdlib", upstream_version(info.go_version))
        seen.setdefault(key, []).append(info.binary)
        purls[key] = _purl("golang", "stdlib", f"go{info.go_version}")
        if info.experiments:
            notes[key] = f" ({info.experiments})"
        for dep in info.deps:
            eff = dep.effective
            version = upstream_version(eff.version)
            key = (KIND_GOLANG, dep.module.path, version)
            seen.setdefault(key, []).append(info.binary)
            purls[key] = _purl("golang", dep.module.path, eff.version) if version else None
            if dep.replaced_by is not None:
                target = f"{eff.path} {eff.version}" if eff.version else f"local folder {eff.path}"
                notes[key] = f" (replaced: {dep.module.path} {dep.module.version} => {target})"
    out: list[Component] = []
    for (kind, name, version), binaries in seen.items():
        bins = sorted(set(binaries))
        shown = ", ".join(bins[:5]) + (f" and {len(bins) - 5} more" if len(bins) > 5 else "")
        what = "built with Go" if kind == KIND_GOLANG_STDLIB else "linked in"
        out.append(
            Component(
                kind,
                name,
                version,
                purls[(kind, name, version)],
                origin,
                f"{what} {shown}{notes.get((kind, name, version), '')}",
            )
        )
    return sorted(out, key=lambda c: c.key)


def _spdx_purls(package: dict[str, Any]) -> list[str]:
    refs = package.get("externalRefs")
    if not isinstance(refs, list):
        return []
    return [
        r["referenceLocator"]
        for r in refs
        if isinstance(r, dict)
        and str(r.get("referenceType", "")).lower() == "purl"
        and isinstance(r.get("referenceLocator"), str)
    ]


def _spdx_described(doc: dict[str, Any]) -> set[str]:
    out = {str(x) for x in doc.get("documentDescribes", []) if isinstance(x, str)}
    for rel in doc.get("relationships", []) or []:
        if (
            isinstance(rel, dict)
            and rel.get("spdxElementId") == "SPDXRef-DOCUMENT"
            and rel.get("relationshipType") == "DESCRIBES"
        ):
            out.add(str(rel.get("relatedSpdxElement")))
    return out


def parse_build_sbom(doc: object, *, path: str) -> ComponentsResult:
    """A build SBOM (SPDX 2.x or CycloneDX 1.x JSON) -> its components. The described element (SPDX
    ``documentDescribes``/DESCRIBES, CycloneDX ``metadata.component``) is the package itself, not a
    component; RPM purls are skipped. A bad element is a Problem; raises only InputError, for more than
    :data:`~cvewatch.limits.MAX_RECORDS` elements."""
    problems: list[Problem] = []
    found: list[Component] = []
    if isinstance(doc, dict) and "spdxVersion" in doc:
        fmt = "spdx-json"
        described = _spdx_described(doc)
        items = doc.get("packages", [])
        items = items if isinstance(items, list) else []
        check_records(len(items), "SBOM elements", path)
        for k, item in enumerate(items):
            if not isinstance(item, dict):
                problems.append(Problem(path, f"packages[{k}]: not an object"))
                continue
            sid = str(item.get("SPDXID", ""))
            if sid in described:
                continue
            hint = item.get("versionInfo")
            for purl in _spdx_purls(item)[:1]:
                try:
                    c = component_from_purl(
                        purl,
                        origin=ORIGIN_SBOM,
                        detail=f"SPDX package {sid or item.get('name', '?')} in {Path(path).name}",
                        version_hint=hint if isinstance(hint, str) else None,
                    )
                except InputError as exc:
                    problems.append(Problem(path, f"packages[{k}] ({sid}): {exc}"))
                    continue
                if c is not None:
                    found.append(c)
    elif isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX":
        fmt = "cyclonedx-json"
        meta = doc.get("metadata")
        root = meta.get("component") if isinstance(meta, dict) else None
        root_ref = root.get("bom-ref") if isinstance(root, dict) else None
        for where, item in cyclonedx_components(doc.get("components", []), path=path):
            if not isinstance(item, dict):
                problems.append(Problem(path, f"{where}: not an object"))
                continue
            cdx_purl = item.get("purl")
            if not isinstance(cdx_purl, str) or (root_ref is not None and item.get("bom-ref") == root_ref):
                continue
            hint = item.get("version")
            try:
                c = component_from_purl(
                    cdx_purl,
                    origin=ORIGIN_SBOM,
                    detail=f"CycloneDX component {item.get('bom-ref', item.get('name', '?'))} in "
                    f"{Path(path).name}",
                    version_hint=hint if isinstance(hint, str) else None,
                )
            except InputError as exc:
                problems.append(Problem(path, f"{where}: {exc}"))
                continue
            if c is not None:
                found.append(c)
    else:
        return ComponentsResult(
            (),
            (Problem(path, "JSON document is neither SPDX (spdxVersion) nor CycloneDX (bomFormat)"),),
            "json",
        )
    unique: dict[tuple[str, str, str, str], Component] = {}
    for c in found:
        unique.setdefault(c.key, c)
    if not unique:
        problems.append(Problem(path, "no component with a package URL in the SBOM"))
    return ComponentsResult(tuple(sorted(unique.values(), key=lambda c: c.key)), tuple(problems), fmt)


def parse_component_text(data: bytes, *, path: str) -> ComponentsResult:
    """Auto-detect: SPDX JSON, CycloneDX JSON, or ``go version -m`` text. Raises InputError for
    anything else, and for an input beyond a limit of :mod:`cvewatch.limits`."""
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(too_large(MAX_INPUT_BYTES), path)
    text = data.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        doc = load_json(data, path)
        result = parse_build_sbom(doc, path=path)
        if result.format == "json":
            raise InputError(f"{path}: JSON document is neither SPDX (spdxVersion) nor CycloneDX (bomFormat)")
        return result
    if looks_like_go_version_m(text):
        infos = parse_go_version_m(text, path=path)
        return ComponentsResult(tuple(components_from_buildinfo(infos)), (), "go-version-m")
    raise InputError(f"{path}: neither an SPDX/CycloneDX JSON SBOM nor `go version -m` output")


def read_component_file(path: Path) -> ComponentsResult:
    """Read a build SBOM or ``go version -m`` output (at most :data:`~cvewatch.limits.MAX_INPUT_BYTES`)."""
    return parse_component_text(read_input(path), path=str(path))
