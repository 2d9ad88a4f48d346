"""Sample media with known ground truth: a small generated clip and a clip built from real recordings.

Two builders, both writing ``<name>.mp4`` (H.264 + AAC, 1 s keyframe interval) beside ``<name>.json`` (the ground
truth: objects and counts, on-screen text, speech with its transcript, audio events, silences, scene cuts)::

    from vidqa.testing.samples import generate_sample, build_real_sample
    mp4 = generate_sample("data/samples", photos_dir="/usr/share/darknet/data")  # ~24 s, < 1 MB
    real = build_real_sample("data/real")   # pedestrians + recorded speech, whistles, cheering (from Debian)

:func:`generate_sample` draws four static scenes separated by hard cuts (two real photos from Debian's
``darknet`` package when ``photos_dir`` is given, countable coloured shapes with a sign, a scoreboard) and mixes
espeak-ng narration, a synthetic referee whistle, a true digital-silence gap and a faint noise floor.
:func:`build_real_sample` takes everything from Debian packages (``apt-get download``, no install): OpenCV's
``vtest.avi`` pedestrians, Allison Smith's Asterisk prompts (with their published transcripts) and Tux Football's
referee whistles and crowd cheer, placed at known, non-overlapping times.

Ground truth JSON (times in media seconds, boxes ``[x0, y0, x1, y1]`` normalised to 0..1)::

    {"video": "sample.mp4", "duration": s, "fps": f, "width": w, "height": h,
     "objects": [{"label", "colour", "start", "end", "box", "coco"}], "counts": [{"label", "colour", "count",
     "start", "end"}], "text": [{"text", "start", "end", "box"}], "speech": [{"text", "start", "end"}],
     "audio_events": [{"kind", "start", "end", ...}], "silence": [{"start", "end"}], "scene_cuts": [t, ...]}
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidqa.errors import DownloadError, ModelUnavailableError, VidqaError

__all__ = ["COLOURS", "build_real_sample", "fetch_debian_files", "generate_sample"]

AUDIO_RATE = 44_100
"""Sample rate of the mixed audio track (Hz)."""

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (40, 40, 220),
    "orange": (0, 140, 255),
    "yellow": (0, 220, 245),
    "green": (50, 160, 40),
    "blue": (200, 90, 30),
    "purple": (150, 40, 130),
    "pink": (190, 140, 255),
    "brown": (40, 75, 130),
    "black": (20, 20, 20),
    "white": (250, 250, 250),
    "grey": (128, 128, 128),
}
"""The colour vocabulary of the ground truth, as BGR values used to draw the shapes."""

# Objects in the darknet photos, boxes in the photo's own pixels (checked by eye against the image).
_PHOTOS: dict[str, dict[str, Any]] = {
    "dog.jpg": {
        "objects": [
            {"label": "dog", "colour": "black", "box": (138, 207, 315, 535)},
            {"label": "bicycle", "colour": "red", "box": (77, 133, 566, 418)},
            {"label": "truck", "colour": "white", "box": (453, 80, 692, 168), "aliases": ["car"]},
        ],
        "narration": "A black dog sits next to a red bicycle.",
    },
    "person.jpg": {
        "objects": [
            {"label": "person", "colour": "blue", "box": (185, 100, 270, 373)},
            {"label": "dog", "colour": "black", "box": (64, 262, 205, 356)},
            {"label": "horse", "colour": "white", "box": (396, 131, 602, 344)},
        ],
        "narration": "A person in a blue jacket stands beside a white horse.",
    },
}

_SCOREBOARD = "HOME 2 - 1 AWAY"
_SCOREBOARD_NARRATION = "The home team is winning this match."
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)


# ---------------------------------------------------------------------------------------------------------------
# scenes
@dataclass
class _Scene:
    image: np.ndarray
    """BGR frame, shown for the whole scene."""
    narration: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    """Ground-truth objects without times (box normalised)."""
    text: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""


def _font(size: int):
    from PIL import ImageFont

    for path in _FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return None


def _draw_text(img: np.ndarray, text: str, centre: tuple[int, int], height_px: int, colour: tuple[int, int, int]):
    """Draw ``text`` centred at ``centre`` with capitals about ``height_px`` tall; return its pixel box."""
    font = _font(int(height_px / 0.73))  # DejaVu Sans Bold: cap height ~0.73 em
    if font is not None:
        from PIL import Image, ImageDraw

        pil = Image.fromarray(img[:, :, ::-1].copy())
        draw = ImageDraw.Draw(pil)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        ox = centre[0] - (x0 + x1) // 2
        oy = centre[1] - (y0 + y1) // 2
        draw.text((ox, oy), text, font=font, fill=tuple(int(c) for c in colour[::-1]))
        img[:] = np.asarray(pil)[:, :, ::-1]
        return (ox + x0, oy + y0, ox + x1, oy + y1)
    import cv2

    scale = height_px / 22.0
    thick = max(2, int(round(scale * 2.2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    org = (centre[0] - tw // 2, centre[1] + th // 2)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)
    return (org[0], org[1] - th, org[0] + tw, org[1] + base // 2)


def _norm_box(box: tuple[float, float, float, float], w: int, h: int) -> list[float]:
    x0, y0, x1, y1 = box
    return [
        round(max(0.0, x0 / w), 4),
        round(max(0.0, y0 / h), 4),
        round(min(1.0, x1 / w), 4),
        round(min(1.0, y1 / h), 4),
    ]


def _photo_scene(photo: Path, width: int, height: int) -> _Scene:
    """The photo scaled to the frame height (or width) and centred on a dark grey canvas."""
    import cv2

    src = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if src is None:
        raise VidqaError(f"Cannot read the photo {photo}: is it a JPEG from Debian's darknet package?")
    ph, pw = src.shape[:2]
    scale = min(width / pw, height / ph)
    sw, sh = int(round(pw * scale)), int(round(ph * scale))
    ox, oy = (width - sw) // 2, (height - sh) // 2
    img = np.full((height, width, 3), 40, np.uint8)
    img[oy : oy + sh, ox : ox + sw] = cv2.resize(src, (sw, sh), interpolation=cv2.INTER_AREA)
    info = _PHOTOS[photo.name]
    objects = []
    for o in info["objects"]:
        x0, y0, x1, y1 = o["box"]
        box = (ox + x0 * scale, oy + y0 * scale, ox + x1 * scale, oy + y1 * scale)
        item = {"label": o["label"], "colour": o["colour"], "box": _norm_box(box, width, height), "coco": True}
        if "aliases" in o:
            item["aliases"] = list(o["aliases"])
        item["source"] = f"darknet/data/{photo.name}"
        objects.append(item)
    return _Scene(img, info["narration"], objects, [], f"photo {photo.name}")


def _ball(img: np.ndarray, cx: int, cy: int, r: int, bgr: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """A shaded disc (lighter towards the upper left) with a thin dark rim."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.hypot(xx - cx, yy - cy)
    inside = d <= r
    hl = np.hypot(xx - (cx - r * 0.35), yy - (cy - r * 0.35)) / (r * 1.6)
    shade = np.clip(1.15 - 0.45 * hl, 0.6, 1.15)[..., None]
    col = np.clip(np.array(bgr, np.float32)[None, None, :] * shade, 0, 255).astype(np.uint8)
    img[inside] = col[inside]
    import cv2

    cv2.circle(img, (cx, cy), r, tuple(int(c * 0.5) for c in bgr), 2, cv2.LINE_AA)
    return (cx - r, cy - r, cx + r, cy + r)


def _shape_scene(
    width: int,
    height: int,
    groups: list[tuple[str, str, int]],
    narration: str,
    sign: str | None,
) -> _Scene:
    """Coloured shapes on a light background. ``groups``: (shape, colour, count), shape ``ball``/``square``/
    ``triangle``; laid out left to right on one row (two rows when more than 6 shapes)."""
    import cv2

    img = np.full((height, width, 3), 228, np.uint8)
    items = [(shape, colour) for shape, colour, n in groups for _ in range(n)]
    n = len(items)
    rows = 1 if n <= 6 else 2
    per_row = -(-n // rows)
    top = int(height * (0.38 if sign else 0.2))
    band = height - top - int(height * 0.08)
    cell_w = width / per_row
    cell_h = band / rows
    size = int(min(cell_w, cell_h) * 0.34)  # half-size of each shape
    objects = []
    for i, (shape, colour) in enumerate(items):
        r, c = divmod(i, per_row)
        cx = int(cell_w * (c + 0.5))
        cy = int(top + cell_h * (r + 0.5))
        bgr = COLOURS[colour]
        if shape == "ball":
            box = _ball(img, cx, cy, size, bgr)
        elif shape == "square":
            box = (cx - size, cy - size, cx + size, cy + size)
            cv2.rectangle(img, box[:2], box[2:], bgr, -1)
            cv2.rectangle(img, box[:2], box[2:], tuple(int(v * 0.5) for v in bgr), 2)
        elif shape == "triangle":
            pts = np.array([[cx, cy - size], [cx - size, cy + size], [cx + size, cy + size]], np.int32)
            cv2.fillPoly(img, [pts], bgr, cv2.LINE_AA)
            box = (cx - size, cy - size, cx + size, cy + size)
        else:  # pragma: no cover - internal table
            raise ValueError(shape)
        objects.append({"label": shape, "colour": colour, "box": _norm_box(box, width, height), "coco": False})
    text = []
    if sign:
        sh = int(height * 0.1)
        sx0, sy0 = int(width * 0.05), int(height * 0.05)
        probe = img.copy()
        tb = _draw_text(probe, sign, (0, 0), sh, COLOURS["black"])
        tw = tb[2] - tb[0]
        sx1, sy1 = sx0 + tw + 2 * sh, sy0 + 2 * sh
        # pale yellow, no border: tesseract reads black on saturated yellow, or a framed sign, poorly
        cv2.rectangle(img, (sx0, sy0), (sx1, sy1), (150, 245, 255), -1)
        tb = _draw_text(img, sign, ((sx0 + sx1) // 2, (sy0 + sy1) // 2), sh, COLOURS["black"])
        text.append({"text": sign, "box": _norm_box(tb, width, height), "kind": "sign"})
    desc = ", ".join(f"{n} {colour} {shape}s" for shape, colour, n in groups)
    return _Scene(img, narration, objects, text, desc)


def _scoreboard_scene(width: int, height: int) -> _Scene:
    img = np.full((height, width, 3), (70, 35, 15), np.uint8)  # dark navy
    cap = max(24, int(height * 0.13))
    tb = _draw_text(img, _SCOREBOARD, (width // 2, height // 2), cap, COLOURS["white"])
    while tb[2] - tb[0] > width * 0.94 and cap > 16:  # narrow frames: shrink until it fits
        cap = int(cap * 0.9)
        img[:] = (70, 35, 15)
        tb = _draw_text(img, _SCOREBOARD, (width // 2, height // 2), cap, COLOURS["white"])
    text = [{"text": _SCOREBOARD, "box": _norm_box(tb, width, height), "kind": "scoreboard"}]
    return _Scene(img, _SCOREBOARD_NARRATION, [], text, "scoreboard")


# ---------------------------------------------------------------------------------------------------------------
# audio
def _espeak(text: str, workdir: Path) -> np.ndarray:
    """``text`` spoken by espeak-ng (en-us, 150 wpm) at :data:`AUDIO_RATE`, trimmed to its voiced extent."""
    from vidqa.media.audio import decode_audio

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ModelUnavailableError(
            "espeak-ng is not installed: `apt-get install espeak-ng` (it voices the narration)."
        )
    wav = workdir / f"tts_{hashlib.sha1(text.encode()).hexdigest()[:10]}.wav"
    proc = subprocess.run(
        [exe, "-v", "en-us", "-s", "150", "-w", str(wav), text], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 or not wav.exists():
        raise ModelUnavailableError(f"espeak-ng failed ({proc.returncode}): {proc.stderr.strip()[:200]}")
    x = decode_audio(wav, sample_rate=AUDIO_RATE).samples
    return _trim(x / max(1e-6, float(np.abs(x).max())) * 0.6)


def _trim(x: np.ndarray, rel: float = 0.02) -> np.ndarray:
    """Cut leading/trailing samples quieter than ``rel`` of the peak."""
    loud = np.flatnonzero(np.abs(x) > rel * max(1e-9, float(np.abs(x).max())))
    if len(loud) == 0:
        return x[:0]
    return x[loud[0] : loud[-1] + 1].astype(np.float32)


def _whistle(seconds: float, freq: float, rng: np.random.Generator) -> np.ndarray:
    """A pea-whistle-like tone: ``freq`` Hz with slight vibrato, a fast warble and a weak 2nd harmonic."""
    n = int(seconds * AUDIO_RATE)
    t = np.arange(n) / AUDIO_RATE
    inst = freq + 40.0 * np.sin(2 * np.pi * 5.0 * t) + 25.0 * np.sin(2 * np.pi * 28.0 * t)
    phase = 2 * np.pi * np.cumsum(inst) / AUDIO_RATE
    y = np.sin(phase) + 0.15 * np.sin(2 * phase) + 0.01 * rng.standard_normal(n)
    y *= 1.0 - 0.25 * (0.5 + 0.5 * np.sin(2 * np.pi * 28.0 * t))
    ramp = min(n // 2, int(0.012 * AUDIO_RATE))
    env = np.ones(n)
    env[:ramp] = np.linspace(0, 1, ramp)
    env[n - ramp :] = np.linspace(1, 0, ramp)
    return (0.35 * y * env / np.abs(y).max()).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# encoding
def _encode(
    path: Path,
    scenes: list[tuple[float, float, np.ndarray]] | None,
    audio: np.ndarray,
    *,
    fps: float,
    width: int,
    height: int,
    frames=None,
    crf: int = 26,
    audio_rate: int = AUDIO_RATE,
) -> None:
    """Encode video (static ``scenes`` (start, end, BGR) or an iterator of BGR ``frames``) + mono ``audio``
    to ``path`` as H.264 (1 s GOP, yuv420p, faststart) + AAC."""
    from fractions import Fraction

    import av

    rate = Fraction(fps).limit_denominator(1001)
    gop = max(1, int(round(fps)))
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.gop_size = gop
        vs.codec_context.thread_count = 1
        vs.options = {
            "crf": str(crf),
            "preset": "medium",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0",
        }
        aus = out.add_stream("aac", rate=audio_rate)
        aus.layout = "mono"
        aus.bit_rate = 64_000
        a_pos = 0
        block = 1024

        def push_audio(until: int) -> None:
            nonlocal a_pos
            while a_pos < min(until, len(audio)):
                chunk = audio[a_pos : a_pos + block]
                fr = av.AudioFrame.from_ndarray(chunk.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
                fr.sample_rate = audio_rate
                fr.pts = a_pos
                fr.time_base = Fraction(1, audio_rate)
                for p in aus.encode(fr):
                    out.mux(p)
                a_pos += len(chunk)

        def frame_iter():
            if frames is not None:
                yield from frames
                return
            n = int(round(scenes[-1][1] * fps))
            k = 0
            for i in range(n):
                t = i / fps
                while k + 1 < len(scenes) and t >= scenes[k][1] - 1e-9:
                    k += 1
                yield scenes[k][2]

        for i, img in enumerate(frame_iter()):
            vf = av.VideoFrame.from_ndarray(img, format="bgr24")
            vf.pts = i
            vf.time_base = 1 / rate
            for p in vs.encode(vf):
                out.mux(p)
            push_audio(int((i + 1) / fps * audio_rate))
        for p in vs.encode():
            out.mux(p)
        push_audio(len(audio))
        for p in aus.encode():
            out.mux(p)


def _dumps(data: dict[str, Any]) -> str:
    """JSON with one top-level key per line and one list item per line (small diffs, easy to read)."""
    lines = []
    for k, v in data.items():
        if isinstance(v, list) and v:
            items = ",\n  ".join(json.dumps(x) for x in v)
            lines.append(f" {json.dumps(k)}: [\n  {items}\n ]")
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(_dumps(data))
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------------------------
# the generated sample
def generate_sample(
    out_dir: str | Path,
    *,
    seconds: float = 24.0,
    width: int = 640,
    height: int = 360,
    fps: float = 25,
    photos_dir: str | Path | None = None,
    seed: int = 0,
    name: str = "sample",
) -> Path:
    """Write ``<name>.mp4`` (H.264 + AAC, 1 s GOP) and ``<name>.json`` (its ground truth) into ``out_dir``.

    Four static scenes of ``seconds / 4`` each, separated by hard cuts. With ``photos_dir`` (a folder holding
    Debian ``darknet``'s ``dog.jpg`` and ``person.jpg``, e.g. ``/usr/share/darknet/data``) the first two scenes
    are those photos (dog + bicycle + truck; person + dog + horse: COCO objects an SSD detector finds); without
    it they are drawn shapes. Scene 3 is 3 red balls and 2 blue squares under a yellow ``GATE 7`` sign; scene 4 a
    ``HOME 2 - 1 AWAY`` scoreboard. Each scene opens with one espeak-ng sentence describing it; a 3.2 kHz
    whistle follows the first sentence and a >= 2 s true-silence gap the last; elsewhere a faint noise floor.
    Deterministic for given arguments (``seed`` drives the noise). Returns the MP4 path.

    Example::

        mp4 = generate_sample(tmp_path)               # offline, shapes only
        truth = json.loads(mp4.with_suffix(".json").read_text())
        truth["audio_events"][0]  # {"kind": "whistle", "start": 3.8, "end": 4.8, "freq_hz": 3200}
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if seconds < 18:
        raise ValueError("generate_sample needs seconds >= 18 (four scenes, each a sentence plus an event).")
    width, height = int(width) // 2 * 2, int(height) // 2 * 2
    rng = np.random.default_rng(seed)
    scene_len = seconds / 4

    scenes: list[_Scene] = []
    if photos_dir is not None:
        pdir = Path(photos_dir)
        for name_ in ("dog.jpg", "person.jpg"):
            if not (pdir / name_).exists():
                raise VidqaError(
                    f"{pdir / name_} is missing: photos_dir must hold darknet's data/ photos "
                    "(fetch_debian_files('darknet', ['usr/share/darknet/data/*.jpg']))."
                )
            scenes.append(_photo_scene(pdir / name_, width, height))
    else:
        scenes.append(
            _shape_scene(
                width,
                height,
                [("triangle", "green", 2), ("ball", "orange", 1)],
                "There are two green triangles and one orange ball.",
                None,
            )
        )
        scenes.append(
            _shape_scene(width, height, [("square", "purple", 4)], "There are four purple squares in a row.", None)
        )
    scenes.append(
        _shape_scene(
            width,
            height,
            [("ball", "red", 3), ("square", "blue", 2)],
            "There are three red balls and two blue squares.",
            "GATE 7",
        )
    )
    scenes.append(_scoreboard_scene(width, height))

    n_audio = int(round(seconds * AUDIO_RATE))
    audio = (0.004 * rng.standard_normal(n_audio)).astype(np.float32)  # faint noise floor
    truth: dict[str, Any] = {
        "video": f"{name}.mp4",
        "duration": round(float(seconds), 3),
        "fps": float(fps),
        "width": width,
        "height": height,
        "objects": [],
        "counts": [],
        "text": [],
        "speech": [],
        "audio_events": [],
        "silence": [],
        "scene_cuts": [round(scene_len * k, 3) for k in range(1, len(scenes))],
        "scenes": [],
        "generator": {
            "function": "vidqa.testing.samples.generate_sample",
            "seed": seed,
            "photos": photos_dir is not None,
            "voice": "espeak-ng -v en-us -s 150",
            "audio_rate": AUDIO_RATE,
        },
    }

    def r3(x: float) -> float:
        return round(float(x), 3)

    with tempfile.TemporaryDirectory(prefix="vidqa-sample-") as tmp:
        for k, sc in enumerate(scenes):
            s0, s1 = scene_len * k, scene_len * (k + 1)
            truth["scenes"].append({"start": r3(s0), "end": r3(s1), "description": sc.description})
            for o in sc.objects:
                truth["objects"].append({**o, "start": r3(s0), "end": r3(s1)})
            groups: dict[tuple[str, str | None], int] = {}
            for o in sc.objects:
                groups[(o["label"], o["colour"])] = groups.get((o["label"], o["colour"]), 0) + 1
            for (label, colour), cnt in groups.items():
                truth["counts"].append({"label": label, "colour": colour, "count": cnt, "start": r3(s0), "end": r3(s1)})
            for t in sc.text:
                truth["text"].append({**t, "start": r3(s0), "end": r3(s1)})

            speech = _espeak(sc.narration, Path(tmp))
            a0 = int(round((s0 + 0.4) * AUDIO_RATE))
            a1 = a0 + len(speech)
            if a1 > int((s1 - 0.3) * AUDIO_RATE):
                raise ValueError(f"seconds={seconds} is too short for the narration of scene {k + 1}.")
            audio[a0:a1] += speech
            truth["speech"].append({"text": sc.narration, "start": r3(a0 / AUDIO_RATE), "end": r3(a1 / AUDIO_RATE)})
            cursor = a1 / AUDIO_RATE
            if k == 0:  # whistle after the first sentence
                w0 = round(cursor + 0.6, 1)
                w = _whistle(1.0, 3200.0, rng)
                if w0 + 1.0 > s1 - 0.3:
                    raise ValueError(f"seconds={seconds} is too short for the whistle.")
                i0 = int(round(w0 * AUDIO_RATE))
                audio[i0 : i0 + len(w)] += w
                truth["audio_events"].append(
                    {"kind": "whistle", "start": r3(w0), "end": r3(w0 + len(w) / AUDIO_RATE), "freq_hz": 3200}
                )
            if k == len(scenes) - 1:  # true digital silence after the last sentence (noise floor resumes after it)
                g0 = round(cursor + 0.3, 1)
                g1 = round(min(s1 - 0.5, g0 + 2.5), 1)
                if g1 - g0 < 2.0:
                    raise ValueError(f"seconds={seconds} is too short for a 2 s silence.")
                audio[int(round(g0 * AUDIO_RATE)) : int(round(g1 * AUDIO_RATE))] = 0.0
                truth["silence"].append({"start": r3(g0), "end": r3(g1)})

        mp4 = out / f"{name}.mp4"
        tmp_mp4 = out / f".{name}.tmp.mp4"
        try:
            _encode(
                tmp_mp4,
                [(scene_len * k, scene_len * (k + 1), sc.image) for k, sc in enumerate(scenes)],
                np.clip(audio, -1, 1),
                fps=fps,
                width=width,
                height=height,
            )
            os.replace(tmp_mp4, mp4)
        finally:
            tmp_mp4.unlink(missing_ok=True)
    _atomic_json(out / f"{name}.json", truth)
    return mp4


# ---------------------------------------------------------------------------------------------------------------
# Debian packages
def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vidqa" / "debian"


def apt_download(package: str, dest: str | Path) -> Path:
    """The ``.deb`` of Debian ``package`` in ``dest`` (downloaded with ``apt-get download`` when absent).

    Any user may call it; as root, ``apt-get update`` is run once when apt has no package lists. A killed download
    leaves no half ``.deb``. Raises :class:`~vidqa.errors.DownloadError`.
    """
    dest = Path(dest)
    found = sorted(dest.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    apt = shutil.which("apt-get")
    if apt is None:
        raise DownloadError(f"apt-get is not available, so the Debian package {package!r} cannot be fetched.")
    dest.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix=".apt-", dir=dest) as tmp:  # a killed download leaves no half .deb

        def run() -> subprocess.CompletedProcess:
            return subprocess.run(
                [apt, "download", package], cwd=tmp, capture_output=True, text=True, timeout=600, check=False
            )

        try:
            proc = run()
            if proc.returncode != 0:
                no_lists = not any(Path("/var/lib/apt/lists").glob("*_Packages*"))
                if no_lists and hasattr(os, "geteuid") and os.geteuid() == 0:
                    subprocess.run([apt, "update"], capture_output=True, text=True, timeout=600, check=False)
                    proc = run()
                if proc.returncode != 0:
                    hint = " (apt has no package lists: run `apt-get update` as root)" if no_lists else ""
                    raise DownloadError(f"`apt-get download {package}` failed{hint}: {proc.stderr.strip()[-300:]}")
        except subprocess.TimeoutExpired as err:
            raise DownloadError(f"`apt-get download {package}` timed out after {err.timeout:.0f} s.") from err
        got = sorted(Path(tmp).glob(f"{package}_*.deb"))
        if not got:
            raise DownloadError(f"`apt-get download {package}` produced no {package}_*.deb.")
        target = dest / got[-1].name
        os.replace(got[-1], target)
    return target


def fetch_debian_files(package: str, patterns: list[str], *, cache_dir: str | Path | None = None) -> list[Path]:
    """Files of Debian ``package`` matching ``patterns`` (fnmatch on paths like ``usr/share/x/*.wav``), extracted
    under ``cache_dir/root`` (default ``~/.cache/vidqa/debian``) without installing the package.

    The ``.deb`` comes from ``apt-get download`` (any user; ``apt-get update`` is run once when the lists are
    missing and we are root). Results are cached: a second call reads nothing from the network. Raises
    :class:`~vidqa.errors.DownloadError` when apt cannot fetch the package, or when no file matches.

    Example::

        photos = fetch_debian_files("darknet", ["usr/share/darknet/data/*.jpg"])
    """
    cache = Path(cache_dir) if cache_dir is not None else _default_cache()
    root = cache / "root"
    key = hashlib.sha1(json.dumps([package, sorted(patterns)]).encode()).hexdigest()[:12]
    stamp = cache / "stamps" / f"{package}-{key}.json"
    if stamp.exists():
        paths = [root / p for p in json.loads(stamp.read_text())]
        if paths and all(p.exists() for p in paths):
            return paths
    deb = apt_download(package, cache / "debs")
    dpkg = shutil.which("dpkg-deb")
    if dpkg is None:
        raise DownloadError("dpkg-deb is not available to unpack Debian packages.")
    got: list[str] = []
    proc = subprocess.Popen([dpkg, "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|*") as tar:
            for m in tar:
                rel = m.name[2:] if m.name.startswith("./") else m.name.lstrip("/")
                if not m.isfile() or ".." in Path(rel).parts or not any(fnmatch.fnmatch(rel, p) for p in patterns):
                    continue
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.part")
                with open(tmp, "wb") as fh:
                    shutil.copyfileobj(tar.extractfile(m), fh)
                os.replace(tmp, target)
                got.append(rel)
    except (tarfile.TarError, EOFError) as err:
        deb.unlink(missing_ok=True)  # corrupt or truncated: fetch it again next time
        raise DownloadError(f"{deb.name} could not be unpacked ({err}); it was deleted, try again.") from err
    finally:
        if proc.stdout:
            proc.stdout.close()
        proc.kill() if proc.poll() is None else None
        proc.wait()
    if not got:
        raise DownloadError(f"No file in {deb.name} matches {patterns}.")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(sorted(got)))
    return [root / p for p in sorted(got)]


# ---------------------------------------------------------------------------------------------------------------
# the real sample
_ASTERISK_DIR = "usr/share/asterisk/sounds/en_US_f_Allison"
_ASTERISK_TXT = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
_TUX_DIR = "usr/share/games/tuxfootball/sound"
_VTEST = "usr/share/doc/opencv-doc/examples/data/vtest.avi"

# (start s, kind, source): speech prompts and sound effects on the real sample's timeline, never overlapping
_REAL_TIMELINE: list[tuple[float, str, str]] = [
    (1.0, "speech", "check-number-dial-again"),
    (5.0, "whistle", "refwhistleshort"),
    (8.0, "speech", "cannot-complete-as-dialed"),
    (12.0, "crowd", "crowdcheer"),
    (19.5, "speech", "conf-leaderhasleft"),
    (23.0, "whistle", "refwhistlelong"),
    (27.0, "speech", "dir-nomatch"),
]

_REAL_LICENCE = """# Licences of real_sample.mp4 (built by vidqa.testing.samples.build_real_sample)

Everything in this clip comes unmodified (cut, resampled, re-encoded) from Debian 12 packages:

| part | package | file(s) | licence |
|---|---|---|---|
| video (pedestrians) | `opencv-doc` | `usr/share/doc/opencv-doc/examples/data/vtest.avi` (first {seconds:g} s) | Apache-2.0 / BSD-3-Clause (OpenCV samples) |
| speech | `asterisk-core-sounds-en-wav` | `en_US_f_Allison/{{{prompts}}}.wav`, recorded by Allison Smith; transcripts from `asterisk-core-sounds-en`'s `core-sounds-en.txt.gz` | CC-BY-SA-3.0 (attribution: Allison Smith, Digium, Inc.) |
| referee whistles, crowd cheer | `tuxfootball` | `usr/share/games/tuxfootball/sound/{{{effects}}}.wav` | GPL-2+ (Jason Wood, Christoph Brill) |

The combined clip is therefore redistributable under CC-BY-SA-3.0 / GPL-2+ terms with the attributions above.
It is built at run time and is not committed.
"""


def _transcripts(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(";") or ": " not in line:
                continue
            key, text = line.split(": ", 1)
            out[key.strip()] = " ".join(text.split())
    return out


def _real_complete(mp4: Path, js: Path) -> bool:
    if not (mp4.exists() and js.exists()):
        return False
    try:
        return json.loads(js.read_text()).get("video_bytes") == mp4.stat().st_size
    except (ValueError, OSError):
        return False


def build_real_sample(
    out_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    seconds: float = 30.0,
) -> Path:
    """Build ``real_sample.mp4`` + ``real_sample.json`` (+ ``LICENSE-NOTES.md``) in ``out_dir`` from real media
    in Debian packages (fetched with :func:`fetch_debian_files` into ``cache_dir``).

    Video: the first ``seconds`` (<= 79) of OpenCV's ``vtest.avi`` (768x576, 10 fps, pedestrians) re-encoded to
    H.264 with a 1 s GOP. Audio (AAC, 44.1 kHz mono): four Asterisk prompts read by Allison Smith (8 kHz
    telephone speech; ground truth = the published transcripts), two Tux Football referee whistles and a crowd
    cheer, each trimmed to its audible extent and placed at known, non-overlapping times; digital silence in
    between. Returns at once when the files already exist and are complete.

    Example::

        mp4 = build_real_sample("data/real")
        truth = json.loads(mp4.with_suffix(".json").read_text())
        [e["kind"] for e in truth["audio_events"]]       # ['whistle', 'crowd', 'whistle']
    """
    from vidqa.media.audio import decode_audio

    out = Path(out_dir)
    mp4, js = out / "real_sample.mp4", out / "real_sample.json"
    if _real_complete(mp4, js):
        return mp4
    if not 10 <= seconds <= 79:
        raise ValueError("build_real_sample: seconds must be between 10 and 79 (vtest.avi lasts 79.5 s).")
    out.mkdir(parents=True, exist_ok=True)
    speech_keys = [src for _, kind, src in _REAL_TIMELINE if kind == "speech"]
    effect_keys = sorted({src for _, kind, src in _REAL_TIMELINE if kind != "speech"})
    (vtest,) = fetch_debian_files("opencv-doc", [_VTEST], cache_dir=cache_dir)
    wavs = fetch_debian_files(
        "asterisk-core-sounds-en-wav", [f"{_ASTERISK_DIR}/{k}.wav" for k in speech_keys], cache_dir=cache_dir
    )
    (txt,) = fetch_debian_files("asterisk-core-sounds-en", [_ASTERISK_TXT], cache_dir=cache_dir)
    fx = fetch_debian_files("tuxfootball", [f"{_TUX_DIR}/{k}.wav" for k in effect_keys], cache_dir=cache_dir)
    sources = {p.stem: p for p in [*wavs, *fx]}
    transcripts = _transcripts(txt)

    import av

    with av.open(str(vtest)) as src:
        vst = src.streams.video[0]
        vfps = float(vst.average_rate or 10)
        width, height = vst.codec_context.width, vst.codec_context.height
    n_frames = int(round(seconds * vfps))
    duration = n_frames / vfps

    audio = np.zeros(int(round(duration * AUDIO_RATE)), np.float32)
    truth: dict[str, Any] = {
        "video": mp4.name,
        "duration": round(duration, 3),
        "fps": vfps,
        "width": width,
        "height": height,
        "objects": [
            {
                "label": "person",
                "colour": None,
                "start": 0.0,
                "end": round(duration, 3),
                "coco": True,
                "note": "several pedestrians throughout; count varies and is not annotated",
            }
        ],
        "counts": [],
        "text": [],
        "speech": [],
        "audio_events": [],
        "silence": [],
        "scene_cuts": [],
        "sources": {},
    }
    busy: list[tuple[float, float]] = []
    for start, kind, key in _REAL_TIMELINE:
        x = decode_audio(sources[key], sample_rate=AUDIO_RATE).samples
        x = _trim(x, 0.03)
        if kind == "crowd":  # keep 4 s of the cheer, with a short fade out
            x = x[: 4 * AUDIO_RATE].copy()
            fade = int(0.2 * AUDIO_RATE)
            x[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
        x = (x / max(1e-6, float(np.abs(x).max())) * (0.7 if kind == "speech" else 0.5)).astype(np.float32)
        i0 = int(round(start * AUDIO_RATE))
        if i0 + len(x) > len(audio):
            continue  # does not fit a shorter clip
        audio[i0 : i0 + len(x)] = x
        end = round((i0 + len(x)) / AUDIO_RATE, 3)
        busy.append((start, end))
        if kind == "speech":
            truth["speech"].append(
                {"text": transcripts[key], "start": start, "end": end, "source": f"asterisk en_US_f_Allison/{key}.wav"}
            )
        else:
            event: dict[str, Any] = {"kind": kind, "start": start, "end": end}
            if kind == "whistle":  # dominant frequency, measured (tux football's whistles sit near 2.1 kHz)
                spec = np.abs(np.fft.rfft(x))
                freqs = np.fft.rfftfreq(len(x), 1 / AUDIO_RATE)
                band = (freqs > 500) & (freqs < 10_000)
                event["freq_hz"] = int(round(float(freqs[band][spec[band].argmax()]), -1))
            event["source"] = f"tuxfootball sound/{key}.wav"
            truth["audio_events"].append(event)
    prev = 0.0
    for s, e in [*sorted(busy), (duration, duration)]:
        if s - prev >= 1.5:
            truth["silence"].append({"start": round(prev + 0.05, 3), "end": round(s - 0.05, 3)})
        prev = max(prev, e)

    def frames():
        with av.open(str(vtest)) as src:
            it = src.decode(video=0)
            for i, frame in enumerate(it):
                if i >= n_frames:
                    break
                yield frame.to_ndarray(format="bgr24")

    tmp_mp4 = out / ".real_sample.tmp.mp4"
    try:
        _encode(tmp_mp4, None, audio, fps=vfps, width=width, height=height, frames=frames(), crf=28)
        os.replace(tmp_mp4, mp4)
    finally:
        tmp_mp4.unlink(missing_ok=True)
    truth["video_bytes"] = mp4.stat().st_size
    truth["sources"] = {
        "video": "opencv-doc: " + _VTEST,
        "speech": "asterisk-core-sounds-en-wav: " + _ASTERISK_DIR,
        "effects": "tuxfootball: " + _TUX_DIR,
    }
    (out / "LICENSE-NOTES.md").write_text(
        _REAL_LICENCE.format(seconds=round(duration, 1), prompts=",".join(speech_keys), effects=",".join(effect_keys))
    )
    _atomic_json(js, truth)
    return mp4
