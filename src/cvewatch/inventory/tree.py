"""A whole SPECS tree (``root/<folder>/<name>.spec``) -> source packages, and binary -> source mapping."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cvewatch.inventory.packages import Problem, SourcePackage
from cvewatch.inventory.specfile import parse_spec


@dataclass(frozen=True, slots=True)
class TreeResult:
    packages: tuple[SourcePackage, ...]
    problems: tuple[Problem, ...]


def load_spec_tree(root: Path, *, dist: str = ".azl3", arch: str = "x86_64") -> TreeResult:
    """Parse every ``root/*/*.spec`` in sorted order. A spec that gives no package adds Problems only.

    ``CVE-*.nopatch`` files of a folder are attached to every spec of that folder (``kernel/`` holds
    ``kernel.spec`` and ``kernel-uki.spec``; the triage concerns the folder's sources).
    """
    packages: list[SourcePackage] = []
    problems: list[Problem] = []
    if not root.is_dir():
        return TreeResult((), (Problem(str(root), "spec tree root is not a directory"),))
    defines = kernel_defines(root, dist=dist, arch=arch)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            names = sorted(p.name for p in folder.iterdir())
        except OSError as exc:
            problems.append(Problem(str(folder), f"cannot list folder: {exc}"))
            continue
        for spec in (n for n in names if n.endswith(".spec")):
            result = parse_spec(folder / spec, dist=dist, arch=arch, sibling_files=names, defines=defines)
            problems.extend(result.problems)
            if result.package is not None:
                packages.append(result.package)
    return TreeResult(tuple(packages), tuple(problems))


# Azure Linux's build macros name the kernel that out-of-tree kernel modules are built against
# (``Release: 2%{release_suffix}%{?dist}`` with ``_%azl_kernel_version.%azl_kernel_release``). The macro
# files are not in the tree; the kernel specs of the same tree give the values.
_KERNEL_MACROS = {"kernel": "azl_kernel", "kernel-hwe": "azl_kernel_hwe"}


def kernel_defines(root: Path, *, dist: str = ".azl3", arch: str = "x86_64") -> dict[str, str]:
    """``azl_kernel_version``/``azl_kernel_release`` (and the ``_hwe`` pair) from the tree's kernel specs."""
    out: dict[str, str] = {}
    for folder, prefix in _KERNEL_MACROS.items():
        spec = root / folder / f"{folder}.spec"
        if not spec.is_file():
            continue
        pkg = parse_spec(spec, dist=dist, arch=arch, sibling_files=()).package
        if pkg is None:
            continue
        release = pkg.release[: -len(dist)] if dist and pkg.release.endswith(dist) else pkg.release
        out[f"{prefix}_version"] = pkg.version
        out[f"{prefix}_release"] = release
    return out


def binary_to_source(packages: Iterable[SourcePackage]) -> dict[str, str]:
    """Map each binary RPM name the specs build (and each source name) to its source package, by the
    project's one rule (:class:`cvewatch.inventory.binaries.BinaryIndex`, without the release hint an
    installed package gives): the source whose own name is the binary name wins, else the first by name.
    """
    from cvewatch.inventory.binaries import BinaryIndex

    return BinaryIndex(packages).mapping()
