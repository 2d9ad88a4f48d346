"""A seeded evaluation result set with exact ground truth, for dashboard tests and the report benchmark.

:func:`synthetic_results` writes questions and model answers into a real store through its public write API:
each model has a known accuracy per category (so a figure can be checked against the truth), a known share of
failed calls (unscored, never wrong), a position bias, and answers that may carry hostile HTML (to check that
every face shows it as text).

Example::

    from vidqa.store import Store
    from vidqa.testing.results import synthetic_results
    truth = synthetic_results(Store("/tmp/r.db"), n_questions=200, seed=0)
    truth.accuracy["model/a"]["counting"]
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from vidqa.records import Video
from vidqa.records.evaluation import EvalRequest, EvalResponse, EvalScore
from vidqa.records.questions import AudioCue, Question, VisualCue

__all__ = ["SyntheticTruth", "synthetic_results", "HOSTILE_ANSWER"]

HOSTILE_ANSWER = "<img src=x onerror=\"window.__vidqaPwned=1\"><b>bold</b>"
CATEGORIES = ("counting", "text_reading", "audio_visual_sync", "temporal_order")
ERRORS = {"counting": "counting_error", "text_reading": "text_misread", "audio_visual_sync":
          "referential_grounding_error", "temporal_order": "temporal_error"}


@dataclass
class SyntheticTruth:
    """What was written: per model and category the planned accuracy, and the exact counts."""

    video_id: str
    question_ids: list[int]
    accuracy: dict[str, dict[str, float]]
    correct: dict[str, dict[str, int]] = field(default_factory=dict)
    scored: dict[str, dict[str, int]] = field(default_factory=dict)
    unscored: dict[str, int] = field(default_factory=dict)
    n_responses: int = 0


def _video(duration: float) -> Video:
    sha = "5" * 64
    return Video(id=sha[:12], sha256=sha, title="synthetic.mp4", duration=duration, fps=25.0, is_vfr=False,
                 width=640, height=360, rotation=0, video_codec="h264", audio_codec="aac", audio_tracks=1,
                 has_audio=True, path="media/synthetic.mp4", play_path="media/synthetic.mp4")


def synthetic_results(store, *, n_questions: int = 100, models: tuple[str, ...] = ("model/a", "model/b"),
                      permutations: int = 2, failure_rate: float = 0.05, duration: float = 600.0, seed: int = 0,
                      hostile: bool = True) -> SyntheticTruth:
    """Write ``n_questions`` validated questions and every model's answers under ``permutations`` option orders."""
    rng = random.Random(seed)
    video = store.add_video(_video(duration))
    questions = []
    for i in range(n_questions):
        cat = CATEGORIES[i % len(CATEGORIES)]
        t0 = rng.uniform(0, duration - 10)
        options = [f"option {k} of {i}" for k in range(4)]
        idx = rng.randrange(4)
        questions.append(Question(
            video_id=video.id, category=cat, template=f"{cat}/synthetic", template_version=1,
            question=f"Question {i} about {cat}?", answer=options[idx], answer_type="label", options=options,
            answer_index=idx, t_start=t0, t_end=t0 + 6.0, audio_cue=AudioCue("whistle", t0 + 1, t0 + 1.5),
            visual_cue=VisualCue("object", t0, t0 + 6.0, label="thing"), status="validated", seed=seed))
    ids = store.add_questions(questions)
    accuracy = {m: {c: round(rng.uniform(0.2, 0.9), 2) for c in CATEGORIES} for m in models}
    truth = SyntheticTruth(video.id, ids, accuracy)
    rows = []
    for m in models:
        truth.correct[m] = {c: 0 for c in CATEGORIES}
        truth.scored[m] = {c: 0 for c in CATEGORIES}
        truth.unscored[m] = 0
        for qid, q in zip(ids, questions):
            for perm in range(permutations):
                key = f"{m}|{qid}|{perm}"
                req = EvalRequest(question_id=qid, video_id=video.id, model=m, provider=m.split("/")[0],
                                  model_name=m.split("/")[-1], transport="text", permutation=perm,
                                  options=q.options, gold_letter="ABCD"[q.answer_index], gold=q.answer,
                                  unit=f"{qid}|{m}|text", call_key=key, seed=seed)
                if rng.random() < failure_rate:
                    resp = EvalResponse(req, "error", error="HTTP 503 from the server", latency=0.1)
                    score = EvalScore(key, qid, m, "text", "full", perm, "none", "unscored",
                                      reason="error: HTTP 503", category=q.category)
                    truth.unscored[m] += 1
                else:
                    right = rng.random() < accuracy[m][q.category]
                    letter = "ABCD"[q.answer_index] if right else rng.choice([x for x in "ABCD"
                                                                              if x != "ABCD"[q.answer_index]])
                    text = HOSTILE_ANSWER if hostile and not right and rng.random() < 0.2 else letter
                    resp = EvalResponse(req, "ok", text=text, latency=rng.uniform(0.2, 2.0), input_tokens=200,
                                        output_tokens=3, cost=0.00002)
                    score = EvalScore(key, qid, m, "text", "full", perm, "none", "correct" if right else "wrong",
                                      correct=right, predicted=letter, predicted_text=text, gold=q.answer,
                                      method="extracted", category=q.category,
                                      error_category=None if right else ERRORS[q.category])
                    truth.scored[m][q.category] += 1
                    truth.correct[m][q.category] += int(right)
                rows.append((resp, score))
    for i in range(0, len(rows), 2000):
        store.add_eval_results(rows[i:i + 2000])
    truth.n_responses = len(rows)
    return truth
