"""The package -> CPE mapping: the shipped file, suggestions and checks on real records and specs."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cvewatch.errors import ConfigError
from cvewatch.inventory.specfile import parse_spec
from cvewatch.matching.mapping import PackageMapping
from cvewatch.matching.suggest import check, name_variants, suggest, url_candidates
from cvewatch.sources.nvd_files import NvdFileSource
from cvewatch.store.vulnerabilities import seen_cpe_names, upsert_all

from ..conftest import NVD, SPECS


def test_the_shipped_mapping_loads_and_names_real_products() -> None:
    m = PackageMapping.load()
    curl = m.names_for("curl")
    assert curl.curated and ("haxx", "libcurl") in curl.names
    assert curl.matches("haxx", "libcurl") and not curl.matches("curl", "curl")
    fallback = m.names_for("some-unmapped-thing")
    assert not fallback.curated and fallback.matches("anyone", "some-unmapped-thing")
    shipped = resources.files("cvewatch.matching").joinpath("data/cpe-mapping.toml").read_text("utf-8")
    packages = tomllib.loads(shipped)["packages"]
    assert len(packages) > 100 and all(m.names_for(p).curated for p in packages)


def test_a_bad_mapping_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text('[packages]\ncurl = ["haxx-curl"]\n')
    with pytest.raises(ConfigError, match="vendor:product"):
        PackageMapping.load(bad)
    bad.write_text("[packages\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        PackageMapping.load(bad)


def test_name_variants_and_url_guesses() -> None:
    assert "urllib3" in name_variants("python-urllib3")
    assert "libcap" in name_variants("libcap") and "cap" in name_variants("libcap")
    assert ("curl", "curl", "github.com project curl/curl") in [
        (v, p, r.split(" (")[0])
        for v, p, r in url_candidates("https://github.com/curl/curl/releases/x.tar.gz")
    ]
    assert ("gnu", "tar") in [
        (v, p) for v, p, _ in url_candidates("https://ftp.gnu.org/gnu/tar/tar-1.35.tar.xz")
    ]


@pytest.fixture
def seen(engine: Engine) -> dict[str, dict[str, int]]:
    records = [
        i.vulnerability
        for path in (NVD / "recent", NVD / "api2.0-shape")
        for i in NvdFileSource(path).records()
        if i.vulnerability is not None
    ]
    with engine.begin() as conn:
        upsert_all(conn, records)
    with engine.connect() as conn:
        return seen_cpe_names(conn)


def test_seen_names_come_from_vulnerable_criteria(seen: dict[str, dict[str, int]]) -> None:
    assert seen["libcurl"]["haxx"] >= 1
    assert seen["openssh"]["openbsd"] >= 1
    # CVE-2023-38545 also lists fedora:37 as vulnerable; platform-only names appear as they are
    assert "fedora" in seen


def test_suggestions_for_a_real_spec(seen: dict[str, dict[str, int]]) -> None:
    spec = parse_spec(SPECS / "python-urllib3" / "python-urllib3.spec").package
    assert spec is not None
    top = suggest(spec, seen)[0]
    assert (top.vendor, top.product) == ("python", "urllib3")
    assert any("NVD names python:urllib3" in r for r in top.reasons)


def test_check_reports_unmapped_stale_and_other_vendor_names(seen: dict[str, dict[str, int]]) -> None:
    mapping = PackageMapping(
        {
            "openssh": (("openbsd", "openssh"),),
            "curl": (("haxx", "curl"), ("haxx", "libcurl"), ("nobody", "zzz")),
        }
    )
    report = check(["openssh", "curl", "python-urllib3"], mapping, seen)
    assert ("curl", "nobody:zzz") in report.never_matched
    assert [p for p, _ in report.unmapped] == ["python-urllib3"]
    assert all(pkg in ("openssh", "curl") for pkg, *_ in report.other_vendors)
