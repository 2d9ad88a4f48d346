"""Video packet scan (no decoding) and display rotation, for the frame samplers of :mod:`vidqa.analyze.frames`.

:func:`scan_packets` reads every packet header of a file's first video stream once, without decoding (< 2 s for
10 min of 720p), to learn every frame's presentation time and where the keyframes are; :func:`open_video` opens a
file with PyAV and turns unreadable media into :class:`~vidqa.errors.CorruptMediaError` /
:class:`~vidqa.errors.NoVideoStreamError`. :func:`display_rotation` reads a decoded frame's display matrix and
:func:`rotate_image` turns an image upright.

Example::

    from vidqa.analyze.packets import scan_packets
    scan = scan_packets("clip.mp4")
    key_t = [(k - scan.start) * scan.time_base for k in scan.key_pts]   # keyframe times (s)
    print(len(scan.pts), "frames,", len(key_t), "keyframes,", round(scan.duration, 2), "s at", scan.fps, "fps")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidqa.errors import CorruptMediaError, NoVideoStreamError

__all__ = ["PacketScan", "decoding", "display_rotation", "open_video", "rotate_image", "scan_packets"]


def display_rotation(frame: Any) -> int:
    """Clockwise degrees (0/90/180/270) to turn a decoded frame for display, from its display-matrix side data."""
    ccw = getattr(frame, "rotation", 0)  # PyAV >= 13: counter-clockwise degrees of the DISPLAYMATRIX
    if not ccw:
        return 0
    return round(-float(ccw) / 90.0) * 90 % 360


def rotate_image(img: np.ndarray, cw: int) -> np.ndarray:
    """``img`` turned ``cw`` degrees clockwise (90/180/270; anything else returns ``img`` unchanged)."""
    if cw == 90:
        return np.ascontiguousarray(np.rot90(img, k=-1))
    if cw == 180:
        return np.ascontiguousarray(img[::-1, ::-1])
    if cw == 270:
        return np.ascontiguousarray(np.rot90(img, k=1))
    return img


@dataclass
class PacketScan:
    """What the packet headers of a video stream say, in stream ``time_base`` units (``start``: the origin)."""

    pts: list[int]  # every packet pts, sorted (presentation order)
    key_pts: list[int]  # keyframe pts, sorted
    time_base: float
    start: int
    fps: float | None
    duration: float


@contextmanager
def decoding(path: str | Path, *containers: Any) -> Iterator[None]:
    """Around a decode loop over ``containers`` of ``path``: an FFmpeg error while decoding becomes
    :class:`~vidqa.errors.CorruptMediaError`, and the containers are closed however the loop ends."""
    import av

    try:
        yield
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"Decoding {path!s} failed: {exc}.") from exc
    finally:
        for c in containers:
            c.close()


def open_video(path: str | Path) -> Any:
    """An open PyAV container of ``path`` that has a video stream (close it when done)."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FileNotFoundError, FileNotFoundError):
        raise
    except Exception as exc:  # InvalidDataError and friends
        raise CorruptMediaError(f"Cannot open {path!s} as media: {exc}. Re-download or re-encode the file.") from exc
    if not container.streams.video:
        container.close()
        raise NoVideoStreamError(f"{path!s} has no video stream, so there are no frames to sample.")
    return container


def scan_packets(path: str | Path) -> PacketScan:
    """Read every packet header of the first video stream (no decoding)."""
    container = open_video(path)
    try:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        pts: list[int] = []
        key_pts: list[int] = []
        for pkt in container.demux(stream):
            if pkt.pts is None:
                if pkt.dts is None:
                    continue  # flush packet
                p = pkt.dts
            else:
                p = pkt.pts
            pts.append(p)
            if pkt.is_keyframe:
                key_pts.append(p)
        pts.sort()
        key_pts.sort()
        # Times count from the container's start, like the 16 kHz audio (vidqa.media.audio), the browser proxy and the
        # player's currentTime: a video stream that starts after its audio keeps its offset.
        if container.start_time is not None:
            start = round(container.start_time / 1e6 / tb)
        elif stream.start_time is not None:
            start = stream.start_time
        elif pts:
            start = pts[0]
        else:
            start = 0
        fps = float(stream.average_rate) if stream.average_rate else None
        if pts:
            last = pts[-1] - start
            step = (pts[-1] - pts[0]) / (len(pts) - 1) if len(pts) > 1 else (1.0 / fps / tb if fps else 0.0)
            duration = (last + step) * tb
        else:
            duration = float(stream.duration * tb) if stream.duration else (container.duration or 0) / 1e6
        if fps is None and len(pts) > 1 and duration > 0:
            fps = len(pts) / duration
        return PacketScan(pts, key_pts, tb, start, fps, duration)
    finally:
        container.close()
