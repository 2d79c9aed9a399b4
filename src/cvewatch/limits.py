"""How much cvewatch reads from one input, and the readers that hold to it.

Every file a user hands to cvewatch (a package list, an SBOM, ``go version -m`` output, a release snapshot,
a spec tree, NVD / CVE JSON 5 / KEV / EPSS files) is read through here, so that a hostile or broken input
ends in one clear :class:`~cvewatch.errors.InputError` naming the file and the limit, never in a hang, an
exhausted memory or a ``RecursionError`` traceback. The limits are far above real inputs (docs/inventory.md,
"Limits", has the numbers they were set against) and are constants, not settings: a setting would have to
be threaded through every reader, and an input that reaches one is broken or hostile.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import orjson

from cvewatch.errors import InputError

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: One file named on the command line: a package list or SBOM (``inventory load-image``, ``inventory diff``,
#: ``inventory load-sbom``), ``go version -m`` output, a release snapshot, a cgmanifest.json. A syft SBOM
#: of a large image with its file lists is about 100 MB; an AKS build note is 30 KB.
MAX_INPUT_BYTES = 256 * MiB
#: Lines of a package list or of ``go version -m`` output, elements of an SBOM, packages of a snapshot.
#: A node image installs about 500 packages; a whole distribution has a few tens of thousands.
MAX_RECORDS = 1_000_000
#: Nesting of a JSON document: orjson's own limit (it refuses deeper documents), which every JSON reader
#: of cvewatch uses; the code that walks parsed documents is iterative, so any depth up to it is safe.
#: Real inputs nest at most 14 levels (NVD API 2.0 pages).
MAX_JSON_DEPTH = 1024
#: One spec file or ``*.signatures.json`` of a spec tree (the largest spec of Azure Linux 3.0, perl, is
#: 290 KB). A bigger file is skipped with a problem.
MAX_TREE_FILE_BYTES = 16 * MiB
#: A ``CVE-*.nopatch`` triage file: its text is the justification (the longest in 3.0 is 501 bytes).
MAX_NOPATCH_BYTES = 64 * KiB
#: Of a patch file only the head is read, for the CVE ids its header names: never a reason to skip it.
PATCH_HEAD_BYTES = 64 * KiB
#: What ``cvewatch lint`` reads of a patch file, to find any CVE id in its text.
LINT_PATCH_BYTES = 4 * MiB
#: An NVD JSON file after gunzip (a yearly 2.0 feed is a few hundred MB); also guards against gzip bombs.
MAX_NVD_FILE_BYTES = 4 * GiB
#: A CVE JSON 5 record, the KEV catalogue, the EPSS CSV, after gunzip (EPSS is about 10 MB uncompressed).
MAX_SOURCE_FILE_BYTES = 256 * MiB


def size_text(n: int) -> str:
    """``268435456`` -> ``256 MiB``: limits are round numbers of binary units."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for a message: ``a FIFO``, ``a character device``..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_fd(fd: int, n: int, *, size_hint: int = 0) -> bytes:
    """At most ``n`` bytes from ``fd``, until end of file. ``size_hint`` (a regular file's size) makes it
    one read call. Callers that must refuse an excess ask for one byte more than they allow."""
    chunks: list[bytes] = []
    total = 0
    step = min(n, size_hint + 1) if size_hint else min(n, MiB)
    while total < n:
        chunk = os.read(fd, min(step, n - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        step = min(n, 16 * MiB)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_input(path: Path, *, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a file a user named, at most ``max_bytes``. Raises InputError naming the file.

    A regular file, or a pipe (``<(rpm -qa)``, ``/dev/stdin``) read up to the limit; a directory, a device
    or a socket is refused before it is opened (opening some devices has effects of its own).
    """
    where = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError("no such file", where) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", where) from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise InputError(f"cannot read: {file_kind(st.st_mode)}, not a regular file", where)
    if st.st_size > max_bytes:
        raise InputError(too_large(max_bytes), where)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", where) from None
    try:
        st = os.fstat(fd)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            raise InputError(f"cannot read: {file_kind(st.st_mode)}, not a regular file", where)
        data = read_fd(fd, max_bytes + 1, size_hint=st.st_size if stat.S_ISREG(st.st_mode) else 0)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", where) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InputError(too_large(max_bytes), where)
    return data


def too_large(max_bytes: int) -> str:
    return f"larger than the limit of {size_text(max_bytes)} (cvewatch.limits)"


def json_error(err: orjson.JSONDecodeError) -> str:
    """A JSON parser's error as one clear phrase; a document nested too deep names the limit."""
    text = str(err)
    if "depth" in text or "recursion" in text.lower():
        return f"JSON nested deeper than {MAX_JSON_DEPTH} levels (the limit, cvewatch.limits.MAX_JSON_DEPTH)"
    return text


def load_json(data: bytes | str, where: str) -> Any:
    """Parse a whole JSON document with orjson (which refuses more than :data:`MAX_JSON_DEPTH` levels).
    Raises InputError naming ``where``: ``not valid JSON: …`` or the nesting limit."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        message = json_error(err)
        raise InputError(
            message if message.startswith("JSON nested") else f"not valid JSON: {message}", where
        ) from None


_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits on


def line_count(text: str) -> int:
    """``len(text.splitlines())`` without making the list (a text of line breaks only would fill memory
    with it); at most one too many for a text that does not end in a line break."""
    breaks = sum(text.count(c) for c in _LINE_BREAKS) - text.count("\r\n")
    return breaks + 1 if text else 0


def check_records(count: int, what: str, where: str, *, limit: int = MAX_RECORDS) -> None:
    """Raise InputError when an input holds more than ``limit`` records (lines, elements, packages)."""
    if count > limit:
        raise InputError(f"more than {limit:,} {what} (the limit, cvewatch.limits.MAX_RECORDS)", where)
