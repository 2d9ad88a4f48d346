"""What a media file holds, read with PyAV (no ffprobe binary).

Example::

    from vidqa.media.probe import probe
    p = probe("match.mp4")
    print(p.duration, p.fps, p.is_vfr, p.width, p.height, p.rotation, p.video_codec, p.audio_tracks)

Every failure is a specific :class:`vidqa.errors.MediaError`: :class:`EmptyMediaError` (zero bytes, zero
duration), :class:`CorruptMediaError` (not media -- an HTML page such as a sign-in page saved as ``.mp4``, a text
file or playlist --, a truncated file, undecodable video), :class:`NoVideoStreamError` (audio only). A video without
audio is fine (``audio_tracks == 0``).

Truncation is caught before anything trusts the header's duration: an MP4 without its index ("moov atom not found");
an MP4 whose index is at the front (``+faststart``, how web MP4s are built, so an interrupted browser download looks
complete) but whose sample tables point past the end of the file; a Matroska/WebM segment or an AVI ``RIFF`` chunk
that declares more bytes than the file has. The message says how much of the video is actually there.
"""

from __future__ import annotations

import contextlib
import html
import math
import os
import re
import statistics
from collections.abc import Iterator
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

from vidqa.errors import CorruptMediaError, EmptyMediaError, MediaError, NoVideoStreamError
from vidqa.records import Probe

VFR_PACKETS = 600
"""Video packets whose timestamps are examined for the variable-frame-rate test."""
VFR_SPREAD = 0.2
"""A file is VFR when the 5th-95th percentile spread of frame durations exceeds this fraction of the median."""
SNIFF_BYTES = 1024
MAX_MOOV_BYTES = 256 * 1024 * 1024
"""Sample tables larger than this are not read for the truncation check (the top-level box walk still runs)."""


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
    with open(p, "rb") as f:
        head = f.read(SNIFF_BYTES)
    not_media = _not_media(name, head)
    if not_media is not None:  # before FFmpeg, which may take a big text file for a broken MP4 or follow a playlist
        raise not_media
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.EOFError as err:  # type: ignore[attr-defined]
        cut = _truncation(p, size)
        if cut is not None:
            raise CorruptMediaError(f"{name} is truncated: {cut}. {_AGAIN}") from err
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
        cut = _truncation(p, size)
        if cut is not None:
            there = _decodable_seconds(p, vs.index, size)
            if there is not None and there < duration - 0.05:
                shown = f"only the first {there:.1f} s of its {duration:.1f} s are in the file"
            else:
                shown = "its end is missing"
            raise CorruptMediaError(f"{name} is truncated: {cut}; {shown}. {_AGAIN}")
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
# is it media at all?
# --------------------------------------------------------------------------------------------------------------
def sniff_media(head: bytes) -> str | None:
    """The usual file extension of the media container whose first bytes are ``head``, or ``None``.

    Recognises MP4/MOV/3GP/M4A (``ftyp``), Matroska/WebM (EBML ``1A45DFA3``), AVI/WAV (``RIFF``), MPEG-TS
    (``0x47`` sync), MPEG-PS, Ogg, FLAC, MP3 (ID3 or frame sync), ADTS AAC, FLV, ASF/WMV, RealMedia, AMR, CAF and
    AIFF.

    >>> sniff_media(b"\\x00\\x00\\x00\\x20ftypisom\\x00\\x00\\x02\\x00")
    'mp4'
    >>> sniff_media(b"<!DOCTYPE html><html>") is None
    True
    """
    h = head
    if len(h) >= 12 and h[4:8] == b"ftyp":
        brand = h[8:12]
        if brand == b"qt  ":
            return "mov"
        if brand.startswith(b"M4A") or brand.startswith(b"M4B"):
            return "m4a"
        if brand.startswith(b"3g"):
            return "3gp"
        return "mp4"
    if len(h) >= 8 and h[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "mov"
    if h.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in h[:64] else "mkv"
    if h.startswith(b"RIFF") and len(h) >= 12:
        return {b"AVI ": "avi", b"WAVE": "wav", b"AVIX": "avi"}.get(h[8:12])
    if h.startswith(b"OggS"):
        return "ogg"
    if h.startswith(b"fLaC"):
        return "flac"
    if h.startswith(b"FLV\x01"):
        return "flv"
    if h.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "wmv"
    if h.startswith(b".RMF"):
        return "rm"
    if h.startswith(b"#!AMR"):
        return "amr"
    if h.startswith(b"YUV4MPEG2"):
        return "y4m"
    if h.startswith(b"caff"):
        return "caf"
    if h.startswith(b"FORM") and h[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if h.startswith(b"\x00\x00\x01\xba") or h.startswith(b"\x00\x00\x01\xb3"):
        return "mpg"
    if h[:1] == b"\x47" and (len(h) < 189 or h[188:189] == b"\x47"):
        return "ts"
    if h.startswith(b"ID3"):
        return "mp3"
    if len(h) >= 2 and h[0] == 0xFF:
        if h[1] in (0xF1, 0xF9):
            return "aac"
        if h[1] & 0xE0 == 0xE0:
            return "mp3"
    return None


def looks_like_html(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) is the start of an HTML/XML page."""
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return h.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<!--")) or b"<html" in h[:1024]


def looks_like_text(head: bytes) -> bool:
    """Whether ``head`` reads as text (HTML, JSON, a playlist, plain words) rather than binary media."""
    if not head:
        return False
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if h[:1] in (b"<", b"{", b"["):
        return True
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:
            return False
        text = head[: err.start].decode("utf-8")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f")
    return controls <= len(text) * 0.01


def html_title(head: bytes) -> str | None:
    """The ``<title>`` of an HTML page's first bytes (whitespace collapsed, at most 100 characters), or ``None``."""
    m = re.search(rb"<title[^>]*>(.*?)</title>", head, re.I | re.S)
    if not m:
        return None
    title = html.unescape(m.group(1).decode("utf-8", "replace")).strip()
    return re.sub(r"\s+", " ", title)[:100] or None



def _not_media(name: str, head: bytes) -> MediaError | None:
    """The error for a file whose first bytes are a web page, a playlist or other text (``None`` for binary data)."""
    if sniff_media(head) or not looks_like_text(head):
        return None
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if looks_like_html(head):
        title = html_title(head)
        titled = f' titled "{title}"' if title else ""
        return CorruptMediaError(
            f"{name} is not media: it is an HTML page{titled} (e.g. a sign-in or error page saved in place of the"
            " video). Open the link in a browser, download the video itself, and ingest that file."
        )
    if stripped.startswith(b"#EXTM3U"):
        return CorruptMediaError(f"{name} is not media: it is an HLS playlist (.m3u8), not a video file.")
    return CorruptMediaError(f"{name} is not media: it is a text file (starts with {stripped[:20]!r}).")


# --------------------------------------------------------------------------------------------------------------
# truncation
# --------------------------------------------------------------------------------------------------------------
_AGAIN = ("Download or copy it again completely (an interrupted download or copy looks like this); nothing was"
          " ingested.")


def _truncation(p: Path, size: int) -> str | None:
    """Why the file at ``p`` is cut short (a sentence fragment), or ``None`` when nothing says it is."""
    with open(p, "rb") as f:
        head = f.read(64)
    try:
        if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"):
            return _mp4_truncation(p, size)
        if head.startswith(b"\x1a\x45\xdf\xa3"):
            return _matroska_truncation(p, size)
        if head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"AVIX"):
            declared = int.from_bytes(head[4:8], "little")
            if 0 < declared < 0xFFFFFFF0 and declared + 8 > size:
                return (f"its RIFF header announces {_mb(declared + 8)} but the file has only {_mb(size)}"
                        f" ({size / (declared + 8):.0%})")
    except (OSError, ValueError, IndexError):
        return None
    return None


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(type, payload start, box end) of the ISO-BMFF boxes in ``[start, end)`` of the open file ``f``."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        header = f.read(16)
        if len(header) < 8:
            return
        box_size = int.from_bytes(header[:4], "big")
        kind = header[4:8].decode("latin-1")
        header_len = 8
        if box_size == 1 and len(header) >= 16:
            box_size = int.from_bytes(header[8:16], "big")
            header_len = 16
        elif box_size == 0:
            box_size = end - pos
        if box_size < header_len:
            return
        yield kind, pos + header_len, pos + box_size
        pos += box_size


def _mp4_truncation(p: Path, size: int) -> str | None:
    with open(p, "rb") as f:
        top = list(_boxes(f, 0, size))
        moov = next(((s, e) for k, s, e in top if k == "moov"), None)
        if moov is not None and moov[1] <= size and moov[1] - moov[0] <= MAX_MOOV_BYTES:
            f.seek(moov[0])
            needed = _mp4_samples_end(f.read(moov[1] - moov[0]))
            if needed is not None:
                if needed > size:
                    return (f"its index (moov, at the front) describes {_mb(needed)} of media but the file has only"
                            f" {_mb(size)} ({size / needed:.0%})")
                return None
        for kind, _start, end in top:
            if kind in ("mdat", "moof", "moov") and end > size:
                return (f"its {kind} box announces {_mb(end)} but the file has only {_mb(size)}"
                        f" ({size / end:.0%})")
    return None


def _mb(n: int) -> str:
    if n >= 10_000_000:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.0f} kB" if n >= 10_000 else f"{n} bytes"


def _mp4_samples_end(moov: bytes) -> int | None:
    """The byte offset just past the last sample any track of ``moov`` (the box payload) points to."""
    import io

    import numpy as np

    f = io.BytesIO(moov)

    def child(start: int, end: int, *path: str) -> tuple[int, int] | None:
        for name in path:
            found = next(((s, e) for k, s, e in _boxes(f, start, end) if k == name), None)
            if found is None:
                return None
            start, end = found
        return start, end

    def payload(span: tuple[int, int]) -> bytes:
        return moov[span[0]:span[1]]

    best: int | None = None
    for kind, t_start, t_end in list(_boxes(f, 0, len(moov))):
        if kind != "trak":
            continue
        stbl = child(t_start, t_end, "mdia", "minf", "stbl")
        if stbl is None:
            continue
        spans = {k: (s, e) for k, s, e in _boxes(f, *stbl)}
        if "stsz" not in spans or "stsc" not in spans or not ("stco" in spans or "co64" in spans):
            continue
        sz = payload(spans["stsz"])
        uniform, count = int.from_bytes(sz[4:8], "big"), int.from_bytes(sz[8:12], "big")
        if count == 0:
            continue
        sizes = (np.full(count, uniform, dtype=np.int64) if uniform else
                 np.frombuffer(sz[12:12 + 4 * count], dtype=">u4").astype(np.int64))
        if len(sizes) < count:
            return None  # damaged table: say nothing
        if "co64" in spans:
            co = payload(spans["co64"])
            n = int.from_bytes(co[4:8], "big")
            offsets = np.frombuffer(co[8:8 + 8 * n], dtype=">u8").astype(np.int64)
        else:
            co = payload(spans["stco"])
            n = int.from_bytes(co[4:8], "big")
            offsets = np.frombuffer(co[8:8 + 4 * n], dtype=">u4").astype(np.int64)
        sc = payload(spans["stsc"])
        m = int.from_bytes(sc[4:8], "big")
        entries = np.frombuffer(sc[8:8 + 12 * m], dtype=">u4").astype(np.int64).reshape(-1, 3)
        if n == 0 or len(entries) == 0:
            continue
        per_chunk = np.zeros(n, dtype=np.int64)
        firsts = list(entries[:, 0] - 1) + [n]
        for i, (first, nxt) in enumerate(pairwise(firsts)):
            per_chunk[max(0, first):max(0, min(n, nxt))] = entries[i, 1]
        starts = np.concatenate([[0], np.cumsum(per_chunk)[:-1]])
        cum = np.concatenate([[0], np.cumsum(sizes)])
        ends_idx = np.minimum(starts + per_chunk, count)
        valid = starts < count
        if not valid.any():
            continue
        chunk_bytes = cum[ends_idx[valid]] - cum[starts[valid]]
        end = int((offsets[valid] + chunk_bytes).max())
        best = end if best is None else max(best, end)
    return best


def _matroska_truncation(p: Path, size: int) -> str | None:
    with open(p, "rb") as f:
        data = f.read(4096)
    pos = 0
    for expected in (0x1A45DFA3, 0x18538067):  # EBML header, then the Segment
        element, pos = _ebml_id(data, pos)
        length, pos, unknown = _ebml_size(data, pos)
        if element != expected:
            return None
        if expected == 0x18538067:
            if unknown:
                return None  # live recordings write "unknown size": nothing to compare
            end = pos + length
            if end > size:
                return (f"its Matroska segment announces {_mb(end)} but the file has only {_mb(size)}"
                        f" ({size / end:.0%})")
            return None
        pos += length
    return None


def _ebml_id(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    width = 8 - first.bit_length() + 1
    if width > 4:
        raise ValueError("bad EBML id")
    return int.from_bytes(data[pos:pos + width], "big"), pos + width


def _ebml_size(data: bytes, pos: int) -> tuple[int, int, bool]:
    first = data[pos]
    width = 8 - first.bit_length() + 1
    if width > 8:
        raise ValueError("bad EBML size")
    value = int.from_bytes(data[pos:pos + width], "big") & ((1 << (7 * width)) - 1)
    return value, pos + width, value == (1 << (7 * width)) - 1


def _decodable_seconds(p: Path, index: int, size: int) -> float | None:
    """Media seconds of stream ``index`` whose packets lie wholly inside the first ``size`` bytes."""
    import av

    end = None
    start = None
    try:
        with av.open(str(p), metadata_errors="ignore") as c:
            for packet in c.demux(c.streams[index]):
                if packet.size == 0 or packet.pts is None:
                    continue
                if packet.pos is not None and packet.pos >= 0 and packet.pos + packet.size > size:
                    break
                t0 = float(packet.pts * packet.time_base)
                t1 = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                start = t0 if start is None else min(start, t0)
                end = t1 if end is None else max(end, t1)
    except av.error.FFmpegError:  # type: ignore[attr-defined]
        pass
    if end is None:
        return 0.0
    return max(0.0, end - (start or 0.0))


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


__all__ = [
    "container_name",
    "html_title",
    "looks_like_html",
    "looks_like_text",
    "probe",
    "sniff_media",
]
