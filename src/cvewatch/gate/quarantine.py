"""The quarantine list: tests whose failures do not block the gate until an expiry date.

A TOML or JSON file with a list ``quarantine`` of entries, each with ``test`` (a test id as the JUnit
reader forms it, ``classname::name``; ``*`` matches any text and nothing else is special, since
Kubernetes test names are full of brackets), ``owner``, ``reason`` and ``expires``
(a date; the entry holds through that day). Every field is required: a quarantine nobody owns or that never
ends is how a broken test stays broken. TOML::

    [[quarantine]]
    test = "test_bvt::test_containerd_version"
    owner = "alice@example.com"
    reason = "containerd 1.7.22 lands in the next image (#123)"
    expires = 2026-12-31
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from cvewatch.errors import InputError


@dataclass(frozen=True)
class QuarantineEntry:
    """One quarantined test (or pattern of tests)."""

    test: str
    owner: str
    reason: str
    expires: dt.date

    def matches(self, test_id: str) -> bool:
        """Whether this entry names ``test_id``: exactly, or with ``*`` matching any text."""
        if "*" not in self.test:
            return self.test == test_id
        pattern = ".*".join(re.escape(part) for part in self.test.split("*"))
        return re.fullmatch(pattern, test_id, re.DOTALL) is not None

    def active(self, today: dt.date) -> bool:
        """Whether the entry still holds on ``today`` (it holds through its expiry date)."""
        return today <= self.expires


def _date(value: Any, where: str, source: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{where}: expires must be a date (YYYY-MM-DD), not {value!r}", source)


def _entry(raw: Any, index: int, source: str) -> QuarantineEntry:
    where = f"quarantine entry {index + 1}"
    if not isinstance(raw, dict):
        raise InputError(f"{where} is not a table/object", source)
    for key in ("test", "owner", "reason", "expires"):
        if key not in raw or (isinstance(raw[key], str) and not raw[key].strip()):
            raise InputError(f"{where} has no {key}", source)
    return QuarantineEntry(
        str(raw["test"]), str(raw["owner"]), str(raw["reason"]), _date(raw["expires"], where, source)
    )


def parse_quarantine(text: str, source: str) -> tuple[QuarantineEntry, ...]:
    """Entries of a quarantine file; JSON when it starts with ``{``, TOML otherwise."""
    try:
        doc: Any = json.loads(text) if text.lstrip().startswith("{") else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"malformed quarantine file: {exc}", source) from None
    entries = doc.get("quarantine") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise InputError("a quarantine file needs a list 'quarantine' ([[quarantine]] in TOML)", source)
    return tuple(_entry(raw, i, source) for i, raw in enumerate(entries))
