"""The one visual loop: frames in, one schema of visual events out (objects, regions, text, colours, counts, cuts).

:func:`analyze_visual` decodes a video once through :func:`vidqa.analyze.frames.sample_frames` (a steady rate plus
the first frame of every hard cut) and feeds every sampled frame to the library detectors:

==============  =========================================================================  ======================
kind            what                                                                       from
==============  =========================================================================  ======================
``scene_cut``   first frame of a new shot; ``attributes["score"]`` (0..1), ``confidence``  :mod:`.frames`
``object``      a COCO/YOLO detection with ``attributes["colour"]``, ``track_id``           :mod:`.detect`
``region``      a class-agnostic salient region: ``label`` = its shape, ``attributes``      :mod:`.regions`
                ``colour`` and ``shape``, ``track_id``
``text``        one line of on-screen text over its span ``t..end`` with box, confidence   :mod:`.ocr`
``colour``      the colour of one tracked object/region over the track's span              :mod:`.tracks`
``count``       how many (label or shape, colour) are on screen, constant over ``t..end``  :mod:`.counts`
==============  =========================================================================  ======================

Every event carries ``t``, ``confidence`` and (visual cues) ``box``; spans have ``end``. The function is pure (no
store): the pipeline writes what it returns.

Example::

    from vidqa.analyze.visual import VisualSettings, analyze_visual
    events = analyze_visual(root / video.path, video, VisualSettings(fps=1.0))
    [(e.kind, e.label, e.t, e.end) for e in events if e.kind == "count"][:3]
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidqa.records import VisualEvent

if TYPE_CHECKING:
    from vidqa.analyze.detect import Detector
    from vidqa.records import Video

__all__ = ["VisualSettings", "analyze_visual"]


@dataclass(frozen=True)
class VisualSettings:
    """Settings of the visual stage (all of them change the result, so all are hashed into ``runs``).

    Example::

        VisualSettings(fps=2.0, ocr=False).as_dict()["fps"]    # 2.0
    """

    fps: float = 1.0
    """Frames per second sampled at a fixed rate (scene-cut frames come on top)."""
    scene_cuts: bool = True
    detector: str = "ssd-mobilenet-v2"
    """``ssd-mobilenet-v2`` (bundled, offline), ``none``, or a path to ultralytics YOLO weights (``.pt``/``.onnx``)."""
    min_confidence: float = 0.4
    colours: bool = True
    ocr: bool = True
    ocr_lang: str = "eng"
    ocr_engine: str = "auto"
    """``auto`` (PP-OCR text detector from rapidocr-onnxruntime when installed, each line then read by tesseract
    and PP-OCR's recogniser), ``rapidocr`` or ``tesseract`` (full-frame tesseract, the old path)."""
    regions: bool = True
    """Class-agnostic salient regions (drawn shapes, balls, signs, panels) with colour and basic shape."""
    tracks: bool = True
    """ByteTrack (``trackers`` package) track ids on objects and regions, and per-track colour events."""
    counts: bool = True
    """Count runs: spans over which the number of each (label or shape, colour) on screen is constant."""
    cut_threshold: float = 0.06
    """Absolute cut score over which a frame change is a cut (see :mod:`vidqa.analyze.frames`)."""
    adaptive_cuts: bool = True
    """Also accept lower-contrast cuts that stand out of their rolling neighbourhood (PySceneDetect-style)."""
    reuse_static: bool = True
    """Reuse the previous sample's objects and regions when no part of the picture changed (no cell of a 16 x 9
    grid moved by more than 2.5 % in any colour channel): static plates, drawn scenes and photos cost no detector
    call. Objects alone are also kept when at most 4 cells changed and none of them touches an object's box (a
    ball crossing a still picture: regions, which find the ball, still run)."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _thumb(image: Any) -> Any:
    """16 x 9 cell means of the picture, per colour channel (float32 0..255)."""
    import cv2

    return cv2.resize(image, (16, 9), interpolation=cv2.INTER_AREA).astype("float32")


def _static(a: Any, b: Any) -> bool:
    return a.shape == b.shape and float(abs(a - b).max()) < 6.5


def _little_changed(a: Any, b: Any, boxes: list[Any]) -> bool:
    """At most 4 of the 144 cells changed, and none of them touches a known object's box."""
    if a.shape != b.shape:
        return False
    changed = abs(a - b).max(axis=2) >= 6.5  # (9, 16)
    if int(changed.sum()) > 4:
        return False
    ys, xs = changed.nonzero()
    for y, x in zip(ys, xs):
        cx0, cy0, cx1, cy1 = x / 16, y / 9, (x + 1) / 16, (y + 1) / 9
        for bx in boxes:
            if bx is not None and bx[0] < cx1 and cx0 < bx[2] and bx[1] < cy1 and cy0 < bx[3]:
                return False
    return True


def _moved_to(events: list[VisualEvent], frame: Any) -> list[VisualEvent]:
    """Copies of an earlier frame's detections, stamped with this frame's time and index."""
    return [dataclasses.replace(ev, t=frame.t, frame_index=frame.frame_index, attributes=dict(ev.attributes))
            for ev in events]


def _text_boxes(image: Any, reader: Any) -> list[Any]:
    """Where text is on this frame: the stroke gate's line boxes and the reader's open lines."""
    from vidqa.analyze.ocr import text_regions

    boxes = list(text_regions(image))
    if reader is not None:
        boxes += [ev.box for ev in getattr(reader, "_open", []) if ev.box is not None]
    return boxes


def _inside_any(box: Any, boxes: list[Any]) -> bool:
    if box is None:
        return False
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for b in boxes:
        mx, my = 0.05 * (b[2] - b[0]), 0.3 * (b[3] - b[1])
        if b[0] - mx <= cx <= b[2] + mx and b[1] - my <= cy <= b[3] + my and \
                (box[2] - box[0]) * (box[3] - box[1]) <= 0.5 * (b[2] - b[0] + 2 * mx) * (b[3] - b[1] + 2 * my):
            return True
    return False


def _detector(settings: VisualSettings, detector: Detector | None) -> Detector | None:
    if detector is not None:
        return detector
    if str(settings.detector).lower() in ("none", "", "off"):
        return None
    from vidqa.analyze.detect import get_detector

    return get_detector(settings.detector)


def analyze_visual(
    path: Path,
    video: Video,
    settings: VisualSettings | None = None,
    *,
    detector: Detector | None = None,
    progress: bool = True,
) -> list[VisualEvent]:
    """Every visual cue of the media file ``path`` (the stored ``video`` gives rotation and duration), time-sorted.

    ``detector`` overrides ``settings.detector`` (pass a warm one to avoid reloading per video). Pure: no store.

    Example::

        events = analyze_visual(Path("data") / video.path, video, VisualSettings(), progress=False)
        texts = [(e.label, e.t, e.end) for e in events if e.kind == "text"]
    """
    from tqdm.auto import tqdm

    from vidqa.analyze.colors import annotate_colours
    from vidqa.analyze.frames import sample_frames
    from vidqa.analyze.prefetch import prefetch

    s = settings or VisualSettings()
    det = _detector(s, detector)
    reader = None
    if s.ocr:
        from vidqa.analyze.ocr import TextSpanReader

        reader = TextSpanReader(lang=s.ocr_lang, engine=s.ocr_engine)
    if s.regions:
        from vidqa.analyze.regions import find_regions
    duration = float(video.duration or 0.0)

    events: list[VisualEvent] = []
    per_frame: list[tuple[float, int | None, bool, list[VisualEvent]]] = []  # (t, index, is_cut, detections)
    frames = sample_frames(path, fps=s.fps, scene_cuts=s.scene_cuts, rotation=video.rotation,
                           cut_threshold=s.cut_threshold, adaptive_cuts=s.adaptive_cuts, progress=False)
    bar = tqdm(total=round(duration, 1), unit="s", desc=f"visual {getattr(video, 'id', '')}".strip(),
               disable=not progress)
    last_t = 0.0
    last_thumb = None
    det_thumb = None  # thumbnail of the last frame the object detector ran on

    def detect(frame: Any) -> list[VisualEvent]:
        assert det is not None
        objects = [
            VisualEvent(frame.t, "object", d.label, float(d.confidence), frame.frame_index,
                        tuple(float(v) for v in d.box_norm), {"detector": det.name})  # type: ignore[arg-type]
            for d in det.detect(frame.image)
            if d.confidence >= s.min_confidence
        ]
        return annotate_colours(objects, frame.image) if s.colours and objects else objects

    # Four threads share the work of one frame (the libraries release the GIL): the next frame decodes while the
    # object detector and the region finder (a thread each) and OCR (this thread) work on this one. Each frame's
    # result is complete before the next frame starts, so the events are exactly those of the sequential loop.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="vidqa-visual") as pool, \
            closing(prefetch(frames, depth=2)) as ahead:
        for frame in ahead:
            is_cut = frame.reason == "cut"
            if is_cut:
                score = float(frame.cut_score or 0.0)
                events.append(VisualEvent(frame.t, "scene_cut", "scene_cut", min(1.0, score), frame.frame_index,
                                          attributes={"score": round(score, 4)}))
            thumb = _thumb(frame.image)
            if s.reuse_static and not is_cut and last_thumb is not None and _static(last_thumb, thumb):
                # nothing moved since the last analysed frame: its detections stand (SSD and regions cost ~0.1 s)
                found = _moved_to(per_frame[-1][3], frame)
                if reader is not None:
                    reader.feed(frame)
            else:
                found, pending = [], None
                if det is not None:
                    prev_objects = [ev for ev in per_frame[-1][3] if ev.kind == "object"] if per_frame else []
                    if (s.reuse_static and not is_cut and det_thumb is not None
                            and _little_changed(det_thumb, thumb, [ev.box for ev in prev_objects])):
                        # a few cells changed, none where an object is (a ball crossing a still picture): the
                        # objects stand; regions are still found afresh below
                        found = _moved_to(prev_objects, frame)
                    else:
                        det_thumb = thumb
                        pending = pool.submit(detect, frame)
                last_thumb = thumb
                pending_regions = (pool.submit(find_regions, frame.image, t=frame.t, frame_index=frame.frame_index)
                                   if s.regions else None)
                if reader is not None:
                    reader.feed(frame)
                regions: list[VisualEvent] = pending_regions.result() if pending_regions is not None else []
                if regions:
                    # the inside of a glyph ("O", "A", "0") on a plate is a flat enclosed region too: not a shape
                    text_boxes = _text_boxes(frame.image, reader)
                    regions = [r for r in regions if not _inside_any(r.box, text_boxes)]
                if pending is not None:
                    found += pending.result()
                found += regions
            per_frame.append((frame.t, frame.frame_index, is_cut, found))
            if frame.t > last_t:
                bar.update(round(min(frame.t, duration) - min(last_t, duration), 3))
                last_t = frame.t
    bar.close()

    if s.tracks:
        from vidqa.analyze.tracks import assign_tracks, track_colours

        assign_tracks(per_frame, fps=s.fps)
        events += track_colours(per_frame, fps=s.fps, duration=duration)
    for _, _, _, found in per_frame:
        events += found
    if s.counts:
        from vidqa.analyze.counts import count_runs

        events += count_runs(per_frame, duration=duration)
    if reader is not None:
        events += reader.events(duration=duration)
    order = {"scene_cut": 0, "count": 1, "text": 2, "colour": 3, "region": 4, "object": 5}
    events.sort(key=lambda e: (e.t, order.get(e.kind, 9), -e.confidence))
    return events
