"""CSAF revisions: a document's version grows exactly when its content changes.

A rendered document always carries version 1 (:func:`cvewatch.publishing.csaf_vex.render_vex` is pure). What
was last published under its ``tracking.id`` is kept in the store (:class:`PublishedState`): a digest of the
document *without* its ``tracking`` block, and that block as published. On every publish:

* nothing stored: the rendered document is version 1 (its dates come from the CVE record);
* the same digest: the stored tracking block is put back, so the file has the bytes it had (a CVE record
  whose ``lastModified`` moved but whose document did not change gets no new revision);
* another digest: ``tracking.version`` is the stored one + 1, ``revision_history`` gets an entry dated
  ``now`` (the time of the change: the only clock in a document, because the format asks for it) whose
  summary says what changed (product statuses by product id, then the other sections), and
  ``current_release_date`` moves to that date. ``initial_release_date`` never moves.

CSAF's mandatory tests on the history hold: numbers 1..n without gaps (6.1.21), unique (6.1.22), dates
ascending with the numbers (6.1.14), the newest number equal to ``tracking.version`` (6.1.16).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cvewatch.model.published import PublishedState

__all__ = ["change_summary", "content_digest", "facets", "revise_document"]

MAX_LISTED_PRODUCTS = 5

# what a reader calls the parts of a CSAF VEX document, for the revision summaries
_SECTION_LABELS: Mapping[str, str] = {
    "document.title": "title",
    "document.notes": "document notes",
    "document.publisher": "publisher",
    "document.references": "document references",
    "document.distribution": "distribution",
    "document.aggregate_severity": "aggregate severity",
    "product_tree": "product tree",
    "notes": "description",
    "scores": "CVSS scores",
    "remediations": "remediations",
    "threats": "impact statements",
    "flags": "justifications",
    "references": "references",
    "cwe": "CWE",
    "release_date": "release date",
    "ids": "ids",
}


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _without_tracking(document: Mapping[str, Any]) -> dict[str, Any]:
    head = {k: v for k, v in document["document"].items() if k != "tracking"}
    return {**document, "document": head}


def content_digest(document: Mapping[str, Any]) -> str:
    """sha256 of the document without ``document.tracking``, serialized with sorted keys."""
    return hashlib.sha256(_dumps(_without_tracking(document))).hexdigest()


def facets(document: Mapping[str, Any]) -> dict[str, str]:
    """A short digest of each section (``document.notes``, ``product_tree``, ``vulnerabilities[0].scores``,
    ...) and the status of each product (``status:<product id>`` -> ``known_affected``)."""
    out: dict[str, str] = {}
    for key, value in document["document"].items():
        if key != "tracking":
            out[f"document.{key}"] = hashlib.sha256(_dumps(value)).hexdigest()[:16]
    out["product_tree"] = hashlib.sha256(_dumps(document.get("product_tree"))).hexdigest()[:16]
    for i, vuln in enumerate(document.get("vulnerabilities", [])):
        for key, value in vuln.items():
            if key == "product_status":
                for status, ids in value.items():
                    for pid in ids:
                        out[f"status:{pid}"] = status
            else:
                out[f"vulnerabilities[{i}].{key}"] = hashlib.sha256(_dumps(value)).hexdigest()[:16]
    return out


def _label(key: str) -> str:
    if key.startswith("vulnerabilities["):
        key = key.split("].", 1)[1]
    return _SECTION_LABELS.get(key, key)


def change_summary(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """What changed between two :func:`facets`, in one or two sentences."""
    products: list[str] = []
    for key in sorted({k for k in (*old, *new) if k.startswith("status:")}):
        pid, before, after = key[len("status:") :], old.get(key), new.get(key)
        if before == after:
            continue
        if before is None:
            products.append(f"{pid} added ({after})")
        elif after is None:
            products.append(f"{pid} removed (was {before})")
        else:
            products.append(f"{pid} {before} -> {after}")
    sections = sorted(
        {_label(k) for k in (*old, *new) if not k.startswith("status:") and old.get(k) != new.get(k)}
    )
    parts: list[str] = []
    if products:
        listed = "; ".join(products[:MAX_LISTED_PRODUCTS])
        more = len(products) - MAX_LISTED_PRODUCTS
        parts.append(f"Product status: {listed}{f'; and {more} more' if more > 0 else ''}.")
    if sections:
        parts.append(f"{'Also changed' if products else 'Changed'}: {', '.join(sections)}.")
    return " ".join(parts) or "Content changed."


def _parse_date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _csaf_date(value: datetime) -> str:
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def revise_document(
    document: dict[str, Any],
    previous: PublishedState | None,
    now: datetime,
    *,
    path: str,
    format_name: str,
) -> tuple[dict[str, Any], PublishedState]:
    """The document to publish (its ``tracking`` block decided as the module docstring says) and what to
    keep of it. ``document`` is a rendered document (version 1); it is not modified."""
    digest = content_digest(document)
    rendered = document["document"]["tracking"]
    doc_id = str(rendered["id"])
    shape = facets(document)
    if previous is not None and previous.digest == digest:
        tracking = previous.tracking
        state = PublishedState(
            doc_id, format_name, path, digest, previous.version, tracking, shape, previous.changed_at
        )
    elif previous is None:
        tracking = rendered
        state = PublishedState(doc_id, format_name, path, digest, 1, tracking, shape, now)
    else:
        version = previous.version + 1
        history = list(previous.tracking["revision_history"])
        latest = max(
            [_parse_date(h["date"]) for h in history]
            + [_parse_date(previous.tracking["current_release_date"])]
        )
        # the time of the change; after every earlier date, so the history sorts the same by date and number
        date = max(now.astimezone(UTC), latest + timedelta(milliseconds=1))
        entry = {
            "date": _csaf_date(date),
            "number": str(version),
            "summary": change_summary(previous.facets, shape),
        }
        tracking = {
            **rendered,
            "current_release_date": _csaf_date(date),
            "initial_release_date": previous.tracking["initial_release_date"],
            "revision_history": [*history, entry],
            "version": str(version),
        }
        state = PublishedState(doc_id, format_name, path, digest, version, tracking, shape, date)
    head = {**document["document"], "tracking": tracking}
    return {**document, "document": head}, state
