"""Object detection: SSD-MobileNet-v2 on real photos, detect_objects on a video, and a real (tiny, trained here)
YOLO model through the ultralytics backend.

Photos come from Debian's ``darknet`` package (GPL-3+/MIT), fetched with ``apt-get download`` into tests/.cache.
Reference boxes below were drawn by hand on those photos (fractions of width/height).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from debs import fetch_deb
from media_factory import write_frames
from needs import missing

from vidqa.analyze.detect import (
    COCO_TF_LABELS,
    Detection,
    Detector,
    SSDMobileNetDetector,
    YoloDetector,
    detect_objects,
    get_detector,
)
from vidqa.errors import ModelUnavailableError
from vidqa.analyze.frames import Frame, sample_frames
from vidqa.records import VisualEvent

CACHE = Path(__file__).parent / ".cache"

# hand-drawn reference boxes (x0, y0, x1, y1) on the darknet photos
REFERENCE = {
    "dog.jpg": {"dog": (0.17, 0.38, 0.40, 0.93), "bicycle": (0.16, 0.22, 0.74, 0.73)},
    "person.jpg": {"person": (0.30, 0.23, 0.43, 0.88), "horse": (0.63, 0.32, 0.94, 0.81),
                   "dog": (0.11, 0.62, 0.32, 0.81)},
    "horses.jpg": {"horse": (0.0, 0.38, 0.34, 0.80)},  # the white horse on the left
}


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="session")
def photos() -> Path:
    root = fetch_deb("darknet", CACHE / "debs")
    d = root / "usr/share/darknet/data"
    assert (d / "dog.jpg").is_file()
    return d


@pytest.fixture(scope="module")
def ssd() -> SSDMobileNetDetector:
    return SSDMobileNetDetector()


def test_ssd_is_the_default_and_satisfies_the_protocol(ssd):
    det = get_detector()
    assert isinstance(det, SSDMobileNetDetector) and isinstance(det, Detector)
    assert det.name == "ssd-mobilenet-v2"
    assert len(COCO_TF_LABELS) == 80 and COCO_TF_LABELS[1] == "person" and COCO_TF_LABELS[18] == "dog"


@pytest.mark.parametrize("photo", sorted(REFERENCE))
def test_ssd_finds_the_animals_and_people_in_real_photos(ssd, photos, photo):
    img = cv2.imread(str(photos / photo))
    dets = ssd.detect(img)
    assert all(isinstance(d, Detection) for d in dets)
    assert all(0 <= v <= 1 for d in dets for v in d.box_norm)
    assert all(d.box_norm[0] <= d.box_norm[2] and d.box_norm[1] <= d.box_norm[3] for d in dets)
    for label, ref in REFERENCE[photo].items():
        hits = [d for d in dets if d.label == label and d.confidence >= 0.5]
        assert hits, f"no {label} in {photo}: {[(d.label, round(d.confidence, 2)) for d in dets[:8]]}"
        best = max(iou(d.box_norm, ref) for d in hits)
        assert best >= 0.5, f"{label} box in {photo} is off (IoU {best:.2f})"


def test_ssd_counts_several_horses(ssd, photos):
    dets = ssd.detect(cv2.imread(str(photos / "horses.jpg")))
    assert sum(d.label == "horse" and d.confidence >= 0.5 for d in dets) >= 2


def test_batch_matches_single_images(ssd, photos):
    imgs = [cv2.imread(str(photos / p)) for p in ("dog.jpg", "person.jpg", "horses.jpg")]
    batched = ssd.detect_batch(imgs)
    for img, b in zip(imgs, batched):
        single = [d for d in ssd.detect(img) if d.confidence >= 0.3]
        top = [d for d in b if d.confidence >= 0.3]
        assert [d.label for d in single] == [d.label for d in top]
        for s, t in zip(single, top):
            assert abs(s.confidence - t.confidence) < 1e-3 and iou(s.box_norm, t.box_norm) > 0.99


def _video_with_photo(path: Path, photo: np.ndarray, *, start: int, end: int, fps: int = 10, n: int = 90,
                      rotation: int | None = None) -> tuple[float, float, float, float]:
    """Grey field with noise; frames [start, end) are another shot (a blue field with ``photo`` pasted at a fixed
    place): hard cuts at ``start`` and ``end``. Returns the photo's box."""
    w, h = 640, 360
    pw, ph_ = 448, 336
    ph = cv2.resize(photo, (pw, ph_))
    x0, y0 = 150, 12
    bg = cv2.GaussianBlur(np.random.default_rng(3).integers(70, 150, (h, w, 3)).astype(np.uint8), (0, 0), 4)
    shot = np.full_like(bg, (170, 110, 40))
    shot[y0 : y0 + ph_, x0 : x0 + pw] = ph
    write_frames(path, (shot if start <= i < end else bg for i in range(n)), fps=fps, rotation=rotation,
                 options={"x264-params": "keyint=10:scenecut=0", "preset": "veryfast"})
    return (x0 / w, y0 / h, (x0 + pw) / w, (y0 + ph_) / h)


def test_detect_objects_on_a_video_gives_events_at_the_right_times(ssd, photos, tmp_path):
    dog = cv2.imread(str(photos / "dog.jpg"))
    clip = tmp_path / "dog.mp4"
    px0, py0, px1, py1 = _video_with_photo(clip, dog, start=30, end=60)  # photo visible 3.0 s .. 6.0 s
    events = detect_objects(sample_frames(clip, fps=1.0, progress=False), ssd, min_confidence=0.5, progress=False)
    assert all(isinstance(e, VisualEvent) for e in events)
    cuts = [e for e in events if e.kind == "scene_cut"]
    assert [round(e.t, 1) for e in cuts] == [3.0, 6.0]
    assert [e.frame_index for e in cuts] == [30, 60]
    assert all(e.label == "scene_cut" and 0 < e.confidence <= 1 for e in cuts)
    objs = [e for e in events if e.kind == "object"]
    dogs = [e for e in objs if e.label == "dog"]
    assert sorted({round(e.t) for e in dogs}) == [3, 4, 5]
    assert all(3.0 - 1e-6 <= e.t < 6.0 for e in objs), [(e.t, e.label) for e in objs]  # nothing on the background
    for e in dogs:
        assert e.attributes["detector"] == "ssd-mobilenet-v2"
        assert e.confidence >= 0.5 and e.frame_index == round(e.t * 10)
        # dog box from the photo, mapped into the video frame
        ref = REFERENCE["dog.jpg"]["dog"]
        want = (px0 + ref[0] * (px1 - px0), py0 + ref[1] * (py1 - py0), px0 + ref[2] * (px1 - px0),
                py0 + ref[3] * (py1 - py0))
        assert iou(e.box, want) > 0.5
    ts = [e.t for e in events]
    assert ts == sorted(ts)


def test_boxes_are_in_display_orientation(ssd, photos, tmp_path):
    """A phone-style file: frames stored sideways, display matrix says turn 90° clockwise. Detection must run on
    the upright picture and boxes must be fractions of the displayed (portrait) frame."""
    person = cv2.resize(cv2.imread(str(photos / "person.jpg")), (340, 226))
    display = np.full((640, 360, 3), (60, 120, 60), np.uint8)  # portrait, as the viewer sees it
    display[200:426, 10:350] = person
    stored = np.ascontiguousarray(np.rot90(display, k=1))  # sideways, 360 x 640, as the camera wrote it
    clip = tmp_path / "phone.mp4"
    write_frames(clip, [stored] * 20, fps=10, rotation=-90)  # PyAV takes counter-clockwise degrees

    frames = list(sample_frames(clip, fps=1.0, progress=False))
    assert len(frames) == 2 and frames[0].image.shape == (640, 360, 3)
    events = [e for e in detect_objects(frames, ssd, min_confidence=0.5, progress=False) if e.kind == "object"]
    ref = REFERENCE["person.jpg"]["person"]
    want = ((10 + ref[0] * 340) / 360, (200 + ref[1] * 226) / 640, (10 + ref[2] * 340) / 360,
            (200 + ref[3] * 226) / 640)
    people = [e for e in events if e.label == "person"]
    assert people and max(iou(e.box, want) for e in people) > 0.5, [(e.label, e.box) for e in events]


def test_detector_names_and_missing_weights(tmp_path):
    with pytest.raises(ModelUnavailableError, match="never downloads"):
        get_detector("yolov8n.pt")  # a bare name that ultralytics would download: refused
    with pytest.raises(ModelUnavailableError, match="never downloads"):
        YoloDetector(tmp_path / "missing.onnx")
    with pytest.raises(ModelUnavailableError, match="Unknown detector"):
        get_detector("faster-rcnn")


def test_detect_objects_skips_frames_without_images_and_filters_confidence(ssd, photos):
    img = cv2.imread(str(photos / "dog.jpg"))
    frames = [Frame(t=1.0, frame_index=10, image=img, reason="rate"),
              Frame(t=2.0, frame_index=20, image=np.empty((0, 0, 3), np.uint8), reason="cut", cut_score=0.3)]
    ev = detect_objects(frames, ssd, min_confidence=0.7, progress=False)
    assert [e.kind for e in ev if e.t == 2.0] == ["scene_cut"]
    objs = [e for e in ev if e.kind == "object"]
    assert objs and all(e.confidence >= 0.7 and e.t == 1.0 and e.frame_index == 10 for e in objs)
    assert {"dog", "bicycle"} <= {e.label for e in objs}


# ----------------------------------------------------------------------------------------------------------------
# YOLO: a tiny model trained here, offline

HAVE_ULTRALYTICS = importlib.util.find_spec("ultralytics") is not None and importlib.util.find_spec("torch") is not None


def _square_image(rng: np.random.Generator, size: int = 160) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    img = cv2.GaussianBlur(rng.integers(60, 200, (size, size, 3), dtype=np.uint8), (0, 0), 2)
    s = int(rng.integers(size // 5, size // 2))
    x, y = int(rng.integers(0, size - s)), int(rng.integers(0, size - s))
    img[y : y + s, x : x + s] = (30, 30, 220)  # red (BGR)
    return img, (x / size, y / size, (x + s) / size, (y + s) / size)


@pytest.fixture(scope="module")
def yolo_weights(tmp_path_factory):
    if not HAVE_ULTRALYTICS:
        missing("ultralytics/torch not installed (pip install 'vidqa[yolo]')")
    work = tmp_path_factory.mktemp("yolo")
    cfg = work / "config"
    (cfg / "Ultralytics").mkdir(parents=True)
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font.is_file():
        import matplotlib

        font = Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"
    shutil.copy(font, cfg / "Ultralytics" / "Arial.ttf")  # or training tries to download Arial.ttf
    mp = pytest.MonkeyPatch()  # restored when the module's tests are done
    mp.setenv("YOLO_OFFLINE", "1")
    mp.setenv("YOLO_CONFIG_DIR", str(cfg))
    from ultralytics import YOLO
    from ultralytics.utils import USER_CONFIG_DIR

    if Path(USER_CONFIG_DIR) != cfg:  # ultralytics was imported earlier in this session: use its folder
        Path(USER_CONFIG_DIR).mkdir(parents=True, exist_ok=True)
        if not (Path(USER_CONFIG_DIR) / "Arial.ttf").exists():
            shutil.copy(font, Path(USER_CONFIG_DIR) / "Arial.ttf")

    rng = np.random.default_rng(0)
    ds = work / "ds"
    for split, n in (("train", 40), ("val", 4)):
        (ds / split / "images").mkdir(parents=True)
        (ds / split / "labels").mkdir(parents=True)
        for i in range(n):
            img, (x0, y0, x1, y1) = _square_image(rng)
            cv2.imwrite(str(ds / split / "images" / f"{i}.jpg"), img)
            (ds / split / "labels" / f"{i}.txt").write_text(
                f"0 {(x0 + x1) / 2:.5f} {(y0 + y1) / 2:.5f} {x1 - x0:.5f} {y1 - y0:.5f}\n"
            )
    (ds / "data.yaml").write_text(f"path: {ds}\ntrain: train/images\nval: val/images\nnames:\n  0: red_square\n")
    model = YOLO("yolov8n.yaml")  # architecture only: random weights, nothing downloaded
    model.train(data=str(ds / "data.yaml"), project=str(work / "runs"), name="sq", exist_ok=True, device="cpu",
                workers=0, amp=False, plots=False, val=False, verbose=False, seed=0, deterministic=True,
                **YOLO_TRAIN)
    weights = work / "runs" / "sq" / "weights" / "last.pt"
    assert weights.is_file()
    yield weights
    mp.undo()


YOLO_TRAIN = {"epochs": 40, "imgsz": 160, "batch": 8, "mosaic": 0.0, "warmup_epochs": 0, "optimizer": "AdamW", "lr0": 0.005}


def _held_out(n: int = 6) -> list[tuple[np.ndarray, tuple[float, float, float, float]]]:
    rng = np.random.default_rng(123)
    return [_square_image(rng) for _ in range(n)]


@pytest.mark.yolo
@pytest.mark.slow
def test_yolo_backend_finds_the_trained_class(yolo_weights):
    det = get_detector(yolo_weights)
    assert isinstance(det, YoloDetector) and isinstance(det, Detector)
    assert det.name == "yolo:last.pt"
    ious = []
    for img, ref in _held_out():
        dets = [d for d in det.detect(img) if d.label == "red_square"]
        ious.append(max((iou(d.box_norm, ref) for d in dets[:3]), default=0.0))
    # most held-out squares are located (the model trains for seconds, from scratch)
    assert sum(v > 0.3 for v in ious) >= 4, ious


@pytest.mark.yolo
@pytest.mark.slow
def test_yolo_detect_objects_on_video_and_onnx_export(yolo_weights, tmp_path):
    rng = np.random.default_rng(5)
    bg = cv2.GaussianBlur(rng.integers(60, 200, (320, 320, 3), dtype=np.uint8), (0, 0), 2)
    clip = tmp_path / "squares.mp4"
    out = av.open(str(clip), "w")
    s = out.add_stream("libx264", rate=10)
    s.width, s.height, s.pix_fmt = 320, 320, "yuv420p"
    s.options = {"x264-params": "keyint=10:scenecut=0", "preset": "veryfast"}
    for i in range(40):  # square visible from 2.0 s to 4.0 s
        img = bg.copy()
        if 20 <= i < 40:
            img[100:200, 120:220] = (30, 30, 220)
        f = av.VideoFrame.from_ndarray(img, format="bgr24")
        f.pts = i
        for p in s.encode(f):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()

    det = YoloDetector(yolo_weights, imgsz=160)
    events = detect_objects(sample_frames(clip, fps=2.0, progress=False), det, min_confidence=0.05,
                            progress=False)
    objs = [e for e in events if e.kind == "object"]
    assert objs and all(e.label == "red_square" and e.attributes["detector"] == "yolo:last.pt" for e in objs)
    truth = (120 / 320, 100 / 320, 220 / 320, 200 / 320)
    top: dict[float, VisualEvent] = {}
    for e in objs:
        if e.t not in top or e.confidence > top[e.t].confidence:
            top[e.t] = e
    with_square = {t: e for t, e in top.items() if t >= 2.0 - 1e-6}
    before = [e.confidence for t, e in top.items() if t < 2.0 - 1e-6]
    # every sampled frame that shows the square (2.0, 2.5, 3.0, 3.5 s) has it as its best detection, in place
    assert sorted(with_square) == [2.0, 2.5, 3.0, 3.5]
    assert all(iou(e.box, truth) > 0.3 for e in with_square.values()), [(e.t, e.box) for e in with_square.values()]
    # and the background alone never scores as high
    assert max(before, default=0.0) < min(e.confidence for e in with_square.values())

    if importlib.util.find_spec("onnx") is None:
        missing("onnx not installed: .onnx export not tested")
    from ultralytics import YOLO

    onnx_path = Path(YOLO(str(yolo_weights)).export(format="onnx", imgsz=160, dynamic=False, simplify=False))
    odet = get_detector(onnx_path)
    assert odet.name == "yolo:last.onnx"
    for img, ref in _held_out(3):
        pt, ox = det.detect(img), odet.detect(img)
        assert pt and ox and ox[0].label == "red_square"
        assert abs(pt[0].confidence - ox[0].confidence) < 0.05 and iou(pt[0].box_norm, ox[0].box_norm) > 0.9
