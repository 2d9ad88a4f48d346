"""Option permutations: each multiple-choice question is asked under ``k`` rotations of its options, so a model's
position bias (SmolLM2 says "B", Gemma says "A") is not counted as skill.

Rotations are spread evenly (``k = 2`` of 4 options shifts by 0 and 2), so the right answer sits at ``k`` different
letters. :func:`permutation_accuracy` reports *plain* accuracy (over every scored (question, rotation)) and
*consistent* accuracy (questions right under every rotation); a question with an unscored rotation is left out of
the consistent figure and counted in ``n_incomplete``.

Example::

    from vidqa.evaluate.permutations import rotations
    p = rotations(4, 2)[1]          # Permutation(index=1, shift=2, order=(2, 3, 0, 1))
    p.apply(["red", "blue", "green", "white"])   # ['green', 'white', 'red', 'blue']
    p.position_of(0)                # 2: the original first option is shown third ("C")
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vidqa.errors import VidqaError

__all__ = ["Permutation", "PermutationAccuracy", "permutation_accuracy", "rotations"]


@dataclass(frozen=True)
class Permutation:
    """Rotation ``index`` of ``k``: position ``j`` shows original option ``order[j]``."""

    index: int
    shift: int
    order: tuple[int, ...]

    def apply(self, options: Sequence[Any]) -> list[Any]:
        """The options in shown order."""
        if len(options) != len(self.order):
            raise VidqaError(f"This permutation is for {len(self.order)} options, not {len(options)}.")
        return [options[i] for i in self.order]

    def position_of(self, original_index: int) -> int:
        """Where original option ``original_index`` is shown (0-based)."""
        return self.order.index(original_index)

    def original_of(self, position: int) -> int:
        """Which original option is shown at ``position``."""
        return self.order[position]


def rotations(n_options: int, k: int = 1) -> list[Permutation]:
    """``k`` rotations of ``n_options`` options, evenly spread; ``k`` is capped at ``n_options`` (all rotations).

    ``k = 1`` is the identity (options as stored). Open questions (``n_options == 0``) get the identity only.
    """
    if k < 1:
        raise VidqaError(f"The number of permutations must be at least 1, not {k}.")
    if n_options <= 1:
        return [Permutation(0, 0, tuple(range(n_options)))]
    k = min(int(k), n_options)
    shifts: list[int] = []
    for j in range(k):
        s = round(j * n_options / k) % n_options
        if s not in shifts:
            shifts.append(s)
    return [Permutation(i, s, tuple((j + s) % n_options for j in range(n_options))) for i, s in enumerate(shifts)]


@dataclass
class PermutationAccuracy:
    """Plain accuracy (all scored rows) and consistent accuracy (questions right under every rotation)."""

    n_rows: int
    n_scored: int
    n_correct: int
    n_unscored: int
    n_questions: int
    n_complete: int
    """Questions whose every rotation was scored (the consistent figure's denominator)."""
    n_consistent: int
    n_incomplete: int

    @property
    def plain(self) -> float | None:
        return self.n_correct / self.n_scored if self.n_scored else None

    @property
    def consistent(self) -> float | None:
        return self.n_consistent / self.n_complete if self.n_complete else None

    def summary(self) -> str:
        plain = f"{self.plain:.1%}" if self.plain is not None else "-"
        cons = f"{self.consistent:.1%}" if self.consistent is not None else "-"
        return (f"plain {plain} of {self.n_scored} ({self.n_unscored} unscored), consistent {cons} of "
                f"{self.n_complete} questions ({self.n_incomplete} with an unscored rotation left out)")


def permutation_accuracy(rows: Iterable[tuple[Any, int, bool | None]], k: int | None = None) -> PermutationAccuracy:
    """Plain and consistent accuracy from ``(question_id, permutation, correct)`` rows (``correct`` ``None`` =
    unscored). ``k`` is the number of rotations each question should have (default: the most any question has)."""
    by_q: dict[Any, dict[int, bool | None]] = defaultdict(dict)
    n_rows = 0
    for qid, perm, correct in rows:
        by_q[qid][int(perm)] = correct
        n_rows += 1
    k = k or max((len(v) for v in by_q.values()), default=0)
    n_scored = n_correct = n_unscored = n_complete = n_consistent = 0
    for perms in by_q.values():
        values = list(perms.values())
        scored = [v for v in values if v is not None]
        n_scored += len(scored)
        n_correct += sum(1 for v in scored if v)
        n_unscored += len(values) - len(scored)
        if len(scored) == k and len(values) == k:
            n_complete += 1
            n_consistent += all(scored)
    return PermutationAccuracy(n_rows, n_scored, n_correct, n_unscored, len(by_q), n_complete, n_consistent,
                               len(by_q) - n_complete)
