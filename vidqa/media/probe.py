"""What a media file holds, read with PyAV (no ffprobe binary).

Example::

    from vidqa.media.probe import probe
    p = probe("match.mp4")
    print(p.duration, p.fps, p.is_vfr, p.width, p.height, p.rotation, p.video_codec, p.audio_tracks)

Every failure is a specific :class:`vidqa.errors.MediaError`: :class:`EmptyMediaError` (zero bytes, zero
duration), :class:`CorruptMediaError` (not media, truncated MP4 whose "moov atom" is missing, undecodable video),
:class:`NoVideoStreamError` (audio only). A video without audio is fine (``audio_tracks == 0``).
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
from fractions import Fraction
from pathlib import Path

from vidqa.errors import CorruptMediaError, EmptyMediaError, MediaError, NoVideoStreamError
from vidqa.records import Probe

VFR_PACKETS = 600
"""Video packets whose timestamps are examined for the variable-frame-rate test."""
VFR_SPREAD = 0.2
"""A file is VFR when the 5th-95th percentile spread of frame durations exceeds this fraction of the median."""


def probe(path: str | os.PathLike[str]) -> Probe:
    """Describe the media file at ``path``.

    - ``duration``: container duration, else the video stream's, else the last packet's end time (seconds).
    - ``fps``: average frame rate; ``is_vfr``: frame durations of the first :data:`VFR_PACKETS` packets vary by
      more than :data:`VFR_SPREAD` of their median.
    - ``width``/``height``: display size (sample aspect ratio applied) after ``rotation``, the clockwise degrees
      (0/90/180/270) the stored frames must be turned for display (display matrix, else the ``rotate`` tag).
    - ``video_codec``/``audio_codec``: FFmpeg codec names of the first video/audio stream; ``audio_tracks``: how
      many audio streams there are.

    >>> p = probe("clip.mp4")  # doctest: +SKIP
    >>> (p.width, p.height, p.rotation)  # doctest: +SKIP
    (1080, 1920, 90)
    """
    import av

    p = Path(path)
    name = p.name
    try:
        size = p.stat().st_size
    except FileNotFoundError as err:
        raise MediaError(f"No such file: {p}.") from err
    if size == 0:
        raise EmptyMediaError(f"{name} is empty (0 bytes): the download or copy did not complete.")
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.EOFError as err:  # type: ignore[attr-defined]
        raise EmptyMediaError(
            f"{name} has zero duration: it holds a container header but no media data (a recording stopped at once"
            " or a download cut short)."
        ) from err
    except av.error.FFmpegError as err:  # type: ignore[attr-defined]
        raise _open_error(p, err) from err
    with container:
        videos = [s for s in container.streams.video if not _is_picture(s)]
        audios = list(container.streams.audio)
        if not videos:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
            raise NoVideoStreamError(
                f"{name} has no video stream ({kinds}): vidqa needs a video. For audio-only material, make a video"
                " first (e.g. a still image with the audio)."
            )
        vs = videos[0]
        cc = vs.codec_context
        if not cc.width or not cc.height:
            raise CorruptMediaError(f"{name}: the video stream has no frame size; the file is damaged.")
        pts, tb, last_end = _packet_times(p, vs.index)
        if not pts:
            raise EmptyMediaError(f"{name} has zero duration: its video stream holds no frames.")
        duration = _duration(container, vs, p, pts, tb, last_end)
        if duration <= 0:
            raise EmptyMediaError(f"{name} has zero duration: there is nothing to play.")
        rotation, first_frame_ok = _rotation(container, vs)
        if not first_frame_ok:
            raise CorruptMediaError(
                f"{name}: the {_codec_name(vs)} video stream cannot be decoded (damaged file or unsupported codec)."
            )
        is_vfr = _is_vfr(pts)
        n_frames = int(vs.frames) if vs.frames else None
        fps = _fps(vs, n_frames, duration, pts, tb, is_vfr)
        width, height = _display_size(cc.width, cc.height, vs.sample_aspect_ratio, rotation)
        return Probe(
            duration=float(duration),
            fps=fps,
            is_vfr=is_vfr,
            width=width,
            height=height,
            rotation=rotation,
            video_codec=_codec_name(vs),
            audio_codec=_codec_name(audios[0]) if audios else None,
            audio_tracks=len(audios),
            container=container_name(container.format.name, p),
            n_frames=n_frames,
            bit_rate=int(container.bit_rate) if container.bit_rate else None,
        )


def container_name(format_name: str, path: str | os.PathLike[str]) -> str:
    """A short container name (``mp4``, ``mov``, ``webm``, ``matroska``, ``avi`` ...) from FFmpeg's demuxer name."""
    names = format_name.split(",")
    if "mp4" in names or "mov" in names:
        brand = _mp4_brand(Path(path))
        return "mov" if brand == b"qt  " or (brand is None and Path(path).suffix.lower() == ".mov") else "mp4"
    if "matroska" in names or "webm" in names:
        with open(path, "rb") as f:
            return "webm" if b"webm" in f.read(64) else "matroska"
    return names[0]


# --------------------------------------------------------------------------------------------------------------
def _open_error(p: Path, err: Exception) -> MediaError:
    name = p.name
    with open(p, "rb") as f:
        head = f.read(64)
    boxes = _mp4_top_level_boxes(p) if head[4:8] in (b"ftyp", b"mdat", b"free", b"wide", b"moov") else None
    if boxes is not None and "moov" not in boxes:
        return CorruptMediaError(
            f"{name} is a truncated MP4: moov atom not found (the index written at the end of a recording or"
            " download is missing). Download or copy it again completely; a recording that was interrupted"
            " needs a repair tool such as untrunc."
        )
    stripped = head.lstrip()
    if stripped[:1] in (b"<", b"{"):
        return CorruptMediaError(f"{name} is not media: it is a text/HTML file (starts with {stripped[:15]!r}).")
    return CorruptMediaError(f"{name} is not a media file PyAV can read ({err}).")


def _mp4_top_level_boxes(p: Path) -> list[str]:
    """Names of the top-level ISO-BMFF boxes that lie entirely inside the file."""
    names: list[str] = []
    size = p.stat().st_size
    with open(p, "rb") as f:
        pos = 0
        while pos + 8 <= size and len(names) < 10_000:
            f.seek(pos)
            header = f.read(16)
            box_size = int.from_bytes(header[:4], "big")
            kind = header[4:8].decode("latin-1")
            header_len = 8
            if box_size == 1 and len(header) >= 16:
                box_size = int.from_bytes(header[8:16], "big")
                header_len = 16
            elif box_size == 0:
                box_size = size - pos
            if box_size < header_len or pos + box_size > size:
                break
            names.append(kind)
            pos += box_size
    return names


def _mp4_brand(p: Path) -> bytes | None:
    with open(p, "rb") as f:
        head = f.read(12)
    return head[8:12] if head[4:8] == b"ftyp" else None


def _codec_name(stream) -> str:  # noqa: ANN001
    """The codec's canonical name (``mp3``, not the decoder's ``mp3float``)."""
    cc = stream.codec_context
    try:
        return cc.codec.canonical_name or cc.name
    except Exception:  # noqa: BLE001
        return cc.name


def _is_picture(stream) -> bool:  # noqa: ANN001
    """Cover art stored as a one-frame "video" stream (mp3/m4a artwork) is not a video."""
    import av

    disp = stream.disposition
    return bool(disp & av.stream.Disposition.attached_pic) or bool(disp & av.stream.Disposition.still_image)


def _rotation(container, vs) -> tuple[int, bool]:  # noqa: ANN001
    """Clockwise display rotation of ``vs`` and whether its first frame decodes."""
    rotation = None
    decoded = False
    try:
        for frame in container.decode(vs):
            decoded = True
            ccw = getattr(frame, "rotation", 0) or 0  # PyAV >= 14: display matrix, counter-clockwise degrees
            rotation = (-int(round(ccw / 90.0)) * 90) % 360
            break
    except Exception:  # noqa: BLE001 - a damaged stream: reported by the caller
        decoded = False
    if not rotation:
        tag = vs.metadata.get("rotate")
        if tag:
            with contextlib.suppress(ValueError):
                rotation = int(round(float(tag) / 90.0)) * 90 % 360
    return int(rotation or 0), decoded


def _packet_times(p: Path, index: int) -> tuple[list[int], Fraction, int | None]:
    """Sorted pts of the first packets of stream ``index``, its time base and the latest packet end seen."""
    import av

    pts: list[int] = []
    ends: list[int] = []
    with av.open(str(p), metadata_errors="ignore") as c:
        stream = c.streams[index]
        tb = stream.time_base or Fraction(1, 1)
        try:
            for packet in c.demux(stream):
                if packet.pts is None:
                    continue
                pts.append(int(packet.pts))
                ends.append(int(packet.pts) + int(packet.duration or 0))
                if len(pts) >= VFR_PACKETS:
                    break
        except av.error.FFmpegError:  # type: ignore[attr-defined]
            pass  # a damaged tail: use what was read
    pts.sort()
    return pts, Fraction(tb), (max(ends) if ends else None)


def _duration(container, vs, p: Path, pts: list[int], tb: Fraction, last_end: int | None) -> float:  # noqa: ANN001
    if container.duration and container.duration > 0:
        return container.duration / 1_000_000
    if vs.duration and vs.time_base:
        return float(vs.duration * vs.time_base)
    if len(pts) >= VFR_PACKETS:  # no duration in the headers: demux to the end (no decoding)
        import av

        with av.open(str(p), metadata_errors="ignore") as c:
            try:
                for packet in c.demux(c.streams[vs.index]):
                    if packet.pts is not None:
                        last_end = max(last_end or 0, int(packet.pts) + int(packet.duration or 0))
            except av.error.FFmpegError:  # type: ignore[attr-defined]
                pass
    if pts and last_end is not None:
        return float((last_end - pts[0]) * tb)
    return 0.0


def _is_vfr(pts: list[int]) -> bool:
    diffs = [b - a for a, b in zip(pts, pts[1:], strict=False) if b > a]
    if len(diffs) < 8:
        return False
    diffs.sort()
    median = statistics.median(diffs)
    lo = diffs[int(0.05 * (len(diffs) - 1))]
    hi = diffs[int(math.ceil(0.95 * (len(diffs) - 1)))]
    # Timestamp rounding (e.g. 33/34 ms at 30 fps in a 1/1000 time base) is at most one tick.
    return (hi - lo) > max(1, VFR_SPREAD * median)


def _fps(vs, n_frames: int | None, duration: float, pts: list[int], tb: Fraction, is_vfr: bool) -> float | None:  # noqa: ANN001
    if n_frames and duration > 0:
        return round(n_frames / duration, 3)
    for rate in (vs.average_rate, vs.guessed_rate, vs.base_rate):
        if rate and float(rate) > 0 and not (is_vfr and rate is not vs.average_rate):
            return round(float(rate), 3)
    diffs = [b - a for a, b in zip(pts, pts[1:], strict=False) if b > a]
    if diffs:
        return round(1.0 / float(statistics.mean(diffs) * tb), 3)
    return None


def _display_size(width: int, height: int, sar, rotation: int) -> tuple[int, int]:  # noqa: ANN001
    if sar and sar.numerator and sar.denominator and sar != 1:
        width = int(round(width * float(sar) / 2.0)) * 2
    if rotation in (90, 270):
        width, height = height, width
    return int(width), int(height)
