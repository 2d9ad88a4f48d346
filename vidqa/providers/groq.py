"""Groq: chat (text models, and vision models with image parts) and the Whisper client, through the ``groq`` SDK.

- The key is ``GROQ_API_KEY`` (read at call time through :mod:`vidqa.providers.keys`, never stored or shown).
- The SDK's own retries are off (``max_retries=0``): :class:`~vidqa.providers.retry.RetryPolicy` governs, so 429
  honours ``retry-after`` / ``x-ratelimit-reset-*``, 5xx / 408 / 409 / 498 / timeouts back off, 400 / 401 / 404 / 413
  fail at once.
- Vision limits (Groq's documented ones) are checked before sending: at most 5 images, a base64 request of at most
  4 MB (else :class:`~vidqa.providers.errors.RequestTooLarge`, status 413, refused locally), 33 megapixels per image.
- ``GROQ_BASE_URL`` (``vidqa.config.settings().groq_base_url``) points at another server (tests, proxies).

Example::

    from vidqa.providers.groq import GroqProvider
    from vidqa.providers.base import ChatRequest, text_part
    groq = GroqProvider()
    print(groq.complete(ChatRequest("llama-3.1-8b-instant", (text_part("Say hi"),), max_tokens=8)).text)

The Whisper helpers used by :mod:`vidqa.analyze.transcribe` stay here: :func:`groq_client`, :func:`with_retries`,
:data:`DEFAULT_WHISPER_MODEL`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from vidqa.config import settings
from vidqa.providers import _wire
from vidqa.providers.base import Capabilities, ChatRequest, ChatResponse
from vidqa.providers.errors import RequestTooLarge
from vidqa.providers.keys import api_key, has_key, scrub
from vidqa.providers.retry import RetryPolicy

__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_WHISPER_MODEL",
    "GROQ_KEY_ENV",
    "GroqProvider",
    "groq_client",
    "groq_key",
    "has_groq_key",
    "scrub",
    "with_retries",
]

T = TypeVar("T")

GROQ_KEY_ENV = "GROQ_API_KEY"
DEFAULT_CHAT_MODEL = "llama-3.3-70b-versatile"
DEFAULT_WHISPER_MODEL = "whisper-large-v3-turbo"

MAX_IMAGES = 5
MAX_BASE64_REQUEST_BYTES = 4 * 1024 * 1024
MAX_IMAGE_PIXELS = 33_000_000

VISION_MODEL_MARKERS = ("llama-4-scout", "llama-4-maverick", "vision", "-vl", "llava")
"""Groq model ids containing one of these take image parts."""
STRUCTURED_OUTPUT_MARKERS = ("gpt-oss", "kimi-k2", "llama-4-scout", "llama-4-maverick")
"""Groq model ids containing one of these support ``response_format={"type": "json_schema"}`` (others get JSON
mode with the schema in the system prompt)."""


def has_groq_key() -> bool:
    """True when ``GROQ_API_KEY`` is set (non-empty)."""
    return has_key(GROQ_KEY_ENV)


def groq_key() -> str:
    """``GROQ_API_KEY``, or :class:`~vidqa.errors.MissingKeyError` naming it."""
    return api_key(GROQ_KEY_ENV)


def groq_client(*, base_url: str | None = None, timeout: float = 120.0, api_key_env: str = GROQ_KEY_ENV):
    """A ``groq.Groq`` client with SDK retries off (vidqa's policy decides); ``base_url`` else ``GROQ_BASE_URL``."""
    import groq

    kwargs: dict[str, Any] = {"api_key": api_key(api_key_env), "timeout": timeout, "max_retries": 0}
    url = base_url or settings().groq_base_url
    if url:
        kwargs["base_url"] = url
    return groq.Groq(**kwargs)


def _classify(describe: str) -> Callable[[BaseException], Any]:
    return lambda err: _wire.classify_sdk(err, describe=describe, provider="groq")


def with_retries(call: Callable[[], T], *, what: str = "Groq request", policy: RetryPolicy | None = None,
                 max_attempts: int | None = None, sleep: Callable[[float], None] | None = None) -> T:
    """``call()`` (a Groq SDK call) under :class:`RetryPolicy`; failures become ProviderErrors without secrets.

    Example::

        resp = with_retries(lambda: client.audio.transcriptions.create(**kw), what="Groq transcription")
    """
    policy = policy or RetryPolicy()
    if max_attempts is not None or sleep is not None:
        policy = RetryPolicy(max_attempts=max_attempts or policy.max_attempts, base_delay=policy.base_delay,
                             max_delay=policy.max_delay, max_wait=policy.max_wait, jitter=policy.jitter,
                             sleep=sleep or policy.sleep)
    return policy.run(call, describe=what, classify=_classify(what))


class GroqProvider:
    """Groq chat completions behind the :class:`~vidqa.providers.base.Provider` interface.

    ``capabilities`` overrides what is known per model id; ``image_detail`` (``"low"``/``"high"``/``"auto"``/None)
    goes with each image. Example::

        GroqProvider(base_url="http://127.0.0.1:8080", policy=RetryPolicy(max_attempts=3))
    """

    name = "groq"

    def __init__(self, *, api_key_env: str = GROQ_KEY_ENV, base_url: str | None = None, timeout: float = 60.0,
                 policy: RetryPolicy | None = None, image_detail: str | None = None,
                 capabilities: Mapping[str, Capabilities] | None = None):
        self.api_key_env = api_key_env
        self.base_url = base_url
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.image_detail = image_detail
        self._caps = dict(capabilities or {})
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GroqProvider(base_url={self.base_url!r})"

    def capabilities(self, model: str) -> Capabilities:
        """Vision models take up to 5 images in a 4 MB base64 request; others are text only."""
        if model in self._caps:
            return self._caps[model]
        m = model.lower()
        structured = any(k in m for k in STRUCTURED_OUTPUT_MARKERS)
        if any(k in m for k in VISION_MODEL_MARKERS):
            return Capabilities(text=True, image=True, json_schema=structured, max_images=MAX_IMAGES,
                                max_request_bytes=MAX_BASE64_REQUEST_BYTES)
        return Capabilities(text=True, json_schema=structured)

    def client(self):
        """The (shared, thread-safe) ``groq.Groq`` client; raises MissingKeyError without the key."""
        with self._lock:
            if self._client is None:
                self._client = groq_client(base_url=self.base_url, timeout=self.timeout, api_key_env=self.api_key_env)
            return self._client

    def complete(self, request: ChatRequest) -> ChatResponse:
        """One chat completion (retries included). Raises a :class:`~vidqa.providers.errors.ProviderError`."""
        return _wire.complete_chat(request, provider=self.name, caps=self.capabilities(request.model),
                                   policy=self.policy, client=self.client, describe=f"Groq chat ({request.model})",
                                   image_detail=self.image_detail, check=self._check_pixels)

    def _check_pixels(self, request: ChatRequest) -> None:
        """Groq's per-image limit (:data:`MAX_IMAGE_PIXELS`), refused locally as RequestTooLarge (413)."""
        for i, p in enumerate(request.parts):
            if p.kind == "image":
                size = _wire.image_size(p.data or b"")
                if size and size[0] * size[1] > MAX_IMAGE_PIXELS:
                    raise RequestTooLarge(
                        f"groq/{request.model}: image {i} is {size[0]}x{size[1]} "
                        f"({size[0] * size[1] / 1e6:.1f} MP), over Groq's {MAX_IMAGE_PIXELS / 1e6:.0f} MP limit: "
                        "downscale it.", 413, provider=self.name)
