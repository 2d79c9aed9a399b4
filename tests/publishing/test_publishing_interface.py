from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import Verdict
from cvewatch.publishing.interface import (
    DEMO_PUBLISHER,
    DocumentPublisher,
    PublishedDocument,
    Publisher,
    write_documents,
)


def test_a_publisher_has_no_default_the_demo_publisher_is_the_demos() -> None:
    with pytest.raises(TypeError):
        Publisher()  # type: ignore[call-arg]
    p = Publisher("Example Linux", "https://security.example.com/")
    assert p.category == "vendor"
    assert p.contact_details is None and p.issuing_authority is None
    assert DEMO_PUBLISHER.name == "cvewatch demo distribution"
    assert DEMO_PUBLISHER.namespace == "https://cvewatch.example/"
    assert DEMO_PUBLISHER.contact_details


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x.json", "2023/../../x.json", "a\\b.json"])
def test_published_document_path_must_stay_inside(path: str) -> None:
    with pytest.raises(ValueError):
        PublishedDocument(path, b"{}")


def test_write_documents_creates_folders_and_writes_exact_bytes(tmp_path: Path) -> None:
    docs = [PublishedDocument("2023/a.json", b'{"a": 1}\n'), PublishedDocument("b.json", b"\x00\xff")]
    written = write_documents(docs, tmp_path / "out")
    assert written == [tmp_path / "out" / "2023" / "a.json", tmp_path / "out" / "b.json"]
    assert [p.read_bytes() for p in written] == [d.content for d in docs]


def test_document_publisher_is_abstract() -> None:
    with pytest.raises(TypeError):
        DocumentPublisher()  # type: ignore[abstract]

    class Echo(DocumentPublisher):
        format_name = "echo"

        def render(self, vuln: Vulnerability, verdicts: Sequence[Verdict]) -> list[PublishedDocument]:
            return [PublishedDocument(f"{vuln.id}.txt", str(len(verdicts)).encode())]

    from datetime import UTC, datetime

    v = Vulnerability(
        "CVE-2024-0001", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC), "x"
    )
    assert Echo().render(v, []) == [PublishedDocument("CVE-2024-0001.txt", b"0")]
