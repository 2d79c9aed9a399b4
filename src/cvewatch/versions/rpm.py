"""rpm version semantics: rpmvercmp and epoch:version-release (EVR) comparison.

The algorithm is rpm's ``rpmvercmp`` (lib/rpmvercmp.c), restated:

* separators (anything not alphanumeric, ``~`` or ``^``) are all equal and skipped;
* ``~`` sorts before everything, even the end of the string (``1.0~rc1 < 1.0``);
* ``^`` sorts after the end of the string but before any further segment (``1.0 < 1.0^git1 < 1.0.1``);
* a digit run compares numerically (leading zeros ignored) and is newer than a letter run;
* letter runs compare with strcmp;
* when one string runs out, the one with something left is newer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from cvewatch.errors import InputError

# ASCII only, like rpm's risdigit/risalpha: "\d" would also match Unicode digits ("١", "５").
_SEGMENT = re.compile(r"([0-9]+|[a-zA-Z]+|~|\^)")


def rpmvercmp(a: str, b: str) -> int:
    """Compare two version (or release) strings as rpm does: -1, 0 or 1."""
    if a == b:
        return 0
    sa = _SEGMENT.findall(a)
    sb = _SEGMENT.findall(b)
    i = 0
    while True:
        xa = sa[i] if i < len(sa) else None
        xb = sb[i] if i < len(sb) else None
        i += 1
        # tilde: older than anything, including the end
        if xa == "~" or xb == "~":
            if xa != "~":
                return 1
            if xb != "~":
                return -1
            continue
        # caret: newer than the end, older than any other segment
        if xa == "^" or xb == "^":
            if xa is None:
                return -1
            if xb is None:
                return 1
            if xa != "^":
                return 1
            if xb != "^":
                return -1
            continue
        if xa is None or xb is None:
            if xa is None and xb is None:
                return 0
            return -1 if xa is None else 1
        a_num = xa[0].isdigit()
        b_num = xb[0].isdigit()
        if a_num != b_num:
            return 1 if a_num else -1
        if a_num:
            na, nb = xa.lstrip("0"), xb.lstrip("0")
            if len(na) != len(nb):
                return 1 if len(na) > len(nb) else -1
            if na != nb:
                return 1 if na > nb else -1
        elif xa != xb:
            return 1 if xa > xb else -1


_EVR_RE = re.compile(r"^(?:(?P<epoch>[^-:]*):)?(?P<version>[^-:]+)(?:-(?P<release>[^-:]+))?$")

#: The largest epoch: rpm's is a 32-bit tag, and the store keeps it in a SQL INTEGER (signed 32 bits).
MAX_EPOCH = 2**31 - 1


def is_ascii_number(text: str) -> bool:
    """True for a non-empty run of the ASCII digits 0-9 and nothing else.

    ``str.isdigit`` is not that: it accepts ``²`` (which ``int`` then refuses with a ValueError) and ``٣``
    (which ``int`` reads as 3); rpm reads neither as a number. Use this wherever input text is a number.
    """
    return text.isascii() and text.isdigit()


def parse_epoch(text: str) -> int:
    """An rpm epoch: ASCII digits, at most :data:`MAX_EPOCH`. Raises :class:`InputError` on anything else."""
    if not is_ascii_number(text):
        raise InputError(f"epoch is not a number of ASCII digits: {text[:40]!r}")
    if len(text.lstrip("0")) > 10 or int(text) > MAX_EPOCH:
        raise InputError(f"epoch is larger than {MAX_EPOCH}: {text[:40]!r}")
    return int(text)


@total_ordering
@dataclass(frozen=True, slots=True)
class EVR:
    """An rpm epoch:version-release. A missing epoch is 0; an empty release compares as absent."""

    epoch: int
    version: str
    release: str = ""

    @classmethod
    def parse(cls, text: str) -> EVR:
        """Parse ``[epoch:]version[-release]``; raises :class:`InputError` on anything else."""
        m = _EVR_RE.match(text.strip())
        if not m:
            raise InputError(f"not an rpm EVR: {text!r}")
        epoch = m["epoch"]
        if epoch is None:
            return cls(0, m["version"], m["release"] or "")
        try:
            return cls(parse_epoch(epoch), m["version"], m["release"] or "")
        except InputError as exc:
            raise InputError(f"not an rpm EVR ({exc}): {text[:80]!r}") from None

    def compare(self, other: EVR) -> int:
        if self.epoch != other.epoch:
            return 1 if self.epoch > other.epoch else -1
        c = rpmvercmp(self.version, other.version)
        if c:
            return c
        if not self.release or not other.release:
            return 0  # rpm: a missing release matches any release
        return rpmvercmp(self.release, other.release)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, EVR):
            return NotImplemented
        return self.compare(other) < 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EVR):
            return NotImplemented
        return self.compare(other) == 0

    def __hash__(self) -> int:
        return hash((self.epoch, self.version, self.release))

    def __str__(self) -> str:
        """Always ``epoch:version-release`` (the project's canonical form)."""
        return (
            f"{self.epoch}:{self.version}-{self.release}" if self.release else f"{self.epoch}:{self.version}"
        )


def label_compare(a: tuple[str | None, str, str | None], b: tuple[str | None, str, str | None]) -> int:
    """rpm's python ``labelCompare`` on (epoch, version, release) tuples: -1, 0 or 1.

    Mirrors ``labelCompare``/``compare_values`` in rpm's python/header-py.c: a ``None`` epoch is ``"0"``;
    each of epoch, version and release is compared with :func:`rpmvercmp`; a ``None`` release is older than
    any release (``(None, "1.0", "1") > (None, "1.0", None)``), two ``None`` releases are equal. This differs
    from :meth:`EVR.compare`, where a missing release matches any release (rpm's dependency-range rule).
    """
    c = rpmvercmp(a[0] if a[0] is not None else "0", b[0] if b[0] is not None else "0")
    if c:
        return c
    c = rpmvercmp(a[1], b[1])
    if c:
        return c
    ra, rb = a[2], b[2]
    if ra is None or rb is None:
        if ra is None and rb is None:
            return 0
        return -1 if ra is None else 1
    return rpmvercmp(ra, rb)
