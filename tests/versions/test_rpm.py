"""rpm version comparison: rpm's own test vectors, properties, and a differential test against python3-rpm."""

from __future__ import annotations

import ast
import json
import os
import random
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvewatch.errors import InputError
from cvewatch.versions.rpm import EVR, label_compare, rpmvercmp

RPM_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "rpm"
SYSTEM_PYTHON = "/usr/bin/python3"

Label = tuple[str | None, str, str | None]


def _rows(name: str) -> list[list[str]]:
    lines = (RPM_DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]


RPMVERCMP_VECTORS = [(r[0], r[1], int(r[2])) for r in _rows("rpmvercmp-vectors.tsv")]
EVR_VECTORS = [
    (ast.literal_eval(r[0]), ast.literal_eval(r[1]), int(r[2])) for r in _rows("evr-extra-vectors.tsv")
]


def test_vector_files_are_complete() -> None:
    assert len(RPMVERCMP_VECTORS) == 69
    assert len(EVR_VECTORS) == 11
    # the two oracle columns of rpmvercmp-vectors.tsv agree with each other
    for r in _rows("rpmvercmp-vectors.tsv"):
        assert r[2] == r[3]


@pytest.mark.parametrize(
    ("a", "b", "expected"), RPMVERCMP_VECTORS, ids=[f"{a}|{b}" for a, b, _ in RPMVERCMP_VECTORS]
)
def test_rpmvercmp_vectors(a: str, b: str, expected: int) -> None:
    assert rpmvercmp(a, b) == expected
    assert label_compare((None, a, None), (None, b, None)) == expected


@pytest.mark.parametrize(("a", "b", "expected"), EVR_VECTORS, ids=[f"{a}|{b}" for a, b, _ in EVR_VECTORS])
def test_label_compare_vectors(a: Label, b: Label, expected: int) -> None:
    assert label_compare(a, b) == expected
    assert label_compare(b, a) == -expected


def test_label_compare_missing_release_is_older() -> None:
    # python3-rpm labelCompare: a None release is older than any release (evr-extra-vectors.tsv, last row);
    # EVR.compare keeps rpm's dependency rule instead: a missing release matches any release.
    assert label_compare(("0", "1.0", None), ("0", "1.0", "1")) == -1
    assert label_compare(("0", "1.0", None), (None, "1.0", None)) == 0
    assert EVR.parse("1.0").compare(EVR.parse("1.0-1")) == 0


def test_rpmvercmp_ignores_unicode_digits() -> None:
    # rpm's risdigit is ASCII only: "١" (ARABIC-INDIC DIGIT ONE) and "５" (FULLWIDTH 5) are separators
    assert rpmvercmp("1.\u0661", "1") == 0
    assert rpmvercmp("\uff15", "") == 0
    assert rpmvercmp("1\uff15", "1.0") == -1


def test_evr_parse() -> None:
    assert EVR.parse("1:2.3-4.azl3") == EVR(1, "2.3", "4.azl3")
    assert str(EVR.parse("2.3")) == "0:2.3"
    assert EVR.parse("1:1.0") > EVR.parse("9.9-9")
    with pytest.raises(InputError):
        EVR.parse("1:2:3")


# -- properties -------------------------------------------------------------------------------------

version_text = st.text(alphabet="0123456789abcxyzABZ.~^_+", max_size=12)


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


@given(version_text)
def test_rpmvercmp_reflexive(a: str) -> None:
    assert rpmvercmp(a, a) == 0


@given(version_text, version_text)
def test_rpmvercmp_antisymmetric(a: str, b: str) -> None:
    assert rpmvercmp(a, b) == -rpmvercmp(b, a)
    assert rpmvercmp(a, b) in (-1, 0, 1)


@settings(max_examples=500)
@given(version_text, version_text, version_text)
def test_rpmvercmp_transitive(a: str, b: str, c: str) -> None:
    ab, bc, ac = rpmvercmp(a, b), rpmvercmp(b, c), rpmvercmp(a, c)
    if ab <= 0 and bc <= 0:
        assert ac <= 0
    if ab == 0 and bc == 0:
        assert ac == 0
    if (ab < 0 and bc <= 0) or (ab <= 0 and bc < 0):
        assert ac < 0


@given(version_text, version_text, version_text)
def test_rpmvercmp_transitive_on_prefixed(a: str, b: str, c: str) -> None:
    # make the three strings share a prefix so the interesting (deep) positions get compared
    test_rpmvercmp_transitive.hypothesis.inner_test("1.0" + a, "1.0" + b, "1.0" + c)  # type: ignore[attr-defined]


# -- differential test against Debian's python3-rpm (rpm 4.18) --------------------------------------

N_PAIRS = 100_000
_ORACLE = """
import json, sys, rpm
pairs = json.load(sys.stdin)
print(json.dumps([rpm.labelCompare(tuple(a), tuple(b)) for a, b in pairs]))
"""
_PIECES = [
    "0",
    "1",
    "2",
    "9",
    "10",
    "01",
    "007",
    "123456789012345678901234567890",
    "a",
    "b",
    "z",
    "A",
    "Z",
    "rc",
    "git",
    "el9",
    "azl3",
    "p",
    "beta",
    ".",
    ".",
    ".",
    "~",
    "^",
    "_",
    "+",
    "-",
    "é",
    "\u0661",
]


def _random_version(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 7)))


def _mutate(rng: random.Random, s: str) -> str:
    i = rng.randint(0, len(s))
    op = rng.random()
    if op < 0.4:
        return s[:i] + rng.choice(_PIECES) + s[i:]
    if op < 0.7 and s:
        return s[: max(0, i - 1)] + s[i:]
    return s[:i] + rng.choice(_PIECES) + s[i + 1 :]


def _random_label(rng: random.Random) -> Label:
    epoch = rng.choice([None, None, None, "0", "1", "2", "10", "01", ""])
    release = None if rng.random() < 0.2 else _random_version(rng)
    return epoch, _random_version(rng) or "0", release


def _near(rng: random.Random, a: Label) -> Label:
    epoch, version, release = a
    r = rng.random()
    if r < 0.45:
        version = _mutate(rng, version) or "1"  # rpm.labelCompare rejects an empty version
    elif r < 0.8:
        release = _mutate(rng, release) if release is not None else _random_version(rng)
    elif r < 0.9:
        release = None
    else:
        epoch = rng.choice([None, "0", "1"])
    return epoch, version, release


def _pairs(n: int, seed: int = 20240601) -> list[tuple[Label, Label]]:
    rng = random.Random(seed)
    out: list[tuple[Label, Label]] = []
    for _ in range(n):
        a = _random_label(rng)
        b = _near(rng, a) if rng.random() < 0.7 else _random_label(rng)
        out.append((a, b))
    return out


def _python3_rpm_problem() -> str | None:
    try:
        proc = subprocess.run([SYSTEM_PYTHON, "-c", "import rpm"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} cannot run: {exc}"
    if proc.returncode != 0:
        return (
            f"{SYSTEM_PYTHON} -c 'import rpm' failed (apt-get install -y python3-rpm): {proc.stderr.strip()}"
        )
    return None


def test_label_compare_matches_python3_rpm() -> None:
    problem = _python3_rpm_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the python3-rpm oracle is unavailable: {problem}")
        pytest.skip(f"python3-rpm oracle unavailable: {problem}")
    pairs = _pairs(N_PAIRS)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", _ORACLE], input=json.dumps(pairs), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    expected: list[int] = json.loads(proc.stdout)
    oracle_s = time.perf_counter() - t0
    assert len(expected) == len(pairs)
    mismatches = [
        (a, b, want, got)
        for (a, b), want in zip(pairs, expected, strict=True)
        if (got := label_compare(a, b)) != want
    ]
    assert not mismatches, (
        f"{len(mismatches)} of {len(pairs)} differ from rpm.labelCompare, e.g. {mismatches[:5]}"
    )
    # the pairs must exercise every outcome, not just one
    assert {-1, 0, 1} <= set(expected)
    assert sum(1 for e in expected if e == 0) > 1000
    print(f"python3-rpm differential: {len(pairs)} pairs, oracle subprocess {oracle_s:.2f}s")
