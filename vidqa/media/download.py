"""Fetch media over HTTP(S) and from Google Drive, safely and resumably.

- Every request goes through :func:`vidqa.media.netguard.check_url`; redirects are followed by hand, one checked hop at
  a time, and the connection goes to the address that was checked.
- Bytes stream into ``<key>.part`` (with a ``<key>.part.json`` sidecar holding the announced size and validators);
  the file gets its real name only once complete. A dropped connection is retried with ``Range: bytes=N-`` and
  backoff; a server that ignores ``Range`` (200 reply) restarts the file from zero.
- The size is checked against ``Content-Length``/``Content-Range``; a server that lies about it raises
  :class:`DownloadError` and the partial file is deleted (only a clean truncation is kept for a later resume).
- A size cap (``settings().max_download_bytes``, ``$VIDQA_MAX_DOWNLOAD_BYTES``) aborts and deletes the partial file.
- Slow servers cannot hold an ingest forever (:class:`DownloadLimits`): no byte for ``stall_timeout`` seconds is a
  stall (retried, resuming; two stalls in a row fail), an average below ``min_rate`` bytes/s over ``rate_window``
  seconds fails at once ("too slow"), and an optional overall ``deadline`` bounds the whole download. Each failure
  says what happened and keeps the ``.part`` file, so the same command resumes.
- ``Retry-After`` on 429/503 is honoured (:func:`vidqa.providers.retry.parse_retry_after`, the one parser); a wait
  longer than :data:`MAX_RETRY_AFTER_S` fails at once with the server's wait in the message.
- HTML or text served where media was expected is never saved: both ``Content-Type`` and the first bytes
  (:func:`sniff_media`) are checked, raising :class:`NotMediaError`.

Example::

    from vidqa.media.download import download, download_drive
    result = download("https://example.org/clip.mp4", "downloads/")
    print(result.path, result.size, result.content_type)
    drive = download_drive("https://drive.google.com/file/d/FILE_ID/view?usp=sharing", "downloads/")
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import httpx

from vidqa.config import settings
from vidqa.errors import (
    DownloadError,
    DownloadTooLargeError,
    DriveError,
    NotMediaError,
)
from vidqa.media.drive import drive_hop_check, drive_next_url, is_file_response, is_text_type
from vidqa.media.netguard import PrivatePolicy, check_url, redact_url
from vidqa.media.probe import html_title as _html_title
from vidqa.media.probe import looks_like_html as _looks_like_html
from vidqa.media.probe import looks_like_text as _looks_like_text
from vidqa.media.probe import sniff_media
from vidqa.media.sources import Source, drive_link, parse_source
from vidqa.providers.retry import parse_retry_after

DRIVE_BASE = "https://drive.usercontent.google.com/download"
"""Where Drive files are downloaded from; override with ``base_url=`` or ``$VIDQA_DRIVE_BASE`` (tests)."""
ENV_DRIVE_BASE = "VIDQA_DRIVE_BASE"

CHUNK_SIZE = 256 * 1024
SNIFF_BYTES = 512
MAX_REDIRECTS = 10
RETRIES = 4
"""Retries after a dropped connection / 5xx (each resumes with ``Range``)."""
RETRY_BACKOFF_S = 0.5
"""First retry delay; doubles each retry (capped at 30 s)."""
TIMEOUT = httpx.Timeout(30.0, read=60.0)
STALL_TIMEOUT_S = 30.0
"""No byte for this long is a stall (the attempt is retried, resuming; two stalls in a row fail)."""
MIN_RATE_BPS = 4096.0
"""Average bytes/s below which a download is given up as too slow (measured over :data:`RATE_WINDOW_S`)."""
RATE_WINDOW_S = 60.0
MAX_RETRY_AFTER_S = 120.0
"""A server asking to wait longer than this (``Retry-After``) fails the download at once instead of sleeping."""
DRIVE_PAGE_LIMIT = 2 * 1024 * 1024
USER_AGENT = "Mozilla/5.0 (compatible; vidqa; +https://github.com/)"


_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class DownloadLimits:
    """How slow a server may be before a download is given up (every failure keeps the resumable ``.part``).

    ``stall_timeout``: seconds without a single byte (then retry; two stalls in a row fail). ``min_rate``: bytes/s
    the average over each ``rate_window`` seconds must reach (``0`` turns the rule off). ``deadline``: seconds for
    the whole download, retries included (``None``: no limit).

    Example::

        download(url, "cache", limits=DownloadLimits(min_rate=50_000, deadline=3600))
    """

    stall_timeout: float = STALL_TIMEOUT_S
    min_rate: float = MIN_RATE_BPS
    rate_window: float = RATE_WINDOW_S
    deadline: float | None = None


@dataclass
class DownloadResult:
    """A completed download."""

    path: Path
    size: int
    content_type: str | None
    final_url: str
    """The URL the bytes came from, after redirects (and Drive's confirm page)."""
    filename: str
    """The server's file name (Content-Disposition) or the URL's, sanitised."""
    resumed_from: int = 0
    """Bytes that were already on disk from an earlier attempt (0 for a fresh download)."""


# --------------------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------------------
def download(
    url: str,
    dest_dir: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    allow_private: PrivatePolicy = None,
    client: httpx.Client | None = None,
    progress: bool = True,
    headers: dict[str, str] | None = None,
    retries: int | None = None,
    limits: DownloadLimits | None = None,
) -> DownloadResult:
    """Download ``url`` into ``dest_dir`` and return where it went.

    ``max_bytes`` defaults to ``settings().max_download_bytes``; ``allow_private`` to
    ``$VIDQA_ALLOW_PRIVATE_URLS`` (see :mod:`vidqa.media.netguard`); ``retries`` to :data:`RETRIES`; ``limits`` to
    :class:`DownloadLimits()`. A partial download is resumed when the same URL is downloaded into the same folder
    again.

    Raises :class:`SourceNotAllowedError`, :class:`DownloadTooLargeError`, :class:`NotMediaError` or
    :class:`DownloadError`.

    Example::

        r = download("https://example.org/match.mp4", "cache/downloads", max_bytes=2 * 1024**3)
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    key = "dl-" + hashlib.sha256(url.encode()).hexdigest()[:16]
    with _Session(client, allow_private, headers) as session, _locked(dest / f"{key}.lock"):
        return _fetch(session, url, dest, key, max_bytes=max_bytes, progress=progress, retries=retries,
                      clock=_Clock(limits))


def download_drive(
    source: str | Source,
    dest_dir: str | os.PathLike[str],
    *,
    base_url: str | None = None,
    max_bytes: int | None = None,
    allow_private: PrivatePolicy = None,
    client: httpx.Client | None = None,
    progress: bool = True,
    headers: dict[str, str] | None = None,
    retries: int | None = None,
    limits: DownloadLimits | None = None,
) -> DownloadResult:
    """Download a Google Drive file shared with "Anyone with the link".

    Asks ``{base_url}?id=ID&export=download&confirm=t`` (plus ``resourcekey``), follows Drive's "can't scan this
    file for viruses" confirm page (form or old-style ``confirm=`` link / ``download_warning`` cookie), then streams
    the file like :func:`download`.

    Raises :class:`DriveQuotaError` ("Too many users have viewed or downloaded this file recently": no retry
    loop), :class:`DrivePermissionError` (private file: share it with "Anyone with the link"),
    :class:`DriveError` (not found, unknown page) and the errors of :func:`download`.

    Example::

        r = download_drive("https://drive.google.com/file/d/1AbC.../view?usp=sharing", "cache/downloads")
    """
    src = source if isinstance(source, Source) else parse_source(source)
    if src.kind != "drive" or not src.drive_id:
        raise DriveError(f"{redact_url(src.value)} is not a Google Drive file link.")
    base = base_url or settings().drive_base or DRIVE_BASE
    params = {"id": src.drive_id, "export": "download", "confirm": "t"}
    if src.resource_key:
        params["resourcekey"] = src.resource_key
    url = f"{base}?{urlencode(params)}"
    link = drive_link(src.drive_id)  # for messages: the resource key stays out of them
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    key = "drive-" + re.sub(r"[^A-Za-z0-9_-]", "_", src.drive_id)[:80]
    with _Session(client, allow_private, headers) as session, _locked(dest / f"{key}.lock"):
        seen: set[str] = set()
        clock = _Clock(limits)
        for _step in range(6):
            try:
                resp, final = session.open(url, on_hop=lambda u: drive_hop_check(u, link), timeout=clock.timeout())
            except (httpx.TransportError, _TooSlow) as err:
                raise DownloadError(f"Google Drive did not answer for {link}: {_describe(err, clock)}.") from err
            if is_file_response(resp):
                return _fetch(session, final, dest, key, max_bytes=max_bytes, progress=progress, retries=retries,
                              first=(resp, final), clock=clock)
            try:
                body = _read_limited(resp, DRIVE_PAGE_LIMIT)
            finally:
                resp.close()
            next_url = drive_next_url(body, resp.status_code, final, link, session.cookies_for(final))
            if next_url in seen:
                break
            seen.add(next_url)
            url = next_url
        raise DriveError(
            f"Google Drive kept asking to confirm the download of {link}. Open the link in a browser, download the"
            " file and ingest the local copy."
        )


def filename_from_disposition(value: str | None) -> str | None:
    """The file name in a ``Content-Disposition`` header (RFC 6266; ``filename*=UTF-8''...`` wins), sanitised.

    >>> filename_from_disposition("attachment; filename=\\"a.mp4\\"; filename*=UTF-8''%C3%A9t%C3%A9.mp4")
    'été.mp4'
    """
    if not value:
        return None
    ext = re.search(r"(?:^|;)\s*filename\*\s*=\s*(\"?)([^;\"]*)\1", value, re.I)
    if ext:
        raw = ext.group(2).strip()
        charset, _, rest = raw.partition("'")
        _lang, _, encoded = rest.partition("'")
        if not rest:  # not RFC 5987 shaped: take it as is
            charset, encoded = "utf-8", raw
        try:
            name = unquote(encoded, encoding=charset or "utf-8", errors="replace")
        except LookupError:
            name = unquote(encoded, encoding="utf-8", errors="replace")
        clean = safe_filename(name)
        if clean:
            return clean
    plain = re.search(r"(?:^|;)\s*filename\s*=\s*(\"((?:[^\"\\]|\\.)*)\"|[^;]*)", value, re.I)
    if plain:
        name = plain.group(2) if plain.group(2) is not None else plain.group(1)
        name = re.sub(r"\\(.)", r"\1", name.strip())
        # Many servers put raw UTF-8 (read as latin-1 by the HTTP layer) or %-escapes in filename=.
        with contextlib.suppress(UnicodeError):
            name = name.encode("latin-1").decode("utf-8")
        if "%" in name:
            name = unquote(name)
        return safe_filename(name)
    return None


def safe_filename(name: str, limit: int = 180) -> str | None:
    """``name`` reduced to a harmless base name (no folders, control or reserved characters), or ``None``."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "_", name).strip().strip(".").strip()
    if not name:
        return None
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: limit - len(ext) - 1] + "." + ext) if dot and len(ext) <= 8 else name[:limit]
    return name


# --------------------------------------------------------------------------------------------------------------
# HTTP session: guarded, pinned, manual redirects
# --------------------------------------------------------------------------------------------------------------
def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


class _Session:
    """An httpx client wrapper that checks every hop with netguard and connects to the checked address."""

    def __init__(self, client: httpx.Client | None, allow_private: PrivatePolicy, headers: dict[str, str] | None):
        self.own_client = client is None
        self.client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self.allow_private = allow_private
        self.headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity"}
        self.user_headers = dict(headers or {})
        """The caller's headers (e.g. Authorization): sent only to the origin of the URL they were given for."""
        self.cookies: dict[str, dict[str, str]] = {}  # domain -> name -> value

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.own_client:
            self.client.close()

    def cookies_for(self, url: str) -> dict[str, str]:
        host = (urlsplit(url).hostname or "").lower()
        out: dict[str, str] = {}
        for domain, jar in self.cookies.items():
            d = domain.lstrip(".")
            if host == d or host.endswith("." + d):
                out.update(jar)
        return out

    def open(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        on_hop: Callable[[str], None] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> tuple[httpx.Response, str]:
        """GET ``url`` (streaming), following redirects one checked hop at a time. Returns (response, final URL)."""
        origin = _origin(url)
        for _hop in range(MAX_REDIRECTS + 1):
            if on_hop is not None:
                on_hop(url)
            checked = check_url(url, allow_private=self.allow_private)
            target = httpx.URL(url)
            hdrs = dict(self.headers)
            if _origin(url) == origin:  # a redirect to another origin never gets the caller's credentials
                hdrs.update(self.user_headers)
                hdrs.update(headers or {})
            netloc = checked.host if ":" not in checked.host else f"[{checked.host}]"
            if target.port is not None:
                netloc += f":{target.port}"
            hdrs["Host"] = netloc
            jar = self.cookies_for(url)
            if jar:
                hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
            ext: dict[str, Any] = {}
            if checked.scheme == "https":
                ext["sni_hostname"] = checked.host
            # Connect to an address that was checked (no second DNS lookup); IPv4 first, next one on failure.
            addresses = sorted(checked.addresses, key=lambda a: a.version)
            for i, ip in enumerate(addresses):
                request = self.client.build_request("GET", target.copy_with(host=str(ip)), headers=hdrs,
                                                    extensions=ext, timeout=timeout or TIMEOUT)
                try:
                    resp = self.client.send(request, stream=True, follow_redirects=False)
                    break
                except httpx.ConnectError:
                    if i == len(addresses) - 1:
                        raise
            if self.own_client:
                self.client.cookies.clear()  # cookies are kept per real host in self.cookies
            self._keep_cookies(checked.host, resp)
            location = resp.headers.get("location")
            if resp.status_code in _REDIRECTS and location:
                resp.close()
                url = urljoin(url, location.strip())
                continue
            return resp, url
        raise DownloadError(f"Too many redirects (> {MAX_REDIRECTS}) starting from {redact_url(url)}.")

    def _keep_cookies(self, host: str, resp: httpx.Response) -> None:
        for header in resp.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(header)
            except CookieError:
                continue
            for name, morsel in jar.items():
                domain = (morsel["domain"] or host).lower()
                self.cookies.setdefault(domain, {})[name] = morsel.value


# --------------------------------------------------------------------------------------------------------------
# the streaming engine
# --------------------------------------------------------------------------------------------------------------
class _Truncated(Exception):
    """The body ended before the announced size (a clean truncation: resumable)."""


class _Lying(Exception):
    """The server's size claims contradict each other or what it sends (not resumable)."""


def _fetch(
    session: _Session,
    url: str,
    dest: Path,
    key: str,
    *,
    max_bytes: int | None,
    progress: bool,
    retries: int | None,
    first: tuple[httpx.Response, str] | None = None,
    clock: _Clock | None = None,
) -> DownloadResult:
    cap = max_bytes if max_bytes is not None else settings().max_download_bytes
    clock = clock or _Clock(None)
    retries = RETRIES if retries is None else retries
    part = dest / f"{key}.part"
    meta_path = dest / f"{key}.part.json"
    meta = _read_meta(meta_path) if part.exists() else {}
    if not part.exists():
        meta_path.unlink(missing_ok=True)
    resumed_from = part.stat().st_size if part.exists() else 0
    attempt = 0
    stalls = 0
    timeouts = 0
    info: dict[str, Any] = {}
    while True:
        offset = part.stat().st_size if part.exists() else 0
        try:
            if first is not None and offset == 0:
                resp, final = first
            else:
                if first is not None:
                    first[0].close()
                req_headers: dict[str, str] = {}
                if offset:
                    req_headers["Range"] = f"bytes={offset}-"
                    validator = meta.get("etag") if not str(meta.get("etag", "")).startswith("W/") else None
                    validator = validator or meta.get("last_modified")
                    if validator:
                        req_headers["If-Range"] = validator
                resp, final = session.open(url, headers=req_headers, timeout=clock.timeout())
            first = None
            with contextlib.closing(resp):
                info = _receive(resp, final, part, meta, meta_path, offset, cap, progress, clock)
            break
        except _Lying as err:
            _discard(part, meta_path)
            raise DownloadError(
                f"{redact_url(url)}: the server's size information is inconsistent ({err}); the partial file was"
                " deleted. The server may be serving a different or broken file: try again later."
            ) from None
        except _TooSlow as err:
            raise DownloadError(f"Downloading {redact_url(url)} was given up: {err}.{_kept(part)}") from None
        except (httpx.TransportError, _Truncated, _Retryable) as err:
            now_size = part.stat().st_size if part.exists() else 0
            stalls = stalls + 1 if now_size <= offset else 0
            timeouts = timeouts + 1 if now_size <= offset and isinstance(err, httpx.ReadTimeout) else 0
            attempt += 1
            why = _describe(err, clock)
            if isinstance(err, _Retryable) and err.retry_after is not None and err.retry_after > MAX_RETRY_AFTER_S:
                raise DownloadError(
                    f"Downloading {redact_url(url)} failed: {why}, and the server asks to wait"
                    f" {err.retry_after:.0f} s before trying again.{_kept(part, 'then run the same command again')}"
                ) from None
            if attempt > retries or stalls > 2 or timeouts >= 2:
                raise DownloadError(
                    f"Downloading {redact_url(url)} failed after {attempt} attempt(s): {why}.{_kept(part)}"
                ) from err
            delay = min(30.0, RETRY_BACKOFF_S * 2 ** (attempt - 1))
            if isinstance(err, _Retryable) and err.retry_after is not None:
                delay = max(delay, err.retry_after)
            left = clock.left()
            if left is not None and delay >= left:
                raise DownloadError(
                    f"Downloading {redact_url(url)} ran out of time: the deadline of {clock.limits.deadline:g} s"
                    f" would pass during the next retry ({why}).{_kept(part)}"
                ) from err
            time.sleep(delay)
        except BaseException:
            if first is not None:
                first[0].close()
            if not part.exists() or part.stat().st_size == 0:
                _discard(part, meta_path)  # nothing resumable: leave nothing behind
            raise

    size = part.stat().st_size
    name = info.get("filename") or _name_from_url(info.get("final_url", url)) or "download"
    sniffed = info.get("sniffed")
    if sniffed and Path(name).suffix.lower().lstrip(".") not in MEDIA_EXTENSIONS:
        name = f"{name}.{sniffed}"
    final_path = _claim(part, dest / name)
    meta_path.unlink(missing_ok=True)
    return DownloadResult(
        path=final_path,
        size=size,
        content_type=info.get("content_type"),
        final_url=info.get("final_url", url),
        filename=name,
        resumed_from=resumed_from,
    )


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class _TooSlow(Exception):
    """Below the minimum throughput, or past the deadline: not worth retrying."""


class _Clock:
    """One download's time limits (:class:`DownloadLimits`): the read timeout, the throughput window, the deadline."""

    def __init__(self, limits: DownloadLimits | None):
        self.limits = limits or DownloadLimits()
        if not self.limits.stall_timeout > 0:
            raise DownloadError(f"stall_timeout must be > 0 seconds, got {self.limits.stall_timeout!r}.")
        now = time.monotonic()
        self.deadline_at = now + self.limits.deadline if self.limits.deadline else None
        self.window_start = now
        self.window_bytes = 0

    def left(self) -> float | None:
        """Seconds before the deadline (``None``: no deadline)."""
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def timeout(self) -> httpx.Timeout:
        read = self.limits.stall_timeout
        left = self.left()
        if left is not None:
            if left <= 0:
                raise _TooSlow(self._deadline_text())
            read = min(read, left)
        return httpx.Timeout(min(30.0, read if left is not None else 30.0), read=read)

    def start(self) -> None:
        """A response began: the throughput window starts now."""
        self.window_start = time.monotonic()
        self.window_bytes = 0

    def got(self, n: int) -> None:
        """``n`` more bytes arrived; raises :class:`_TooSlow` when the average is too low or time is up."""
        now = time.monotonic()
        if self.deadline_at is not None and now > self.deadline_at:
            raise _TooSlow(self._deadline_text())
        self.window_bytes += n
        elapsed = now - self.window_start
        if self.limits.min_rate > 0 and elapsed >= self.limits.rate_window:
            rate = self.window_bytes / elapsed
            if rate < self.limits.min_rate:
                raise _TooSlow(
                    f"the server sent only {_human(self.window_bytes)} in {elapsed:.0f} s ({_human(int(rate))}/s),"
                    f" below the minimum of {_human(int(self.limits.min_rate))}/s; it is trickling bytes (lower the"
                    " limit with DownloadLimits(min_rate=...), 0 turns it off)"
                )
            self.window_start, self.window_bytes = now, 0

    def _deadline_text(self) -> str:
        return (f"the deadline of {self.limits.deadline:g} s for the whole download passed (raise it with"
                " DownloadLimits(deadline=...))")


def _kept(part: Path, then: str = "run the same command again to resume") -> str:
    """The sentence saying what a failed download keeps (an empty ``.part`` and its sidecar are deleted)."""
    size = part.stat().st_size if part.exists() else 0
    if size:
        return f" {size} bytes are kept in {part.name}: {then}."
    _discard(part, part.with_name(part.name + ".json"))
    return ""


def _receive(
    resp: httpx.Response,
    final: str,
    part: Path,
    meta: dict[str, Any],
    meta_path: Path,
    offset: int,
    cap: int,
    progress: bool,
    clock: _Clock,
) -> dict[str, Any]:
    """Stream one response into ``part``; returns what was learnt. Raises on anything incomplete or wrong."""
    clock.start()
    status = resp.status_code
    shown = redact_url(final)
    if status == 416 and offset:
        total = meta.get("total")
        cr_total = _content_range(resp.headers.get("content-range"))[2]
        if total is not None and offset == total:
            return _done_info(resp, final, meta, part)
        raise _Lying(
            f"it announced {total if total is not None else 'more'} bytes but cannot serve byte {offset}"
            + (f" (it now says the file has {cr_total} bytes)" if cr_total is not None else "")
        )
    if status in (408, 425, 429) or status >= 500:
        raise _Retryable(f"HTTP {status} {resp.reason_phrase}", parse_retry_after(resp.headers))
    if status >= 400:
        raise DownloadError(_http_error_message(status, resp.reason_phrase, shown))
    if status not in (200, 206):
        raise DownloadError(f"{shown} answered HTTP {status} {resp.reason_phrase}; expected the file (200).")

    content_type = resp.headers.get("content-type")
    length = _int(resp.headers.get("content-length"))
    mode = "ab"
    if status == 206:
        start, _end, cr_total = _content_range(resp.headers.get("content-range"))
        if start != offset:
            raise _Lying(f"asked for bytes from {offset}, got a range starting at {start}")
        total = cr_total if cr_total is not None else (offset + length if length is not None else None)
        if length is not None and cr_total is not None and offset + length != cr_total:
            raise _Lying(f"Content-Length {length} + offset {offset} != Content-Range total {cr_total}")
        if meta.get("total") is not None and total is not None and total != meta["total"]:
            raise _Lying(f"the file size changed from {meta['total']} to {total} bytes between attempts")
    else:
        if offset:  # the server ignored Range: start over
            part.write_bytes(b"")
            offset = 0
        mode = "wb"
        total = length
    if total is not None and total > cap:
        _discard(part, meta_path)
        raise DownloadTooLargeError(
            f"{shown} is {_human(total)}, over the download cap of {_human(cap)}. Raise it with max_bytes= or"
            " VIDQA_MAX_DOWNLOAD_BYTES, or download a shorter/smaller version."
        )
    filename = filename_from_disposition(resp.headers.get("content-disposition")) or meta.get("filename")
    encoded = resp.headers.get("content-encoding", "identity").lower() not in ("", "identity")
    if encoded:  # sizes on the wire are not file sizes: nothing to check against
        total = None

    from tqdm.auto import tqdm

    chunks: Iterator[bytes] = resp.iter_bytes()  # as the bytes arrive: a dropped connection keeps what came
    sniffed: str | None = None
    head = b""
    if offset == 0:
        # Look at the first bytes before anything is written.
        for chunk in chunks:
            clock.got(len(chunk))
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        sniffed = _check_media(head, content_type, shown)
    else:
        with open(part, "rb") as existing:
            sniffed = sniff_media(existing.read(SNIFF_BYTES))
        if is_text_type(content_type) and not sniffed:
            _discard(part, meta_path)
            raise NotMediaError(f"{shown} returned {content_type} for the rest of the file, not video data.")
    meta.update(
        {
            "url": redact_url(final, limit=None),  # for people looking at the folder; never the secret
            "total": total,
            "etag": resp.headers.get("etag"),
            "last_modified": resp.headers.get("last-modified"),
            "filename": filename,
            "content_type": content_type,
        }
    )
    _write_meta(meta_path, meta)

    written = offset
    with open(part, mode) as f, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
        desc=(filename or _name_from_url(final) or "download")[:40], disable=not progress, leave=False,
    ) as bar:
        written += _write(f, head, bar)
        if written > cap:
            _too_large(part, meta_path, shown, cap, f)
        for chunk in chunks:
            clock.got(len(chunk))
            written += _write(f, chunk, bar)
            if written > cap:
                _too_large(part, meta_path, shown, cap, f)
            if total is not None and written > total:
                f.close()
                raise _Lying(f"it sent more than the {total} bytes it announced")
    if total is not None and written < total:
        raise _Truncated(f"the connection ended after {written} of {total} bytes")
    if written == 0:
        _discard(part, meta_path)
        raise DownloadError(f"{shown} returned an empty file (0 bytes).")
    info = _done_info(resp, final, meta, part)
    info["sniffed"] = sniffed or info.get("sniffed")
    return info


def _done_info(resp: httpx.Response, final: str, meta: dict[str, Any], part: Path) -> dict[str, Any]:
    sniffed = None
    if part.exists():
        with open(part, "rb") as f:
            sniffed = sniff_media(f.read(SNIFF_BYTES))
    return {
        "final_url": final,
        "content_type": meta.get("content_type") or resp.headers.get("content-type"),
        "filename": meta.get("filename"),
        "sniffed": sniffed,
    }


def _write(f: IO[bytes], data: bytes, bar: Any) -> int:
    if data:
        f.write(data)
        bar.update(len(data))
    return len(data)


def _too_large(part: Path, meta_path: Path, shown: str, cap: int, f: IO[bytes]) -> None:
    f.close()
    _discard(part, meta_path)
    raise DownloadTooLargeError(
        f"{shown} is larger than the download cap of {_human(cap)}; the partial file was deleted. Raise the cap"
        " with max_bytes= or VIDQA_MAX_DOWNLOAD_BYTES."
    )


def _check_media(head: bytes, content_type: str | None, shown: str) -> str | None:
    """Refuse HTML/text where media was expected. Returns the sniffed extension (``None`` if unknown binary)."""
    sniffed = sniff_media(head)
    if sniffed:
        return sniffed
    texty = _looks_like_text(head)
    if texty or is_text_type(content_type):
        what = "an HTML page" if _looks_like_html(head) or "html" in (content_type or "") else "text"
        title = _html_title(head)
        raise NotMediaError(
            f"{shown} returned {what} (Content-Type: {content_type or 'none'})"
            + (f' titled "{title}"' if title else "")
            + ", not a video; nothing was saved. If this is a web page that plays the video, use the direct link"
            " to the video file (or download it in a browser and ingest the local file)."
        )
    return None


# --------------------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------------------
MEDIA_EXTENSIONS = {
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "wmv", "asf", "flv", "ts", "mts", "m2ts", "mpg", "mpeg", "3gp",
    "ogv", "ogg", "oga", "opus", "wav", "mp3", "m4a", "aac", "flac", "amr", "caf", "aiff", "rm", "vob", "mxf",
}


def _read_limited(resp: httpx.Response, limit: int) -> str:
    data = b""
    for chunk in resp.iter_bytes(CHUNK_SIZE):
        data += chunk
        if len(data) >= limit:
            break
    return data[:limit].decode(resp.encoding or "utf-8", "replace")


def _content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    m = re.match(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)", value or "")
    if m:
        return int(m.group(1)), int(m.group(2)), (int(m.group(3)) if m.group(3) != "*" else None)
    m = re.match(r"\s*bytes\s+\*/(\d+)", value or "")
    if m:
        return None, None, int(m.group(1))
    return None, None, None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _http_error_message(status: int, reason: str, shown: str) -> str:
    if status in (401, 403):
        return (f"{shown} refused access (HTTP {status} {reason}). The file needs a login or a signed link: share"
                " it publicly, or download it in a browser and ingest the local file.")
    if status in (404, 410):
        return f"{shown} was not found (HTTP {status} {reason}). Check the URL."
    return f"{shown} answered HTTP {status} {reason}."


def _describe(err: BaseException, clock: _Clock | None = None) -> str:
    if isinstance(err, httpx.ConnectTimeout):
        return "the server did not accept the connection in time (timeout)"
    if isinstance(err, httpx.TimeoutException):
        stall = f" for {clock.limits.stall_timeout:g} s" if clock is not None else ""
        return f"the server stalled: no data arrived{stall} (timeout)"
    if isinstance(err, httpx.ConnectError):
        return f"cannot connect ({err})"
    if isinstance(err, httpx.RemoteProtocolError):
        return f"the connection was dropped ({err})"
    return str(err) or type(err).__name__


def _name_from_url(url: str) -> str | None:
    path = urlsplit(url).path
    return safe_filename(unquote(path.rstrip("/").rsplit("/", 1)[-1])) if path else None


def _claim(part: Path, path: Path) -> Path:
    """Move ``part`` to ``path`` or the first free ``path (i)``, never over a file another process just put there.

    A hard link is created exclusively (it fails if the name exists), so two downloads that pick the same name
    cannot replace each other's file; where links are not supported, fall back to a checked rename.
    """
    candidate = path
    for i in range(1, 10_000):
        try:
            os.link(part, candidate)
        except FileExistsError:
            candidate = path.with_name(f"{path.stem} ({i}){path.suffix}")
            continue
        except OSError:  # no hard links on this file system
            candidate = _unique(candidate)
            os.replace(part, candidate)
            return candidate
        part.unlink()
        return candidate
    raise DownloadError(f"Too many files named like {path.name} in {path.parent}.")


def _unique(path: Path) -> Path:
    if not path.exists():
        return path
    stem, suffix = path.stem, path.suffix
    for i in range(1, 10_000):
        candidate = path.with_name(f"{stem} ({i}){suffix}")
        if not candidate.exists():
            return candidate
    raise DownloadError(f"Too many files named like {path.name} in {path.parent}.")


def _discard(part: Path, meta_path: Path) -> None:
    part.unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, path)


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """One downloader per target at a time (two processes must not append to the same .part)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise DownloadError(
                f"Another vidqa process is downloading the same file into {lock_path.parent}; wait for it to finish."
            ) from err
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                lock_path.unlink()


__all__ = [
    "DRIVE_BASE",
    "DownloadLimits",
    "DownloadResult",
    "MAX_RETRY_AFTER_S",
    "MEDIA_EXTENSIONS",
    "MIN_RATE_BPS",
    "RATE_WINDOW_S",
    "RETRIES",
    "STALL_TIMEOUT_S",
    "download",
    "download_drive",
    "filename_from_disposition",
    "safe_filename",
    "sniff_media",
]
