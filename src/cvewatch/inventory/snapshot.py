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
from cvewatch.inventory.packages import ChangelogEntry, PatchFile, SourcePackage, TriageFile

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


def load_snapshot(data: bytes, origin: str) -> tuple[str, str | None, list[SourcePackage]]:
    """(release, dist, packages) from a snapshot document."""
    try:
        doc: Any = orjson.loads(data)
        if doc.get("format") != FORMAT:
            raise InputError(f"not a {FORMAT} document", origin)
        packages = [
            SourcePackage(
                name=p["name"],
                epoch=int(p["epoch"]),
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
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"malformed release snapshot: {exc}", origin) from exc
    return str(doc["release"]), doc.get("dist"), packages
