"""NVD CVE API 2.0 JSON read from local files: saved API pages, 2.0 feeds, per-CVE mirror files.

A path is one file or a folder searched recursively for ``*.json`` and ``*.json.gz`` (sorted, so the order
is deterministic). Compression is detected by the gzip magic bytes, not by the suffix. A file that cannot be
read or decoded gives one :class:`RecordProblem` and the source moves on to the next file.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from cvewatch.errors import InputError
from cvewatch.limits import MAX_NVD_FILE_BYTES, json_error, read_input
from cvewatch.model.records import RecordProblem, Vulnerability
from cvewatch.sources.interface import Source, SourceItem
from cvewatch.sources.nvd_json import iter_document, nul_free

__all__ = ["DEFAULT_MAX_BYTES", "NvdFileSource", "newest_by_id", "read_file"]

GZIP_MAGIC = b"\x1f\x8b"
#: Largest decoded JSON document accepted (a yearly 2.0 feed is a few hundred MB); guards against gzip bombs.
DEFAULT_MAX_BYTES = MAX_NVD_FILE_BYTES
_SUFFIXES = (".json", ".json.gz")


class _Unreadable(Exception):
    """Internal: a file whose bytes could not be read or decompressed."""


class NvdFileSource(Source):
    """NVD API 2.0 records from a file or a folder of files.

    Raises :class:`InputError` if ``path`` does not exist (at construction and again when reading).
    """

    name = "nvd-files"

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._check_exists()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _check_exists(self) -> None:
        if not self.path.exists():
            raise InputError("no such file or directory", str(self.path))

    def files(self) -> list[Path]:
        """The files that :meth:`records` reads, in order: the path itself, or the JSON files under it."""
        self._check_exists()
        if not self.path.is_dir():
            return [self.path]
        found = [
            p
            for p in self.path.rglob("*")
            if p.name.endswith(_SUFFIXES) and not p.name.startswith(".") and p.is_file()
        ]
        return sorted(found, key=lambda p: p.relative_to(self.path).as_posix())

    def records(self) -> Iterator[SourceItem]:
        for file in self.files():
            for value in read_file(file, max_bytes=self.max_bytes):
                yield SourceItem.of(value)


def _read_bytes(path: Path, max_bytes: int) -> tuple[bytes, bool]:
    """The decoded bytes of ``path`` and whether they were gzip-compressed."""
    try:
        raw = read_input(path, max_bytes=max_bytes)  # a regular file (or a pipe), never past the limit
    except InputError as err:
        raise _Unreadable(str(err).removeprefix(f"{path}: ")) from None
    if not raw.startswith(GZIP_MAGIC):
        return raw, False
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            data = stream.read(max_bytes + 1)
    except EOFError as err:
        raise _Unreadable(f"truncated gzip file ({err})") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as err:
        raise _Unreadable(f"corrupt gzip file ({err})") from None
    if len(data) > max_bytes:
        raise _Unreadable(f"decompressed data is larger than the limit of {max_bytes} bytes")
    return data, True


def read_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Vulnerability | RecordProblem]:
    """Yield the records of one file (plain or gzip JSON); problems name the file."""
    origin = str(path)
    try:
        data, compressed = _read_bytes(path, max_bytes)
    except _Unreadable as err:
        yield RecordProblem(origin, None, str(err))
        return
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        what = "invalid JSON (after gunzip)" if compressed else "invalid JSON"
        yield RecordProblem(origin, None, f"{what}: {json_error(err)}")
        return
    yield from iter_document(doc, origin=origin, nul_free=nul_free(data))


def newest_by_id(items: Iterable[Vulnerability | SourceItem | RecordProblem]) -> dict[str, Vulnerability]:
    """Keep, for each CVE id, the record with the newest ``last_modified`` (on a tie, the later one).

    Problems are skipped. The result keeps the order in which each id was first seen.
    """
    newest: dict[str, Vulnerability] = {}
    for item in items:
        vuln = item.vulnerability if isinstance(item, SourceItem) else item
        if not isinstance(vuln, Vulnerability):
            continue
        kept = newest.get(vuln.id)
        if kept is None or vuln.last_modified >= kept.last_modified:
            newest[vuln.id] = vuln
    return newest
