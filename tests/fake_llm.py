"""Local HTTP servers on 127.0.0.1 speaking the Groq / OpenAI chat protocol and Gemini's (upload, poll, generate).

The real SDKs are the clients; nothing of vidqa is mocked. One :class:`FakeLLM` serves all three protocols:

- OpenAI-compatible chat: ``POST .../chat/completions`` (Groq's ``/openai/v1/...`` and plain ``/v1/...``), with
  ``x-ratelimit-*`` headers on every answer.
- Gemini: resumable upload (``POST /upload/{v}/files`` start -> ``x-goog-upload-url`` -> chunks with
  ``X-Goog-Upload-Command: upload, finalize``), ``GET /{v}/files/{id}`` (PROCESSING for ``processing_polls`` polls (0: ACTIVE at once),
  then ACTIVE, or FAILED with ``fail_processing``), ``POST /{v}/models/{model}:generateContent``.

Answers come from ``reply`` (a string, or a callable of (kind, request JSON) -> str); by default a JSON-schema
request gets the first enum value of its first property (``{"answer": "A"}``), anything else ``"OK"``.

Failures are scripted per route kind (``"chat"``, ``"generate"``, ``"upload"``, ``"poll"``) and used in order::

    with FakeLLM() as fake:
        fake.fail_next("chat", 429, headers={"retry-after": "2"})
        fake.fail_next("generate", 429, body=gemini_error(429, retry_delay="3s"))
        fake.malformed_next("chat")          # 200 with a truncated JSON body
        fake.slow_next("chat", 2.0)          # answer after 2 s (past a short client timeout)
        fake.refuse_next("generate")         # finishReason SAFETY (Gemini) / message.refusal (OpenAI)

Every request is kept in ``fake.requests`` (:class:`Recorded`: method, path, headers, json, size).
``fake.require_key`` makes requests without that key fail (401 for chat, 400 API_KEY_INVALID for Gemini).
``fake.expire_files()`` forgets every uploaded file (then GET answers 404, generate 403 naming the file).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FakeLLM", "Recorded", "gemini_error", "openai_error"]


@dataclass
class Recorded:
    kind: str
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    size: int = 0


@dataclass
class _Fault:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    malformed: bool = False
    delay: float = 0.0
    refusal: bool = False


def openai_error(status: int, message: str = "fake failure", code: str | None = None) -> str:
    """An OpenAI/Groq-style error body."""
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code or str(status)}})


def gemini_error(status: int, message: str = "fake failure", *, retry_delay: str | None = None,
                 state: str | None = None) -> str:
    """A Google API error body; ``retry_delay`` adds a ``google.rpc.RetryInfo`` detail (``"2s"``)."""
    names = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
             500: "INTERNAL", 503: "UNAVAILABLE"}
    details: list[dict[str, Any]] = [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
        {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests"}]}]
    if retry_delay is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay})
    return json.dumps({"error": {"code": status, "message": message, "status": state or names.get(status, "UNKNOWN"),
                                 "details": details}})


def _default_reply(kind: str, req: dict[str, Any]) -> str:
    schema = None
    if kind == "chat":
        fmt = req.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema")
        if fmt.get("type") == "json_object" and schema is None:
            return json.dumps({"answer": "A"})
    else:
        cfg = req.get("generationConfig") or req.get("generation_config") or {}
        schema = cfg.get("responseJsonSchema") or cfg.get("response_json_schema") or cfg.get("responseSchema")
    if isinstance(schema, dict):
        props = schema.get("properties") or {}
        for name, prop in props.items():
            enum = prop.get("enum") or prop.get("enum_")
            return json.dumps({name: enum[0] if enum else "x"})
    return "OK"


class FakeLLM:
    """The fake server in a thread. ``url`` is its root: Groq SDK ``base_url=url``; OpenAI SDK ``url + "/v1"``;
    google-genai ``HttpOptions(base_url=url)``."""

    def __init__(self, reply: str | Callable[[str, dict], str] | None = None, *, require_key: str | None = None,
                 processing_polls: int = 1, fail_processing: str | None = None):
        self.reply = reply
        self.require_key = require_key
        self.processing_polls = processing_polls
        self.fail_processing = fail_processing
        self.requests: list[Recorded] = []
        self.faults: dict[str, list[_Fault]] = {"chat": [], "generate": [], "upload": [], "poll": []}
        self.files: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: str | bytes, headers: dict[str, str] | None = None) -> None:
                data = body.encode() if isinstance(body, str) else body
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def _record(self, kind: str, body: bytes) -> Recorded:
                try:
                    parsed = json.loads(body) if body and kind != "upload-data" else None
                except ValueError:
                    parsed = None
                rec = Recorded(kind, self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                               parsed, len(body))
                with fake._lock:
                    fake.requests.append(rec)
                return rec

            def _fault(self, kind: str) -> _Fault | None:
                with fake._lock:
                    queue = fake.faults.get(kind)
                    return queue.pop(0) if queue else None

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                self._record("poll", b"")
                if "/files/" not in path:
                    self._send(404, gemini_error(404, f"unknown path {path}"))
                    return
                if not self._gemini_key_ok():
                    return
                fault = self._fault("poll")
                if fault is not None and self._apply(fault, "poll"):
                    return
                file_id = path.rsplit("/files/", 1)[1]
                with fake._lock:
                    f = fake.files.get(file_id)
                    if f is not None:
                        f["polls"] += 1
                        if f["state"] == "PROCESSING" and f["polls"] >= fake.processing_polls:
                            f["state"] = "FAILED" if fake.fail_processing else "ACTIVE"
                if f is None:
                    self._send(404, gemini_error(404, f"File {file_id} not found.", state="NOT_FOUND"))
                    return
                self._send(200, json.dumps(fake._file_json(file_id)))

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                body = self._body()
                if path.endswith("/chat/completions"):
                    self._chat(self._record("chat", body))
                elif path.startswith("/upload/") and path.endswith("/files"):
                    self._upload_start(self._record("upload", body))
                elif path.startswith("/upload-session/"):
                    self._upload_chunk(path.rsplit("/", 1)[1], body, self._record("upload-data", body))
                elif ":generateContent" in path:
                    self._generate(path, self._record("generate", body))
                else:
                    self._record("unknown", body)
                    self._send(404, openai_error(404, f"Unknown path {path}"))

            # --- shared fault handling ---------------------------------------------------------------------
            def _apply(self, fault: _Fault, kind: str) -> bool:
                """Act on a scripted fault; True when the request has been answered."""
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.malformed:
                    self._send(200, '{"choices": [{"index": 0, "message": {"role": "assis' if kind == "chat"
                               else '{"candidates": [{"content": {"parts": [{"te')
                    return True
                if fault.status != 200:
                    self._send(fault.status, fault.body or (openai_error(fault.status) if kind == "chat"
                                                            else gemini_error(fault.status)), fault.headers)
                    return True
                return False  # a delay or a refusal only: answer normally

            def _gemini_key_ok(self) -> bool:
                if fake.require_key is None:
                    return True
                if self.headers.get("x-goog-api-key") == fake.require_key:
                    return True
                self._send(400, json.dumps({"error": {"code": 400, "message": "API key not valid. Please pass a "
                                                      "valid API key.", "status": "INVALID_ARGUMENT", "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}))
                return False

            # --- OpenAI / Groq chat ------------------------------------------------------------------------
            def _chat(self, rec: Recorded) -> None:
                if fake.require_key is not None and rec.headers.get("authorization") != f"Bearer {fake.require_key}":
                    self._send(401, openai_error(401, "Invalid API Key", "invalid_api_key"))
                    return
                fault = self._fault("chat")
                if fault is not None and self._apply(fault, "chat"):
                    return
                req = rec.json or {}
                limits = {"x-ratelimit-limit-requests": "14400", "x-ratelimit-remaining-requests": "14399",
                          "x-ratelimit-reset-requests": "6s", "x-ratelimit-limit-tokens": "6000",
                          "x-ratelimit-remaining-tokens": "5990", "x-ratelimit-reset-tokens": "100ms"}
                if fault is not None and fault.refusal:
                    message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
                    finish = "stop"
                else:
                    message = {"role": "assistant", "content": fake._answer("chat", req)}
                    finish = "stop"
                self._send(200, json.dumps({
                    "id": "chatcmpl-" + uuid.uuid4().hex[:12], "object": "chat.completion",
                    "created": int(time.time()), "model": req.get("model", "fake"),
                    "system_fingerprint": "fp_fake_1",
                    "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
                }), limits)

            # --- Gemini ------------------------------------------------------------------------------------
            def _upload_start(self, rec: Recorded) -> None:
                if not self._gemini_key_ok():
                    return
                fault = self._fault("upload")
                if fault is not None and self._apply(fault, "upload"):
                    return
                meta = (rec.json or {}).get("file") or {}
                session = uuid.uuid4().hex
                with fake._lock:
                    fake.uploads[session] = {
                        "meta": meta, "data": bytearray(),
                        "mime": rec.headers.get("x-goog-upload-header-content-type") or meta.get("mime_type") or
                        meta.get("mimeType"),
                        "size": int(rec.headers.get("x-goog-upload-header-content-length") or 0)}
                self._send(200, "{}", {"x-goog-upload-url": f"{fake.url}/upload-session/{session}",
                                       "x-goog-upload-status": "active"})

            def _upload_chunk(self, session: str, body: bytes, rec: Recorded) -> None:
                command = rec.headers.get("x-goog-upload-command", "")
                with fake._lock:
                    up = fake.uploads.get(session)
                if up is None:
                    self._send(404, gemini_error(404, "unknown upload session"))
                    return
                offset = int(rec.headers.get("x-goog-upload-offset") or 0)
                if offset != len(up["data"]):
                    self._send(400, gemini_error(400, f"offset {offset} != {len(up['data'])}"))
                    return
                up["data"] += body
                if "finalize" not in command:
                    self._send(200, "", {"x-goog-upload-status": "active"})
                    return
                file_id = uuid.uuid4().hex[:12]
                with fake._lock:
                    fake.files[file_id] = {"data": bytes(up["data"]), "mime": up["mime"] or "video/mp4",
                                           "display_name": up["meta"].get("display_name") or
                                           up["meta"].get("displayName"), "polls": 0,
                                           "state": "PROCESSING" if fake.processing_polls > 0 else "ACTIVE"}
                self._send(200, json.dumps({"file": fake._file_json(file_id)}), {"x-goog-upload-status": "final"})

            def _generate(self, path: str, rec: Recorded) -> None:
                if not self._gemini_key_ok():
                    return
                fault = self._fault("generate")
                if fault is not None and self._apply(fault, "generate"):
                    return
                req = rec.json or {}
                for content in req.get("contents") or []:
                    for part in content.get("parts") or []:
                        fd = part.get("fileData") or part.get("file_data")
                        if not fd:
                            continue
                        uri = fd.get("fileUri") or fd.get("file_uri") or ""
                        file_id = uri.rsplit("/", 1)[-1]
                        with fake._lock:
                            f = fake.files.get(file_id)
                        if f is None:
                            self._send(403, gemini_error(403, f"You do not have permission to access the File "
                                                              f"{file_id} or it may not exist."))
                            return
                        if f["state"] != "ACTIVE":
                            self._send(400, gemini_error(400, f"The File {file_id} is not in an ACTIVE state and "
                                                              "usage is not allowed."))
                            return
                model = path.split("/models/", 1)[1].split(":", 1)[0]
                if fault is not None and fault.refusal:
                    candidate = {"content": {"parts": [], "role": "model"}, "finishReason": "SAFETY", "index": 0}
                else:
                    candidate = {"content": {"parts": [{"text": fake._answer("generate", req)}], "role": "model"},
                                 "finishReason": "STOP", "index": 0}
                self._send(200, json.dumps({
                    "candidates": [candidate],
                    "usageMetadata": {"promptTokenCount": 258, "candidatesTokenCount": 2, "totalTokenCount": 260},
                    "modelVersion": f"{model}-001", "responseId": uuid.uuid4().hex[:10]}))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # --- helpers -----------------------------------------------------------------------------------------------
    def _answer(self, kind: str, req: dict[str, Any]) -> str:
        if self.reply is None:
            return _default_reply(kind, req)
        return self.reply(kind, req) if callable(self.reply) else self.reply

    def _file_json(self, file_id: str) -> dict[str, Any]:
        f = self.files[file_id]
        out: dict[str, Any] = {
            "name": f"files/{file_id}", "displayName": f["display_name"], "mimeType": f["mime"],
            "sizeBytes": str(len(f["data"])), "createTime": "2025-01-01T00:00:00Z",
            "expirationTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 48 * 3600)),
            "uri": f"{self.url}/v1beta/files/{file_id}", "state": f["state"], "source": "UPLOADED"}
        if f["state"] == "FAILED":
            out["error"] = {"code": 400, "message": self.fail_processing}
        return out

    def of_kind(self, kind: str) -> list[Recorded]:
        """The recorded requests of one kind (``chat``, ``generate``, ``upload``, ``upload-data``, ``poll``)."""
        return [r for r in self.requests if r.kind == kind]

    def fail_next(self, kind: str, status: int, body: str | None = None, headers: dict[str, str] | None = None,
                  delay: float = 0.0) -> None:
        """The next ``kind`` request gets HTTP ``status`` (with ``body`` / ``headers``)."""
        self.faults[kind].append(_Fault(status=status, headers=headers or {}, body=body, delay=delay))

    def malformed_next(self, kind: str = "chat") -> None:
        """The next ``kind`` request gets 200 with a truncated JSON body."""
        self.faults[kind].append(_Fault(malformed=True))

    def slow_next(self, kind: str, seconds: float) -> None:
        """The next ``kind`` request is answered (normally) after ``seconds``."""
        self.faults[kind].append(_Fault(delay=seconds))

    def refuse_next(self, kind: str = "chat") -> None:
        """The next ``kind`` request is answered with a refusal."""
        self.faults[kind].append(_Fault(refusal=True))

    def expire_files(self) -> None:
        """Forget every uploaded file, as the Files API does after 48 h."""
        with self._lock:
            self.files.clear()

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
