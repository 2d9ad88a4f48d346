"""Generation: a video's cues in, audio-visual questions (and dropped candidates with their reasons) out.

:func:`generate_questions` is pure and deterministic for a given seed:

1. index the cues (:class:`~vidqa.questions.windows.CueIndex`; cues below ``min_confidence`` are not used);
2. for every template of the ontology, build candidates (:mod:`~vidqa.questions.candidates`): an audio anchor and
   a visual fact that holds, frame by frame, over the window;
3. per visual fact (and category) keep the first anchor whose wording passes both leak checks
   (:mod:`~vidqa.questions.leaks`); if none does, the best candidate is kept as ``dropped`` with the reason;
4. options: distractors of the answer's kind, answer positions and length ranks dealt in balanced blocks
   (:mod:`~vidqa.questions.options`); a candidate with too few distractors is dropped (``options: ...``);
5. voice notes become drafts (:mod:`~vidqa.questions.drafts`).

No two questions share :meth:`~vidqa.records.questions.Question.key` (video, category, window, answer).

Example::

    result = generate_questions(video, store.transcript(video.id), store.audio_events(video.id),
                                store.visual_events(video.id), seed=0)
    for q in result.questions:
        print(q.category, q.question, q.options, q.answer)
    for d in result.dropped:
        print(d.drop_reason)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from vidqa.questions.candidates import Candidate, build_candidates
from vidqa.questions.leaks import heard_leak, question_leak
from vidqa.questions.ontology import Ontology, load_ontology
from vidqa.questions.options import (
    balanced_slots,
    bias_stats,
    colour_pool,
    count_options,
    label_pool,
    pick_distractors,
    text_pool,
)
from vidqa.questions.templates import choices, fill
from vidqa.questions.windows import CueIndex
from vidqa.records import AudioEvent, Note, TranscriptSegment, VisualEvent
from vidqa.records.questions import Evidence, Question

__all__ = ["CueIds", "GenerationResult", "generate_questions"]

N_OPTIONS = 4


@dataclass
class CueIds:
    """Row ids of the cues passed to :func:`generate_questions`, in the same order (evidence names rows, not list
    positions). Words are the transcript's words flattened segment by segment. Default: list positions."""

    words: Sequence[int] | None = None
    audio_events: Sequence[int] | None = None
    visual_events: Sequence[int] | None = None


@dataclass
class GenerationResult:
    """What :func:`generate_questions` returns."""

    questions: list[Question]
    """Kept questions (``status="draft"``), in window order."""
    dropped: list[Question]
    """Candidates that failed a check (``status="dropped"``, ``drop_reason`` says which and why)."""
    drafts: list[Question] = field(default_factory=list)
    """Drafts made from voice notes (``source="note"``)."""
    seconds: float = 0.0

    @property
    def all(self) -> list[Question]:
        return [*self.questions, *self.drafts, *self.dropped]

    def stats(self) -> dict[str, Any]:
        """Position and length bias of the kept questions (:func:`~vidqa.questions.options.bias_stats`)."""
        return bias_stats(self.questions)

    def drop_reasons(self) -> dict[str, int]:
        """How many candidates each check dropped."""
        out: dict[str, int] = {}
        for q in self.dropped:
            check = (q.drop_reason or "other").split(":", 1)[0]
            out[check] = out.get(check, 0) + 1
        return dict(sorted(out.items()))


def _map(ids: Sequence[int] | None, idx: Sequence[int]) -> list[int]:
    return [int(ids[i]) if ids is not None else int(i) for i in idx]


class _Builder:
    """Turns candidates into questions (wording, leak checks, options) for one video."""

    def __init__(self, video: Any, index: CueIndex, onto: Ontology, seed: int, ids: CueIds,
                 visual_events: Sequence[VisualEvent]):
        self.video, self.index, self.onto, self.seed, self.ids = video, index, onto, seed, ids
        self.visual_events = visual_events

    def rng(self, *key: Any) -> random.Random:
        return random.Random(f"{self.seed}|{'|'.join(map(str, key))}")

    def question(self, c: Candidate, wording: str, status: str = "draft", reason: str | None = None) -> Question:
        a = c.anchor
        frames = sorted({self.visual_events[i].frame_index for i in c.events
                         if self.visual_events[i].frame_index is not None})
        evidence = Evidence(
            words=_map(self.ids.words, a.words),
            audio_events=_map(self.ids.audio_events, [a.event] if a.event is not None else []),
            visual_events=_map(self.ids.visual_events, list(dict.fromkeys(c.events))),
            frames=frames,
        )
        visual = c.target.cue(c.t_start, c.t_end)
        if c.box is not None:
            visual = replace(visual, box=tuple(round(x, 4) for x in c.box))
        if c.template.relation in ("leftmost", "nearest") and c.other is not None:
            visual = replace(c.other.cue(c.t_start, c.t_end), box=visual.box)
        elif c.template.relation == "leftmost":
            visual = replace(visual, label=c.answer)
        return Question(
            video_id=self.video.id, category=c.template.category, template=c.template.id,
            template_version=c.template.version,
            question=fill(wording, {**c.fields, "choices": choices([_choice(o, c) for o in c.pool])}),
            answer=c.answer, answer_type=c.template.answer_type, options=[], answer_index=None,
            t_start=c.t_start, t_end=c.t_end, audio_cue=a.cue(), visual_cue=visual, evidence=evidence,
            confidence=round(c.confidence, 3), status=status, drop_reason=reason,
            video_sha256=getattr(self.video, "sha256", None), seed=self.seed, source="template",
            context={"wording": wording, "slots": _slots(c)},
        )

    def first_passing(self, group: list[Candidate], taken: set[tuple] = frozenset()  # type: ignore[assignment]
                      ) -> tuple[Question, Candidate, bool]:
        """The first candidate of ``group`` (best anchors first) whose wording passes both leak checks (``True``);
        else the first that failed, dropped with its reason (``False``)."""
        rng = self.rng("group", group[0].group)
        ranked = sorted(group, key=lambda c: (-round(c.confidence, 2), rng.random()))
        first_fail: tuple[Candidate, str, str] | None = None
        for c in ranked:
            wordings = list(c.template.wording)
            self.rng("wording", c.group, c.anchor.start).shuffle(wordings)
            listed = "{choices}" in " ".join(wordings) or c.option_kind == "fixed"
            reason = None
            for w in wordings:
                text = fill(w, {**c.fields, "choices": choices([_choice(o, c) for o in c.pool])})
                reason = question_leak(text, c.answer, c.template.answer_type, self.onto, options_listed=listed)
                if reason is None:
                    reason = self.heard(c)
                if reason is None:
                    q = self.question(c, w)
                    if q.key() in taken:  # same window, category and answer as a question already kept
                        break
                    return q, c, True
                if first_fail is None:
                    first_fail = (c, w, reason)
        if first_fail is None:  # every passing anchor duplicates a kept question
            c = ranked[0]
            return self.question(c, c.template.wording[0], "dropped", "duplicate: same window, category and answer "
                                 "as a kept question"), c, False
        c, w, reason = first_fail
        return self.question(c, w, "dropped", reason), c, False

    def heard(self, c: Candidate) -> str | None:
        reason = heard_leak(self.index, c.t_start, c.t_end, c.answer, c.template.answer_type, self.onto,
                            about=c.about, extra=c.extra)
        if reason is None and c.spatial:
            m = self.onto.check("heard_margin_s")
            near = set(self.index.words_between(c.t_start - m, c.t_end + m))
            said = near & {"left", "right", "leftmost", "rightmost"} if c.template.relation == "leftmost" else \
                near & set(self.onto.spatial)
            if said:
                reason = f"leak_heard: {sorted(said)[0]!r} (where things are) is said near the window"
        return reason


def _slots(c: Candidate) -> dict[str, dict[str, Any]]:
    """What filled each slot (for reviewers and checks): the anchor, the target and the other fact."""
    out: dict[str, dict[str, Any]] = {"anchor": {"kind": c.anchor.kind, "text": c.anchor.text,
                                                 "start": round(c.anchor.start, 3), "end": round(c.anchor.end, 3)}}
    for name, f in (("target", c.target), ("other", c.other)):
        if f is not None:
            out[name] = {k: v for k, v in (("kind", f.kind), ("label", f.label), ("colour", f.colour),
                                           ("count", f.count), ("text", f.text), ("start", round(f.start, 3)),
                                           ("end", round(f.end, 3))) if v is not None}
    return out


def _finish_options(kept: list[tuple[Question, Candidate]], builder: _Builder, salt: str = "deal"
                    ) -> tuple[list[Question], list[Question]]:
    """Options for every question, answer positions and length ranks dealt in balanced blocks; the questions
    without enough distractors come back second, dropped (``options: ...``)."""
    onto = builder.onto
    rng = builder.rng(salt)
    order = list(range(len(kept)))
    rng.shuffle(order)
    sizes = [len(c.pool) if c.option_kind == "fixed" else N_OPTIONS for _, c in kept]
    slots: dict[int, list[int]] = {}
    ranks: dict[int, list[int]] = {}
    for n in set(sizes):
        members = [i for i in order if sizes[i] == n]
        for i, p, r in zip(members, balanced_slots(len(members), n, rng), balanced_slots(len(members), n, rng)):
            slots[i], ranks[i] = [p], [r]
    out, dropped = [], []
    for i, (q, c) in enumerate(kept):
        position, rank = slots[i][0], ranks[i][0]
        qrng = builder.rng("options", q.template, q.t_start, q.answer)
        n = sizes[i]
        if c.option_kind == "fixed":
            others = [o for o in c.pool if o != c.answer]
        elif c.option_kind == "count":
            opts = count_options(int(c.answer), n, rank)
            others = [o for o in opts if o != c.answer]
        else:
            if c.option_kind == "colour":
                pool = colour_pool(c.answer, seen=c.pool, ontology=onto)
            elif c.option_kind == "text":
                pool = text_pool(c.answer, others=c.pool, rng=qrng)
            else:
                pool = label_pool(c.answer, seen_elsewhere=c.pool, never_seen=(), near=(), ontology=onto)
            others = pick_distractors(c.answer, pool, n - 1, rank, qrng)
            if others is None:
                if q.status != "dropped":
                    q = replace(q, status="dropped", drop_reason=(
                        f"options: only {len(pool)} distractor(s) of kind {c.option_kind} for {c.answer!r} "
                        f"(need {n - 1})"))
                dropped.append(q)
                continue
        qrng.shuffle(others)
        options = others[:position] + [c.answer] + others[position:]
        text = q.question
        wording = q.context.get("wording", "")
        if "{choices}" in wording or "{" in wording:
            fields = dict(c.fields)
            if c.template.relation == "more":  # the question names the groups in the order the options show them
                fields["target.labels"], fields["other.labels"] = options[0], options[1]
            fields["choices"] = choices([_choice(o, c) for o in options])
            text = fill(wording, fields)
        out.append(replace(q, question=text, options=options, answer_index=position))
    return out, dropped


def _note_drafts(notes: Sequence[Note], video: Any, index: CueIndex, onto: Ontology, builder: _Builder,
                 model: str | None) -> list[Question]:
    """One draft per usable note: the first template candidate around the stamp that passes the checks, else a
    model's grounded draft (when ``model`` is given), else a placeholder for the reviewer."""
    from vidqa.questions.drafts import USABLE_STATUSES, model_draft, note_context, note_groups, placeholder

    kept: list[tuple[Question, Candidate]] = []
    others: list[Question] = []
    for note in sorted(notes, key=lambda n: (n.t, n.id)):
        if note.status not in USABLE_STATUSES and not (note.text or "").strip():
            continue
        context = note_context(note, index)
        found = None
        for group in note_groups(note, index, onto):
            q, c, ok = builder.first_passing(group)
            if ok:
                found = (replace(q, source="note", evidence=replace(q.evidence, note_id=note.id),
                                 context={**context, **q.context}), c)
                break
        if found is not None:
            kept.append(found)
            continue
        drafted = model_draft(note, video, index, onto, context, model, builder.seed) if model else None
        others.append(drafted or placeholder(note, video, index, context, builder.seed))
    with_options, no_options = _finish_options(kept, builder)
    return [*with_options, *others, *no_options]


def _choice(option: str, c: Candidate) -> str:
    return f"the {option}" if c.template.relation in ("leftmost", "nearest") else option


def generate_questions(
    video: Any,
    transcript: Sequence[TranscriptSegment],
    audio_events: Sequence[AudioEvent],
    visual_events: Sequence[VisualEvent],
    notes: Sequence[Note] = (),
    *,
    ontology: Ontology | str | None = None,
    seed: int = 0,
    min_confidence: float = 0.5,
    categories: Sequence[str] | None = None,
    ids: CueIds | None = None,
    model: str | None = None,
) -> GenerationResult:
    """Questions for one video from its cues (pure, deterministic with ``seed``; see the module docstring).

    ``video`` needs ``id``, ``duration`` (and ``sha256``); ``ontology`` is an :class:`Ontology`, a YAML path or
    ``None`` (the shipped one); ``categories`` limits generation; ``ids`` maps list positions to stored row ids
    for the evidence; ``notes`` become drafts (``model``: a provider spec such as ``groq/llama-3.1-8b-instant``
    lets a model word note drafts, when configured).
    """
    import time

    t_start = time.perf_counter()
    onto = ontology if isinstance(ontology, Ontology) else load_ontology(ontology)
    ids = ids or CueIds()
    index = CueIndex.build(video.duration, transcript, audio_events, visual_events, onto,
                           min_confidence=min_confidence)
    builder = _Builder(video, index, onto, seed, ids, visual_events)
    kept: list[tuple[Question, Candidate]] = []
    failed: list[tuple[Question, Candidate]] = []
    used_groups: set[tuple] = set()
    keys: set[tuple] = set()
    for template in onto.templates:
        if categories is not None and template.category not in categories:
            continue
        for group in build_candidates(template, index, onto):
            gkey = group[0].group
            if gkey in used_groups:
                continue
            q, c, ok = builder.first_passing(group, keys)
            if not ok:
                if q.key() not in keys and not q.drop_reason.startswith("duplicate"):
                    failed.append((q, c))
                continue
            used_groups.add(gkey)
            keys.add(q.key())
            kept.append((q, c))
    kept.sort(key=lambda qc: (qc[0].t_start, qc[0].category, qc[0].template, qc[0].answer))
    questions, no_options = _finish_options(kept, builder)
    dropped_with_options, _ = _finish_options(failed, builder, salt="dropped")  # options for review; not dealt
    dropped = sorted([*dropped_with_options, *no_options], key=lambda q: (q.t_start, q.category, q.template,
                                                                          q.answer))
    drafts = _note_drafts(notes, video, index, onto, builder, model) if notes else []
    return GenerationResult(questions, dropped, drafts, time.perf_counter() - t_start)
