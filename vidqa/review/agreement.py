"""Inter-reviewer agreement: Cohen's kappa between the first and the second review, per category and overall.

A question reviewed in round 1 and again (blind, by another reviewer) in round 2 gives one *pair* of labels. The
labels are the verdicts with ``edit`` counted as ``accept`` (an edited question is kept; pass
``merge_edit=False`` to keep the three labels apart); ``skip`` is no judgement and pairs with a skip are left out.
Kappa is scikit-learn's :func:`sklearn.metrics.cohen_kappa_score`.

Kappa is undefined when both reviewers used one and the same label throughout (expected agreement 1): the result
then has ``kappa=None`` and says why. When the first round's labels never vary (e.g. only validated items were
sampled for a second review), kappa is 0 or undefined by construction whatever the second reviewer does:
:attr:`Agreement.note` says so.

Example::

    >>> pairs = [ReviewPair(1, "counting", "accept", "accept"), ReviewPair(2, "counting", "reject", "reject"),
    ...          ReviewPair(3, "counting", "accept", "reject"), ReviewPair(4, "counting", "reject", "reject")]
    >>> round(agreement(pairs).overall.kappa, 3)
    0.5
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from vidqa.records.questions import Review

__all__ = ["Agreement", "AgreementReport", "ReviewPair", "agreement", "pair_reviews", "verdict_label"]


@dataclass(frozen=True)
class ReviewPair:
    """The first and the second reviewer's label for one question."""

    question_id: int
    category: str
    first: str
    second: str
    first_reviewer: str | None = None
    second_reviewer: str | None = None


@dataclass
class Agreement:
    """Agreement over a set of pairs (one category, or all of them)."""

    n: int
    """Number of pairs."""
    kappa: float | None
    """Cohen's kappa; ``None`` when undefined (no pairs, or both reviewers used a single same label)."""
    observed: float | None
    """Share of pairs where the two labels agree (``None`` without pairs)."""
    labels: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Label -> (count in round 1, count in round 2)."""
    note: str = ""
    """Why kappa is undefined or not informative, when it is so."""


@dataclass
class AgreementReport:
    """Kappa overall and per category."""

    overall: Agreement
    by_category: dict[str, Agreement]

    def rows(self) -> list[dict[str, object]]:
        """One dict per category then ``overall`` (for a table in a notebook or a report)."""
        out = []
        for name, a in [*sorted(self.by_category.items()), ("overall", self.overall)]:
            out.append({"category": name, "pairs": a.n, "kappa": a.kappa, "observed_agreement": a.observed,
                        "note": a.note})
        return out


def verdict_label(verdict: str, *, merge_edit: bool = True) -> str | None:
    """The label a verdict counts as: ``accept`` / ``reject`` (``edit`` too unless merged); ``None`` for skip."""
    v = (verdict or "").strip().lower()
    if v == "skip" or not v:
        return None
    if v == "edit" and merge_edit:
        return "accept"
    return v


def pair_reviews(
    reviews: Iterable[Review],
    categories: Mapping[int, str],
    *,
    merge_edit: bool = True,
) -> list[ReviewPair]:
    """Pair each question's last round-1 judgement with its last round-2 judgement (skips ignored).

    ``categories`` maps question id -> category (a question missing from it is counted as ``unknown``). A round-2
    review by the round-1 reviewer is no second opinion and is left out.
    """
    last: dict[tuple[int, int], Review] = {}
    for r in sorted(reviews, key=lambda r: (r.created_at or "", r.id or 0)):
        if verdict_label(r.verdict, merge_edit=merge_edit) is None or r.round not in (1, 2):
            continue
        last[(r.question_id, r.round)] = r
    pairs = []
    for (qid, rnd), first in sorted(last.items()):
        if rnd != 1 or (qid, 2) not in last:
            continue
        second = last[(qid, 2)]
        if second.reviewer == first.reviewer:
            continue
        pairs.append(ReviewPair(qid, categories.get(qid, "unknown"),
                                verdict_label(first.verdict, merge_edit=merge_edit) or "",
                                verdict_label(second.verdict, merge_edit=merge_edit) or "",
                                first.reviewer, second.reviewer))
    return pairs


def _kappa(pairs: list[ReviewPair]) -> Agreement:
    if not pairs:
        return Agreement(0, None, None, {}, "no item has been reviewed twice yet")
    a = [p.first for p in pairs]
    b = [p.second for p in pairs]
    labels = sorted(set(a) | set(b))
    counts = {lab: (a.count(lab), b.count(lab)) for lab in labels}
    observed = sum(x == y for x, y in zip(a, b)) / len(pairs)
    if len(labels) == 1:
        return Agreement(len(pairs), None, observed, counts,
                         f"both reviewers answered {labels[0]!r} every time: kappa is undefined (chance agreement 1)")
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        k = float(cohen_kappa_score(a, b, labels=labels))
    note = ""
    if len(set(a)) == 1 or len(set(b)) == 1:
        who = "first" if len(set(a)) == 1 else "second"
        note = (f"the {who} review always says {(a if who == 'first' else b)[0]!r}, so kappa is 0 "
                "whatever the other reviewer does; sample rejected items for the second review too")
    return Agreement(len(pairs), None if math.isnan(k) else k, observed, counts, note)


def agreement(pairs: Iterable[ReviewPair]) -> AgreementReport:
    """Cohen's kappa over ``pairs``, overall and per category."""
    pairs = list(pairs)
    by_cat: dict[str, list[ReviewPair]] = {}
    for p in pairs:
        by_cat.setdefault(p.category, []).append(p)
    return AgreementReport(_kappa(pairs), {c: _kappa(ps) for c, ps in sorted(by_cat.items())})
