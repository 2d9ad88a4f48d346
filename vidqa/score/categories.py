"""Error categories of wrong answers, so a leaderboard says *how* a model fails, not only how often.

===============================  =================================================================================
``omission_refusal``             no answer: declined, "cannot see the video", an empty reply
``temporal_error``               a time-order / sync question, or the answer is true of the same thing at another
                                 time (seen outside the window, not in it)
``referential_grounding_error``  the answer is true of *another* thing in the window (a real colour, count or label,
                                 on the wrong referent), or a wrong object/label on a grounding question
``colour_misidentification``     a colour question answered with a colour nothing in the window has
``counting_error``               a count question answered with a wrong number
``text_misread``                 on-screen text read wrong
``uncategorised``                none of the above (kept visible in every breakdown)
===============================  =================================================================================

The window and video cues (``visual_events``) make the grounding and temporal calls; without them the category
follows the answer type.

Example::

    from vidqa.score.categories import categorise
    categorise(question, predicted="red", visual_events=events)   # 'referential_grounding_error'
"""

from __future__ import annotations

from collections.abc import Sequence

from vidqa.records import VisualEvent
from vidqa.records.questions import Question
from vidqa.score.normalize import canonical_colour, colours_in, normalize, number_in

__all__ = ["ERROR_CATEGORIES", "categorise"]

ERROR_CATEGORIES = ("colour_misidentification", "counting_error", "referential_grounding_error", "text_misread",
                    "temporal_error", "omission_refusal", "uncategorised")
TEMPORAL_CATEGORIES = {"temporal_order", "audio_visual_sync", "temporal"}
GROUNDING_CATEGORIES = {"referential_grounding", "object_interaction"}


def _in_window(e: VisualEvent, t0: float, t1: float) -> bool:
    return e.t <= t1 and (e.end if e.end is not None else e.t) >= t0


def _event_colour(e: VisualEvent) -> str | None:
    c = e.attributes.get("colour") if isinstance(e.attributes, dict) else None
    if c:
        return canonical_colour(str(c))
    return canonical_colour(e.label) if e.kind == "colour" else None


def _matches(e: VisualEvent, kind: str, value) -> bool:
    if kind == "colour":
        return _event_colour(e) == value
    if kind == "count":
        return e.kind == "count" and e.attributes.get("count") == value
    if kind == "text":
        return e.kind == "text" and normalize(e.label) == value
    return normalize(e.label) == value


def _same_referent(e: VisualEvent, q: Question) -> bool | None:
    """Whether ``e`` is the thing the question is about (``None``: the question's cue does not say)."""
    vc = q.visual_cue
    label = e.attributes.get("object", e.label) if e.kind == "colour" and isinstance(e.attributes, dict) else e.label
    if vc.label and normalize(str(label)) != normalize(vc.label):
        return False
    if vc.box and e.box:
        ax0, ay0, ax1, ay1 = vc.box
        bx0, by0, bx1, by1 = e.box
        iw, ih = max(0.0, min(ax1, bx1) - max(ax0, bx0)), max(0.0, min(ay1, by1) - max(ay0, by0))
        inter = iw * ih
        union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
        return union > 0 and inter / union >= 0.3
    return True if vc.label else None


def categorise(question: Question, *, predicted: str | None, refusal: bool = False,
               visual_events: Sequence[VisualEvent] = ()) -> str:
    """The error category of a wrong answer ``predicted`` (the option text, or the open answer) to ``question``.

    ``visual_events`` are the video's visual cues (the whole video or around the window).
    """
    if refusal or not (predicted or "").strip():
        return "omission_refusal"
    if question.category in TEMPORAL_CATEGORIES or question.answer_type == "time_order":
        return "temporal_error"
    t0, t1 = question.t_start, question.t_end
    kind = question.answer_type
    if kind == "colour" or (question.visual_cue.kind == "colour" and kind not in ("count", "text", "label")):
        colours = colours_in(predicted)
        value = colours[0] if len(colours) == 1 else None
        kind = "colour"
    elif kind == "count":
        value = number_in(predicted)
    elif kind == "text":
        value = normalize(predicted)
    else:
        value = normalize(predicted)
        kind = "label"
    if value is not None and visual_events:
        in_window = [e for e in visual_events if _in_window(e, t0, t1) and _matches(e, kind, value)]
        if any(_same_referent(e, question) is False for e in in_window):
            return "referential_grounding_error"
        outside = [e for e in visual_events if not _in_window(e, t0, t1) and _matches(e, kind, value)]
        if outside and not in_window:
            return "temporal_error"
    if kind == "colour":
        return "colour_misidentification"
    if kind == "count":
        return "counting_error"
    if kind == "text":
        return "text_misread"
    if question.category in GROUNDING_CATEGORIES or question.answer_type == "label":
        return "referential_grounding_error"
    return "uncategorised"
