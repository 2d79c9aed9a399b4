"""Parse NVD CVE API 2.0 JSON (``cve`` objects and API pages) into :class:`Vulnerability` values.

Pure functions over already-decoded JSON values: no I/O. Unknown keys are ignored (mirrors such as
fkie-cad/nvd-json-data-feeds add ``affected`` and ``metrics.ssvcV203``). Anything present but of the wrong
type makes the whole record malformed: :func:`parse_cve` raises :class:`~cvewatch.errors.RecordError`, and
:func:`iter_document` reports a :class:`~cvewatch.sources.interface.RecordProblem` and goes on. So does a
record the store could not keep as it is (:func:`~cvewatch.model.records.storage_problem`: a NUL
character in any text, a value longer than its column, an id longer than 32 characters): PostgreSQL would
refuse the whole page or file for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

from cvewatch.errors import RecordError
from cvewatch.model.records import (
    CVE_ID_RE,
    MAX_CPE_PART,
    MAX_CVSS_VERSION,
    MAX_CWE,
    MAX_MATCH_CRITERIA_ID,
    MAX_METRIC_TYPE,
    MAX_SEVERITY,
    MAX_SOURCE,
    MAX_STATUS,
    MAX_VECTOR,
    MAX_VERSION_BOUND,
    ConfigNode,
    Configuration,
    CpeMatch,
    CvssMetric,
    Description,
    RecordProblem,
    Reference,
    Vulnerability,
    storage_problem,
)

__all__ = ["METRIC_KEYS", "iter_document", "nul_free", "parse_cve", "parse_nvd_datetime"]

#: The ``metrics`` keys that are read, newest CVSS version first (this is also the order of
#: :attr:`Vulnerability.metrics`). Other keys (``ssvcV203``, future versions) are ignored.
METRIC_KEYS: tuple[str, ...] = ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2")

_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_VERSION_KEYS: tuple[tuple[str, str], ...] = (
    ("versionStartIncluding", "version_start_including"),
    ("versionStartExcluding", "version_start_excluding"),
    ("versionEndIncluding", "version_end_including"),
    ("versionEndExcluding", "version_end_excluding"),
)
_OPERATORS = frozenset({"OR", "AND"})
_MAX_SHOWN = 60  # characters of an offending value quoted in a message


class _Malformed(Exception):
    """Internal: a record is malformed at ``path``; becomes RecordError or RecordProblem at the boundary."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = str(self.args[0])


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _fail(path: str, expected: str, value: Any) -> NoReturn:
    raise _Malformed(path, f"expected {expected}, got {_type_name(value)} {_show(value)}")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# --- typed accessors ---


def _obj(value: Any, path: str) -> Mapping[str, Any]:
    if type(value) is dict:  # the common case, much cheaper than the ABC check
        return value
    if not isinstance(value, Mapping):
        _fail(path, "an object", value)
    return value


def _req_str(obj: Mapping[str, Any], key: str, path: str) -> str:
    if key not in obj:
        raise _Malformed(path, f"missing {key!r}")
    value = obj[key]
    if not isinstance(value, str):
        _fail(_join(path, key), "a string", value)
    return value


def _opt_str(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    _fail(_join(path, key), "a string", value)


def _opt_bool(obj: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        _fail(_join(path, key), "a boolean", value)
    return value


def _opt_list(obj: Mapping[str, Any], key: str, path: str) -> list[Any] | tuple[Any, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        _fail(_join(path, key), "an array", value)
    return value


def _score(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(path, "a number", value)
    if not 0 <= value <= 10:  # also rejects NaN; compares big ints without overflowing
        raise _Malformed(path, f"score {_show(value)} is outside 0..10")
    return float(value)


def parse_nvd_datetime(value: Any, path: str = "") -> datetime:
    """Parse an NVD timestamp into an aware UTC datetime.

    NVD writes ``2023-10-18T04:15:11.077`` with no zone, meaning UTC; ``Z`` and ``+hh:mm`` offsets are
    accepted too. Only the extended ISO 8601 form with a ``T`` and at least hours and minutes is accepted.
    Raises :class:`RecordError` (naming ``path``) for anything else.
    """
    try:
        return _datetime(value, path)
    except _Malformed as err:
        raise RecordError(err.message) from None


def _datetime(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        _fail(path, "a date-time string", value)
    if not _DATETIME_RE.fullmatch(value):
        raise _Malformed(path, f"invalid date-time {_show(value)}")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise _Malformed(path, f"invalid date-time {_show(value)} ({err})") from None


# --- the parts of a cve object ---


def _descriptions(cve: Mapping[str, Any]) -> tuple[Description, ...]:
    out: list[Description] = []
    for i, raw in enumerate(_opt_list(cve, "descriptions", "")):
        path = f"descriptions[{i}]"
        d = _obj(raw, path)
        out.append(Description(lang=_req_str(d, "lang", path), value=_req_str(d, "value", path)))
    return tuple(out)


def _metric(raw: Any, key: str, path: str) -> CvssMetric:
    m = _obj(raw, path)
    data_path = _join(path, "cvssData")
    if "cvssData" not in m:
        raise _Malformed(path, "missing 'cvssData'")
    data = _obj(m["cvssData"], data_path)
    if "baseScore" not in data:
        raise _Malformed(data_path, "missing 'baseScore'")
    # CVSS v2 keeps baseSeverity on the metric object; v3.x and v4.0 inside cvssData. Take either.
    severity = _opt_str(data, "baseSeverity", data_path)
    if severity is None:
        severity = _opt_str(m, "baseSeverity", path)
    return CvssMetric(
        version=_req_str(data, "version", data_path),
        vector=_req_str(data, "vectorString", data_path),
        base_score=_score(data["baseScore"], _join(data_path, "baseScore")),
        base_severity=severity.upper() if severity is not None else None,
        source=_req_str(m, "source", path),
        type=_req_str(m, "type", path),
    )


def _metrics(cve: Mapping[str, Any]) -> tuple[CvssMetric, ...]:
    raw = cve.get("metrics")
    if raw is None:
        return ()
    metrics = _obj(raw, "metrics")
    out: list[CvssMetric] = []
    for key in METRIC_KEYS:
        for i, m in enumerate(_opt_list(metrics, key, "metrics")):
            out.append(_metric(m, key, f"metrics.{key}[{i}]"))
    return tuple(out)


def _weaknesses(cve: Mapping[str, Any]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for i, raw in enumerate(_opt_list(cve, "weaknesses", "")):
        path = f"weaknesses[{i}]"
        w = _obj(raw, path)
        for j, draw in enumerate(_opt_list(w, "description", path)):
            dpath = f"{path}.description[{j}]"
            seen.setdefault(_req_str(_obj(draw, dpath), "value", dpath), None)
    return tuple(seen)


def _references(cve: Mapping[str, Any]) -> tuple[Reference, ...]:
    out: list[Reference] = []
    for i, raw in enumerate(_opt_list(cve, "references", "")):
        path = f"references[{i}]"
        r = _obj(raw, path)
        tags: list[str] = []
        for j, tag in enumerate(_opt_list(r, "tags", path)):
            if not isinstance(tag, str):
                _fail(f"{path}.tags[{j}]", "a string", tag)
            tags.append(tag)
        url = _req_str(r, "url", path)
        out.append(Reference(url=url, source=_opt_str(r, "source", path), tags=tuple(tags)))
    return tuple(out)


def _cpe_match(raw: Any, path: str) -> CpeMatch:
    m = _obj(raw, path)
    if "vulnerable" not in m:
        raise _Malformed(path, "missing 'vulnerable'")
    vulnerable = m["vulnerable"]
    if not isinstance(vulnerable, bool):
        _fail(_join(path, "vulnerable"), "a boolean", vulnerable)
    versions = {attr: _opt_str(m, key, path) for key, attr in _VERSION_KEYS if key in m}
    return CpeMatch(
        criteria=_req_str(m, "criteria", path),
        vulnerable=vulnerable,
        match_criteria_id=_opt_str(m, "matchCriteriaId", path),
        **versions,
    )


def _operator(obj: Mapping[str, Any], path: str) -> str | None:
    value = _opt_str(obj, "operator", path)
    if value is not None and value not in _OPERATORS:
        raise _Malformed(_join(path, "operator"), f"expected 'OR' or 'AND', got {_show(value)}")
    return value


def _node(raw: Any, path: str) -> ConfigNode:
    n = _obj(raw, path)
    matches = tuple(
        _cpe_match(m, f"{path}.cpeMatch[{k}]") for k, m in enumerate(_opt_list(n, "cpeMatch", path))
    )
    return ConfigNode(
        operator=_operator(n, path) or "OR",
        negate=_opt_bool(n, "negate", path, False),
        cpe_match=matches,
    )


def _configurations(cve: Mapping[str, Any]) -> tuple[Configuration, ...]:
    out: list[Configuration] = []
    for i, raw in enumerate(_opt_list(cve, "configurations", "")):
        path = f"configurations[{i}]"
        c = _obj(raw, path)
        nodes = tuple(_node(n, f"{path}.nodes[{j}]") for j, n in enumerate(_opt_list(c, "nodes", path)))
        out.append(
            Configuration(
                nodes=nodes,
                operator=_operator(c, path),
                negate=_opt_bool(c, "negate", path, False),
            )
        )
    return tuple(out)


def _record_id(obj: Any) -> str | None:
    """The id as found (possibly malformed), for naming a record in a problem; ``None`` if there is none."""
    if isinstance(obj, Mapping):
        value = obj.get("id")
        if isinstance(value, str):
            return value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 3] + "..."
    return None


def _parse(obj: Any) -> Vulnerability:
    cve = _obj(obj, "")
    cve_id = _req_str(cve, "id", "")
    if not CVE_ID_RE.match(cve_id):
        raise _Malformed("id", f"invalid CVE id {_show(cve_id)}")
    for key in ("published", "lastModified"):
        if key not in cve:
            raise _Malformed("", f"missing {key!r}")
    return Vulnerability(
        id=cve_id,
        published=_datetime(cve["published"], "published"),
        last_modified=_datetime(cve["lastModified"], "lastModified"),
        status=_opt_str(cve, "vulnStatus", "") or "Unknown",
        source_identifier=_opt_str(cve, "sourceIdentifier", ""),
        descriptions=_descriptions(cve),
        metrics=_metrics(cve),
        weaknesses=_weaknesses(cve),
        references=_references(cve),
        configurations=_configurations(cve),
        cisa_kev=cve.get("cisaExploitAdd") is not None,
    )


# --- the fast path ---
#
# ``_parse_fast`` reads the shapes NVD actually sends (dicts, lists, exact ``str``/``bool``/number types, the
# ``2023-10-18T04:15:11.077`` timestamp form) in one pass with few calls. It accepts a strict subset of what
# ``_parse`` accepts and builds the same values; on anything else it returns ``None`` and the record is read
# again by ``_parse``, which accepts the rarer forms and names the offending field when the record is
# malformed. It also gives up on a bounded text longer than the store keeps; a NUL character is looked for
# in what it built (``_has_nul``) unless the caller knows the document holds none (``nul_free``).

_MAX_MCID = MAX_MATCH_CRITERIA_ID
_MAX_BOUND = MAX_VERSION_BOUND
#: A criterion at most this long cannot hold a vendor or product longer than the store keeps, even in lower
#: case (``str.lower`` at most doubles a text); a longer one (rare) is read by the checked path.
_SHORT_CRITERIA = MAX_CPE_PART // 2
_NVD_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}").fullmatch
_CVE_ID_MATCH = CVE_ID_RE.match
_fromisoformat = datetime.fromisoformat


def _fast_datetime(value: Any) -> datetime | None:
    if type(value) is not str or _NVD_DATETIME(value) is None:
        return None
    try:
        return _fromisoformat(value + "+00:00")  # no zone means UTC
    except ValueError:
        return None


def _fast_metrics(raw: Any) -> tuple[CvssMetric, ...] | None:
    if raw is None:
        return ()
    if type(raw) is not dict:
        return None
    out: list[CvssMetric] = []
    for key in METRIC_KEYS:
        items = raw.get(key)
        if items is None:
            continue
        if type(items) is not list:
            return None
        for m in items:
            if type(m) is not dict:
                return None
            data = m.get("cvssData")
            if type(data) is not dict:
                return None
            version = data.get("version")
            vector = data.get("vectorString")
            score = data.get("baseScore")
            source = m.get("source")
            kind = m.get("type")
            if (
                type(version) is not str
                or type(vector) is not str
                or type(source) is not str
                or type(kind) is not str
                or (type(score) is not float and type(score) is not int)
                or not 0 <= score <= 10
                or len(version) > MAX_CVSS_VERSION
                or len(vector) > MAX_VECTOR
                or len(source) > MAX_SOURCE
                or len(kind) > MAX_METRIC_TYPE
            ):
                return None
            severity = data.get("baseSeverity")
            if severity is None:
                severity = m.get("baseSeverity")
            if severity is not None:
                if type(severity) is not str or len(severity) > MAX_SEVERITY:
                    return None
                severity = severity.upper()
            out.append(CvssMetric(version, vector, float(score), severity, source, kind))
    return tuple(out)


def _fast_configurations(raw: Any) -> tuple[Configuration, ...] | None:
    if raw is None:
        return ()
    if type(raw) is not list:
        return None
    out: list[Configuration] = []
    for c in raw:
        if type(c) is not dict:
            return None
        raw_nodes = c.get("nodes")
        nodes: list[ConfigNode] = []
        if raw_nodes is not None:
            if type(raw_nodes) is not list:
                return None
            for n in raw_nodes:
                if type(n) is not dict:
                    return None
                raw_matches = n.get("cpeMatch")
                matches: list[CpeMatch] = []
                if raw_matches is not None:
                    if type(raw_matches) is not list:
                        return None
                    for m in raw_matches:
                        if type(m) is not dict:
                            return None
                        criteria = m.get("criteria")
                        vulnerable = m.get("vulnerable")
                        mcid = m.get("matchCriteriaId")
                        vsi = m.get("versionStartIncluding")
                        vse = m.get("versionStartExcluding")
                        vei = m.get("versionEndIncluding")
                        vee = m.get("versionEndExcluding")
                        if (
                            type(criteria) is not str
                            or type(vulnerable) is not bool
                            or (mcid is not None and (type(mcid) is not str or len(mcid) > _MAX_MCID))
                            or (vsi is not None and (type(vsi) is not str or len(vsi) > _MAX_BOUND))
                            or (vse is not None and (type(vse) is not str or len(vse) > _MAX_BOUND))
                            or (vei is not None and (type(vei) is not str or len(vei) > _MAX_BOUND))
                            or (vee is not None and (type(vee) is not str or len(vee) > _MAX_BOUND))
                            # a long criterion may hold a vendor or product too long for the store
                            or len(criteria) > _SHORT_CRITERIA
                        ):
                            return None
                        matches.append(CpeMatch(criteria, vulnerable, vsi, vse, vei, vee, mcid))
                operator = n.get("operator")
                negate = n.get("negate")
                if (operator is not None and (type(operator) is not str or operator not in _OPERATORS)) or (
                    negate is not None and type(negate) is not bool
                ):
                    return None
                nodes.append(ConfigNode(operator or "OR", negate or False, tuple(matches)))
        operator = c.get("operator")
        negate = c.get("negate")
        if (operator is not None and (type(operator) is not str or operator not in _OPERATORS)) or (
            negate is not None and type(negate) is not bool
        ):
            return None
        out.append(Configuration(tuple(nodes), operator, negate or False))
    return tuple(out)


def _fast_rest(get: Any) -> tuple[Any, ...] | None:
    """Descriptions, weaknesses and references, or ``None``."""
    raw = get("descriptions")
    descriptions: list[Description] = []
    if raw is not None:
        if type(raw) is not list:
            return None
        for d in raw:
            if type(d) is not dict:
                return None
            lang = d.get("lang")
            value = d.get("value")
            if type(lang) is not str or type(value) is not str:
                return None
            descriptions.append(Description(lang, value))
    raw = get("weaknesses")
    seen: dict[str, None] = {}
    if raw is not None:
        if type(raw) is not list:
            return None
        for w in raw:
            if type(w) is not dict:
                return None
            items = w.get("description")
            if items is None:
                continue
            if type(items) is not list:
                return None
            for d in items:
                if type(d) is not dict:
                    return None
                value = d.get("value")
                if type(value) is not str or len(value) > MAX_CWE:
                    return None
                seen[value] = None
    raw = get("references")
    references: list[Reference] = []
    if raw is not None:
        if type(raw) is not list:
            return None
        for r in raw:
            if type(r) is not dict:
                return None
            url = r.get("url")
            source = r.get("source")
            tags = r.get("tags")
            if type(url) is not str or (
                source is not None and (type(source) is not str or len(source) > MAX_SOURCE)
            ):
                return None
            if tags is None:
                references.append(Reference(url, source, ()))
                continue
            if type(tags) is not list:
                return None
            for tag in tags:
                if type(tag) is not str:
                    return None
            references.append(Reference(url, source, tuple(tags)))
    return tuple(descriptions), tuple(seen), tuple(references)


def _parse_fast(obj: Any) -> Vulnerability | None:
    if type(obj) is not dict:
        return None
    get = obj.get
    cve_id = get("id")
    if type(cve_id) is not str or _CVE_ID_MATCH(cve_id) is None:
        return None
    published = _fast_datetime(get("published"))
    last_modified = _fast_datetime(get("lastModified"))
    status = get("vulnStatus")
    source_identifier = get("sourceIdentifier")
    if (
        published is None
        or last_modified is None
        or (status is not None and (type(status) is not str or len(status) > MAX_STATUS))
        or (
            source_identifier is not None
            and (type(source_identifier) is not str or len(source_identifier) > MAX_SOURCE)
        )
    ):
        return None
    rest = _fast_rest(get)
    metrics = _fast_metrics(get("metrics"))
    configurations = _fast_configurations(get("configurations"))
    if rest is None or metrics is None or configurations is None:
        return None
    descriptions, weaknesses, references = rest
    return Vulnerability(
        cve_id,
        published,
        last_modified,
        status or "Unknown",
        source_identifier,
        descriptions,
        metrics,
        weaknesses,
        references,
        configurations,
        get("cisaExploitAdd") is not None,
    )


def _has_nul(v: Vulnerability) -> bool:
    """Whether any text of ``v`` holds a NUL character: a quick screen, :func:`storage_problem` says where."""
    if "\x00" in v.status or (v.source_identifier is not None and "\x00" in v.source_identifier):
        return True
    for d in v.descriptions:
        if "\x00" in d.value or "\x00" in d.lang:
            return True
    for m in v.metrics:
        if "\x00" in m.vector or "\x00" in m.source or "\x00" in m.version or "\x00" in m.type:
            return True
        if m.base_severity is not None and "\x00" in m.base_severity:
            return True
    for cwe in v.weaknesses:
        if "\x00" in cwe:
            return True
    for r in v.references:
        if "\x00" in r.url or (r.source is not None and "\x00" in r.source):
            return True
        for tag in r.tags:
            if "\x00" in tag:
                return True
    for c in v.configurations:
        for n in c.nodes:
            for cm in n.cpe_match:
                if "\x00" in cm.criteria:
                    return True
                for text in (
                    cm.version_start_including,
                    cm.version_start_excluding,
                    cm.version_end_including,
                    cm.version_end_excluding,
                    cm.match_criteria_id,
                ):
                    if text is not None and "\x00" in text:
                        return True
    return False


def _where(origin: str, record_id: str | None) -> str:
    return f"{origin} [{record_id}]" if record_id is not None else origin


def parse_cve(obj: Mapping[str, Any], *, origin: str = "<memory>") -> Vulnerability:
    """Convert one NVD CVE API 2.0 ``cve`` object into a :class:`Vulnerability`.

    Raises :class:`RecordError` (its ``where`` is ``"origin [CVE-id]"``) when the record is malformed: not an
    object, no valid ``id``, an unparseable date, a known field of the wrong type, or a text the store cannot
    keep (a NUL character, longer than its column).
    """
    fast = _parse_fast(obj)
    if fast is not None and not _has_nul(fast):
        return fast
    try:
        return _checked(_parse(obj))
    except _Malformed as err:
        raise RecordError(err.message, _where(origin, _record_id(obj))) from None


def _looks_like_cve(doc: Mapping[str, Any]) -> bool:
    return "id" in doc and "published" in doc


def _checked(v: Vulnerability) -> Vulnerability:
    """``v``, if the store can keep it as it is (else :class:`_Malformed`, naming the field)."""
    problem = storage_problem(v)
    if problem is not None:
        raise _Malformed("", problem)
    return v


def _parse_item(obj: Any, origin: str, context: str, nul_free: bool) -> Vulnerability | RecordProblem:
    fast = _parse_fast(obj)
    if fast is not None and (nul_free or not _has_nul(fast)):
        return fast
    try:
        return _checked(_parse(obj))
    except _Malformed as err:
        record_id = _record_id(obj)
        message = err.message if record_id is not None else f"{context}: {err.message}"
        return RecordProblem(origin, record_id, message)


def _unrecognized(doc: Any, origin: str, context: str) -> RecordProblem:
    """A problem for a document that is not NVD API 2.0, saying what it looks like."""
    where = f"{context}: " if context else ""
    if isinstance(doc, Mapping):
        if "CVE_Items" in doc:
            version = doc.get("CVE_data_version")
            return RecordProblem(
                origin,
                None,
                f"{where}NVD JSON 1.1 feed (CVE_data_version {_show(version)}) is not supported; "
                "NVD retired it in 2023, use the API 2.0 JSON or the 2.0 feeds",
            )
        if "cveMetadata" in doc or doc.get("dataType") == "CVE_RECORD":
            meta = doc.get("cveMetadata")
            cve_id = meta.get("cveId") if isinstance(meta, Mapping) else None
            return RecordProblem(
                origin,
                cve_id if isinstance(cve_id, str) else None,
                f"{where}CVE JSON 5 record (dataVersion {_show(doc.get('dataVersion'))}), not NVD API 2.0; "
                "read it with the CVE JSON 5 source",
            )
        if "id" in doc:
            return RecordProblem(
                origin, _record_id(doc), f"{where}object with 'id' but no 'published': not an NVD cve object"
            )
        keys = ", ".join(repr(k) for k in list(doc)[:6])
        return RecordProblem(
            origin, None, f"{where}not an NVD API 2.0 document (object with keys {keys or 'none'})"
        )
    return RecordProblem(origin, None, f"{where}not an NVD API 2.0 document ({_type_name(doc)} {_show(doc)})")


def _iter_page(
    doc: Mapping[str, Any], origin: str, context: str, nul_free: bool
) -> Iterator[Vulnerability | RecordProblem]:
    prefix = f"{context}." if context else ""
    vulns = doc["vulnerabilities"]
    if not isinstance(vulns, list | tuple):
        message = f"{prefix}vulnerabilities: expected an array, got {_type_name(vulns)}"
        yield RecordProblem(origin, None, message)
        return
    for i, item in enumerate(vulns):
        where = f"{prefix}vulnerabilities[{i}]"
        if not isinstance(item, Mapping) or "cve" not in item:
            yield RecordProblem(
                origin, None, f"{where}: expected an object with a 'cve' key, got {_type_name(item)}"
            )
            continue
        yield _parse_item(item["cve"], origin, f"{where}.cve", nul_free)


def _iter_one(doc: Any, origin: str, context: str, nul_free: bool) -> Iterator[Vulnerability | RecordProblem]:
    if isinstance(doc, Mapping):
        if "vulnerabilities" in doc:
            yield from _iter_page(doc, origin, context, nul_free)
            return
        if _looks_like_cve(doc):
            yield _parse_item(doc, origin, context or "record", nul_free)
            return
    yield _unrecognized(doc, origin, context)


def iter_document(
    doc: Any, *, origin: str, nul_free: bool = False
) -> Iterator[Vulnerability | RecordProblem]:
    """Yield the records of a decoded NVD API 2.0 JSON document, in document order.

    Accepts an API 2.0 page (``{"vulnerabilities": [{"cve": ...}, ...]}``), a bare ``cve`` object (one with
    ``id`` and ``published``), or a list of either. A malformed record becomes a :class:`RecordProblem` naming
    ``origin`` and the record id; the other records are still yielded. Anything else (including NVD JSON 1.1
    feeds and CVE JSON 5 records, which are recognized and named) is one problem. Never raises for any
    JSON-like input.

    ``nul_free`` says that no string of ``doc`` holds a NUL character, which spares looking for one in every
    record: true of a document decoded from JSON text without a ``\\u0000`` escape (:func:`nul_free`), as a
    NUL in a JSON string must be written so.
    """
    if isinstance(doc, list | tuple):
        for i, element in enumerate(doc):
            yield from _iter_one(element, origin, f"[{i}]", nul_free)
        return
    yield from _iter_one(doc, origin, "", nul_free)


def nul_free(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` certainly decodes to strings without a NUL character: it has no
    ``\\u0000`` escape (a raw NUL byte is not valid JSON; orjson refuses it). For :func:`iter_document`."""
    return b"\\u0000" not in raw
