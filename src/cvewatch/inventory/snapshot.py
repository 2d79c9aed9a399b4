"""A release's source packages as one JSON document: what the demo ships instead of spec files.

The snapshot holds the facts the matcher needs (names, EVRs, subpackages and which of them have a
version of their own, CVE patches, .nopatch records, changelog entries citing CVEs), never spec or patch
file contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson

from cvewatch.errors import InputError
from cvewatch.limits import MAX_INPUT_BYTES, check_records, load_json, too_large
from cvewatch.model.packages import ChangelogEntry, PatchFile, SourcePackage, TriageFile
from cvewatch.versions.rpm import MAX_EPOCH, parse_epoch

FORMAT = "cvewatch-release-snapshot/1"


def dump_snapshot(
    release: str, dist: str | None, packages: Sequence[SourcePackage], provenance: str
) -> bytes:
    doc = {
        "format": FORMAT,
        "release": release,
        "dist": dist,
        "provenance": provenance,
        "packages": [
            {
                "name": p.name,
                "epoch": p.epoch,
                "version": p.version,
                "release": p.release,
                "subpackages": sorted(p.subpackages),
                "own_version": sorted(p.own_version),
                "url": p.url,
                "source0": p.source0,
                "spec_path": p.spec_path,
                "build_requires": list(p.build_requires),
                "provides": list(p.provides),
                "patches": [
                    {"filename": x.filename, "number": x.number, "cves": list(x.cves), "present": x.present}
                    for x in p.patches
                    if x.cves
                ],
                "triage": [{"cve": t.cve, "justification": t.justification} for t in p.triage],
                "changelog": [
                    {
                        "date": c.date.isoformat() if c.date else None,
                        "author": c.author,
                        "evr": c.evr,
                        "text": c.text,
                        "cves": list(c.cves),
                    }
                    for c in p.changelog
                    if c.cves
                ],
            }
            for p in sorted(packages, key=lambda p: p.name)
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def _epoch(value: object) -> int:
    """A snapshot's epoch: a JSON integer, or a string of ASCII digits (``int("٣")`` would be 3)."""
    if isinstance(value, str):
        return parse_epoch(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_EPOCH:
        return value
    raise InputError(f"epoch is not a number from 0 to {MAX_EPOCH}: {value!r}")


def load_snapshot(data: bytes, origin: str) -> tuple[str, str | None, list[SourcePackage]]:
    """(release, dist, packages) from a snapshot document. Raises InputError naming ``origin``, also for
    a document beyond a limit of :mod:`cvewatch.limits` (size, nesting, number of packages)."""
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(too_large(MAX_INPUT_BYTES), origin)
    doc: Any = load_json(data, origin)
    try:
        if doc.get("format") != FORMAT:
            raise InputError(f"not a {FORMAT} document", origin)
        check_records(len(doc["packages"]), "packages", origin)
        packages = [
            SourcePackage(
                name=p["name"],
                epoch=_epoch(p["epoch"]),
                version=p["version"],
                release=p["release"],
                subpackages=tuple(p["subpackages"]),
                patches=tuple(
                    PatchFile(x["filename"], x["number"], tuple(x["cves"]), x["present"])
                    for x in p["patches"]
                ),
                triage=tuple(TriageFile(t["cve"], t["justification"]) for t in p["triage"]),
                changelog=tuple(
                    ChangelogEntry(
                        date.fromisoformat(c["date"]) if c["date"] else None,
                        c["author"],
                        c["evr"],
                        c["text"],
                        tuple(c["cves"]),
                    )
                    for c in p["changelog"]
                ),
                url=p.get("url"),
                source0=p.get("source0"),
                spec_path=p.get("spec_path"),
                build_requires=tuple(p.get("build_requires", ())),
                provides=tuple(p.get("provides", ())),
                own_version=tuple(p.get("own_version", ())),
            )
            for p in doc["packages"]
        ]
    except InputError as exc:
        if exc.where == origin:
            raise
        raise InputError(f"malformed release snapshot: {exc}", origin) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"malformed release snapshot: {exc}", origin) from exc
    return str(doc["release"]), doc.get("dist"), packages
