"""Settings of the scheduled job: a TOML file (``--config`` or ``$CVEWATCH_CONFIG``) and environment.

```toml
[store]
url = "postgresql+psycopg://cvewatch@db/cvewatch"   # else --db / $CVEWATCH_DB / the default SQLite file

[schedule]
cron = "0 */12 * * *"          # five-field cron, in UTC unless `timezone` is set (twice a day by default)
timezone = "UTC"

[sources]
nvd = "files"                  # "files", "api" or "off"
nvd_paths = ["/var/lib/cvewatch/nvd"]
cve5 = "/var/lib/cvewatch/cvelistV5"   # a folder or file of CVE JSON 5 records, or false
cve5_delta = "cves/deltaLog.json"       # optional: read only what this delta names (path or URL)
kev = true                     # true = CISA's feed; a URL or a file; false = off
epss = true                    # true = FIRST's daily file; a URL or a file; false = off

[scan]
releases = ["azl3"]
images = ["AKSAzureLinuxV3-gen2-202608.20.0"]
workers = 2                    # processes for a full scan (default: the CPUs, at most 4)

[publisher]                    # who issues the documents `cvewatch publish csaf` writes (no default)
name = "Example Linux"
namespace = "https://security.example.com/"
category = "vendor"            # a CSAF publisher category (default vendor)
contact_details = "security@example.com"
issuing_authority = "Example Linux publishes statements about the packages it ships."
```

Environment variables override the file: ``CVEWATCH_SCHEDULE``, ``CVEWATCH_TIMEZONE``, ``CVEWATCH_NVD``,
``CVEWATCH_NVD_PATHS`` (separated by ``:``), ``CVEWATCH_CVE5``, ``CVEWATCH_CVE5_DELTA``, ``CVEWATCH_KEV``,
``CVEWATCH_EPSS`` (``on``/``off`` or a location), ``CVEWATCH_RELEASES`` and ``CVEWATCH_IMAGES`` (separated by
commas), ``CVEWATCH_SCAN_WORKERS``, ``CVEWATCH_PUBLISHER_NAME``, ``CVEWATCH_PUBLISHER_NAMESPACE``,
``CVEWATCH_PUBLISHER_CATEGORY``, ``CVEWATCH_PUBLISHER_CONTACT`` and ``CVEWATCH_PUBLISHER_AUTHORITY``. Every
bad value is a :class:`~cvewatch.errors.ConfigError` naming the setting and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cvewatch.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CRON",
    "NVD_MODES",
    "PUBLISHER_CATEGORIES",
    "PublisherCategory",
    "PublisherSettings",
    "Settings",
    "SourceSettings",
    "load_settings",
    "parse_workers",
    "resolve_publisher",
    "settings_from",
    "validate_cron",
]

CONFIG_ENV = "CVEWATCH_CONFIG"
DEFAULT_CRON = "0 */12 * * *"
NVD_MODES = ("off", "files", "api")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_SECTIONS = {
    "store": {"url"},
    "schedule": {"cron", "timezone"},
    "sources": {"nvd", "nvd_paths", "cve5", "cve5_delta", "kev", "epss"},
    "scan": {"releases", "images", "workers"},
    "publisher": {"name", "namespace", "category", "contact_details", "issuing_authority"},
}


class PublisherCategory(StrEnum):
    """CSAF 2.0 ``document.publisher.category``."""

    COORDINATOR = "coordinator"
    DISCOVERER = "discoverer"
    OTHER = "other"
    TRANSLATOR = "translator"
    USER = "user"
    VENDOR = "vendor"


PUBLISHER_CATEGORIES = tuple(c.value for c in PublisherCategory)
_PUBLISHER_ENV = {
    "name": "CVEWATCH_PUBLISHER_NAME",
    "namespace": "CVEWATCH_PUBLISHER_NAMESPACE",
    "category": "CVEWATCH_PUBLISHER_CATEGORY",
    "contact_details": "CVEWATCH_PUBLISHER_CONTACT",
    "issuing_authority": "CVEWATCH_PUBLISHER_AUTHORITY",
}
_PUBLISHER_OPTIONS = {
    "name": "--publisher-name",
    "namespace": "--publisher-namespace",
    "category": "--publisher-category",
    "contact_details": "--publisher-contact",
    "issuing_authority": "--publisher-authority",
}


@dataclass(frozen=True, slots=True)
class SourceSettings:
    nvd: str = "off"  # one of NVD_MODES
    nvd_paths: tuple[str, ...] = ()
    cve5: str | None = None  # a folder or file of records (a cvelistV5 checkout), or None
    cve5_delta: str | None = None
    kev: str | None = None  # a URL or file, or None for off
    epss: str | None = None

    @property
    def enabled(self) -> tuple[str, ...]:
        """The sources a sync step runs, in order: ``nvd-files``/``nvd-api``, ``cve5``, ``kev``, ``epss``."""
        names = [] if self.nvd == "off" else [f"nvd-{self.nvd}"]
        if self.cve5 is not None or self.cve5_delta is not None:
            names.append("cve5")
        names += [n for n, v in (("kev", self.kev), ("epss", self.epss)) if v is not None]
        return tuple(names)


@dataclass(frozen=True, slots=True)
class PublisherSettings:
    """Who issues the published documents; ``name`` and ``namespace`` are required to publish (the demo's
    publisher is the demo's only). Each value says where it came from in ``origins``, for messages."""

    name: str | None = None
    namespace: str | None = None  # an https URL the publisher controls (CSAF: its globally unique id)
    category: str = "vendor"
    contact_details: str | None = None
    issuing_authority: str | None = None
    origins: tuple[tuple[str, str], ...] = ()  # (setting, where it came from)


@dataclass(frozen=True, slots=True)
class Settings:
    cron: str = DEFAULT_CRON
    timezone: str = "UTC"
    db_url: str | None = None
    sources: SourceSettings = field(default_factory=SourceSettings)
    releases: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    workers: int | None = None  # processes for a full scan; None: the CPUs, at most 4
    publisher: PublisherSettings = field(default_factory=PublisherSettings)
    origin: str = "defaults"  # where the settings came from, for messages

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def validate_cron(expr: str, where: str = "schedule.cron") -> str:
    """``expr`` if it is a valid five-field cron expression, else :class:`ConfigError`."""
    from croniter import croniter

    text = " ".join(str(expr).split())
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise ConfigError(
            f"{where}: {expr!r} is not a five-field cron expression (minute hour day month weekday), "
            f"e.g. {DEFAULT_CRON!r} for twice a day"
        )
    return text


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
    return value.strip()


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
        return tuple(v for v in items if v)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a list of names, got {value!r}")
    return tuple(v.strip() for v in value)


def parse_workers(value: Any, where: str) -> int:
    """A number of processes (1 or more), else :class:`ConfigError` naming ``where``."""
    try:
        n = int(str(value).strip()) if not isinstance(value, bool) else 0
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{where}: expected a number of processes (1 or more), got {value!r}")
    return n


def _location(value: Any, where: str, default: str | None) -> str | None:
    """``true``/``on`` → the default location; ``false``/``off`` → None; a string → itself."""
    if isinstance(value, bool):
        return default if value else None
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE and default is not None:
            return default
        if low in _FALSE:
            return None
        return value.strip()
    raise ConfigError(f"{where}: expected true, false or a URL or path, got {value!r}")


def _namespace(value: str, where: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or any(c.isspace() for c in value):
        raise ConfigError(f"{where}: the publisher namespace must be an http(s) URL, got {value!r}")
    return value


def resolve_publisher(
    settings: PublisherSettings, overrides: Mapping[str, str | None] | None = None
) -> PublisherSettings:
    """``settings`` with ``overrides`` (command-line options: ``name``, ``namespace``, ``category``,
    ``contact_details``, ``issuing_authority``; None = not given) applied and checked: a name and an http(s)
    namespace are required, the category is one of :data:`PUBLISHER_CATEGORIES`. Else :class:`ConfigError`."""
    values: dict[str, str | None] = {
        "name": settings.name,
        "namespace": settings.namespace,
        "category": settings.category,
        "contact_details": settings.contact_details,
        "issuing_authority": settings.issuing_authority,
    }
    origins = dict(settings.origins)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            origins[key] = _PUBLISHER_OPTIONS[key]
    missing = [k for k in ("name", "namespace") if not (values[k] or "").strip()]
    if missing:
        raise ConfigError(
            f"no publisher configured (no {' and no '.join(missing)}): give --publisher-name and "
            "--publisher-namespace, or [publisher] name and namespace in the settings file (--config, "
            "$CVEWATCH_CONFIG), or $CVEWATCH_PUBLISHER_NAME and $CVEWATCH_PUBLISHER_NAMESPACE; the demo's "
            "publisher is for `cvewatch demo` only"
        )
    out = {k: (_str(v, origins.get(k, k)) if v is not None else None) for k, v in values.items()}
    assert out["namespace"] is not None and out["name"] is not None
    _namespace(out["namespace"], origins.get("namespace", "namespace"))
    category = (out["category"] or "vendor").lower()
    if category not in PUBLISHER_CATEGORIES:
        raise ConfigError(
            f"{origins.get('category', 'category')}: the publisher category must be one of "
            f"{', '.join(PUBLISHER_CATEGORIES)}, got {out['category']!r}"
        )
    return PublisherSettings(
        out["name"],
        out["namespace"],
        category,
        out["contact_details"],
        out["issuing_authority"],
        tuple(sorted(origins.items())),
    )


def _check_keys(doc: Mapping[str, Any], origin: str) -> None:
    for section, value in doc.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{origin}: unknown section [{section}] (known: {', '.join(_SECTIONS)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{origin}: {section} must be a table ([{section}])")
        unknown = sorted(set(value) - _SECTIONS[section])
        if unknown:
            raise ConfigError(
                f"{origin}: unknown setting {section}.{unknown[0]} "
                f"(known in [{section}]: {', '.join(sorted(_SECTIONS[section]))})"
            )


def settings_from(doc: Mapping[str, Any], env: Mapping[str, str], origin: str = "<settings>") -> Settings:
    """Settings from a parsed TOML document and an environment (which overrides the document)."""
    from cvewatch.sources.epss import EPSS_URL
    from cvewatch.sources.kev import KEV_URL

    _check_keys(doc, origin)
    store, sched = doc.get("store", {}), doc.get("schedule", {})
    src, scan = doc.get("sources", {}), doc.get("scan", {})

    def pick(env_name: str, section: Mapping[str, Any], key: str, default: Any) -> tuple[Any, str]:
        if env_name in env:
            return env[env_name], f"${env_name}"
        if key in section:
            return section[key], f"{origin}: {key}"
        return default, key

    cron_value, where = pick("CVEWATCH_SCHEDULE", sched, "cron", DEFAULT_CRON)
    cron = validate_cron(_str(cron_value, where), where)
    tz_value, where = pick("CVEWATCH_TIMEZONE", sched, "timezone", "UTC")
    tz = _str(tz_value, where)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: unknown time zone {tz!r} (an IANA name such as 'UTC' or 'Europe/Paris')"
        ) from None

    url_value = store.get("url")
    db_url = _str(url_value, f"{origin}: store.url") if url_value is not None else None

    nvd_value, where = pick("CVEWATCH_NVD", src, "nvd", "off")
    nvd = "off" if nvd_value is False else _str(nvd_value, where).lower()
    if nvd not in NVD_MODES:
        raise ConfigError(f"{where}: nvd must be one of {', '.join(NVD_MODES)}, got {nvd_value!r}")
    paths_value, where = pick("CVEWATCH_NVD_PATHS", src, "nvd_paths", [])
    if isinstance(paths_value, str):
        paths_value = [p for p in paths_value.split(os.pathsep) if p]
    nvd_paths = _names(paths_value, where)
    if nvd == "files" and not nvd_paths:
        raise ConfigError(f"{where}: nvd = 'files' needs nvd_paths (files or folders of NVD records)")

    cve5_value, where = pick("CVEWATCH_CVE5", src, "cve5", None)
    cve5 = None if cve5_value is None else _location(cve5_value, where, None)
    delta_value, where = pick("CVEWATCH_CVE5_DELTA", src, "cve5_delta", None)
    cve5_delta = None if delta_value is None else _location(delta_value, where, None)
    kev_value, where = pick("CVEWATCH_KEV", src, "kev", None)
    kev = None if kev_value is None else _location(kev_value, where, KEV_URL)
    epss_value, where = pick("CVEWATCH_EPSS", src, "epss", None)
    epss = None if epss_value is None else _location(epss_value, where, EPSS_URL)

    rel_value, where = pick("CVEWATCH_RELEASES", scan, "releases", [])
    releases = _names(rel_value, where)
    img_value, where = pick("CVEWATCH_IMAGES", scan, "images", [])
    images = _names(img_value, where)
    workers_value, where = pick("CVEWATCH_SCAN_WORKERS", scan, "workers", None)
    workers = None if workers_value is None else parse_workers(workers_value, where)

    pub = doc.get("publisher", {})
    pub_values: dict[str, str | None] = {}
    pub_origins: list[tuple[str, str]] = []
    for key, env_name in _PUBLISHER_ENV.items():
        value, where = pick(env_name, pub, key, None)
        if value is None:
            continue
        pub_values[key] = _str(value, where)
        pub_origins.append((key, where))
    if "namespace" in pub_values:
        _namespace(str(pub_values["namespace"]), dict(pub_origins)["namespace"])
    publisher = PublisherSettings(
        name=pub_values.get("name"),
        namespace=pub_values.get("namespace"),
        category=pub_values.get("category") or "vendor",
        contact_details=pub_values.get("contact_details"),
        issuing_authority=pub_values.get("issuing_authority"),
        origins=tuple(pub_origins),
    )

    return Settings(
        cron=cron,
        timezone=tz,
        db_url=db_url,
        sources=SourceSettings(nvd, nvd_paths, cve5, cve5_delta, kev, epss),
        releases=releases,
        images=images,
        workers=workers,
        publisher=publisher,
        origin=origin,
    )


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Settings from ``path`` (else ``$CVEWATCH_CONFIG``, else no file) and the environment."""
    env = os.environ if env is None else env
    location = str(path) if path is not None else env.get(CONFIG_ENV) or None
    doc: dict[str, Any] = {}
    origin = "environment"
    if location is not None:
        file = Path(location)
        try:
            doc = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{location}: no such configuration file") from None
        except OSError as err:
            raise ConfigError(f"{location}: cannot read: {err.strerror or err}") from None
        except UnicodeDecodeError as err:
            raise ConfigError(f"{location}: not UTF-8 text ({err})") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{location}: invalid TOML: {err}") from None
        origin = location
    return settings_from(doc, env, origin)
