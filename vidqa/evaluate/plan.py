"""Planning: which calls a run makes (question x model x transport x gate condition x option rotation x
counterfactual), each with a stable ``call_key`` (resume) and ``unit`` (the run unit: question x model x transport),
and building a planned call into the exact :class:`~vidqa.providers.base.ChatRequest` (media included).

Example::

    from vidqa.evaluate.plan import EvalSettings, plan, resolve_model
    target = resolve_model("local/smollm2")
    p = plan(questions, {q.video_id: media for q in questions}, [target], EvalSettings(permutations=4, gate=True))
    len(p.tasks), p.skipped      # calls to make, and (model, transport, reason) combinations left out
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from vidqa.errors import VidqaError
from vidqa.evaluate import prompt as P
from vidqa.evaluate.cost import CostEstimate, estimate_tokens
from vidqa.evaluate.gate import GATE_CONDITIONS
from vidqa.evaluate.permutations import Permutation, rotations
from vidqa.evaluate.transports import (
    AUDIO_TRANSPORTS,
    FRAME_TRANSPORTS,
    TRANSPORT_NAMES,
    QuestionMedia,
    TransportSettings,
    build_media,
    default_transport,
    unsupported_reason,
)
from vidqa.providers.base import Capabilities, ChatRequest, Provider, get_provider, parse_spec, text_part
from vidqa.records.evaluation import EvalRequest
from vidqa.records.questions import Question

__all__ = ["EvalSettings", "EvalTask", "Limits", "ModelTarget", "Plan", "build_chat_request", "plan", "question_hash",
           "resolve_model"]


@dataclass(frozen=True)
class Limits:
    """Concurrency and pace of calls to one model: at most ``concurrency`` in flight, ``rpm`` starts a minute."""

    concurrency: int = 2
    rpm: float | None = None
    burst: int = 1


DEFAULT_LIMITS = {"groq": Limits(2, 30.0), "gemini": Limits(2, 10.0), "openai": Limits(4, None),
                  "local": Limits(1, None), "baseline": Limits(1, None)}
"""Free-tier-safe defaults per provider (Groq: 30 requests a minute; Gemini: 10)."""


@dataclass
class ModelTarget:
    """A model to evaluate: its spec, provider (or baseline), capabilities and limits."""

    spec: str
    provider: Any
    """A :class:`~vidqa.providers.base.Provider`, or a :class:`~vidqa.evaluate.baselines.Baseline`."""
    model: str
    caps: Capabilities
    limits: Limits
    cache_scope: str
    """The ``provider`` argument of :meth:`ChatRequest.cache_key` (the provider name, plus its base URL when the spec
    names one, so two servers never share answers)."""

    @property
    def is_baseline(self) -> bool:
        return self.spec.startswith("baseline/")


def resolve_model(spec: str, *, provider: Provider | None = None, limits: Limits | None = None,
                  **provider_kwargs: Any) -> ModelTarget:
    """A :class:`ModelTarget` for ``spec`` (``groq/...``, ``gemini/...``, ``openai/MODEL@URL``, ``local/smollm2``,
    ``baseline/random`` ...). ``provider`` replaces the one :func:`get_provider` would build (tests, shared
    clients)."""
    if spec.startswith("baseline/"):
        from vidqa.evaluate.baselines import get_baseline

        base = get_baseline(spec)
        return ModelTarget(spec, base, base.kind, base.capabilities(base.kind), limits or DEFAULT_LIMITS["baseline"],
                           "baseline")
    name, model, base_url = parse_spec(spec)
    if provider is None:
        provider, model = get_provider(spec, **provider_kwargs)
    scope = provider.name + (f"@{base_url}" if base_url else "")
    return ModelTarget(spec, provider, model, provider.capabilities(model), limits or DEFAULT_LIMITS.get(name, Limits()),
                       scope)


@dataclass(frozen=True)
class EvalSettings:
    """What a run asks. Every field that changes a call is hashed into its ``call_key`` (see :meth:`call_dict`)."""

    transports: tuple[str, ...] | None = None
    """Transports to use; ``None``: each model's richest (:func:`default_transport`)."""
    permutations: int = 1
    """Rotations of the options for the full condition (1 = as stored)."""
    gate: bool = False
    """Also ask deaf, blind and question-only (under ``gate_permutations`` rotations)."""
    gate_permutations: int | None = None
    """Rotations for the gate conditions; ``None``: every rotation (the gate's "under every option order")."""
    counterfactual: bool = False
    """Also ask with the audio cue muted and shifted (audio transports only)."""
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int = 48
    media: TransportSettings = field(default_factory=TransportSettings)

    def call_dict(self) -> dict[str, Any]:
        """The settings that change a single call's request (hashed into every call key)."""
        return {"prompt_version": P.PROMPT_VERSION, "temperature": float(self.temperature), "seed": self.seed,
                "max_tokens": int(self.max_tokens), "media": asdict(self.media)}

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["transports"] = list(self.transports) if self.transports else None
        d["prompt_version"] = P.PROMPT_VERSION
        return d

    def call_hash(self) -> str:
        return _hash(self.call_dict())[:16]


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


def question_hash(q: Question) -> str:
    """sha256 prefix of what a model sees of a question (text, options, answer, window, cues)."""
    return _hash({"q": q.question, "o": list(q.options), "a": q.answer, "i": q.answer_index,
                  "w": [round(q.t_start, 3), round(q.t_end, 3)], "v": q.video_id,
                  "ac": [q.audio_cue.kind, round(q.audio_cue.start, 3), round(q.audio_cue.end, 3), q.audio_cue.text]}
                 )[:16]


@dataclass
class EvalTask:
    """One planned call: its identity (``request``, no media yet), the question, its media and the model."""

    request: EvalRequest
    question: Question
    media: QuestionMedia
    target: ModelTarget
    permutation: Permutation
    settings: EvalSettings


@dataclass
class Plan:
    """The calls of a run, and the (model, transport, condition, reason) combinations that were left out."""

    tasks: list[EvalTask]
    skipped: list[tuple[str, str, str, str]] = field(default_factory=list)
    units: dict[str, list[str]] = field(default_factory=dict)
    """unit -> call keys (what a unit's run covers)."""

    def estimate(self, prices: Mapping[str, tuple[float, float]] | None = None) -> CostEstimate:
        """The cost estimate of every planned call."""
        est = CostEstimate()
        for t in self.tasks:
            inp, out = _estimate_call(t)
            est.add(t.request.model, inp, out, prices)
        return est


def _estimate_call(t: EvalTask) -> tuple[int, int]:
    q, r, s = t.question, t.request, t.settings
    window = max(0.1, q.t_end - q.t_start)
    chars = len(P.SYSTEM_MC) + len(q.question) + sum(len(o) + 4 for o in q.options) + 250
    images = audio = video = 0.0
    if r.condition != "question_only" and r.transport != "baseline":
        if r.transport == "text":
            chars += 600
        if r.transport in FRAME_TRANSPORTS and r.condition in ("full", "deaf"):
            if r.transport == "native_video" and r.condition == "full":
                video = window
            else:
                images = min(s.media.frames, t.target.caps.max_images or s.media.frames)
        if r.transport in AUDIO_TRANSPORTS and r.condition == "blind":
            audio = window
        if r.transport == "frames_audio" and r.condition == "full":
            audio = window
        if r.transport == "frames_transcript" and r.condition in ("full", "blind"):
            chars += 300
    provider = r.provider
    inp = estimate_tokens(provider, text_chars=chars, images=int(images), audio_seconds=audio, video_seconds=video)
    out = 10 if q.options else min(s.max_tokens, 24)
    return inp, out


def _transports_for(target: ModelTarget, settings: EvalSettings) -> list[str]:
    if target.is_baseline:
        return ["baseline"]
    if settings.transports:
        bad = [t for t in settings.transports if t not in TRANSPORT_NAMES]
        if bad:
            raise VidqaError(f"Unknown transport(s) {bad}; known: {', '.join(TRANSPORT_NAMES)}.")
        return list(settings.transports)
    return [default_transport(target.caps)]


def plan(questions: Sequence[Question],
         media: Mapping[str, QuestionMedia] | Callable[[Question], QuestionMedia],
         targets: Sequence[ModelTarget], settings: EvalSettings | None = None) -> Plan:
    """Every call of a run, question by question (so a question's frames are decoded once for all its calls).

    ``media`` maps a video id to its :class:`QuestionMedia` (or is a function of the question). Questions need an
    ``id``. A model that cannot take a transport (e.g. images for a text-only model) is left out with the reason.
    """
    s = settings or EvalSettings()
    tasks: list[EvalTask] = []
    skipped: dict[tuple[str, str, str, str], None] = {}
    units: dict[str, list[str]] = {}
    call_hash = s.call_hash()
    for q in questions:
        if q.id is None:
            raise VidqaError("Questions must be stored (have an id) before they are evaluated.")
        qm = media(q) if callable(media) else media.get(q.video_id)
        if qm is None:
            raise VidqaError(f"No media given for video {q.video_id} (question {q.id}).")
        qh = question_hash(q)
        n_opt = len(q.options)
        mc = n_opt >= 2 and q.answer_index is not None
        for target in targets:
            for transport in _transports_for(target, s):
                conditions: list[tuple[str, str, int]] = [("full", "none", s.permutations)]
                if s.gate and transport != "baseline":
                    gk = s.gate_permutations or max(1, n_opt)
                    conditions += [(c, "none", gk) for c in GATE_CONDITIONS]
                if s.counterfactual and transport in AUDIO_TRANSPORTS:
                    conditions += [("full", "muted", s.permutations), ("full", "shifted", s.permutations)]
                unit = f"q{q.id}/{target.spec}/{transport}"
                if transport != "baseline":
                    reason = unsupported_reason(transport, target.caps, "full")
                    if reason:  # a route the model cannot take at all is left out whole (gate conditions too)
                        skipped[(target.spec, transport, "full", reason)] = None
                        continue
                for condition, cf, k in conditions:
                    if transport != "baseline":
                        reason = unsupported_reason(transport, target.caps, condition)
                        if reason is None and cf != "none" and not target.caps.audio:
                            reason = "the model takes no audio input (no counterfactual)"
                        if reason:
                            skipped[(target.spec, transport, condition if cf == "none" else cf, reason)] = None
                            continue
                    for perm in rotations(n_opt if mc else 0, k if mc else 1):
                        key = _hash([unit, condition, perm.shift, cf, call_hash, qh])[:32]
                        shown = perm.apply(list(q.options)) if mc else list(q.options)
                        letters = P.letters_for(n_opt) if mc else []
                        gold_letter = letters[perm.position_of(int(q.answer_index))] if mc else None
                        provider_name = target.spec.split("/", 1)[0]
                        req = EvalRequest(
                            question_id=q.id, video_id=q.video_id, model=target.spec, provider=provider_name,
                            model_name=target.model, transport=transport, condition=condition,
                            permutation=perm.shift, counterfactual=cf, options=shown, gold_letter=gold_letter,
                            gold=q.answer, question_hash=qh, settings_hash=call_hash, seed=s.seed,
                            temperature=float(s.temperature), max_tokens=int(s.max_tokens), unit=unit, call_key=key,
                            prompt_version=P.PROMPT_VERSION)
                        tasks.append(EvalTask(req, q, qm, target, perm, s))
                        units.setdefault(unit, []).append(key)
    return Plan(tasks, list(skipped), units)


def build_chat_request(task: EvalTask, *, work_dir: str | None = None) -> tuple[ChatRequest, EvalRequest]:
    """The exact request of a planned call (media built) and its :class:`EvalRequest` with the prompt hash, media
    hashes, frame times and cache key filled in."""
    q, r, s = task.question, task.request, task.settings
    bundle = build_media(r.transport, r.condition, r.counterfactual, q, task.media, task.target.caps, s.media,
                         work_dir=work_dir)
    mc = bool(r.options) and r.gold_letter is not None
    system = P.SYSTEM_MC if mc else P.SYSTEM_OPEN
    head = text_part(P.window_text(q.t_start, q.t_end))
    tail = text_part(P.question_text(q.question, r.options if mc else ()))
    parts = (head, *bundle.parts, tail)
    chat = ChatRequest(model=task.target.model, parts=parts, system=system, temperature=s.temperature,
                       max_tokens=s.max_tokens, seed=s.seed,
                       json_schema=P.answer_schema(len(r.options)) if mc else P.open_schema())
    built = replace(r, prompt_hash=P.prompt_hash(system, [p.text or "" for p in parts if p.kind == "text"]),
                    media_hashes=bundle.media_hashes(), frame_times=list(bundle.frame_times),
                    cache_key=chat.cache_key(task.target.cache_scope), notes=list(bundle.notes))
    return chat, built
