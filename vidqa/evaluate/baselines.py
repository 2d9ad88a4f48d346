"""Baselines as pseudo-models: what a score must beat before it means anything.

=============================  ===================================================================================
``baseline/random``            a uniformly random option (seeded per call: the same run gives the same answers)
``baseline/longest``           the longest option (in one published set the right answer is the longest 38 % of
                               the time)
``baseline/question-only``     the option sharing the most words with the question (does the question give the
                               answer away?)
``baseline/transcript-only``   the option sharing the most words with what is said and heard in the window (does
                               the audio alone answer it?)
=============================  ===================================================================================

Ties are broken at random with the call's seed. Baselines answer multiple-choice questions only; open questions
are recorded ``unsupported`` (never scored). They go through the same records, scoring and statistics as models.

Example::

    from vidqa.evaluate.plan import resolve_model
    target = resolve_model("baseline/transcript-only")
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidqa.errors import VidqaError
from vidqa.evaluate.prompt import letters_for
from vidqa.evaluate.transports import transcript_lines
from vidqa.providers.base import Capabilities

if TYPE_CHECKING:
    from vidqa.evaluate.plan import EvalTask

__all__ = ["BASELINES", "Baseline", "get_baseline"]

BASELINES = ("random", "longest", "question-only", "transcript-only")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "is", "are", "was", "were", "what", "which", "who", "when",
    "where", "how", "many", "much", "does", "do", "did", "this", "that", "it", "its", "and", "or", "be", "by",
    "with", "for", "from", "as"})


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


@dataclass(frozen=True)
class Baseline:
    """A pseudo-model: ``answer(task)`` gives the JSON text a model would have given."""

    kind: str
    name: str = "baseline"

    def capabilities(self, model: str) -> Capabilities:
        return Capabilities(text=True, json_schema=True)

    def _rng(self, task: EvalTask) -> random.Random:
        seed = f"{task.request.seed}|{task.request.call_key}"
        return random.Random(int(hashlib.sha256(seed.encode()).hexdigest()[:16], 16))

    def answer(self, task: EvalTask) -> str:
        """``{"answer": "<letter>"}`` for a multiple-choice call; :class:`VidqaError` for an open one."""
        options = task.request.options
        if not options or task.request.gold_letter is None:
            raise VidqaError(f"baseline/{self.kind} answers multiple-choice questions only.")
        rng = self._rng(task)
        letters = letters_for(len(options))
        if self.kind == "random":
            return json.dumps({"answer": rng.choice(letters)})
        if self.kind == "longest":
            scores = [float(len(o)) for o in options]
        else:
            if self.kind == "question-only":
                reference = _words(task.question.question)
            else:
                q, m = task.question, task.media
                said = " ".join(transcript_lines(m.transcript, q.t_start, q.t_end))
                heard = " ".join(e.kind for e in m.audio_events if e.start <= q.t_end and e.end >= q.t_start)
                reference = _words(said + " " + heard)
            scores = [float(len(_words(o) & reference)) for o in options]
        best = max(scores)
        tied = [letters[i] for i, s in enumerate(scores) if s == best]
        return json.dumps({"answer": rng.choice(tied)})


def get_baseline(spec: str) -> Baseline:
    """The baseline named by ``baseline/KIND``."""
    kind = spec.split("/", 1)[1] if "/" in spec else spec
    if kind not in BASELINES:
        raise VidqaError(f"Unknown baseline {spec!r}; known: {', '.join('baseline/' + b for b in BASELINES)}.")
    return Baseline(kind)
