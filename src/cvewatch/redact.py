"""URLs with their credentials removed, for everything that records or prints where data came from.

A URL given on the command line (``--api-url``, ``--from``, a feed base) may carry a user name and password
(``https://user:pass@host/``) or a secret in its query (``?apiKey=…``, ``?token=…``, a presigned
``X-Amz-Signature=…``). Such a URL is used as given to fetch, but what is stored (``sync_runs.origin``, the
run's messages) and printed (``sync status``, problems, errors) is :func:`redact_url` of it: the userinfo
becomes ``***`` and so does the value of every secret-looking query or fragment parameter. Pure functions,
no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["REDACTED", "is_secret_name", "redact_text", "redact_url"]

REDACTED = "***"

#: Words that make a parameter name secret-looking, matched against the words of the name (split at
#: ``_``, ``-``, ``.`` and camelCase: ``apiKey`` → ``api``, ``key``; ``keywordSearch`` is not a secret).
_SECRET_WORDS = frozenset(
    {
        "apikey",
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "signature",
        "sig",
        "session",
        "sessionid",
        "jwt",
    }
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")
#: A URL inside free text: a scheme, ``://`` and everything up to white space or a quote.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter named ``name`` likely holds a secret (``apiKey``, ``access_token``,
    ``X-Amz-Signature``, ``sig``, ``password``…)."""
    words = [w.lower() for w in _WORD.findall(unquote(name))]
    return bool(words) and ("".join(words) in _SECRET_WORDS or any(w in _SECRET_WORDS for w in words))


def _redact_params(text: str) -> str:
    """``a=1&apiKey=x`` → ``a=1&apiKey=***``; the rest kept byte for byte (no re-encoding)."""
    if not text:
        return text
    out: list[str] = []
    for part in text.split("&"):
        name, sep, value = part.partition("=")
        out.append(f"{name}={REDACTED}" if sep and value and is_secret_name(name) else part)
    return "&".join(out)


def redact_url(url: str) -> str:
    """``url`` with its userinfo and the values of secret-looking query (and fragment) parameters replaced
    by ``***``. Text that is not a URL with a ``scheme://`` is returned unchanged; so is a URL without
    credentials."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # an invalid URL (a bad IPv6 literal): redact the userinfo by hand
        scheme, _, rest = url.partition("://")
        head, slash, tail = rest.partition("/")
        if "@" in head:
            head = f"{REDACTED}@{head.rsplit('@', 1)[1]}"
        return f"{scheme}://{head}{slash}{_redact_params(tail)}"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = _redact_params(parts.query)
    fragment = _redact_params(parts.fragment) if "=" in parts.fragment else parts.fragment
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def redact_text(text: str) -> str:
    """``text`` (a message, an error) with every URL in it passed through :func:`redact_url`."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
