"""Checks of command-line values, done before anything is stored.

Each bad value is an :class:`~cvewatch.errors.InputError` naming the option, which ``common.handled`` turns
into one line and exit status 1. Enumerations (statuses, justifications, publisher categories) are
``Enum``/``click.Choice`` types instead: click refuses them, and ``cli.main`` prints that as one line with
exit status 2. Names that must already exist (releases, images, packages) are looked up in the store.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from cvewatch.errors import InputError

__all__ = [
    "cve_id",
    "dist_tag",
    "fix_evr",
    "http_url",
    "new_name",
    "text",
    "url_or_file",
]

# ASCII digits only: str.isdigit() and \d also accept "²" and Arabic-Indic digits
_CVE_RE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,19}", re.ASCII)
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]*", re.ASCII)
_DIST_RE = re.compile(r"[A-Za-z0-9._+~]*", re.ASCII)
_EVR_RE = re.compile(
    r"(?:(?P<epoch>[0-9]{1,9}):)?(?P<version>[A-Za-z0-9._+~^]+)-(?P<release>[A-Za-z0-9._+~^]+)", re.ASCII
)


def cve_id(value: str, option: str = "CVE") -> str:
    """``CVE-YYYY-NNNN`` (four or more digits)."""
    if not _CVE_RE.fullmatch(value):
        raise InputError(f"{option}: not a CVE id {value!r} (expected CVE-YYYY-NNNN, e.g. CVE-2024-6387)")
    return value


def fix_evr(value: str, option: str) -> str:
    """An rpm ``[epoch:]version-release`` with a digit in the version, e.g. ``0:8.4.0-1.azl3``."""
    m = _EVR_RE.fullmatch(value.strip())
    if m is None or not any(c.isdigit() for c in m["version"]) or len(value) > 200:
        raise InputError(
            f"{option}: not an rpm EVR {value!r} (expected [epoch:]version-release, e.g. 0:8.4.0-1.azl3)"
        )
    return value.strip()


def new_name(value: str, option: str, *, limit: int = 100) -> str:
    """A release or image name: letters, digits and ``._+~-``, starting with a letter or digit."""
    if not _NAME_RE.fullmatch(value) or len(value) > limit:
        raise InputError(
            f"{option}: not a usable name {value!r} (letters, digits and . _ + ~ -, at most {limit} "
            "characters, starting with a letter or digit)"
        )
    return value


def dist_tag(value: str, option: str = "--dist") -> str:
    """What ``%{?dist}`` expands to: empty or letters, digits and ``._+~`` (``.azl3``)."""
    if not _DIST_RE.fullmatch(value) or len(value) > 40:
        raise InputError(f"{option}: not a dist tag {value!r} (e.g. .azl3; letters, digits and . _ + ~)")
    return value


def http_url(value: str, option: str) -> str:
    """An ``http://`` or ``https://`` URL with a host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise InputError(f"{option}: not an http(s) URL: {value!r}")
    return value


def url_or_file(value: str, option: str) -> str:
    """An http(s) URL, or a file that exists (checked before a sync run is recorded)."""
    from pathlib import Path

    if urlsplit(value).scheme in ("http", "https"):
        return http_url(value, option)
    if not Path(value).is_file():
        raise InputError(f"{option}: {value}: no such file (give a file or an http(s) URL)")
    return value


def text(value: str, option: str, *, limit: int, required: bool = False) -> str:
    """A one-line free text of at most ``limit`` characters (``required``: not blank)."""
    if required and not value.strip():
        raise InputError(f"{option}: must not be empty")
    if len(value) > limit or any(ord(c) < 32 and c not in "\t" for c in value):
        raise InputError(f"{option}: at most {limit} characters on one line")
    return value
