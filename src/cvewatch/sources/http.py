"""A small HTTP layer for the network sources: a sliding-window rate limiter, a retry policy with
exponential backoff and full jitter, and a client that applies both to every GET.

What is retried: a status in :attr:`RetryPolicy.retry_statuses` (by default 403, 429 and 5xx: NVD signals
throttling with 403, 429 or 503), timeouts, connection errors and resets, and a body that a ``decode``
callback rejects with :class:`BadResponse` (a truncated or undecodable body). A ``Retry-After`` header is
honoured: the next attempt waits at least that long. Retries are bounded by a number of attempts and by the
time spent on one request; past either the client raises :class:`FetchError` naming the request and the last
failure. Any other 4xx is not retried.

Credentials (an API key header) are given apart from the other headers (``credentials``) and are sent only to
the origin (scheme, host and port) of the URL asked for: redirects are followed, but a hop to another origin
goes without them (a request hook removes them; httpx itself strips only ``Authorization``). A plain
``http`` to ``https`` upgrade of the same host keeps them, as httpx does for ``Authorization``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from cvewatch.errors import ConfigError, CvewatchError
from cvewatch.redact import redact_text

__all__ = [
    "SENSITIVE_HEADERS",
    "BadResponse",
    "FetchError",
    "HttpClient",
    "RateLimit",
    "RetryPolicy",
    "SlidingWindowLimiter",
    "parse_retry_after",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Headers never sent to another origin than the one asked for, whatever the caller passed as ``headers``.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "apikey", "x-api-key"})
_ORIGIN = "cvewatch.origin"  # the request extension naming the origin the credentials belong to
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme))


def _may_carry_credentials(first: tuple[str, str, int | None], url: httpx.URL) -> bool:
    """Whether a request to ``url`` may carry the credentials meant for origin ``first``: the same origin,
    or the same host upgraded from ``http`` (port 80) to ``https`` (port 443)."""
    now = _origin(url)
    if now == first:
        return True
    return first == ("http", now[1], 80) and now == ("https", first[1], 443)


class FetchError(CvewatchError):
    """A remote source could not be read: retries exhausted, or an answer that retrying cannot fix."""


class BadResponse(Exception):
    """Raised by a ``decode`` callback for a body that cannot be used (truncated, invalid JSON): retried."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``requests`` requests in any rolling ``per_seconds`` window."""

    requests: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or not self.per_seconds > 0:
            raise ConfigError(f"invalid rate limit {self.requests}/{self.per_seconds}")

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """``"5/30"`` (5 requests per 30 s) → a limit; ``"off"`` → ``None``. Raises :class:`ConfigError`."""
        value = text.strip().lower()
        if value in {"off", "none", "0"}:
            return None
        count, sep, seconds = value.partition("/")
        try:
            if not sep:
                raise ValueError(text)
            return cls(int(count), float(seconds))
        except ValueError:
            raise ConfigError(f"invalid rate limit {text!r}: expected REQUESTS/SECONDS or 'off'") from None

    def __str__(self) -> str:
        return f"{self.requests} requests per {self.per_seconds:g} s"


class _Slot:
    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class SlidingWindowLimiter:
    """Blocks :meth:`acquire` until one more request fits in the rolling window.

    A slot is stamped when the request starts and re-stamped when its answer arrives
    (:meth:`release`): counting from the answer makes the limit hold at the server too, whatever the
    network delay of each request. Thread-safe.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._slots: deque[_Slot] = deque()
        self._lock = threading.Lock()
        self._not_before = 0.0

    def defer(self, seconds: float) -> None:
        """No request starts in the next ``seconds`` (a server's ``Retry-After``)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)

    def acquire(self) -> _Slot:
        """Wait for a free slot and take it; returns the slot to :meth:`release` when the answer is in."""
        while True:
            with self._lock:
                now = self._clock()
                horizon = now - self.limit.per_seconds
                while self._slots and self._slots[0].at <= horizon:
                    self._slots.popleft()
                wait = self._not_before - now
                if wait <= 0:
                    if len(self._slots) < self.limit.requests:
                        slot = _Slot(now)
                        self._slots.append(slot)
                        return slot
                    wait = min(s.at for s in self._slots) + self.limit.per_seconds - now
            self._sleep(max(wait, 0.001))

    def release(self, slot: _Slot) -> None:
        with self._lock:
            slot.at = max(slot.at, self._clock())
            # keep the deque ordered by stamp so the expiry scan from the left stays right
            if len(self._slots) > 1:
                ordered = sorted(self._slots, key=lambda s: s.at)
                self._slots.clear()
                self._slots.extend(ordered)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one request.

    The n-th retry waits a uniform random time in ``[0, min(max_delay, base_delay * 2**(n-1))]`` ("full
    jitter"), or the server's ``Retry-After`` if that is longer. The request fails after ``max_attempts``
    attempts, or when the next wait would take it past ``max_elapsed`` seconds since its first attempt.
    """

    max_attempts: int = 8
    max_elapsed: float = 600.0
    base_delay: float = 2.0
    max_delay: float = 60.0
    retry_statuses: frozenset[int] = field(default=frozenset({403, 429, 500, 502, 503, 504}))

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The jittered wait before retry number ``retry`` (1-based)."""
        cap = min(self.max_delay, self.base_delay * 2 ** max(retry - 1, 0))
        return rng.uniform(0.0, cap)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def describe_response(response: httpx.Response) -> str:
    """``HTTP 404 (Invalid apiKey.)``: the status and the server's message header or the body's start."""
    message = response.headers.get("message")
    if not message:
        try:
            message = response.text[:200].strip()
        except (httpx.HTTPError, UnicodeDecodeError):
            message = ""
    return f"HTTP {response.status_code}" + (f" ({message})" if message else "")


class HttpClient:
    """GET with rate limiting and retries. ``check`` sees every response first and may raise a
    :class:`CvewatchError` that ends the request at once (e.g. a rejected API key)."""

    def __init__(
        self,
        *,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
        rate_limit: RateLimit | None = None,
        retry: RetryPolicy | None = None,
        check: Callable[[httpx.Response], None] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._cancelled = threading.Event()
        self._sleep = sleep or self._interruptible_sleep
        self.retry = retry or RetryPolicy()
        self.limiter = (
            SlidingWindowLimiter(rate_limit, clock=clock, sleep=self._sleep) if rate_limit else None
        )
        self._check = check
        self._rng = rng or random.Random()
        self._clock = clock
        self._credentials = dict(credentials or {})
        self._sensitive = SENSITIVE_HEADERS | {name.lower() for name in self._credentials}
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            headers=dict(headers or {}),
            follow_redirects=True,
            transport=transport,
            event_hooks={"request": [self._drop_foreign_credentials]},
        )
        self.requests = 0
        self.retries = 0

    def _drop_foreign_credentials(self, request: httpx.Request) -> None:
        """Request hook (every hop of a redirect passes here): a request to another origin than the one
        :meth:`get` was asked for goes without credentials. Once dropped they stay dropped, also when a
        later hop leads back to the first origin (the headers of a hop are copied from the one before)."""
        first = request.extensions.get(_ORIGIN)
        if first is None or _may_carry_credentials(first, request.url):
            return
        for name in [n for n in request.headers if n.lower() in self._sensitive]:
            del request.headers[name]

    def _interruptible_sleep(self, seconds: float) -> None:
        if self._cancelled.wait(seconds):
            raise FetchError("cancelled")

    def cancel(self) -> None:
        """Make waits (backoff, rate limit) in other threads end with :class:`FetchError` at once."""
        self._cancelled.set()

    def close(self) -> None:
        self._cancelled.set()
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        decode: Callable[[httpx.Response], T],
        what: str | None = None,
    ) -> T:
        """GET ``url`` until ``decode(response)`` returns for a 2xx answer; raises :class:`FetchError`
        (naming ``what``, by default the URL, with credentials redacted)."""
        what = redact_text(what or url)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            slot = self.limiter.acquire() if self.limiter else None
            self.requests += 1
            try:
                response = self._client.get(
                    url,
                    params=params,
                    headers=self._credentials,
                    extensions={_ORIGIN: _origin(httpx.URL(url))},
                )
            except httpx.TimeoutException as err:
                reason = f"timed out ({type(err).__name__})"
            except httpx.TransportError as err:
                reason = f"connection failed ({type(err).__name__}: {err})"
            else:
                if self._check is not None:
                    self._check(response)
                status = response.status_code
                if status in self.retry.retry_statuses:
                    reason = describe_response(response)
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                elif status >= 400:
                    raise FetchError(f"{what}: {describe_response(response)}")
                else:
                    try:
                        return decode(response)
                    except BadResponse as err:
                        reason = f"bad response body ({err})"
            finally:
                if slot is not None and self.limiter is not None:
                    self.limiter.release(slot)
            self._pause(what, attempt, started, reason, retry_after)

    def _pause(self, what: str, attempt: int, started: float, reason: str, retry_after: float | None) -> None:
        policy = self.retry
        if attempt >= policy.max_attempts:
            raise FetchError(f"{what}: giving up after {attempt} attempts; last: {reason}")
        delay = policy.backoff(attempt, self._rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        elapsed = self._clock() - started
        if elapsed + delay > policy.max_elapsed:
            raise FetchError(
                f"{what}: giving up after {attempt} attempts in {elapsed:.0f} s "
                f"(the next wait of {delay:.0f} s would pass the limit of {policy.max_elapsed:.0f} s); "
                f"last: {reason}"
            )
        self.retries += 1
        log.warning("retrying %s in %.1f s (attempt %d failed: %s)", what, delay, attempt, reason)
        if retry_after is not None and self.limiter is not None:
            self.limiter.defer(retry_after)
        self._sleep(delay)
