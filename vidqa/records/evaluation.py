"""Records of evaluation: what a model was asked (:class:`EvalRequest`), what came back (:class:`EvalResponse`) and
how it was scored (:class:`EvalScore`), each with full provenance; :class:`EvalRun` groups one invocation.

A *call* is one question asked of one model through one transport, under one gate condition, one option order
(``permutation``) and one counterfactual. Its ``call_key`` is stable across runs (question content, model, route,
settings), so a re-run skips calls that finished; its ``cache_key`` is :meth:`ChatRequest.cache_key` (the exact
request including media hashes), so a temperature-0 re-run is answered from the response cache.

An error is never a wrong answer: a response whose ``status`` is not ``ok``/``refused`` is scored ``unscored``
with its reason, and every accuracy reports how many were left out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ['TRANSPORTS', 'GATE_CONDITIONS', 'COUNTERFACTUALS', 'RESPONSE_STATUSES', 'SCORE_STATUSES',
           'ERROR_CATEGORIES', 'EvalRequest', 'EvalResponse', 'EvalScore', 'EvalRun']

TRANSPORTS = ("native_video", "frames_audio", "frames_transcript", "text", "baseline")
"""What the model receives: the window as a video clip (Gemini); sampled frames plus the window's audio; sampled
frames plus the window's transcript; the question with vidqa's own cues as text (the cascade for text-only models);
``baseline`` for the pseudo-models."""
GATE_CONDITIONS = ("full", "deaf", "blind", "question_only")
"""``full``: everything the transport carries; ``deaf``: frames only; ``blind``: audio or transcript only;
``question_only``: the question and its options, no media."""
COUNTERFACTUALS = ("none", "muted", "shifted")
"""``muted``: the audio cue silenced; ``shifted``: the window's audio taken from a stretch without the cue."""
RESPONSE_STATUSES = ("ok", "refused", "error", "parked", "unsupported")
"""``ok`` / ``refused`` came from the model; the others are failures that are never scored as wrong answers."""
SCORE_STATUSES = ("correct", "wrong", "unscored")
ERROR_CATEGORIES = ("colour_misidentification", "counting_error", "referential_grounding_error", "text_misread",
                    "temporal_error", "omission_refusal", "uncategorised")


@dataclass
class EvalRequest:
    """One call as planned and sent (identity and provenance). ``model`` is the spec (``groq/llama-3.1-8b-instant``),
    ``provider`` / ``model_name`` its two halves."""

    question_id: int | None
    video_id: str
    model: str
    provider: str
    model_name: str
    transport: str
    condition: str = "full"
    permutation: int = 0
    counterfactual: str = "none"
    options: list[str] = field(default_factory=list)
    """The options in the order shown (after the permutation); empty for an open question."""
    gold_letter: str | None = None
    """The right letter under this permutation (``None`` for an open question)."""
    gold: str = ""
    question_hash: str = ""
    """sha256 prefix of the question's content (text, options, answer, window): an edited question is re-asked."""
    settings_hash: str = ""
    seed: int | None = None
    temperature: float = 0.0
    max_tokens: int = 64
    unit: str = ""
    """The run unit: question x model x transport (``q12/groq/llama-3.1-8b-instant/text``)."""
    call_key: str = ""
    """Stable identity of this call (unit, condition, permutation, counterfactual, settings, question content)."""
    prompt_version: int = 0
    prompt_hash: str | None = None
    """sha256 of the system prompt and the text parts (set once the request is built)."""
    media_hashes: list[str] = field(default_factory=list)
    """sha256 of every media part sent (frames, audio, clip), in order."""
    frame_times: list[float] = field(default_factory=list)
    """Media seconds of the frames sent (frame transports)."""
    cache_key: str | None = None
    notes: list[str] = field(default_factory=list)
    """What the builder had to adapt (e.g. ``"shift impossible: cue muted instead"``)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalResponse:
    """What came back for one :class:`EvalRequest` (or why nothing did)."""

    request: EvalRequest
    status: str
    """One of :data:`RESPONSE_STATUSES`."""
    text: str | None = None
    """The model's raw text."""
    error: str | None = None
    """Why there is no answer (never an API key)."""
    error_type: str | None = None
    latency: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    """Estimated US dollars (``None`` when the price is unknown)."""
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    attempts: int = 0
    cached: bool = False
    """Answered from the response cache (no call made)."""
    refusal: bool = False
    id: int | None = None
    eval_run_id: int | None = None
    created_at: str | None = None

    @property
    def answered(self) -> bool:
        """True when the model gave an answer (possibly a refusal) that can be scored."""
        return self.status in ("ok", "refused")


@dataclass
class EvalScore:
    """The verdict on one response. ``status`` is ``correct``, ``wrong`` or ``unscored`` (then ``reason`` says why);
    ``rule_correct`` and ``judge_correct`` are kept side by side for open answers."""

    call_key: str
    question_id: int | None
    model: str
    transport: str
    condition: str
    permutation: int
    counterfactual: str
    status: str
    correct: bool | None = None
    predicted: str | None = None
    """The letter (multiple choice) or the normalised answer (open)."""
    predicted_text: str | None = None
    """The option text of the predicted letter, or the raw open answer."""
    gold: str = ""
    method: str | None = None
    """``json`` (letter from a JSON answer), ``extracted`` (found in free text), ``rules`` or ``judge``."""
    parse_error: str | None = None
    reason: str | None = None
    error_category: str | None = None
    """For wrong answers: one of :data:`ERROR_CATEGORIES`."""
    category: str | None = None
    """The question's ontology category."""
    answer_type: str | None = None
    rule_correct: bool | None = None
    judge_correct: bool | None = None
    judge_model: str | None = None
    judge_reason: str | None = None
    judge_error: str | None = None
    response_id: int | None = None
    id: int | None = None

    @property
    def scored(self) -> bool:
        return self.status in ("correct", "wrong")


@dataclass
class EvalRun:
    """One ``vidqa evaluate`` invocation: its settings and what happened."""

    id: int
    settings: dict[str, Any]
    status: str
    """``running``, ``done``, ``failed``, ``parked`` or ``dry_run``."""
    started_at: str
    finished_at: str | None = None
    n_planned: int = 0
    n_calls: int = 0
    """Calls actually made to a provider (cache hits and resumed calls excluded)."""
    n_cached: int = 0
    n_resumed: int = 0
    n_errors: int = 0
    estimated_cost: float | None = None
    cost: float | None = None
    seconds: float | None = None
    error: str | None = None
