"""Where vidqa keeps things, and the few settings read from the environment.

Everything is anchored on the database file: media, note recordings and caches live in folders next to it, and
the database stores paths relative to that folder, so a data folder can be moved or copied whole.

Environment variables (all optional):

``VIDQA_DB``
    Default database path (else ``./data/vidqa.db``).
``VIDQA_ALLOW_PRIVATE_URLS``
    ``1`` lets ingest fetch from loopback/private addresses (tests, LAN servers). Off by default.
``VIDQA_MAX_DOWNLOAD_BYTES``
    Size cap for downloads (default 20 GB).
``VIDQA_ALLOWED_ROOTS``
    ``os.pathsep``-separated folders that local paths must resolve inside (default: no restriction).
``GROQ_API_KEY`` / ``GEMINI_API_KEY``
    Read only when a remote backend is used; never stored or logged.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MAX_DOWNLOAD_BYTES = 20 * 1024**3


def default_db_path() -> Path:
    """The database used when none is named: ``$VIDQA_DB`` or ``./data/vidqa.db``."""
    return Path(os.environ.get("VIDQA_DB") or Path.cwd() / "data" / "vidqa.db")


def env_flag(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable (``1/true/yes/on``)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def max_download_bytes() -> int:
    """The download size cap in bytes (``$VIDQA_MAX_DOWNLOAD_BYTES``, default 20 GB)."""
    value = os.environ.get("VIDQA_MAX_DOWNLOAD_BYTES")
    if not value:
        return DEFAULT_MAX_DOWNLOAD_BYTES
    try:
        return int(value)
    except ValueError:
        from .errors import VidqaError

        raise VidqaError(f"VIDQA_MAX_DOWNLOAD_BYTES must be a whole number of bytes, not {value!r}.") from None


def allowed_roots() -> list[Path] | None:
    """Folders local sources must resolve inside, or ``None`` for no restriction."""
    value = os.environ.get("VIDQA_ALLOWED_ROOTS")
    if not value:
        return None
    return [Path(p).resolve() for p in value.split(os.pathsep) if p]


def package_root() -> Path:
    """The folder holding the ``vidqa`` package."""
    return Path(__file__).resolve().parent


def repo_root() -> Path | None:
    """The source checkout (the folder with ``pyproject.toml``) when running from one, else ``None``."""
    root = package_root().parent
    return root if (root / "pyproject.toml").exists() else None
