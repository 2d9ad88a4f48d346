"""On-screen text over time: one ``kind="text"`` event per line shown, with its span, box and confidence.

:class:`TextSpanReader` takes sampled frames one at a time and decides which ones to read (a full read costs
~0.3-0.6 s: PP-OCR line detection + recognition, see :mod:`vidqa.analyze.textlines`); :func:`ocr_frames` runs it
over a stream. Both are re-exported by :mod:`vidqa.analyze.ocr`.

Example::

    from vidqa.analyze.ocr import TextSpanReader
    reader = TextSpanReader(engine="auto")
    for fr in sample_frames("match.mp4"):
        reader.feed(fr)
    [(e.label, e.t, e.end) for e in reader.events(duration=85.0)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from vidqa.analyze.ocr import _ALNUM, _iou, _norm_text, read_text, text_changed, text_regions
from vidqa.records import VisualEvent

__all__ = ["TextSpanReader", "ocr_frames"]


class TextSpanReader:
    """Feed frames one at a time (time order); :meth:`events` gives one ``kind='text'`` event per line shown.

    A frame is read when it is a scene cut, or when :func:`likely_has_text` says yes and its text regions
    :func:`text_changed` since the last frame read; an unchanged frame extends the open lines. A line read again
    (same text, about the same place) extends its event instead of repeating it. Each event: ``t`` /
    ``frame_index`` where the line first appeared, ``end`` = the first sampled frame where it was gone (the last
    frame fed if it never went, or ``duration`` when given to :meth:`events`), ``label`` the text, ``confidence``
    0..1 (the best reading), ``box`` normalised, attributes ``words``, ``lang``, ``engine``, ``source``,
    ``last_seen`` (time of the last frame showing it), ``reads`` (how many times OCR read it).

    Example::

        reader = TextSpanReader(engine="auto")
        for fr in sample_frames("clip.mp4"):
            reader.feed(fr)
        events = reader.events(duration=30.0)
    """

    def __init__(self, *, lang: str = "eng", engine: str = "auto", psm: int = 11, min_confidence: float = 60):
        self.lang, self.engine, self.psm, self.min_confidence = lang, engine, psm, min_confidence
        self._events: list[VisualEvent] = []
        self._open: list[VisualEvent] = []
        self._last_image: np.ndarray | None = None
        self._last_t: float | None = None
        self._baseline: dict[int, str] = {}  # id(open event) -> PP-OCR's reading of its box when last read
        self._pixels: dict[int, np.ndarray] = {}  # id(open event) -> its box's pixels when last verified
        self._dud: list[tuple[float, float, float, float]] = []  # gate regions read in vain in this shot
        self.frames_read = 0

    def _close(self, t: float) -> None:
        for ev in self._open:
            ev.end = t
        self._open = []

    def _still_same(self, image: np.ndarray) -> bool:
        """Re-read the open lines with PP-OCR's recogniser alone (~10 ms a line): one changed digit of a score
        moves too few strokes for :func:`text_changed` to see. Lines whose pixels did not change since they were
        last verified (:func:`_unchanged_pixels`) are not re-read: text cannot change without its pixels."""
        checks = [ev for ev in self._open if id(ev) in self._baseline]
        if not checks:
            return True
        if all(self._pixels_unchanged(image, ev) for ev in checks):
            return True
        from vidqa.analyze import textlines

        now = textlines.recheck(image, [ev.box for ev in checks])  # type: ignore[misc]
        for ev, (txt, conf) in zip(checks, now):
            if re.sub(r"\s+", "", txt) != self._baseline[id(ev)] and conf >= 0.5:
                return False
        self._remember_pixels(image, checks)  # verified: the next frames compare with this one
        return True

    def _pixels_unchanged(self, image: np.ndarray, ev: VisualEvent) -> bool:
        before = self._pixels.get(id(ev))
        return before is not None and ev.box is not None and _unchanged_pixels(before, _box_pixels(image, ev.box))

    def _remember_pixels(self, image: np.ndarray, events: Sequence[VisualEvent]) -> None:
        for ev in events:
            if ev.box is not None:
                self._pixels[id(ev)] = _box_pixels(image, ev.box)

    def _probe_is_empty(self, image: np.ndarray, regions: list[tuple[float, float, float, float]]) -> bool:
        """Whether PP-OCR's recogniser reads no confident text in any of the (slightly widened) gate regions."""
        from vidqa.analyze import textlines

        if self.engine == "tesseract" or not textlines.available():
            return False
        boxes = []
        for x0, y0, x1, y1 in regions[:12]:
            mx, my = 0.1 * (x1 - x0) + 0.5 * (y1 - y0), 0.3 * (y1 - y0)
            boxes.append((max(0.0, x0 - mx), max(0.0, y0 - my), min(1.0, x1 + mx), min(1.0, y1 + my)))
        for txt, conf in textlines.recheck(image, boxes):
            if conf >= 0.6 and len(_ALNUM.findall(txt)) >= 2:
                return False
        return len(regions) <= 12

    def _set_baselines(self, image: np.ndarray) -> None:
        from vidqa.analyze import textlines

        self._baseline = {}
        self._pixels = {}
        checks = [ev for ev in self._open if "readings" in ev.attributes]
        if checks:
            for ev, (txt, _conf) in zip(checks, textlines.recheck(image, [ev.box for ev in checks])):  # type: ignore[misc]
                self._baseline[id(ev)] = re.sub(r"\s+", "", txt)
            self._remember_pixels(image, checks)

    def _uncovered(self, regions: list[tuple[float, float, float, float]],
                   boxes: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
        """Gate regions that no open line and no region already read in vain (``_dud``) covers."""
        def covers(b: Sequence[float], r: Sequence[float]) -> bool:
            ix = max(0.0, min(b[2], r[2]) - max(b[0], r[0]))
            iy = max(0.0, min(b[3], r[3]) - max(b[1], r[1]))
            return ix * iy >= 0.5 * max(1e-9, (r[2] - r[0]) * (r[3] - r[1]))

        return [r for r in regions if not any(covers(b, r) for b in [*boxes, *self._dud])]

    def feed(self, frame: Any) -> None:
        """One frame: an object with ``.t``, ``.frame_index``, ``.image`` (BGR) and ``.reason``.

        What is read: a frame whose stroke gate (:func:`text_regions`) finds text that is neither an open line nor
        a place already read in vain this shot, or whose open lines changed (PP-OCR's recogniser re-reads their
        boxes, ~10 ms a line; with the tesseract engine :func:`text_changed` compares the strokes). Everything
        else extends the open lines, so a static caption costs one full read however long it stays.
        """
        image, t = frame.image, float(frame.t)
        self._last_t = t
        is_cut = getattr(frame, "reason", "rate") == "cut"
        if is_cut:
            self._dud = []
        regions = text_regions(image)
        has_text = bool(regions)
        if not is_cut and not has_text and self._baseline and self._open:
            # the stroke gate can miss a font (touching serifs, thin strokes): ask the recogniser whether the
            # open lines are still there before closing them (unless their pixels are as they were)
            from vidqa.analyze import textlines

            if any(id(ev) in self._baseline and self._pixels_unchanged(image, ev) for ev in self._open):
                has_text = True
            else:
                now = textlines.recheck(image, [ev.box for ev in self._open])  # type: ignore[misc]
                has_text = any(conf >= 0.6 and len(_ALNUM.findall(txt)) >= 2 for txt, conf in now)
        if not has_text:
            self._close(t)  # text gone: a caption that comes back is a new event
            self._last_image = None
            return
        open_boxes = [ev.box for ev in self._open if ev.box is not None] if not is_cut else []
        changed = is_cut
        if not is_cut:
            if self._open and self._baseline:
                changed = not self._still_same(image)
                if not changed and not self._uncovered(regions, open_boxes):  # type: ignore[arg-type]
                    for ev in self._open:
                        ev.attributes["last_seen"] = t
                    return
            elif self._open:
                changed = self._last_image is None or text_changed(self._last_image, image)
                if not changed:
                    for ev in self._open:
                        ev.attributes["last_seen"] = t
                    return
            elif not self._uncovered(regions, []):
                return  # only places that held no text when read
        new = self._uncovered(regions, open_boxes)  # type: ignore[arg-type]
        if (not changed or is_cut) and new and self._probe_is_empty(image, new):
            # what the stroke gate found is texture, not text (PP-OCR's recogniser reads nothing confident there,
            # ~10 ms a region instead of a ~0.3 s full read)
            self._dud = (self._dud + new)[-64:]
            if is_cut:
                self._close(t)
                self._last_image = None
            else:
                for ev in self._open:
                    ev.attributes["last_seen"] = t
            return
        lines = read_text(image, lang=self.lang, engine=self.engine, psm=self.psm,
                          min_confidence=self.min_confidence)
        self.frames_read += 1
        self._last_image = image
        still_open: list[VisualEvent] = []
        for tb in lines:
            match = next((ev for ev in self._open if ev not in still_open
                          and _norm_text(ev.label) == _norm_text(tb.text)
                          and _iou(ev.box or (0, 0, 0, 0), tb.box) > 0.3), None)
            if match is not None:
                match.attributes["last_seen"] = t
                match.attributes["reads"] += 1
                match.confidence = max(match.confidence, float(tb.confidence))
                still_open.append(match)
                continue
            ev = VisualEvent(
                t=t,
                kind="text",
                label=tb.text,
                confidence=float(tb.confidence),
                frame_index=getattr(frame, "frame_index", None),
                box=tuple(float(v) for v in tb.box),  # type: ignore[arg-type]
                attributes={"words": [[wd, c, list(b)] for wd, c, b in tb.words], "lang": self.lang,
                            "engine": self.engine, "source": tb.source, "last_seen": t, "reads": 1},
            )
            if tb.readings:
                ev.attributes["readings"] = tb.readings
            self._events.append(ev)
            still_open.append(ev)
        for ev in self._open:
            if ev not in still_open:
                ev.end = t
        self._open = still_open
        self._set_baselines(image)
        read = [tb.box for tb in lines]
        vain = [r for r in regions if self._uncovered([r], read)]  # gate regions no line was read in
        self._dud = (self._dud + vain)[-64:]

    def events(self, *, duration: float | None = None) -> list[VisualEvent]:
        """The text events so far (open lines end at ``duration``, else at the last frame fed)."""
        end = duration if duration is not None else self._last_t
        for ev in self._open:
            ev.end = float(end) if end is not None else ev.t
        out = sorted(self._events, key=lambda e: (e.t, e.box[1] if e.box else 0.0))
        return out


_CELL = 4
"""Pixels per side of the cells a text box is compared in (a stroke of a 720p caption spans about one)."""
_CELL_TOLERANCE = 10.0
"""Largest change of a cell's mean grey level (0..255) that is still "the same pixels" (codec noise on a still
caption stays under ~3; a stroke that appears or goes moves its cells by tens)."""


def _box_pixels(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The grey level of ``box`` (normalised, widened by a cell) in ``_CELL``-pixel cells, float32."""
    import cv2

    h, w = image.shape[:2]
    x0, y0 = max(0, int(box[0] * w) - _CELL), max(0, int(box[1] * h) - _CELL)
    x1, y1 = min(w, int(np.ceil(box[2] * w)) + _CELL), min(h, int(np.ceil(box[3] * h)) + _CELL)
    crop = image[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    size = (max(1, grey.shape[1] // _CELL), max(1, grey.shape[0] // _CELL))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def _unchanged_pixels(before: np.ndarray, now: np.ndarray) -> bool:
    """Whether no cell of a box changed by more than :data:`_CELL_TOLERANCE` grey levels."""
    return before.shape == now.shape and float(np.abs(before - now).max(initial=0.0)) <= _CELL_TOLERANCE


def ocr_frames(
    frames: Iterable[Any],
    *,
    lang: str = "eng",
    psm: int = 11,
    min_confidence: float = 60,
    engine: str = "tesseract",
    duration: float | None = None,
    progress: bool = True,
) -> list[VisualEvent]:
    """``kind='text'`` events for a stream of frames (objects with ``.t``, ``.frame_index``, ``.image`` BGR and
    ``.reason`` ``'rate'|'cut'|'keyframe'``, e.g. :class:`vidqa.analyze.frames.Frame`), in time order.

    :class:`TextSpanReader` over the stream: one event per line of text over its span ``t``..``end``.

    >>> import cv2
    >>> from types import SimpleNamespace as F
    >>> img = np.full((200, 900, 3), 255, np.uint8)
    >>> _ = cv2.putText(img, "HOME 2 - 1 AWAY", (30, 120), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (0, 0, 0), 5)
    >>> evs = ocr_frames([F(t=1.0, frame_index=25, image=img, reason="cut"),
    ...                   F(t=2.0, frame_index=50, image=img, reason="rate")], progress=False)
    >>> [(e.t, e.label, e.end) for e in evs]
    [(1.0, 'HOME 2 - 1 AWAY', 2.0)]
    """
    from tqdm.auto import tqdm

    reader = TextSpanReader(lang=lang, engine=engine, psm=psm, min_confidence=min_confidence)
    for fr in tqdm(frames, desc="ocr", unit="frame", disable=not progress):
        reader.feed(fr)
    return reader.events(duration=duration)
