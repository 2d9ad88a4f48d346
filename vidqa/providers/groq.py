"""Calling Groq (and other OpenAI-compatible servers) safely.

- The key is read from the environment (``GROQ_API_KEY``) at call time only; it is never stored, logged or put
  into an error message (:func:`scrub` removes it from any text we raise).
- :func:`with_retries` implements the policy every vidqa remote call follows: HTTP 429 waits for ``retry-after``
  (bounded), 5xx / connection errors / timeouts retry with jittered exponential backoff, 400 / 401 / 403 / 404 / 413
  fail at once with a clear :class:`~vidqa.errors.ApiError`.
- ``GROQ_BASE_URL`` (read by the Groq SDK too) points the client at another server, e.g. a local one in tests.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from vidqa.errors import ApiError, MissingKeyError

T = TypeVar("T")

GROQ_KEY_ENV = "GROQ_API_KEY"
DEFAULT_CHAT_MODEL = "llama-3.3-70b-versatile"
DEFAULT_WHISPER_MODEL = "whisper-large-v3-turbo"


def has_groq_key() -> bool:
    """True when ``GROQ_API_KEY`` is set (non-empty)."""
    return bool(os.environ.get(GROQ_KEY_ENV, "").strip())


def groq_key() -> str:
    key = os.environ.get(GROQ_KEY_ENV, "").strip()
    if not key:
        raise MissingKeyError(f"{GROQ_KEY_ENV} is not set: export it in the environment that runs Jupyter/vidqa.")
    return key


def scrub(text: str) -> str:
    """``text`` with any API key from the environment replaced by ``***``."""
    for name in (GROQ_KEY_ENV, "GEMINI_API_KEY", "OPENAI_API_KEY"):
        key = os.environ.get(name, "").strip()
        if key and len(key) >= 4:
            text = text.replace(key, "***")
    return text


def groq_client(*, base_url: str | None = None, timeout: float = 120.0):
    """A ``groq.Groq`` client with SDK retries off (vidqa's :func:`with_retries` decides)."""
    import groq

    kwargs: dict[str, Any] = {"api_key": groq_key(), "timeout": timeout, "max_retries": 0}
    if base_url or os.environ.get("GROQ_BASE_URL"):
        kwargs["base_url"] = base_url or os.environ["GROQ_BASE_URL"]
    return groq.Groq(**kwargs)


FATAL_STATUSES = {400: "bad request", 401: "the API key was refused", 403: "forbidden", 404: "not found",
                  413: "the upload is too large", 422: "unprocessable request"}


def _status_of(err: BaseException) -> int | None:
    status = getattr(err, "status_code", None)
    if status is None:
        response = getattr(err, "response", None)
        status = getattr(response, "status_code", None)
    return int(status) if status is not None else None


def _retry_after(err: BaseException) -> float | None:
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value:
            try:
                seconds = float(value)
            except ValueError:
                return None
            return seconds / 1000.0 if name.endswith("-ms") else seconds
    return None


def with_retries(
    call: Callable[[], T],
    *,
    what: str = "Groq request",
    max_attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call()`` under vidqa's retry policy and turn failures into :class:`ApiError` without secrets."""
    import httpx

    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except Exception as err:  # noqa: BLE001 - classified below
            status = _status_of(err)
            transient_net = isinstance(err, (httpx.TimeoutException, httpx.TransportError)) or type(err).__name__ in {
                "APIConnectionError", "APITimeoutError"}
            message = scrub(str(err))[:500]
            if status in FATAL_STATUSES:
                raise ApiError(f"{what} failed: HTTP {status} ({FATAL_STATUSES[status]}): {message}", status) from None
            retryable = status == 429 or (status is not None and status >= 500) or transient_net
            if not retryable:
                raise ApiError(f"{what} failed: {type(err).__name__}: {message}", status) from None
            if attempt >= max_attempts:
                raise ApiError(
                    f"{what} failed after {attempt} attempts: HTTP {status or 'connection error'}: {message}", status
                ) from None
            if status == 429:
                delay = _retry_after(err)
                delay = min(max_delay, delay if delay is not None else base_delay * 2 ** (attempt - 1))
            else:
                delay = min(max_delay, base_delay * 2 ** (attempt - 1)) * (0.5 + random.random())
            sleep(delay)
