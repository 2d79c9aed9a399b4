"""Package facts: source packages from a spec tree, installed packages of a node image.

Plain frozen values, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cvewatch.versions.rpm import EVR


@dataclass(frozen=True, slots=True)
class PatchFile:
    """A ``PatchN:`` line of a spec and the CVE ids its file name (or body) names."""

    filename: str
    number: int | None = None
    cves: tuple[str, ...] = ()
    present: bool = True  # the file exists next to the spec


@dataclass(frozen=True, slots=True)
class TriageFile:
    """A ``CVE-YYYY-NNNN.nopatch`` file: the distribution's record that the CVE does not apply."""

    cve: str
    justification: str = ""  # the file's text, stripped; empty files are common


@dataclass(frozen=True, slots=True)
class ChangelogEntry:
    date: date | None
    author: str
    evr: str | None  # as written after the author, e.g. "8.11.1-3" (no dist tag)
    text: str
    cves: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourcePackage:
    """A source RPM as its spec file defines it, with the dist tag expanded in ``release``."""

    name: str
    epoch: int
    version: str
    release: str
    subpackages: tuple[str, ...] = ()  # binary RPM names, the main package included
    patches: tuple[PatchFile, ...] = ()
    triage: tuple[TriageFile, ...] = ()
    changelog: tuple[ChangelogEntry, ...] = ()
    url: str | None = None
    source0: str | None = None
    spec_path: str | None = None
    build_requires: tuple[str, ...] = ()  # BuildRequires: values, macros expanded ("golang < 1.25")
    provides: tuple[str, ...] = ()  # Provides: values of every package section ("bundled(zlib) = 1.2.13")
    # binaries whose %package section sets its own Version or Epoch (perl's modules: perl-Text-Tabs+Wrap
    # 2021.0814 is built by perl 5.38.2): their EVR is not the source build's
    own_version: tuple[str, ...] = ()

    @property
    def evr(self) -> EVR:
        return EVR(self.epoch, self.version, self.release)


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    """A binary RPM installed in a node image (one NEVRA).

    ``source_rpm`` is rpm's SOURCERPM of the binary (``perl-5.38.2-514.azl3.src.rpm``) when the input
    names it (``rpm -qa --qf`` with ``%{SOURCERPM}``, an SBOM's ``upstream`` purl qualifier or Trivy's
    ``SrcName``/``SrcVersion``/``SrcRelease``); plain ``rpm -qa`` and AKS build notes do not. It says where a
    package came from, not which package it is: two lists of the same NEVRAs are equal with or without it
    (``inventory diff`` of an SBOM against a build note).
    """

    name: str
    epoch: int
    version: str
    release: str
    arch: str | None = None
    source_rpm: str | None = field(default=None, compare=False)

    @property
    def evr(self) -> EVR:
        return EVR(self.epoch, self.version, self.release)

    @property
    def nevra(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch else ""
        arch = f".{self.arch}" if self.arch else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}{arch}"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something an input could not give: the file, where in it, and why. Never fatal on its own."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        loc = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{loc}: {self.message}"
