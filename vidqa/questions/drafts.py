"""Voice notes become drafts: a question anchored at the note's stamp, with what the reviewer needs beside it.

For each note (typed, or voice once transcribed) :func:`note_groups` finds the template candidates whose window
lies around the stamp (``NOTE_RADIUS_S`` either side), the categories the note's words hint at first ("how many"
-> counting, "colour" -> referential grounding, "read"/"sign" -> text reading ...). The generator words the first
one that passes the leak checks, exactly like a generated question, and marks it ``source="note"``.

When no template fits, a model may draft the question (:func:`model_draft`, only when a provider spec is given
and :mod:`vidqa.providers` is available): its answer must be one of the cue values around the stamp (a colour,
count, text or label the pipeline found there), else it is not used. Otherwise the note becomes a placeholder
(status ``dropped``, reason ``no_template: ...``) that a reviewer can write into a question.

Every draft carries ``context``: ``note`` (the text), ``note_id``, ``stamp``, ``transcript`` (the line at the
stamp) and ``cues`` (anchors and visual facts around it).

Example::

    groups = note_groups(note, index, onto)        # best-hinted first
    context = note_context(note, index)
    context["transcript"], [c["kind"] for c in context["cues"]]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from vidqa.questions.candidates import Candidate, build_candidates
from vidqa.questions.leaks import heard_leak, question_leak
from vidqa.questions.ontology import Ontology
from vidqa.questions.windows import CueIndex, normalise_words
from vidqa.records import Note
from vidqa.records.questions import AudioCue, Evidence, Question, VisualCue

__all__ = ["NOTE_RADIUS_S", "model_draft", "note_context", "note_groups", "note_window", "placeholder"]

NOTE_RADIUS_S = 3.0
"""A note's window reaches this far either side of its stamp (and its end, when known)."""

HINTS: dict[str, tuple[str, ...]] = {
    "counting": ("how many", "count", "number of", "many"),
    "referential_grounding": ("colour", "color", "what colour", "wearing"),
    "text_reading": ("read", "text", "sign", "says", "score", "scoreboard", "written", "caption"),
    "temporal_order": ("first", "before", "after", "then", "order"),
    "comparative": ("more", "fewer", "left", "right", "bigger", "compare"),
    "object_interaction": ("next to", "beside", "holding", "near", "with"),
    "audio_visual_sync": ("when", "moment", "on screen", "sync", "while"),
}
USABLE_STATUSES = ("done", "typed", "error")


def note_window(note: Note, duration: float) -> tuple[float, float]:
    """The span of media a note is about."""
    end = note.end if note.end is not None and note.end > note.t else note.t
    return max(0.0, note.t - NOTE_RADIUS_S), min(duration, end + NOTE_RADIUS_S)


def hinted_categories(text: str, categories: Sequence[str]) -> list[str]:
    """Categories in the order the note's words hint at them (unhinted ones keep their ontology order).

    >>> hinted_categories("how many balls?", ["referential_grounding", "counting"])
    ['counting', 'referential_grounding']
    """
    low = " " + " ".join(normalise_words(text)) + " "
    score = {c: sum(low.count(f" {h} ") for h in HINTS.get(c, ())) for c in categories}
    return sorted(categories, key=lambda c: (-score[c], list(categories).index(c)))


def note_context(note: Note, index: CueIndex) -> dict[str, Any]:
    """The note text, the transcript line at its stamp and the cues around it (plain JSON)."""
    t0, t1 = note_window(note, index.duration)
    seg = index.segment_of(note.t)
    line = ""
    if seg is not None:
        s, e, _ = index.segments[seg]
        if s - NOTE_RADIUS_S <= note.t <= e + NOTE_RADIUS_S:
            line = _segment_text(index, seg)
    cues: list[dict[str, Any]] = []
    for a in index.anchors_between(t0 - 5.0, t1):
        if a.end >= t0:
            cues.append({"type": "audio", "kind": a.kind, "start": round(a.start, 3), "end": round(a.end, 3),
                         "text": a.text})
    for kind in ("colour", "count", "text", "object"):
        for f in index.facts(kind):
            if f.start <= t1 and f.end >= t0:
                cues.append({"type": "visual", "kind": f.kind, "label": f.label, "colour": f.colour,
                             "count": f.count, "text": f.text, "start": round(f.start, 3), "end": round(f.end, 3)})
    return {"note": note.text, "note_id": note.id, "stamp": note.t, "transcript": line, "cues": cues}


def _segment_text(index: CueIndex, seg: int) -> str:
    return " ".join(index.segments[seg][2])


def note_groups(note: Note, index: CueIndex, onto: Ontology) -> list[list[Candidate]]:
    """Candidate groups whose window lies inside the note's window, hinted categories first."""
    t0, t1 = note_window(note, index.duration)
    out: list[tuple[int, list[Candidate]]] = []
    order = hinted_categories(note.text or "", onto.categories)
    for template in onto.templates:
        for group in build_candidates(template, index, onto):
            inside = [c for c in group if c.t_start >= t0 - 1e-6 and c.t_end <= t1 + 1e-6]
            if inside:
                out.append((order.index(template.category), inside))
    out.sort(key=lambda x: x[0])
    return [g for _, g in out]


def placeholder(note: Note, video: Any, index: CueIndex, context: dict[str, Any], seed: int) -> Question:
    """A draft no template fits: the note's text as the prompt, no answer yet (a reviewer writes it)."""
    t0, t1 = note_window(note, index.duration)
    end = note.end if note.end is not None and note.end > note.t else note.t
    return Question(
        video_id=video.id, category="unassigned", template="note", template_version=1,
        question=note.text.strip() or f"(note at {note.t:.1f} s)", answer="", answer_type="label", options=[],
        answer_index=None, t_start=round(t0, 3), t_end=round(t1, 3),
        audio_cue=AudioCue("note", round(note.t, 3), round(end, 3), note.text or None),
        visual_cue=VisualCue("none", round(note.t, 3), round(end, 3)), evidence=Evidence(note_id=note.id),
        confidence=0.0, status="dropped",
        drop_reason="no_template: no template fits the cues around the note; write the question in review",
        video_sha256=getattr(video, "sha256", None), seed=seed, source="note", context=context,
    )


def _cue_values(context: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Answer values the cues around a note can ground: value (lower case) -> (answer type, cue)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for c in context["cues"]:
        if c["type"] != "visual":
            continue
        if c["kind"] == "colour" and c["colour"]:
            out[c["colour"].lower()] = ("colour", c)
        elif c["kind"] == "count" and c["count"] is not None:
            out[str(c["count"])] = ("count", c)
        elif c["kind"] == "text" and c["text"]:
            out[c["text"].lower()] = ("text", c)
        elif c["kind"] == "object":
            out[c["label"].lower()] = ("label", c)
    return out


def model_draft(note: Note, video: Any, index: CueIndex, onto: Ontology, context: dict[str, Any], model: str,
                seed: int) -> Question | None:
    """A draft worded by a model through :mod:`vidqa.providers` (``model`` is a provider spec), grounded: the
    answer must be a cue value around the stamp and pass both leak checks. ``None`` when it is not usable
    (no provider, a provider error, an ungrounded or leaking answer)."""
    try:
        from vidqa.providers import ChatRequest, get_provider, text_part
    except ImportError:
        return None
    values = _cue_values(context)
    audio = [c for c in context["cues"] if c["type"] == "audio"]
    if not values or not audio:
        return None
    prompt = (
        "Write one multiple-choice question for a video benchmark that can only be answered by BOTH listening and "
        "looking: anchor it on the sound and ask about the picture. Never put the answer in the question.\n"
        f"Annotator's note: {note.text}\nTranscript here: {context['transcript']}\n"
        f"Sounds: {json.dumps(audio)}\nOn screen: {json.dumps([v[1] for v in values.values()])}\n"
        'Reply with JSON: {"question": "...", "answer": "...", "options": ["...", "...", "...", "..."]} where the '
        "answer is exactly one of the on-screen values."
    )
    schema = {"type": "object", "properties": {"question": {"type": "string"}, "answer": {"type": "string"},
                                               "options": {"type": "array", "items": {"type": "string"}}},
              "required": ["question", "answer", "options"]}
    try:
        provider, name = get_provider(model)
        reply = provider.complete(ChatRequest(name, (text_part(prompt),), max_tokens=300, json_schema=schema,
                                              seed=seed)).json()
    except Exception:  # noqa: BLE001  (a model is optional: any failure falls back to the placeholder)
        return None
    if not isinstance(reply, dict):
        return None
    answer = str(reply.get("answer", "")).strip()
    question = str(reply.get("question", "")).strip()
    if not answer or not question or answer.lower() not in values:
        return None
    answer_type, cue = values[answer.lower()]
    t0, t1 = note_window(note, index.duration)
    if question_leak(question, answer, answer_type, onto) or heard_leak(index, t0, t1, answer, answer_type, onto,
                                                                        about=(cue.get("label") or "",)):
        return None
    options = [str(o).strip() for o in reply.get("options") or []]
    ok = len(options) == 4 and len({o.lower() for o in options}) == 4 and answer.lower() in [o.lower() for o in
                                                                                               options]
    a = audio[0]
    return Question(
        video_id=video.id, category="audio_visual_sync", template="model", template_version=1, question=question,
        answer=answer, answer_type=answer_type, options=options if ok else [],
        answer_index=[o.lower() for o in options].index(answer.lower()) if ok else None,
        t_start=round(t0, 3), t_end=round(t1, 3), audio_cue=AudioCue(a["kind"], a["start"], a["end"], a["text"]),
        visual_cue=VisualCue(cue["kind"], cue["start"], cue["end"], label=cue.get("label"), colour=cue.get("colour"),
                             text=cue.get("text"), count=cue.get("count")),
        evidence=Evidence(note_id=note.id), confidence=0.5, status="draft", video_sha256=getattr(video, "sha256", None),
        seed=seed, source="model", context={**context, "model": model},
    )
