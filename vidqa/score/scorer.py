"""Scoring one response: :func:`score_response` turns an :class:`~vidqa.records.evaluation.EvalResponse` into an
:class:`~vidqa.records.evaluation.EvalScore`.

- A failed call (``error``, ``parked``, ``unsupported``) is ``unscored`` with its reason: never a wrong answer; so
  is an empty answer cut at ``max_tokens`` (a reasoning model that ran out of tokens did not refuse).
- Multiple choice: the letter (:func:`~vidqa.score.parse.parse_choice`) against the gold letter of the permutation
  shown; an unreadable answer is ``unscored`` (``parse_error``), a refusal or empty reply is ``wrong`` with
  category ``omission_refusal``.
- Open answers: the rules' verdict (:mod:`~vidqa.score.rules`), and the judge's beside it when a judge is given;
  the rules decide when they can, the judge when they cannot, and when neither can the row stays ``unscored``.
- Wrong answers get an error category (:func:`~vidqa.score.categories.categorise`).

Example::

    from vidqa.score.scorer import score_response
    s = score_response(response, question, visual_events=events)
    s.status, s.predicted, s.error_category      # ('wrong', 'B', 'colour_misidentification')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vidqa.records import VisualEvent
from vidqa.records.evaluation import EvalResponse, EvalScore
from vidqa.records.questions import Question
from vidqa.score.categories import categorise
from vidqa.score.judge import JudgeVerdict
from vidqa.score.normalize import normalize
from vidqa.score.parse import parse_choice, parse_open
from vidqa.score.rules import score_open

__all__ = ["Judge", "score_response"]

TRUNCATED = frozenset({"length", "max_tokens"})
"""Finish reasons of an answer cut short by ``max_tokens`` (OpenAI/Groq ``length``, Gemini ``MAX_TOKENS``)."""

Judge = Callable[[Question, str], JudgeVerdict]
"""``judge(question, predicted) -> JudgeVerdict`` (e.g. a partial of :func:`~vidqa.score.judge.judge_answer`)."""


def score_response(response: EvalResponse, question: Question, *, visual_events: Sequence[VisualEvent] = (),
                   judge: Judge | None = None) -> EvalScore:
    """The verdict on ``response`` to ``question`` (see the module docstring)."""
    r = response.request
    s = EvalScore(call_key=r.call_key, question_id=r.question_id, model=r.model, transport=r.transport,
                  condition=r.condition, permutation=r.permutation, counterfactual=r.counterfactual,
                  status="unscored", gold=r.gold_letter or r.gold, category=question.category,
                  answer_type=question.answer_type, response_id=response.id)
    if not response.answered:
        s.reason = f"{response.status}: {response.error or 'no answer'}"
        return s
    truncated = (response.finish_reason or "").lower() in TRUNCATED
    if truncated and not (response.text or "").strip():
        s.reason = ("truncated: the answer hit max_tokens before any text (a reasoning model? raise max_tokens); "
                    "not an omission")
        return s
    mc = bool(r.options) and r.gold_letter is not None
    if mc:
        parsed = parse_choice(response.text, r.options, refusal=response.refusal)
        s.method = parsed.method
        if parsed.refusal:
            s.status, s.correct, s.error_category = "wrong", False, "omission_refusal"
            s.reason = parsed.error
            return s
        if parsed.letter is None:
            s.parse_error = parsed.error + (" (the answer was cut at max_tokens)" if truncated else "")
            s.reason = f"parse_error: {s.parse_error}"
            return s
        s.predicted, s.predicted_text = parsed.letter, parsed.text
        s.correct = parsed.letter == r.gold_letter
        s.status = "correct" if s.correct else "wrong"
        s.rule_correct = s.correct
        if not s.correct:
            s.error_category = categorise(question, predicted=parsed.text, visual_events=visual_events)
        return s
    parsed = parse_open(response.text, refusal=response.refusal)
    s.method = parsed.method
    if parsed.refusal:
        s.status, s.correct, s.error_category = "wrong", False, "omission_refusal"
        s.reason = parsed.error
        return s
    if parsed.text is None or parsed.error:
        s.parse_error = parsed.error
        s.reason = f"parse_error: {parsed.error}"
        return s
    s.predicted_text = parsed.text
    s.predicted = normalize(parsed.text)
    verdict = score_open(parsed.text, r.gold, question.answer_type)
    s.rule_correct = verdict.correct
    s.reason = verdict.reason
    if judge is not None:
        jv = judge(question, parsed.text)
        s.judge_correct, s.judge_model, s.judge_reason, s.judge_error = jv.correct, jv.model, jv.reason, jv.error
    if verdict.correct is not None:
        s.correct, s.method = verdict.correct, "rules"
    elif s.judge_correct is not None:
        s.correct, s.method = s.judge_correct, "judge"
    else:
        why = s.judge_error or ("no judge was asked" if judge is None else "the judge gave no verdict")
        s.reason = f"undecided: {verdict.reason}; {why}"
        return s
    s.status = "correct" if s.correct else "wrong"
    if not s.correct:
        s.error_category = categorise(question, predicted=parsed.text, visual_events=visual_events)
    return s
