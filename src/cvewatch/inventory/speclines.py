"""A spec's text as rpmbuild reads it: logical lines, and the directives that start its sections.

A ``%define``/``%global`` line ending in ``\\`` continues on the next line, and so does a line with an
unclosed ``%{`` or ``%(`` (up to 500 lines). A line whose directive (:func:`first_word`) is one of
:data:`SECTIONS` starts a section (``%package``, ``%prep``, ``%files``, ``%changelog``...).
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["SECTIONS", "first_word", "logical_lines"]

SECTIONS = frozenset(
    {
        "package",
        "description",
        "prep",
        "build",
        "install",
        "check",
        "clean",
        "conf",
        "generate_buildrequires",
        "pre",
        "post",
        "preun",
        "postun",
        "pretrans",
        "posttrans",
        "preuntrans",
        "postuntrans",
        "verifyscript",
        "trigger",
        "triggerin",
        "triggerun",
        "triggerpostun",
        "triggerprein",
        "filetriggerin",
        "filetriggerun",
        "filetriggerpostun",
        "transfiletriggerin",
        "transfiletriggerun",
        "transfiletriggerpostun",
        "files",
        "changelog",
        "patchlist",
        "sourcelist",
        "sepolicy",
        "end",
    }
)


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, logical line): joins ``\\`` continuations of defines and unclosed ``%{``/``%(``."""
    lines = text.splitlines()
    i = 0
    n = len(lines)
    while i < n:
        start = i
        line = lines[i]
        i += 1
        if "%" not in line:
            yield i, line
            continue
        s = line.lstrip()
        if s.startswith(("%define", "%global")):
            while line.endswith("\\") and i < n:
                line = line + "\n" + lines[i]
                i += 1
        if ("%{" in line or "%(" in line) and (
            line.count("{") > line.count("}") or line.count("(") > line.count(")")
        ):
            # an unclosed %{ or %( continues (up to 500 lines; else keep the line as it is)
            joined = line
            k = i
            while k < n and k - i < 500 and _unclosed(joined):
                joined = joined + "\n" + lines[k]
                k += 1
            if not _unclosed(joined):
                line, i = joined, k
        yield start + 1, line


def _unclosed(text: str) -> bool:
    level = 0
    stack: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "%" and i + 1 < n and text[i + 1] in "{(":
            stack.append("}" if text[i + 1] == "{" else ")")
            level += 1
            i += 2
            continue
        if stack:
            if ch in "{(":
                stack.append("}" if ch == "{" else ")")
            elif ch == stack[-1]:
                stack.pop()
        i += 1
    return bool(stack)


def first_word(s: str) -> str:
    """The directive of a line starting with '%': ``%files -n x`` -> ``files``."""
    k = 1
    n = len(s)
    while k < n and (s[k].isalnum() or s[k] == "_"):
        k += 1
    return s[1:k]
