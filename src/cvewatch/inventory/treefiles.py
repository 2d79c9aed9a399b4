"""The files of a spec tree that cvewatch reads: regular files inside the tree, each within a size limit.

A spec tree comes from outside (a git checkout, a pull request), and it is read unattended. A
``CVE-….nopatch`` that is a symlink to ``/etc/passwd`` would put that file's text into the store as a
triage justification, and from there into evidence and published documents; a FIFO blocks its reader for
ever; a link to ``/dev/zero`` reads until memory runs out. So:

* a folder is listed once (:meth:`SpecTree.folder`); the type of each entry comes from the directory entry
  itself, so a plain file costs no extra system call;
* a symlink is followed only when its target, fully resolved, is inside the tree's root and is a regular
  file or a folder there; a symlink out of the tree, a dangling or looping one, a FIFO, a device or a socket
  is left out of the listing with a :class:`Problem`, and never opened;
* :meth:`SpecTree.read` opens with ``O_NONBLOCK | O_NOFOLLOW`` and checks ``fstat`` again: a file swapped
  for a FIFO or a link after the listing is refused without blocking; a file over its size limit
  (:mod:`cvewatch.limits`) is refused, or only its head is read where the head is all that is needed.

Everything cvewatch reads from a tree (specs, patches, ``.nopatch`` files, ``*.signatures.json``) goes
through here: :mod:`cvewatch.inventory.tree`, :mod:`~cvewatch.inventory.specfile` and
:mod:`~cvewatch.inventory.lint`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cvewatch.errors import InputError
from cvewatch.limits import file_kind, read_fd, too_large
from cvewatch.model.packages import Problem

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY


def problem_of(exc: InputError) -> Problem:
    """An InputError raised by :meth:`SpecTree.read` as a Problem naming the same file."""
    where = exc.where or ""
    return Problem(where, str(exc).removeprefix(f"{where}: "))


@dataclass(frozen=True, slots=True)
class Folder:
    """One listed folder: the entries that may be read, and a Problem for each one left out."""

    path: Path
    files: Mapping[str, str]  # entry name -> the path to open (a symlink's resolved target)
    folders: Mapping[str, Path]  # sub-folders inside the tree, as listed (not resolved)
    problems: tuple[Problem, ...]
    tree: SpecTree = field(repr=False)

    @property
    def names(self) -> list[str]:
        """The readable files, sorted: what a spec's ``present`` checks and ``.nopatch`` files see."""
        return sorted(self.files)

    def read(self, name: str, *, max_bytes: int, head: bool = False) -> bytes:
        """A listed file's bytes (see :meth:`SpecTree.read`); InputError for a name not listed."""
        where = os.path.join(self.path, name)
        target = self.files.get(name)
        if target is None:
            raise InputError("not a readable file of the tree", where)
        return self.tree.read(target, where=where, max_bytes=max_bytes, head=head)


class SpecTree:
    """A spec tree's root, and the rules for reading inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._real = os.path.realpath(root)
        self._prefix = self._real.rstrip(os.sep) + os.sep

    def inside(self, real: str) -> bool:
        """True for a resolved path at or below the root."""
        return real == self._real or real.startswith(self._prefix)

    def folder(self, path: Path) -> Folder:
        """List ``path`` (the root or a folder found by listing it)."""
        files: dict[str, str] = {}
        folders: dict[str, Path] = {}
        problems: list[Problem] = []
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except OSError as exc:
            return Folder(
                path, {}, {}, (Problem(str(path), f"cannot list folder: {exc.strerror or exc}"),), self
            )
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):  # the common case first: no system call
                    files[entry.name] = entry.path
                elif entry.is_symlink():
                    self._link(entry.name, Path(entry.path), files, folders, problems)
                elif entry.is_dir(follow_symlinks=False):
                    folders[entry.name] = Path(entry.path)
                else:
                    kind = file_kind(entry.stat(follow_symlinks=False).st_mode)
                    problems.append(Problem(entry.path, f"{kind}, not a regular file: skipped"))
            except OSError as exc:
                problems.append(Problem(entry.path, f"cannot read: {exc.strerror or exc}: skipped"))
        problems.sort(key=lambda q: q.path)
        return Folder(path, files, folders, tuple(problems), self)

    def _link(
        self,
        name: str,
        p: Path,
        files: dict[str, str],
        folders: dict[str, Path],
        problems: list[Problem],
    ) -> None:
        try:
            target = os.readlink(p)
            real = os.path.realpath(p, strict=True)
        except OSError:
            problems.append(Problem(str(p), "a symlink that does not resolve (dangling or a loop): skipped"))
            return
        if not self.inside(real):
            problems.append(Problem(str(p), f"a symlink to {target!r}, outside the tree: skipped"))
            return
        mode = os.stat(real).st_mode
        if stat.S_ISREG(mode):
            files[name] = real
        elif stat.S_ISDIR(mode):
            folders[name] = p
        else:
            problems.append(Problem(str(p), f"a symlink to {file_kind(mode)}, not a regular file: skipped"))

    def file(self, path: Path) -> str | None:
        """The path to open when ``path`` is a regular file inside the tree (symlinks resolved), else None.
        For the odd single look-up (a kernel spec, ``SOURCES/NAME``); listings use :meth:`folder`."""
        try:
            real = os.path.realpath(path, strict=True)
            mode = os.stat(real).st_mode
        except OSError:
            return None
        return real if self.inside(real) and stat.S_ISREG(mode) else None

    def read(self, path: str, *, where: str, max_bytes: int, head: bool = False) -> bytes:
        """The bytes of a regular file found by a listing. Raises InputError naming ``where``.

        ``head``: read the first ``max_bytes`` and ignore the rest (a patch's header); otherwise a file
        over ``max_bytes`` is refused. Never blocks: the file is opened non-blocking, without following a
        link, and must still be a regular file once open.
        """
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}: skipped", where) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InputError(f"{file_kind(st.st_mode)}, not a regular file: skipped", where)
            if not head and st.st_size > max_bytes:
                raise InputError(f"{too_large(max_bytes)}: skipped", where)
            want = max_bytes if head else max_bytes + 1
            data = read_fd(fd, want, size_hint=min(st.st_size, want))
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}: skipped", where) from None
        finally:
            os.close(fd)
        if len(data) > max_bytes:
            raise InputError(f"{too_large(max_bytes)}: skipped", where)
        return data
