"""One interface below everything that calls a model: :class:`ChatRequest` in, :class:`ChatResponse` out.

A request is a model name plus a tuple of :class:`Part` (text, image bytes, audio bytes, a video file with an
optional window), generation settings and an optional JSON schema for the answer. Every provider (``groq``,
``gemini``, ``openai`` for any OpenAI-compatible server, ``local`` for the bundled llama-server) implements
:class:`Provider`; :func:`get_provider` builds one from a spec string. SDKs are imported only when a provider of
theirs is built.

Example::

    from vidqa.providers.base import ChatRequest, get_provider, text_part, image_part

    provider, model = get_provider("groq/llama-3.1-8b-instant")
    request = ChatRequest(model=model, parts=(text_part("Which colour is the car? A) red B) blue"),),
                          json_schema={"type": "object", "properties": {"answer": {"enum": ["A", "B"]}},
                                       "required": ["answer"]})
    response = provider.complete(request)      # ChatResponse(text='{"answer": "B"}', provider='groq', ...)
    request.cache_key(provider.name)           # stable sha256 hex: same request -> same key
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from vidqa.errors import VidqaError
from vidqa.providers.errors import RequestTooLarge, UnsupportedInputError

__all__ = [
    "Capabilities",
    "ChatRequest",
    "ChatResponse",
    "Part",
    "Provider",
    "audio_part",
    "check_request",
    "get_provider",
    "image_part",
    "parse_spec",
    "text_part",
    "video_part",
]

PartKind = Literal["text", "image", "audio", "video"]
_KINDS = ("text", "image", "audio", "video")
CACHE_KEY_VERSION = 1


def _sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Part:
    """One piece of a message: text, image/audio bytes, or a video file (with an optional ``start``-``end`` window).

    Build parts with :func:`text_part`, :func:`image_part`, :func:`audio_part`, :func:`video_part` (they fill in
    ``sha256`` and ``mime``). ``sha256`` is the media hash used by cache keys and provenance.
    """

    kind: PartKind
    text: str | None = None
    data: bytes | None = None
    mime: str | None = None
    path: str | None = None
    start: float | None = None
    end: float | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise VidqaError(f"Part kind must be one of {', '.join(_KINDS)}, not {self.kind!r}.")
        if self.kind == "text":
            if self.text is None:
                raise VidqaError("A text part needs text=.")
        elif self.kind in ("image", "audio"):
            if self.data is None:
                raise VidqaError(f"An {self.kind} part needs data= (the encoded bytes).")
        elif self.data is None and not self.path:
            raise VidqaError("A video part needs path= (a video file) or data=.")
        if (self.start is not None or self.end is not None) and self.kind != "video":
            raise VidqaError("start/end (a window) only apply to video parts.")
        if self.start is not None and self.start < 0:
            raise VidqaError(f"A video window cannot start before 0 s (start={self.start}).")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise VidqaError(f"A video window must end after it starts (start={self.start}, end={self.end}).")
        if self.path is not None and not isinstance(self.path, str):
            object.__setattr__(self, "path", os.fspath(self.path))
        if self.sha256 is None and self.data is not None:
            object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())

    def media_hash(self) -> str | None:
        """``sha256`` of the media (computed from ``path`` when not given); ``None`` for text."""
        if self.kind == "text":
            return None
        if self.sha256:
            return self.sha256
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        return _sha256_file(self.path)  # type: ignore[arg-type]

    def size(self) -> int:
        """Bytes of media (0 for text)."""
        if self.data is not None:
            return len(self.data)
        if self.path:
            return Path(self.path).stat().st_size
        return 0

    def __repr__(self) -> str:  # never dump megabytes of media into a traceback
        bits = [f"kind={self.kind!r}"]
        if self.text is not None:
            bits.append(f"text={self.text[:60]!r}" + ("..." if len(self.text) > 60 else ""))
        if self.data is not None:
            bits.append(f"data=<{len(self.data)} bytes>")
        for name in ("mime", "path", "start", "end"):
            value = getattr(self, name)
            if value is not None:
                bits.append(f"{name}={value!r}")
        if self.sha256:
            bits.append(f"sha256={self.sha256[:12]}...")
        return f"Part({', '.join(bits)})"


def _sniff_image(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    raise VidqaError("Unrecognised image bytes: give JPEG, PNG, WebP or GIF data (or pass mime=).")


def text_part(text: str) -> Part:
    """A text part. Example: ``text_part("What is said at 0:12?")``."""
    return Part("text", text=str(text))


def image_part(data: bytes, mime: str | None = None) -> Part:
    """An image part from encoded JPEG/PNG/WebP bytes (``mime`` sniffed when not given)."""
    return Part("image", data=bytes(data), mime=mime or _sniff_image(data))


def audio_part(data: bytes, mime: str = "audio/wav") -> Part:
    """An audio part from encoded bytes (WAV by default; ``audio/mp3`` / ``audio/flac`` where the provider takes it)."""
    return Part("audio", data=bytes(data), mime=mime)


def video_part(path: str | os.PathLike[str], start: float | None = None, end: float | None = None, *,
               mime: str | None = None, sha256: str | None = None) -> Part:
    """A video file part; ``start``/``end`` (seconds) ask the model to look at that window only (Gemini).

    The file is hashed now (pass ``sha256=`` when it is known, e.g. a stored video's hash).
    """
    p = Path(path)
    if not p.is_file():
        raise VidqaError(f"Video file {p} does not exist.")
    if mime is None:
        mime = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
                ".mkv": "video/x-matroska", ".avi": "video/x-msvideo", ".mpeg": "video/mpeg", ".mpg": "video/mpeg",
                ".3gp": "video/3gpp", ".flv": "video/x-flv", ".wmv": "video/x-ms-wmv"}.get(p.suffix.lower(),
                                                                                          "video/mp4")
    return Part("video", path=str(p), mime=mime, start=None if start is None else float(start),
                end=None if end is None else float(end), sha256=sha256 or _sha256_file(p))


@dataclass(frozen=True)
class ChatRequest:
    """One model call: ``model``, the user message's ``parts`` in order, and settings.

    ``json_schema`` asks for a JSON answer matching the schema (structured output where the provider supports it,
    else JSON mode with the schema in the system prompt). ``seed`` is passed where the provider takes one.
    """

    model: str
    parts: tuple[Part, ...]
    system: str | None = None
    temperature: float = 0.0
    max_tokens: int = 64
    seed: int | None = None
    json_schema: dict | None = None

    def __post_init__(self) -> None:
        parts = self.parts
        if isinstance(parts, Part):
            parts = (parts,)
        elif isinstance(parts, str):
            parts = (text_part(parts),)
        object.__setattr__(self, "parts", tuple(parts))
        if not self.parts:
            raise VidqaError("A ChatRequest needs at least one part.")
        if not all(isinstance(p, Part) for p in self.parts):
            raise VidqaError("ChatRequest.parts must be Part objects (see text_part, image_part, ...).")
        if not self.model:
            raise VidqaError("A ChatRequest needs a model name.")
        if self.max_tokens < 1:
            raise VidqaError(f"max_tokens must be at least 1, got {self.max_tokens}.")

    __hash__ = None  # type: ignore[assignment]  # json_schema is a dict; use cache_key() as the identity

    def canonical(self, provider: str) -> dict[str, Any]:
        """The JSON-able identity of this request (media by hash), as hashed by :meth:`cache_key`."""
        parts = []
        for p in self.parts:
            d: dict[str, Any] = {"kind": p.kind}
            if p.kind == "text":
                d["text"] = p.text
            else:
                d["sha256"] = p.media_hash()
                d["mime"] = p.mime
                if p.start is not None or p.end is not None:
                    d["window"] = [p.start, p.end]
            parts.append(d)
        return {"v": CACHE_KEY_VERSION, "provider": provider, "model": self.model, "system": self.system,
                "parts": parts, "temperature": float(self.temperature), "max_tokens": int(self.max_tokens),
                "seed": self.seed, "json_schema": self.json_schema}

    def cache_key(self, provider: str) -> str:
        """sha256 hex over provider, model, parts (media by hash, windows), system prompt and settings.

        Example::

            ChatRequest("m", (text_part("hi"),)).cache_key("groq") == ChatRequest("m", (text_part("hi"),)).cache_key("groq")
        """
        blob = json.dumps(self.canonical(provider), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def prompt_text(self) -> str:
        """The text parts joined by blank lines (for logs and text-only providers)."""
        return "\n\n".join(p.text or "" for p in self.parts if p.kind == "text")


@dataclass
class ChatResponse:
    """What a model answered, with provenance. ``refusal`` is True when the model/provider declined to answer
    (``text`` is then the refusal text or empty); ``attempts`` counts calls including retries."""

    text: str
    provider: str
    model: str
    latency: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    system_fingerprint: str | None = None
    refusal: bool = False
    raw: dict | None = field(default=None, repr=False)
    attempts: int = 1

    def json(self) -> Any:
        """``text`` parsed as JSON (a fenced ```json block is accepted). Raises ``ValueError`` when it is not."""
        s = self.text.strip()
        if s.startswith("```"):
            s = s.strip("`")
            s = s[4:] if s.lower().startswith("json") else s
        return json.loads(s)


@dataclass(frozen=True)
class Capabilities:
    """What a model takes. ``max_images`` / ``max_request_bytes`` are enforced locally before sending."""

    text: bool = True
    image: bool = False
    audio: bool = False
    video: bool = False
    json_schema: bool = False
    max_images: int | None = None
    max_request_bytes: int | None = None


@runtime_checkable
class Provider(Protocol):
    """A model client: ``complete`` one :class:`ChatRequest` (retries included) or raise a ProviderError."""

    name: str

    def capabilities(self, model: str) -> Capabilities: ...

    def complete(self, request: ChatRequest) -> ChatResponse: ...


def check_request(request: ChatRequest, caps: Capabilities, *, provider: str,
                  request_bytes: int | None = None) -> None:
    """Refuse locally what the model cannot take: raises :class:`UnsupportedInputError` / :class:`RequestTooLarge`.

    ``request_bytes`` is the encoded request size when the caller knows it (checked against
    ``caps.max_request_bytes``).
    """
    kinds = [p.kind for p in request.parts]
    for kind in ("image", "audio", "video"):
        if kind in kinds and not getattr(caps, kind):
            raise UnsupportedInputError(
                f"{provider}/{request.model} does not take {kind} input; send frames, a transcript or text cues "
                f"instead, or choose a model that takes {kind}.", provider=provider)
    n_images = kinds.count("image")
    if caps.max_images is not None and n_images > caps.max_images:
        raise UnsupportedInputError(
            f"{provider}/{request.model} takes at most {caps.max_images} images per request; this one has "
            f"{n_images}: sample fewer frames.", provider=provider)
    if request_bytes is not None and caps.max_request_bytes is not None and request_bytes > caps.max_request_bytes:
        raise RequestTooLarge(
            f"{provider}/{request.model}: the request is {request_bytes / 1e6:.2f} MB, over the "
            f"{caps.max_request_bytes / 1e6:.2f} MB limit (HTTP 413 refused locally): send fewer or smaller "
            "images.", 413, provider=provider)


PROVIDERS = ("groq", "gemini", "openai", "local")


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """``"openai/qwen2@http://h:8080/v1"`` -> ``("openai", "qwen2", "http://h:8080/v1")``.

    The provider is before the first ``/`` (model names may contain more slashes); a base URL follows the last
    ``@`` that starts ``http://`` or ``https://``.
    """
    spec = (spec or "").strip()
    name, sep, rest = spec.partition("/")
    name = name.lower()
    if not sep or not rest or name not in PROVIDERS:
        raise VidqaError(f"Model spec {spec!r} must be PROVIDER/MODEL with PROVIDER one of {', '.join(PROVIDERS)} "
                         "(e.g. groq/llama-3.1-8b-instant, gemini/gemini-2.0-flash, "
                         "openai/MODEL@http://127.0.0.1:8080/v1, local/smollm2).")
    base_url = None
    for scheme in ("@http://", "@https://"):
        i = rest.rfind(scheme)
        if i > 0:
            rest, base_url = rest[:i], rest[i + 1:]
            break
    if not rest:
        raise VidqaError(f"Model spec {spec!r} names no model after {name}/.")
    return name, rest, base_url


def get_provider(spec: str, **kwargs: Any) -> tuple[Provider, str]:
    """A provider and the model name for ``spec``; ``kwargs`` go to the provider's constructor.

    Specs: ``groq/MODEL``, ``gemini/MODEL``, ``openai/MODEL@BASE_URL`` (any OpenAI-compatible server; without
    ``@`` the ``OPENAI_BASE_URL`` setting), ``local/smollm2`` (the bundled llama-server, started on first use and
    stopped at exit). ``@BASE_URL`` works for every remote provider (tests, proxies).

    Example::

        provider, model = get_provider("openai/smollm2@http://127.0.0.1:8080/v1", api_key_env=None)
    """
    name, model, base_url = parse_spec(spec)
    if base_url is not None:
        kwargs.setdefault("base_url", base_url)
    if name == "groq":
        from vidqa.providers.groq import GroqProvider

        return GroqProvider(**kwargs), model
    if name == "gemini":
        from vidqa.providers.gemini import GeminiProvider

        return GeminiProvider(**kwargs), model
    if name == "openai":
        from vidqa.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(**kwargs), model
    from vidqa.providers.local import local_provider

    return local_provider(model, **kwargs)
