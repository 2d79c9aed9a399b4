"""Components: what is inside a source package's build output besides its own code (bundled libraries,
vendored Go modules, the toolchain it was built with), each with where cvewatch learned of it."""

from __future__ import annotations

from dataclasses import dataclass

# what a component is
KIND_BUNDLED = "bundled"
KIND_GOLANG = "golang"  # a Go module
KIND_GOLANG_STDLIB = "golang-stdlib"  # the Go standard library of a build record
KIND_TOOLCHAIN = "toolchain"  # a toolchain named by BuildRequires
KIND_CARGO = "cargo"
KIND_NPM = "npm"
KIND_GENERIC = "generic"
KINDS = (KIND_BUNDLED, KIND_GOLANG, KIND_GOLANG_STDLIB, KIND_TOOLCHAIN, KIND_CARGO, KIND_NPM, KIND_GENERIC)

# where cvewatch learned of it
ORIGIN_BUNDLED = "bundled-tag"
ORIGIN_BUILDREQUIRES = "buildrequires"
ORIGIN_SBOM = "sbom"
ORIGIN_GO_VERSION_M = "go-version-m"
SPEC_ORIGINS = (ORIGIN_BUNDLED, ORIGIN_BUILDREQUIRES)  # derived again at every `inventory load-specs`
BUILD_ORIGINS = (ORIGIN_SBOM, ORIGIN_GO_VERSION_M)  # loaded by `inventory load-sbom`; survive spec reloads


@dataclass(frozen=True, slots=True)
class Component:
    """One thing inside a source package's build output."""

    kind: str  # one of KINDS
    name: str  # "zlib", "golang.org/x/net", "golang" (a toolchain), "stdlib"
    version: str | None  # upstream version, None when unknown
    purl: str | None = None
    origin: str = ORIGIN_SBOM  # bundled-tag, buildrequires, sbom, go-version-m
    detail: str = ""  # where exactly: the tag, the BuildRequires and the EVR, the binary

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.name, self.version or "", self.origin)
