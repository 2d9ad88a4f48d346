"""What a reviewer sees beside a question: the evidence its gold answer stands on, as plain data.

:func:`evidence_view` takes a question and the cue records around its window (whatever the store returns for the
video) and picks what backs the question up:

- ``words``: the transcript words in the window (``cue: true`` for those inside the audio cue's span),
- ``transcript``: the transcript lines overlapping the window,
- ``audio_events``: the audio events overlapping the audio cue (``cue: true`` when of the cue's kind),
- ``ocr``: the text lines on screen in the window (``cue: true`` for the one the question reads),
- ``boxes``: where to draw on the frames: the visual cue's box over its span, and the detections in the window
  that match the visual cue (same label, or same text) elsewhere than the cue's box, each with its own time span,
- ``note``: the voice note a draft came from, if any.

Records carry no database ids, so the evidence is matched by time, kind and label (a question's
:class:`~vidqa.records.questions.Evidence` ids are passed through as ``evidence_ids``). Every string is data to be
shown as text.

Example::

    >>> from vidqa.records.questions import EXAMPLE, Question
    >>> view = evidence_view(Question.from_record(EXAMPLE))
    >>> view["boxes"][0]["box"], view["audio"]["text"]
    ([0.1, 0.2, 0.3, 0.4], 'look')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from vidqa.records import AudioEvent, Note, TranscriptSegment, VisualEvent
from vidqa.records.questions import Question

__all__ = ["CONTEXT_S", "evidence_view", "question_view"]

CONTEXT_S = 0.5
"""Seconds around a span that still count as inside it (word timestamps are ~0.1 s accurate)."""

_SAMPLE_SPAN_S = 1.0
"""How long an instant detection (no ``end``) is drawn for."""


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def _box(b: Any) -> list[float] | None:
    return [round(float(x), 4) for x in b] if b else None


def _norm(s: str | None) -> str:
    return " ".join(str(s or "").lower().split())


def question_view(q: Question) -> dict[str, Any]:
    """The question's own fields as JSON-safe data (what the review form edits)."""
    return {
        "id": q.id, "video_id": q.video_id, "category": q.category, "template": q.template,
        "template_version": q.template_version, "question": q.question, "answer": q.answer,
        "answer_type": q.answer_type, "options": list(q.options), "answer_index": q.answer_index,
        "t_start": _r(q.t_start), "t_end": _r(q.t_end), "confidence": _r(q.confidence), "status": q.status,
        "drop_reason": q.drop_reason, "source": q.source,
        "audio_cue": {**asdict(q.audio_cue), "start": _r(q.audio_cue.start), "end": _r(q.audio_cue.end)},
        "visual_cue": {**asdict(q.visual_cue), "start": _r(q.visual_cue.start), "end": _r(q.visual_cue.end),
                       "box": _box(q.visual_cue.box)},
    }


def evidence_view(
    q: Question,
    *,
    transcript: Iterable[TranscriptSegment] = (),
    audio_events: Iterable[AudioEvent] = (),
    visual_events: Iterable[VisualEvent] = (),
    notes: Iterable[Note] = (),
    context: float = CONTEXT_S,
) -> dict[str, Any]:
    """The evidence for ``q`` (see the module docstring) from the given cue records."""
    a, v = q.audio_cue, q.visual_cue
    w0, w1 = min(q.t_start, a.start, v.start) - context, max(q.t_end, a.end, v.end) + context

    words, lines = [], []
    for seg in transcript:
        if seg.end < w0 or seg.start > w1:
            continue
        lines.append({"start": _r(seg.start), "end": _r(seg.end), "text": seg.text.strip()})
        for wd in seg.words:
            if wd.end < w0 or wd.start > w1:
                continue
            cue = a.kind == "speech" and wd.start >= a.start - context and wd.end <= a.end + context
            words.append({"start": _r(wd.start), "end": _r(wd.end), "word": wd.word.strip(), "cue": cue})

    events = []
    for e in audio_events:
        if e.end < a.start - context or e.start > a.end + context:
            continue
        events.append({"kind": e.kind, "start": _r(e.start), "end": _r(e.end), "confidence": _r(e.confidence),
                       "cue": e.kind == a.kind})

    ocr, boxes = [], []
    if v.box:
        boxes.append({"start": _r(v.start), "end": _r(max(v.end, v.start + _SAMPLE_SPAN_S)), "box": _box(v.box),
                      "label": _cue_label(q), "kind": "cue"})
    want_label = _norm(v.label or v.shape)
    want_text = _norm(v.text)
    for e in visual_events:
        end = e.end if e.end is not None else e.t + _SAMPLE_SPAN_S
        if end <= q.t_start or e.t >= q.t_end:  # on screen during the window, not just touching it
            continue
        if e.kind == "text":
            is_cue = bool(want_text) and _norm(e.label) == want_text
            ocr.append({"start": _r(e.t), "end": _r(e.end), "text": e.label, "box": _box(e.box),
                        "confidence": _r(e.confidence), "cue": is_cue})
            if is_cue and e.box:
                boxes.append({"start": _r(e.t), "end": _r(end), "box": _box(e.box), "label": e.label,
                              "kind": "text"})
        elif e.kind in ("object", "region", "colour") and e.box:
            label = e.attributes.get("object") if e.kind == "colour" else e.label
            if v.box and _iou(e.box, v.box) > 0.9 and v.start - context <= e.t <= v.end + context:
                continue  # the cue's own box, drawn already
            if want_label and _norm(label) == want_label:
                boxes.append({"start": _r(e.t), "end": _r(end), "box": _box(e.box), "label": e.label,
                              "kind": e.kind})

    note = None
    if q.evidence.note_id is not None:
        for n in notes:
            if n.id == q.evidence.note_id:
                note = {"id": n.id, "t": _r(n.t), "text": n.text, "status": n.status}
                break

    return {
        "audio": {"kind": a.kind, "start": _r(a.start), "end": _r(a.end), "text": a.text,
                  "confidence": _r(a.confidence)},
        "visual": {**asdict(v), "start": _r(v.start), "end": _r(v.end), "box": _box(v.box)},
        "words": words, "transcript": lines, "audio_events": events, "ocr": ocr,
        "boxes": boxes[:200], "note": note, "evidence_ids": asdict(q.evidence),
    }


def _iou(a: Any, b: Any) -> float:
    ax0, ay0, ax1, ay1 = (float(x) for x in a)
    bx0, by0, bx1, by1 = (float(x) for x in b)
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


def _cue_label(q: Question) -> str:
    v = q.visual_cue
    parts = [str(x) for x in (v.count, v.colour, v.label or v.shape) if x not in (None, "")]
    if v.text:
        parts.append(repr(v.text))
    return " ".join(parts) or v.kind
