"""Installed-package lists of a node image: an AKS node-image build note or a plain ``rpm -qa`` list.

A build note carries the NEVRA list between ``=== Installed Packages Begin`` and
``=== Installed Packages End``, the ``/etc/os-release`` text between ``=== os-release Begin`` and
``=== os-release End``, and the running kernel on the line after ``Using kernel:``
(``Linux version 6.6.57.1-6.azl3 (root@...) ...``). Anything else in the note is ignored.
A plain list is one NEVRA per line; blank lines and ``#`` comments are skipped. A list made with
``rpm -qa --qf '{"name":"%{NAME}","epoch":"%{EPOCH}","version":"%{VERSION}","release":"%{RELEASE}",
"arch":"%{ARCH}"}\n'`` (one JSON object per line, ``(none)`` for an absent epoch or arch; a
``"sourcerpm":"%{SOURCERPM}"`` member is kept as the binary's source build) is recognised by its first
line. SPDX and CycloneDX JSON documents are read by :mod:`cvewatch.inventory.sbom`;
:func:`parse_package_text` and :func:`parse_package_list` pick the reader. No I/O except
:func:`parse_package_list`.

A malformed line or element is a Problem and the rest is read; an input beyond a limit of
:mod:`cvewatch.limits` (file size, number of lines or elements, JSON nesting) is refused whole with an
InputError naming the file and the limit.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from cvewatch.errors import InputError
from cvewatch.inventory.packagelist import (
    FORMAT_AKS_NOTE,
    FORMAT_CYCLONEDX_JSON,
    FORMAT_RPM_QA,
    FORMAT_RPM_QF_JSON,
    FORMAT_SPDX_JSON,
    NAME_RE,
    VERSION_RE,
    ImageListResult,
)
from cvewatch.inventory.sbom import is_sbom, parse_sbom_document
from cvewatch.limits import check_records, json_error, line_count, load_json, read_input
from cvewatch.model.packages import InstalledPackage, Problem
from cvewatch.versions.rpm import parse_epoch

__all__ = [
    "ARCHES",
    "FORMAT_AKS_NOTE",
    "FORMAT_CYCLONEDX_JSON",
    "FORMAT_RPM_QA",
    "FORMAT_RPM_QF_JSON",
    "FORMAT_SPDX_JSON",
    "OS_RELEASE_BEGIN",
    "OS_RELEASE_END",
    "PACKAGES_BEGIN",
    "PACKAGES_END",
    "ImageListResult",
    "parse_image_list",
    "parse_nevra",
    "parse_package_list",
    "parse_package_text",
]

PACKAGES_BEGIN = "=== Installed Packages Begin"
PACKAGES_END = "=== Installed Packages End"
OS_RELEASE_BEGIN = "=== os-release Begin"
OS_RELEASE_END = "=== os-release End"

ARCHES = frozenset(
    {
        "noarch",
        "x86_64",
        "aarch64",
        "i686",
        "i586",
        "i486",
        "i386",
        "armv7hl",
        "armv7l",
        "ppc64le",
        "ppc64",
        "s390x",
        "riscv64",
        "src",
        "nosrc",
    }
)
_KERNEL_RE = re.compile(r"^Linux version (\S+)")


def parse_nevra(s: str) -> InstalledPackage:
    """``name-[epoch:]version-release[.arch]`` -> InstalledPackage. Raises InputError.

    The arch is recognised only from a known list (``noarch``, ``x86_64``, ``aarch64``, ``i686``...);
    ``gpg-pubkey-3135ce90-5e6fda74`` has none.
    """
    text = s.strip()
    if not text or any(c.isspace() for c in text):
        raise InputError(f"not a NEVRA: {s.strip()!r}")
    arch: str | None = None
    body = text
    head, dot, tail = text.rpartition(".")
    if dot and tail in ARCHES:
        body, arch = head, tail
    name_ver, dash, release = body.rpartition("-")
    if not dash or not release:
        raise InputError(f"not a NEVRA (no release): {text!r}")
    name, dash, version = name_ver.rpartition("-")
    if not dash or not version or not name:
        raise InputError(f"not a NEVRA (no version): {text!r}")
    epoch = 0
    if ":" in version:
        e, _, version = version.partition(":")
        try:
            epoch = parse_epoch(e)
        except InputError as exc:
            raise InputError(f"not a NEVRA ({exc}): {text!r}") from None
    if not NAME_RE.match(name):
        raise InputError(f"not a NEVRA (bad name {name!r}): {text!r}")
    if not version or not VERSION_RE.match(version):
        raise InputError(f"not a NEVRA (bad version {version!r}): {text!r}")
    if not VERSION_RE.match(release):
        raise InputError(f"not a NEVRA (bad release {release!r}): {text!r}")
    return InstalledPackage(name, epoch, version, release, arch)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_image_list(text: str, *, path: str) -> ImageListResult:
    """Parse a build note (when it has the ``Installed Packages`` markers) or a plain NEVRA list.

    Each line that does not parse is a Problem with its line number; a missing end marker (a truncated
    note) is a Problem naming the begin marker's line. Raises only InputError, for more than
    :data:`~cvewatch.limits.MAX_RECORDS` lines (counted before the text is split).
    """
    check_records(line_count(text), "lines", path)
    lines = text.splitlines()
    if any(line.strip() == PACKAGES_BEGIN for line in lines):
        return _parse_aks_note(lines, path)
    first = next((x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")), "")
    if first.startswith("{"):
        return _parse_qf_json_lines(lines, path=path)
    return _parse_rpm_qa(lines, path)


def _parse_rpm_qa(lines: list[str], path: str) -> ImageListResult:
    """``rpm -qa``: one NEVRA a line; blank lines and ``#`` comments skipped."""
    packages: list[InstalledPackage] = []
    problems: list[Problem] = []
    for lineno, line in enumerate(lines, 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            packages.append(parse_nevra(entry))
        except InputError as exc:
            problems.append(Problem(path, str(exc), lineno))
    if not packages and not problems:
        problems.append(Problem(path, "no packages: empty list"))
    return ImageListResult(tuple(packages), tuple(problems), format=FORMAT_RPM_QA)


def _parse_aks_note(lines: list[str], path: str) -> ImageListResult:
    """An AKS node-image build note: the NEVRAs between the package markers, ``/etc/os-release`` between
    its markers, the kernel from the line after ``Using kernel:``; a list left open is truncated."""
    packages: list[InstalledPackage] = []
    problems: list[Problem] = []
    kernel: str | None = None
    os_release: list[tuple[str, str]] = []
    mode = ""  # "" | "packages" | "os-release"
    mode_start = 0
    seen_packages = False
    for lineno, line in enumerate(lines, 1):
        entry = line.strip()
        if entry == PACKAGES_BEGIN:
            if seen_packages:
                problems.append(Problem(path, "second installed-packages list ignored", lineno))
                mode, mode_start = "ignore", lineno
                continue
            seen_packages = True
            mode, mode_start = "packages", lineno
            continue
        if entry == OS_RELEASE_BEGIN:
            mode, mode_start = "os-release", lineno
            continue
        if entry in (PACKAGES_END, OS_RELEASE_END):
            expected = "packages" if entry == PACKAGES_END else "os-release"
            if mode != expected and not (mode == "ignore" and entry == PACKAGES_END):
                problems.append(Problem(path, f"{entry!r} without its begin marker", lineno))
            mode = ""
            continue
        if mode == "packages":
            if not entry:
                continue
            try:
                packages.append(parse_nevra(entry))
            except InputError as exc:
                problems.append(Problem(path, str(exc), lineno))
        elif mode == "os-release":
            if not entry or entry.startswith("#"):
                continue
            key, eq, value = entry.partition("=")
            if not eq or not key:
                problems.append(Problem(path, f"os-release line not KEY=value: {entry[:80]!r}", lineno))
                continue
            os_release.append((key.strip(), _unquote(value)))
        elif mode == "" and entry == "Using kernel:" and lineno < len(lines):
            m = _KERNEL_RE.match(lines[lineno].strip())
            if m is not None:
                kernel = m.group(1)
    if mode == "packages":
        problems.append(
            Problem(path, f"truncated: {PACKAGES_BEGIN!r} at line {mode_start} has no end marker", mode_start)
        )
    elif mode == "os-release":
        problems.append(
            Problem(
                path, f"truncated: {OS_RELEASE_BEGIN!r} at line {mode_start} has no end marker", mode_start
            )
        )
    if not packages:
        problems.append(Problem(path, "no installed packages listed"))
    return ImageListResult(tuple(packages), tuple(problems), kernel, tuple(os_release), FORMAT_AKS_NOTE)


def _qf_field(obj: dict[str, object], key: str) -> str | None:
    value = obj.get(key, obj.get(key.upper()))
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", "(none)") else text


def _parse_qf_json_lines(lines: list[str], *, path: str) -> ImageListResult:
    """One ``{"name":…,"epoch":…,"version":…,"release":…,"arch":…}`` object per line (``rpm -qa --qf``)."""
    packages: list[InstalledPackage] = []
    problems: list[Problem] = []
    for lineno, line in enumerate(lines, 1):
        entry = line.strip()
        if not entry or entry.startswith("#") or entry in ("[", "]"):
            continue
        try:
            obj = orjson.loads(entry.rstrip(","))
        except orjson.JSONDecodeError as exc:
            problems.append(Problem(path, f"not a JSON object: {json_error(exc)}: {entry[:80]!r}", lineno))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(path, f"not a JSON object: {entry[:80]!r}", lineno))
            continue
        name, version, release = (_qf_field(obj, k) for k in ("name", "version", "release"))
        epoch_text, arch = _qf_field(obj, "epoch"), _qf_field(obj, "arch")
        if not name or not version or not release:
            missing = [k for k, v in (("name", name), ("version", version), ("release", release)) if not v]
            problems.append(Problem(path, f"package without {', '.join(missing)}: {entry[:80]!r}", lineno))
            continue
        try:
            epoch = parse_epoch(epoch_text) if epoch_text is not None else 0
        except InputError as exc:
            problems.append(Problem(path, f"{exc}: {entry[:80]!r}", lineno))
            continue
        if not NAME_RE.match(name) or not VERSION_RE.match(version) or not VERSION_RE.match(release):
            problems.append(Problem(path, f"not a package name, version and release: {entry[:80]!r}", lineno))
            continue
        source_rpm = _qf_field(obj, "sourcerpm")
        packages.append(InstalledPackage(name, epoch, version, release, arch, source_rpm))
    if not packages and not problems:
        problems.append(Problem(path, "no packages: empty list"))
    return ImageListResult(tuple(packages), tuple(problems), format=FORMAT_RPM_QF_JSON)


def parse_package_text(text: str, *, path: str) -> ImageListResult:
    """Any supported package list, its format detected from the text: an AKS build note, ``rpm -qa``
    (NEVRA lines or ``--qf`` JSON lines), an SPDX 2.x JSON or a CycloneDX JSON SBOM. Raises only
    InputError, for a text beyond a limit of :mod:`cvewatch.limits` (lines, elements, JSON nesting)."""
    text = text.removeprefix("\ufeff")
    head = text.lstrip()
    if head.startswith("{") or head.startswith("["):
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if json_error(exc).startswith("JSON nested"):
                load_json(text, path)  # raises the InputError that names the limit
            first = head.split("\n", 1)[0].strip()
            if first.startswith("{") and first.endswith(("}", "},")):
                return parse_image_list(text, path=path)  # one object per line
            return ImageListResult((), (Problem(path, f"not valid JSON: {exc.msg}", exc.lineno),))
        if isinstance(doc, dict) and "name" in doc and not is_sbom(doc):
            return parse_image_list(text, path=path)  # a --qf list of one package
        return parse_sbom_document(doc, path=path)
    return parse_image_list(text, path=path)


def parse_package_list(path: Path) -> ImageListResult:
    """Read a package list in any supported format (see :func:`parse_package_text`). Raises InputError
    for a file that cannot be read (not a regular file or a pipe, larger than
    :data:`~cvewatch.limits.MAX_INPUT_BYTES`) or is beyond another limit; a bad line is a Problem."""
    text = read_input(path).decode("utf-8", errors="replace")
    return parse_package_text(text, path=str(path))
