"""Media for the player's tests and benchmark: espeak-ng speech, MediaRecorder-like WebM/Opus, numbered clips.

Every frame of :func:`make_clip` carries its own index twice: as big digits, and as a binary barcode along the
bottom edge (:func:`frame_code_cells` draws it, :func:`read_frame_code` reads it back from a screenshot or a canvas
capture). The barcode is the independent truth the browser tests measure stamps and the timer overlay against: it
comes from the pixels on screen, not from any time the player computes.

Shared by tests/test_notes.py, tests/test_note_rules.py, tests/test_player_browser.py and
benchmarks/bench_player.py.
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
CLIP = "clip-coded.mp4"
"""Cache name of the default test clip (10 s, 25 fps, 320x240, frame barcodes)."""
CODE_BITS = 16
_CELLS = CODE_BITS + 4  # white guard, black guard, 16 data bits (MSB first, white = 1), parity, black guard
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
    """An H.264/AAC MP4 (1 s GOP) whose frames show their index (digits and a bottom barcode), with espeak speech
    from 1 s."""
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
        draw_frame_code(img, i)
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


def frame_code_cells(index: int) -> list[int]:
    """The barcode cells of frame ``index`` (1 = white): guards, 16 bits MSB first, even parity, guard."""
    if not 0 <= index < 2**CODE_BITS:
        raise ValueError(f"frame index {index} does not fit {CODE_BITS} bits")
    bits = [(index >> (CODE_BITS - 1 - k)) & 1 for k in range(CODE_BITS)]
    return [1, 0, *bits, sum(bits) % 2, 0]


def draw_frame_code(img: np.ndarray, index: int) -> None:
    """Draw frame ``index``'s barcode over the bottom sixth of ``img`` (H x W x 3, in place)."""
    h, w = img.shape[:2]
    top = h - h // 6
    for k, cell in enumerate(frame_code_cells(index)):
        x0, x1 = round(k * w / _CELLS), round((k + 1) * w / _CELLS)
        img[top:h, x0:x1] = 255 if cell else 0


def read_frame_code(img: np.ndarray) -> int | None:
    """The frame index in the barcode of ``img`` (the video picture alone, any scale, RGB/BGR/RGBA or grey).

    Each cell is sampled in its middle; the guards give the black and white levels. ``None`` when the guards or the
    parity do not check out (not a coded frame, or something covers the strip).
    """
    a = np.asarray(img, dtype=np.float32)
    grey = a[..., :3].mean(axis=2) if a.ndim == 3 else a
    h, w = grey.shape
    y0, y1 = h - h // 6 + h // 24, h - h // 24
    levels = []
    for k in range(_CELLS):
        x0, x1 = k * w / _CELLS, (k + 1) * w / _CELLS
        xa, xb = int(x0 + (x1 - x0) * 0.3), int(x1 - (x1 - x0) * 0.3)
        levels.append(float(grey[y0:y1, xa:max(xb, xa + 1)].mean()))
    white, black = levels[0], (levels[1] + levels[-1]) / 2
    if white - black < 80:
        return None
    cells = [1 if v > (white + black) / 2 else 0 for v in levels]
    if cells[0] != 1 or cells[1] != 0 or cells[-1] != 0:
        return None
    bits = cells[2:2 + CODE_BITS]
    if sum(bits) % 2 != cells[2 + CODE_BITS]:
        return None
    return int("".join(map(str, bits)), 2)


def video_picture(shot: np.ndarray, box_w: float, box_h: float, video_w: int, video_h: int) -> np.ndarray:
    """The picture inside a screenshot of a ``<video>`` element (``object-fit: contain`` letterboxing removed)."""
    sh, sw = shot.shape[:2]
    scale = min(box_w / video_w, box_h / video_h)
    pw, ph = video_w * scale * sw / box_w, video_h * scale * sh / box_h
    x0, y0 = (sw - pw) / 2, (sh - ph) / 2
    return shot[int(round(y0)):int(round(y0 + ph)), int(round(x0)):int(round(x0 + pw))]


def decode_png(data: bytes) -> np.ndarray:
    """A PNG (screenshot, canvas ``toDataURL``) as an RGB array."""
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not a PNG image")
    return img[..., ::-1]


def cached(name: str, build) -> Path:
    """``tests/.cache/player/<name>``, built once by ``build(path)``."""
    path = CACHE / name
    if not path.exists():
        build(path)
    return path


