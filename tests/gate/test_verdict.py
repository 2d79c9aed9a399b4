"""The combined verdict (BVT + perf + CVE), exit statuses, and the charts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cvewatch.errors import InputError
from cvewatch.gate.bvt import evaluate_bvt
from cvewatch.gate.changepoint import detect_change_points
from cvewatch.gate.charts import distributions_chart, history_chart
from cvewatch.gate.cve import CveFinding, evaluate_cves
from cvewatch.gate.junit import load_junit
from cvewatch.gate.model import Direction, Family, MetricSamples
from cvewatch.gate.stats import compare_run
from cvewatch.gate.verdict import gate_verdict
from cvewatch.gate.verdict_types import EXIT_CODES, Status
from tests.gate.conftest import DATA

TODAY = dt.date(2026, 6, 1)


def perf(shift: float):
    rng = np.random.default_rng(4)
    b = MetricSamples("iops", "IOPS", Direction.HIGHER, Family.STORAGE, tuple(rng.normal(1000, 5, 10)))
    c = MetricSamples(
        "iops", "IOPS", Direction.HIGHER, Family.STORAGE, tuple(rng.normal(1000 * (1 - shift), 5, 10))
    )
    return compare_run({"iops": b}, {"iops": c}), b, c


def clean_bvt():
    return evaluate_bvt(load_junit(DATA / "junit-box-flaky.xml"), (), TODAY)


def test_exit_code_mapping() -> None:
    assert EXIT_CODES == {Status.PASS: 0, Status.FAIL: 1, Status.INCONCLUSIVE: 2}


def test_all_clear_passes_with_exit_0() -> None:
    verdict = gate_verdict(clean_bvt(), perf(0.0)[0], ())
    assert verdict.status is Status.PASS and verdict.exit_code == 0
    assert verdict.blocking() == ()
    assert any("flaky" in r.message for r in verdict.reasons)


def test_perf_regression_fails_with_exit_1_and_says_why() -> None:
    verdict = gate_verdict(clean_bvt(), perf(0.10)[0], ())
    assert verdict.status is Status.FAIL and verdict.exit_code == 1
    assert verdict.perf is Status.FAIL and verdict.bvt is Status.PASS
    assert [r.subject for r in verdict.blocking()] == ["iops"]


def test_missing_parts_are_inconclusive_with_exit_2() -> None:
    verdict = gate_verdict(None, perf(0.0)[0], ())
    assert verdict.status is Status.INCONCLUSIVE and verdict.exit_code == 2
    assert gate_verdict(clean_bvt(), None, ()).status is Status.INCONCLUSIVE


def test_fail_beats_inconclusive() -> None:
    assert gate_verdict(None, perf(0.10)[0], ()).status is Status.FAIL


def finding(**kw: object) -> CveFinding:
    base: dict[str, object] = dict(
        cve="CVE-2024-3094", package="xz", severity="critical", status="affected", fix_available=True
    )
    base.update(kw)
    return CveFinding(**base)  # type: ignore[arg-type]


def test_cve_gate_blocks_fixable_critical_and_high() -> None:
    reasons = evaluate_cves(
        [finding(), finding(cve="CVE-2024-6387", package="openssh", severity="High")], TODAY
    )
    assert [r.status for r in reasons] == [Status.FAIL, Status.FAIL]
    verdict = gate_verdict(clean_bvt(), perf(0.0)[0], reasons)
    assert verdict.status is Status.FAIL and verdict.cve is Status.FAIL


@pytest.mark.parametrize(
    "kw",
    [dict(severity="medium"), dict(status="not_affected"), dict(status="fixed"), dict(fix_available=False)],
)
def test_cve_gate_ignores_what_cannot_or_need_not_be_fixed(kw: dict[str, object]) -> None:
    assert evaluate_cves([finding(**kw)], TODAY) == ()


def test_cve_waiver_holds_until_it_expires() -> None:
    waived = finding(
        waived_until=dt.date(2026, 6, 30), waiver_reason="fix in next image", waiver_author="carol"
    )
    (held,) = evaluate_cves([waived], TODAY)
    assert not held.blocking and "waived until 2026-06-30 by carol" in held.message
    (expired,) = evaluate_cves([waived], dt.date(2026, 7, 1))
    assert expired.blocking and expired.status is Status.FAIL and "expired" in expired.message


def test_cve_ids_are_validated() -> None:
    with pytest.raises(InputError, match="not a CVE id"):
        finding(cve="CVE-24-1")


def test_distribution_chart_png_and_svg_deterministic() -> None:
    verdict, b, c = perf(0.10)
    comparison = verdict.comparisons[0]
    png = distributions_chart(comparison, b.values, c.values, "png")
    assert png.startswith(b"\x89PNG")
    svg1 = distributions_chart(comparison, b.values, c.values, "svg")
    svg2 = distributions_chart(comparison, b.values, c.values, "svg")
    assert svg1 == svg2 and b"<svg" in svg1 and b"iops: fail" in svg1
    with pytest.raises(ValueError):
        distributions_chart(comparison, b.values, c.values, "gif")


def test_history_chart_marks_change_points() -> None:
    rng = np.random.default_rng(2)
    values = list(np.concatenate([rng.normal(100, 1, 40), rng.normal(90, 1, 40)]))
    points = detect_change_points(values)
    svg = history_chart("boot", [f"3.0.{i}" for i in range(80)], values, points, "svg")
    assert b"boot: 1 change point(s)" in svg and b"-9.9 %" in svg
    with pytest.raises(ValueError):
        history_chart("boot", ["a"], values, points)
