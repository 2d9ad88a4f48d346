"""The window's media, decoded with PyAV: frames spread over a window (one seek, then in order; never a seek per
frame), its 16 kHz audio, WAV bytes, and a re-encoded window clip. Decoded frames and JPEGs are memoised, so the
rotations and gate conditions of one question decode the window once.

Example::

    from vidqa.evaluate.window import window_frames, wav_bytes
    [(t, len(jpeg)) for t, jpeg in window_frames("clip.mp4", 10.0, 16.0, 4)]   # [(10.75, 41213), (12.25, ...), ...]
"""

from __future__ import annotations

import functools
import io
import os
import threading
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vidqa.errors import CorruptMediaError, MediaError

if TYPE_CHECKING:
    from vidqa.evaluate.transports import QuestionMedia

__all__ = ["SAMPLE_RATE", "wav_bytes", "window_audio", "window_frames", "write_clip"]

SAMPLE_RATE = 16_000


# --- frames ----------------------------------------------------------------------------------------------------
def _targets(t0: float, t1: float, n: int) -> list[float]:
    """``n`` sample times spread over the window (centres of ``n`` equal slices)."""
    step = (t1 - t0) / n
    return [t0 + (i + 0.5) * step for i in range(n)]


def _encode_jpeg(img: np.ndarray, max_side: int, quality: int) -> bytes:
    import cv2

    h, w = img.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise MediaError("Could not encode a frame as JPEG.")
    return buf.tobytes()


def _open_video(path: str):
    import av

    try:
        container = av.open(path)
    except (av.error.InvalidDataError, av.error.FFmpegError, OSError) as err:  # type: ignore[attr-defined]
        raise CorruptMediaError(f"Cannot open {Path(path).name} to sample frames: {err}") from None
    if not container.streams.video:
        container.close()
        raise MediaError(f"{Path(path).name} has no video stream to sample frames from.")
    return container


def _decode_window(path: str, t0: float, t1: float, keep) -> None:
    """Decode the video stream of ``path`` from just before ``t0`` to ``t1``; call ``keep(t, frame)`` for each frame
    (times from the container's start, as :mod:`vidqa.analyze.frames` and the stored audio count them)."""
    import av

    container = _open_video(path)
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "FRAME"
        origin = container.start_time / 1e6 if container.start_time else 0.0
        tb = stream.time_base
        try:
            if t0 > 0.5 and tb:
                container.seek(int((t0 + origin) / tb), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * tb) - origin
                if keep(t, frame) is False or t > t1:
                    break
        except av.error.FFmpegError as err:  # type: ignore[attr-defined]
            raise CorruptMediaError(f"Cannot decode {Path(path).name} around {t0:.1f} s: {err}") from None


def _rotate(img: np.ndarray, rotation: int) -> np.ndarray:
    k = (int(rotation) // 90) % 4
    return np.ascontiguousarray(np.rot90(img, k=-k)) if k else img


_DECODE_SIDE = 1920
"""Decoded window frames are kept at most this large (the JPEGs sent are made from them)."""


@functools.lru_cache(maxsize=6)
def _window_images(path: str, t0: float, t1: float, n: int, rotation: int) -> tuple[tuple[float, np.ndarray], ...]:
    import cv2

    targets = _targets(t0, t1, n)
    got: list[tuple[float, np.ndarray]] = []
    last: list[tuple[float, object]] = []

    def keep(t: float, frame) -> bool:
        last[:] = [(t, frame)]
        while len(got) < n and t >= targets[len(got)] - 1e-6:
            got.append((t, frame.to_ndarray(format="bgr24")))
        return len(got) < n

    _decode_window(path, t0, t1, keep)
    if len(got) < n and last:
        t, frame = last[0]
        img = frame.to_ndarray(format="bgr24")  # type: ignore[attr-defined]
        while len(got) < n:
            got.append((t, img))
    if not got:
        raise MediaError(f"No frames decoded from {Path(path).name} in {t0:.1f}-{t1:.1f} s.")
    out = []
    for t, img in got:
        img = _rotate(img, rotation)
        h, w = img.shape[:2]
        if max(h, w) > _DECODE_SIDE:
            scale = _DECODE_SIDE / max(h, w)
            img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        img.setflags(write=False)
        out.append((round(t, 3), img))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def window_frames(path: str, t0: float, t1: float, n: int, *, max_side: int = 768, quality: int = 80,
                  rotation: int = 0) -> tuple[tuple[float, bytes], ...]:
    """``n`` frames of ``path`` spread over ``[t0, t1]`` as ``(time, JPEG bytes)``, in display orientation.

    Each sample is the first frame at or after its target time (the last decoded frame when the window runs past
    the end). Memoised (decoded frames and JPEGs apart): the rotations and gate conditions of one question, and a
    re-encode at a smaller size, decode the window once.
    """
    if n < 1:
        return ()
    return tuple((t, _encode_jpeg(img, max_side, quality)) for t, img in _window_images(path, t0, t1, n, rotation))


# --- audio -----------------------------------------------------------------------------------------------------
_audio_lock = threading.Lock()


@functools.lru_cache(maxsize=2)
def _decoded_audio(path: str) -> np.ndarray:
    from vidqa.media.audio import load_audio

    return load_audio(path)


def window_audio(media: QuestionMedia, t0: float, t1: float) -> np.ndarray:
    """The 16 kHz mono samples of ``[t0, t1]`` (zeros past the end), from the stored WAV or decoded from the video."""
    n = max(0, round((t1 - t0) * SAMPLE_RATE))
    start = max(0, round(t0 * SAMPLE_RATE))
    if media.audio_path and Path(media.audio_path).is_file():
        try:
            with wave.open(str(media.audio_path), "rb") as w:
                if w.getframerate() == SAMPLE_RATE and w.getsampwidth() == 2:
                    total = w.getnframes()
                    w.setpos(min(start, total))
                    raw = w.readframes(max(0, min(n, total - start)))
                    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
                    if w.getnchannels() > 1:
                        data = data.reshape(-1, w.getnchannels()).mean(axis=1)
                    return np.pad(data, (0, max(0, n - len(data))))
        except (wave.Error, EOFError):
            pass
        source = str(media.audio_path)
    elif media.video_path and media.has_audio:
        source = str(media.video_path)
    else:
        raise MediaError("This question's video has no audio to send.")
    with _audio_lock:
        samples = _decoded_audio(source)
    data = samples[start:start + n]
    return np.pad(data, (0, max(0, n - len(data)))).astype(np.float32)


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM mono WAV bytes of ``samples``."""
    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


# --- clips -----------------------------------------------------------------------------------------------------
def write_clip(path: str, t0: float, t1: float, out: str | os.PathLike[str], *, audio: np.ndarray | None = None,
               max_side: int = 480, rotation: int = 0, fps_cap: float = 15.0) -> Path:
    """Re-encode ``[t0, t1]`` of ``path`` as H.264 (longest side ``max_side``, at most ``fps_cap`` frames a second)
    with ``audio`` (16 kHz mono samples of the window) as AAC, or without an audio track when ``audio`` is ``None``.
    Frames are encoded as they are decoded (nothing of the window is held in memory). Written to a temporary name,
    then renamed (a clip is never half-written)."""
    from fractions import Fraction

    import av
    import cv2

    out = Path(out)
    tmp = out.with_name(out.name + ".part.mp4")
    tb = Fraction(1, 1000)
    state: dict = {"first": None, "last": None, "n": 0}
    container = av.open(str(tmp), "w", format="mp4")

    def keep(t: float, frame) -> bool:
        if t < t0 - 1e-6:
            return True
        if t >= t1:
            return False
        if state["last"] is not None and t - state["last"] < 1.0 / fps_cap - 1e-6:
            return True
        img = _rotate(frame.to_ndarray(format="bgr24"), rotation)
        if state["first"] is None:
            h, w = img.shape[:2]
            scale = min(1.0, max_side / max(h, w))
            vs = container.add_stream("libx264", rate=Fraction(fps_cap).limit_denominator(1001))
            vs.width = max(2, round(w * scale) // 2 * 2)
            vs.height = max(2, round(h * scale) // 2 * 2)
            vs.pix_fmt = "yuv420p"
            vs.options = {"preset": "ultrafast"}
            vs.codec_context.time_base = tb
            a_stream = None
            if audio is not None:  # every stream is added before the first packet is muxed
                a_stream = container.add_stream("aac", rate=SAMPLE_RATE)
                a_stream.layout = "mono"
            state.update(first=t, stream=vs, audio=a_stream)
        vs = state["stream"]
        img = cv2.resize(img, (vs.width, vs.height), interpolation=cv2.INTER_AREA)
        vf = av.VideoFrame.from_ndarray(img, format="bgr24")
        vf.pts, vf.time_base = round((t - state["first"]) * 1000), tb
        for packet in vs.encode(vf):
            container.mux(packet)
        state["last"] = t
        state["n"] += 1
        return True

    try:
        _decode_window(path, t0, t1, keep)
        if not state["n"]:
            raise MediaError(f"No frames decoded from {Path(path).name} in {t0:.1f}-{t1:.1f} s to make a clip.")
        for packet in state["stream"].encode():
            container.mux(packet)
        a_stream = state["audio"]
        if a_stream is not None:
            samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
            chunk = 1024
            for i in range(0, len(samples), chunk):
                block = samples[i:i + chunk]
                if len(block) < chunk:
                    block = np.pad(block, (0, chunk - len(block)))
                af = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="flt", layout="mono")
                af.sample_rate, af.pts = SAMPLE_RATE, i
                for packet in a_stream.encode(af):
                    container.mux(packet)
            for packet in a_stream.encode():
                container.mux(packet)
    except BaseException:
        container.close()
        tmp.unlink(missing_ok=True)
        raise
    container.close()
    os.replace(tmp, out)
    return out
