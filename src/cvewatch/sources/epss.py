"""FIRST's EPSS scores (the daily CSV, plain or gzip) → frozen values, and into the store.

The file starts with a comment line ``#model_version:v2025.03.14,score_date:2025-03-14T00:00:00+0000``,
then the header ``cve,epss,percentile`` and one line per CVE. The store keeps one day of scores: loading a
day replaces the stored day, unless the stored day is newer.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from cvewatch.errors import InputError
from cvewatch.model.exploits import EpssFile, EpssScore
from cvewatch.model.records import CVE_ID_RE, RecordProblem, text_problem
from cvewatch.redact import redact_url
from cvewatch.sources.cve5 import read_location

if TYPE_CHECKING:
    import httpx
    from sqlalchemy import Engine

__all__ = ["EPSS_URL", "EpssFile", "EpssReport", "EpssScore", "import_epss", "parse_csv", "read_scores"]

EPSS_URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
_MAX_PROBLEMS = 1000
MAX_MODEL_VERSION = 40  # the store's column (epss_scores.model_version)


@dataclass(frozen=True, slots=True)
class EpssReport:
    origin: str
    model_version: str | None
    score_date: date | None
    scores: int
    replaced: int  # rows of the previous day removed
    stale: bool  # the store already had a newer day: nothing written
    problems: tuple[RecordProblem, ...]


def _header_fields(line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in line.lstrip("#").split(","):
        key, sep, value = part.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _score_date(value: str | None, origin: str) -> date | None:
    if not value:
        return None
    try:
        return (
            datetime.fromisoformat(value).astimezone(UTC).date()
            if "T" in value
            else date.fromisoformat(value)
        )
    except ValueError:
        raise InputError(f"score_date is not a date: {value!r}", origin) from None


def _unit(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{text!r} is not between 0 and 1")
    return value


def parse_csv(text: str, *, origin: str = "<epss>") -> EpssFile:
    """The EPSS CSV → :class:`EpssFile`. A bad line is a problem naming its line number; a file without the
    ``cve,epss,percentile`` header raises :class:`InputError`. A CVE listed twice keeps its first line."""
    lines = io.StringIO(text)
    meta: dict[str, str] = {}
    header: list[str] | None = None
    lineno = 0
    for raw in lines:
        lineno += 1
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            meta.update(_header_fields(line))
            continue
        header = [h.strip().lower() for h in line.split(",")]
        break
    if header is None or header[:3] != ["cve", "epss", "percentile"]:
        raise InputError("not an EPSS CSV (no 'cve,epss,percentile' header)", origin)
    scores: dict[str, EpssScore] = {}
    problems: list[RecordProblem] = []
    for row in csv.reader(lines):
        lineno += 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        cve = row[0].strip()
        try:
            if not CVE_ID_RE.match(cve):
                raise ValueError(f"invalid CVE id {cve!r}")
            if len(row) < 3:
                raise ValueError(f"{len(row)} fields, expected 3")
            score = EpssScore(cve, _unit(row[1].strip()), _unit(row[2].strip()))
        except ValueError as err:
            if len(problems) < _MAX_PROBLEMS:
                problems.append(RecordProblem(f"{origin}:{lineno}", cve or None, str(err)))
            continue
        scores.setdefault(cve, score)
    model_version = meta.get("model_version")
    problem = text_problem(model_version, "model_version", MAX_MODEL_VERSION)
    if problem:
        problems.append(RecordProblem(origin, None, f"{problem}; it is not kept"))
        model_version = None
    return EpssFile(
        model_version=model_version,
        score_date=_score_date(meta.get("score_date"), origin),
        scores=tuple(scores.values()),
        problems=tuple(problems),
    )


def read_scores(
    location: str | os.PathLike[str] = EPSS_URL, *, client: httpx.Client | None = None
) -> EpssFile:
    """Read the scores from a URL (default: the current day's file) or a file, plain or gzip."""
    where = redact_url(str(location))
    raw = read_location(location, client=client)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text: {err}", where) from None
    return parse_csv(text, origin=where)


def import_epss(
    engine: Engine,
    location: str | os.PathLike[str] = EPSS_URL,
    *,
    client: httpx.Client | None = None,
    allow_older: bool = False,
) -> EpssReport:
    """Read a day of scores and make it the stored day, with a sync run ("epss").

    A day older than the stored one is skipped (``stale``) unless ``allow_older``; a file without a single
    score is refused (:class:`InputError`)."""
    from cvewatch.store.kev_epss import epss_score_date, replace_epss
    from cvewatch.store.sync_runs import finish_run, mark_success, start_run

    origin = redact_url(str(location))
    started = datetime.now(UTC)
    with engine.begin() as conn:
        run_id = start_run(conn, "epss", origin)
    data: EpssFile | None = None
    replaced = 0
    stale = False
    stored = False
    try:
        data = read_scores(location, client=client)
        if not data.scores:
            raise InputError("the EPSS file holds no score; the stored scores are kept", origin)
        with engine.begin() as conn:
            current = epss_score_date(conn)
            if (
                not allow_older
                and current is not None
                and data.score_date is not None
                and data.score_date < current
            ):
                stale = True
            else:
                replaced = replace_epss(conn, data)
        stored = True
    finally:
        problems = data.problems if data is not None else ()
        with engine.begin() as conn:
            finish_run(
                conn,
                run_id,
                status=("partial" if problems else "ok") if stored else "failed",
                messages=[str(p) for p in problems]
                + ([f"stale: {origin} is older than the store"] if stale else []),
                new=len(data.scores) if stored and data is not None and not stale else 0,
                unchanged=len(data.scores) if stale and data is not None else 0,
                errors=len(problems),
            )
            if stored and data is not None:
                cursor = {"score_date": data.score_date.isoformat() if data.score_date else None}
                mark_success(conn, "epss", started, cursor)
    assert data is not None
    return EpssReport(
        origin, data.model_version, data.score_date, len(data.scores), replaced, stale, data.problems
    )
