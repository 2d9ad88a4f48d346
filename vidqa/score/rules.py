"""Rules for open answers, by answer type, after :mod:`~vidqa.score.normalize`:

- ``count``: the first number (digits or words) equals the gold count;
- ``colour``: exactly the gold colour is named (synonyms mapped; naming two colours is wrong);
- ``yes_no``: a clear yes or no matching the gold;
- ``text`` (on-screen text): every gold word appears, or the strings are at least 85 % similar;
- ``label`` / ``time_order`` / anything else: the normalised gold appears as a phrase (plurals tolerated) or the
  strings are at least 85 % similar.

A rule that cannot decide (a middling similarity, a yes/no answer that says neither) returns ``correct=None``: the
LLM judge may decide it, otherwise it stays unscored. Nothing is guessed.

Example::

    from vidqa.score.rules import score_open
    score_open("There are three.", "3", "count").correct      # True
    score_open("navy blue", "blue", "colour").correct          # True
    score_open("red and blue", "blue", "colour").correct       # False (two colours)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from vidqa.score.normalize import canonical_colour, colours_in, normalize, number_in

__all__ = ["RuleVerdict", "score_open"]

SIMILAR = 0.85
DIFFERENT = 0.5


@dataclass
class RuleVerdict:
    correct: bool | None
    reason: str


def _singular(words: list[str]) -> list[str]:
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def _phrase_in(gold: str, pred: str) -> bool:
    g, p = _singular(gold.split()), _singular(pred.split())
    if not g:
        return False
    return any(p[i:i + len(g)] == g for i in range(len(p) - len(g) + 1))


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _by_similarity(pred: str, gold: str) -> RuleVerdict:
    ratio = _similarity(pred, gold)
    if ratio >= SIMILAR:
        return RuleVerdict(True, f"{ratio:.0%} similar to the gold answer")
    if ratio < DIFFERENT:
        return RuleVerdict(False, f"only {ratio:.0%} similar to the gold answer")
    return RuleVerdict(None, f"{ratio:.0%} similar to the gold answer: undecided by rules")


def score_open(predicted: str | None, gold: str, answer_type: str | None) -> RuleVerdict:
    """The rules' verdict on an open answer (see the module docstring)."""
    pred, g = normalize(predicted), normalize(gold)
    if not pred:
        return RuleVerdict(False, "empty answer")
    kind = (answer_type or "").lower()
    if kind == "count":
        want, got = number_in(gold), number_in(predicted)
        if want is None:
            return RuleVerdict(None, f"the gold answer {gold!r} holds no number")
        if got is None:
            return RuleVerdict(False, "no number in the answer")
        return RuleVerdict(got == want, f"counted {got}, gold {want}")
    if kind == "colour":
        want = canonical_colour(g) or (colours_in(gold) or [None])[0]
        got = colours_in(predicted)
        if want is None:
            return RuleVerdict(None, f"the gold answer {gold!r} names no known colour")
        if not got:
            return RuleVerdict(False, "no colour named in the answer")
        if len(got) > 1:
            return RuleVerdict(False, f"names several colours ({', '.join(got)})")
        return RuleVerdict(got[0] == want, f"named {got[0]}, gold {want}")
    if kind == "yes_no":
        words = set(pred.split())
        yes, no = bool(words & {"yes", "true", "correct", "yeah"}), bool(words & {"no", "false", "0", "not"})
        if yes == no:
            return RuleVerdict(None, "neither a clear yes nor a clear no")
        got = "yes" if yes else "no"
        return RuleVerdict(got == g.split()[0] if g else None, f"answered {got}, gold {g}")
    if pred == g:
        return RuleVerdict(True, "matches the gold answer")
    if kind == "text":
        gw = g.split()
        if gw and all(w in pred.split() for w in gw):
            return RuleVerdict(True, "every word of the gold text is in the answer")
        return _by_similarity(pred, g)
    if _phrase_in(g, pred):
        return RuleVerdict(True, "the gold answer appears in the answer")
    return _by_similarity(pred, g)
