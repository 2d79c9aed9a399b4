"""Publisher settings: [publisher] in the settings file, $CVEWATCH_PUBLISHER_*, command-line options."""

from __future__ import annotations

import pytest

from cvewatch.config import resolve_publisher, settings_from
from cvewatch.errors import ConfigError

DOC = {
    "publisher": {"name": "File Linux", "namespace": "https://file.example/", "contact_details": "sec@file"}
}


def test_file_then_environment_then_options() -> None:
    s = settings_from(DOC, {}, "f.toml").publisher
    assert (s.name, s.namespace, s.category, s.contact_details) == (
        "File Linux",
        "https://file.example/",
        "vendor",
        "sec@file",
    )
    env = {"CVEWATCH_PUBLISHER_NAME": "Env Linux", "CVEWATCH_PUBLISHER_CATEGORY": "coordinator"}
    s = settings_from(DOC, env, "f.toml").publisher
    assert (s.name, s.category) == ("Env Linux", "coordinator")
    r = resolve_publisher(s, {"name": "Option Linux", "namespace": None})
    assert (r.name, r.namespace, r.category) == ("Option Linux", "https://file.example/", "coordinator")


def test_nothing_configured_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"no publisher configured \(no name and no namespace\)"):
        resolve_publisher(settings_from({}, {}).publisher)


@pytest.mark.parametrize(
    ("doc", "env", "message"),
    [
        ({"publisher": {"namespace": "urn:x"}}, {}, r"f.toml: namespace: .* must be an http\(s\) URL"),
        ({}, {"CVEWATCH_PUBLISHER_NAMESPACE": "example.com"}, r"\$CVEWATCH_PUBLISHER_NAMESPACE: .* http"),
        ({"publisher": {"name": 3}}, {}, r"f.toml: name: expected a non-empty string"),
        ({"publisher": {"email": "x"}}, {}, r"unknown setting publisher.email"),
    ],
)
def test_bad_settings_name_where_they_came_from(
    doc: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from(doc, env, "f.toml")


def test_bad_category_from_the_file() -> None:
    s = settings_from({"publisher": {**DOC["publisher"], "category": "boss"}}, {}, "f.toml").publisher
    with pytest.raises(ConfigError, match=r"f.toml: category: the publisher category must be one of"):
        resolve_publisher(s)
