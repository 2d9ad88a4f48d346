"""Fetch real media from Debian packages for tests (no install, no root needed for extraction).

``apt-get download PKG`` puts ``PKG_*.deb`` in the cache folder, ``dpkg-deb -x`` unpacks it beside, and the
unpacked root is returned. Both steps are cached: a second call is a directory lookup. Safe for concurrent
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


_updated = False


def _download(pkg: str, cache_dir: Path) -> Path:
    global _updated
    existing = sorted(cache_dir.glob(f"{pkg}_*.deb"))
    if existing:
        return existing[-1]
    if shutil.which("apt-get") is None:
        raise DebUnavailable(f"apt-get is not available to download {pkg!r}")
    tmp = Path(tempfile.mkdtemp(prefix=f".dl-{pkg}-", dir=cache_dir))
    try:
        for attempt in range(2):
            proc = subprocess.run(["apt-get", "download", pkg], cwd=tmp, capture_output=True, text=True, check=False)
            if proc.returncode == 0:
                break
            if attempt == 0 and not _updated:
                # stale or empty package lists: refresh once per process, then retry
                subprocess.run(["apt-get", "update"], capture_output=True, text=True, check=False)
                _updated = True
                continue
            raise DebUnavailable(f"apt-get download {pkg} failed: {proc.stderr.strip()[-500:]}")
        debs = sorted(tmp.glob(f"{pkg}_*.deb"))
        if not debs:
            raise DebUnavailable(f"apt-get download {pkg} produced no .deb file")
        final = cache_dir / debs[-1].name
        os.replace(debs[-1], final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    deb = _download(pkg, cache_dir)
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
