"""A whole SPECS tree (``root/<folder>/<name>.spec``) -> source packages, and binary -> source mapping."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cvewatch.inventory.binaries import BinaryIndex
from cvewatch.inventory.specfile import parse_spec
from cvewatch.inventory.treefiles import Folder, SpecTree
from cvewatch.model.packages import Problem, SourcePackage


@dataclass(frozen=True, slots=True)
class TreeResult:
    packages: tuple[SourcePackage, ...]
    problems: tuple[Problem, ...]


def load_spec_tree(root: Path, *, dist: str = ".azl3", arch: str = "x86_64") -> TreeResult:
    """Parse every ``root/*/*.spec`` in sorted order. A spec that gives no package adds Problems only.

    ``CVE-*.nopatch`` files of a folder are attached to every spec of that folder (``kernel/`` holds
    ``kernel.spec`` and ``kernel-uki.spec``; the triage concerns the folder's sources). Only regular files
    inside the tree are read (:mod:`cvewatch.inventory.treefiles`): a symlink out of the tree, a FIFO or a
    device is skipped with a Problem, a file over its size limit too.
    """
    packages: list[SourcePackage] = []
    problems: list[Problem] = []
    if not root.is_dir():
        return TreeResult((), (Problem(str(root), "spec tree root is not a directory"),))
    tree = SpecTree(root)
    top = tree.folder(root)
    problems.extend(top.problems)
    defines = kernel_defines(root, dist=dist, arch=arch, tree=tree)
    for name in sorted(top.folders):
        folder = tree.folder(top.folders[name])
        problems.extend(folder.problems)
        for spec in (n for n in folder.names if n.endswith(".spec")):
            result = parse_spec(folder.path / spec, dist=dist, arch=arch, folder=folder, defines=defines)
            problems.extend(result.problems)
            if result.package is not None:
                packages.append(result.package)
    return TreeResult(tuple(packages), tuple(problems))


# Azure Linux's build macros name the kernel that out-of-tree kernel modules are built against
# (``Release: 2%{release_suffix}%{?dist}`` with ``_%azl_kernel_version.%azl_kernel_release``). The macro
# files are not in the tree; the kernel specs of the same tree give the values.
_KERNEL_MACROS = {"kernel": "azl_kernel", "kernel-hwe": "azl_kernel_hwe"}


def kernel_defines(
    root: Path, *, dist: str = ".azl3", arch: str = "x86_64", tree: SpecTree | None = None
) -> dict[str, str]:
    """``azl_kernel_version``/``azl_kernel_release`` (and the ``_hwe`` pair) from the tree's kernel specs."""
    tree = tree or SpecTree(root)
    out: dict[str, str] = {}
    for folder, prefix in _KERNEL_MACROS.items():
        spec = root / folder / f"{folder}.spec"
        target = tree.file(spec)
        if target is None:
            continue
        only = Folder(spec.parent, {spec.name: target}, {}, (), tree)
        pkg = parse_spec(spec, dist=dist, arch=arch, folder=only).package
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
    return BinaryIndex(packages).mapping()
