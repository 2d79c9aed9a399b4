"""Upstream version order, for NVD ranges (``versionStartIncluding`` ... ``versionEndExcluding``).

This is *not* rpm order (see :mod:`cvewatch.versions.rpm`): NVD ranges hold upstream release names, so the
package's Version (no epoch, no release) is compared with this order. The rules:

1. Normalise: surrounding whitespace dropped, letters lower-cased (``1.0RC1 == 1.0rc1``), a leading ``v``
   before a digit dropped (``v1.2.3 == 1.2.3``), CPE backslash escapes ignored (``3.1\\(1n\\)``).
2. Split into runs of ASCII digits, runs of ASCII letters and runs of other alphanumeric characters;
   everything else (``.``, ``-``, ``_``, ``+``, ``~``, ...) only separates runs (``1.0-1 == 1.0.1``).
3. Digit runs compare numerically, whatever their length (``5.15.135.1``, dates such as ``20230101``).
4. ``dev`` < ``alpha`` < ``beta`` < ``pre``/``preview`` < ``rc`` mark a pre-release: older than the version
   without them (``1.0.0-rc93 < 1.0.0``, ``1.0rc1 < 1.0``); the number after them compares numerically.
5. ``p``, ``pl``, ``patch`` or ``r`` followed by a number mark a post-release patch level: newer than the
   version without it, older than a further numeric component (``8.5 < 8.5p1 < 8.5p2 < 8.5.1 < 8.6``;
   sudo ``1.8.6_p7``, gentoo ``-r1`` and bash ``patch1`` all count the same way: ``5.0p1 == 5.0patch1``).
6. Any other letter run (openssl ``1.1.1t``, ``1.0.2zg``; ``sp1``, ``build166``) is a post-release suffix
   compared as a string: ``1.1.1 < 1.1.1t < 1.1.1u``, ``1.0.2z < 1.0.2za < 1.0.2zg``. Single letters are never
   read as alpha/beta (``1.0b2 > 1.0``), because openssl's ``1.0.2a`` is a release after ``1.0.2``.
   ``ga``, ``final``, ``release`` and ``stable`` mean the release itself and are ignored.
7. At one position: pre-release < end of version < patch level < letter suffix < number. Zero
   components before the end or before a non-numeric run do not count (``1.0 == 1.0.0``,
   ``1.0rc1 == 1.0.0rc1``).
8. A total order that never raises: strings with no alphanumeric character at all (junk) sort together with
   the empty version and, among themselves, lexically as plain text.

The same key is available as :func:`upstream_key` for sorting.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["compare_upstream", "in_range", "upstream_key", "with_update"]

# item ranks at one position (rule 7)
_PRE, _END, _POST, _WORD, _NUM = 0, 1, 2, 3, 4

_PRE_LEVELS = {"dev": 0, "alpha": 1, "beta": 2, "pre": 3, "preview": 3, "rc": 4}
_POST_WORDS = frozenset({"p", "pl", "patch", "r"})
_IGNORED_WORDS = frozenset({"ga", "final", "release", "stable"})

_TOKEN = re.compile(r"[0-9]+|[a-z]+|[^\W_0-9a-z]+")
_LEADING_V = re.compile(r"^v(?=[0-9])")

Item = tuple[int, int, str]
Key = tuple[tuple[Item, ...], str]

_DIGITS = frozenset("0123456789")
_END_ITEM: Item = (_END, 0, "")


def _tokens(text: str) -> list[str]:
    """ASCII digit runs, ASCII letter runs, and runs of any other alphanumeric characters (rule 2)."""
    return _TOKEN.findall(text)


@lru_cache(maxsize=1 << 16)
def upstream_key(version: str) -> Key:
    """Sort key of :func:`compare_upstream`: ``a < b`` exactly when ``upstream_key(a) < upstream_key(b)``.
    Cached: a scan compares the same few thousand versions and range bounds again and again."""
    text = _LEADING_V.sub("", version.strip().lower())
    tokens = _tokens(text)
    items: list[Item] = []
    for i, tok in enumerate(tokens):
        if tok[0] in _DIGITS:
            digits = tok.lstrip("0")
            items.append((_NUM, len(digits), digits))
        elif tok in _PRE_LEVELS:
            items.append((_PRE, _PRE_LEVELS[tok], ""))
        elif tok in _POST_WORDS and i + 1 < len(tokens) and tokens[i + 1][0] in _DIGITS:
            items.append((_POST, 0, ""))
        elif tok in _IGNORED_WORDS:
            continue
        else:
            items.append((_WORD, 0, tok))
    # rule 7: zero components directly before the end or before a non-numeric item do not count
    trimmed: list[Item] = []
    for j, item in enumerate(items):
        if item == (_NUM, 0, ""):
            k = j
            while k < len(items) and items[k] == (_NUM, 0, ""):
                k += 1
            if k == len(items) or items[k][0] != _NUM:
                continue
        trimmed.append(item)
    trimmed.append(_END_ITEM)
    # rule 8: junk without any alphanumeric run is ordered as text among itself
    tiebreak = "" if tokens else text
    return tuple(trimmed), tiebreak


def compare_upstream(a: str, b: str) -> int:
    """Compare two upstream versions: -1, 0 or 1. Total, never raises (see the module rules)."""
    ka, kb = upstream_key(a), upstream_key(b)
    if ka == kb:
        return 0
    return -1 if ka < kb else 1


def with_update(version: str, update: str) -> str:
    """Combine a CPE ``version`` and ``update`` into one upstream version string.

    ``("8.5", "p1") -> "8.5p1"``, ``("5.0", "patch3") -> "5.0patch3"`` (post-release 3),
    ``("1.0", "rc2") -> "1.0rc2"`` (pre-release); an update of ``*``, ``-`` or empty, or a version of ``*``
    or ``-`` (ANY/NA: nothing to combine with), leaves ``version`` unchanged. A numeric update is appended
    as a further component: ``("1.0", "2") -> "1.0.2"``.
    """
    upd = update.strip()
    if upd in ("", "*", "-") or version.strip() in ("", "*", "-"):
        return version
    if upd[0] in _DIGITS:
        return f"{version}.{upd}"
    return f"{version}{upd}"


def in_range(
    version: str,
    *,
    start_including: str | None = None,
    start_excluding: str | None = None,
    end_including: str | None = None,
    end_excluding: str | None = None,
) -> bool:
    """Whether ``version`` lies in the NVD range given by the four (optional) bounds.

    ``None`` means unbounded on that side; with no bounds at all every version is in range.
    """
    key = upstream_key(version)
    if start_including is not None and key < upstream_key(start_including):
        return False
    if start_excluding is not None and key <= upstream_key(start_excluding):
        return False
    if end_including is not None and key > upstream_key(end_including):
        return False
    return not (end_excluding is not None and key >= upstream_key(end_excluding))
