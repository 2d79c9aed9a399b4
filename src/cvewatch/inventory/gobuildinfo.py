"""The build information Go embeds in its binaries, as ``go version -m BINARY…`` prints it.

One block per binary::

    /usr/bin/dockerd: go1.22.5
        path	github.com/docker/docker/cmd/dockerd
        mod	github.com/docker/docker	(devel)
        dep	golang.org/x/net	v0.17.0	h1:pVaXccu2ozPjCXewfr1S7xoGe9ZWaSXX3Ka/1btVsVk=
        =>	golang.org/x/net	v0.23.0	h1:7EYJ93RZ9vYSZAIb2x3lnuvqO5zneoD6IvWjuhfxjTs=
        build	-buildmode=pie
        build	CGO_ENABLED=1

The first line names the binary and the Go toolchain that built it (``go1.22.5``, possibly with
experiments: ``go1.22.5 X:boringcrypto``); ``path`` is the main package, ``mod`` the main module, each
``dep`` a module linked in, a ``=>`` line the replacement of the ``dep`` above it (a module path with a
version, or a local folder without one), ``build`` the build settings. Fields are tab-separated. A file
with one line per binary and nothing else (``go version BINARY``) gives toolchains only. No I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cvewatch.errors import InputError
from cvewatch.limits import check_records, line_count

_HEAD_RE = re.compile(
    r"^(?P<binary>\S.*?):\s+(?P<go>go[0-9]+(?:\.[0-9]+)*(?:(?:rc|beta)[0-9]+)?)(?P<rest>\s.*)?$"
)


@dataclass(frozen=True, slots=True)
class GoModule:
    path: str
    version: str | None  # "v0.17.0", "(devel)"; None for a replacement by a local folder
    sum: str | None = None


@dataclass(frozen=True, slots=True)
class GoDependency:
    module: GoModule
    replaced_by: GoModule | None = None

    @property
    def effective(self) -> GoModule:
        """The module actually linked: the replacement when there is one."""
        return self.replaced_by if self.replaced_by is not None else self.module


@dataclass(frozen=True, slots=True)
class GoBuildInfo:
    binary: str
    go_version: str  # "1.22.5" (the "go" prefix removed)
    experiments: str | None = None  # "X:boringcrypto"
    path: str | None = None
    main: GoModule | None = None
    deps: tuple[GoDependency, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()


def looks_like_go_version_m(text: str) -> bool:
    """True when the first non-empty line is a ``go version`` header (``BINARY: go1.N…``); only the
    text's head is split into lines (a large file is not split twice)."""
    for line in text[:65536].splitlines():
        if line.strip():
            return _HEAD_RE.match(line.rstrip()) is not None
    return False


def _fields(line: str) -> list[str]:
    return [f for f in line.strip().split("\t") if f != ""] if "\t" in line else line.split()


@dataclass(slots=True)
class _Block:
    binary: str
    go: str
    experiments: str | None
    path: str | None = None
    main: GoModule | None = None


def parse_go_version_m(text: str, *, path: str = "<text>") -> tuple[GoBuildInfo, ...]:
    """Every binary's build information in ``text``. Raises InputError (naming the line) on a line that
    is not part of the format, when there is no binary at all, and for more than
    :data:`~cvewatch.limits.MAX_RECORDS` lines."""
    check_records(line_count(text), "lines", path)
    out: list[GoBuildInfo] = []
    current: _Block | None = None
    deps: list[GoDependency] = []
    settings: list[tuple[str, str]] = []

    def close() -> None:
        if current is not None:
            out.append(
                GoBuildInfo(
                    current.binary,
                    current.go,
                    current.experiments,
                    current.path,
                    current.main,
                    tuple(deps),
                    tuple(settings),
                )
            )

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if not line[0].isspace():
            m = _HEAD_RE.match(line.rstrip())
            if m is None:
                raise InputError(f"{path}:{lineno}: not a `go version -m` line: {line[:120]!r}")
            close()
            deps, settings = [], []
            rest = (m.group("rest") or "").strip()
            current = _Block(m.group("binary"), m.group("go")[2:], rest or None)
            continue
        if current is None:
            raise InputError(f"{path}:{lineno}: module line before any binary line: {line[:120]!r}")
        f = _fields(line)
        key = f[0]
        if key == "path" and len(f) >= 2:
            current.path = f[1]
        elif key in ("mod", "dep", "=>") and len(f) >= 2:
            module = GoModule(f[1], f[2] if len(f) > 2 else None, f[3] if len(f) > 3 else None)
            if key == "mod":
                current.main = module
            elif key == "dep":
                deps.append(GoDependency(module))
            elif not deps:
                raise InputError(f"{path}:{lineno}: a replacement (=>) without a dep line above it")
            else:
                deps[-1] = GoDependency(deps[-1].module, module)
        elif key == "build" and len(f) >= 2:
            k, _, v = " ".join(f[1:]).partition("=")
            settings.append((k, v))
        else:
            raise InputError(f"{path}:{lineno}: unknown `go version -m` field {key!r}")
    close()
    if not out:
        raise InputError(f"{path}: no `go version -m` output (no 'BINARY: goX.Y' line)")
    return tuple(out)
