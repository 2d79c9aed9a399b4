"""CPE 2.3 names: the formatted-string binding (NISTIR 7695) and attribute matching (NISTIR 7696).

Representation
--------------
:class:`CPE` keeps every attribute twice:

* the eleven named fields (``part`` ... ``other``) hold the *unescaped* logical value: ``foo\\:bar`` becomes
  ``foo:bar``, ``8\\.0`` becomes ``8.0``; ANY is the literal ``"*"`` and NA the literal ``"-"``;
* ``bound`` holds the same eleven values in canonical formatted-string (bound) form, escapes kept. Only this
  form tells ANY (``*``) from a literal star (``\\*``), NA (``-``) from a literal hyphen (``\\-``), and a
  wildcard (``9.*``) from a quoted star (``9.\\*``). Equality and hashing use ``bound``; use
  :meth:`CPE.is_any`, :meth:`CPE.is_na` and :meth:`CPE.has_wildcards` rather than testing the named fields
  against ``"*"``/``"-"``.

Canonical bound form quotes every character other than ASCII letters, digits, ``_``, ``.`` and ``-`` (the
NISTIR 7695 formatted-string rule), so ``str(CPE.parse(s)) == s`` for every canonical string, which is what
NVD publishes; ``8\\.0`` is canonicalised to ``8.0``.

Matching (NISTIR 7696): :func:`compare_attribute` gives the set relation of a source value to a target
value; :func:`cpe_name_match` is true when the source is a superset of, or equal to, the target on every
attribute. Matching ignores case. Wildcards are honoured in the source only (a target with wildcards makes
the relation UNDEFINED): an unquoted ``*`` at the start or end matches any sequence, a run of *n* unquoted
``?`` at the start or end matches up to *n* characters, as the specification's reference algorithm does.

The matcher reads hundreds of thousands of criteria per scan and only compares their lower-case logical
values: :func:`match_fields` gives them without building a :class:`CPE`. It is this module's parse, not a
second one: a criterion it cannot prove plain (no escapes, no wildcards inside a value, ...) goes through
:meth:`CPE.parse`, so both read every string alike (a test checks it).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from functools import lru_cache

from cvewatch.errors import InputError

__all__ = [
    "ANY",
    "CPE",
    "FIELDS",
    "NA",
    "Relation",
    "compare_attribute",
    "compare_names",
    "cpe_fields",
    "cpe_name_match",
    "match_fields",
]

ANY = "*"
NA = "-"
FIELDS: tuple[str, ...] = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)
_PREFIX = "cpe:2.3:"
_PARTS = frozenset({"a", "o", "h", ANY})
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class Relation(enum.Enum):
    """Set relation of a source attribute value to a target value (NISTIR 7696 table 6-2)."""

    SUPERSET = "superset"
    SUBSET = "subset"
    EQUAL = "equal"
    DISJOINT = "disjoint"
    UNDEFINED = "undefined"  # the target holds wildcards: the specification leaves the result undefined


@dataclass(frozen=True, slots=True)
class _Value:
    """One bound attribute value, taken apart."""

    kind: str  # "any", "na" or "value"
    text: str  # logical value, without the leading/trailing wildcards
    lead: str  # "", "*" or a run of "?"
    trail: str  # "", "*" or a run of "?"


def _split_value(bound: str, *, where: str | None = None) -> _Value:
    """Take apart one formatted-string value; raises :class:`InputError` if it is malformed."""
    if bound == ANY:
        return _Value("any", "", "", "")
    if bound == NA:
        return _Value("na", "", "", "")
    if not bound:
        raise InputError("empty CPE component (use '*' for ANY or '-' for NA)", where)
    # (character, quoted) pairs
    chars: list[tuple[str, bool]] = []
    i = 0
    while i < len(bound):
        c = bound[i]
        if c == "\\":
            if i + 1 >= len(bound):
                raise InputError(f"dangling backslash at the end of CPE component {bound!r}", where)
            chars.append((bound[i + 1], True))
            i += 2
            continue
        if c.isspace() or not c.isprintable():
            raise InputError(f"CPE component {bound!r} holds whitespace or a control character", where)
        chars.append((c, False))
        i += 1
    lead_n = 0
    if chars and chars[0] == ("*", False):
        lead_n = 1
    else:
        while lead_n < len(chars) and chars[lead_n] == ("?", False):
            lead_n += 1
    trail_n = 0
    if len(chars) > lead_n and chars[-1] == ("*", False):
        trail_n = 1
    else:
        while len(chars) - trail_n > lead_n and chars[-1 - trail_n] == ("?", False):
            trail_n += 1
    middle = chars[lead_n : len(chars) - trail_n]
    for c, quoted in middle:
        if not quoted and c in "*?":
            raise InputError(
                f"unquoted wildcard {c!r} inside CPE component {bound!r} (only allowed at its start or end)",
                where,
            )
    lead = "".join(c for c, _ in chars[:lead_n])
    trail = "".join(c for c, _ in chars[len(chars) - trail_n :])
    if lead == "*" and trail == "*" and not middle:
        raise InputError(f"CPE component {bound!r} is only wildcards", where)
    return _Value("value", "".join(c for c, _ in middle), lead, trail)


def _quote(text: str) -> str:
    """Bind a logical string (no wildcards) in canonical formatted-string form."""
    return "".join(c if c in _PLAIN else "\\" + c for c in text)


def _canonical(value: _Value) -> str:
    if value.kind == "any":
        return ANY
    if value.kind == "na":
        return NA
    body = _quote(value.text)
    if body == "-" and not value.lead and not value.trail:
        body = "\\-"  # a literal lone hyphen, not NA
    return value.lead + body + value.trail


def _logical(value: _Value) -> str:
    if value.kind == "any":
        return ANY
    if value.kind == "na":
        return NA
    return value.lead + value.text + value.trail


def _bind_logical(text: str) -> str:
    """Bound form of a value given as a logical string to the constructor: ``*``/``-`` are ANY/NA."""
    if text in (ANY, NA):
        return text
    if not text:
        raise InputError("empty CPE attribute value (use '*' for ANY or '-' for NA)")
    return _canonical(_Value("value", text, "", ""))


def _split_components(text: str) -> list[str]:
    """Split on colons that are not escaped by a backslash."""
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c == ":":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


@dataclass(frozen=True, slots=True)
class CPE:
    """A CPE 2.3 name. Named fields are unescaped values; ``bound`` is the canonical escaped form.

    Built directly, ``"*"`` and ``"-"`` mean ANY and NA and every other value is literal (no wildcards);
    leave ``bound`` empty, it is computed. :meth:`parse` fills ``bound`` from the string.
    """

    part: str = field(compare=False)
    vendor: str = field(compare=False)
    product: str = field(compare=False)
    version: str = field(default=ANY, compare=False)
    update: str = field(default=ANY, compare=False)
    edition: str = field(default=ANY, compare=False)
    language: str = field(default=ANY, compare=False)
    sw_edition: str = field(default=ANY, compare=False)
    target_sw: str = field(default=ANY, compare=False)
    target_hw: str = field(default=ANY, compare=False)
    other: str = field(default=ANY, compare=False)
    bound: tuple[str, ...] = field(default=(), kw_only=True, repr=False)

    def __post_init__(self) -> None:
        if not self.bound:
            object.__setattr__(self, "bound", tuple(_bind_logical(getattr(self, f)) for f in FIELDS))
        elif len(self.bound) != len(FIELDS):
            raise InputError(f"CPE bound form needs {len(FIELDS)} values, got {len(self.bound)}")
        if self.bound[0] not in _PARTS:
            raise InputError(f"CPE part must be 'a', 'o', 'h' or '*', got {self.bound[0]!r}")

    @classmethod
    def parse(cls, text: str) -> CPE:
        """Parse a CPE 2.3 formatted string such as ``cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*``."""
        s = text.strip()
        if s[:5].lower() == "cpe:/":
            raise InputError(f"CPE 2.2 URI form is not supported, expected 'cpe:2.3:...': {text!r}")
        if not s.startswith(_PREFIX):
            raise InputError(f"not a CPE 2.3 formatted string (must start with {_PREFIX!r}): {text!r}")
        comps = _split_components(s[len(_PREFIX) :])
        if len(comps) != len(FIELDS):
            raise InputError(
                f"CPE 2.3 name needs {len(FIELDS)} components after {_PREFIX!r}, got {len(comps)}: {text!r}"
            )
        values = [_split_value(c, where=text) for c in comps]
        bound = tuple(_canonical(v) for v in values)
        if bound[0] not in _PARTS:
            raise InputError(f"CPE part must be 'a', 'o', 'h' or '*', got {comps[0]!r}: {text!r}")
        return cls(*(_logical(v) for v in values), bound=bound)

    def __str__(self) -> str:
        return _PREFIX + ":".join(self.bound)

    @property
    def vendor_product(self) -> tuple[str, str]:
        """``(vendor, product)``, unescaped."""
        return self.vendor, self.product

    def _bound(self, name: str) -> str:
        try:
            return self.bound[FIELDS.index(name)]
        except ValueError:
            raise KeyError(f"not a CPE attribute: {name!r}") from None

    def bound_value(self, name: str) -> str:
        """The canonical formatted-string (escaped) value of attribute ``name``."""
        return self._bound(name)

    def is_any(self, name: str) -> bool:
        """Whether attribute ``name`` is the logical value ANY (not a literal ``*``)."""
        return self._bound(name) == ANY

    def is_na(self, name: str) -> bool:
        """Whether attribute ``name`` is the logical value NA (not a literal ``-``)."""
        return self._bound(name) == NA

    def has_wildcards(self, name: str) -> bool:
        """Whether attribute ``name`` is a value with unquoted ``*``/``?`` wildcards."""
        v = _split_value(self._bound(name))
        return v.kind == "value" and bool(v.lead or v.trail)


def _wildcard_pattern(value: _Value) -> re.Pattern[str]:
    def edge(w: str) -> str:
        if w == "*":
            return ".*"
        return f".{{0,{len(w)}}}" if w else ""

    return re.compile(edge(value.lead) + re.escape(value.text.lower()) + edge(value.trail), re.DOTALL)


def compare_attribute(source: str, target: str) -> Relation:
    """Set relation of a source attribute value to a target value (NISTIR 7696 section 6.2).

    Both are given in formatted-string (bound) form, as in :attr:`CPE.bound`: ``*`` is ANY, ``-`` is NA,
    backslash-quoted characters are literal, unquoted ``*``/``?`` at either end of the source are
    wildcards. Raises :class:`InputError` on a malformed value.
    """
    s = _split_value(source)
    t = _split_value(target)
    if t.kind == "value" and (t.lead or t.trail):
        return Relation.UNDEFINED
    if s.kind == t.kind and (s.kind != "value" or _canonical(s).lower() == _canonical(t).lower()):
        return Relation.EQUAL
    if s.kind == "any":
        return Relation.SUPERSET
    if t.kind == "any":
        return Relation.SUBSET
    if s.kind == "na" or t.kind == "na":
        return Relation.DISJOINT
    if (s.lead or s.trail) and _wildcard_pattern(s).fullmatch(t.text.lower()):
        return Relation.SUPERSET
    return Relation.DISJOINT


def compare_names(source: CPE, target: CPE) -> dict[str, Relation]:
    """The relation of every attribute of ``source`` to the same attribute of ``target``."""
    return {
        name: compare_attribute(s, t) for name, s, t in zip(FIELDS, source.bound, target.bound, strict=True)
    }


def cpe_name_match(source: CPE, target: CPE) -> bool:
    """True when ``source`` is a superset of, or equal to, ``target`` on every attribute (CPE name match)."""
    return all(
        compare_attribute(s, t) in (Relation.SUPERSET, Relation.EQUAL)
        for s, t in zip(source.bound, target.bound, strict=True)
    )


# match_fields ------------------------------------------------------------------------------------------

#: how a formatted string starts, up to the colon after its part (the prefix and the part are case-sensitive)
_STARTS = frozenset(f"{_PREFIX}{p}:" for p in _PARTS)


def _plain_fields(text: str) -> tuple[str, ...] | None:
    """The fields of a name whose logical values are its components as written, else None.

    That is a string without backslashes, ``?``, whitespace or control characters, whose every ``*`` starts
    a component, with 13 non-empty components and a valid part: :meth:`CPE.parse` keeps each component as
    it is (a leading ``*`` is a wildcard, kept in the logical value). Nearly every NVD criterion is one;
    string scans at C speed decide it and a split reads it.
    """
    if (
        text[:10] not in _STARTS
        or "\\" in text
        or "?" in text
        or " " in text
        or not text.isprintable()
        or text.count("*") != text.count(":*")
    ):
        return None
    fields = tuple(text.lower().split(":"))
    if len(fields) != 2 + len(FIELDS) or "" in fields:
        return None
    return fields


@lru_cache(maxsize=65536)
def match_fields(text: str) -> tuple[str, ...] | None:
    """A CPE 2.3 formatted string as the matcher compares it: ``("cpe", "2.3", part, vendor, product,
    version, update, ...)``, 13 values, each the attribute's logical value (unescaped, as :meth:`CPE.parse`
    reads it) in lower case, so ``fields[3:5]`` is (vendor, product); None when ``text`` is not one.

    Lower case because NISTIR 7696 matching ignores case; a plain tuple because a scan reads every
    criterion of every candidate CVE (``CriteriaIndex``), where a :class:`CPE` would cost ten times more.
    Cached: one criterion recurs in many records (``linux:linux_kernel:*:…`` in thousands), and a cached
    answer costs a fraction of the shortest parse.
    """
    fields = _plain_fields(text)
    if fields is not None:
        return fields
    try:
        cpe = CPE.parse(text)
    except InputError:
        return None
    return ("cpe", "2.3", *(getattr(cpe, f).lower() for f in FIELDS))


def cpe_fields(text: str) -> tuple[str, ...]:
    """:func:`match_fields`, raising :class:`InputError` when ``text`` is no CPE 2.3 formatted string."""
    fields = match_fields(text)
    if fields is None:
        raise InputError(f"not a CPE 2.3 formatted string: {text!r}")
    return fields
