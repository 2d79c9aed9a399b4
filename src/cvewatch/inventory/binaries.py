"""Installed binary RPMs -> the source package builds they come from: the one rule of the project.

Package lists name **binary** RPMs (``perl-libs``, ``curl-libs``); specs, CVEs, OVAL and advisories name
**source** packages. Which source a binary comes from, and at which source EVR, is decided here and only
here: the scan of a node image, :func:`cvewatch.inventory.tree.binary_to_source` and the demo data builder
all go through :class:`BinaryIndex`.

Which source package (:meth:`BinaryIndex.source_of`):

1. the binary's SOURCERPM, when the input names it and the release has a source package of that name;
2. the specs whose ``%package`` sections build the binary; when several do (``libxpmem`` is built by both
   ``xpmem`` and ``xpmem-lib``) the one whose Release is the binary's (the build it came from) wins, then
   the one whose own name is the binary's, then the first by name;
3. a source package whose own name is the binary's, when no spec builds a binary of that name (an older
   build of it had one);

else the binary is unmapped.

Which source EVR (:meth:`BinaryIndex.group`): the **build's**, never a subpackage's own Version. perl
5.38.2-514 builds ``perl-Text-Tabs+Wrap-2021.0814-514``; comparing 2021.0814 with perl's fix 5.38.2-509 is
meaningless. The version is, in this order:

1. the SOURCERPM's version-release, when the input names it;
2. the version of an installed *carrier* of the same build (same source, same Release): the main package
   or a subpackage whose ``%package`` section sets no Version or Epoch of its own
   (:attr:`SourcePackage.own_version`), so ``perl-libs-5.38.2-514`` for ``perl-Text-Tabs+Wrap``. A carrier
   is its own carrier; among several (two kernel builds both ``-1.azl3``) the newest;
3. the spec's Version, when no carrier of that build is installed (the only version known).

The Release is the binary's, which is its build's. The epoch is the carrier's when the input gives one
(``rpm -qa --qf``, SBOMs), else the spec's Epoch: plain ``rpm -qa`` and AKS build notes print none, and
``0:5.38.2`` would sort below perl's ``4:5.38.2-509`` fix. A source with binaries of several builds
installed is scanned at the newest of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cvewatch.model.packages import InstalledPackage, SourcePackage
from cvewatch.versions.rpm import EVR

__all__ = ["BinaryIndex", "ImagePackages", "SourceRpm", "parse_source_rpm"]


@dataclass(frozen=True, slots=True)
class SourceRpm:
    """A SOURCERPM value, ``perl-5.38.2-514.azl3.src.rpm``: name, version, release (rpm gives no epoch)."""

    name: str
    version: str
    release: str


def parse_source_rpm(text: str) -> SourceRpm | None:
    """``NAME-VERSION-RELEASE.src.rpm`` (or ``.nosrc.rpm``, or without the suffix); None when malformed."""
    body = text.strip()
    for suffix in (".src.rpm", ".nosrc.rpm"):
        if body.endswith(suffix):
            body = body[: -len(suffix)]
            break
    name_version, _, release = body.rpartition("-")
    name, _, version = name_version.rpartition("-")
    if not name or not version or not release or any(c.isspace() or c == ":" for c in body):
        return None
    return SourceRpm(name, version, release)


@dataclass(frozen=True, slots=True)
class ImagePackages:
    """An image's installed binaries grouped by source package."""

    installed: dict[str, EVR]  # source package -> the source EVR of its newest installed build
    unmapped: tuple[str, ...]  # binary names no source package of the release builds


class BinaryIndex:
    """The binary -> source rule (module docstring) over the source packages of one release."""

    def __init__(self, specs: Iterable[SourcePackage]) -> None:
        builders: dict[str, list[SourcePackage]] = defaultdict(list)
        by_name: dict[str, list[SourcePackage]] = defaultdict(list)
        for spec in specs:
            by_name[spec.name].append(spec)
            for binary in dict.fromkeys(spec.subpackages):
                builders[binary].append(spec)
        # stable sorts: specs of one name (golang 1.22 and 1.24) keep their input order
        self._builders = {b: sorted(found, key=lambda s: s.name) for b, found in builders.items()}
        self._by_name = dict(by_name)

    def source_of(self, binary: InstalledPackage | str) -> SourcePackage | None:
        """The source package ``binary`` comes from (a name alone: without the release or SOURCERPM hints)."""
        pkg = binary if isinstance(binary, InstalledPackage) else None
        name = binary.name if isinstance(binary, InstalledPackage) else binary
        if pkg is not None and pkg.source_rpm:
            src = parse_source_rpm(pkg.source_rpm)
            same_name = self._by_name.get(src.name, []) if src is not None else []
            if src is not None and same_name:
                return next((s for s in same_name if s.release == src.release), same_name[0])
        candidates = self._builders.get(name)
        if candidates:
            if pkg is not None:
                candidates = [s for s in candidates if s.release == pkg.release] or candidates
            return next((s for s in candidates if s.name == name), candidates[0])
        same = self._by_name.get(name)
        return same[0] if same else None

    def mapping(self) -> dict[str, str]:
        """Every binary name the specs build, and every source name, -> its source package's name."""
        out = {name: found[0].name for name, found in self._by_name.items()}
        for binary in self._builders:
            spec = self.source_of(binary)
            assert spec is not None  # a binary some spec builds
            out[binary] = spec.name
        return out

    def group(self, installed: Sequence[InstalledPackage]) -> ImagePackages:
        """Each source package of ``installed`` with the source EVR of its newest installed build."""
        owned: list[tuple[InstalledPackage, SourcePackage]] = []
        unmapped: set[str] = set()
        for p in installed:
            spec = self.source_of(p)
            if spec is None:
                unmapped.add(p.name)
            else:
                owned.append((p, spec))
        carriers: dict[tuple[str, str], list[InstalledPackage]] = defaultdict(list)
        for p, spec in owned:
            if p.name not in spec.own_version:
                carriers[(spec.name, p.release)].append(p)
        out: dict[str, EVR] = {}
        for p, spec in owned:
            evr = _source_evr(p, spec, carriers.get((spec.name, p.release), []))
            if spec.name not in out or evr > out[spec.name]:
                out[spec.name] = evr
        return ImagePackages(out, tuple(sorted(unmapped)))


def _source_evr(p: InstalledPackage, spec: SourcePackage, carriers: Sequence[InstalledPackage]) -> EVR:
    """The EVR of the source build ``p`` comes from (the rule in the module docstring)."""
    carrier: InstalledPackage | None = p
    if p.name in spec.own_version:
        carrier = max(carriers, key=lambda c: c.evr) if carriers else None
    epoch = carrier.epoch if carrier is not None and carrier.epoch else spec.epoch
    src = parse_source_rpm(p.source_rpm) if p.source_rpm else None
    if src is not None and src.name == spec.name:
        return EVR(epoch, src.version, src.release)
    if carrier is not None:
        return EVR(epoch, carrier.version, p.release)
    return EVR(spec.epoch, spec.version, p.release)
