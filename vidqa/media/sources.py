"""Classify what the user handed to ``vidqa ingest``: a local path, an http(s) URL or a Google Drive link.

Example::

    >>> from vidqa.media.sources import parse_source
    >>> s = parse_source("https://drive.google.com/file/d/1AbC_dEfGhIj/view?usp=sharing")
    >>> (s.kind, s.drive_id, s.resource_key)
    ('drive', '1AbC_dEfGhIj', None)
    >>> parse_source("clips/match.mp4").kind
    'local'

Nothing here touches the network or the file system beyond expanding ``~``; :mod:`vidqa.media.netguard` decides
whether a source may be read.

:func:`source_key` is how a source is recorded and shown: secrets in URLs (``user:password@``, query values such as
signatures or tokens, fragments) never reach the database, a log line or the screen::

    >>> source_key(parse_source("https://bob:hunter2@cdn.example.org/v.mp4?token=abc")).split("#")[0]
    'https://***@cdn.example.org/v.mp4?token=…'
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from vidqa.errors import IngestError
from vidqa.media.netguard import redact_url

SourceKind = Literal["local", "url", "drive"]

DRIVE_HOSTS = frozenset({"drive.google.com", "docs.google.com", "drive.usercontent.google.com"})

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# Drive file ids are URL-safe base64-ish: letters, digits, '-' and '_' (usually 28-44 characters).
_DRIVE_ID = re.compile(r"^[A-Za-z0-9_\-]{10,}$")
# /file/d/ID/view, /file/u/0/d/ID/edit, /a/DOMAIN/file/d/ID; the ?id=ID forms (open, uc, download) use the query.
_DRIVE_PATH = re.compile(r"^(?:/a/[^/]+)?/file/(?:u/\d+/)?d/([^/]+)")


@dataclass(frozen=True)
class Source:
    """A classified source.

    ``value`` is the string to use: an absolute path (``~`` expanded) for ``local``, the URL otherwise.
    ``drive_id`` / ``resource_key`` are set for ``drive`` links.
    """

    kind: SourceKind
    value: str
    drive_id: str | None = None
    resource_key: str | None = None

    @property
    def label(self) -> str:
        """The source for messages and storage: :func:`source_key` (secrets hidden)."""
        return source_key(self)

    def __repr__(self) -> str:  # never print a URL's secrets, even in a traceback or a notebook cell
        return f"Source(kind={self.kind!r}, value={source_key(self)!r})"


def parse_source(s: str | os.PathLike[str]) -> Source:
    """Classify ``s`` as a local path, an http(s) URL or a Google Drive share link.

    Recognised Drive forms: ``drive.google.com/file/d/ID/view?usp=sharing`` (also ``/u/0/``, ``/edit``),
    ``drive.google.com/open?id=ID``, ``drive.google.com/uc?id=ID&export=download``, ``docs.google.com/uc?id=ID``,
    ``drive.usercontent.google.com/download?id=ID``, each optionally with ``resourcekey=KEY``.

    ``file://`` URLs become local paths. Other schemes are returned as ``url`` so that
    :func:`vidqa.media.netguard.check_url` refuses them with a clear message.

    >>> parse_source("https://drive.google.com/open?id=1AbCdEfGhIjK&resourcekey=0-xyz").resource_key
    '0-xyz'
    """
    if isinstance(s, os.PathLike):
        s = os.fspath(s)
    text = str(s).strip()
    if not text:
        raise IngestError("Empty source: give a file path, an http(s) URL or a Google Drive link.")
    m = _SCHEME.match(text)
    if not m:
        return Source("local", os.path.abspath(os.path.expanduser(text)))
    scheme = m.group(1).lower()
    if scheme == "file":
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise IngestError(f"Cannot read {redact_url(text)!r}: file:// URLs must name a local file (file:///path).")
        return Source("local", os.path.abspath(unquote(parts.path)))
    if scheme not in ("http", "https"):
        return Source("url", text)
    try:
        parts = urlsplit(text)
        parts.hostname  # noqa: B018 - parses the host: raises on a malformed IPv6 literal or port
        parts.port  # noqa: B018
    except ValueError as err:
        raise IngestError(f"Cannot read the URL {redact_url(text)!r}: {err}.") from None
    host = (parts.hostname or "").lower().rstrip(".")
    if host in DRIVE_HOSTS:
        drive_id, key = _drive_id(parts.path, parts.query)
        if drive_id is None:
            if "/folders/" in parts.path:
                raise IngestError(
                    f"{redact_url(text)} is a Google Drive folder: vidqa ingests single files. Open the folder, then use"
                    " each video's share link (Share > Copy link)."
                )
            raise IngestError(
                f"Could not find a file id in the Google Drive link {redact_url(text)}. Use the file's share link, like"
                " https://drive.google.com/file/d/FILE_ID/view?usp=sharing"
            )
        return Source("drive", text, drive_id=drive_id, resource_key=key)
    return Source("url", text)


SOURCE_HASH_SALT = b"vidqa-source-key-v1"
SOURCE_HASH_ROUNDS = 20_000


def source_key(source: Source | str) -> str:
    """How ``source`` is recorded in the store (``video_sources.source``) and shown in messages and the CLI.

    - local paths: the absolute path, unchanged;
    - Drive links: the canonical share link ``https://drive.google.com/file/d/ID/view`` (so ``?usp=sharing`` and
      friends are one source); a resource key is hidden (``?resourcekey=…``);
    - other URLs: :func:`~vidqa.media.netguard.redact_url` without length limit (no ``user:password@``, no query
      values, no fragment).

    Whenever something was hidden, ``#src=`` and 16 hex digits of a salted, slow hash (PBKDF2-SHA256) of the full
    URL follow, so two URLs that differ only in hidden parts stay two sources, and the same URL finds its video
    again without storing the secret.

    >>> source_key("https://example.org/clip.mp4")
    'https://example.org/clip.mp4'
    >>> source_key("https://drive.google.com/open?id=1AbCdEfGhIjK")
    'https://drive.google.com/file/d/1AbCdEfGhIjK/view'
    """
    src = source if isinstance(source, Source) else parse_source(source)
    if src.kind == "local":
        return src.value
    if src.kind == "drive" and src.drive_id:
        shown = drive_link(src.drive_id)
        if not src.resource_key:
            return shown
        return f"{shown}?resourcekey=…#src={_hash(src.drive_id + chr(10) + src.resource_key)}"
    shown = redact_url(src.value, limit=None)
    if shown == src.value:
        return shown
    return f"{shown}#src={_hash(src.value)}"


def _hash(secret: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8", "surrogatepass"), SOURCE_HASH_SALT,
                               SOURCE_HASH_ROUNDS, dklen=8).hex()


def drive_link(drive_id: str, resource_key: str | None = None) -> str:
    """The canonical share link of a Drive file (used to name the source in messages)."""
    link = f"https://drive.google.com/file/d/{drive_id}/view"
    return link + (f"?resourcekey={resource_key}" if resource_key else "")


def _drive_id(path: str, query: str) -> tuple[str | None, str | None]:
    q = parse_qs(query, keep_blank_values=False)
    key = (q.get("resourcekey") or [None])[0]
    candidates: list[str] = []
    m = _DRIVE_PATH.match(path)
    if m:
        candidates.append(unquote(m.group(1)))
    if "id" in q:
        candidates.extend(q["id"])
    for c in candidates:
        if _DRIVE_ID.match(c):
            return c, key
    return None, key


__all__ = [
    "DRIVE_HOSTS",
    "Source",
    "drive_link",
    "parse_source",
    "source_key",
]
