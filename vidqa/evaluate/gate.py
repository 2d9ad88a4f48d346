"""The modality gate: every question is also asked *deaf* (frames only), *blind* (audio or transcript only) and
*question-only*. A question that a single modality answers correctly under every option order does not need both
sight and sound; it is flagged (``Question.gate["flagged"]``), the reviewer sees the flag and exports leave flagged
questions out by default.

A condition's verdict for one model is ``True`` when every rotation was scored correct, ``False`` when one was
scored wrong, ``None`` when a rotation is missing or unscored and none was wrong (undecided: an error is never a
wrong answer, nor a right one). A question is flagged when any model passes any condition.

Example::

    from vidqa.evaluate.gate import gate_flags
    rows = [(7, "local/smollm2", "blind", p, True) for p in range(4)]
    gate_flags(rows, k=4)[7]
    # {'flagged': True, 'by': ['blind'], 'deaf': None, 'blind': True, 'question_only': None, 'k': 4,
    #  'models': {'local/smollm2': {'blind': True}}}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

__all__ = ["GATE_CONDITIONS", "condition_verdict", "gate_flags"]

GATE_CONDITIONS = ("deaf", "blind", "question_only")


def condition_verdict(results: Iterable[bool | None], k: int) -> bool | None:
    """``True`` if ``k`` rotations were all scored correct, ``False`` if any was wrong, else ``None``."""
    values = list(results)
    if any(v is False for v in values):
        return False
    if len(values) >= k and all(v is True for v in values):
        return True
    return None


def gate_flags(rows: Iterable[tuple[Any, str, str, int, bool | None]], k: int | dict[Any, int]
               ) -> dict[Any, dict[str, Any]]:
    """The gate dict of each question from ``(question_id, who, condition, permutation, correct)`` rows
    (``correct`` ``None`` = unscored; rows of other conditions are ignored). ``who`` names the model and route
    (e.g. ``"local/smollm2 via text"``): rotations of one model through two transports are kept apart.

    ``k`` is the number of rotations each question was asked under (an int, or a mapping question id -> k).
    """
    grouped: dict[Any, dict[str, dict[str, dict[int, bool | None]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(dict)))
    for qid, model, condition, perm, correct in rows:
        if condition in GATE_CONDITIONS:
            grouped[qid][model][condition][int(perm)] = correct
    out: dict[Any, dict[str, Any]] = {}
    for qid, models in grouped.items():
        kq = k[qid] if isinstance(k, dict) else int(k)
        per_model: dict[str, dict[str, bool | None]] = {}
        overall: dict[str, bool | None] = {c: None for c in GATE_CONDITIONS}
        for model, conditions in models.items():
            verdicts = {c: condition_verdict(perms.values(), kq) for c, perms in conditions.items()}
            per_model[model] = verdicts
            for c, v in verdicts.items():
                if v is True:
                    overall[c] = True
                elif v is False and overall[c] is None:
                    overall[c] = False
        by = [c for c in GATE_CONDITIONS if overall[c] is True]
        out[qid] = {"flagged": bool(by), "by": by, **overall, "k": kq, "models": per_model}
    return out
