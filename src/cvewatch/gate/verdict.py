"""The gate's verdict: BVT + perf + CVE reasons → pass / fail / inconclusive, and its exit status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cvewatch.gate.bvt import BvtSummary
from cvewatch.gate.stats import PerfVerdict
from cvewatch.gate.verdict_types import EXIT_CODES, Reason, Status, combine


@dataclass(frozen=True)
class GateVerdict:
    """The verdict of one gate run, with every reason of every part."""

    status: Status
    bvt: Status
    perf: Status
    cve: Status
    reasons: tuple[Reason, ...]

    @property
    def exit_code(self) -> int:
        """0 pass, 1 fail, 2 inconclusive (docs/gate-statistics.md §9)."""
        return EXIT_CODES[self.status]

    def blocking(self) -> tuple[Reason, ...]:
        """The reasons that decided the verdict."""
        return tuple(r for r in self.reasons if r.blocking and r.status is not Status.PASS)


def gate_verdict(bvt: BvtSummary | None, perf: PerfVerdict | None, cve: Iterable[Reason]) -> GateVerdict:
    """Combine the parts; a part that was not given (no JUnit files, no perf files) is reported as such.

    No BVT results at all is inconclusive (nothing shows the image works); no perf results is
    inconclusive too; the CVE part passes when no finding blocks.
    """
    reasons: list[Reason] = []
    if bvt is None:
        reasons.append(Reason("bvt", "bvt", Status.INCONCLUSIVE, "no BVT results given"))
    else:
        reasons.extend(bvt.reasons)
    if perf is None:
        reasons.append(Reason("perf", "perf", Status.INCONCLUSIVE, "no performance results given"))
    else:
        reasons.extend(perf.reasons)
    cve_reasons = tuple(cve)
    reasons.extend(cve_reasons)
    return GateVerdict(
        status=combine(reasons),
        bvt=combine(r for r in reasons if r.part == "bvt"),
        perf=combine(r for r in reasons if r.part == "perf"),
        cve=combine(cve_reasons),
        reasons=tuple(reasons),
    )
