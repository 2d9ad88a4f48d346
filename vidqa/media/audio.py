"""Audio in the process: decode any media file's audio to 16 kHz mono float32 with PyAV (no ffmpeg binary).

One decode feeds faster-whisper, YAMNet and librosa alike::

    from vidqa.media.audio import load_audio
    samples = load_audio("clip.mp4")          # np.float32, 16 kHz mono, in [-1, 1]
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidqa.errors import CorruptMediaError, MediaError

__all__ = ['SAMPLE_RATE', 'DecodedAudio', 'decode_audio', 'load_audio', 'write_wav', 'read_wav']

SAMPLE_RATE = 16_000


@dataclass
class DecodedAudio:
    samples: np.ndarray
    """float32 mono at ``sample_rate``."""
    sample_rate: int
    track: int
    """Index (among audio streams) of the track decoded."""
    codec: str
    start_time: float
    """Presentation time (s) of the first decoded sample, relative to the container start."""

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def decode_audio(path: str | Path, *, sample_rate: int = SAMPLE_RATE, track: int = 0) -> DecodedAudio:
    """Decode audio track ``track`` of ``path`` to mono float32 at ``sample_rate``.

    Raises :class:`MediaError` when the file has no such audio track, :class:`CorruptMediaError` when it
    cannot be decoded.
    """
    import av

    try:
        container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError) as err:  # type: ignore[attr-defined]
        raise CorruptMediaError(f"Cannot open {Path(path).name} for audio: {err}") from err
    with container:
        streams = container.streams.audio
        if len(streams) <= track:
            raise MediaError(f"{Path(path).name} has {len(streams)} audio track(s); track {track} was asked for.")
        stream = streams[track]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks: list[np.ndarray] = []
        first_pts: float | None = None
        try:
            for frame in container.decode(stream):
                if first_pts is None and frame.pts is not None and frame.time_base is not None:
                    first_pts = float(frame.pts * frame.time_base)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as err:  # type: ignore[attr-defined]
            if not chunks:
                raise CorruptMediaError(f"Cannot decode the audio of {Path(path).name}: {err}") from err
            # keep what decoded: a truncated tail is reported through coverage, not as a failure
        samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
        start = container.start_time / 1e6 if container.start_time else 0.0
        offset = max(0.0, (first_pts or 0.0) - start)
        return DecodedAudio(samples, sample_rate, track, stream.codec_context.name, offset)


def load_audio(path: str | Path, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The first audio track of ``path`` as mono float32 samples at ``sample_rate`` (a WAV is read directly)."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"The audio file {p} is missing (moved or deleted?): ingest the video again to rebuild it.")
    if p.suffix.lower() == ".wav":
        try:
            samples, sr = read_wav(p)
        except (wave.Error, EOFError, ValueError):
            samples, sr = None, 0
        if samples is not None and sr == sample_rate:
            return samples
    return decode_audio(p, sample_rate=sample_rate).samples


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono float samples as 16-bit PCM WAV."""
    p = Path(path)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return p


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV as mono float32 and its sample rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError("only 16-bit PCM WAV is read directly")
        n, ch, sr = w.getnframes(), w.getnchannels(), w.getframerate()
        data = np.frombuffer(w.readframes(n), dtype="<i2").astype(np.float32) / 32768.0
    if ch > 1:
        data = data.reshape(-1, ch).mean(axis=1)
    return data, sr
