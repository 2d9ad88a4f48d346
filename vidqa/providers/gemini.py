"""Gemini through the ``google-genai`` SDK: native video via the Files API, images and audio inline.

- A video part's file is uploaded once per provider (resumable upload, keyed by its sha256), then polled until
  ``ACTIVE``; ``FAILED`` raises :class:`~vidqa.providers.errors.MediaUploadError` with the server's reason, a file
  still processing after ``upload_timeout`` seconds too. A file near its expiry, or one the server no longer
  knows (403/404 naming a file), is uploaded again (once).
- The part's ``start``/``end`` window goes out as ``video_metadata`` offsets (``"10s"``, ``"20.5s"``), with
  ``video_fps`` when set (Gemini takes (0, 24]).
- The SDK's retries stay off and it ignores the server's RetryInfo: vidqa's
  :class:`~vidqa.providers.retry.RetryPolicy` retries 429 / 5xx with ``retryDelay`` parsed from the error body.
- Key: ``$GEMINI_API_KEY`` (else ``$GOOGLE_API_KEY``); base URL: ``GEMINI_BASE_URL`` / ``GOOGLE_GEMINI_BASE_URL``
  (``vidqa.config.settings().gemini_base_url``).

Example::

    from vidqa.providers.gemini import GeminiProvider
    from vidqa.providers.base import ChatRequest, text_part, video_part
    gemini = GeminiProvider()
    request = ChatRequest("gemini-2.0-flash", (video_part("match.mp4", 60, 75), text_part("Who scores?")))
    print(gemini.complete(request).text)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from vidqa.config import settings
from vidqa.providers._wire import classify_sdk
from vidqa.providers.base import Capabilities, ChatRequest, ChatResponse, Part, check_request
from vidqa.providers.errors import (
    AuthError,
    BadRequestError,
    MalformedResponseError,
    MediaUploadError,
    ProviderError,
)
from vidqa.providers.keys import api_key, has_key, scrub
from vidqa.providers.retry import RetryPolicy

__all__ = ["GEMINI_CAPABILITIES", "GeminiProvider", "UploadedFile"]

MAX_INLINE_REQUEST_BYTES = 20 * 1024 * 1024
GEMINI_CAPABILITIES = Capabilities(text=True, image=True, audio=True, video=True, json_schema=True,
                                   max_images=3000, max_request_bytes=MAX_INLINE_REQUEST_BYTES)
"""Gemini 1.5+/2.x models: text, images, audio and video; 20 MB of inline data per request (video goes by file)."""
REFUSAL_REASONS = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
                   "RECITATION", "MODEL_ARMOR", "JAILBREAK"}
"""Finish / block reasons that mean the model declined (the response has ``refusal=True``)."""
EXPIRY_MARGIN = 600.0
"""Seconds before a file's expiry at which it is uploaded again rather than used."""


@dataclass(frozen=True)
class UploadedFile:
    """A file the Files API holds for us (``name`` like ``files/abc123``, ``uri`` for ``file_data``)."""

    name: str
    uri: str
    mime: str
    sha256: str
    expires: float | None = None


def _offset(seconds: float) -> str:
    text = f"{float(seconds):.3f}".rstrip("0").rstrip(".")
    return f"{text or '0'}s"


def _enum_name(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "name", None) or getattr(value, "value", None) or value)


def _timestamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class GeminiProvider:
    """Gemini ``generateContent`` behind :class:`~vidqa.providers.base.Provider`, with Files API video.

    ``api_version`` is the SDK's (``v1beta`` by default); ``video_fps`` is sent with every video window;
    ``upload_timeout`` bounds the wait for ``ACTIVE`` (polling every ``poll_interval`` seconds, doubling up to 5 s,
    through ``policy.sleep``, so tests do not sleep).
    """

    name = "gemini"

    def __init__(self, *, api_key_env: str | None = None, base_url: str | None = None, timeout: float = 120.0,
                 policy: RetryPolicy | None = None, api_version: str | None = None, video_fps: float | None = None,
                 upload_timeout: float = 600.0, poll_interval: float = 1.0,
                 capabilities: Capabilities | None = None):
        if video_fps is not None and not 0 < float(video_fps) <= 24:
            raise BadRequestError(f"Gemini video_fps must be in (0, 24], not {video_fps}.", provider="gemini")
        self.api_key_env = api_key_env
        self.base_url = base_url
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.api_version = api_version
        self.video_fps = video_fps
        self.upload_timeout = float(upload_timeout)
        self.poll_interval = float(poll_interval)
        self._caps = capabilities or GEMINI_CAPABILITIES
        self._client: Any = None
        self._files: dict[str, UploadedFile] = {}
        self._lock = threading.Lock()
        self._upload_locks: dict[str, threading.Lock] = {}

    def __repr__(self) -> str:
        return f"GeminiProvider(base_url={self.base_url or settings().gemini_base_url!r})"

    def capabilities(self, model: str) -> Capabilities:
        """Text, image, audio, video and JSON schema for every model (unless configured otherwise)."""
        return self._caps

    def _key_env(self) -> str:
        if self.api_key_env:
            return self.api_key_env
        return "GEMINI_API_KEY" if has_key("GEMINI_API_KEY") or not has_key("GOOGLE_API_KEY") else "GOOGLE_API_KEY"

    def client(self):
        """The shared ``google.genai.Client`` (SDK retries off); raises MissingKeyError without a key."""
        with self._lock:
            if self._client is None:
                from google import genai
                from google.genai import types

                options: dict[str, Any] = {"timeout": int(self.timeout * 1000)}
                url = self.base_url or settings().gemini_base_url
                if url:
                    options["base_url"] = url
                if self.api_version:
                    options["api_version"] = self.api_version
                self._client = genai.Client(api_key=api_key(self._key_env()),
                                            http_options=types.HttpOptions(**options))
            return self._client

    def _classify(self, err: BaseException, describe: str) -> ProviderError | None:
        mapped = classify_sdk(err, describe=describe, provider=self.name)
        if isinstance(mapped, BadRequestError) and mapped.status == 400 and (
                "api_key_invalid" in str(err).lower() or "api key not valid" in str(err).lower()):
            return AuthError(str(mapped), 400, provider=self.name)  # Gemini says 400 for a bad key
        return mapped

    def _run(self, fn, describe: str):
        return self.policy.run(fn, describe=describe, classify=lambda err: self._classify(err, describe))

    # --- Files API ------------------------------------------------------------------------------------------
    def upload(self, part: Part) -> UploadedFile:
        """Upload ``part``'s video file (once per sha256) and wait until it is ``ACTIVE``."""
        sha = part.media_hash() or ""
        with self._lock:
            lock = self._upload_locks.setdefault(sha, threading.Lock())
        with lock:
            known = self._files.get(sha)
            if known is not None and (known.expires is None or known.expires - time.time() > EXPIRY_MARGIN):
                return known
            client = self.client()
            display = f"vidqa-{sha[:16]}"
            describe = f"Gemini upload of {display} ({part.size() / 1e6:.1f} MB)"
            if part.path:
                source: Any = part.path
            else:
                import io

                source = io.BytesIO(part.data or b"")
            f = self._run(lambda: client.files.upload(file=source, config={"mime_type": part.mime or "video/mp4",
                                                                           "display_name": display}), describe)
            f = self._wait_active(client, f, display)
            uploaded = UploadedFile(name=f.name, uri=f.uri, mime=f.mime_type or part.mime or "video/mp4",
                                    sha256=sha, expires=_timestamp(getattr(f, "expiration_time", None)))
            self._files[sha] = uploaded
            return uploaded

    def _wait_active(self, client: Any, f: Any, display: str) -> Any:
        waited, interval = 0.0, self.poll_interval
        while True:
            state = _enum_name(getattr(f, "state", None))
            if state == "ACTIVE":
                return f
            if state == "FAILED":
                err = getattr(f, "error", None)
                why = scrub(str(getattr(err, "message", None) or err or "no reason given"))
                raise MediaUploadError(f"Gemini could not process {display} ({f.name}): {why}. Check that the file "
                                       "is a playable video (re-encode it) and try again.",
                                       getattr(err, "code", None), provider=self.name)
            if waited >= self.upload_timeout:
                raise MediaUploadError(f"Gemini is still processing {display} ({f.name}) after {waited:.0f} s; "
                                       "try again later or raise upload_timeout.", provider=self.name)
            self.policy.sleep(interval)
            waited += interval
            interval = min(5.0, interval * 2)
            f = self._run(lambda name=f.name: client.files.get(name=name), f"Gemini file status of {display}")

    def forget(self, part: Part | None = None) -> None:
        """Drop the remembered upload of ``part`` (or of every file), so it is uploaded again."""
        with self._lock:
            if part is None:
                self._files.clear()
            else:
                self._files.pop(part.media_hash() or "", None)

    # --- generation -----------------------------------------------------------------------------------------
    def _contents(self, request: ChatRequest) -> list[Any]:
        from google.genai import types

        parts = []
        for p in request.parts:
            if p.kind == "text":
                parts.append(types.Part(text=p.text))
            elif p.kind in ("image", "audio"):
                parts.append(types.Part(inline_data=types.Blob(data=p.data, mime_type=p.mime)))
            else:
                meta = None
                if p.start is not None or p.end is not None or self.video_fps is not None:
                    meta = types.VideoMetadata(
                        start_offset=_offset(p.start) if p.start is not None else None,
                        end_offset=_offset(p.end) if p.end is not None else None,
                        fps=self.video_fps)
                if p.path:
                    uploaded = self.upload(p)
                    parts.append(types.Part(file_data=types.FileData(file_uri=uploaded.uri, mime_type=uploaded.mime),
                                            video_metadata=meta))
                else:
                    parts.append(types.Part(inline_data=types.Blob(data=p.data, mime_type=p.mime or "video/mp4"),
                                            video_metadata=meta))
        return [types.Content(role="user", parts=parts)]

    def _config(self, request: ChatRequest) -> Any:
        from google.genai import types

        kwargs: dict[str, Any] = {"temperature": float(request.temperature),
                                  "max_output_tokens": int(request.max_tokens)}
        if request.system:
            kwargs["system_instruction"] = request.system
        if request.seed is not None:
            kwargs["seed"] = int(request.seed)
        if request.json_schema is not None:
            kwargs["response_mime_type"] = "application/json"
            kwargs["response_json_schema"] = request.json_schema
        return types.GenerateContentConfig(**kwargs)

    def complete(self, request: ChatRequest) -> ChatResponse:
        """One ``generateContent`` call (uploads and retries included). Raises a ProviderError."""
        inline = sum(p.size() for p in request.parts if p.kind in ("image", "audio") or (p.kind == "video"
                                                                                           and not p.path))
        text = sum(len((p.text or "").encode()) for p in request.parts) + len((request.system or "").encode())
        check_request(request, self.capabilities(request.model), provider=self.name,
                      request_bytes=inline * 4 // 3 + text)
        client = self.client()
        describe = f"Gemini generate ({request.model})"
        config = self._config(request)
        has_files = any(p.kind == "video" and p.path for p in request.parts)
        attempts = 0
        for round_ in (1, 2):
            contents = self._contents(request)

            def call(contents: list[Any] = contents) -> ChatResponse:
                nonlocal attempts
                attempts += 1
                t0 = time.perf_counter()
                out = client.models.generate_content(model=request.model, contents=contents, config=config)
                return self._parse(out, request.model, time.perf_counter() - t0, attempts, describe)

            try:
                response = self._run(call, describe)
            except ProviderError as err:
                if (round_ == 1 and has_files and err.status in (400, 403, 404)
                        and "file" in str(err).lower()):
                    self.forget()  # expired or deleted on the server: upload again, once
                    continue
                raise
            response.attempts = attempts
            return response
        raise AssertionError("unreachable")

    def _parse(self, out: Any, model: str, latency: float, attempts: int, describe: str) -> ChatResponse:
        try:
            raw = out.model_dump(mode="json", exclude_none=True)
        except Exception as err:  # noqa: BLE001
            raise MalformedResponseError(f"{describe}: unreadable answer ({type(err).__name__})",
                                         provider=self.name) from None
        raw.pop("sdk_http_response", None)
        usage = raw.get("usage_metadata") or {}
        block = _enum_name((raw.get("prompt_feedback") or {}).get("block_reason"))
        candidates = raw.get("candidates") or []
        common: dict[str, Any] = {
            "provider": self.name, "model": raw.get("model_version") or model, "latency": latency,
            "input_tokens": usage.get("prompt_token_count"), "output_tokens": usage.get("candidates_token_count"),
            "system_fingerprint": raw.get("model_version"), "raw": raw, "attempts": attempts}
        if not candidates:
            if block:
                return ChatResponse(text="", finish_reason=f"blocked:{block}", refusal=True, **common)
            raise MalformedResponseError(f"{describe}: the answer has no candidates", provider=self.name)
        cand = candidates[0]
        finish = _enum_name(cand.get("finish_reason"))
        parts = (cand.get("content") or {}).get("parts") or []
        text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and not p.get("thought"))
        refusal = finish in REFUSAL_REASONS or bool(block)
        return ChatResponse(text=text.strip(), finish_reason=finish, refusal=refusal, **common)
