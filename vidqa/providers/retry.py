"""THE retry policy of vidqa: every remote call (model providers, downloads) goes through :class:`RetryPolicy`.

- Retried: :class:`~vidqa.providers.errors.RetryableError` -- HTTP 429, 5xx, 408, 409, Groq's 498 (flex capacity),
  timeouts, dropped connections, a garbled 2xx body. The wait is the server's (``retry-after-ms``, ``retry-after``
  in seconds or as an HTTP date, ``x-ratelimit-reset-*`` such as ``"7.66s"`` / ``"1m2.5s"``, Gemini's RetryInfo
  ``retryDelay``) or else jittered exponential backoff.
- A requested wait longer than ``max_wait`` raises :class:`~vidqa.providers.errors.RateLimitParked` at once (park
  the job, resume later) instead of a sleep that looks like a hang.
- Final at once: 400, 401, 403, 404, 413, 422 and every other error.
- When attempts run out: :class:`~vidqa.providers.errors.RetriesExhausted` (with the last status).

``sleep`` is injectable, so tests never sleep for real::

    waits = []
    policy = RetryPolicy(sleep=waits.append)
    value = policy.run(lambda: call_the_api(), describe="Groq chat (llama-3.1-8b-instant)")

Code that talks HTTP itself turns a response into an error with :func:`error_for_status` (headers give the wait);
SDK exceptions (groq, openai, httpx, builtin timeouts) are classified by :func:`classify_exception`, which
:meth:`RetryPolicy.run` applies to anything ``fn`` raises that is not already a :class:`ProviderError`.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from vidqa.errors import VidqaError
from vidqa.providers.errors import (
    AuthError,
    BadRequestError,
    ProviderError,
    RateLimitParked,
    RequestTooLarge,
    RetriesExhausted,
    RetryableError,
)
from vidqa.providers.keys import scrub

__all__ = [
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "classify_exception",
    "error_for_status",
    "parse_duration",
    "parse_retry_after",
    "parse_retry_info",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 498, 500, 502, 503, 504, 520, 522, 524, 529})
"""Statuses worth another attempt (any other 5xx is retried too)."""

_FINAL_REASONS = {400: "bad request", 401: "the API key was refused", 403: "forbidden (the key lacks access)",
                  404: "not found (unknown model or endpoint?)", 413: "the request is too large",
                  422: "unprocessable request"}

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|h|m|s)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """Seconds in a Go-style duration (``"7.66s"``, ``"1m2.5s"``, ``"120ms"``, ``"2h"``) or a bare number.

    Example::

        parse_duration("1m2.5s")   # 62.5
    """
    s = str(text).strip().lower()
    if not s:
        return None
    try:
        return max(0.0, float(s))
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(s):
        if s[pos:m.start()].strip():
            return None
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos == 0 or s[pos:].strip():
        return None
    return total


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait according to a response's headers, or ``None`` when they do not say.

    In order: ``retry-after-ms``; ``retry-after`` (seconds, or an HTTP date compared with ``now``, default the
    clock); the ``x-ratelimit-reset-*`` durations (of the exhausted limits when ``x-ratelimit-remaining-*`` says which,
    else the soonest). Header names are matched case-insensitively.

    Example::

        parse_retry_after({"retry-after": "2"})                      # 2.0
        parse_retry_after({"x-ratelimit-reset-tokens": "7.66s"})     # 7.66
    """
    if not headers:
        return None
    h = {str(k).lower(): str(v) for k, v in headers.items()}
    ms = h.get("retry-after-ms", "").strip()
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    ra = h.get("retry-after", "").strip()
    if ra:
        try:
            return max(0.0, float(ra))
        except ValueError:
            try:
                when = parsedate_to_datetime(ra).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                when = None
            if when is not None:
                return max(0.0, when - (time.time() if now is None else now))
    resets: dict[str, float] = {}
    for name, value in h.items():
        if name.startswith("x-ratelimit-reset-"):
            seconds = parse_duration(value)
            if seconds is not None:
                resets[name[len("x-ratelimit-reset-"):]] = seconds
    if not resets:
        return None
    exhausted = []
    for kind, seconds in resets.items():
        remaining = h.get(f"x-ratelimit-remaining-{kind}", "").strip()
        try:
            if remaining and float(remaining) <= 0:
                exhausted.append(seconds)
        except ValueError:
            pass
    return max(exhausted) if exhausted else min(resets.values())


def parse_retry_info(body: Any) -> float | None:
    """Seconds from a Google ``RetryInfo`` detail (``{"error": {"details": [{"@type": ".../google.rpc.RetryInfo",
    "retryDelay": "2s"}]}}``), given the parsed body, its JSON text, the ``error`` object or its ``details`` list.

    Example::

        parse_retry_info({"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                 "retryDelay": "2.5s"}]}})   # 2.5
    """
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except (ValueError, TypeError):
            return None
    if isinstance(body, Mapping):
        if "error" in body and isinstance(body["error"], Mapping):
            body = body["error"]
        body = body.get("details")
    if not isinstance(body, (list, tuple)):
        return None
    for detail in body:
        if not isinstance(detail, Mapping) or not str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            continue
        delay = detail.get("retryDelay", detail.get("retry_delay"))
        if isinstance(delay, Mapping):  # {"seconds": 2, "nanos": 500000000}
            try:
                return float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
            except (TypeError, ValueError):
                return None
        if delay is not None:
            return parse_duration(str(delay))
    return None


def _server_message(body: Any) -> str:
    """The human part of an error body (``error.message`` when it is JSON), short and scrubbed."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return scrub(body.strip())[:300]
    if isinstance(body, Mapping):
        err = body.get("error", body)
        if isinstance(err, Mapping) and err.get("message"):
            return scrub(str(err["message"]))[:300]
        if isinstance(err, str):
            return scrub(err)[:300]
    return scrub(json.dumps(body, default=str))[:300] if body is not None else ""


def error_for_status(status: int, body: Any = None, headers: Mapping[str, str] | None = None, *,
                     describe: str = "request", provider: str | None = None) -> ProviderError:
    """The error to raise for an HTTP failure ``status`` (not raised: returned).

    ``body`` (bytes, text or parsed JSON) gives the server's message and, for Google APIs, RetryInfo; ``headers``
    give ``retry-after``. Example::

        if resp.status_code >= 400:
            raise error_for_status(resp.status_code, resp.content, resp.headers, describe="download")
    """
    message = _server_message(body)
    retry_after = parse_retry_after(headers)
    if retry_after is None:
        retry_after = parse_retry_info(body)
    reason = _FINAL_REASONS.get(status)
    if status == 429:
        reason = "rate limited"
    elif status == 498:
        reason = "no capacity (flex tier)"
    elif status >= 500:
        reason = "server error"
    text = f"{describe} failed: HTTP {status}" + (f" ({reason})" if reason else "") + (f": {message}" if message
                                                                                        else "")
    if status in RETRYABLE_STATUSES or status >= 500:
        return RetryableError(text, status, provider=provider, retry_after=retry_after)
    if status in (401, 403):
        return AuthError(text, status, provider=provider)
    if status == 413:
        return RequestTooLarge(text, status, provider=provider)
    if 400 <= status < 500:
        return BadRequestError(text, status, provider=provider)
    return ProviderError(text, status, provider=provider)


def classify_exception(err: BaseException, *, describe: str = "request",
                       provider: str | None = None) -> ProviderError | None:
    """A :class:`ProviderError` for an SDK/HTTP exception, or ``None`` when ``err`` is not a transport failure.

    Understands (by duck typing, without importing any SDK): groq / openai ``APIStatusError`` (``status_code``,
    ``response``), their ``APIConnectionError`` / ``APITimeoutError``, google-genai ``APIError`` (``code``,
    ``details``), httpx and requests exceptions, builtin ``TimeoutError`` / ``ConnectionError``.
    """
    if isinstance(err, ProviderError):
        return err
    if isinstance(err, VidqaError):
        return None
    status = getattr(err, "status_code", None)
    response = getattr(err, "response", None)
    if status is None and response is not None:
        status = getattr(response, "status_code", None)
    if status is None and isinstance(getattr(err, "code", None), int) and type(err).__module__.startswith("google"):
        status = err.code  # google.genai.errors.APIError
    if isinstance(status, int) and status >= 400:
        headers = getattr(response, "headers", None)
        body: Any = getattr(err, "body", None)
        if body is None:
            body = getattr(err, "details", None)  # google-genai: the parsed error JSON
        if body is None and response is not None:
            try:
                body = response.content
            except Exception:  # noqa: BLE001 - a streamed/closed response
                body = None
        if body is None:
            body = str(err)
        out = error_for_status(int(status), body, headers, describe=describe, provider=provider)
        if not _server_message(body) and str(err):
            out.args = (f"{out.args[0]}: {scrub(str(err))[:300]}",)
        return out
    names = {c.__name__ for c in type(err).__mro__}
    timeout = bool(names & {"TimeoutException", "APITimeoutError", "Timeout", "ReadTimeout", "ConnectTimeout",
                            "TimeoutError"}) or isinstance(err, TimeoutError)
    connection = bool(names & {"TransportError", "APIConnectionError", "ConnectionError", "NetworkError",
                               "RemoteProtocolError", "ProtocolError", "ChunkedEncodingError"}) or isinstance(
        err, ConnectionError)
    if timeout or connection:
        kind = "timed out" if timeout else "could not connect or the connection dropped"
        return RetryableError(f"{describe} {kind}: {type(err).__name__}: {scrub(str(err))[:300]}",
                              provider=provider)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how long, to retry a remote call (see the module doc).

    ``base_delay * 2**(attempt-1)`` capped at ``max_delay``, times ``1 ± jitter``, unless the server asked for a
    wait (then that wait, plus up to ``jitter * base_delay`` so callers sharing a limit do not stampede). A
    requested wait over ``max_wait`` raises :class:`RateLimitParked`.

    Example::

        RetryPolicy(max_attempts=3, sleep=lambda s: None).run(fetch, describe="download of clip.mp4")
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_wait: float = 120.0
    jitter: float = 0.25
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return max(0.0, retry_after) + random.uniform(0.0, self.jitter * self.base_delay)
        d = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        return max(0.0, d * (1.0 + random.uniform(-self.jitter, self.jitter)))

    def run(self, fn: Callable[[], T], *, describe: str,
            classify: Callable[[BaseException], ProviderError | None] | None = None) -> T:
        """``fn()`` under the policy; its value, or the final error (a :class:`ProviderError`, never a key).

        ``classify`` maps exceptions that are not yet :class:`ProviderError` (default :func:`classify_exception`);
        exceptions it returns ``None`` for propagate unchanged (bugs are not retried).
        """
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        classify = classify or (lambda e: classify_exception(e, describe=describe))
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except ProviderError as err:
                failure = err
            except Exception as err:
                mapped = classify(err)
                if mapped is None:
                    raise
                if not isinstance(mapped, RetryableError):
                    raise mapped from None  # the SDK's traceback may quote request headers
                failure = mapped
            if not isinstance(failure, RetryableError):
                raise failure
            wait = failure.retry_after
            if wait is not None and wait > self.max_wait:
                raise RateLimitParked(
                    f"{describe}: the server asks to wait {_human(wait)} (over this policy's max_wait of "
                    f"{_human(self.max_wait)}); the job is parked: run it again after "
                    f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(time.time() + wait))}. Last error: {failure}",
                    failure.status, provider=failure.provider, retry_after=wait) from None
            if attempt >= self.max_attempts:
                raise RetriesExhausted(
                    f"{describe} gave up after {attempt} attempt{'s' if attempt > 1 else ''}: {failure}",
                    failure.status, provider=failure.provider, attempts=attempt, last=failure) from None
            pause = self.delay(attempt, wait)
            log.info("%s: %s; retry %d/%d in %.2f s", describe, scrub(str(failure))[:200], attempt + 1,
                     self.max_attempts, pause)
            self.sleep(pause)


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
