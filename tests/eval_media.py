"""Test media for evaluation: a clip whose every answer is known, and an "oracle" model that really looks and
listens (decodes the JPEG frames and WAV audio it is sent), so the modality gate has something true to find.

Shared by tests/test_evaluate.py and tests/test_eval_store.py (test modules never import each other).
"""

from __future__ import annotations

import base64
import io
import json
import re
import wave
from fractions import Fraction

import numpy as np

COLOURS = {"red": (0, 0, 255), "blue": (255, 0, 0), "green": (0, 255, 0), "white": (255, 255, 255)}
SEGMENTS = [(0.0, 2.0, "red"), (2.0, 4.0, "blue"), (4.0, 6.0, "green"), (6.0, 10.0, "white")]
BEEP = (3.0, 3.4)
DURATION = 10.0


# --- media -----------------------------------------------------------------------------------------------------
def make_av_clip(path, *, size=(320, 240), fps=10, noise=False):
    """10 s: red / blue / green / white screens, and a 1 kHz beep at 3.0-3.4 s (silence elsewhere), H.264 + AAC."""
    import av

    w, h = size
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": "ultrafast", "g": str(fps)}
        a = out.add_stream("aac", rate=16_000)
        a.layout = "mono"
        for i in range(int(DURATION * fps)):
            t = i / fps
            colour = next(c for s, e, c in SEGMENTS if s <= t < e)
            img = np.zeros((h, w, 3), np.uint8)
            img[:] = COLOURS[colour]
            if noise:
                img = (img * 0.5 + rng.integers(0, 128, img.shape)).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            for p in vs.encode(frame):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        t = np.arange(int(DURATION * 16_000)) / 16_000
        audio = np.where((t >= BEEP[0]) & (t < BEEP[1]), 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0).astype(np.float32)
        for i in range(0, len(audio), 1024):
            block = audio[i:i + 1024]
            block = np.pad(block, (0, 1024 - len(block)))
            af = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="flt", layout="mono")
            af.sample_rate, af.pts, af.time_base = 16_000, i, Fraction(1, 16_000)
            for p in a.encode(af):
                out.mux(p)
        for p in a.encode():
            out.mux(p)
    return path


# --- the oracle "model" behind the fake server ------------------------------------------------------------
def colour_of(jpeg: bytes) -> str:
    import cv2

    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    mean = img.reshape(-1, 3).mean(axis=0)
    return min(COLOURS, key=lambda c: float(np.sum((mean - np.array(COLOURS[c])) ** 2)))


def beep_time(wav: bytes) -> float | None:
    with wave.open(io.BytesIO(wav)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
        sr = w.getframerate()
    hop = sr // 50
    rms = np.array([np.sqrt(np.mean(x[i:i + hop] ** 2)) for i in range(0, max(0, len(x) - hop), hop)])
    loud = np.nonzero(rms > 0.05)[0]
    return None if len(loud) == 0 else float(loud[0] * hop / sr)


def oracle_answer(parts: list[dict]) -> str:
    texts = [p["text"] for p in parts if p.get("type") == "text"]
    options = dict(re.findall(r"^([A-J])\) (.+)$", texts[-1], re.MULTILINE))
    by_text = {v: k for k, v in options.items()}
    t0 = float(re.search(r"runs from ([\d.]+) s", texts[0]).group(1))
    frames, beep, spoken = [], None, []
    for i, p in enumerate(parts):
        if p.get("type") == "image_url":
            label = parts[i - 1].get("text", "")
            t = float(re.search(r"Frame at ([\d.]+) s", label).group(1))
            frames.append((t, colour_of(base64.b64decode(p["image_url"]["url"].split(",", 1)[1]))))
        elif p.get("type") == "input_audio":
            rel = beep_time(base64.b64decode(p["input_audio"]["data"]))
            beep = None if rel is None else t0 + rel
        elif p.get("type") == "text" and ("Transcript" in p["text"] or "Speech:" in p["text"]):
            spoken += re.findall(r'"([^"]+)"', p["text"])
    for words in spoken:
        named = [o for o in by_text if re.search(rf"\b{o}\b", words)]
        if len(named) == 1:
            return by_text[named[0]]
    if frames and beep is not None:
        return by_text[min(frames, key=lambda f: abs(f[0] - beep))[1]]
    if frames and len({c for _, c in frames}) == 1:
        return by_text[frames[0][1]]
    return "A"  # no idea: position bias


def oracle(kind, req):
    content = req["messages"][-1]["content"]
    parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
    return json.dumps({"answer": oracle_answer(parts)})
