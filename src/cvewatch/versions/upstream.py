"""Upstream version order, for NVD version ranges (never rpm order, never plain strings).

A version is read as a sequence of items; separators (``.``, ``-``, ``_``, ``+``, ``~``) only split items.
Rules, in order:

1. Case is ignored and a leading ``v`` is dropped (``v1.2.3`` == ``1.2.3``).
2. Digit runs are numbers, compared numerically (``5.15.135.1``, dates like ``20230101``).
3. Pre-release words sort before the release: ``dev`` < ``alpha``/``a`` < ``beta``/``b`` < ``pre``/
   ``preview`` < ``rc``/``c`` (``1.0.0-rc93 < 1.0.0``, ``1.0rc1 < 1.0``). A single ``a``/``b``/``c`` counts as
   a pre-release only when digits follow it (``2.0b2``); otherwise it is a letter suffix (openssl ``0.9.8b``).
4. Post-release words sort after the release and before the next number: ``p``, ``pl``, ``patch``,
   ``post``, ``r``, ``rev``, ``sp``, ``update`` (openssh ``8.5 < 8.5p1 < 8.6``, sudo ``1.8.6_p7``,
   ``2.35-r1``, bash ``5.0`` + update ``patch1``). All post words are equal to each other; the number
   after them decides.
5. Other letter runs are suffixes (openssl ``1.1.1t < 1.1.1u``, ``1.0.2z < 1.0.2za < 1.0.2zg``): after the
   release and its post-releases, before a further number, compared as strings.
6. Words that only label a release (``final``, ``release``, ``ga``, ``stable``) are ignored.
7. When one version runs out, it compares as "the end", which sorts after pre-releases and before
   everything else (``1.0 < 1.0.1``, ``1.0rc1 < 1.0``).
The order is total (a total preorder: ``1_0`` and ``1.0`` are equal) and comparison never raises.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"\d+|[a-z]+")
_PRE = {
    "dev": 0,
    "snapshot": 0,
    "alpha": 1,
    "a": 1,
    "beta": 2,
    "b": 2,
    "pre": 3,
    "preview": 3,
    "rc": 4,
    "c": 4,
}
_POST = {"p", "pl", "patch", "post", "r", "rev", "sp", "update", "u"}
_IGNORED = {"final", "release", "ga", "stable"}

# item kinds, in sort order; END is what a shorter version is padded with
_PRE_K, _END_K, _POST_K, _LETTER_K, _NUM_K = 0, 1, 2, 3, 4
Item = tuple[int, int, str]


@lru_cache(maxsize=65536)
def _items(version: str) -> tuple[Item, ...]:
    text = version.strip().lower()
    if text.startswith("v") and len(text) > 1 and text[1].isdigit():
        text = text[1:]
    tokens = _TOKEN.findall(text)
    out: list[Item] = []
    for i, tok in enumerate(tokens):
        if tok.isdigit():
            out.append((_NUM_K, int(tok), ""))
            continue
        nxt_is_digit = i + 1 < len(tokens) and tokens[i + 1].isdigit()
        if tok in _IGNORED:
            continue
        if tok in _PRE and (len(tok) > 1 or nxt_is_digit):
            out.append((_PRE_K, _PRE[tok], ""))
        elif tok in _POST and (len(tok) > 1 or nxt_is_digit):
            out.append((_POST_K, 0, ""))
        else:
            out.append((_LETTER_K, 0, tok))
    return tuple(out)


_END: Item = (_END_K, 0, "")


def compare_upstream(a: str, b: str) -> int:
    """-1, 0 or 1 as upstream version ``a`` is older than, equal to or newer than ``b``."""
    if a == b:
        return 0
    ia, ib = _items(a), _items(b)
    for i in range(max(len(ia), len(ib))):
        x = ia[i] if i < len(ia) else _END
        y = ib[i] if i < len(ib) else _END
        if x != y:
            return -1 if x < y else 1
    return 0  # same items: the versions differ only in separators, case or labels (1_0 == 1.0)


def with_update(version: str, update: str | None) -> str:
    """The CPE version field joined with its update field (``8.5`` + ``p1`` -> ``8.5p1``)."""
    if not update or update in ("*", "-"):
        return version
    return f"{version}{update}" if update[0].isalpha() else f"{version}.{update}"


def in_range(
    version: str,
    *,
    start_including: str | None = None,
    start_excluding: str | None = None,
    end_including: str | None = None,
    end_excluding: str | None = None,
) -> bool:
    """Is ``version`` inside the NVD range given by the four ``version{Start,End}{Including,Excluding}``?"""
    if start_including is not None and compare_upstream(version, start_including) < 0:
        return False
    if start_excluding is not None and compare_upstream(version, start_excluding) <= 0:
        return False
    if end_including is not None and compare_upstream(version, end_including) > 0:
        return False
    return not (end_excluding is not None and compare_upstream(version, end_excluding) >= 0)
