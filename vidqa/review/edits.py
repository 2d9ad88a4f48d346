"""Check a reviewer's edit before it is saved: each mistake gets a message that says what to fix.

A reviewer may change the prompt, the gold answer, the options, the window and the category (keys of
:data:`vidqa.records.questions.EDITABLE_FIELDS`, plus ``prompt`` for ``question`` and ``window`` for
``[t_start, t_end]``). :func:`validate_edit` checks that

- the prompt is not empty,
- a multiple-choice question keeps its answer among its options (no empty or repeated option),
- the window is a real span inside the video (``0 <= t_start < t_end <= duration``),
- the category is a known one (the ontology's, :func:`vidqa.questions.ontology.load_ontology`),
- a changed prompt or answer does not give the answer away (:func:`vidqa.questions.leaks.question_leak`: the
  answer, a synonym, a number word or the OCR string in the wording),

and returns the normalised changes (only the fields that really change, ``answer_index`` recomputed) with the
edited question. Problems raise :class:`EditError` (a :class:`~vidqa.errors.VidqaError`) listing all of them.

Example::

    >>> from vidqa.records.questions import EXAMPLE, Question
    >>> q = Question.from_record(EXAMPLE)
    >>> validate_edit(q, {"prompt": "What colour is the ball?", "window": [1.0, 2.0]}, duration=10).changes
    {'question': 'What colour is the ball?', 't_end': 2.0}
    >>> validate_edit(q, {"answer": "purple"}, duration=10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vidqa.review.edits.EditError: The edit cannot be saved: the answer 'purple' is not among the options ...
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vidqa.errors import VidqaError
from vidqa.questions.leaks import question_leak
from vidqa.questions.ontology import Ontology, load_ontology
from vidqa.records.questions import ANSWER_TYPES, EDITABLE_FIELDS, Question, apply_changes

__all__ = [
    "DEFAULT_CATEGORIES",
    "WINDOW_TOLERANCE_S",
    "EditError",
    "EditResult",
    "normalise_changes",
    "validate_edit",
]

DEFAULT_CATEGORIES = ("referential_grounding", "counting", "comparative", "object_interaction", "temporal_order",
                      "audio_visual_sync", "text_reading")
"""The shipped ontology's categories (issue 9); a user ontology or a store may hold more (``categories=``)."""

WINDOW_TOLERANCE_S = 0.05
"""A window may end this much past the video's duration (container durations are rounded)."""


class EditError(VidqaError, ValueError):
    """A reviewer's edit is not valid; the message lists every problem."""


@dataclass
class EditResult:
    """A checked edit."""

    changes: dict[str, Any]
    """Only the fields whose value changes, normalised (``question``, ``answer``, ``options``, ``answer_index``,
    ``t_start``, ``t_end``, ``category``, ``answer_type``)."""
    question: Question
    """The question as it will be after the edit."""


def _number(value: Any, name: str, problems: list[str]) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        problems.append(f"the window {name} must be a number of seconds, not {value!r}")
        return None
    if not math.isfinite(out):
        problems.append(f"the window {name} must be a finite number of seconds, not {value!r}")
        return None
    return out


def normalise_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``prompt`` -> ``question``, ``window`` -> ``t_start``/``t_end``; unknown fields raise :class:`EditError`."""
    out = dict(changes or {})
    if "prompt" in out:
        prompt = out.pop("prompt")
        out.setdefault("question", prompt)
    if "window" in out:
        window = out.pop("window")
        if not isinstance(window, (list, tuple)) or len(window) != 2:
            raise EditError(f"The edit cannot be saved: the window must be [start, end] in seconds, not {window!r}.")
        out["t_start"], out["t_end"] = window
    unknown = sorted(set(out) - set(EDITABLE_FIELDS))
    if unknown:
        raise EditError(f"The edit cannot be saved: {', '.join(unknown)} cannot be edited (editable: prompt, "
                        f"answer, options, window, category, answer_type).")
    return out


def validate_edit(
    question: Question,
    changes: Mapping[str, Any],
    *,
    duration: float | None,
    categories: Iterable[str] | None = None,
    ontology: Ontology | None = None,
) -> EditResult:
    """Check ``changes`` to ``question`` (see the module docstring); returns the normalised changes and the result.

    ``duration`` is the video's length in seconds (``None``: only ``t_start >= 0`` is checked). ``categories`` are
    the known categories (default: the ontology's; the question's own category is always known). ``ontology``
    (default: the shipped one) gives the categories and the leak vocabulary.
    """
    onto = ontology if ontology is not None else load_ontology()
    ch = normalise_changes(changes)
    problems: list[str] = []

    if "question" in ch:
        ch["question"] = "" if ch["question"] is None else str(ch["question"]).strip()
        if not ch["question"]:
            problems.append("the prompt is empty: write the question the model must answer")

    if "answer" in ch:
        ch["answer"] = "" if ch["answer"] is None else str(ch["answer"]).strip()
        if not ch["answer"]:
            problems.append("the gold answer is empty")

    options = list(question.options)
    if "options" in ch:
        raw = ch["options"]
        if raw is None:
            raw = []
        if isinstance(raw, str) or not isinstance(raw, (list, tuple)):
            problems.append(f"the options must be a list of strings, not {raw!r}")
            raw = list(question.options)
        options = [str(o).strip() for o in raw]
        ch["options"] = options
        blanks = [i + 1 for i, o in enumerate(options) if not o]
        if blanks:
            problems.append(f"option(s) {', '.join(map(str, blanks))} are empty")
        lowered = [o.lower() for o in options if o]
        repeated = sorted({o for o in lowered if lowered.count(o) > 1})
        if repeated:
            problems.append(f"the options repeat {', '.join(repr(o) for o in repeated)}")

    answer = ch.get("answer", question.answer)
    if "answer_index" in ch and ch["answer_index"] is not None:
        try:
            idx = int(ch["answer_index"])
        except (TypeError, ValueError):
            problems.append(f"answer_index must be a whole number, not {ch['answer_index']!r}")
            idx = None
        if idx is not None:
            if not 0 <= idx < len(options):
                problems.append(f"answer_index {idx} does not point into the {len(options)} options")
            else:
                ch["answer_index"] = idx
                if "answer" not in ch:
                    answer = options[idx]
                    ch["answer"] = answer
                elif options[idx].lower() != str(answer).lower():
                    problems.append(f"option {idx + 1} ({options[idx]!r}) is not the answer ({answer!r})")
    if options and answer and not any(p.startswith("option") for p in problems) \
            and str(answer).strip().lower() not in [o.lower() for o in options]:
        problems.append(f"the answer {answer!r} is not among the options {options}: pick one of them or change "
                        "an option to it")

    t_start = question.t_start
    t_end = question.t_end
    if "t_start" in ch:
        v = _number(ch["t_start"], "start", problems)
        if v is not None:
            t_start = ch["t_start"] = v
    if "t_end" in ch:
        v = _number(ch["t_end"], "end", problems)
        if v is not None:
            t_end = ch["t_end"] = v
    if "t_start" in ch or "t_end" in ch:
        if t_start < 0:
            problems.append(f"the window starts before the video ({t_start:.3f} s < 0)")
        if not t_start < t_end:
            problems.append(f"the window must start before it ends ({t_start:.3f} s to {t_end:.3f} s)")
        if duration is not None and duration > 0 and t_end > float(duration) + WINDOW_TOLERANCE_S:
            problems.append(f"the window ends after the video ({t_end:.3f} s > {float(duration):.3f} s)")

    if "category" in ch:
        ch["category"] = str(ch["category"] or "").strip()
        known = set(onto.categories if categories is None else categories) | {question.category}
        if ch["category"] not in known:
            problems.append(f"the category {ch['category']!r} is unknown (known: {', '.join(sorted(known))})")
    if "answer_type" in ch and ch["answer_type"] not in ANSWER_TYPES:
        problems.append(f"the answer type {ch['answer_type']!r} is not one of {', '.join(ANSWER_TYPES)}")

    if problems:
        raise EditError("The edit cannot be saved: " + "; ".join(problems) + ".")

    # Only what really changes (a form sends every field; an untouched one is no edit).
    current = {"question": question.question, "answer": question.answer, "options": list(question.options),
               "answer_index": question.answer_index, "t_start": question.t_start, "t_end": question.t_end,
               "category": question.category, "answer_type": question.answer_type}
    real = {k: v for k, v in ch.items() if v != current[k]}
    if real.get("answer") is not None and "options" not in real and options:
        # the answer changed to another option: point at it
        real["answer_index"] = [o.lower() for o in options].index(str(real["answer"]).lower())
        real["answer"] = options[real["answer_index"]]
        if real["answer_index"] == question.answer_index:
            del real["answer_index"]
    if "options" in real and options and "answer_index" not in real:
        idx = [o.lower() for o in options].index(str(real.get("answer", question.answer)).lower())
        if idx != question.answer_index:
            real["answer_index"] = idx
    try:
        edited = apply_changes(question, real) if real else question
    except VidqaError as err:  # the record's own checks (the message already says what is wrong)
        raise EditError(f"The edit cannot be saved: {err}") from None
    if {"question", "answer", "answer_type"} & set(real):
        prompt = edited.question.lower()
        listed = bool(edited.options) and all(o.lower() in prompt for o in edited.options)
        leak = question_leak(edited.question, edited.answer, edited.answer_type, onto, options_listed=listed)
        if leak:
            raise EditError(f"The edit cannot be saved: the prompt gives the answer away ({leak}); reword it so "
                            "only watching and listening answers it.")
    return EditResult(real, edited)
