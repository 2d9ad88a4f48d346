"""Media for the player's tests and benchmark: espeak-ng speech, MediaRecorder-like WebM/Opus, numbered clips.

Shared by tests/test_notes.py, tests/test_player_browser.py and benchmarks/bench_player.py.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache" / "player"
SPOKEN = "the red car stops near the blue door"
KEY_WORDS = ("red", "car", "blue", "door")


def espeak_wav(text: str, dest: str | Path, *, rate: int = 16_000, lead: float = 0.5, tail: float = 1.0) -> Path:
    """espeak-ng ``-v en-us`` speech as mono 16-bit WAV at ``rate``, with ``lead``/``tail`` seconds of silence."""
    from vidqa.media.audio import load_audio, write_wav

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as td:
        raw = Path(td) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True,
                       capture_output=True)
        x = load_audio(raw, sample_rate=rate)
    x = np.concatenate([np.zeros(int(lead * rate), np.float32), x, np.zeros(int(tail * rate), np.float32)])
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    write_wav(tmp, x, rate)
    os.replace(tmp, dest)
    return dest


def encode_webm_opus(wav: str | Path, dest: str | Path) -> Path:
    """A WAV as WebM/Opus (48 kHz mono): what Chromium's MediaRecorder produces."""
    import av

    from vidqa.media.audio import load_audio

    x = load_audio(wav)
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    out = av.open(str(tmp), "w", format="webm")
    stream = out.add_stream("libopus", rate=48000)
    stream.layout = "mono"
    frame = av.AudioFrame.from_ndarray((np.clip(x, -1, 1) * 32767).astype(np.int16).reshape(1, -1), format="s16",
                                       layout="mono")
    frame.sample_rate = 16000
    for f in av.AudioResampler(format="s16", layout="mono", rate=48000).resample(frame):
        for p in stream.encode(f):
            out.mux(p)
    for p in stream.encode(None):
        out.mux(p)
    out.close()
    os.replace(tmp, dest)
    return dest


def make_clip(dest: str | Path, *, seconds: float = 10.0, fps: int = 25, size: tuple[int, int] = (320, 240),
              speech: str = SPOKEN) -> Path:
    """An H.264/AAC MP4 (1 s GOP) whose frames show their index, with espeak speech from 1 s."""
    import av
    import cv2

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as td:
        from vidqa.media.audio import read_wav

        voice, _ = read_wav(espeak_wav(speech, Path(td) / "s.wav", rate=44100, lead=1.0))
    n_audio = int(seconds * 44100)
    audio = np.zeros(n_audio, np.float32)
    audio[: min(len(voice), n_audio)] = voice[:n_audio]
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    out = av.open(str(tmp), "w", format="mp4")
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height = size
    vs.pix_fmt = "yuv420p"
    vs.options = {"g": str(fps), "preset": "veryfast", "crf": "28"}
    ast = out.add_stream("aac", rate=44100)
    ast.layout = "mono"
    for i in range(round(seconds * fps)):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        img[:] = ((i * 7) % 255, 80, 255 - (i * 5) % 255)
        cv2.putText(img, str(i), (20, size[1] // 2 + 20), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (255, 255, 255), 4)
        for p in vs.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
            out.mux(p)
    for p in vs.encode(None):
        out.mux(p)
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=44100)
    step = 10240
    for k in range(0, n_audio, step):
        fr = av.AudioFrame.from_ndarray(audio[k:k + step].reshape(1, -1), format="flt", layout="mono")
        fr.sample_rate = 44100
        fr.pts = k
        fr.time_base = Fraction(1, 44100)
        for rf in resampler.resample(fr):
            for p in ast.encode(rf):
                out.mux(p)
    for p in ast.encode(None):
        out.mux(p)
    out.close()
    os.replace(tmp, dest)
    return dest


def cached(name: str, build) -> Path:
    """``tests/.cache/player/<name>``, built once by ``build(path)``."""
    path = CACHE / name
    if not path.exists():
        build(path)
    return path


