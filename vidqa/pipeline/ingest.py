"""Ingest: a local path, URL or Google Drive link becomes a stored, probed :class:`~vidqa.records.Video`.

Flow (:func:`ingest`): sweep what killed ingests left behind (:func:`sweep_leftovers`) -> classify the source ->
a source seen before is a cheap lookup (a local file only while its size, mtime, ctime and inode are unchanged; a
changed file is hashed again and, with new bytes, becomes a new video with a warning saying so) -> check/download it
(:func:`fetch`) -> sha256 -> if the store has those bytes already, only record the new source ->
:func:`~vidqa.media.probe.probe` (which refuses truncated and non-media files) -> copy/move into the
content-addressed ``media/<sha256>.<ext>`` -> 16 kHz mono WAV ``media/<sha256>.16k.wav`` (:func:`extract_wav`) ->
H.264 proxy ``media/<sha256>.proxy.mp4`` when browsers need one -> one ``store.add_video`` transaction.

Sources are recorded and shown as :func:`~vidqa.media.sources.source_key` gives them: a URL's ``user:password@``,
query values and fragment never reach the database or a message. What a local file looked like when it was hashed
is kept in ``cache/sources/`` (delete it freely: files are then hashed once more).

While files for a sha256 are being made, the ingest holds ``media/.<sha256>.lock``; the sweep removes temp files of
processes that no longer exist and ``<sha256>.*`` files of no stored video whose lock is free, so a ``kill -9`` at
any point leaves nothing that outlives the next ingest (a download's ``.part`` is kept on purpose: it resumes).

The pure steps (:func:`fetch`, :func:`file_sha256`, :func:`~vidqa.media.probe.probe`, :func:`extract_wav`,
:func:`~vidqa.media.proxy.make_proxy`) write only their own output files, so they can run in worker processes;
:func:`ingest` is the glue that writes the database. A failure leaves nothing behind: no row, no media file (a
cleanly truncated download keeps its ``.part`` in ``cache/downloads`` so the next attempt resumes).

Example::

    from vidqa.store import open_store
    from vidqa.pipeline.ingest import ingest
    store = open_store("data/vidqa.db")
    video = ingest("https://drive.google.com/file/d/FILE_ID/view?usp=sharing", store)
    print(video.id, video.duration, video.play_path, video.warnings)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidqa.errors import IngestError, MediaError, VidqaError
from vidqa.media import proxy as _proxy
from vidqa.media.audio import SAMPLE_RATE, decode_audio, write_wav
from vidqa.media.download import MEDIA_EXTENSIONS, DownloadLimits, download, download_drive
from vidqa.media.netguard import PrivatePolicy, check_local_path
from vidqa.media.probe import probe
from vidqa.media.sources import Source, parse_source, source_key
from vidqa.records import MediaFile, Probe, Video
from vidqa.store import Store, open_store

MIN_AUDIO_COVERAGE = 0.95
"""Below this fraction of the video's duration, decoded audio gets a warning."""
STALE_DOWNLOAD_S = 3600.0
"""A finished download still in ``cache/downloads`` after this long belongs to a killed ingest (it is deleted)."""

_MIME = {
    "mp4": "video/mp4", "m4v": "video/mp4", "mov": "video/quicktime", "webm": "video/webm",
    "mkv": "video/x-matroska", "avi": "video/x-msvideo", "ts": "video/mp2t", "mpg": "video/mpeg",
    "ogv": "video/ogg", "ogg": "video/ogg", "flv": "video/x-flv", "wmv": "video/x-ms-wmv", "3gp": "video/3gpp",
}
_EXT_FROM_CONTAINER = {"mp4": "mp4", "mov": "mov", "webm": "webm", "matroska": "mkv", "avi": "avi", "mpegts": "ts",
                       "ogg": "ogv", "flv": "flv", "asf": "wmv", "mpeg": "mpg"}


@dataclass
class Fetched:
    """A source made local: where its bytes are and where they came from."""

    path: Path
    source: Source
    filename: str
    """Name to show (server's file name for downloads, base name for local files)."""
    downloaded: bool
    """True when ``path`` is a download (ingest may move it); False for the user's own file (copied, never moved)."""
    content_type: str | None = None


@dataclass
class AudioResult:
    path: Path
    track: int
    codec: str
    seconds: float
    """Decoded audio seconds (without the leading silence added to align a late-starting track)."""
    coverage: float
    start_offset: float
    warning: str | None = None


@dataclass
class IngestOutcome:
    """One source's result in :func:`ingest_many`."""

    source: str
    video: Video | None = None
    error: VidqaError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Created:
    paths: list[Path] = field(default_factory=list)

    def add(self, p: Path, existed: bool) -> None:
        if not existed:
            self.paths.append(p)

    def remove_all(self) -> None:
        for p in self.paths:
            with contextlib.suppress(OSError):
                p.unlink()


# --------------------------------------------------------------------------------------------------------------
# pure steps
# --------------------------------------------------------------------------------------------------------------
def canonical_source(source: str | os.PathLike[str] | Source) -> Source:
    """The :class:`Source` for ``source`` (local paths made absolute, so the same file is one source)."""
    return source if isinstance(source, Source) else parse_source(source)


def fetch(
    source: str | os.PathLike[str] | Source,
    dest_dir: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    allow_private: PrivatePolicy = None,
    progress: bool = True,
    limits: DownloadLimits | None = None,
) -> Fetched:
    """Make ``source`` local: check a path against the allowed roots, or download a URL / Drive file into
    ``dest_dir`` (``limits``: how slow a server may be, :class:`~vidqa.media.download.DownloadLimits`). Raises the
    errors of :mod:`vidqa.media.netguard` and :mod:`vidqa.media.download`.

    >>> fetch("clips/a.mp4", "cache/downloads").downloaded  # doctest: +SKIP
    False
    """
    src = canonical_source(source)
    if src.kind == "local":
        real = check_local_path(src.value)
        return Fetched(real, src, Path(src.value).name, downloaded=False)
    if src.kind == "drive":
        r = download_drive(src, dest_dir, max_bytes=max_bytes, allow_private=allow_private, progress=progress,
                           limits=limits)
    else:
        r = download(src.value, dest_dir, max_bytes=max_bytes, allow_private=allow_private, progress=progress,
                     limits=limits)
    return Fetched(r.path, src, r.filename, downloaded=True, content_type=r.content_type)


def file_sha256(path: str | os.PathLike[str], chunk: int = 1024 * 1024) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def extract_wav(path: str | os.PathLike[str], dest: str | os.PathLike[str], probe_: Probe) -> AudioResult:
    """Decode the first decodable audio track of ``path`` to a 16 kHz mono WAV at ``dest`` (temp, then rename).

    A track that starts late is padded with leading silence so WAV time equals media time. ``coverage`` is
    decoded audio seconds / video duration; below :data:`MIN_AUDIO_COVERAGE` the result carries a warning.
    Raises :class:`MediaError` when no track decodes.
    """
    dest = Path(dest)
    errors: list[str] = []
    for track in range(max(1, probe_.audio_tracks)):
        try:
            audio = decode_audio(path, track=track)
        except MediaError as err:
            errors.append(str(err))
            continue
        if len(audio.samples) == 0:
            errors.append(f"track {track} decoded to no samples")
            continue
        lead = int(round(audio.start_time * SAMPLE_RATE))
        samples = np.concatenate([np.zeros(lead, np.float32), audio.samples]) if lead > 0 else audio.samples
        limit = int(round(probe_.duration * SAMPLE_RATE)) + SAMPLE_RATE  # never longer than the video + 1 s
        samples = samples[:limit]
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            write_wav(tmp, samples, SAMPLE_RATE)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        coverage = audio.duration / probe_.duration if probe_.duration > 0 else 0.0
        warning = None
        if coverage < MIN_AUDIO_COVERAGE:
            warning = (
                f"Audio covers only {coverage:.0%} of the video ({audio.duration:.1f} s of {probe_.duration:.1f} s):"
                " audio-based questions near the gaps will be unreliable."
            )
        return AudioResult(dest, track, audio.codec, audio.duration, min(coverage, 1.0), audio.start_time, warning)
    raise MediaError(f"No audio track of {Path(path).name} could be decoded: {'; '.join(errors)}")


# --------------------------------------------------------------------------------------------------------------
# glue
# --------------------------------------------------------------------------------------------------------------
def ingest(
    source: str | os.PathLike[str] | Source,
    store: Store | None = None,
    *,
    title: str | None = None,
    make_proxy: bool = True,
    extract_audio: bool = True,
    max_bytes: int | None = None,
    allow_private: PrivatePolicy = None,
    progress: bool = True,
    limits: DownloadLimits | None = None,
) -> Video:
    """Ingest one source into ``store`` (default: :func:`vidqa.store.open_store`) and return its :class:`Video`.

    The same bytes ingested twice (from any sources) are one video. A URL or Drive link ingested before is not
    downloaded again. A local path ingested before is a cheap lookup while the file is unchanged (same size, mtime,
    ctime and inode); when any of those changed it is hashed again, and new bytes become a new video whose
    ``warnings`` say the file was replaced (the old video and its notes stay). ``title`` defaults to the file
    name. Warnings (replaced file, no audio track, partial audio, proxy failure) go to ``Video.warnings`` and
    :func:`warnings.warn`. ``limits`` bounds slow downloads (:class:`~vidqa.media.download.DownloadLimits`).

    Raises :class:`vidqa.errors.IngestError` subclasses; nothing is left behind on failure.

    >>> video = ingest("clips/match.mp4", open_store("data/vidqa.db"))  # doctest: +SKIP
    """
    store = store if store is not None else open_store()
    src = canonical_source(source)
    key = source_key(src)
    with contextlib.suppress(OSError):
        sweep_leftovers(store)

    replaced: Video | None = None
    sha: str | None = None
    stat0: os.stat_result | None = None
    known = store.find_video(key) or (store.find_video(src.value) if key != src.value else None)
    if known is not None:
        if src.kind != "local":
            return known
        if not os.path.lexists(src.value):
            note = (f"{src.value} no longer exists: this is the copy ingested from it before (video {known.id}).")
            warnings.warn(note, stacklevel=2)
            known.warnings = [note, *known.warnings]
            return known
        real = check_local_path(src.value)
        stat0 = real.stat()
        if _unchanged(store, key, known, stat0):
            return known
        sha = file_sha256(real)
        if sha == known.sha256:
            _remember(store, key, stat0, sha)
            return known
        replaced = known

    downloads = store.cache_dir / "downloads"
    fetched = fetch(src, downloads, max_bytes=max_bytes, allow_private=allow_private, progress=progress,
                    limits=limits)
    created = _Created()
    try:
        if not fetched.downloaded and stat0 is None:
            stat0 = fetched.path.stat()
        if sha is None:
            sha = file_sha256(fetched.path)
        notes: list[str] = []
        if replaced is not None:
            notes.append(
                f"{src.value} changed since it was ingested as video {replaced.id}: its new content was ingested as"
                f" video {sha[:12]}. Video {replaced.id} and its notes are kept; the path now names the new one."
            )
        store.media_dir.mkdir(parents=True, exist_ok=True)
        with _ShaLock(store.media_dir, sha):
            existing = store.find_video(sha)
            if existing is not None:
                video = store.add_video(existing, source=key, source_kind=src.kind)
                _drop_download(fetched)
                if not fetched.downloaded:
                    _remember(store, key, stat0, sha)
                for note in notes:
                    warnings.warn(f"{fetched.filename}: {note}", stacklevel=2)
                video.warnings = [*notes, *video.warnings]
                return video
            video, media = _make_files(store, fetched, sha, info=probe(fetched.path), title=title, notes=notes,
                                       make_proxy=make_proxy, extract_audio=extract_audio, progress=progress,
                                       created=created, stat0=stat0)
            for note in notes:
                warnings.warn(f"{fetched.filename}: {note}", stacklevel=2)
            stored = store.add_video(video, media, source=key, source_kind=src.kind)
        if not fetched.downloaded:
            _remember(store, key, stat0, sha)
        return stored
    except BaseException:
        created.remove_all()
        _drop_download(fetched)
        raise


def known_video(store: Store, source: str | os.PathLike[str] | Source) -> Video | None:
    """The stored video ``source`` names *as it is now*, or ``None`` (then :func:`ingest` it).

    A stored id or sha256 is taken as is; a URL or Drive link by its :func:`~vidqa.media.sources.source_key`; a
    local path only while the file is unchanged since it was ingested (size, mtime, ctime, inode), so a replaced
    file is never served as its old content. Cheap: no hashing, no network.

    >>> known_video(store, "clips/match.mp4")  # doctest: +SKIP
    """
    text = os.fspath(source) if isinstance(source, os.PathLike) else source
    if isinstance(text, str):
        by_id = store.find_video(text)
        if by_id is not None and text in (by_id.id, by_id.sha256):
            return by_id
    src = canonical_source(text)
    key = source_key(src)
    known = store.find_video(key) or (store.find_video(src.value) if key != src.value else None)
    if known is None or src.kind != "local":
        return known
    try:
        st = os.stat(os.path.realpath(src.value))
    except OSError:
        return None
    return known if _unchanged(store, key, known, st) else None


def _shas_of_the_data_folder(store: Store) -> set[str] | None:
    """Every sha256 stored by any vidqa database in the store's folder (they share ``media/``), or ``None`` when one
    of them cannot be read (then no media file counts as an orphan: nothing is deleted that might be in use)."""
    import sqlite3

    shas = {v.sha256 for v in store.videos()}
    for other in store.root.glob("*.db"):
        if other.resolve() == store.path.resolve():
            continue
        try:
            conn = sqlite3.connect(f"file:{other.resolve()}?mode=ro", uri=True, timeout=5)
            try:
                shas |= {r[0] for r in conn.execute("SELECT sha256 FROM videos")}
            finally:
                conn.close()
        except sqlite3.Error:
            return None
    return shas


def sweep_leftovers(store: Store) -> list[Path]:
    """Delete what killed ingests left in the data folder; returns the deleted paths. :func:`ingest` calls it.

    - temp files ``media/.<name>.<pid>.tmp*`` (partial browser-playable copies, half-copied originals, WAVs)
      whose process no longer exists;
    - ``media/<sha256>.*`` files (original, WAV, proxy) of no video stored in any database of the data folder (they
      share ``media/``), unless an ingest holds that sha256's lock (it is still making them); when another ``*.db``
      there cannot be read, no media file is treated as an orphan;
    - stale locks, and finished downloads in ``cache/downloads`` older than :data:`STALE_DOWNLOAD_S` (a ``.part``
      and its ``.part.json`` are kept: the next download of that URL resumes from them).

    Example::

        for path in sweep_leftovers(store):
            print("removed", path)
    """
    removed: list[Path] = []
    media = store.media_dir
    known = _shas_of_the_data_folder(store) if media.is_dir() else None
    if media.is_dir():
        orphans: dict[str, list[Path]] = {}
        locks: list[str] = []
        for entry in os.scandir(media):
            name = entry.name
            m = _TEMP.match(name)
            if m:
                if not _pid_alive(int(m.group(2))) and _unlink(Path(entry.path)):
                    removed.append(Path(entry.path))
                continue
            m = _LOCK.match(name)
            if m:
                locks.append(m.group(1))
                continue
            m = _OWNED.match(name)
            if m and known is not None and m.group(1) not in known:
                orphans.setdefault(m.group(1), []).append(Path(entry.path))
        for sha in sorted(set(orphans) | set(locks)):
            with _ShaLock(media, sha, blocking=False) as held:
                if not held or store.find_video(sha) is not None:
                    continue
                for path in orphans.get(sha, []):
                    if _unlink(path):
                        removed.append(path)
    downloads = store.cache_dir / "downloads"
    if downloads.is_dir():
        cutoff = time.time() - STALE_DOWNLOAD_S
        for entry in os.scandir(downloads):
            if entry.name.endswith((".part", ".part.json", ".lock")) or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < cutoff and _unlink(Path(entry.path)):
                    removed.append(Path(entry.path))
    return removed


def ingest_many(
    sources: Iterable[str | os.PathLike[str] | Source],
    store: Store | None = None,
    *,
    keep_going: bool = True,
    title: str | None = None,
    make_proxy: bool = True,
    extract_audio: bool = True,
    max_bytes: int | None = None,
    allow_private: PrivatePolicy = None,
    progress: bool = True,
    limits: DownloadLimits | None = None,
) -> list[IngestOutcome]:
    """Ingest several sources one after another; one :class:`IngestOutcome` per source, in order.

    With ``keep_going`` (default) a failing source is reported in its outcome and the rest still run; otherwise
    the first error is raised. ``title`` applies to every source (rarely wanted: leave it ``None``). Each outcome's
    ``source`` is the source as :func:`~vidqa.media.sources.source_key` shows it (no secrets).

    >>> [o.ok for o in ingest_many(["a.mp4", "https://example.org/b.mp4"], store)]  # doctest: +SKIP
    [True, True]
    """
    store = store if store is not None else open_store()
    outcomes: list[IngestOutcome] = []
    for s in sources:
        label = _label(s)
        try:
            v = ingest(s, store, title=title, make_proxy=make_proxy, extract_audio=extract_audio,
                       max_bytes=max_bytes, allow_private=allow_private, progress=progress, limits=limits)
            outcomes.append(IngestOutcome(label, video=v))
        except VidqaError as err:
            if not keep_going:
                raise
            outcomes.append(IngestOutcome(label, error=err))
    return outcomes


# --------------------------------------------------------------------------------------------------------------
def _make_files(store: Store, fetched: Fetched, sha: str, *, info: Probe, title: str | None, notes: list[str],
                make_proxy: bool, extract_audio: bool, progress: bool, created: _Created,
                stat0: os.stat_result | None) -> tuple[Video, list[MediaFile]]:
    """Original, WAV and proxy for ``sha`` in the media folder (the caller holds the sha's lock)."""
    ext = _extension(fetched, info)
    original = store.media_dir / f"{sha}.{ext}"
    existed = original.exists() and original.stat().st_size == fetched.path.stat().st_size
    if not existed:
        _place(fetched, original)
        if stat0 is not None and _changed_since(fetched.path, stat0):
            created.add(original, False)
            raise IngestError(
                f"{fetched.filename} changed while it was being ingested (it is still being written?); nothing was"
                " ingested. Ingest it again once it is complete."
            )
    elif fetched.downloaded:
        _drop_download(fetched)
    created.add(original, existed)
    media = [
        MediaFile("original", store.relpath(original), sha, original.stat().st_size,
                  mime=_MIME.get(ext), codec=info.video_codec,
                  info={"container": info.container, "filename": fetched.filename}),
    ]

    audio_rel = audio_track = audio_cov = None
    if not info.has_audio:
        notes.append("The video has no audio track: audio and audio-visual questions are impossible for it.")
    elif extract_audio:
        wav = store.media_dir / f"{sha}.16k.wav"
        existed_wav = wav.exists()
        try:
            ar = extract_wav(original, wav, info)
        except MediaError as err:
            notes.append(f"The audio could not be decoded ({err}); audio analysis will be skipped.")
        else:
            created.add(wav, existed_wav)
            audio_rel, audio_track, audio_cov = store.relpath(wav), ar.track, round(ar.coverage, 4)
            media.append(MediaFile("audio", audio_rel, file_sha256(wav), wav.stat().st_size, mime="audio/wav",
                                   codec="pcm_s16le",
                                   info={"track": ar.track, "source_codec": ar.codec, "seconds": ar.seconds,
                                         "start_offset": ar.start_offset, "coverage": ar.coverage}))
            if ar.warning:
                notes.append(ar.warning)

    play_rel = store.relpath(original)
    if make_proxy and _proxy.needs_proxy(info, original):
        proxy_path = store.media_dir / f"{sha}.proxy.mp4"
        existed_proxy = proxy_path.exists()
        try:
            if not existed_proxy:
                _proxy.make_proxy(original, proxy_path, info, progress=progress)
        except MediaError as err:
            notes.append(f"No browser-playable copy could be made ({err}); the player may not play this video.")
        else:
            created.add(proxy_path, existed_proxy)
            play_rel = store.relpath(proxy_path)
            media.append(MediaFile("proxy", play_rel, file_sha256(proxy_path), proxy_path.stat().st_size,
                                   mime="video/mp4", codec="h264",
                                   info={"audio": "aac" if info.has_audio else None}))

    video = Video(
        id=sha[:12], sha256=sha, title=title or fetched.filename, duration=info.duration, fps=info.fps,
        is_vfr=info.is_vfr, width=info.width, height=info.height, rotation=info.rotation,
        video_codec=info.video_codec, audio_codec=info.audio_codec, audio_tracks=info.audio_tracks,
        has_audio=info.has_audio, path=store.relpath(original), play_path=play_rel, audio_path=audio_rel,
        audio_track=audio_track, audio_coverage=audio_cov, size=original.stat().st_size, warnings=notes,
    )
    return video, media


def _label(source: str | os.PathLike[str] | Source) -> str:
    if isinstance(source, Source):
        return source_key(source)
    text = os.fspath(source)
    if "://" not in text:
        return text
    try:
        return source_key(text)
    except VidqaError:
        return text.split("://", 1)[0] + "://…"


# --- which local files changed ------------------------------------------------------------------------------------
def _stat_record_path(store: Store, key: str) -> Path:
    return store.cache_dir / "sources" / (hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
                                          + ".json")


def _stat_tuple(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _remember(store: Store, key: str, st: os.stat_result | None, sha: str) -> None:
    """Record what the local file ``key`` looked like when its bytes hashed to ``sha`` (for the cheap lookup)."""
    if st is None:
        return
    path = _stat_record_path(store, key)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"source": key, "stat": _stat_tuple(st), "sha256": sha}))
        os.replace(tmp, path)


def _unchanged(store: Store, key: str, known: Video, st: os.stat_result) -> bool:
    """Whether the local file ``key`` still holds ``known``'s bytes, judged without reading it."""
    try:
        record = json.loads(_stat_record_path(store, key).read_text())
    except (OSError, ValueError):
        return False  # never seen (or the cache was cleared): hash it once
    return (isinstance(record, dict) and record.get("source") == key and record.get("sha256") == known.sha256
            and record.get("stat") == _stat_tuple(st))


def _changed_since(path: Path, st: os.stat_result) -> bool:
    try:
        now = path.stat()
    except OSError:
        return True
    return (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns)


# --- leftovers ----------------------------------------------------------------------------------------------------
_TEMP = re.compile(r"^\.([0-9a-f]{64}\..+)\.(\d+)\.tmp(?:\.[A-Za-z0-9]+)?$")
_LOCK = re.compile(r"^\.([0-9a-f]{64})\.lock$")
_OWNED = re.compile(r"^([0-9a-f]{64})\.(?:16k\.wav|proxy\.mp4|[A-Za-z0-9]{1,8})$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process (or cannot tell): leave its files alone
    return True


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError:
        return False


class _ShaLock:
    """``media/.<sha256>.lock``: held while an ingest makes that sha's files (an exclusive ``flock``).

    The holder deletes the lock file on release; an acquirer checks it locked the file still at that path (not one
    unlinked under it), so two processes never both hold it. ``blocking=False`` yields ``False`` when it is taken.
    Without ``fcntl`` (Windows) the lock is always granted when blocking and never when not (the sweep then keeps
    orphans rather than risk another process's files).
    """

    def __init__(self, folder: Path, sha: str, blocking: bool = True):
        self.path = folder / f".{sha}.lock"
        self.blocking = blocking
        self.fd: int | None = None

    def __enter__(self) -> bool:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self.blocking
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return True
            os.close(fd)  # the previous holder unlinked it between our open and flock: take the new file

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self.fd)
            self.fd = None


def _extension(fetched: Fetched, info: Probe) -> str:
    suffix = Path(fetched.filename).suffix.lower().lstrip(".")
    if suffix in MEDIA_EXTENSIONS:  # a name from a server ("x.html") never picks the stored type
        return suffix
    return _EXT_FROM_CONTAINER.get(info.container, "bin")


def _place(fetched: Fetched, dest: Path) -> None:
    """Put the original at ``dest``: downloads are moved, the user's files copied (temp name, then rename)."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        if fetched.downloaded:
            shutil.move(str(fetched.path), tmp)
        else:
            shutil.copyfile(fetched.path, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _drop_download(fetched: Fetched) -> None:
    if fetched.downloaded:
        with contextlib.suppress(OSError):
            fetched.path.unlink()


__all__ = ["ingest", "ingest_many", "known_video", "sweep_leftovers", "fetch", "extract_wav", "file_sha256",
           "IngestOutcome", "Fetched", "AudioResult", "STALE_DOWNLOAD_S"]
