"""Every error vidqa raises on purpose.

All derive from :class:`VidqaError`, so callers (the CLI, the player widget, notebooks) can catch one class and
show ``str(err)``: each message says what went wrong and what to do about it, and never contains a secret.
"""

from __future__ import annotations

__all__ = ['VidqaError', 'StoreError', 'NotFoundError', 'IngestError', 'SourceNotAllowedError', 'DownloadError',
           'DownloadTooLargeError', 'NotMediaError', 'DriveError', 'DriveQuotaError', 'DrivePermissionError',
           'MediaError', 'EmptyMediaError', 'CorruptMediaError', 'NoVideoStreamError', 'ExportError', 'StageError',
           'ModelUnavailableError', 'TranscriptionError', 'ApiError', 'MissingKeyError']


class VidqaError(Exception):
    """Base class of vidqa's errors; the message is meant for the user."""


# --- store -----------------------------------------------------------------------------------------------------
class StoreError(VidqaError):
    """The database cannot be opened, migrated or written."""


class NotFoundError(VidqaError):
    """A video, note or other record named by the caller does not exist."""


# --- ingest: sources -------------------------------------------------------------------------------------------
class IngestError(VidqaError):
    """A source could not be ingested (nothing was saved)."""


class SourceNotAllowedError(IngestError):
    """A URL or path is outside what vidqa may read (private address, bad scheme, outside allowed roots)."""


class DownloadError(IngestError):
    """A download failed or returned something that is not the complete media file."""


class DownloadTooLargeError(DownloadError):
    """The download exceeded the configured size cap; the partial file was deleted."""


class NotMediaError(DownloadError):
    """The server returned HTML or another non-media payload where a video was expected."""


class DriveError(DownloadError):
    """Google Drive refused to hand out the file."""


class DriveQuotaError(DriveError):
    """Drive's download quota for the file is exhausted ("Too many users have viewed or downloaded ...")."""


class DrivePermissionError(DriveError):
    """The Drive file is private: it must be shared with "Anyone with the link"."""


# --- ingest: media ---------------------------------------------------------------------------------------------
class MediaError(IngestError):
    """The file is not usable media."""


class EmptyMediaError(MediaError):
    """Zero-byte file or zero duration."""


class CorruptMediaError(MediaError):
    """The container or stream cannot be decoded (e.g. truncated MP4, "moov atom not found")."""


class NoVideoStreamError(MediaError):
    """The file has no video stream."""


class ExportError(VidqaError, ValueError):
    """Notes could not be exported or imported (unknown format, unreadable file)."""


# --- stages ----------------------------------------------------------------------------------------------------
class StageError(VidqaError):
    """A processing stage failed."""


class ModelUnavailableError(StageError):
    """A model could not be loaded (not installed, or a name that would need a download while offline)."""


class TranscriptionError(StageError):
    """Speech could not be transcribed."""


class ApiError(VidqaError):
    """A remote API (Groq, Gemini, OpenAI-compatible) failed; ``status`` is the HTTP status when known."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class MissingKeyError(ApiError):
    """The API key environment variable is not set."""
