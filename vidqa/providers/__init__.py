"""Model clients behind one interface (:mod:`vidqa.providers.base`): Groq, Gemini, any OpenAI-compatible server,
and a local llama-server. One retry policy (:mod:`~vidqa.providers.retry`), one key lookup with scrubbing
(:mod:`~vidqa.providers.keys`). SDKs are imported only when their provider is used.

Example::

    from vidqa.providers import ChatRequest, get_provider, text_part
    provider, model = get_provider("local/smollm2")
    print(provider.complete(ChatRequest(model, (text_part("Say hi"),), max_tokens=8)).text)
"""

from vidqa.providers.base import (
    Capabilities,
    ChatRequest,
    ChatResponse,
    Part,
    Provider,
    audio_part,
    get_provider,
    image_part,
    text_part,
    video_part,
)
from vidqa.providers.errors import (
    AuthError,
    BadRequestError,
    LocalServerError,
    MalformedResponseError,
    MediaUploadError,
    ProviderError,
    RateLimitParked,
    RequestTooLarge,
    RetriesExhausted,
    RetryableError,
    UnsupportedInputError,
)
from vidqa.providers.keys import api_key, has_key, scrub
from vidqa.providers.retry import RetryPolicy, parse_retry_after, parse_retry_info

__all__ = [
    "AuthError", "BadRequestError", "Capabilities", "ChatRequest", "ChatResponse", "LocalServerError",
    "MalformedResponseError", "MediaUploadError", "Part", "Provider", "ProviderError", "RateLimitParked",
    "RequestTooLarge", "RetriesExhausted", "RetryPolicy", "RetryableError", "UnsupportedInputError", "api_key",
    "audio_part", "get_provider", "has_key", "image_part", "parse_retry_after", "parse_retry_info", "scrub",
    "text_part", "video_part",
]
