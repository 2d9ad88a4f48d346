"""Multiple-choice options: distractors of the answer's kind, balanced answer positions and option lengths.

Published audio-visual sets are biased (in one, the right answer is the longest option 38 % of the time against
25 % by chance). Here, over a generated set:

- the distractors come from the video first (other colours seen, nearby counts, other strings on screen,
  other objects seen at other times), then from the ontology's pools; never anything on screen in the window;
- the answer's **position** is dealt in balanced blocks (each position once per block of ``n`` questions, block
  order shuffled with the seed), so positions are uniform over the set, not just in expectation;
- the answer's **length rank** among its options is dealt the same way, and distractors are picked to meet it
  (closest lengths first), so the answer is the longest option as often as chance says.

:func:`bias_stats` measures both on any list of questions (``vidqa questions stats``).

Example::

    pool = colour_pool("red", seen=["blue", "white"], ontology=onto)
    pick_distractors("red", pool, 3, rank=1)       # e.g. ['blue', 'pink', 'white']: one shorter-or-equal ...
    bias_stats(questions)["longest_share"]         # share of questions whose answer is the unique longest option
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from vidqa.questions.ontology import Ontology
from vidqa.records.questions import Question

__all__ = ["balanced_slots", "bias_stats", "colour_pool", "count_options", "label_pool", "pick_distractors",
           "text_pool"]


def _norm(s: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", s.lower()))


def colour_pool(answer: str, *, seen: Iterable[str], ontology: Ontology, exclude: Iterable[str] = ()) -> list[str]:
    """Colours for distractors: those seen in the video first, then the ontology's pool; never the answer or a
    synonym of it."""
    bad = {answer.lower(), *ontology.colours.get(answer.lower(), ()), *(e.lower() for e in exclude)}
    out: list[str] = []
    for c in [*seen, *ontology.distractors.get("colour", ())]:
        c = c.lower()
        if c not in bad and c not in out and c in ontology.colours:
            out.append(c)
    return out


def count_options(answer: int, n: int, offset: int) -> list[str]:
    """``n`` consecutive counts holding ``answer`` at ``offset`` from the smallest (never below 0).

    >>> count_options(3, 4, 1), count_options(1, 4, 3)
    (['2', '3', '4', '5'], ['0', '1', '2', '3'])
    """
    start = max(0, answer - offset)
    return [str(start + i) for i in range(n)]


def label_pool(answer: str, *, seen_elsewhere: Iterable[str], never_seen: Iterable[str], near: Iterable[str],
               ontology: Ontology) -> list[str]:
    """Labels for distractors: seen at other times in the video, then the ontology's pool (labels never detected
    in the video); never anything detected near the window, nor a synonym of the answer."""
    answer = answer.lower()
    syn = {answer, *ontology.labels.get(answer, ())}
    bad = set(syn) | {n.lower() for n in near}
    for n in list(bad):
        bad |= set(ontology.labels.get(n, ()))
    out: list[str] = []
    for label in [*seen_elsewhere, *never_seen]:
        label = label.lower()
        if label in bad or label in out or set(ontology.labels.get(label, ())) & syn:
            continue
        out.append(label)
    return out


def text_pool(answer: str, *, others: Iterable[str], rng: random.Random) -> list[str]:
    """Strings for distractors: variants of the answer with its numbers changed (same length: "HOME 2 - 1 AWAY"
    -> "HOME 1 - 2 AWAY", "HOME 3 - 1 AWAY"), then other strings shown in the video."""
    norm_answer = _norm(answer)
    out: list[str] = []

    def add(s: str) -> None:
        if _norm(s) != norm_answer and _norm(s) and all(_norm(s) != _norm(o) for o in out):
            out.append(s)

    numbers = list(re.finditer(r"\d+", answer))
    if len(numbers) >= 2:
        a, b = numbers[0], numbers[1]
        if a.group() != b.group():
            add(answer[:a.start()] + b.group() + answer[a.end():b.start()] + a.group() + answer[b.end():])
    variants = []
    for m in numbers:
        value = int(m.group())
        for delta in (1, -1, 2, 3, -2, 4, 5):
            v = value + delta
            if v < 0 or len(str(v)) != len(m.group()):
                continue
            variants.append(answer[:m.start()] + str(v) + answer[m.end():])
    rng.shuffle(variants)
    for v in variants:
        add(v)
    for o in others:
        add(" ".join(o.split()))
    return out


def pick_distractors(answer: str, pool: Sequence[str], k: int, rank: int, rng: random.Random) -> list[str] | None:
    """``k`` distractors from ``pool`` (in preference order) such that ``rank`` of them are shorter than the
    answer and the rest longer where the pool allows (closest lengths first; equal lengths fill in).
    ``None`` when the pool has fewer than ``k``."""
    if len(pool) < k:
        return None
    n = len(answer)
    pref = {p: i for i, p in enumerate(pool)}

    def order(items: list[str]) -> list[str]:
        return sorted(items, key=lambda p: (abs(len(p) - n), pref[p], rng.random()))

    shorter = order([p for p in pool if len(p) < n])
    longer = order([p for p in pool if len(p) > n])
    equal = order([p for p in pool if len(p) == n])
    rank = max(0, min(k, rank))
    chosen = shorter[:rank] + longer[:k - rank]
    rest = equal + shorter[rank:] + longer[k - rank:]
    chosen += [p for p in rest if p not in chosen][: k - len(chosen)]
    return chosen if len(chosen) == k else None


def balanced_slots(n_items: int, n_values: int, rng: random.Random) -> list[int]:
    """``n_items`` values in ``0..n_values-1`` dealt in shuffled blocks, so each value occurs equally often
    (within one).

    >>> sorted(balanced_slots(8, 4, random.Random(0)))
    [0, 0, 1, 1, 2, 2, 3, 3]
    """
    out: list[int] = []
    while len(out) < n_items:
        block = list(range(n_values))
        rng.shuffle(block)
        out += block
    return out[:n_items]


def bias_stats(questions: Sequence[Question]) -> dict[str, Any]:
    """Position and length bias of the multiple-choice questions in ``questions``.

    Returns ``n``; ``positions`` (per number of options: how often the answer sits at each position, its share,
    and the largest deviation from uniform); ``longest_share`` / ``longest_chance`` (answer is the unique longest
    option / chance of that for a random option); ``shortest_share`` / ``shortest_chance``; ``length_ratio``
    (mean answer length over mean option length, 1.0 = no bias).
    """
    mc = [q for q in questions if q.options and q.answer_index is not None]
    by_n: dict[int, list[int]] = defaultdict(list)
    longest = shortest = longest_chance = shortest_chance = 0.0
    ans_len = opt_len = 0.0
    for q in mc:
        n = len(q.options)
        by_n[n].append(q.answer_index)
        lengths = [len(o) for o in q.options]
        a = lengths[q.answer_index]
        top, low = max(lengths), min(lengths)
        unique_top, unique_low = lengths.count(top) == 1, lengths.count(low) == 1
        longest += a == top and unique_top
        shortest += a == low and unique_low
        longest_chance += unique_top / n
        shortest_chance += unique_low / n
        ans_len += a
        opt_len += sum(lengths) / n
    total = len(mc)
    positions = {}
    for n, idx in sorted(by_n.items()):
        counts = [idx.count(i) for i in range(n)]
        shares = [c / len(idx) for c in counts]
        positions[n] = {"n": len(idx), "counts": counts, "shares": [round(s, 4) for s in shares],
                        "max_deviation": round(max(abs(s - 1 / n) for s in shares), 4)}
    div = total or 1
    return {
        "n": total,
        "positions": positions,
        "longest_share": round(longest / div, 4),
        "longest_chance": round(longest_chance / div, 4),
        "shortest_share": round(shortest / div, 4),
        "shortest_chance": round(shortest_chance / div, 4),
        "length_ratio": round(ans_len / opt_len, 4) if opt_len else None,
    }


question_bias_stats = bias_stats
"""The name the package front door exports (``vidqa.question_bias_stats``)."""
