"""On-screen text (vidqa.analyze.ocr): rendered scoreboards, clutter, the text gate, real scans, frame streams, the sample."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from media_factory import frame_at
from needs import missing

from vidqa.analyze.ocr import TextBox, likely_has_text, ocr_frames, ocr_image, text_changed, text_regions

SAMPLE_JSON = Path(__file__).resolve().parents[1] / "data" / "samples" / "sample.json"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

@pytest.fixture(autouse=True)
def _tesseract_installed():
    if __import__("shutil").which("tesseract") is None:
        missing("tesseract-ocr is not installed")


def _draw(img: np.ndarray, text: str, xy: tuple[int, int], size: int, fill, stroke: int = 0, stroke_fill=None):
    """Draw ``text`` with DejaVu Sans Bold (cv2 Hershey if the font is missing); return its pixel box."""
    font_path = FONT_DIR / "DejaVuSans-Bold.ttf"
    if font_path.exists():
        from PIL import Image, ImageDraw, ImageFont

        font = ImageFont.truetype(str(font_path), size)
        pil = Image.fromarray(img[:, :, ::-1].copy())
        d = ImageDraw.Draw(pil)
        d.text(xy, text, font=font, fill=tuple(fill[::-1]), stroke_width=stroke,
               stroke_fill=tuple(stroke_fill[::-1]) if stroke_fill else None)
        img[:] = np.asarray(pil)[:, :, ::-1]
        return d.textbbox(xy, text, font=font, stroke_width=stroke)
    scale = size / 30
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 3)
    cv2.putText(img, text, (xy[0], xy[1] + th), cv2.FONT_HERSHEY_SIMPLEX, scale, fill, 3, cv2.LINE_AA)
    return (xy[0], xy[1], xy[0] + tw, xy[1] + th)


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / u if u > 0 else 0.0


def _norm(box, w, h):
    return (box[0] / w, box[1] / h, box[2] / w, box[3] / h)


def _pitch(seed: int = 0, w: int = 1280, h: int = 720) -> np.ndarray:
    """A football-pitch frame: mown stripes, noise, white lines, red and blue players (no text)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (40, 140, 50)
    for x in range(0, w, 160):
        img[:, x:x + 80] = (45, 155, 60)
    img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    cv2.line(img, (w // 2, 0), (w // 2, h), (240, 240, 240), 4)
    cv2.circle(img, (w // 2, h // 2), 120, (240, 240, 240), 4)
    for i in range(10):
        cx, cy = int(rng.integers(60, w - 60)), int(rng.integers(160, h - 60))
        colour = (30, 30, 200) if i % 2 else (200, 80, 30)
        cv2.ellipse(img, (cx, cy), (14, 30), 0, 0, 360, colour, -1)
        cv2.circle(img, (cx, cy - 38), 9, (120, 160, 210), -1)
    return img


def _with_scoreboard(img: np.ndarray, text: str = "HOME 2 - 1 AWAY"):
    out = img.copy()
    cv2.rectangle(out, (40, 30), (480, 92), (70, 35, 15), -1)
    box = _draw(out, text, (56, 40), 36, (255, 255, 255))
    return out, box


@pytest.mark.parametrize("polarity", ["light_on_dark", "dark_on_light"])
def test_rendered_scoreboard_read_exactly(polarity):
    bg, fg = ((70, 35, 15), (250, 250, 250)) if polarity == "light_on_dark" else ((235, 235, 235), (20, 20, 20))
    img = np.full((360, 640, 3), bg, np.uint8)
    box = _draw(img, "HOME 2 - 1 AWAY", (110, 150), 54, fg)
    lines = ocr_image(img)
    assert [tb.text for tb in lines] == ["HOME 2 - 1 AWAY"]
    tb = lines[0]
    assert isinstance(tb, TextBox) and tb.box_norm == tb.box
    assert 0.8 < tb.confidence <= 1.0
    assert _iou(tb.box, _norm(box, 640, 360)) > 0.6
    assert [w for w, _, _ in tb.words] == ["HOME", "2", "-", "1", "AWAY"]
    assert likely_has_text(img)


def test_small_frame_is_upscaled_and_read():
    img = np.full((180, 320, 3), (30, 30, 30), np.uint8)
    _draw(img, "LIVE 21:45", (20, 20), 18, (255, 255, 255))
    assert "LIVE 21:45" in [tb.text for tb in ocr_image(img)]


def test_text_on_cluttered_video_frame():
    """A scoreboard overlay and an outlined caption straight on a busy pitch; the pitch itself yields no text."""
    img, sb_box = _with_scoreboard(_pitch())
    _draw(img, "KICK OFF", (763, 603), 44, (0, 0, 0))  # drop shadow, as broadcast captions have
    cap_box = _draw(img, "KICK OFF", (760, 600), 44, (255, 255, 255))
    lines = ocr_image(img)
    texts = [tb.text for tb in lines]
    assert "HOME 2 - 1 AWAY" in texts
    assert "KICK OFF" in texts
    for want, box in (("HOME 2 - 1 AWAY", sb_box), ("KICK OFF", cap_box)):
        tb = next(t for t in lines if t.text == want)
        assert _iou(tb.box, _norm(box, 1280, 720)) > 0.5
    # nothing else of substance is read from the grass, lines and players
    assert all(len(t) <= 3 for t in texts if t not in ("HOME 2 - 1 AWAY", "KICK OFF")), texts
    assert all(len(t.text) <= 3 for t in ocr_image(_pitch(seed=3)))


def test_gate():
    assert not likely_has_text(np.zeros((720, 1280, 3), np.uint8))
    assert not likely_has_text(np.full((720, 1280, 3), 200, np.uint8))
    noise = np.random.default_rng(0).integers(0, 256, (360, 640, 3)).astype(np.uint8)
    assert not likely_has_text(cv2.GaussianBlur(noise, (0, 0), 3))
    for seed in range(3):
        assert not likely_has_text(_pitch(seed=seed))
        img, box = _with_scoreboard(_pitch(seed=seed))
        assert likely_has_text(img)
        # the scoreboard is among the regions found
        assert any(_iou(r, _norm(box, 1280, 720)) > 0.2 or (r[0] >= 0.02 and r[2] <= 0.4 and r[3] <= 0.15)
                   for r in text_regions(img))
    grey = cv2.cvtColor(_with_scoreboard(_pitch())[0], cv2.COLOR_BGR2GRAY)
    assert likely_has_text(grey)


def test_text_changed():
    base, _ = _with_scoreboard(_pitch(seed=0))
    moved_players, _ = _with_scoreboard(_pitch(seed=1))  # same scoreboard, different play behind it
    new_score, _ = _with_scoreboard(_pitch(seed=1), "HOME 3 - 1 AWAY")
    assert text_changed(None, base)
    assert not text_changed(base, base.copy())
    assert not text_changed(base, moved_players)
    assert text_changed(moved_players, new_score)
    assert text_changed(base, _pitch(seed=1))  # the scoreboard went away
    assert not text_changed(_pitch(seed=0), _pitch(seed=1))  # no text in either


def test_ocr_frames_times_and_spans():
    p = [_pitch(seed=s) for s in range(6)]
    frames = [
        SimpleNamespace(t=0.0, frame_index=0, image=p[0], reason="cut"),
        SimpleNamespace(t=1.0, frame_index=25, image=_with_scoreboard(p[1], "HOME 0 - 0 AWAY")[0], reason="rate"),
        SimpleNamespace(t=2.0, frame_index=50, image=_with_scoreboard(p[2], "HOME 0 - 0 AWAY")[0], reason="rate"),
        SimpleNamespace(t=3.0, frame_index=75, image=_with_scoreboard(p[3], "HOME 1 - 0 AWAY")[0], reason="keyframe"),
        SimpleNamespace(t=4.0, frame_index=100, image=_with_scoreboard(p[4], "HOME 1 - 0 AWAY")[0], reason="rate"),
        SimpleNamespace(t=5.0, frame_index=125, image=p[5], reason="rate"),
        SimpleNamespace(t=6.0, frame_index=150, image=_with_scoreboard(p[0], "HOME 1 - 0 AWAY")[0], reason="cut"),
    ]
    events = ocr_frames(frames, progress=False)
    # ``end`` is the first sampled frame where the line is gone (the stream's end for the last one);
    # ``last_seen`` the last frame that still showed it
    got = [(e.t, e.frame_index, e.label, e.end, e.attributes["last_seen"]) for e in events]
    assert got == [
        (1.0, 25, "HOME 0 - 0 AWAY", 3.0, 2.0),
        (3.0, 75, "HOME 1 - 0 AWAY", 5.0, 4.0),
        (6.0, 150, "HOME 1 - 0 AWAY", 6.0, 6.0),  # it came back after a gap: a new appearance
    ]
    for e in events:
        assert e.kind == "text" and 0.0 < e.confidence <= 1.0
        assert e.attributes["lang"] == "eng"
        assert [w[0] for w in e.attributes["words"]] == e.label.split()
        x0, y0, x1, y1 = e.box
        assert 0.0 <= x0 < x1 <= 0.4 and 0.0 <= y0 < y1 <= 0.15


# --- real scans (Debian opencv-doc) --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def opencv_data() -> Path:
    from debs import deb_root

    return deb_root("opencv-doc") / "usr/share/doc/opencv-doc/examples/data"


def test_real_scan_read(opencv_data):
    img = cv2.imread(str(opencv_data / "imageTextN.png"))
    assert likely_has_text(img)
    lines = ocr_image(img)
    texts = [tb.text for tb in lines]
    # the page (checked by eye): a paragraph from Szeliski's "Computer Vision" preface, 13 lines
    assert texts[0] == "technical details are too complex to cover in the book itself."
    assert "inspiration from three high-level approaches:" in texts
    assert len(lines) >= 12
    words = [w.strip(".,:;!?()") for w in " ".join(texts).split()]
    for w in ("teaching", "implementation", "real-world", "conference", "photographs", "imagery"):
        assert w in words
    ys = [tb.box[1] for tb in lines]
    assert ys == sorted(ys)


def test_hard_real_images_fail_gracefully(opencv_data):
    """Rotated, defocused and motion-blurred text: no exception, well-formed (possibly empty) results."""
    results = {}
    for name in ("imageTextR.png", "text_defocus.jpg", "licenseplate_motion.jpg"):
        img = cv2.imread(str(opencv_data / name))
        lines = results[name] = ocr_image(img)
        assert isinstance(lines, list)
        for tb in lines:
            assert tb.text.strip()
            assert 0.6 <= tb.confidence <= 1.0
            x0, y0, x1, y1 = tb.box
            assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
    # the rotated page still yields some of its words
    words = " ".join(tb.text for tb in results["imageTextR.png"]).split()
    assert len({"number", "students", "which", "working", "for", "the"} & set(words)) >= 3


# --- the bundled sample (built by vidqa.testing.samples) -------------------------------------------------------------------
def test_sample_text_read_exactly():
    truth = json.loads(SAMPLE_JSON.read_text())
    video = SAMPLE_JSON.parent / truth.get("video", "sample.mp4")
    if not video.exists():
        pytest.skip(f"{video} missing beside {SAMPLE_JSON.name}")
    items = [t for t in truth.get("text", []) if t.get("text")]
    assert items, "the sample has on-screen text"
    for item in items:
        img = frame_at(video, (item["start"] + item["end"]) / 2)
        lines = ocr_image(img)
        match = [tb for tb in lines if tb.text == item["text"]]
        assert match, (item, [tb.text for tb in lines])
        if item.get("box"):
            assert _iou(match[0].box, item["box"]) > 0.5


def test_tesseract_runs_with_one_thread_without_touching_this_process_environment(monkeypatch):
    """OMP_THREAD_LIMIT reaches only the tesseract child: an OpenMP runtime initialised in this process meanwhile
    (faster-whisper, onnxruntime) would otherwise keep a one-thread limit for good."""
    import os

    import cv2
    import numpy as np
    import pytesseract

    from vidqa.analyze import ocr

    img = np.full((120, 480, 3), 255, np.uint8)
    cv2.putText(img, "GATE 7", (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (0, 0, 0), 4)
    seen = []
    real = pytesseract.pytesseract.run_tesseract

    def spy(*args, **kwargs):
        seen.append((os.environ.get("OMP_THREAD_LIMIT"), pytesseract.pytesseract.tesseract_cmd))
        return real(*args, **kwargs)

    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    monkeypatch.setattr(pytesseract.pytesseract, "run_tesseract", spy)
    assert [b.text for b in ocr.ocr_image(img)] == ["GATE 7"]
    assert seen and all(env is None for env, _ in seen)
    wrapper = seen[0][1]
    assert "OMP_THREAD_LIMIT=1 exec" in open(wrapper).read()
    assert pytesseract.pytesseract.tesseract_cmd != wrapper  # restored after the call


def test_an_open_line_is_reread_only_when_its_pixels_change(monkeypatch):
    """A still scoreboard under codec-like noise costs no recogniser call per frame; a changed digit, or a ball
    crossing the board, is still re-read (and the digit change still ends one line and opens the next)."""
    from vidqa.analyze import textlines
    from vidqa.analyze.textspans import TextSpanReader

    if not textlines.available():
        missing("rapidocr-onnxruntime is not installed")
    rng = np.random.default_rng(3)
    pitch = _pitch(seed=1)

    def noisy(img):
        return np.clip(img.astype(np.int16) + rng.integers(-2, 3, img.shape), 0, 255).astype(np.uint8)

    still, _ = _with_scoreboard(pitch, "HOME 0 - 0 AWAY")
    changed, _ = _with_scoreboard(pitch, "HOME 1 - 0 AWAY")
    crossed = changed.copy()
    cv2.circle(crossed, (260, 60), 22, (0, 140, 255), -1)  # a ball in front of the board
    frames = [(0.0, still, "cut"), *((float(t), noisy(still), "rate") for t in range(1, 5)),
              (5.0, noisy(changed), "rate"), (6.0, noisy(changed), "rate"), (7.0, crossed, "rate"),
              (8.0, noisy(changed), "rate")]
    calls: list[float] = []
    real = textlines.recheck

    def counting(image, boxes):  # a spy: the real recogniser still answers
        calls.append(now)
        return real(image, boxes)

    monkeypatch.setattr(textlines, "recheck", counting)
    reader = TextSpanReader(engine="auto")
    for now, img, reason in frames:
        reader.feed(SimpleNamespace(t=now, frame_index=int(now * 25), image=img, reason=reason))
    got = [(e.label, e.t, e.end) for e in reader.events(duration=9.0)]
    assert got[:2] == [("HOME 0 - 0 AWAY", 0.0, 5.0), ("HOME 1 - 0 AWAY", 5.0, 7.0)]  # the ball hides a digit at 7
    assert not [t for t in calls if 1.0 <= t <= 4.0], calls  # the still board: no re-read
    assert 5.0 in calls and 7.0 in calls  # its pixels changed: re-read
