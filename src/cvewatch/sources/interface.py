"""The interface every vulnerability source implements.

A source (NVD files, the NVD API, CVE JSON 5, KEV, ...) yields :class:`SourceItem` values: each holds
either a normalized :class:`~cvewatch.model.records.Vulnerability` or a :class:`RecordProblem` saying why
one record (or one file) could not be read. A bad record never stops a source; a source raises only when it
cannot start at all (for instance :class:`~cvewatch.errors.InputError` for a path that does not exist).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cvewatch.model.records import RecordProblem, Vulnerability

__all__ = ["RecordProblem", "Source", "SourceItem", "split_items"]


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One result of a source: exactly one of ``vulnerability`` and ``problem`` is set."""

    vulnerability: Vulnerability | None = None
    problem: RecordProblem | None = None

    def __post_init__(self) -> None:
        if (self.vulnerability is None) == (self.problem is None):
            raise ValueError("a SourceItem holds exactly one of a vulnerability and a problem")

    @classmethod
    def of(cls, value: Vulnerability | RecordProblem) -> SourceItem:
        """Wrap a vulnerability or a problem."""
        if isinstance(value, RecordProblem):
            return cls(problem=value)
        return cls(vulnerability=value)

    @property
    def ok(self) -> bool:
        return self.vulnerability is not None


class Source(ABC):
    """A provider of vulnerability records.

    Subclasses set ``name`` (a short, stable identifier such as ``"nvd-files"``, used in logs and in the
    store) and implement :meth:`records`. ``records`` may be called more than once; each call reads the data
    again.
    """

    name: str

    @abstractmethod
    def records(self) -> Iterator[SourceItem]:  # pragma: no cover - interface
        """Yield every record of the source, in a deterministic order, problems included."""
        raise NotImplementedError


def split_items(items: Iterable[SourceItem]) -> tuple[list[Vulnerability], list[RecordProblem]]:
    """Separate the vulnerabilities from the problems, keeping the order of each."""
    vulns: list[Vulnerability] = []
    problems: list[RecordProblem] = []
    for item in items:
        if item.vulnerability is not None:
            vulns.append(item.vulnerability)
        elif item.problem is not None:
            problems.append(item.problem)
    return vulns, problems
