"""Our change points against the ``apache-otava`` package on the same series (run in .venv-otava).

    make otava-env && .venv-otava/bin/python tests/gate/otava_compare.py

Series: Otava's TigerBeetle series, every univariate TCPD series, and seeded random series with steps;
settings: window 10/30/50, max p 0.0001–0.2, size floor 0 and 5 %. Prints one line per difference and a
summary; exits 1 when a series outside ``KNOWN_TIES`` differs. Otava gets Python
lists (given a numpy array, its 0.8.0 split step analyses the whole series in every window instead of the
window).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
PERF = ROOT.parent / "shared" / "data" / "perf"

from otava.analysis import compute_change_points  # noqa: E402

from cvewatch.gate.changepoint import detect_change_points  # noqa: E402

# A series where Otava's Q has an exact tie (1.5 == 1.5 in the window starting at 186) that our prefix sums
# round apart (1.4999999999999996 vs 1.5000000000000002): the first pick differs, and so do later windows.
KNOWN_TIES = {"tcpd/children_per_woman"}
SETTINGS = [(w, p, m) for w in (10, 30, 50) for p in (0.0001, 0.001, 0.01, 0.05, 0.2) for m in (0.0, 0.05)]


def series() -> list[tuple[str, list[float]]]:
    """Every series to compare, with a name."""
    out = [
        (
            "tigerbeetle",
            [float(v) for v in json.loads((PERF / "otava/tigerbeetle.json").read_text())["series"]],
        )
    ]
    for path in sorted((PERF / "tcpd/datasets").glob("*/*.json")):
        doc = json.loads(path.read_text())
        if doc["n_dim"] == 1:
            raw = doc["series"][0]["raw"]
            filled, last = [], next(v for v in raw if v is not None)
            for v in raw:
                last = last if v is None else v
                filled.append(float(last))
            out.append((f"tcpd/{path.stem}", filled))
    rng = random.Random(15)
    for k in range(20):
        level, values = 100.0, []
        for _ in range(rng.randint(40, 200)):
            if rng.random() < 0.03:
                level *= 1 + rng.choice([-1, 1]) * rng.uniform(0.02, 0.2)
            values.append(rng.gauss(level, level * rng.choice([0.005, 0.01, 0.03])))
        out.append((f"random/{k}", values))
    return out


def main() -> int:
    compared = differ = unexplained = 0
    for name, values in series():
        for window, pvalue, magnitude in SETTINGS:
            theirs, _ = compute_change_points(
                list(values), window_len=window, max_pvalue=pvalue, min_magnitude=magnitude
            )
            ours = detect_change_points(values, window, pvalue, magnitude)
            compared += 1
            a, b = [int(c.index) for c in theirs], [c.index for c in ours]
            if a != b:
                differ += 1
                unexplained += name not in KNOWN_TIES
                print(f"DIFF {name} window={window} p={pvalue} floor={magnitude}: otava {a} ours {b}")
    print(
        f"otava-compare: {compared} (series, setting) pairs, {compared - differ} identical, {differ} differ, "
        f"{unexplained} outside the known ties"
    )
    return 1 if unexplained else 0


if __name__ == "__main__":
    raise SystemExit(main())
