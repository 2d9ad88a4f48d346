"""Review glue: record verdicts in the store, queue the second review, measure agreement.

- :func:`submit_review`: one reviewer's verdict on a question (``accept``, ``edit``, ``reject`` with a reason,
  ``skip``). The edit is checked first (:func:`vidqa.review.edits.validate_edit`: prompt, answer among the options,
  window inside the video, known category); the store then applies it: round 1 moves the question draft ->
  validated / rejected, round 2 (the agreement sample) is recorded without touching the question.
- :func:`queue_second_review`: the questions a second reviewer still has to look at: a seeded random sample
  (default 10 %) of the validated ones (:func:`vidqa.review.sampling.second_review_sample`), without those already
  reviewed twice or first reviewed by that same reviewer. The queue is derived, never stored: the same store, fraction
  and seed always give the same queue.
- :func:`agreement`: Cohen's kappa between round 1 and round 2, per category and overall.

Example::

    from vidqa.store import open_store
    from vidqa.pipeline.review import agreement, queue_second_review, submit_review
    store = open_store("data/vidqa.db")
    submit_review(store, 12, "ana", "edit", changes={"prompt": "When the whistle blows, what does the sign read?"})
    for q in queue_second_review(store, fraction=0.1, seed=0, reviewer="ben"):
        submit_review(store, q.id, "ben", "accept", round=2)
    agreement(store).overall.kappa
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vidqa.errors import NotFoundError, VidqaError
from vidqa.records.questions import REVIEW_VERDICTS, Question, Review
from vidqa.review.agreement import AgreementReport, pair_reviews
from vidqa.review.agreement import agreement as _kappa_report
from vidqa.review.edits import DEFAULT_CATEGORIES, validate_edit
from vidqa.review.sampling import DEFAULT_FRACTION, second_review_sample
from vidqa.store import Store

__all__ = ["agreement", "known_categories", "queue_second_review", "submit_review"]


def known_categories(store: Store) -> list[str]:
    """The shipped ontology's categories and every category already stored (sorted)."""
    from vidqa.questions.ontology import load_ontology

    cats = set(DEFAULT_CATEGORIES) | set(load_ontology().categories)
    cats |= {q.category for q in store.questions() if q.category}
    return sorted(cats)


def _first_reviewers(store: Store, qid: int) -> set[str]:
    return {r.reviewer for r in store.reviews(qid, round=1) if r.verdict != "skip"}


def submit_review(
    store: Store,
    question_id: int,
    reviewer: str,
    verdict: str,
    reason: str | None = None,
    changes: dict[str, Any] | None = None,
    round: int = 1,
) -> Review:
    """Record ``reviewer``'s ``verdict`` on question ``question_id``; returns the stored :class:`Review`.

    ``accept`` with ``changes`` is an ``edit``; an ``edit`` whose changes change nothing is an ``accept``.
    ``reject`` needs a ``reason``; ``changes`` are ignored for ``reject`` and ``skip``. Round 2 needs a round-1 verdict by someone else first.
    Raises :class:`~vidqa.errors.VidqaError` subclasses with a message for the reviewer.
    """
    who = str(reviewer or "").strip()
    if not who:
        raise VidqaError("Enter your name as reviewer before reviewing (it is stored with every verdict).")
    v = str(verdict or "").strip().lower()
    if v not in REVIEW_VERDICTS:
        raise VidqaError(f"Unknown verdict {verdict!r}: use one of {', '.join(REVIEW_VERDICTS)}.")
    try:
        rnd = int(round)
    except (TypeError, ValueError):
        raise VidqaError(f"The review round must be 1 or 2, not {round!r}.") from None
    if rnd not in (1, 2):
        raise VidqaError(f"The review round must be 1 (first review) or 2 (second review), not {round!r}.")
    question = store.question(int(question_id))
    why = (reason or "").strip() or None
    if v == "reject" and not why:
        raise VidqaError("Say why the question is rejected (e.g. 'the answer is heard', 'wrong answer', "
                         "'ambiguous').")
    if rnd == 2:
        firsts = _first_reviewers(store, question.id)
        if not firsts:
            raise VidqaError(f"Question {question.id} has no first review yet: review it in round 1 first.")
        if who in firsts:
            raise VidqaError(f"{who} already reviewed question {question.id} in round 1; a second review must be "
                             "done by someone else.")
    edit: dict[str, Any] = {}
    if changes and v in ("accept", "edit"):
        duration = _duration(store, question.video_id)
        edit = validate_edit(question, changes, duration=duration, categories=known_categories(store)).changes
    if v == "edit" and not edit:
        v = "accept"
    elif v == "accept" and edit:
        v = "edit"
    return store.add_review(Review(question.id, who, v, why, edit if v == "edit" else {}, rnd))


def _duration(store: Store, video_id: str) -> float | None:
    try:
        return float(store.video(video_id).duration or 0.0) or None
    except NotFoundError:
        return None


def queue_second_review(
    store: Store,
    fraction: float = DEFAULT_FRACTION,
    seed: int = 0,
    *,
    reviewer: str | None = None,
    video_id: str | None = None,
    statuses: Sequence[str] = ("validated",),
) -> list[Question]:
    """The questions still waiting for their second review (in the store's order).

    The sample is drawn from questions with one of ``statuses`` (default: validated) that have a round-1 verdict;
    items already reviewed in round 2 count towards it and are not queued again. With ``reviewer``, questions that
    person reviewed in round 1 are left out (they cannot second-review their own work). Only validated items by
    default means round 1 always says "accept", which makes kappa 0 or undefined by construction: pass
    ``statuses=("validated", "rejected")`` to measure agreement on both verdicts.
    """
    pool = [q for q in store.questions(video_id, status=list(statuses))]
    firsts: dict[int, set[str]] = {}
    for r in store.reviews(round=1):
        if r.verdict != "skip":
            firsts.setdefault(r.question_id, set()).add(r.reviewer)
    pool = [q for q in pool if q.id in firsts]
    done = {r.question_id for r in store.reviews(round=2) if r.verdict != "skip"}
    sample = set(second_review_sample([q.id for q in pool], fraction=fraction, seed=seed, done=done))
    who = (reviewer or "").strip()
    return [q for q in pool if q.id in sample and q.id not in done and not (who and who in firsts[q.id])]


def agreement(store: Store, *, merge_edit: bool = True, video_id: str | None = None) -> AgreementReport:
    """Cohen's kappa between the first and second reviews, per category and overall
    (:func:`vidqa.review.agreement.agreement`)."""
    questions = store.questions(video_id)
    cats = {q.id: q.category for q in questions}
    reviews = [r for r in store.reviews() if r.question_id in cats]
    return _kappa_report(pair_reviews(reviews, cats, merge_edit=merge_edit))
