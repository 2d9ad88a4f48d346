"""Accuracy with bootstrap confidence intervals per model x category x transport, and the breakdowns around it:
plain vs consistent accuracy over option rotations, error categories, position bias, counterfactual listening.

Every figure says how many rows were left out (``n_unscored``: errors, parked calls, unreadable answers). The
bootstrap resamples *questions* (a question's rotations move together, they are not independent draws) and is
seeded per group, so a table is reproducible and does not depend on the order of its rows.

Rows are :class:`~vidqa.records.evaluation.EvalScore` objects or mappings with the same keys (e.g. rows of the
store's ``eval_results`` view).

Example::

    from vidqa.score.stats import accuracy_table, format_table
    rows = accuracy_table(scores, by=("model", "category", "transport"), seed=0)
    print(format_table(rows))
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidqa.evaluate.counterfactual import listening_rate
from vidqa.evaluate.permutations import permutation_accuracy

__all__ = ["AccuracyRow", "accuracy_table", "bootstrap_ci", "consistency_table", "counterfactual_table",
           "error_breakdown", "format_table", "position_bias"]


def _get(row: Any, key: str, default: Any = None) -> Any:
    if isinstance(row, Mapping):
        return row.get(key, default)
    return getattr(row, key, default)


def _correct(row: Any) -> bool | None:
    status = _get(row, "status")
    if status == "correct":
        return True
    if status == "wrong":
        return False
    return None


def _group_seed(seed: int, key: tuple) -> int:
    return int(hashlib.sha256(repr((seed, key)).encode()).hexdigest()[:15], 16)


def bootstrap_ci(clusters: Sequence[tuple[int, int]], *, n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float | None, float | None]:
    """Percentile interval of accuracy over ``(n_correct, n_scored)`` clusters (one per question), resampling
    clusters with replacement ``n_boot`` times. ``(None, None)`` with nothing scored."""
    arr = np.array([c for c in clusters if c[1] > 0], dtype=np.float64).reshape(-1, 2)
    if len(arr) == 0:
        return None, None
    if len(arr) == 1:
        v = arr[0, 0] / arr[0, 1]
        return float(v), float(v)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(arr), size=(n_boot, len(arr)))
    acc = arr[idx, 0].sum(axis=1) / arr[idx, 1].sum(axis=1)
    alpha = (1.0 - level) / 2
    return float(np.quantile(acc, alpha)), float(np.quantile(acc, 1 - alpha))


@dataclass
class AccuracyRow:
    """Accuracy of one group, with its interval and how many rows were left out."""

    keys: dict[str, Any]
    n: int
    n_scored: int
    n_correct: int
    n_unscored: int
    n_questions: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    unscored_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.keys, "accuracy": self.accuracy, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "n_scored": self.n_scored, "n_correct": self.n_correct, "n_unscored": self.n_unscored,
                "n_questions": self.n_questions}


def _reason_kind(reason: str | None) -> str:
    if not reason:
        return "unknown"
    return reason.split(":", 1)[0].strip()[:40]


def _filtered(rows: Iterable[Any], condition: str | None, counterfactual: str | None) -> list[Any]:
    out = []
    for r in rows:
        if condition is not None and (_get(r, "condition") or "full") != condition:
            continue
        if counterfactual is not None and (_get(r, "counterfactual") or "none") != counterfactual:
            continue
        out.append(r)
    return out


def accuracy_table(rows: Iterable[Any], by: Sequence[str] = ("model", "category", "transport"), *,
                   condition: str | None = "full", counterfactual: str | None = "none", n_boot: int = 2000,
                   level: float = 0.95, seed: int = 0) -> list[AccuracyRow]:
    """Accuracy per group of ``by`` (only rows of ``condition`` / ``counterfactual``; ``None`` keeps all), with a
    question-level bootstrap interval; groups sorted by their keys."""
    groups: dict[tuple, list[Any]] = defaultdict(list)
    for r in _filtered(rows, condition, counterfactual):
        groups[tuple(_get(r, k) for k in by)].append(r)
    out = []
    for key in sorted(groups, key=lambda k: tuple(str(x) for x in k)):
        members = groups[key]
        per_q: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        reasons: Counter[str] = Counter()
        n_scored = n_correct = 0
        for r in members:
            c = _correct(r)
            if c is None:
                reasons[_reason_kind(_get(r, "reason"))] += 1
                continue
            n_scored += 1
            n_correct += int(c)
            q = per_q[_get(r, "question_id")]
            q[0] += int(c)
            q[1] += 1
        clusters = [tuple(per_q[q]) for q in sorted(per_q, key=lambda x: (str(type(x)), x))]
        lo, hi = bootstrap_ci(clusters, n_boot=n_boot, level=level,
                              seed=_group_seed(seed, key))
        out.append(AccuracyRow(dict(zip(by, key)), len(members), n_scored, n_correct, len(members) - n_scored,
                               len(per_q), n_correct / n_scored if n_scored else None, lo, hi, dict(reasons)))
    return out


def consistency_table(rows: Iterable[Any], by: Sequence[str] = ("model", "transport"), *,
                      condition: str = "full", counterfactual: str = "none") -> list[dict[str, Any]]:
    """Plain vs consistent accuracy (right under every option rotation) per group."""
    groups: dict[tuple, list[tuple[Any, int, bool | None]]] = defaultdict(list)
    for r in _filtered(rows, condition, counterfactual):
        groups[tuple(_get(r, k) for k in by)].append((_get(r, "question_id"), int(_get(r, "permutation") or 0),
                                                      _correct(r)))
    out = []
    for key in sorted(groups, key=lambda k: tuple(str(x) for x in k)):
        pa = permutation_accuracy(groups[key])
        out.append({**dict(zip(by, key)), "plain": pa.plain, "consistent": pa.consistent, "n_scored": pa.n_scored,
                    "n_unscored": pa.n_unscored, "n_questions": pa.n_questions, "n_complete": pa.n_complete,
                    "n_incomplete": pa.n_incomplete})
    return out


def error_breakdown(rows: Iterable[Any], by: Sequence[str] = ("model",), *, condition: str | None = "full",
                    counterfactual: str | None = "none") -> list[dict[str, Any]]:
    """Counts of wrong answers per error category (``uncategorised`` kept) and of unscored rows, per group."""
    groups: dict[tuple, Counter[str]] = defaultdict(Counter)
    for r in _filtered(rows, condition, counterfactual):
        key = tuple(_get(r, k) for k in by)
        status = _get(r, "status")
        if status == "wrong":
            groups[key][_get(r, "error_category") or "uncategorised"] += 1
        elif status == "unscored":
            groups[key]["unscored"] += 1
        else:
            groups[key]["correct"] += 1
    return [{**dict(zip(by, key)), **dict(groups[key])} for key in sorted(groups, key=lambda k: tuple(map(str, k)))]


def position_bias(rows: Iterable[Any], by: Sequence[str] = ("model",), *, condition: str | None = "full"
                  ) -> list[dict[str, Any]]:
    """Share of each predicted letter per group (a model that always says "B" shows it here), over scored
    multiple-choice rows."""
    groups: dict[tuple, Counter[str]] = defaultdict(Counter)
    for r in _filtered(rows, condition, None):
        letter = _get(r, "predicted")
        if _correct(r) is None or not letter or len(str(letter)) != 1:
            continue
        groups[tuple(_get(r, k) for k in by)][str(letter)] += 1
    out = []
    for key in sorted(groups, key=lambda k: tuple(map(str, k))):
        c = groups[key]
        total = sum(c.values())
        out.append({**dict(zip(by, key)), "n": total, **{k: v / total for k, v in sorted(c.items())}})
    return out


def counterfactual_table(rows: Iterable[Any], by: Sequence[str] = ("model", "transport")) -> list[dict[str, Any]]:
    """Per group and counterfactual (``muted``, ``shifted``): how often the answer changed when the audio cue was
    taken away (``listening``), and accuracy with and without the cue."""
    rows = list(rows)
    base: dict[tuple, Any] = {}
    for r in rows:
        if (_get(r, "condition") or "full") == "full" and (_get(r, "counterfactual") or "none") == "none":
            base[(tuple(_get(r, k) for k in by), _get(r, "question_id"), _get(r, "permutation"))] = r
    pairs: dict[tuple, list[tuple[Any, Any]]] = defaultdict(list)
    acc: dict[tuple, list[bool]] = defaultdict(list)
    for r in rows:
        cf = _get(r, "counterfactual") or "none"
        if cf == "none" or (_get(r, "condition") or "full") != "full":
            continue
        key = tuple(_get(r, k) for k in by)
        b = base.get((key, _get(r, "question_id"), _get(r, "permutation")))
        if b is None:
            continue
        pb = _get(b, "predicted") if _correct(b) is not None else None
        pc = _get(r, "predicted") if _correct(r) is not None else None
        pairs[(key, cf)].append((pb, pc))
        if _correct(r) is not None:
            acc[(key, cf)].append(bool(_correct(r)))
    out = []
    for (key, cf) in sorted(pairs, key=lambda k: (tuple(map(str, k[0])), k[1])):
        rate, n = listening_rate(pairs[(key, cf)])
        a = acc[(key, cf)]
        out.append({**dict(zip(by, key)), "counterfactual": cf, "listening": rate, "n_pairs": n,
                    "accuracy_without_cue": (sum(a) / len(a)) if a else None})
    return out


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:5.1f}"


def format_table(rows: Sequence[AccuracyRow]) -> str:
    """A plain-text accuracy table: keys, accuracy with its interval, scored / unscored counts."""
    if not rows:
        return "(no scored results)"
    keys = list(rows[0].keys)
    widths = {k: max(len(k), *(len(str(r.keys[k])) for r in rows)) for k in keys}
    head = "  ".join(k.ljust(widths[k]) for k in keys) + "  acc %   95% CI         scored  unscored  questions"
    lines = [head, "-" * len(head)]
    for r in rows:
        ci = f"[{_pct(r.ci_low)}, {_pct(r.ci_high)}]" if r.ci_low is not None else "-"
        lines.append("  ".join(str(r.keys[k]).ljust(widths[k]) for k in keys)
                     + f"  {_pct(r.accuracy):>5}  {ci:<14} {r.n_scored:6d}  {r.n_unscored:8d}  {r.n_questions:9d}")
    return "\n".join(lines)
