"""JUnit reading (pytest, Go, Kubernetes e2e, Surefire, box/flaky), XML safety, quarantine, BVT verdict."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cvewatch.errors import InputError
from cvewatch.gate.bvt import evaluate_bvt
from cvewatch.gate.junit import Outcome, load_junit, parse_junit
from cvewatch.gate.quarantine import QuarantineEntry, parse_quarantine
from cvewatch.gate.verdict_types import Status
from tests.gate.conftest import DATA, SAMPLES

TODAY = dt.date(2026, 6, 1)


def outcomes(path: Path) -> dict[str, Outcome]:
    return {r.test_id: r.outcome for r in load_junit(path)}


@pytest.mark.parametrize("name", ["junit-pytest-default.xml", "junit-pytest-xunit1.xml"])
def test_pytest_default_and_xunit1(name: str) -> None:
    assert outcomes(SAMPLES / name) == {
        "test_bvt::test_kernel_boots": Outcome.PASSED,
        "test_bvt::test_containerd_version": Outcome.FAILED,
        "test_bvt::test_gpu_driver": Outcome.SKIPPED,
        "test_bvt::test_known_bug": Outcome.SKIPPED,
        "test_bvt::test_setup_error": Outcome.ERROR,
    }


def test_go_rerun_that_passed_is_flaky() -> None:
    results = {r.test_id: r for r in load_junit(DATA / "junit-go.xml")}
    dial = results["github.com/example/nodeagent/net::TestDial"]
    assert dial.outcome is Outcome.FLAKY and dial.attempts == 2
    assert results["github.com/example/nodeagent/disk::TestMount/ext4"].outcome is Outcome.FAILED
    assert results["github.com/example/nodeagent/disk::TestTrim"].outcome is Outcome.SKIPPED


def test_kubernetes_e2e_ginkgo() -> None:
    got = outcomes(DATA / "junit-k8s-e2e.xml")
    assert sorted(got.values()) == sorted([Outcome.PASSED, Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED])
    failed = [k for k, v in got.items() if v is Outcome.FAILED]
    assert failed == [
        "Kubernetes e2e suite::[It] [sig-storage] CSI Volumes [Driver: disk.csi.azure.com] "
        "should provision storage with pvc data source"
    ]


def test_surefire_flaky_and_rerun_elements() -> None:
    results = {r.test_id: r for r in load_junit(DATA / "junit-surefire-flaky.xml")}
    assert results["com.example.node.BootTest::kubeletStarts"].outcome is Outcome.FLAKY
    rerun = results["com.example.node.BootTest::containerdSocket"]
    assert rerun.outcome is Outcome.FAILED and rerun.attempts == 2


def test_repeated_testcase_pass_and_failure_is_flaky() -> None:
    assert outcomes(DATA / "junit-box-flaky.xml") == {"TestDemo::test_demo_stuff": Outcome.FLAKY}


def test_repeated_failures_stay_failed() -> None:
    xml = (
        b'<testsuite name="s"><testcase classname="c" name="t"><failure message="one"/></testcase>'
        b'<testcase classname="c" name="t"><failure message="two"/></testcase></testsuite>'
    )
    (result,) = parse_junit(xml, "r.xml")
    assert result.outcome is Outcome.FAILED and result.attempts == 2 and result.message == "two"


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<testsuite name="s"><testcase classname="c" name="t"><failure message="&xxe;"/></testcase></testsuite>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<testsuite name="s"><testcase classname="c" name="&lol9;"/></testsuite>"""


def test_xxe_is_refused_and_nothing_is_read() -> None:
    with pytest.raises(InputError, match="DOCTYPE") as info:
        parse_junit(XXE, "xxe.xml")
    assert "root:" not in str(info.value)


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(InputError, match="entity"):
        parse_junit(BILLION_LAUGHS, "lolz.xml")


def test_undeclared_entity_reference_is_not_expanded() -> None:
    # no DOCTYPE: an entity reference is malformed XML, not something to resolve
    with pytest.raises(InputError, match="malformed"):
        parse_junit(b'<testsuite name="s"><testcase classname="c" name="&ext;"/></testsuite>', "e.xml")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'<testsuites><testsuite name="s"><testcase classname="c" name="t">', "malformed or truncated"),
        (b"<html><body>502 Bad Gateway</body></html>", "not a JUnit report"),
        (b'<testsuites><testsuite name="s"></testsuite></testsuites>', "without any test case"),
        (b"not xml at all", "malformed"),
    ],
)
def test_bad_junit_input(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_junit(data, "bad.xml")


def test_missing_file() -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_junit(DATA / "nope.xml")


def test_quarantine_toml_and_json() -> None:
    toml = parse_quarantine((DATA / "quarantine.toml").read_text(), "quarantine.toml")
    assert toml[0] == QuarantineEntry(
        "test_bvt::test_containerd_version",
        "alice@example.com",
        "containerd 1.7.22 lands in the next image (#123)",
        dt.date(2026, 12, 31),
    )
    assert toml[1].matches("Kubernetes e2e suite::[It] [sig-storage] CSI Volumes [Driver: x] should work")
    assert not toml[1].matches("Kubernetes e2e suite::[It] [sig-network] Services should work")
    assert not toml[0].matches("test_bvt::test_containerd_version_extra")
    json_entries = parse_quarantine((DATA / "quarantine.json").read_text(), "quarantine.json")
    assert json_entries[0].expires == dt.date(2026, 12, 31)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[quarantine]]\ntest = "a"\nowner = "o"\nreason = "r"\n', "no expires"),
        ('[[quarantine]]\ntest = "a"\nowner = ""\nreason = "r"\nexpires = 2026-01-01\n', "no owner"),
        ('{"quarantine": [{"test": "a", "owner": "o", "reason": "r", "expires": "soon"}]}', "must be a date"),
        ("[[quarantine]\n", "malformed"),
        ('{"tests": []}', "needs a list"),
    ],
)
def test_bad_quarantine(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_quarantine(text, "q")


def test_bvt_verdict_fails_on_failure_and_error() -> None:
    summary = evaluate_bvt(load_junit(SAMPLES / "junit-pytest-default.xml"), (), TODAY)
    assert summary.status is Status.FAIL
    assert (summary.passed, summary.failed, summary.errors, summary.skipped) == (1, 1, 1, 2)
    assert {r.subject for r in summary.reasons if r.blocking} == {
        "test_bvt::test_containerd_version",
        "test_bvt::test_setup_error",
    }


def test_quarantine_unblocks_until_it_expires() -> None:
    results = load_junit(SAMPLES / "junit-pytest-default.xml")
    entries = parse_quarantine((DATA / "quarantine.toml").read_text(), "q.toml") + parse_quarantine(
        (DATA / "quarantine.json").read_text(), "q.json"
    )
    held = evaluate_bvt(results, entries, TODAY)
    assert held.status is Status.PASS and held.quarantined == 2
    assert any("quarantined until 2026-12-31" in r.message for r in held.reasons)
    expired = evaluate_bvt(results, entries, dt.date(2027, 1, 1))
    assert expired.status is Status.FAIL and expired.quarantined == 0
    assert any("quarantine expired on 2026-12-31" in r.message for r in expired.reasons)
    # the expiry day itself still holds
    assert evaluate_bvt(results, entries, dt.date(2026, 12, 31)).status is Status.PASS


def test_flaky_is_reported_not_blocking() -> None:
    summary = evaluate_bvt(load_junit(DATA / "junit-box-flaky.xml"), (), TODAY)
    assert summary.status is Status.PASS and summary.flaky == 1
    assert summary.reasons[0].message.startswith("flaky: passed after 2 attempts")
    assert not summary.reasons[0].blocking


def test_no_results_is_inconclusive() -> None:
    assert evaluate_bvt((), (), TODAY).status is Status.INCONCLUSIVE
