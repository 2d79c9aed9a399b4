"""One interface for every benchmark-output parser, a registry, and format auto-detection.

A parser turns one file's text into :class:`~cvewatch.gate.model.Measurement` values. It never returns a
silent zero: a malformed, truncated or empty file, or one of another format, is an
:class:`~cvewatch.errors.InputError` that names the file.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from cvewatch.errors import InputError
from cvewatch.gate.model import Measurement


class PerfParser(ABC):
    """Reads one tool's output. Subclasses set ``name`` and are registered with :func:`register`."""

    name: ClassVar[str]

    @abstractmethod
    def sniff(self, text: str) -> bool:
        """Whether ``text`` looks like this tool's output (cheap; used for auto-detection)."""

    @abstractmethod
    def parse(self, text: str, source: str) -> list[Measurement]:
        """The measurements in ``text``; ``source`` names the file in errors and in each measurement."""


_REGISTRY: dict[str, PerfParser] = {}


def register(cls: type[PerfParser]) -> type[PerfParser]:
    """Class decorator: add one instance of ``cls`` to the registry under ``cls.name``."""
    _REGISTRY[cls.name] = cls()
    return cls


def formats() -> tuple[str, ...]:
    """The registered format names, sorted."""
    return tuple(sorted(_REGISTRY))


def detect(text: str, source: str) -> PerfParser:
    """The one parser whose :meth:`PerfParser.sniff` accepts ``text``, or an :class:`InputError`."""
    if not text.strip():
        raise InputError("empty benchmark output", source)
    matches = [p for _, p in sorted(_REGISTRY.items()) if p.sniff(text)]
    if not matches:
        raise InputError(f"not a known benchmark output (formats: {', '.join(formats())})", source)
    if len(matches) > 1:
        names = ", ".join(p.name for p in matches)
        raise InputError(f"ambiguous benchmark output (looks like {names}); name the format", source)
    return matches[0]


def parse_text(text: str, source: str, fmt: str | None = None) -> list[Measurement]:
    """Parse ``text`` with the parser named ``fmt``, or the auto-detected one."""
    if fmt is None:
        parser = detect(text, source)
    elif fmt in _REGISTRY:
        parser = _REGISTRY[fmt]
    else:
        raise InputError(f"unknown benchmark format {fmt!r} (formats: {', '.join(formats())})", source)
    if not text.strip():
        raise InputError(f"empty {parser.name} output", source)
    result = parser.parse(text, source)
    if not result:
        raise InputError(f"no measurement in this {parser.name} output", source)
    return result


def read_text(path: Path) -> str:
    """A file's text as UTF-8, or an :class:`InputError` naming it."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", str(path)) from None


def load_file(path: Path, fmt: str | None = None) -> list[Measurement]:
    """Read and parse one benchmark output file."""
    return parse_text(read_text(path), str(path), fmt)


def load_json(text: str, source: str, what: str) -> Any:
    """``json.loads`` with an :class:`InputError` that names the file and the position."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed or truncated {what} JSON: {exc.msg} (line {exc.lineno})", source
        ) from None


def number(value: object, what: str, source: str) -> float:
    """A JSON number as float; anything else (a string, null, a bool) is an :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{what} is not a number: {value!r}", source)
    return float(value)


def member(obj: object, key: str, what: str, source: str) -> Any:
    """``obj[key]`` of a JSON object, or an :class:`InputError` saying which key is missing."""
    if not isinstance(obj, dict):
        raise InputError(f"{what} is not a JSON object", source)
    if key not in obj:
        raise InputError(f"{what} has no {key!r}", source)
    return obj[key]
