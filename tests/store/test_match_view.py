"""The matcher's read path gives, on SQLite and on PostgreSQL, exactly the stored records without their
descriptions, references and weaknesses."""

from __future__ import annotations

import dataclasses
import gc
import pickle
from collections.abc import Iterator
from datetime import UTC

import pytest
from sqlalchemy import Engine

from cvewatch.model.records import ConfigNode, Configuration, CpeMatch, CvssMetric, Vulnerability
from cvewatch.sources.nvd_files import NvdFileSource
from cvewatch.store import match_view
from cvewatch.store.match_view import load_for_matching
from cvewatch.store.vulnerabilities import load_vulnerabilities, upsert_all

from ..conftest import NVD

MISSING = "CVE-1999-0000999"  # a well-formed id that no record has
NEGATED = "CVE-2999-0000001"  # a copy of a real record with negated configuration and node (see below)


def real_records() -> list[Vulnerability]:
    """The genuine API 2.0 sample, the 1.1 feeds converted to 2.0, and the recent records (some ids twice:
    the store keeps the newest)."""
    out: list[Vulnerability] = []
    for path in (NVD / "api2.0-shape", NVD / "recent"):
        out += [i.vulnerability for i in NvdFileSource(path).records() if i.vulnerability is not None]
    return out


def negated(records: list[Vulnerability]) -> Vulnerability:
    """No real record negates a configuration or a node: the first one with an AND configuration whose
    second node has several matches, under another id, with that configuration and node negated."""
    for v in records:
        for i, conf in enumerate(v.configurations):
            if conf.operator == "AND" and len(conf.nodes) > 1 and len(conf.nodes[1].cpe_match) > 1:
                nodes = (conf.nodes[0], dataclasses.replace(conf.nodes[1], negate=True), *conf.nodes[2:])
                confs = list(v.configurations)
                confs[i] = dataclasses.replace(conf, nodes=nodes, negate=True)
                return dataclasses.replace(v, id=NEGATED, configurations=tuple(confs))
    raise LookupError("no AND configuration with a multi-match second node")


@pytest.fixture
def store(engine: Engine) -> Iterator[tuple[Engine, list[str]]]:
    """The store with the real records (and the negated copy) and their ids, sorted."""
    records = real_records()
    records.append(negated(records))
    with engine.begin() as conn:
        upsert_all(conn, records)
    yield engine, sorted({v.id for v in records})


def lean(engine: Engine, ids: list[str]) -> dict[str, Vulnerability]:
    """What load_for_matching must return: the full records without descriptions, references, weaknesses."""
    with engine.connect() as conn:
        return {
            v.id: dataclasses.replace(v, descriptions=(), references=(), weaknesses=())
            for v in load_vulnerabilities(conn, ids)
        }


def assert_same(got: dict[str, Vulnerability], want: dict[str, Vulnerability]) -> None:
    assert got == want
    assert list(got) == sorted(want)  # in id order
    for cve, v in got.items():
        w = want[cve]
        assert type(v) is Vulnerability
        assert repr(v) == repr(w) and hash(v) == hash(w)
        assert v.published.tzinfo is UTC and v.last_modified.tzinfo is UTC
        assert [type(m) for m in v.metrics] == [CvssMetric] * len(v.metrics)
        for conf in v.configurations:
            assert type(conf) is Configuration and type(conf.negate) is bool
            for node in conf.nodes:
                assert type(node) is ConfigNode and type(node.negate) is bool
                assert all(type(m) is CpeMatch and type(m.vulnerable) is bool for m in node.cpe_match)


def test_the_lean_records_are_the_stored_records_without_text(store: tuple[Engine, list[str]]) -> None:
    engine, ids = store
    want = lean(engine, ids)
    assert len(want) == len(ids)
    # what the set covers
    confs = [c for v in want.values() for c in v.configurations]
    nodes = [n for c in confs for n in c.nodes]
    assert any(c.operator == "AND" for c in confs) and any(c.operator is None for c in confs)
    assert any(c.negate for c in confs) and any(n.negate for n in nodes)
    assert any(not m.vulnerable for n in nodes for m in n.cpe_match)
    assert any(len(v.metrics) > 2 for v in want.values())
    assert {m.version for v in want.values() for m in v.metrics} >= {"2.0", "3.1", "4.0"}
    assert any(m.version_start_including for n in nodes for m in n.cpe_match)
    assert any(m.version_end_excluding for n in nodes for m in n.cpe_match)
    assert any(not n.cpe_match for n in nodes)
    assert any(not v.configurations for v in want.values())
    assert any(v.cisa_kev for v in want.values()) and any(v.rejected for v in want.values())
    assert any(v.descriptions for v in real_records())  # the lean records really leave text out

    with engine.connect() as conn:
        got = load_for_matching(conn, [MISSING, *reversed(ids), ids[0]])  # any order, repeats
    assert MISSING not in got
    assert_same(got, want)


def test_many_ids_over_several_chunks_and_fetches(
    store: tuple[Engine, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, ids = store
    want = lean(engine, ids)
    absent = [f"CVE-1998-{n:07d}" for n in range(10_500)]
    with engine.connect() as conn:
        # the default chunk size: more than one chunk, of which one only has ids that are not stored
        got = load_for_matching(conn, absent + ids)
        assert_same(got, want)
        # small chunks and fetches: their edges fall inside the rows of a CVE, a configuration and a node
        monkeypatch.setattr(match_view, "CHUNK", 37)
        monkeypatch.setattr(match_view, "BATCH", 5)
        got = load_for_matching(conn, iter([*ids, MISSING]))
    assert_same(got, want)


def test_other_databases_get_one_parameter_per_id(
    store: tuple[Engine, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, ids = store
    want = lean(engine, ids)
    monkeypatch.setattr(match_view, "_ONE_PARAMETER", {})
    monkeypatch.setattr(match_view, "_SQL", {})
    monkeypatch.setattr(match_view, "CHUNK", 400)
    with engine.connect() as conn:
        got = load_for_matching(conn, [*ids, MISSING])
        assert ":ids" in match_view._statements(conn)[0]
    assert_same(got, want)


def test_one_id_no_ids_or_only_unknown_ones(store: tuple[Engine, list[str]]) -> None:
    engine, _ = store
    want = lean(engine, ["CVE-2023-38545"])
    with engine.connect() as conn:
        assert_same(load_for_matching(conn, ["CVE-2023-38545"]), want)
        assert_same(load_for_matching(conn, {"CVE-2023-38545", MISSING}), want)
        assert load_for_matching(conn, []) == {}
        assert load_for_matching(conn, [MISSING, "CVE-1998-0000001"]) == {}


def test_the_records_behave_like_constructed_ones(store: tuple[Engine, list[str]]) -> None:
    engine, ids = store
    with engine.connect() as conn:
        got = load_for_matching(conn, ids)
    v = got["CVE-2023-38545"]
    assert pickle.loads(pickle.dumps(v)) == v
    assert dataclasses.replace(v) == v and dataclasses.asdict(v)["configurations"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.status = "Modified"  # type: ignore[misc]
    match = v.configurations[0].nodes[0].cpe_match[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.criteria = "cpe:2.3:a:haxx:curl:*:*:*:*:*:*:*:*"  # type: ignore[misc]
    assert match.has_range and not hasattr(match, "__dict__")


def test_the_garbage_collector_is_left_as_it_was(store: tuple[Engine, list[str]]) -> None:
    engine, ids = store
    assert gc.isenabled()
    with engine.connect() as conn:
        load_for_matching(conn, ids[:10])
        assert gc.isenabled()
        gc.disable()
        try:
            load_for_matching(conn, ids[:10])
            assert not gc.isenabled()
        finally:
            gc.enable()


def test_the_fast_construction_refuses_classes_it_cannot_mirror() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        criteria: str

        def __post_init__(self) -> None:
            raise AssertionError

    with pytest.raises(TypeError):
        match_view._draft(Checked, ("criteria",))
    with pytest.raises(TypeError):  # a field it would leave unset
        match_view._draft(CpeMatch, ("criteria", "vulnerable"))
    with pytest.raises(TypeError):  # the slots in another order: another memory layout
        match_view._draft(ConfigNode, ("negate", "operator", "cpe_match"))
