"""Accuracy of the processing core's cues on seeded clips with exact ground truth (issue #8).

Each seed makes one clip of the issue's family: real pedestrian footage (OpenCV's ``vtest.avi``) alternating with
plain and gradient backgrounds, drawn coloured shapes in several colours and counts (some appear or leave inside a
shot, some move), scoreboards and signs whose text changes, low-contrast cuts between plain backgrounds and fades
through black (not cuts); audio: real recorded prompts (Asterisk, with their transcripts), espeak sentences, real
referee whistles, crowd cheer and boo (Tux Football), a square-wave buzzer, and silences between them. The
ground truth is what was drawn and mixed, so it is exact.

The scorer prints, per cue kind, hits / total and false alarms:

- ``text``: a GT line is read exactly (whitespace-normalised, case-insensitive) by a text event overlapping its span;
  false alarm: a text event that matches no GT line shown at that time.
- ``colour``: each drawn shape's colour, as the majority colour of the region detections inside its box during its
  span; ``shape``: the same for its shape; false alarm: a region track (a shape, not a panel or ``other``) inside
  no drawn shape.
- ``count``: a GT count run (shape, colour, n, span) is exact when the count events give n over >= 80 % of the span;
  false alarm: a count run (shapes) that agrees with no GT run over half its length.
- ``audio``: whistle / crowd / buzzer with onset within +/-0.25 s; false alarms: such events matching no GT event,
  speech over a crowd/buzzer-only span, music, and rows overlapping silence rows by > 0.1 s.
- ``cuts`` within one frame; false alarms: cuts away from any GT cut (motion, fades).
- ``people``: footage shots with a person detection / person detections on plain or gradient shots.
- ``wer`` (with ``--wer``): transcript WER over the speech (contractions normalised).

    python benchmarks/accuracy.py                      # seeds 0-9, 85 s 720p clips
    python benchmarks/accuracy.py --seeds 0,1 --seconds 30
    python benchmarks/accuracy.py --engine tesseract   # compare the old OCR path
    python benchmarks/accuracy.py --legacy-visual      # the visual path as it was before issue #8
    python benchmarks/accuracy.py --wer                # also transcribe and report WER

Clips are cached in ``benchmarks/.cache/accuracy/``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache" / "accuracy"
DEB_CACHE = ROOT / "tests" / ".cache" / "debian"
RATE = 44_100
GENERATOR_VERSION = 4

SHAPE_COLOURS = {  # BGR, jittered per shape
    "red": (40, 40, 220), "orange": (0, 140, 255), "yellow": (0, 220, 245), "green": (50, 160, 40),
    "blue": (200, 90, 30), "purple": (150, 40, 130), "pink": (190, 140, 255), "brown": (40, 75, 130),
    "black": (20, 20, 20), "white": (250, 250, 250), "grey": (128, 128, 128),
}
TEAMS = ["HAWKS", "EAGLES", "VIKINGS", "PUMAS", "LIONS", "TIGERS", "SHARKS", "BEARS", "WOLVES", "RAVENS", "COMETS",
         "ROVERS"]
SIGNS = ["EXIT 4", "GATE 12", "PLATFORM 3", "NO PARKING", "TICKETS", "SECTION B", "ROW 17", "WAY OUT", "FINAL",
         "HALF TIME", "ENTRANCE 2", "PRESS AREA"]
SENTENCES = [
    "I am sorry, that's not what I asked for.",
    "The referee has stopped the game for a moment.",
    "Please take your seats, the second half will begin shortly.",
    "We are going to check the replay before the decision.",
    "It's a great evening for football in the city.",
    "They have scored twice in the last ten minutes.",
    "Do not leave your bags unattended in the stadium.",
    "The home side needs one more goal to win.",
    "Let's hear it for the players on the pitch.",
    "You will find the exit on your left after the gate.",
]
FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"]


# ----------------------------------------------------------------------------------------------------------------
# real media from Debian packages
def _debian(package: str, patterns: list[str]) -> list[Path]:
    sys.path.insert(0, str(ROOT))
    from vidqa.testing.samples import fetch_debian_files

    return fetch_debian_files(package, patterns, cache_dir=DEB_CACHE)


def _media() -> dict[str, Any]:
    import gzip

    from vidqa.media.audio import decode_audio

    (vtest,) = _debian("opencv-doc", ["usr/share/doc/opencv-doc/examples/data/vtest.avi"])
    fx = {p.stem: p for p in _debian("tuxfootball", [
        "usr/share/games/tuxfootball/sound/refwhistle*.wav", "usr/share/games/tuxfootball/sound/crowd*.wav"])}
    keys = ["check-number-dial-again", "cannot-complete-as-dialed", "conf-leaderhasleft", "dir-nomatch",
            "agent-loginok", "agent-newlocation", "auth-incorrect", "conf-getpin", "vm-goodbye", "vm-nomore",
            "pbx-invalid", "privacy-incorrect", "conf-onlyperson", "vm-password"]
    wavs = {p.stem: p for p in _debian("asterisk-core-sounds-en-wav",
                                       [f"usr/share/asterisk/sounds/en_US_f_Allison/{k}.wav" for k in keys])}
    (txt,) = _debian("asterisk-core-sounds-en", ["usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"])
    transcripts = {}
    with gzip.open(txt, "rt", errors="replace") as fh:
        for line in fh:
            if ": " in line and not line.startswith(";"):
                k, v = line.split(": ", 1)
                transcripts[k.strip()] = " ".join(v.split())
    def load(p: Path) -> np.ndarray:
        return _trim(decode_audio(p, sample_rate=RATE).samples.astype(np.float32))
    return {"vtest": vtest, "fx": {k: load(p) for k, p in fx.items()},
            "prompts": [(k, load(p), transcripts[k]) for k, p in sorted(wavs.items()) if k in transcripts]}


def _trim(x: np.ndarray, rel: float = 0.02) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > rel * max(1e-9, float(np.abs(x).max())))
    return x[loud[0]:loud[-1] + 1] if len(loud) else x[:0]


def _espeak(text: str, work: Path, rng: np.random.Generator) -> np.ndarray:
    from vidqa.media.audio import decode_audio

    wav = work / f"tts_{abs(hash(text)) % 10**8}.wav"
    voice = ["en-us", "en", "en-us+f3", "en-us+m3"][int(rng.integers(4))]
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(rng.integers(140, 170))), "-w", str(wav), text],
                   check=True, capture_output=True)
    return _trim(decode_audio(wav, sample_rate=RATE).samples.astype(np.float32))


def _buzzer(seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    y = np.sign(np.sin(2 * np.pi * hz * t)).astype(np.float32) * 0.3
    r = int(0.005 * RATE)
    y[:r] *= np.linspace(0, 1, r)
    y[-r:] *= np.linspace(1, 0, r)
    return y


# ----------------------------------------------------------------------------------------------------------------
# the clip
def _text_img(img: np.ndarray, text: str, x: int, y: int, h_px: int, colour: tuple[int, int, int], font: str
              ) -> tuple[int, int, int, int]:
    from PIL import Image, ImageDraw, ImageFont

    f = ImageFont.truetype(font, int(h_px / 0.73))
    pil = Image.fromarray(img[:, :, ::-1])
    d = ImageDraw.Draw(pil)
    x0, y0, x1, y1 = d.textbbox((x, y), text, font=f)
    d.text((x, y), text, font=f, fill=tuple(int(c) for c in colour[::-1]))
    img[:] = np.asarray(pil)[:, :, ::-1]
    return x0, y0, x1, y1


def _draw_shape(img: np.ndarray, shape: str, cx: int, cy: int, r: int, bgr: tuple[int, int, int]) -> None:
    import cv2

    if shape == "circle":
        cv2.circle(img, (cx, cy), r, bgr, -1, cv2.LINE_AA)
    elif shape == "square":
        cv2.rectangle(img, (cx - r, cy - r), (cx + r, cy + r), bgr, -1)
    elif shape == "rectangle":
        cv2.rectangle(img, (cx - int(1.7 * r), cy - r), (cx + int(1.7 * r), cy + r), bgr, -1)
    elif shape == "triangle":
        pts = np.array([[cx, cy - r], [cx - int(1.1 * r), cy + int(0.9 * r)], [cx + int(1.1 * r), cy + int(0.9 * r)]])
        cv2.fillPoly(img, [pts.astype(np.int32)], bgr, cv2.LINE_AA)


def _extent(shape: str, r: int) -> tuple[int, int]:
    return (int(1.7 * r), r) if shape == "rectangle" else ((int(1.1 * r), r) if shape == "triangle" else (r, r))


def plan_clip(seed: int, seconds: float, w: int, h: int, fps: int, media: dict[str, Any]) -> dict[str, Any]:
    """The random plan of one clip (scenes, shapes, panels, audio placements): deterministic in ``seed``."""
    from vidqa.analyze.colors import name_colour

    rng = np.random.default_rng(seed)
    n_frames = int(seconds * fps)
    scenes: list[dict[str, Any]] = []
    f = 0
    prev_bg = None
    while f < n_frames:
        length = int(rng.integers(int(4.5 * fps), int(9 * fps)))
        if n_frames - (f + length) < 3 * fps:
            length = n_frames - f
        kind = ["footage", "plain", "gradient"][int(rng.choice(3, p=[0.3, 0.4, 0.3]))]
        if scenes and scenes[-1]["kind"] == "footage" and kind == "footage":
            kind = "plain"
        sc: dict[str, Any] = {"kind": kind, "f0": f, "f1": f + length, "shapes": [], "panels": [],
                              "fade_in": False}
        if kind == "plain":
            if prev_bg is not None and scenes[-1]["kind"] == "plain" and rng.random() < 0.5:
                # a low-contrast cut: the next plain background is only slightly different
                d = rng.integers(-14, 15, 3)
                d[int(rng.integers(3))] = int(rng.choice([-1, 1])) * int(rng.integers(12, 20))
                bg = tuple(int(np.clip(c + dc, 0, 255)) for c, dc in zip(prev_bg, d))
                sc["low_contrast"] = True
            else:
                bg = tuple(int(v) for v in rng.integers(30, 226, 3))
            sc["bg"] = bg
            prev_bg = bg
        elif kind == "gradient":
            sc["bg"] = tuple(int(v) for v in rng.integers(20, 236, 3))
            sc["bg2"] = tuple(int(v) for v in rng.integers(20, 236, 3))
            sc["vertical"] = bool(rng.random() < 0.5)
            prev_bg = None
        else:
            sc["offset"] = int(rng.integers(0, 600))
            prev_bg = None
        if scenes and rng.random() < 0.15 and kind != "plain":
            sc["fade_in"] = True  # a fade through black from the previous shot: not a hard cut
        bg_names = set()
        if kind in ("plain", "gradient"):
            bg_names = {name_colour(sc["bg"], space="bgr")} | ({name_colour(sc["bg2"], space="bgr")}
                                                               if kind == "gradient" else set())
        occupied: list[tuple[int, int, int, int]] = []
        # a panel (scoreboard or sign), sometimes with changing text
        if rng.random() < (0.6 if kind == "footage" else 0.5):
            if rng.random() < 0.5:
                a, b = rng.choice(len(TEAMS), 2, replace=False)
                s1, s2 = int(rng.integers(0, 4)), int(rng.integers(0, 4))
                texts = [f"{TEAMS[a]} {s1} - {s2} {TEAMS[b]}"]
                if rng.random() < 0.6:
                    texts.append(f"{TEAMS[a]} {s1 + 1} - {s2} {TEAMS[b]}")
            else:
                texts = [SIGNS[int(rng.integers(len(SIGNS)))]]
                if rng.random() < 0.3:
                    texts.append(SIGNS[int(rng.integers(len(SIGNS)))])
                    if texts[1] == texts[0]:
                        texts.pop()
            h_px = int(rng.integers(int(0.035 * h), int(0.07 * h)))
            plate = tuple(int(v) for v in (rng.integers(0, 60, 3) if rng.random() < 0.7 else rng.integers(200, 256, 3)))
            ink = (255, 255, 255) if sum(plate) < 300 else (15, 15, 15)
            if rng.random() < 0.3:
                ink = (0, 220, 245) if sum(plate) < 300 else (30, 30, 160)
            px, py = int(rng.integers(int(0.03 * w), int(0.35 * w))), int(rng.integers(int(0.03 * h), int(0.25 * h)))
            switch = int(rng.integers(sc["f0"] + 2 * fps, sc["f1"] - 2 * fps)) if len(texts) > 1 and length > 5 * fps \
                else None
            if switch is None:
                texts = texts[:1]
            sc["panels"].append({"texts": texts, "switch": switch, "h": h_px, "plate": plate, "ink": ink,
                                 "x": px, "y": py, "font": FONTS[int(rng.integers(len(FONTS)))]})
            occupied.append((px - 20, py - 20, px + int(0.6 * w), py + 3 * h_px))
        # shape groups
        n_groups = int(rng.integers(1, 3)) if kind != "footage" else int(rng.random() < 0.35)
        used = set()
        for _ in range(n_groups):
            shape = ["circle", "square", "rectangle", "triangle"][int(rng.integers(4))]
            names = [c for c in SHAPE_COLOURS if c not in bg_names and (shape, c) not in used]
            if kind == "footage":
                names = [c for c in names if c not in ("grey", "black", "white", "brown")]
            colour = names[int(rng.integers(len(names)))]
            used.add((shape, colour))
            count = int(rng.integers(1, 5))
            r = int(rng.integers(int(0.03 * h), int(0.075 * h)))
            change = None
            if length > 5 * fps and rng.random() < 0.4:
                change = (int(rng.integers(sc["f0"] + 2 * fps, sc["f1"] - 2 * fps)), int(rng.choice([-1, 1])))
                if count == 1:
                    change = (change[0], 1)
            members = []
            for k in range(count + (1 if change and change[1] > 0 else 0)):
                for _try in range(200):
                    ex, ey = _extent(shape, r)
                    cx, cy = int(rng.integers(ex + 10, w - ex - 10)), int(rng.integers(ey + 10, h - ey - 10))
                    box = (cx - ex - 12, cy - ey - 12, cx + ex + 12, cy + ey + 12)
                    if all(box[2] < o[0] or box[0] > o[2] or box[3] < o[1] or box[1] > o[3] for o in occupied):
                        break
                else:
                    continue
                occupied.append(box)
                for _try in range(20):  # a shade of the colour that still carries its name
                    jit = rng.integers(-12, 13, 3)
                    bgr = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(SHAPE_COLOURS[colour], jit))
                    if name_colour(bgr, space="bgr") == colour:
                        break
                else:
                    bgr = SHAPE_COLOURS[colour]
                m0, m1 = sc["f0"], sc["f1"]
                if change and change[1] > 0 and k == count:
                    m0 = change[0]  # appears mid-shot
                if change and change[1] < 0 and k == count - 1:
                    m1 = change[0]  # leaves mid-shot
                members.append({"cx": cx, "cy": cy, "r": r, "bgr": bgr, "f0": m0, "f1": m1})
            sc["shapes"].append({"shape": shape, "colour": colour, "members": members})
        scenes.append(sc)
        f += length

    # audio plan
    events = []
    t = float(rng.uniform(0.4, 1.2))
    kinds = ["prompt", "espeak", "whistle", "cheer", "boo", "buzzer"]
    bag: list[str] = []
    while t < seconds - 2.5:
        if not bag:
            bag = list(rng.permutation(kinds))
        k = bag.pop()
        if k == "prompt":
            i = int(rng.integers(len(media["prompts"])))
            events.append({"kind": "speech", "src": "prompt", "i": i, "t": t})
            dur = len(media["prompts"][i][1]) / RATE
        elif k == "espeak":
            i = int(rng.integers(len(SENTENCES)))
            events.append({"kind": "speech", "src": "espeak", "i": i, "t": t})
            dur = 2.8
        elif k == "whistle":
            name = ["refwhistleshort", "refwhistlelong", "refwhistletwice", "refwhistleend"][int(rng.integers(4))]
            events.append({"kind": "whistle", "src": name, "t": t})
            dur = len(media["fx"][name]) / RATE
        elif k in ("cheer", "boo"):
            name = "crowdcheer" if k == "cheer" else "crowdboo"
            seg = float(min(len(media["fx"][name]) / RATE, rng.uniform(2.0, 4.0)))
            events.append({"kind": "crowd", "src": name, "t": t, "seconds": seg})
            dur = seg
        else:
            seg = float(rng.uniform(0.6, 1.6))
            events.append({"kind": "buzzer", "src": "square", "t": t, "seconds": seg, "hz": float(rng.uniform(250, 700))})
            dur = seg
        events[-1]["gain"] = float(rng.uniform(0.35, 0.8))
        t += dur + float(rng.uniform(1.2, 3.0))
    return {"seed": seed, "seconds": seconds, "w": w, "h": h, "fps": fps, "scenes": scenes, "audio": events}


def _background(sc: dict[str, Any], w: int, h: int, vt_frames: list[np.ndarray], fi: int) -> np.ndarray:
    import cv2

    if sc["kind"] == "plain":
        return np.full((h, w, 3), sc["bg"], np.uint8)
    if sc["kind"] == "gradient":
        a, b = np.array(sc["bg"], np.float32), np.array(sc["bg2"], np.float32)
        ramp = np.linspace(0, 1, h if sc["vertical"] else w, dtype=np.float32)
        line = a[None] * (1 - ramp[:, None]) + b[None] * ramp[:, None]
        img = np.repeat(line[:, None], w, 1) if sc["vertical"] else np.repeat(line[None], h, 0)
        return img.astype(np.uint8)
    src = vt_frames[(sc["offset"] + (fi - sc["f0"]) * 10 // 25) % len(vt_frames)]
    return cv2.resize(src, (w, h), interpolation=cv2.INTER_LINEAR)


def render_clip(plan: dict[str, Any], media: dict[str, Any], path: Path, work: Path) -> dict[str, Any]:
    """Draw and mix ``plan`` into ``path`` (H.264 + AAC, 1 s GOP); return the ground truth."""
    import av
    import cv2

    w, h, fps, seconds = plan["w"], plan["h"], plan["fps"], plan["seconds"]
    n_frames = int(seconds * fps)
    with av.open(str(media["vtest"])) as c:
        vt = [cv2.resize(fr.to_ndarray(format="bgr24"), (640, 480)) for _, fr in zip(range(800), c.decode(video=0))]
    truth: dict[str, Any] = {"seed": plan["seed"], "duration": n_frames / fps, "fps": fps, "width": w, "height": h,
                             "text": [], "shapes": [], "counts": [], "scene_cuts": [], "footage": [], "plain": [],
                             "audio_events": [], "speech": [], "silence": []}
    fade = int(0.6 * fps)
    for i, sc in enumerate(plan["scenes"]):
        t0, t1 = sc["f0"] / fps, sc["f1"] / fps
        (truth["footage"] if sc["kind"] == "footage" else truth["plain"]).append([t0, t1])
        if i > 0 and not sc["fade_in"]:
            truth["scene_cuts"].append(round(t0, 4))
        for p in sc["panels"]:
            bounds = [sc["f0"], p["switch"], sc["f1"]] if p["switch"] else [sc["f0"], sc["f1"]]
            for k, text in enumerate(p["texts"]):
                truth["text"].append({"text": text, "start": bounds[k] / fps, "end": bounds[k + 1] / fps})
        for g in sc["shapes"]:
            for m in g["members"]:
                ex, ey = _extent(g["shape"], m["r"])
                truth["shapes"].append({"shape": g["shape"], "colour": g["colour"], "start": m["f0"] / fps,
                                        "end": m["f1"] / fps,
                                        "box": [(m["cx"] - ex) / w, (m["cy"] - ey) / h, (m["cx"] + ex) / w,
                                                (m["cy"] + ey) / h]})
            edges = sorted({sc["f0"], sc["f1"], *[m["f0"] for m in g["members"]], *[m["f1"] for m in g["members"]]})
            for a, b in zip(edges, edges[1:]):
                n = sum(1 for m in g["members"] if m["f0"] <= a and m["f1"] >= b)
                if n:
                    truth["counts"].append({"shape": g["shape"], "colour": g["colour"], "count": n,
                                            "start": a / fps, "end": b / fps})
    # video
    tmp = path.with_suffix(".part.mp4")
    out = av.open(str(tmp), "w")
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    vs.options = {"preset": "veryfast", "crf": "22", "g": str(fps)}
    aus = out.add_stream("aac", rate=RATE, layout="mono")
    scene_of = np.zeros(n_frames, int)
    for i, sc in enumerate(plan["scenes"]):
        scene_of[sc["f0"]:sc["f1"]] = i
    cache: dict[tuple[int, Any], np.ndarray] = {}
    for fi in range(n_frames):
        si = int(scene_of[fi])
        sc = plan["scenes"][si]
        key = None
        if sc["kind"] != "footage":
            key = (si, tuple((m["f0"] <= fi < m["f1"]) for g in sc["shapes"] for m in g["members"]),
                   tuple(fi >= (p["switch"] or 10**9) for p in sc["panels"]))
        if key is not None and key in cache:
            img = cache[key].copy()
        else:
            img = _background(sc, w, h, vt, fi).copy()
            for g in sc["shapes"]:
                for m in g["members"]:
                    if m["f0"] <= fi < m["f1"]:
                        _draw_shape(img, g["shape"], m["cx"], m["cy"], m["r"], m["bgr"])
            for p in sc["panels"]:
                text = p["texts"][1] if p["switch"] and fi >= p["switch"] else p["texts"][0]
                pad = int(0.35 * p["h"])
                from PIL import ImageFont
                f = ImageFont.truetype(p["font"], int(p["h"] / 0.73))
                x0, y0, x1, y1 = f.getbbox(text)
                cv2.rectangle(img, (p["x"] - pad, p["y"] + y0 - pad), (p["x"] + x1 + pad, p["y"] + y1 + pad), p["plate"], -1)
                _text_img(img, text, p["x"], p["y"], p["h"], p["ink"], p["font"])
            if key is not None:
                cache[key] = img.copy()
        if sc["fade_in"] and fi - sc["f0"] < fade:
            img = (img.astype(np.float32) * ((fi - sc["f0"] + 1) / (fade + 1))).astype(np.uint8)
        nxt = plan["scenes"][si + 1] if si + 1 < len(plan["scenes"]) else None
        if nxt is not None and nxt["fade_in"] and sc["f1"] - fi <= fade:
            img = (img.astype(np.float32) * ((sc["f1"] - fi) / (fade + 1))).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts, frame.time_base = fi, Fraction(1, fps)
        for pk in vs.encode(frame):
            out.mux(pk)
    for pk in vs.encode():
        out.mux(pk)
    # audio
    rng = np.random.default_rng(plan["seed"] + 1000)
    total = int(round(n_frames / fps * RATE))
    audio = (rng.standard_normal(total) * 10 ** (-78 / 20)).astype(np.float32)  # a faint noise floor
    spans = []
    for ev in plan["audio"]:
        if ev["kind"] == "speech" and ev["src"] == "prompt":
            x = media["prompts"][ev["i"]][1]
            text = media["prompts"][ev["i"]][2]
        elif ev["kind"] == "speech":
            text = SENTENCES[ev["i"]]
            x = _espeak(text, work, np.random.default_rng(plan["seed"] * 100 + ev["i"]))
        elif ev["kind"] == "whistle":
            x = media["fx"][ev["src"]]
        elif ev["kind"] == "crowd":
            x = media["fx"][ev["src"]][: int(ev["seconds"] * RATE)].copy()
            r = int(0.05 * RATE)
            x[-r:] *= np.linspace(1, 0, r)
        else:
            x = _buzzer(ev["seconds"], ev["hz"])
        x = x / max(1e-6, float(np.abs(x).max())) * ev["gain"]
        a = int(round(ev["t"] * RATE))
        b = min(total, a + len(x))
        if b <= a:
            continue
        audio[a:b] += x[: b - a]
        start, end = a / RATE, b / RATE
        spans.append((start, end))
        row = {"kind": ev["kind"], "start": round(start, 3), "end": round(end, 3), "source": ev["src"]}
        if ev["kind"] == "speech":
            truth["speech"].append({"text": text, "start": row["start"], "end": row["end"], "source": ev["src"]})
        else:
            truth["audio_events"].append(row)
    prev = 0.0
    for s0, s1 in sorted(spans) + [(truth["duration"], truth["duration"])]:
        if s0 - prev >= 0.5:
            truth["silence"].append({"start": round(prev, 3), "end": round(s0, 3)})
        prev = max(prev, s1)
    pts = 0
    for s in range(0, total, 1024):
        chunk = np.ascontiguousarray(audio[s:s + 1024].reshape(1, -1))
        af = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        af.sample_rate, af.pts, af.time_base = RATE, pts, Fraction(1, RATE)
        pts += chunk.shape[1]
        for pk in aus.encode(af):
            out.mux(pk)
    for pk in aus.encode():
        out.mux(pk)
    out.close()
    tmp.rename(path)
    return truth


def make_clip(seed: int, *, seconds: float = 85.0, size: tuple[int, int] = (1280, 720), fps: int = 25,
              cache: Path = CACHE) -> tuple[Path, dict[str, Any]]:
    """The clip of ``seed`` and its ground truth (cached)."""
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"acc-v{GENERATOR_VERSION}-s{seed}-{seconds:g}s-{size[0]}x{size[1]}"
    mp4, js = cache / f"{stem}.mp4", cache / f"{stem}.json"
    if mp4.exists() and js.exists():
        return mp4, json.loads(js.read_text())
    media = _media()
    plan = plan_clip(seed, seconds, size[0], size[1], fps, media)
    work = cache / f".work-{seed}"
    work.mkdir(exist_ok=True)
    try:
        truth = render_clip(plan, media, mp4, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    js.write_text(json.dumps(truth, indent=1))
    return mp4, truth


# ----------------------------------------------------------------------------------------------------------------
# running the core and scoring
def run_core(mp4: Path, truth: dict[str, Any], *, engine: str = "auto", wer: bool = False, visual: Any = None,
             audio_settings: Any = None) -> dict[str, Any]:
    """Visual events, audio events (and transcript with ``wer``) of one clip, with the seconds each took."""
    from types import SimpleNamespace

    from vidqa.analyze.audio_events import detect_audio_events
    from vidqa.analyze.visual import VisualSettings, analyze_visual
    from vidqa.media.audio import load_audio

    video = SimpleNamespace(id=mp4.stem, rotation=0, duration=truth["duration"], fps=truth["fps"])
    settings = visual or VisualSettings(ocr_engine=engine)
    t0 = time.perf_counter()
    vis = analyze_visual(mp4, video, settings, progress=False)
    t1 = time.perf_counter()
    samples = load_audio(mp4)
    aud = detect_audio_events(samples, settings=audio_settings, progress=False)
    t2 = time.perf_counter()
    out = {"visual": vis, "audio": aud, "seconds": {"visual": t1 - t0, "audio": t2 - t1}}
    if wer:
        from vidqa.analyze.transcribe import transcribe

        out["transcript"] = transcribe(samples, progress=False)
        out["seconds"]["transcribe"] = time.perf_counter() - t2
    return out


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().upper()


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def score(truth: dict[str, Any], res: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per cue kind: ``hits``, ``total``, ``false`` (false alarms) and extra figures."""
    vis, aud = res["visual"], res["audio"]
    fps = truth["fps"]
    rows: dict[str, dict[str, float]] = {}

    # text
    texts = [e for e in vis if e.kind == "text"]
    hits = sum(1 for g in truth["text"] if any(_norm(e.label) == _norm(g["text"]) and
                                                _overlap(e.t, e.end or e.t + 0.01, g["start"], g["end"]) > 0
                                                for e in texts))
    fa = sum(1 for e in texts if not any(_norm(e.label) == _norm(g["text"]) and
                                         _overlap(e.t, e.end or e.t + 0.01, g["start"], g["end"]) > 0
                                         for g in truth["text"]))
    rows["text"] = {"hits": hits, "total": len(truth["text"]), "false": fa}

    # colour and shape of each drawn shape
    regions = [e for e in vis if e.kind == "region"]
    ch = sh = 0
    for g in truth["shapes"]:
        x0, y0, x1, y1 = g["box"]
        inside = [e for e in regions if g["start"] <= e.t < g["end"]
                  and x0 <= (e.box[0] + e.box[2]) / 2 <= x1 and y0 <= (e.box[1] + e.box[3]) / 2 <= y1]
        if inside:
            ch += Counter(e.attributes["colour"] for e in inside).most_common(1)[0][0] == g["colour"]
            sh += Counter(e.label for e in inside).most_common(1)[0][0] == g["shape"]
    # false alarms: distinct spurious shapes (tracks), not the rows of every frame that shows one
    fa_regions = len({e.track_id if e.track_id is not None else id(e) for e in regions
                      if not e.attributes.get("panel") and e.label != "other" and not any(
                          g["start"] <= e.t < g["end"] and g["box"][0] <= (e.box[0] + e.box[2]) / 2 <= g["box"][2]
                          and g["box"][1] <= (e.box[1] + e.box[3]) / 2 <= g["box"][3] for g in truth["shapes"])})
    rows["colour"] = {"hits": ch, "total": len(truth["shapes"]), "false": fa_regions}
    rows["shape"] = {"hits": sh, "total": len(truth["shapes"]), "false": fa_regions}

    # counts
    counts = [e for e in vis if e.kind == "count" and e.attributes.get("shape")]
    by_key: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for e in counts:
        by_key[(e.label, e.attributes["colour"])].append(e)

    def agree(key: tuple[str, str], n: int, a: float, b: float) -> float:
        return sum(_overlap(e.t, e.end, a, b) for e in by_key.get(key, []) if e.attributes["count"] == n)

    ok = sum(1 for g in truth["counts"]
             if agree((g["shape"], g["colour"]), g["count"], g["start"], g["end"]) >= 0.8 * (g["end"] - g["start"]))
    gt_by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for g in truth["counts"]:
        gt_by_key[(g["shape"], g["colour"])].append(g)
    fa = sum(1 for e in counts if sum(_overlap(e.t, e.end, g["start"], g["end"])
                                      for g in gt_by_key.get((e.label, e.attributes["colour"]), [])
                                      if g["count"] == e.attributes["count"]) < 0.5 * (e.end - e.t))
    rows["count"] = {"hits": ok, "total": len(truth["counts"]), "false": fa}

    # audio events
    kinds = ("whistle", "crowd", "buzzer")
    gt = [g for g in truth["audio_events"] if g["kind"] in kinds]
    pred = [e for e in aud if e.kind in kinds]
    hits, errs = 0, []
    for g in gt:
        cands = [e for e in pred if e.kind == g["kind"] and _overlap(e.start, e.end, g["start"] - 0.3, g["end"] + 0.3) > 0]
        if cands:
            best = min(cands, key=lambda e: abs(e.start - g["start"]))
            errs.append(abs(best.start - g["start"]))
            hits += abs(best.start - g["start"]) <= 0.25
    fa = sum(1 for e in pred if not any(e.kind == g["kind"] and _overlap(e.start, e.end, g["start"] - 0.3,
                                                                          g["end"] + 0.3) > 0 for g in gt))
    speech_gt = truth["speech"]
    fa_speech = sum(1 for e in aud if e.kind == "speech" and not any(
        _overlap(e.start, e.end, s["start"], s["end"]) > 0 for s in speech_gt))
    music = sum(1 for e in aud if e.kind == "music")
    sil = [e for e in aud if e.kind == "silence"]
    overl = sum(1 for e in aud if e.kind in ("speech", "buzzer", "whistle", "crowd")
                and any(_overlap(e.start, e.end, s.start, s.end) > 0.1 for s in sil))
    rows["audio"] = {"hits": hits, "total": len(gt), "false": fa + fa_speech + music + overl,
                     "onset_err": float(np.mean(errs)) if errs else float("nan"),
                     "speech_fa": fa_speech, "music": music, "silence_overlaps": overl}
    sp_hits = sum(1 for s in speech_gt if any(e.kind == "speech" and abs(e.start - s["start"]) <= 0.25 for e in aud))
    rows["speech onset"] = {"hits": sp_hits, "total": len(speech_gt), "false": fa_speech}
    si_hits = sum(1 for s in truth["silence"] if any(abs(e.start - s["start"]) <= 0.25 and abs(e.end - s["end"]) <= 0.25
                                                    for e in sil))
    rows["silence"] = {"hits": si_hits, "total": len(truth["silence"]), "false": sum(
        1 for e in sil if not any(_overlap(e.start, e.end, s["start"], s["end"]) > 0 for s in truth["silence"]))}

    # cuts
    cuts = [e.t for e in vis if e.kind == "scene_cut"]
    tol = 1.0 / fps + 1e-6
    hits = sum(1 for g in truth["scene_cuts"] if any(abs(c - g) <= tol for c in cuts))
    fa = sum(1 for c in cuts if not any(abs(c - g) <= tol for g in truth["scene_cuts"]))
    rows["cuts"] = {"hits": hits, "total": len(truth["scene_cuts"]), "false": fa}

    # people
    people = [e for e in vis if e.kind == "object" and e.label == "person"]
    hits = sum(1 for a, b in truth["footage"] if any(a <= e.t < b for e in people))
    fa = sum(1 for e in people if any(a + 0.7 <= e.t < b - 0.7 for a, b in truth["plain"]))
    rows["people"] = {"hits": hits, "total": len(truth["footage"]), "false": fa}

    if "transcript" in res:
        from vidqa.analyze.textmetrics import word_errors, normalize_text

        ref = " ".join(normalize_text(s["text"]) for s in speech_gt)
        hyp = " ".join(normalize_text(s.text) for s in res["transcript"])
        d, n = word_errors(ref, hyp)
        rows["wer"] = {"hits": n - d, "total": n, "false": 0, "wer": d / max(1, n)}
    return rows


GOALS = {"text": 0.9, "colour": 0.9, "count": 0.9, "audio": 0.9, "cuts": 0.9}


def print_table(per_seed: dict[int, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    kinds: list[str] = []
    for rows in per_seed.values():
        kinds += [k for k in rows if k not in kinds]
    total: dict[str, dict[str, float]] = {}
    seeds = sorted(per_seed)
    head = f"{'cue':14s} " + " ".join(f"{'seed ' + str(s):>12s}" for s in seeds) + f" {'all':>12s} {'rate':>6s}  false"
    print(head)
    for k in kinds:
        cells, hits, tot, fa = [], 0.0, 0.0, 0.0
        for s in seeds:
            r = per_seed[s].get(k)
            if r is None:
                cells.append(f"{'-':>12s}")
                continue
            cells.append(f"{int(r['hits'])}/{int(r['total'])} f{int(r['false'])}".rjust(12))
            hits, tot, fa = hits + r["hits"], tot + r["total"], fa + r["false"]
        rate = hits / tot if tot else float("nan")
        total[k] = {"hits": hits, "total": tot, "false": fa, "rate": rate}
        goal = GOALS.get(k)
        mark = "" if goal is None else ("  ok" if rate >= goal else f"  < {goal:.0%}")
        print(f"{k:14s} " + " ".join(cells) + f" {f'{int(hits)}/{int(tot)}':>12s} {rate:6.1%}  {int(fa)}{mark}")
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 0,3,5")
    ap.add_argument("--seconds", type=float, default=85.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--engine", default="auto", help="OCR engine: auto, rapidocr or tesseract")
    ap.add_argument("--wer", action="store_true", help="also transcribe (slow) and report WER")
    ap.add_argument("--json", type=Path, default=None, help="write the per-seed figures here")
    ap.add_argument("--legacy-visual", action="store_true",
                    help="the visual path as before issue #8: full-frame tesseract, no regions, tracks, counts or "
                         "adaptive cuts (today's gate and span logic; the old audio code is not kept)")
    args = ap.parse_args()
    seeds: list[int] = []
    for part in args.seeds.split(","):
        a, _, b = part.partition("-")
        seeds += list(range(int(a), int(b) + 1)) if b else [int(a)]
    size = tuple(int(v) for v in args.size.lower().split("x"))
    per_seed, secs = {}, Counter()
    for s in seeds:
        mp4, truth = make_clip(s, seconds=args.seconds, size=size)  # type: ignore[arg-type]
        visual = None
        if args.legacy_visual:
            from vidqa.analyze.visual import VisualSettings

            visual = VisualSettings(ocr_engine="tesseract", regions=False, tracks=False, counts=False,
                                    adaptive_cuts=False, reuse_static=False)
        res = run_core(mp4, truth, engine=args.engine, wer=args.wer, visual=visual)
        secs.update(res["seconds"])
        per_seed[s] = score(truth, res)
        print(f"seed {s}: {mp4.name} visual {res['seconds']['visual']:.1f} s, audio {res['seconds']['audio']:.1f} s",
              flush=True)
    print()
    total = print_table(per_seed)
    media = args.seconds * len(seeds)
    print("\nspeed: " + ", ".join(f"{k} {media / v:.1f}x realtime" for k, v in secs.items()))
    if args.json:
        args.json.write_text(json.dumps({"per_seed": per_seed, "total": total}, indent=1, default=float))


if __name__ == "__main__":
    main()
