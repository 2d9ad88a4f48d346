"""Any OpenAI-compatible chat server (OpenAI, llama.cpp's ``llama-server``, Ollama, vLLM) through the ``openai`` SDK.

Parts go out as given: text, ``image_url`` (base64 data URLs) and ``input_audio`` (base64 WAV/MP3). Video parts are
refused locally (send frames and the window's audio instead). The SDK's retries are off; vidqa's
:class:`~vidqa.providers.retry.RetryPolicy` governs.

Base URL: ``base_url=`` or the ``OPENAI_BASE_URL`` setting, else OpenAI itself. Key: ``$OPENAI_API_KEY`` (the name is
``api_key_env``); a server other than api.openai.com is called with a placeholder key when the variable is unset
(local servers need none).

Example::

    from vidqa.providers.openai_compat import OpenAICompatProvider
    from vidqa.providers.base import ChatRequest, text_part
    p = OpenAICompatProvider(base_url="http://127.0.0.1:8080/v1")
    p.complete(ChatRequest("any", (text_part("Answer A, B, C or D"),), json_schema=schema)).text
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from vidqa.config import settings
from vidqa.providers import _wire
from vidqa.providers.base import Capabilities, ChatRequest, ChatResponse
from vidqa.providers.keys import api_key, has_key
from vidqa.providers.retry import RetryPolicy

__all__ = ["DEFAULT_CAPABILITIES", "OPENAI_BASE_URL", "OpenAICompatProvider"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
NO_KEY = "sk-no-key-required"
DEFAULT_CAPABILITIES = Capabilities(text=True, image=True, audio=True, video=False, json_schema=True)
"""What an unknown OpenAI-compatible model is assumed to take (the server decides; override per model)."""


class OpenAICompatProvider:
    """Chat completions against any OpenAI-compatible server, behind :class:`~vidqa.providers.base.Provider`.

    ``capabilities`` is one :class:`Capabilities` for every model, or a mapping model -> Capabilities.
    ``name`` is the provider name recorded in responses and cache keys (``"openai"``; ``"local"`` for the bundled
    server). ``extra_body`` is merged into every request (server-specific options such as ``top_k``).
    """

    name = "openai"

    def __init__(self, *, base_url: str | None = None, api_key_env: str | None = "OPENAI_API_KEY",
                 timeout: float = 60.0, policy: RetryPolicy | None = None,
                 capabilities: Capabilities | Mapping[str, Capabilities] | None = None,
                 image_detail: str | None = None, extra_body: Mapping[str, Any] | None = None,
                 name: str | None = None):
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._caps = capabilities
        self.image_detail = image_detail
        self.extra_body = dict(extra_body or {})
        if name:
            self.name = name
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.resolved_base_url()!r})"

    def resolved_base_url(self) -> str:
        """``base_url``, else the ``OPENAI_BASE_URL`` setting, else OpenAI's."""
        return (self.base_url or settings().openai_base_url or OPENAI_BASE_URL).rstrip("/")

    def capabilities(self, model: str) -> Capabilities:
        """The configured capabilities for ``model``, else :data:`DEFAULT_CAPABILITIES`."""
        if isinstance(self._caps, Capabilities):
            return self._caps
        if isinstance(self._caps, Mapping) and model in self._caps:
            return self._caps[model]
        return DEFAULT_CAPABILITIES

    def _key(self, base_url: str) -> str:
        if self.api_key_env and (has_key(self.api_key_env) or urlsplit(base_url).hostname == "api.openai.com"):
            return api_key(self.api_key_env)  # MissingKeyError naming the variable for OpenAI itself
        return NO_KEY

    def client(self):
        """The shared ``openai.OpenAI`` client (SDK retries off)."""
        with self._lock:
            if self._client is None:
                import openai

                base = self.resolved_base_url()
                self._client = openai.OpenAI(api_key=self._key(base), base_url=base, timeout=self.timeout,
                                             max_retries=0)
            return self._client

    def complete(self, request: ChatRequest) -> ChatResponse:
        """One chat completion (retries included). Raises a :class:`~vidqa.providers.errors.ProviderError`."""
        return _wire.complete_chat(request, provider=self.name, caps=self.capabilities(request.model),
                                   policy=self.policy, client=self.client,
                                   describe=lambda: f"{self.name} chat ({request.model} at {self.resolved_base_url()})",
                                   image_detail=self.image_detail, extra_body=self.extra_body)

    def close(self) -> None:
        """Close the HTTP client (a new one is made on the next call)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
