"""Real HTTP servers on 127.0.0.1 (ephemeral ports, threads) that misbehave on purpose, for download tests.

- :class:`FlakyHost`: a file host with the classic failure modes (dropped connections, ignored ``Range``, HTML
  where video was expected, lying ``Content-Length``, redirects to private addresses, huge files).
- :class:`FakeDrive`: behaves like ``drive.usercontent.google.com/download`` (files, the large-file confirm form,
  the old ``confirm=TOKEN`` link + ``download_warning`` cookie, the quota page, login redirects, "You need access",
  resource keys).

Both are context managers and have pytest fixtures (:func:`flaky_host`, :func:`fake_drive`); import them into a
test module::

    from fake_servers import FakeDrive, FlakyHost, fake_drive, flaky_host  # noqa: F401

    def test_x(flaky_host):
        flaky_host.add("clip.mp4", data)
        url = flaky_host.url("/drop/clip.mp4")

Every request is logged in ``server.requests`` (method, path, headers) so tests can assert what was asked.
"""

from __future__ import annotations

import contextlib
import html
import secrets
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

DRIVE_QUOTA_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>
<div class="uc-main"><div id="uc-text"><p class="uc-error-caption">Sorry, you can't view or download this file at
this time.</p><p class="uc-error-subcaption">Too many users have viewed or downloaded this file recently. Please try
accessing the file again later. If the file you are trying to access is particularly large or is shared with many
people, it may take up to 24 hours to be able to view or download the file. If you still can't access a file after
24 hours, contact your domain administrator.</p></div></div></body></html>"""

DRIVE_NEED_ACCESS_PAGE = """<!DOCTYPE html><html><head><title>Google Drive: Sign-in</title></head><body>
<div><h1>You need access</h1><p>Request access, or switch to an account with access.</p>
<a href="https://accounts.google.com/ServiceLogin?service=wise">Switch account</a></div></body></html>"""

DRIVE_NOT_FOUND_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Error 404</title></head><body>
<p>Sorry, the file you have requested does not exist.</p></body></html>"""

LOGIN_PAGE = """<!DOCTYPE html><html><head><title>Sign in - Google Accounts</title></head><body>
<form action="/signin/v2"><input type="email" name="identifier"></form></body></html>"""

HTML_PAGE = """<!DOCTYPE html><html><head><title>Watch our match video</title></head><body>
<video src="/ok/real.mp4" controls></video><p>Enjoy!</p></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802
        self.server.owner._log(self)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.server.owner.handle(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FakeServer


class FakeServer:
    """Base class: a threaded ``http.server`` on 127.0.0.1 with an ephemeral port."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.closing = threading.Event()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()  # wakes handlers that stall on purpose
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def handle(self, h: _Handler) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def hits(self, prefix: str) -> list[dict[str, Any]]:
        """Logged requests whose path starts with ``prefix``."""
        return [r for r in self.requests if r["path"].startswith(prefix)]

    def _log(self, h: _Handler) -> None:
        with self._lock:
            self.requests.append({"method": h.command, "path": h.path, "headers": dict(h.headers.items())})

    # --- response helpers ------------------------------------------------------------------------------------
    @staticmethod
    def send_bytes(h: _Handler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        hdrs = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
        for k, v in hdrs.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
        h.close_connection = True

    @staticmethod
    def send_html(h: _Handler, status: int, page: str, headers: dict[str, str] | None = None) -> None:
        FakeServer.send_bytes(h, status, page.encode(), {"Content-Type": "text/html; charset=utf-8", **(headers or {})})

    @staticmethod
    def redirect(h: _Handler, location: str, status: int = 302) -> None:
        FakeServer.send_bytes(h, status, b"", {"Location": location})

    @staticmethod
    def abort(h: _Handler) -> None:
        """Drop the connection at once (no more bytes, no clean end)."""
        h.wfile.flush()
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def send_file(
        h: _Handler,
        data: bytes,
        *,
        content_type: str = "video/mp4",
        disposition: str | None = None,
        honor_range: bool = True,
        cut_at: int | None = None,
        etag: str | None = None,
        pace: tuple[int, float] | None = None,
        stall_at: int | None = None,
        closing: threading.Event | None = None,
    ) -> None:
        """Serve ``data`` (with ``Range`` support unless told otherwise); ``cut_at`` drops the connection after
        that many body bytes; ``pace=(n, s)`` sends ``n`` bytes every ``s`` seconds; ``stall_at`` sends that many
        body bytes and then nothing (the connection stays open until ``closing`` is set)."""
        total = len(data)
        start = 0
        rng = h.headers.get("Range")
        status = 200
        if honor_range and rng and rng.startswith("bytes="):
            first = rng[6:].split("-", 1)[0]
            start = int(first) if first else 0
            if start >= total:
                FakeServer.send_bytes(h, 416, b"", {"Content-Range": f"bytes */{total}"})
                return
            status = 206
        body = data[start:]
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes" if honor_range else "none")
        h.send_header("Connection", "close")
        if etag:
            h.send_header("ETag", etag)
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
        if disposition:
            h.send_header("Content-Disposition", disposition)
        h.end_headers()
        if cut_at is not None and cut_at < len(body):
            h.wfile.write(body[:cut_at])
            FakeServer.abort(h)
            return
        if stall_at is not None:
            h.wfile.write(body[:stall_at])
            h.wfile.flush()
            (closing or threading.Event()).wait(120)
            FakeServer.abort(h)
            return
        if pace is not None:
            n, delay = pace
            for i in range(0, len(body), n):
                h.wfile.write(body[i:i + n])
                h.wfile.flush()
                if (closing or threading.Event()).wait(delay):
                    return FakeServer.abort(h)
            h.close_connection = True
            return
        h.wfile.write(body)
        h.close_connection = True


class FlakyHost(FakeServer):
    """A file host with failure modes, chosen by the path prefix:

    ``/ok/NAME``         the file, Range supported (``dispositions[NAME]`` sets Content-Disposition)
    ``/drop/NAME``       the first ``drops`` requests send half of what was asked, then drop the connection
    ``/norange/NAME``    ignores Range (always 200 + whole file); the first request drops half-way
    ``/html/NAME``       an HTML page (text/html)
    ``/disguised/NAME``  an HTML page labelled ``video/mp4``
    ``/text/NAME``       plain text labelled ``application/octet-stream``
    ``/liar/NAME``       announces twice the real Content-Length, sends the real bytes, drops; Range past the end
                         gets 416
    ``/redirect?to=URL`` 302 to URL (``&n=K`` chains K redirects first)
    ``/slow/NAME``       the file (Range supported) in ``slow_chunk``-byte pieces every ``slow_delay`` seconds
    ``/trickle/NAME``    announces the whole file, then sends ``trickle_bytes`` every ``trickle_delay`` seconds
    ``/stall/NAME``      sends the first ``stall_after`` bytes (default half; none when resuming), then nothing,
                         without closing, until the server stops
    ``/busy/NAME``       the first ``busy`` requests get 503 with ``Retry-After: busy_retry_after``, then the file
    ``/huge``            announces ``huge_size`` bytes (MP4-looking zeros)
    ``/huge-nolength``   streams MP4-looking zeros without Content-Length until ``huge_size``
    ``/missing``         404
    """

    def __init__(self, drops: int = 1, huge_size: int = 64 * 1024 * 1024) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}
        self.dispositions: dict[str, str] = {}
        self.drops = drops
        self.huge_size = huge_size
        self._drop_count: dict[str, int] = {}
        self.slow_chunk, self.slow_delay = 16 * 1024, 0.05
        self.trickle_bytes, self.trickle_delay = 64, 0.1
        self.stall_after: int | None = None
        self.busy, self.busy_retry_after = 1, "1"
        self.misbehave = True
        """Set to False and ``/slow/`` ``/trickle/`` ``/stall/`` ``/busy/`` serve the file normally (resume tests)."""

    def add(self, name: str, data: bytes, disposition: str | None = None) -> str:
        """Serve ``data`` as ``NAME``; returns the ``/ok/`` URL."""
        self.files[name] = data
        if disposition:
            self.dispositions[name] = disposition
        return self.url(f"/ok/{quote(name)}")

    def handle(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        kind, _, name = path.lstrip("/").partition("/")
        data = self.files.get(name)
        if kind == "redirect":
            q = parse_qs(parts.query)
            n = int(q.get("n", ["0"])[0])
            if n > 0:
                return self.redirect(h, f"/redirect?to={quote(q['to'][0], safe='')}&n={n - 1}")
            return self.redirect(h, q["to"][0])
        if kind == "huge":
            return self._huge(h, with_length=True)
        if kind == "huge-nolength":
            return self._huge(h, with_length=False)
        if kind == "html":
            return self.send_html(h, 200, HTML_PAGE)
        if kind == "disguised":
            return self.send_bytes(h, 200, HTML_PAGE.encode(), {"Content-Type": "video/mp4"})
        if kind == "text":
            return self.send_bytes(h, 200, b"just some words, no video here\n" * 40,
                                   {"Content-Type": "application/octet-stream"})
        if data is None:
            return self.send_html(h, 404, "<html><head><title>404 Not Found</title></head></html>")
        if kind == "ok":
            return self.send_file(h, data, disposition=self.dispositions.get(name), etag=f'"{len(data)}"')
        if kind == "drop":
            with self._lock:
                n = self._drop_count.get(path, 0)
                self._drop_count[path] = n + 1
            if n < self.drops:
                rng = h.headers.get("Range", "bytes=0-")
                start = int(rng[6:].split("-")[0] or 0)
                return self.send_file(h, data, cut_at=(len(data) - start) // 2, etag=f'"{len(data)}"')
            return self.send_file(h, data, etag=f'"{len(data)}"')
        if kind in ("slow", "trickle", "stall", "busy") and not self.misbehave:
            return self.send_file(h, data, etag=f'"{len(data)}"')
        if kind in ("slow", "trickle"):
            chunk, delay = ((self.slow_chunk, self.slow_delay) if kind == "slow"
                            else (self.trickle_bytes, self.trickle_delay))
            return self.send_file(h, data, etag=f'"{len(data)}"', pace=(chunk, delay), closing=self.closing)
        if kind == "stall":
            resuming = bool(h.headers.get("Range"))
            at = 0 if resuming else (self.stall_after if self.stall_after is not None else len(data) // 2)
            return self.send_file(h, data, etag=f'"{len(data)}"', stall_at=at, closing=self.closing)
        if kind == "busy":
            with self._lock:
                n = self._drop_count.get(path, 0)
                self._drop_count[path] = n + 1
            if n < self.busy:
                return self.send_bytes(h, 503, b"busy", {"Retry-After": self.busy_retry_after,
                                                         "Content-Type": "text/plain"})
            return self.send_file(h, data, etag=f'"{len(data)}"')
        if kind == "norange":
            with self._lock:
                n = self._drop_count.get(path, 0)
                self._drop_count[path] = n + 1
            return self.send_file(h, data, honor_range=False, cut_at=len(data) // 2 if n == 0 else None)
        if kind == "liar":
            rng = h.headers.get("Range")
            if rng:
                start = int(rng[6:].split("-")[0] or 0)
                if start >= len(data):
                    return self.send_bytes(h, 416, b"", {"Content-Range": f"bytes */{len(data)}"})
            h.send_response(200)
            h.send_header("Content-Type", "video/mp4")
            h.send_header("Content-Length", str(2 * len(data)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(data)
            return self.abort(h)
        return self.send_html(h, 404, "<html><head><title>404 Not Found</title></head></html>")

    def _huge(self, h: _Handler, *, with_length: bool) -> None:
        head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
        h.send_response(200)
        h.send_header("Content-Type", "video/mp4")
        if with_length:
            h.send_header("Content-Length", str(self.huge_size))
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        sent = 0
        block = head + b"\x00" * (64 * 1024 - len(head))
        try:
            while sent < self.huge_size:
                chunk = block if sent == 0 else b"\x00" * len(block)
                chunk = chunk[: self.huge_size - sent]
                h.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass


@dataclass
class DriveFile:
    """A file on :class:`FakeDrive`."""

    data: bytes
    name: str
    large: bool = False
    """Needs the "can't scan for viruses" confirm form (the ``uuid`` it hands out)."""
    old_style: bool = False
    """Needs the old ``confirm=TOKEN`` link and its ``download_warning`` cookie."""
    quota: bool = False
    private: str | None = None
    """``"redirect"`` (to accounts.google.com), ``"local-login"`` (to /ServiceLogin here) or ``"403"``."""
    resource_key: str | None = None
    content_type: str = "video/mp4"
    uuid: str = field(default_factory=lambda: secrets.token_hex(8))
    token: str = field(default_factory=lambda: secrets.token_urlsafe(6))


class FakeDrive(FakeServer):
    """A stand-in for ``drive.usercontent.google.com``: point ``download_drive(base_url=drive.download_url)``
    (or ``$VIDQA_DRIVE_BASE``) at it."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, DriveFile] = {}

    def add(self, file_id: str, data: bytes, name: str = "video.mp4", **kw: Any) -> str:
        """Add a file; returns its share link (``https://drive.google.com/file/d/ID/view?usp=sharing``)."""
        f = DriveFile(data, name, **kw)
        self.files[file_id] = f
        link = f"https://drive.google.com/file/d/{file_id}/view?usp=sharing"
        return link + (f"&resourcekey={f.resource_key}" if f.resource_key else "")

    @property
    def download_url(self) -> str:
        return self.url("/download")

    def handle(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/ServiceLogin":
            return self.send_html(h, 200, LOGIN_PAGE)
        if parts.path not in ("/download", "/uc"):
            return self.send_html(h, 404, DRIVE_NOT_FOUND_PAGE)
        f = self.files.get(q.get("id", ""))
        if f is None:
            return self.send_html(h, 404, DRIVE_NOT_FOUND_PAGE)
        if f.quota:
            return self.send_html(h, 403, DRIVE_QUOTA_PAGE)
        if f.private == "redirect":
            return self.redirect(h, "https://accounts.google.com/ServiceLogin?service=wise&passive=1209600"
                                    f"&continue={quote(self.base + h.path, safe='')}")
        if f.private == "local-login":
            return self.redirect(h, "/ServiceLogin?continue=x")
        if f.private == "403":
            return self.send_html(h, 403, DRIVE_NEED_ACCESS_PAGE)
        if f.resource_key and q.get("resourcekey") != f.resource_key:
            return self.send_html(h, 403, DRIVE_NEED_ACCESS_PAGE)
        if f.large and q.get("uuid") != f.uuid:
            return self.send_html(h, 200, self._confirm_page(q["id"], f))
        if f.old_style:
            cookie = h.headers.get("Cookie", "")
            if q.get("confirm") != f.token or f"download_warning_13058_{q['id']}={f.token}" not in cookie:
                return self._old_confirm(h, q["id"], f)
        disposition = f"attachment; filename=\"{f.name.encode('ascii', 'replace').decode()}\"; " \
                      f"filename*=UTF-8''{quote(f.name)}"
        return self.send_file(h, f.data, content_type=f.content_type, disposition=disposition)

    def _confirm_page(self, file_id: str, f: DriveFile) -> str:
        inputs = {"id": file_id, "export": "download", "confirm": "t", "uuid": f.uuid}
        if f.resource_key:
            inputs["resourcekey"] = f.resource_key
        hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in inputs.items())
        size_mb = len(f.data) / 1e6
        return (
            "<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>"
            '<div class="uc-main"><div id="uc-text"><p class="uc-warning-caption">Google Drive can\'t scan this file'
            ' for viruses.</p><p class="uc-warning-subcaption"><span class="uc-name-size">'
            f'<a href="/open?id={file_id}">'
            f"{html.escape(f.name)}</a> ({size_mb:.1f}M)</span> is too large for Google to scan for viruses. Would you"
            ' still like to download this file?</p>'
            f'<form id="download-form" action="{self.download_url}" method="get">'
            '<input type="submit" id="uc-download-link" class="goog-inline-block jfk-button jfk-button-action"'
            f' value="Download anyway"/>{hidden}</form></div></div></body></html>'
        )

    def _old_confirm(self, h: _Handler, file_id: str, f: DriveFile) -> None:
        page = (
            "<html><head><title>Google Drive - Virus scan warning</title></head><body>"
            f'<a id="uc-download-link" href="/uc?export=download&amp;confirm={f.token}&amp;id={file_id}">'
            "Download anyway</a></body></html>"
        )
        self.send_html(h, 200, page, {"Set-Cookie": f"download_warning_13058_{file_id}={f.token}; Path=/; HttpOnly"})


@pytest.fixture
def flaky_host():
    with FlakyHost() as host:
        yield host


@pytest.fixture
def fake_drive():
    with FakeDrive() as drive:
        yield drive
