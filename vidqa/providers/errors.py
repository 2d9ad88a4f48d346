"""The errors a model provider raises, all subclasses of :class:`vidqa.errors.ApiError`.

Every class carries ``status`` (the HTTP status when there was one), ``provider`` (``"groq"``, ``"gemini"``, ...)
and, where it applies, ``retry_after`` (seconds the server asked us to wait). Messages are for the user and never
contain an API key: build them with :func:`vidqa.providers.keys.scrub`.

Which are retried (by :class:`vidqa.providers.retry.RetryPolicy`): :class:`RetryableError` and its subclasses
(429, 5xx, 408, 409, Groq's 498, timeouts, dropped connections, a garbled response body). Everything else is final.

Example::

    from vidqa.providers.errors import ProviderError, RateLimitParked
    try:
        response = provider.complete(request)
    except RateLimitParked as err:      # the server wants us back later than we are willing to wait
        park_job(until=time.time() + err.retry_after)
    except ProviderError as err:        # final: keep the row "unscored" with str(err) as the reason
        ...
"""

from __future__ import annotations

from vidqa.errors import ApiError

__all__ = [
    "AuthError",
    "BadRequestError",
    "LocalServerError",
    "MalformedResponseError",
    "MediaUploadError",
    "ProviderError",
    "RateLimitParked",
    "RequestTooLarge",
    "RetriesExhausted",
    "RetryableError",
    "UnsupportedInputError",
]


class ProviderError(ApiError):
    """A model provider failed; final unless it is a :class:`RetryableError`."""

    def __init__(self, message: str, status: int | None = None, *, provider: str | None = None,
                 retry_after: float | None = None):
        super().__init__(message, status)
        self.provider = provider
        self.retry_after = retry_after


class RetryableError(ProviderError):
    """A transient failure (429, 5xx, 408/409, Groq 498, timeout, connection reset): worth another attempt.

    ``retry_after`` is the wait the server asked for (seconds), or ``None`` for "use backoff".
    """


class MalformedResponseError(RetryableError):
    """The server answered 2xx with a body that is not the JSON the protocol promises (retried: often a proxy)."""


class RetriesExhausted(ProviderError):
    """A retryable failure kept happening until :attr:`RetryPolicy.max_attempts` was used up.

    ``attempts`` is how many calls were made; ``last`` is the final :class:`RetryableError`.
    """

    def __init__(self, message: str, status: int | None = None, *, provider: str | None = None,
                 attempts: int = 0, last: RetryableError | None = None):
        super().__init__(message, status, provider=provider, retry_after=getattr(last, "retry_after", None))
        self.attempts = attempts
        self.last = last


class RateLimitParked(ProviderError):
    """The server asked us to wait ``retry_after`` seconds, longer than the policy's ``max_wait``.

    The job should be parked and resumed later (nothing was lost); the message says for how long.
    """


class AuthError(ProviderError):
    """The API key was refused (401) or lacks permission (403). Not retried."""


class BadRequestError(ProviderError):
    """The server rejected the request itself (400, 404 unknown model, 422). Not retried."""


class RequestTooLarge(BadRequestError):
    """The request is over the provider's size limit (HTTP 413, or refused locally before sending)."""


class UnsupportedInputError(BadRequestError):
    """The model cannot take this input (e.g. an image for a text-only model, too many images); refused locally."""


class MediaUploadError(ProviderError):
    """A media file could not be uploaded or processed by the provider (Gemini file FAILED or expired)."""


class LocalServerError(ProviderError):
    """The local ``llama-server`` could not be found, started, or stopped answering."""
