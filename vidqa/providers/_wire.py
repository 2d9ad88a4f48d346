"""The OpenAI chat-completions wire format shared by the groq, openai-compatible and local providers.

Private helpers: :func:`chat_body` turns a :class:`~vidqa.providers.base.ChatRequest` into the keyword arguments
of ``client.chat.completions.create``; :func:`parse_completion` turns the SDK's answer into a
:class:`~vidqa.providers.base.ChatResponse` (a garbled answer raises
:class:`~vidqa.providers.errors.MalformedResponseError`, which the retry policy retries); :func:`complete_chat` is
the one chat call of the SDK-based providers (checks, body, retries, error mapping, parsing).

Example::

    from vidqa.providers._wire import complete_chat
    response = complete_chat(request, provider="groq", caps=caps, policy=RetryPolicy(), client=provider.client,
                             describe=f"Groq chat ({request.model})")
"""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import Callable, Mapping
from typing import Any

from vidqa.providers.base import Capabilities, ChatRequest, ChatResponse, check_request
from vidqa.providers.errors import MalformedResponseError, ProviderError, UnsupportedInputError
from vidqa.providers.keys import scrub
from vidqa.providers.retry import RetryPolicy, classify_exception

__all__ = ["chat_body", "classify_sdk", "complete_chat", "image_size", "messages_for", "parse_completion",
           "request_bytes", "schema_instruction"]

_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3",
                  "audio/mp3": "mp3", "audio/flac": "flac", "audio/ogg": "ogg", "audio/webm": "webm"}


def schema_instruction(schema: dict) -> str:
    """The system-prompt sentence used where a server has JSON mode but no structured output."""
    return ("Answer with a single JSON object, and nothing else, that matches this JSON schema: "
            + json.dumps(schema, sort_keys=True, separators=(",", ":")))


def messages_for(request: ChatRequest, *, image_detail: str | None = None,
                 schema_in_prompt: bool = False) -> list[dict[str, Any]]:
    """OpenAI-style ``messages``: the system prompt, then one user message with the parts in order.

    A request with only text parts sends the user content as one string (every server takes that).
    """
    system = request.system
    if schema_in_prompt and request.json_schema is not None:
        system = (system + "\n\n" if system else "") + schema_instruction(request.json_schema)
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    if all(p.kind == "text" for p in request.parts):
        messages.append({"role": "user", "content": request.prompt_text()})
        return messages
    content: list[dict[str, Any]] = []
    for p in request.parts:
        if p.kind == "text":
            content.append({"type": "text", "text": p.text})
        elif p.kind == "image":
            url = f"data:{p.mime or 'image/jpeg'};base64,{base64.b64encode(p.data or b'').decode('ascii')}"
            image: dict[str, Any] = {"url": url}
            if image_detail:
                image["detail"] = image_detail
            content.append({"type": "image_url", "image_url": image})
        elif p.kind == "audio":
            fmt = _AUDIO_FORMATS.get((p.mime or "audio/wav").lower(), (p.mime or "wav").rsplit("/", 1)[-1])
            content.append({"type": "input_audio", "input_audio": {
                "data": base64.b64encode(p.data or b"").decode("ascii"), "format": fmt}})
        else:  # check_request refuses video for these providers before we get here
            raise UnsupportedInputError("Video parts cannot be sent in the OpenAI chat format: send frames and the "
                                        "window's audio instead.")
    messages.append({"role": "user", "content": content})
    return messages


def chat_body(request: ChatRequest, *, structured: bool, json_mode: bool = True, image_detail: str | None = None,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``chat.completions.create``.

    With a schema: ``structured`` sends ``response_format={"type": "json_schema", ...}``; otherwise ``json_mode``
    sends ``{"type": "json_object"}`` and puts the schema into the system prompt (or, without JSON mode, only the
    prompt asks for it).
    """
    schema = request.json_schema
    body: dict[str, Any] = {
        "model": request.model,
        "messages": messages_for(request, image_detail=image_detail,
                                 schema_in_prompt=schema is not None and not structured),
        "temperature": float(request.temperature),
        "max_tokens": int(request.max_tokens),
    }
    if request.seed is not None:
        body["seed"] = int(request.seed)
    if schema is not None:
        if structured:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "answer", "schema": schema, "strict": True}}
        elif json_mode:
            body["response_format"] = {"type": "json_object"}
    if extra:
        body.update(extra)
    return body


def request_bytes(body: dict[str, Any]) -> int:
    """The size of the JSON request body (what a server's request-size limit counts)."""
    return len(json.dumps(body, separators=(",", ":")).encode("utf-8"))


def _dump(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        try:
            data = dump(mode="json", exclude_unset=False)
        except TypeError:
            data = dump()
        if isinstance(data, dict):
            return data
    raise MalformedResponseError(f"the server's answer is not a JSON object ({type(obj).__name__}: "
                                 f"{scrub(str(obj))[:200]})")


def parse_completion(obj: Any, *, provider: str, model: str, latency: float, attempts: int,
                     describe: str) -> ChatResponse:
    """A :class:`ChatResponse` from a chat-completion object/dict; garbled shapes raise MalformedResponseError."""
    raw = _dump(obj)
    choices = raw.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedResponseError(f"{describe}: the answer has no choices: {scrub(json.dumps(raw))[:200]}",
                                     provider=provider)
    choice = choices[0]
    message = choice.get("message") or {}
    if not isinstance(message, dict):
        raise MalformedResponseError(f"{describe}: the answer's message is not an object", provider=provider)
    refusal_text = message.get("refusal")
    content = message.get("content")
    if isinstance(content, list):  # some servers answer with content parts
        content = "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    finish = choice.get("finish_reason")
    refusal = bool(refusal_text) or finish == "content_filter"
    text = str(content if content is not None else (refusal_text or ""))
    usage = raw.get("usage") or {}
    return ChatResponse(
        text=text.strip(),
        provider=provider,
        model=str(raw.get("model") or model),
        latency=float(latency),
        input_tokens=usage.get("prompt_tokens") if isinstance(usage, dict) else None,
        output_tokens=usage.get("completion_tokens") if isinstance(usage, dict) else None,
        finish_reason=finish,
        system_fingerprint=raw.get("system_fingerprint"),
        refusal=refusal,
        raw=raw,
        attempts=attempts,
    )


def classify_sdk(err: BaseException, *, describe: str, provider: str) -> ProviderError | None:
    """:func:`classify_exception` plus the SDKs' JSON decode failures (a garbled 2xx body: retried)."""
    if isinstance(err, (json.JSONDecodeError, UnicodeDecodeError)):
        return MalformedResponseError(f"{describe}: the server's answer is not valid JSON ({err})", provider=provider)
    mapped = classify_exception(err, describe=describe, provider=provider)
    if mapped is not None and mapped.provider is None:
        mapped.provider = provider
    return mapped



def complete_chat(
    request: ChatRequest,
    *,
    provider: str,
    caps: Capabilities,
    policy: RetryPolicy,
    client: Callable[[], Any],
    describe: str | Callable[[], str],
    image_detail: str | None = None,
    extra_body: Mapping[str, Any] | None = None,
    check: Callable[[ChatRequest], None] | None = None,
) -> ChatResponse:
    """One OpenAI-style chat completion through an SDK client (``groq``, ``openai``), retries included.

    In order: ``request`` is checked against ``caps`` (before encoding, then with the encoded body's size), the
    provider's own ``check`` runs, ``client()`` gives the SDK client (it may raise MissingKeyError), and
    ``client.chat.completions.create`` is called under ``policy`` (``extra_body`` passed as the SDK's
    ``extra_body``); SDK failures become ProviderErrors (:func:`classify_sdk`), the answer a :class:`ChatResponse`
    whose ``attempts`` counts the calls made. ``describe`` names the call in messages; a function is called once the
    client exists (e.g. a local server's URL, known once it runs).

    Example::

        complete_chat(request, provider="openai", caps=DEFAULT_CAPABILITIES, policy=RetryPolicy(),
                      client=lambda: openai.OpenAI(base_url=url, api_key="x", max_retries=0), describe="chat")
    """
    check_request(request, caps, provider=provider)  # before encoding: what the model cannot take at all
    body = chat_body(request, structured=caps.json_schema, image_detail=image_detail)
    check_request(request, caps, provider=provider, request_bytes=request_bytes(body))
    if check is not None:
        check(request)
    extra = dict(extra_body or {})
    sdk = client()
    what = describe() if callable(describe) else describe
    attempts = 0

    def call() -> ChatResponse:
        nonlocal attempts
        attempts += 1
        t0 = time.perf_counter()
        out = sdk.chat.completions.create(**body, **({"extra_body": extra} if extra else {}))
        return parse_completion(out, provider=provider, model=request.model, latency=time.perf_counter() - t0,
                                attempts=attempts, describe=what)

    response = policy.run(call, describe=what, classify=lambda err: classify_sdk(err, describe=what, provider=provider))
    response.attempts = attempts
    return response


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from PNG / JPEG / GIF / WebP headers, or ``None`` when unknown."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            w, h = struct.unpack(">II", data[16:24])
            return int(w), int(h)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return int(w), int(h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8X":
                w = int.from_bytes(data[24:27], "little") + 1
                h = int.from_bytes(data[27:30], "little") + 1
                return w, h
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return w & 0x3FFF, h & 0x3FFF
            if chunk == b"VP8L":
                b = data[21:25]
                w = 1 + (((b[1] & 0x3F) << 8) | b[0])
                h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
                return w, h
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                    i += 2
                    continue
                length = struct.unpack(">H", data[i + 2:i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", data[i + 5:i + 9])
                    return int(w), int(h)
                i += 2 + length
    except (struct.error, IndexError):
        return None
    return None
