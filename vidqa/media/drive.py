"""Reading Google Drive's pages: the confirm form, the quota page, the sign-in page of a private file.

:func:`drive_next_url` turns an HTML page Drive answered with into the URL to ask next, or raises the
:class:`~vidqa.errors.DriveError` that page means (quota exhausted, file private). :mod:`vidqa.media.download`
follows those hops; this module only reads pages (no I/O).
"""

from __future__ import annotations

import contextlib
import html
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from vidqa.errors import DriveError, DrivePermissionError, DriveQuotaError
from vidqa.media.probe import html_title as _html_title

__all__ = ["DRIVE_QUOTA_SENTENCE", "drive_hop_check", "drive_next_url", "is_file_response", "is_text_type"]

DRIVE_QUOTA_SENTENCE = "Too many users have viewed or downloaded this file recently"
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml", "application/javascript")


def is_text_type(content_type: str | None) -> bool:
    """Whether a Content-Type names text (an HTML page, JSON ...), not media."""
    ct = (content_type or "").split(";")[0].strip().lower()
    return ct.startswith(_TEXT_TYPES)


def drive_hop_check(url: str, link: str) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "accounts.google.com" or "servicelogin" in parts.path.lower() or parts.path.startswith("/signin"):
        raise DrivePermissionError(_drive_private_message(link))


def _drive_private_message(link: str) -> str:
    return (
        f"Google Drive asks for a login to download {link}: the file is private. In Drive, right-click the file >"
        ' Share > General access: choose "Anyone with the link" (Viewer), then try again.'
    )


def is_file_response(resp: httpx.Response) -> bool:
    if resp.status_code not in (200, 206):
        return False
    disposition = resp.headers.get("content-disposition", "").lower()
    if "attachment" in disposition or "filename" in disposition:
        return True
    return not is_text_type(resp.headers.get("content-type"))


class _FormParser(HTMLParser):
    """Collects forms (action, method, hidden inputs) and links of a Drive page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self.links: list[str] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"id": a.get("id", ""), "action": a.get("action", ""), "method": a.get("method", "get"),
                          "inputs": {}}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            if a.get("type", "text").lower() in ("hidden", "text"):
                self._form["inputs"][a["name"]] = a.get("value", "")
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def drive_next_url(body: str, status: int, final: str, link: str, cookies: dict[str, str]) -> str:
    """The URL to ask next, from a Drive HTML page; raises the right DriveError when the page is a refusal."""
    low = body.lower()
    if DRIVE_QUOTA_SENTENCE.lower() in low or "quota exceeded" in low or "download quota" in low:
        raise DriveQuotaError(
            f"Google Drive refused {link}: \"{DRIVE_QUOTA_SENTENCE}.\" Drive lifts this limit within about 24"
            " hours. Meanwhile, make a copy of the file in your own Drive (right-click > Make a copy) and share the"
            " copy, or download it in a browser and ingest the local file."
        )
    parser = _FormParser()
    with contextlib.suppress(Exception):
        parser.feed(body)
    for form in parser.forms:
        inputs = form["inputs"]
        if form["id"] == "download-form" or ("id" in inputs and ("confirm" in inputs or "uuid" in inputs)):
            action = urljoin(final, html.unescape(form["action"]) or final)
            sep = "&" if urlsplit(action).query else "?"
            return action + (sep + urlencode(inputs) if inputs else "")
    for href in parser.links:
        h = html.unescape(href)
        if "confirm=" in h and ("export=download" in h or "/uc" in h or "/download" in h):
            return urljoin(final, h)
    m = re.search(r'"downloadUrl"\s*:\s*"([^"]+)"', body)
    if m:
        return m.group(1).encode().decode("unicode_escape")
    warning = next((v for k, v in cookies.items() if k.startswith("download_warning")), None)
    if warning and "confirm=" + warning not in final:
        parts = urlsplit(final)
        query = re.sub(r"(^|&)confirm=[^&]*", "", parts.query).lstrip("&")
        return parts._replace(query=(query + "&" if query else "") + f"confirm={warning}").geturl()
    if (
        status in (401, 403)
        or "you need access" in low
        or "request access" in low
        or "accounts.google.com" in low
        or ("sign in" in low and "google" in low)
    ):
        raise DrivePermissionError(_drive_private_message(link))
    if status == 404 or "does not exist" in low or "file not found" in low:
        raise DriveError(
            f"Google Drive says {link} does not exist. Check the link (copy it again with Share > Copy link); the"
            " file may have been deleted or moved to the bin."
        )
    sub = re.search(r'class="uc-error-subcaption"[^>]*>(.*?)<', body, re.S)
    detail = html.unescape(sub.group(1)).strip() if sub else (_html_title(body.encode()) or f"HTTP {status}")
    raise DriveError(
        f"Google Drive did not hand out {link} ({detail}). Open the link in a browser to see why; if it downloads"
        " there, save it and ingest the local file."
    )
