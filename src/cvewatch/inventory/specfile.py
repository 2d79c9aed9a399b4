"""One RPM spec file -> :class:`SourcePackage`, with every problem met on the way.

:func:`parse_spec_text` does the work on text (no I/O except through the optional ``read_sibling``
callback); :func:`parse_spec` reads the file and its folder.

The spec is read as a reduced ``rpmbuild -bs`` would: cut into logical lines
(:mod:`cvewatch.inventory.speclines`), its ``%if`` family evaluated (:mod:`cvewatch.inventory.conditionals`)
and its macros expanded (:mod:`cvewatch.inventory.macros`) as it is read, each section by its handler
(:mod:`cvewatch.inventory.specreader`). Here the package is put together from what was read:

* binary packages: each ``%package [-n] NAME``, and the main package, are built when they have a ``%files``
  section, like rpm. A ``%package`` preamble with a Version or Epoch of its own (perl's modules) puts the
  binary in ``SourcePackage.own_version``: its EVR is not the source build's. When a spec has a ``%files``
  header we cannot resolve (an unknown macro in it), or no ``%files`` at all, we are unsure and include
  every declared package, the main one too;
* patch files: each PatchN (and ``%patchlist`` line), with the CVE ids its file name and its header cite
  and whether the file is in the spec's folder;
* triage files: the folder's ``CVE-*.nopatch`` files, their text the justification;
* the ``%changelog`` entries (:mod:`cvewatch.inventory.changelog`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from cvewatch.errors import InputError, SpecParseError
from cvewatch.inventory.changelog import CVE_RE, parse_changelog
from cvewatch.inventory.macros import MacroContext
from cvewatch.inventory.specreader import SpecReader
from cvewatch.inventory.treefiles import Folder, SpecTree, problem_of
from cvewatch.limits import MAX_NOPATCH_BYTES, MAX_TREE_FILE_BYTES, PATCH_HEAD_BYTES
from cvewatch.model.packages import PatchFile, Problem, SourcePackage, TriageFile
from cvewatch.versions.rpm import parse_epoch

_NOPATCH_RE = re.compile(r"^(CVE-[0-9]{4}-[0-9]{4,})\.nopatch$")
_CVE_LINE_RE = re.compile(r"^\s*CVE(?:-IDs?)?\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class SpecResult:
    """A spec's package, or None when the spec is rejected: then the last problem says why."""

    package: SourcePackage | None
    problems: tuple[Problem, ...]


# problems that rpmbuild stops on too: an unclosed %if, a %else/%elif/%endif without its %if or after a
# %else, an unterminated %{, %( or %[ in a tag value
_RPM_FATAL_RE = re.compile(r"^%\w+ (?:without %if|without %endif|after %else)$|unterminated %[{(\[]")


def rpm_refuses(problem: Problem) -> bool:
    """True for a parser problem that makes rpmbuild itself refuse the spec (``cvewatch lint`` reports
    these as errors; the loader reads on, as far as it can)."""
    return _RPM_FATAL_RE.search(problem.message) is not None


ReadSibling = Callable[[str], str | None]


def _patch_filename(value: str) -> str:
    """The file name a PatchN value names: a URL's ``#/name`` fragment or its last path part."""
    value = value.strip()
    if "#/" in value:
        return value.rsplit("#/", 1)[1]
    return value.rstrip("/").rsplit("/", 1)[-1]


def patch_header_cves(text: str) -> tuple[str, ...]:
    """CVE ids in a patch's header (the part before the first diff), ``CVE:`` lines included."""
    cut = len(text)
    for marker in ("\ndiff ", "\n--- ", "\nIndex: ", "\n+++ "):
        k = text.find(marker)
        if 0 <= k < cut:
            cut = k
    if text.startswith(("diff ", "--- ", "Index: ")):
        cut = 0
    head = text[:cut]
    ids = list(CVE_RE.findall(head))
    for m in _CVE_LINE_RE.finditer(text[:65536]):
        ids.extend(CVE_RE.findall(m.group(1)))
    return tuple(dict.fromkeys(ids))


def parse_spec_text(
    text: str,
    *,
    path: str,
    dist: str = ".azl3",
    arch: str = "x86_64",
    sibling_files: Collection[str] = (),
    read_sibling: ReadSibling | None = None,
    defines: Mapping[str, str] | None = None,
) -> SpecResult:
    """Parse one spec's text. ``sibling_files`` names the files beside the spec (for ``present`` and the
    ``CVE-*.nopatch`` triage files); ``read_sibling(name)`` returns a sibling's text (patch headers,
    nopatch justifications) or None when it cannot be read (a ``.nopatch`` not read is no triage record:
    what could not be read has no effect); ``defines`` adds macros (like ``rpmbuild --define``). Never raises:
    everything wrong becomes a Problem."""
    spec = SpecReader(path, MacroContext(dist=dist, arch=arch, defines=defines))
    spec.read(text)
    spec.finish()
    problems = spec.problems
    missing = [
        label
        for label, value in (("Name", spec.name), ("Version", spec.version), ("Release", spec.release))
        if not value or "%" in value or any(c.isspace() for c in value)
    ]
    if missing:
        detail = ", ".join(
            f"{label}={getattr(spec, label.lower())!r}" if getattr(spec, label.lower()) else f"no {label}"
            for label in missing
        )
        problems.append(Problem(path, f"cannot determine {', '.join(missing)} ({detail})"))
        return SpecResult(None, tuple(problems))
    assert spec.name is not None and spec.version is not None and spec.release is not None

    epoch = 0
    if spec.epoch:
        try:
            epoch = parse_epoch(spec.epoch)
        except InputError as exc:
            problems.append(Problem(path, f"Epoch: {exc}; 0 used"))
    subpackages = _binaries(spec)
    siblings = frozenset(sibling_files)
    patches = _patch_files(spec, siblings, read_sibling)
    triage = _triage_files(siblings, read_sibling)
    clog = parse_changelog(spec.changelog, path=path, dist=dist)
    problems.extend(clog.problems)

    pkg = SourcePackage(
        name=spec.name,
        epoch=epoch,
        version=spec.version,
        release=spec.release,
        subpackages=subpackages,
        own_version=_own_version(spec, subpackages, epoch),
        patches=patches,
        triage=triage,
        changelog=clog.entries,
        url=spec.url or None,
        source0=spec.source0,
        spec_path=path,
        build_requires=tuple(dict.fromkeys(spec.build_requires)),
        provides=tuple(dict.fromkeys(spec.provides)),
    )
    return SpecResult(pkg, tuple(problems))


def _binaries(spec: SpecReader) -> tuple[str, ...]:
    """The binary packages the spec builds, main first: those with a ``%files`` section, as rpm builds
    them; every declared one when a ``%files`` header could not be resolved or there is none."""
    assert spec.name is not None
    if spec.files_unsure or not spec.any_files:
        found = [spec.name, *(d for d in spec.declared if d != spec.name)]
    else:
        found = [b for b in [spec.name, *spec.declared] if b in spec.files_for]
    return tuple(dict.fromkeys(found))


def _own_version(spec: SpecReader, binaries: tuple[str, ...], epoch: int) -> tuple[str, ...]:
    """The binaries built with a Version or Epoch of their own: perl's modules are (perl-Text-Tabs+Wrap
    2021.0814 from perl 5.38.2), and such a binary's EVR says nothing about its source build's."""
    return tuple(
        b
        for b in binaries
        if b in spec.sub_tags
        and (
            spec.sub_tags[b].get("version", spec.version) != spec.version
            or _epoch_number(spec.sub_tags[b].get("epoch", spec.epoch)) != epoch
        )
    )


def _patch_files(
    spec: SpecReader, siblings: frozenset[str], read_sibling: ReadSibling | None
) -> tuple[PatchFile, ...]:
    """The PatchN files, with the CVE ids their names and headers cite and whether they are there."""
    out: list[PatchFile] = []
    for value, number, lineno in spec.patches:
        fname = _patch_filename(value)
        present = fname in siblings
        cves = list(CVE_RE.findall(fname))
        if present and read_sibling is not None:
            body = read_sibling(fname)
            if body:
                cves.extend(patch_header_cves(body))
        if "%" in fname:
            spec.problems.append(Problem(spec.path, f"patch file name not resolved: {value}", lineno))
        out.append(PatchFile(fname, number, tuple(dict.fromkeys(cves)), present))
    return tuple(out)


def _triage_files(siblings: frozenset[str], read_sibling: ReadSibling | None) -> tuple[TriageFile, ...]:
    """The folder's ``CVE-*.nopatch`` files, their text the justification; one that could not be read is
    none (its reader said why)."""
    out: list[TriageFile] = []
    for fname in sorted(siblings):
        m = _NOPATCH_RE.match(fname)
        if m is None:
            continue
        just = ""
        if read_sibling is not None:
            body = read_sibling(fname)
            if body is None:
                continue
            just = body.strip()
        out.append(TriageFile(m.group(1), just))
    return tuple(out)


def _epoch_number(text: str | None) -> int | None:
    """An Epoch tag's value as a number (no tag: 0); None when it is not one."""
    if not text:
        return 0
    return int(text) if text.isascii() and text.isdigit() else None


def read_spec(folder: Folder, name: str) -> str:
    """A spec's text, read as every spec of a tree is (regular file inside the tree, at most
    :data:`~cvewatch.limits.MAX_TREE_FILE_BYTES`); undecodable bytes replaced (specs are mostly UTF-8, some
    Latin-1). Raises SpecParseError for what is no spec at all: unreadable, binary (NUL bytes), empty."""
    where = str(folder.path / name)
    try:
        data = folder.read(name, max_bytes=MAX_TREE_FILE_BYTES)
    except InputError as exc:
        raise SpecParseError(problem_of(exc).message, where) from None
    if b"\x00" in data:
        raise SpecParseError("a binary file (NUL bytes), not a spec", where)
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise SpecParseError("an empty file, not a spec", where)
    return text


def _sibling_reader(folder: Folder, problems: list[Problem]) -> ReadSibling:
    """Reads a patch's head (its header is all that is needed) or a whole ``.nopatch`` file; a file that
    cannot be read is None and a Problem."""

    def read(name: str) -> str | None:
        if name not in folder.files:
            return None
        nopatch = name.endswith(".nopatch")
        try:
            data = folder.read(
                name, max_bytes=MAX_NOPATCH_BYTES if nopatch else PATCH_HEAD_BYTES, head=not nopatch
            )
        except InputError as exc:
            problems.append(problem_of(exc))
            return None
        return data.decode("utf-8", errors="replace")

    return read


def parse_spec(
    path: Path,
    *,
    dist: str = ".azl3",
    arch: str = "x86_64",
    folder: Folder | None = None,
    defines: Mapping[str, str] | None = None,
) -> SpecResult:
    """Read a spec and the files beside it, then :func:`parse_spec_text`.

    ``folder`` is the spec's folder as its tree listed it (:mod:`cvewatch.inventory.treefiles`: only regular
    files inside the tree are seen and read); without it the spec's own folder is listed as a tree of its
    own, and what that listing left out is reported with the spec's problems.
    """
    own: tuple[Problem, ...] = ()
    if folder is None:
        folder = SpecTree(path.parent).folder(path.parent)
        own = folder.problems
    try:
        text = read_spec(folder, path.name)
    except SpecParseError as exc:
        return SpecResult(None, (*own, problem_of(exc)))
    problems: list[Problem] = []
    result = parse_spec_text(
        text,
        path=str(path),
        dist=dist,
        arch=arch,
        sibling_files=folder.names,
        read_sibling=_sibling_reader(folder, problems),
        defines=defines,
    )
    if not own and not problems:
        return result
    return SpecResult(result.package, (*own, *result.problems, *problems))


__all__ = [
    "SpecResult",
    "parse_spec",
    "parse_spec_text",
    "patch_header_cves",
    "read_spec",
    "rpm_refuses",
]
