"""What changed between two installed-package lists (two node images). Pure: no I/O.

Packages are grouped by name. Within a name, an identical (EVR, arch) on both sides is unchanged; the
rest are paired newest with newest, first within the same arch, then across arches (``noarch`` ->
``x86_64``); what is left over is added or removed. So a name installed in several EVRs (two kernels in
an older image, one in the newer) gives one upgrade (the newest old kernel to the newest new one) and the
other old kernels removed.

Every list is in rpm order: by name, then by EVR with rpmvercmp, then by arch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Any

from cvewatch.model.packages import InstalledPackage


@dataclass(frozen=True, slots=True)
class Change:
    """One package name paired across the two lists."""

    old: InstalledPackage
    new: InstalledPackage

    @property
    def name(self) -> str:
        return self.new.name


@dataclass(frozen=True, slots=True)
class ImageDiff:
    added: tuple[InstalledPackage, ...]
    removed: tuple[InstalledPackage, ...]
    upgraded: tuple[Change, ...]
    downgraded: tuple[Change, ...]
    changed: tuple[Change, ...]  # same EVR by rpm's order, another arch or spelling (``01.0`` vs ``1.0``)
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [package_dict(p) for p in self.added],
            "removed": [package_dict(p) for p in self.removed],
            "upgraded": [change_dict(c) for c in self.upgraded],
            "downgraded": [change_dict(c) for c in self.downgraded],
            "changed": [change_dict(c) for c in self.changed],
            "unchanged": self.unchanged,
        }


def evr_label(p: InstalledPackage) -> str:
    """``[epoch:]version-release`` as rpm prints it (no ``0:``)."""
    return f"{p.epoch}:{p.version}-{p.release}" if p.epoch else f"{p.version}-{p.release}"


def package_dict(p: InstalledPackage) -> dict[str, Any]:
    return {
        "name": p.name,
        "epoch": p.epoch,
        "version": p.version,
        "release": p.release,
        "arch": p.arch,
        "nevra": p.nevra,
    }


def change_dict(c: Change) -> dict[str, Any]:
    return {
        "name": c.name,
        "from": evr_label(c.old),
        "to": evr_label(c.new),
        "from_arch": c.old.arch,
        "to_arch": c.new.arch,
    }


def compare_packages(a: InstalledPackage, b: InstalledPackage) -> int:
    """rpm order: name (byte order), then EVR (rpmvercmp), then arch."""
    if a.name != b.name:
        return -1 if a.name < b.name else 1
    c = a.evr.compare(b.evr)
    if c:
        return c
    # EVR.compare treats an empty release as matching; the strings still order deterministically
    ka, kb = (a.epoch, a.version, a.release, a.arch or ""), (b.epoch, b.version, b.release, b.arch or "")
    return (ka > kb) - (ka < kb)


_KEY = cmp_to_key(compare_packages)


def _change_key(c: Change) -> Any:
    return _KEY(c.new)


def _newest_first(items: list[InstalledPackage]) -> list[InstalledPackage]:
    return sorted(items, key=_KEY, reverse=True)


def _pair(
    old: list[InstalledPackage], new: list[InstalledPackage]
) -> tuple[list[Change], list[InstalledPackage], list[InstalledPackage]]:
    """(pairs, old left over, new left over) for one name, after identical entries were taken out."""
    pairs: list[Change] = []
    old_left = _newest_first(old)
    new_left = _newest_first(new)
    # first within one arch, then across arches
    for same_arch in (True, False):
        k = 0
        while k < len(old_left):
            o = old_left[k]
            match = next((n for n in new_left if not same_arch or n.arch == o.arch), None)
            if match is None:
                k += 1
                continue
            pairs.append(Change(o, match))
            old_left.pop(k)
            new_left.remove(match)
    return pairs, old_left, new_left


def diff_packages(old: Iterable[InstalledPackage], new: Iterable[InstalledPackage]) -> ImageDiff:
    """``old`` -> ``new``: added, removed, upgraded, downgraded and changed packages (see the module doc)."""
    by_name_old: dict[str, list[InstalledPackage]] = defaultdict(list)
    by_name_new: dict[str, list[InstalledPackage]] = defaultdict(list)
    for p in dict.fromkeys(old):
        by_name_old[p.name].append(p)
    for p in dict.fromkeys(new):
        by_name_new[p.name].append(p)

    added: list[InstalledPackage] = []
    removed: list[InstalledPackage] = []
    upgraded: list[Change] = []
    downgraded: list[Change] = []
    changed: list[Change] = []
    unchanged = 0
    for name in sorted(by_name_old.keys() | by_name_new.keys()):
        olds, news = by_name_old.get(name, []), by_name_new.get(name, [])
        common = set(olds) & set(news)
        unchanged += len(common)
        pairs, gone, came = _pair([p for p in olds if p not in common], [p for p in news if p not in common])
        removed.extend(gone)
        added.extend(came)
        for c in pairs:
            order = c.new.evr.compare(c.old.evr)
            (upgraded if order > 0 else downgraded if order < 0 else changed).append(c)
    return ImageDiff(
        added=tuple(sorted(added, key=_KEY)),
        removed=tuple(sorted(removed, key=_KEY)),
        upgraded=tuple(sorted(upgraded, key=_change_key)),
        downgraded=tuple(sorted(downgraded, key=_change_key)),
        changed=tuple(sorted(changed, key=_change_key)),
        unchanged=unchanged,
    )
