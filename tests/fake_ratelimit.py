"""An OpenAI-compatible chat server on 127.0.0.1 that enforces a request rate, as Groq's free tier does.

At most ``limit`` requests are accepted in any ``window`` seconds (a sliding window); a request over the limit gets
HTTP 429 with ``retry-after`` (seconds until the oldest accepted request leaves the window) and
``x-ratelimit-remaining-requests: 0``. Accepted requests are answered after ``latency`` seconds with the first enum
value of the JSON schema asked for (``{"answer": "A"}``). ``accepted`` / ``rejected`` count what happened.

Used by ``benchmarks/bench_evaluate.py`` and the limiter tests::

    with RateLimitedLLM(limit=100, window=10.0) as server:      # 600 requests per minute
        base_url = server.url + "/v1"
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from typing_extensions import Self

__all__ = ["RateLimitedLLM"]


class RateLimitedLLM:
    def __init__(self, *, limit: int, window: float = 60.0, latency: float = 0.0):
        self.limit, self.window, self.latency = int(limit), float(window), float(latency)
        self.accepted = 0
        self.rejected = 0
        self.first_accept: float | None = None
        self.last_accept: float | None = None
        self._times: deque[float] = deque()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict, headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                ok, wait, remaining = owner._admit()
                limits = {"x-ratelimit-limit-requests": str(owner.limit),
                          "x-ratelimit-remaining-requests": str(remaining),
                          "x-ratelimit-reset-requests": f"{wait:.3f}s"}
                if not ok:
                    self._send(429, {"error": {"message": "Rate limit reached for requests", "code": "rate_limit"}},
                               {**limits, "retry-after": f"{wait:.3f}"})
                    return
                if owner.latency:
                    time.sleep(owner.latency)
                schema = ((req.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
                enum = ((schema.get("properties") or {}).get("answer") or {}).get("enum") or ["A"]
                self._send(200, {"id": "rl", "object": "chat.completion", "model": req.get("model", "m"),
                                 "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                     "role": "assistant", "content": json.dumps({"answer": enum[0]})}}],
                                 "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}}, limits)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def _admit(self) -> tuple[bool, float, int]:
        with self._lock:
            now = time.monotonic()
            while self._times and now - self._times[0] >= self.window:
                self._times.popleft()
            if len(self._times) >= self.limit:
                self.rejected += 1
                return False, max(0.0, self.window - (now - self._times[0])), 0
            self._times.append(now)
            self.accepted += 1
            self.first_accept = self.first_accept if self.first_accept is not None else now
            self.last_accept = now
            wait = self.window - (now - self._times[0])
            return True, wait, self.limit - len(self._times)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
