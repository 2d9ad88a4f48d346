"""Synthetic media for tests, generated with PyAV (no ffmpeg binary, no downloads).

Import it from any test module (pytest puts ``tests/`` on ``sys.path``)::

    from media_factory import make_video, make_audio, truncate

    clip = make_video(tmp_path / "clip.mp4", seconds=2, size=(320, 240), fps=25)
    hevc = make_video(tmp_path / "hevc.mkv", codec="hevc", audio=False)
    portrait = make_video(tmp_path / "phone.mp4", size=(320, 240), rotation=90)   # displays as 240x320
    vfr = make_video(tmp_path / "vfr.mp4", vfr=True)

Frames show a moving white square over a colour gradient, and the top-left 16x16 block's brightness encodes the
frame number (``frame_index * 8 % 256``), so tests can check order and seeking. Audio is a sine tone
(``tone_hz``, amplitude 0.3); extra audio tracks use ``tone_hz * (track + 1)``.

Encoders available in the PyAV wheel used here: libx264 (``h264``), libx265 (``hevc``), libvpx-vp9 (``vp9``),
libvpx (``vp8``), mpeg4, mjpeg; audio: aac, libopus (``opus``), libmp3lame (``mp3``), flac, pcm_s16le
(``pcm``). Not available: libaom-av1, libvorbis, libopenh264. Use :func:`has_encoder` to check.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

VIDEO_ENCODERS = {
    "h264": "libx264",
    "hevc": "libx265",
    "h265": "libx265",
    "vp9": "libvpx-vp9",
    "vp8": "libvpx",
    "mpeg4": "mpeg4",
    "mjpeg": "mjpeg",
}
AUDIO_ENCODERS = {
    "aac": "aac",
    "opus": "libopus",
    "mp3": "libmp3lame",
    "flac": "flac",
    "pcm": "pcm_s16le",
    "pcm_s16le": "pcm_s16le",
}
CONTAINER_FORMATS = {"mp4": "mp4", "m4v": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm", "avi": "avi",
                     "ts": "mpegts", "ogg": "ogg", "wav": "wav", "m4a": "mp4", "mp3": "mp3", "flac": "flac"}
DEFAULT_AUDIO = {"mp4": "aac", "mov": "aac", "matroska": "aac", "webm": "opus", "avi": "mp3", "mpegts": "aac",
                 "ogg": "opus", "wav": "pcm", "mp3": "mp3", "flac": "flac"}


def has_encoder(name: str) -> bool:
    """Whether PyAV can encode with ``name`` (a key of :data:`VIDEO_ENCODERS`/:data:`AUDIO_ENCODERS` or a codec)."""
    import av

    codec = VIDEO_ENCODERS.get(name) or AUDIO_ENCODERS.get(name) or name
    try:
        av.codec.Codec(codec, "w")
        return True
    except Exception:  # noqa: BLE001
        return False


def make_video(
    path: str | Path,
    *,
    seconds: float = 2.0,
    size: tuple[int, int] = (320, 240),
    fps: float = 25,
    codec: str = "h264",
    audio: bool = True,
    audio_codec: str | None = None,
    audio_tracks: int = 1,
    audio_seconds: float | None = None,
    sample_rate: int = 48_000,
    channels: int = 2,
    tone_hz: float = 440.0,
    rotation: int = 0,
    vfr: bool = False,
    container: str | None = None,
    pix_fmt: str | None = None,
    faststart: bool = False,
) -> Path:
    """Write a synthetic video to ``path`` and return it.

    ``size`` is the *stored* (width, height); ``rotation`` (0/90/180/270, clockwise, as in
    :class:`vidqa.records.Probe`) is written as a display matrix (mp4/mov), so the file *displays* rotated.
    ``vfr=True`` makes frame durations cycle through 1, 1 and 3 periods of ``1 / fps`` (so the average rate is
    ``fps * 3 / 5`` and the rate is genuinely variable). ``audio_seconds`` (default ``seconds``) lets the audio
    end early.
    ``container`` defaults from the suffix (mp4, mov, mkv, webm, avi, ts). ``faststart`` moves the MP4 index to the
    front (without it the ``moov`` box is at the end, so :func:`truncate` yields a "moov atom not found" file).
    """
    import av

    path = Path(path)
    fmt = container or CONTAINER_FORMATS.get(path.suffix.lower().lstrip("."), "mp4")
    vcodec = VIDEO_ENCODERS.get(codec, codec)
    width, height = size
    options = {"movflags": "+faststart"} if faststart and fmt in ("mp4", "mov") else {}
    out = av.open(str(path), "w", format=fmt, options=options)
    try:
        rate = Fraction(fps).limit_denominator(1001)
        tb = Fraction(1, 1000) if vfr else 1 / rate
        vs = out.add_stream(vcodec, rate=rate)
        vs.width, vs.height = width, height
        vs.pix_fmt = pix_fmt or ("yuvj420p" if vcodec == "mjpeg" else "yuv420p")
        vs.codec_context.time_base = tb
        vs.time_base = tb
        if vcodec == "libx265":
            vs.options = {"x265-params": "log-level=error"}
        if vcodec in ("libvpx", "libvpx-vp9"):
            vs.options = {"deadline": "realtime", "cpu-used": "8", "b": "500k"}
            vs.codec_context.bit_rate = 500_000
        if vcodec == "libx264":
            vs.options = {"preset": "ultrafast"}
        if rotation % 360:
            if fmt not in ("mp4", "mov"):
                raise ValueError("rotation is written as an MP4/MOV display matrix: use a .mp4 or .mov path")
            vs.set_display_rotation((-rotation) % 360)

        streams_a = []
        if audio:
            acodec = AUDIO_ENCODERS.get(audio_codec or DEFAULT_AUDIO.get(fmt, "aac"), audio_codec)
            for _ in range(audio_tracks):
                a = out.add_stream(acodec, rate=sample_rate)
                a.layout = "stereo" if channels == 2 else "mono"
                streams_a.append(a)
        a_total = int(round((seconds if audio_seconds is None else audio_seconds) * sample_rate))
        a_written = [0] * len(streams_a)

        # frame times
        times: list[float] = []
        t = 0.0
        pattern = [1, 1, 3]
        i = 0
        while t < seconds - 1e-9:
            times.append(t)
            step = pattern[i % 3] / fps if vfr else 1.0 / fps
            i += 1
            t = (i / fps) if not vfr else t + step
        yy, xx = np.mgrid[0:height, 0:width]
        base = np.stack([(xx * 255 // max(1, width - 1)), (yy * 255 // max(1, height - 1)),
                         np.full_like(xx, 96)], axis=-1).astype(np.uint8)
        sq = max(8, min(width, height) // 6)
        for n, ft in enumerate(times):
            img = base.copy()
            x0 = int((width - sq) * (ft / max(seconds, 1e-6)))
            y0 = (height - sq) // 2
            img[y0:y0 + sq, x0:x0 + sq] = 255
            img[:16, :16] = (n * 8) % 256
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = int(round(ft / tb))
            frame.time_base = tb
            for packet in vs.encode(frame):
                out.mux(packet)
            # audio up to this frame's end
            until = min(a_total, int(round((ft + 1.0 / fps) * sample_rate)))
            for k, a in enumerate(streams_a):
                a_written[k] = _write_audio(out, a, a_written[k], until, sample_rate, channels, tone_hz * (k + 1))
        for k, a in enumerate(streams_a):
            a_written[k] = _write_audio(out, a, a_written[k], a_total, sample_rate, channels, tone_hz * (k + 1))
        for packet in vs.encode():
            out.mux(packet)
        for a in streams_a:
            for packet in a.encode():
                out.mux(packet)
    except BaseException:
        out.close()
        path.unlink(missing_ok=True)
        raise
    out.close()
    return path


def make_audio(
    path: str | Path,
    *,
    seconds: float = 2.0,
    codec: str | None = None,
    sample_rate: int = 44_100,
    channels: int = 1,
    tone_hz: float = 440.0,
    container: str | None = None,
) -> Path:
    """Write an audio-only file (no video stream): a sine tone. Format from the suffix (wav, mp3, m4a, ogg...)."""
    import av

    path = Path(path)
    fmt = container or CONTAINER_FORMATS.get(path.suffix.lower().lstrip("."), "wav")
    acodec = AUDIO_ENCODERS.get(codec or DEFAULT_AUDIO.get(fmt, "pcm"), codec)
    with av.open(str(path), "w", format=fmt) as out:
        a = out.add_stream(acodec, rate=sample_rate)
        a.layout = "stereo" if channels == 2 else "mono"
        _write_audio(out, a, 0, int(seconds * sample_rate), sample_rate, channels, tone_hz)
        for packet in a.encode():
            out.mux(packet)
    return path


def truncate(src: str | Path, dest: str | Path, *, keep: float = 0.5) -> Path:
    """Copy the first ``keep`` fraction (0..1) or ``keep`` bytes (> 1) of ``src`` to ``dest``."""
    data = Path(src).read_bytes()
    n = int(len(data) * keep) if keep <= 1 else int(keep)
    Path(dest).write_bytes(data[:n])
    return Path(dest)


def tone(seconds: float, sample_rate: int = 16_000, hz: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    """A mono float32 sine tone."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _write_audio(out, stream, start: int, until: int, sample_rate: int, channels: int, hz: float) -> int:  # noqa: ANN001
    import av

    block = 1024
    n = start
    while n < until:
        m = min(block, until - n)
        t = (np.arange(n, n + m) / sample_rate).astype(np.float64)
        mono = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        data = np.tile(mono, (channels, 1)) if channels > 1 else mono[None, :]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="fltp",
                                           layout="stereo" if channels == 2 else "mono")
        frame.sample_rate = sample_rate
        frame.pts = n
        frame.time_base = Fraction(1, sample_rate)
        for packet in stream.encode(frame):
            out.mux(packet)
        n += m
    return n


def frame_at(video: str | Path, t: float) -> np.ndarray:
    """The first decoded frame of ``video`` at or after ``t`` seconds (the last one if ``t`` is past the end), BGR."""
    import av

    with av.open(str(video)) as c:
        s = c.streams.video[0]
        best = None
        for frame in c.decode(s):
            best = frame.to_ndarray(format="bgr24")
            if frame.pts is not None and float(frame.pts * s.time_base) >= t:
                break
    assert best is not None, f"{video} has no video frames"
    return best


def write_frames(
    path: str | Path,
    images: Iterable[np.ndarray],
    *,
    fps: int,
    options: dict[str, str] | None = None,
    rotation: int | None = None,
    pts_ms: Sequence[int] | None = None,
) -> Path:
    """Encode BGR ``images`` as an H.264 MP4 at ``fps`` (no audio); all images share the first one's size.

    ``rotation`` is the display rotation in PyAV's counter-clockwise degrees; ``pts_ms`` gives each frame its own
    time in milliseconds (variable frame rate) instead of frame ``i`` at ``i / fps``.
    """
    import av

    it = iter(images)
    first = next(it)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.height, s.width = first.shape[:2]
        s.pix_fmt = "yuv420p"
        s.options = dict(options or {})
        if pts_ms is not None:
            s.codec_context.time_base = Fraction(1, 1000)
            s.time_base = Fraction(1, 1000)
        if rotation:
            s.set_display_rotation(rotation)
        for i, img in enumerate(itertools.chain([first], it)):
            f = av.VideoFrame.from_ndarray(img, format="bgr24")
            if pts_ms is not None:
                f.pts, f.time_base = pts_ms[i], Fraction(1, 1000)
            else:
                f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return Path(path)
