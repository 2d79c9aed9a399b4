"""What every reader of a package list gives (:class:`ImageListResult`), the names of the formats it
recognises, and the name and version syntax they all check: shared by :mod:`cvewatch.inventory.imagelist`
(build notes, ``rpm -qa``, and the dispatch by format) and :mod:`cvewatch.inventory.sbom` (SPDX,
CycloneDX), which imagelist calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cvewatch.model.packages import InstalledPackage, Problem

__all__ = [
    "FORMAT_AKS_NOTE",
    "FORMAT_CYCLONEDX_JSON",
    "FORMAT_RPM_QA",
    "FORMAT_RPM_QF_JSON",
    "FORMAT_SPDX_JSON",
    "NAME_RE",
    "VERSION_RE",
    "ImageListResult",
]

# the formats a package list can have (ImageListResult.format)
FORMAT_AKS_NOTE = "aks-note"
FORMAT_RPM_QA = "rpm-qa"
FORMAT_RPM_QF_JSON = "rpm-qf-json"
FORMAT_SPDX_JSON = "spdx-json"
FORMAT_CYCLONEDX_JSON = "cyclonedx-json"

#: an rpm package name, and a version or release
NAME_RE = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+-]*$")
VERSION_RE = re.compile(r"^[A-Za-z0-9._+~^]+$")


@dataclass(frozen=True, slots=True)
class ImageListResult:
    packages: tuple[InstalledPackage, ...]
    problems: tuple[Problem, ...]
    kernel: str | None = None  # e.g. "6.6.57.1-6.azl3", from "Using kernel:"
    os_release: tuple[tuple[str, str], ...] = field(default=())  # KEY, value (quotes removed), in order
    format: str = ""  # one of the FORMAT_* names
    skipped: int = 0  # SBOM elements that are not RPMs (other ecosystems, the OS, the image itself)
