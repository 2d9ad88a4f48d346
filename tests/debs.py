"""Fetch real media from Debian packages for tests (no install, no root needed for extraction).

``apt-get download PKG`` (through :func:`vidqa.testing.samples.apt_download`) puts ``PKG_*.deb`` in one cache shared with
:func:`vidqa.testing.samples.fetch_debian_files`, ``dpkg-deb -x`` unpacks it into the cache folder, and the unpacked root
is returned. Both steps are cached: a second call is a directory lookup. Safe for concurrent
callers (each extraction goes to a temporary folder that is renamed into place).

Example (pytest puts ``tests/`` on ``sys.path``; scripts add it themselves)::

    from debs import fetch_deb
    root = fetch_deb("tuxfootball", Path("tests/.cache/debs"))
    whistle = root / "usr/share/games/tuxfootball/sound/refwhistlelong.wav"
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["DEFAULT_CACHE", "DebUnavailable", "fetch_deb"]

DEFAULT_CACHE = Path(__file__).resolve().parent / ".cache" / "debs"


class DebUnavailable(RuntimeError):
    """The package could not be downloaded or unpacked (no apt, no network to the Debian mirror, unknown name)."""


DEB_CACHE = Path(__file__).resolve().parent / ".cache" / "debian" / "debs"
"""Where the ``.deb`` files are kept: shared with :func:`vidqa.testing.samples.fetch_debian_files` in the tests."""


def _download(pkg: str) -> Path:
    from vidqa.errors import DownloadError
    from vidqa.testing.samples import apt_download

    try:
        return apt_download(pkg, DEB_CACHE)
    except DownloadError as err:
        raise DebUnavailable(str(err)) from err


def fetch_deb(pkg: str, cache_dir: str | Path = DEFAULT_CACHE) -> Path:
    """Download Debian package ``pkg`` into ``cache_dir`` and return the root of its unpacked files.

    The returned folder mirrors the installed layout (``root / "usr/share/..."``). Raises
    :class:`DebUnavailable` when the package cannot be fetched.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    root = cache_dir / pkg
    if (root / ".complete").exists():
        return root
    deb = _download(pkg)
    tmp = Path(tempfile.mkdtemp(prefix=f".x-{pkg}-", dir=cache_dir))
    try:
        proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise DebUnavailable(f"dpkg-deb -x {deb.name} failed: {proc.stderr.strip()[-500:]}")
        (tmp / ".complete").write_text(deb.name)
        try:
            os.replace(tmp, root)  # atomic when root does not exist yet
        except OSError:
            if not (root / ".complete").exists():  # a half-made root from an older crash: replace it
                shutil.rmtree(root, ignore_errors=True)
                os.replace(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def deb_root(pkg: str) -> Path:
    """:func:`fetch_deb` into the shared test cache; a package the mirror does not deliver is a missing requirement
    (skipped on a developer machine, a failure under CI: see ``tests/needs.py``)."""
    from needs import missing

    try:
        return fetch_deb(pkg)
    except DebUnavailable as err:
        missing(f"Debian package {pkg} unavailable: {err}")
        raise  # not reached: missing() skips or fails
