"""Ingest: a local path, URL or Google Drive link becomes a stored, probed :class:`~vidqa.records.Video`.

Flow (:func:`ingest`): classify the source -> check/download it (:func:`fetch`) -> sha256 -> if the store has
those bytes already, only record the new source -> :func:`~vidqa.media.probe.probe` -> copy/move into the content-addressed
``media/<sha256>.<ext>`` -> 16 kHz mono WAV ``media/<sha256>.16k.wav`` (:func:`extract_wav`) -> H.264 proxy
``media/<sha256>.proxy.mp4`` when browsers need one -> one ``store.add_video`` transaction.

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
import os
import shutil
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidqa.media import proxy as _proxy
from vidqa.media.audio import SAMPLE_RATE, decode_audio, write_wav
from vidqa.media.download import MEDIA_EXTENSIONS, download, download_drive
from vidqa.errors import MediaError, VidqaError
from vidqa.media.netguard import PrivatePolicy, check_local_path
from vidqa.media.probe import probe
from vidqa.records import MediaFile, Probe, Video
from vidqa.media.sources import Source, parse_source
from vidqa.store import Store, open_store

MIN_AUDIO_COVERAGE = 0.95
"""Below this fraction of the video's duration, decoded audio gets a warning."""

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
) -> Fetched:
    """Make ``source`` local: check a path against the allowed roots, or download a URL / Drive file into
    ``dest_dir``. Raises the errors of :mod:`vidqa.media.netguard` and :mod:`vidqa.media.download`.

    >>> fetch("clips/a.mp4", "cache/downloads").downloaded  # doctest: +SKIP
    False
    """
    src = canonical_source(source)
    if src.kind == "local":
        real = check_local_path(src.value)
        return Fetched(real, src, Path(src.value).name, downloaded=False)
    if src.kind == "drive":
        r = download_drive(src, dest_dir, max_bytes=max_bytes, allow_private=allow_private, progress=progress)
    else:
        r = download(src.value, dest_dir, max_bytes=max_bytes, allow_private=allow_private, progress=progress)
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
) -> Video:
    """Ingest one source into ``store`` (default: :func:`vidqa.store.open_store`) and return its :class:`Video`.

    The same bytes ingested twice (from any sources) are one video; a source string ingested before is not
    downloaded again. ``title`` defaults to the file name. Warnings (no audio track, partial audio, proxy failure)
    go to ``Video.warnings`` and :func:`warnings.warn`.

    Raises :class:`vidqa.errors.IngestError` subclasses; nothing is left behind on failure.

    >>> video = ingest("clips/match.mp4", open_store("data/vidqa.db"))  # doctest: +SKIP
    """
    store = store if store is not None else open_store()
    src = canonical_source(source)
    known = store.find_video(src.value)
    if known is not None:
        return known

    downloads = store.cache_dir / "downloads"
    fetched = fetch(src, downloads, max_bytes=max_bytes, allow_private=allow_private, progress=progress)
    created = _Created()
    try:
        sha = file_sha256(fetched.path)
        existing = store.find_video(sha)
        if existing is not None:
            video = store.add_video(existing, source=src.value, source_kind=src.kind)
            _drop_download(fetched)
            return video

        info = probe(fetched.path)
        store.media_dir.mkdir(parents=True, exist_ok=True)
        ext = _extension(fetched, info)
        original = store.media_dir / f"{sha}.{ext}"
        existed = original.exists() and original.stat().st_size == fetched.path.stat().st_size
        if not existed:
            _place(fetched, original)
        elif fetched.downloaded:
            _drop_download(fetched)
        created.add(original, existed)
        media = [
            MediaFile("original", store.relpath(original), sha, original.stat().st_size,
                      mime=_MIME.get(ext), codec=info.video_codec,
                      info={"container": info.container, "filename": fetched.filename}),
        ]
        notes: list[str] = []

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

        for note in notes:
            warnings.warn(f"{fetched.filename}: {note}", stacklevel=2)
        video = Video(
            id=sha[:12], sha256=sha, title=title or fetched.filename, duration=info.duration, fps=info.fps,
            is_vfr=info.is_vfr, width=info.width, height=info.height, rotation=info.rotation,
            video_codec=info.video_codec, audio_codec=info.audio_codec, audio_tracks=info.audio_tracks,
            has_audio=info.has_audio, path=store.relpath(original), play_path=play_rel, audio_path=audio_rel,
            audio_track=audio_track, audio_coverage=audio_cov, size=original.stat().st_size, warnings=notes,
        )
        return store.add_video(video, media, source=src.value, source_kind=src.kind)
    except BaseException:
        created.remove_all()
        _drop_download(fetched)
        raise


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
) -> list[IngestOutcome]:
    """Ingest several sources one after another; one :class:`IngestOutcome` per source, in order.

    With ``keep_going`` (default) a failing source is reported in its outcome and the rest still run; otherwise
    the first error is raised. ``title`` applies to every source (rarely wanted: leave it ``None``).

    >>> [o.ok for o in ingest_many(["a.mp4", "https://example.org/b.mp4"], store)]  # doctest: +SKIP
    [True, True]
    """
    store = store if store is not None else open_store()
    outcomes: list[IngestOutcome] = []
    for s in sources:
        label = s.value if isinstance(s, Source) else os.fspath(s)
        try:
            v = ingest(s, store, title=title, make_proxy=make_proxy, extract_audio=extract_audio,
                       max_bytes=max_bytes, allow_private=allow_private, progress=progress)
            outcomes.append(IngestOutcome(label, video=v))
        except VidqaError as err:
            if not keep_going:
                raise
            outcomes.append(IngestOutcome(label, error=err))
    return outcomes


# --------------------------------------------------------------------------------------------------------------
def _extension(fetched: Fetched, info: Probe) -> str:
    suffix = Path(fetched.filename).suffix.lower().lstrip(".")
    if suffix in MEDIA_EXTENSIONS:  # a name from a server ("x.html") never picks the stored file's type
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


__all__ = ["ingest", "ingest_many", "fetch", "extract_wav", "file_sha256", "IngestOutcome", "Fetched", "AudioResult"]
