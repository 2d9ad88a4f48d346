"""Records of the question engine and of human review (plain dataclasses; the store writes them).

A :class:`Question` is one audio-visual challenge: it anchors on an :class:`AudioCue` (a spoken phrase or a
non-speech event) and asks about a :class:`VisualCue` (a colour, a count run, a text line, an object) in the
window ``[t_start, t_end]``. Its gold answer comes from stored cues, named in ``evidence``. Candidates that fail a
check are kept as questions with ``status="dropped"`` and a ``drop_reason``, so the review queue shows why.

``Question.to_record()`` is the published dataset layout (JSONL / CSV / JSON exports, the reports issue's dataset).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from vidqa.errors import VidqaError

__all__ = ['QUESTION_STATUSES', 'ANSWER_TYPES', 'REVIEW_VERDICTS', 'EDITABLE_FIELDS', 'QuestionError', 'AudioCue',
           'VisualCue', 'Evidence', 'Question', 'apply_changes', 'EXAMPLE', 'Review']

QUESTION_STATUSES = ("draft", "validated", "rejected", "dropped")
ANSWER_TYPES = ("colour", "count", "text", "label", "time_order", "yes_no")
REVIEW_VERDICTS = ("accept", "reject", "skip", "edit")
EDITABLE_FIELDS = ("question", "answer", "options", "answer_index", "t_start", "t_end", "category", "answer_type")
"""Fields a reviewer may change (``Review.changes``); ``prompt`` is accepted for ``question`` and ``window``
(``[t_start, t_end]``) for the two times."""


class QuestionError(VidqaError):
    """A question or a review is not valid (unknown field, answer not among its options, bad window ...)."""


@dataclass
class AudioCue:
    """What the question anchors on (or asks about) in the audio."""

    kind: str
    """``speech`` (a phrase located by word timestamps) or an audio event kind (``whistle``, ``buzzer``, ...)."""
    start: float
    end: float
    text: str | None = None
    """The spoken phrase, for ``speech``."""
    confidence: float = 1.0


@dataclass
class VisualCue:
    """The visual fact the question needs (audio alone cannot give it)."""

    kind: str
    """``colour``, ``count``, ``text``, ``object``, ``region`` (the visual event kinds)."""
    start: float
    end: float
    label: str | None = None
    colour: str | None = None
    shape: str | None = None
    text: str | None = None
    count: int | None = None
    box: tuple[float, float, float, float] | None = None
    confidence: float = 1.0


@dataclass
class Evidence:
    """Ids of the stored rows a gold answer stands on (``transcript_words``, ``audio_events``, ``visual_events``)."""

    words: list[int] = field(default_factory=list)
    audio_events: list[int] = field(default_factory=list)
    visual_events: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    note_id: int | None = None


@dataclass
class Question:
    """One audio-visual question (a draft, validated, rejected or dropped candidate)."""

    video_id: str
    category: str
    """An ontology category: ``referential_grounding``, ``counting``, ``comparative``, ``object_interaction``,
    ``temporal_order``, ``audio_visual_sync``, ``text_reading`` ..."""
    template: str
    template_version: int
    question: str
    answer: str
    answer_type: str
    options: list[str]
    answer_index: int | None
    t_start: float
    t_end: float
    audio_cue: AudioCue
    visual_cue: VisualCue
    evidence: Evidence = field(default_factory=Evidence)
    confidence: float = 1.0
    status: str = "draft"
    drop_reason: str | None = None
    id: int | None = None
    video_sha256: str | None = None
    seed: int | None = None
    source: str = "template"
    """``template``, ``note`` (a voice note turned into a draft) or ``model`` (drafted through a provider)."""
    gate: dict[str, Any] = field(default_factory=dict)
    """Modality-gate results written by evaluation (e.g. ``{"blind": true}`` when audio alone answers it)."""
    context: dict[str, Any] = field(default_factory=dict)
    """What a reviewer sees beside the question: for a note draft ``note`` (its text), ``transcript`` (the line
    around the stamp) and ``cues`` (the cues near it); ``wording`` (which phrasing of the template was used)."""
    created_at: str | None = None
    updated_at: str | None = None

    def key(self) -> tuple[str, str, float, float, str]:
        """Identity for de-duplication: same video, category, window and answer."""
        return (self.video_id, self.category, round(self.t_start, 2), round(self.t_end, 2), self.answer.lower())

    def to_record(self) -> dict[str, Any]:
        """The documented export record (JSON-safe)."""
        out = asdict(self)
        out["audio_cue"] = asdict(self.audio_cue)
        out["visual_cue"] = asdict(self.visual_cue)
        out["visual_cue"]["box"] = list(self.visual_cue.box) if self.visual_cue.box else None
        return out

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Question:
        """The inverse of :meth:`to_record` (extra keys are ignored).

        >>> q = Question.from_record(Question.from_record(EXAMPLE).to_record())
        >>> q.answer, q.visual_cue.box
        ('red', (0.1, 0.2, 0.3, 0.4))
        """
        names = {f for f in cls.__dataclass_fields__}
        data = {k: v for k, v in record.items() if k in names}
        audio = dict(data.get("audio_cue") or {})
        visual = dict(data.get("visual_cue") or {})
        if visual.get("box") is not None:
            visual["box"] = tuple(float(x) for x in visual["box"])
        data["audio_cue"] = AudioCue(**{k: v for k, v in audio.items() if k in AudioCue.__dataclass_fields__})
        data["visual_cue"] = VisualCue(**{k: v for k, v in visual.items() if k in VisualCue.__dataclass_fields__})
        ev = data.get("evidence") or {}
        data["evidence"] = ev if isinstance(ev, Evidence) else Evidence(
            **{k: v for k, v in ev.items() if k in Evidence.__dataclass_fields__})
        data["options"] = list(data.get("options") or [])
        data["gate"] = dict(data.get("gate") or {})
        data["context"] = dict(data.get("context") or {})
        return cls(**data)

    def problems(self) -> list[str]:
        """What is wrong with this question as a dataset item (empty when it is valid)."""
        out = []
        if self.status not in QUESTION_STATUSES:
            out.append(f"status {self.status!r} is not one of {', '.join(QUESTION_STATUSES)}")
        if self.answer_type not in ANSWER_TYPES:
            out.append(f"answer type {self.answer_type!r} is not one of {', '.join(ANSWER_TYPES)}")
        if not str(self.question).strip():
            out.append("the question is empty")
        if not str(self.answer).strip():
            out.append("the answer is empty")
        if not self.category:
            out.append("the category is empty")
        if not (self.t_start <= self.t_end):
            out.append(f"the window starts after it ends ({self.t_start} > {self.t_end})")
        if self.options:
            lowered = [str(o).strip().lower() for o in self.options]
            if len(set(lowered)) != len(lowered):
                out.append(f"options repeat: {self.options}")
            if self.answer_index is None or not 0 <= self.answer_index < len(self.options):
                out.append(f"answer_index {self.answer_index} does not point into the {len(self.options)} options")
            elif str(self.options[self.answer_index]).strip().lower() != str(self.answer).strip().lower():
                out.append(f"option {self.answer_index} ({self.options[self.answer_index]!r}) is not the answer "
                           f"({self.answer!r})")
        elif self.answer_index is not None:
            out.append("answer_index is set but there are no options")
        return out

    def validate(self) -> Question:
        """Raise :class:`QuestionError` listing every problem; returns the question when it is valid."""
        problems = self.problems()
        if problems:
            raise QuestionError(f"Question {self.id if self.id is not None else '(new)'} is not valid: "
                                + "; ".join(problems) + ".")
        return self


def apply_changes(question: Question, changes: dict[str, Any]) -> Question:
    """A copy of ``question`` with a reviewer's ``changes`` applied and validated.

    Keys: :data:`EDITABLE_FIELDS`, ``prompt`` (= ``question``) and ``window`` (``[t_start, t_end]``). A new
    ``answer`` without new ``options`` replaces the old answer's option (or points at the option that already says
    it), so the options stay consistent.

    >>> q = Question.from_record(EXAMPLE)
    >>> q2 = apply_changes(q, {"answer": "blue", "window": [1.0, 3.0]})
    >>> q2.answer, q2.options[q2.answer_index], q2.t_end
    ('blue', 'blue', 3.0)
    """
    changes = dict(changes)
    if "prompt" in changes:
        changes.setdefault("question", changes.pop("prompt"))
    if "window" in changes:
        window = changes.pop("window")
        try:
            changes["t_start"], changes["t_end"] = (float(x) for x in window)
        except (TypeError, ValueError):
            raise QuestionError(f"window must be [t_start, t_end] in seconds, not {window!r}.") from None
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise QuestionError(f"Fields {sorted(unknown)} cannot be edited; editable: {', '.join(EDITABLE_FIELDS)}, "
                            "prompt, window.")
    for key in ("t_start", "t_end"):
        if key in changes:
            changes[key] = float(changes[key])
    if "answer" in changes:
        changes["answer"] = str(changes["answer"]).strip()
    options = [str(o) for o in changes["options"]] if "options" in changes else list(question.options)
    answer = changes.get("answer", question.answer)
    index = changes.get("answer_index", question.answer_index)
    if options and ("answer" in changes or "options" in changes) and "answer_index" not in changes:
        lowered = [o.strip().lower() for o in options]
        if answer.lower() in lowered:
            index = lowered.index(answer.lower())
        elif "options" not in changes and index is not None and 0 <= index < len(options):
            options[index] = answer
        else:
            raise QuestionError(f"The answer {answer!r} is not among the options {options}: change both.")
    if options and "answer_index" in changes and "answer" not in changes and index is not None \
            and 0 <= index < len(options):
        answer = options[index]
    out = replace(question, **{**changes, "options": options, "answer": answer,
                               "answer_index": index if options else None})
    return out.validate()


EXAMPLE: dict[str, Any] = {
    "video_id": "3f2a9c1b7d4e", "category": "referential_grounding", "template": "colour_after_speech",
    "template_version": 1, "question": "Right after the narrator says 'look', what colour is the ball?",
    "answer": "red", "answer_type": "colour", "options": ["red", "blue", "green", "white"], "answer_index": 0,
    "t_start": 1.0, "t_end": 2.5, "audio_cue": {"kind": "speech", "start": 1.0, "end": 1.4, "text": "look"},
    "visual_cue": {"kind": "object", "start": 1.0, "end": 2.5, "label": "ball", "colour": "red",
                   "box": [0.1, 0.2, 0.3, 0.4]},
}
"""A small valid question record (docs and doctests)."""


@dataclass
class Review:
    """One reviewer's verdict on a question."""

    question_id: int
    reviewer: str
    verdict: str
    """``accept``, ``reject``, ``skip`` or ``edit``."""
    reason: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    """Fields the reviewer changed (prompt, answer, options, window, category) with their new values."""
    round: int = 1
    """1 for the first review, 2 for the second (agreement) review."""
    id: int | None = None
    created_at: str | None = None
