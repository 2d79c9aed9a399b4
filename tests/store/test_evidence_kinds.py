"""Evidence kinds in the store: kept as their text (so the verdict digest of an unchanged verdict stays what
it was before kinds were an enum), read back as :class:`EvidenceKind`, and an unknown kind (written by
another version) is an error that says what to do."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, update

from cvewatch.errors import StoreError
from cvewatch.model.packages import SourcePackage
from cvewatch.model.verdicts import Evidence, EvidenceKind, Severity, Status, Verdict
from cvewatch.services.inventory import store_release
from cvewatch.store.verdicts import T_VERDICT, load_verdicts, replace_verdicts, verdict_digest

DETAIL = "version 8.11.1 is within [8.0.0, 8.12.0)"


def _verdict(kind: EvidenceKind | str) -> Verdict:
    return Verdict(
        "CVE-2025-00001",
        "curl",
        "azl3",
        None,
        "0:8.11.1-2.azl3",
        Status.AFFECTED,
        None,
        Severity.HIGH,
        None,
        (Evidence(kind, DETAIL),),  # type: ignore[arg-type]
    )


def test_the_digest_hashes_the_kinds_text() -> None:
    body = (
        b'["0:8.11.1-2.azl3","affected",null,"high",null,'
        b'[{"kind":"version-affected","detail":"' + DETAIL.encode() + b'"}]]'
    )
    expected = hashlib.blake2b(body, digest_size=8).hexdigest()
    assert verdict_digest(_verdict(EvidenceKind.VERSION_AFFECTED)) == expected
    assert verdict_digest(_verdict("version-affected")) == expected


def test_kinds_come_back_as_the_enum_and_an_unknown_one_is_an_error(engine: Engine) -> None:
    store_release(engine, [SourcePackage("curl", 0, "8.11.1", "2.azl3")], release="azl3", dist=".azl3")
    with engine.begin() as conn:
        replace_verdicts(conn, "azl3", None, [_verdict(EvidenceKind.VERSION_AFFECTED)])
    with engine.connect() as conn:
        (v,) = load_verdicts(conn, "azl3")
    assert v == _verdict(EvidenceKind.VERSION_AFFECTED)
    assert type(v.evidence[0].kind) is EvidenceKind
    with engine.begin() as conn:  # as a store written by a version with another kind would hold it
        conn.execute(update(T_VERDICT).values(evidence=[{"kind": "version-range", "detail": DETAIL}]))
    with engine.connect() as conn, pytest.raises(StoreError) as err:
        load_verdicts(conn, "azl3")
    message = str(err.value)
    assert "CVE-2025-00001 / curl" in message and "'version-range'" in message
    assert "cvewatch scan --full" in message
