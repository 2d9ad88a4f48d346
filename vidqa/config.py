"""Where vidqa keeps things, and every setting read from the environment, in one place.

Everything is anchored on the database file: media, note recordings and caches live in folders next to it, and
the database stores paths relative to that folder, so a data folder can be moved or copied whole.

:func:`settings` reads the environment once per call into a frozen :class:`Settings`; nothing in vidqa writes
the environment. API keys are *not* here: :mod:`vidqa.providers` looks them up by name when a remote provider is
used, so they never sit in an object that might be printed or pickled.

Environment variables (all optional):

``VIDQA_DB``                    default database path (else ``./data/vidqa.db``)
``VIDQA_ALLOW_PRIVATE_URLS``    ``1`` lets ingest fetch from loopback/private addresses (tests, LAN servers)
``VIDQA_MAX_DOWNLOAD_BYTES``    size cap for downloads (default 20 GB)
``VIDQA_ALLOWED_ROOTS``         ``os.pathsep``-separated folders local paths must resolve inside (default: any)
``VIDQA_DRIVE_BASE``            base URL of Google Drive (tests point it at a local server)
``VIDQA_SUMMARY_MODEL``         Groq chat model for note summaries
``VIDQA_CACHE_DIR``             where unpacked models live (default ``$XDG_CACHE_HOME/vidqa`` or ``~/.cache/vidqa``)
``GROQ_BASE_URL`` / ``GEMINI_BASE_URL`` / ``OPENAI_BASE_URL``   provider endpoints (tests, proxies)
``HF_HUB_OFFLINE``              honoured by the transcriber: only local model folders are used

Example::

    from vidqa.config import settings
    s = settings()
    print(s.db_path, s.max_download_bytes)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vidqa.errors import VidqaError

__all__ = ['DEFAULT_MAX_DOWNLOAD_BYTES', 'Settings', 'settings', 'default_db_path', 'locate_db',
           'package_root', 'repo_root', 'bundled_sample']

DEFAULT_MAX_DOWNLOAD_BYTES = 20 * 1024**3
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Every environment-derived setting of vidqa (read by :func:`settings`)."""

    db_path: Path
    allow_private_urls: bool = False
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    allowed_roots: tuple[Path, ...] | None = None
    drive_base: str | None = None
    summary_model: str | None = None
    cache_dir: Path = Path.home() / ".cache" / "vidqa"
    groq_base_url: str | None = None
    gemini_base_url: str | None = None
    openai_base_url: str | None = None
    hf_offline: bool = False


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise VidqaError(f"{name} must be 1/0 (or true/false), not {value!r}.")


def settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: ``os.environ``). Bad values raise :class:`VidqaError`."""
    env = os.environ if env is None else env
    cap = env.get("VIDQA_MAX_DOWNLOAD_BYTES", "").strip()
    try:
        max_bytes = int(cap) if cap else DEFAULT_MAX_DOWNLOAD_BYTES
    except ValueError:
        raise VidqaError(f"VIDQA_MAX_DOWNLOAD_BYTES must be a whole number of bytes, not {cap!r}.") from None
    roots = env.get("VIDQA_ALLOWED_ROOTS", "")
    cache = env.get("VIDQA_CACHE_DIR") or os.path.join(env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"),
                                                       "vidqa")
    return Settings(
        db_path=Path(env.get("VIDQA_DB") or Path.cwd() / "data" / "vidqa.db"),
        allow_private_urls=_flag(env, "VIDQA_ALLOW_PRIVATE_URLS"),
        max_download_bytes=max_bytes,
        allowed_roots=tuple(Path(p).resolve() for p in roots.split(os.pathsep) if p) or None,
        drive_base=env.get("VIDQA_DRIVE_BASE") or None,
        summary_model=env.get("VIDQA_SUMMARY_MODEL", "").strip() or None,
        cache_dir=Path(cache),
        groq_base_url=env.get("GROQ_BASE_URL") or None,
        gemini_base_url=env.get("GEMINI_BASE_URL") or env.get("GOOGLE_GEMINI_BASE_URL") or None,
        openai_base_url=env.get("OPENAI_BASE_URL") or None,
        hf_offline=env.get("HF_HUB_OFFLINE", "").strip().lower() not in _FALSE,
    )


def default_db_path() -> Path:
    """The database used when none is named: ``$VIDQA_DB`` or ``./data/vidqa.db``."""
    return settings().db_path


def locate_db(db: str | Path | None = None, *, must_exist: bool = True) -> Path:
    """The database a notebook or command means, found the same way wherever it runs.

    - ``db`` given: that path (relative to the current folder); if it is missing and ``must_exist``, a
      :class:`VidqaError` names the absolute path and the command that makes a database.
    - ``db`` is ``None``: ``$VIDQA_DB`` if set; else the first ``data/vidqa.db`` found in the current folder or a
      parent (so a notebook in ``notebooks/`` and a shell in the checkout's root find the same file); else the
      checkout's ``data/vidqa.db``, else ``./data/vidqa.db``.

    Example::

        from vidqa.config import locate_db
        locate_db()                      # .../data/vidqa.db, from the repo root or from notebooks/
    """
    if db is not None and str(db).strip():
        path = Path(db).expanduser()
    elif os.environ.get("VIDQA_DB"):
        path = Path(os.environ["VIDQA_DB"]).expanduser()
    else:
        here = Path.cwd().resolve()
        found = next((d / "data" / "vidqa.db" for d in (here, *here.parents) if (d / "data" / "vidqa.db").is_file()),
                     None)
        repo = repo_root()
        path = found or (repo / "data" / "vidqa.db" if repo else here / "data" / "vidqa.db")
    if must_exist and not path.is_file():
        raise VidqaError(
            f"No vidqa database at {path.resolve()}: make one with `vidqa ingest SOURCE --db {path}` "
            "(or `make demo`), or pass the right path."
        )
    return path


def package_root() -> Path:
    """The folder holding the ``vidqa`` package."""
    return Path(__file__).resolve().parent


def repo_root() -> Path | None:
    """The source checkout (the folder with ``pyproject.toml``) when running from one, else ``None``."""
    root = package_root().parent
    return root if (root / "pyproject.toml").exists() else None


def bundled_sample() -> Path:
    """The sample clip committed with the checkout (``data/samples/sample.mp4``).

    Example::

        from vidqa.config import bundled_sample
        bundled_sample().name     # 'sample.mp4'
    """
    root = repo_root()
    candidates = [root / "data" / "samples" / "sample.mp4"] if root else []
    here = Path.cwd().resolve()
    candidates += [d / "data" / "samples" / "sample.mp4" for d in (here, *here.parents)]
    for c in candidates:
        if c.is_file():
            return c
    raise VidqaError("The bundled sample data/samples/sample.mp4 is missing: run `vidqa sample --out data/samples` "
                     "to regenerate it.")
