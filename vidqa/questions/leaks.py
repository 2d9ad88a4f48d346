"""Leak checks, in both directions: the question must not *say* the answer, and the audio must not *tell* it.

- :func:`question_leak`: the wording contains the answer or a synonym (the colour or its synonyms from the
  ontology, the number as digits or words, the OCR string or any of its content words, the label or its synonyms
  when the options are not listed in the question).
- :func:`heard_leak`: the transcript in or near the window (``heard_margin_s`` either side, and every sentence
  that reaches into that margin, whole) says the answer, so an
  audio-only model could answer: the colour, the number ("there are three blue squares"), half or more of the
  text's words, the label; and anywhere in the video, the answer said in the same sentence as the object it is
  about ("the truck is white").

Both return a reason (``"leak_question: ..."`` / ``"leak_heard: ..."``) or ``None``; a candidate with a reason is
dropped and keeps it.

Example::

    question_leak("What colour is the red ball?", "red", "colour", onto)
    # "leak_question: the question says 'red' (the answer is red)"
"""

from __future__ import annotations

from collections.abc import Iterable

from vidqa.questions.ontology import Ontology, load_ontology  # noqa: F401 (doctests)
from vidqa.questions.windows import STOPWORDS, CueIndex, normalise_words

__all__ = ["NUMBER_WORDS", "answer_words", "heard_leak", "number_words", "question_leak"]

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
_EXTRA = {0: ("no", "none", "nothing"), 1: ("single", "once", "alone", "lone"), 2: ("pair", "couple", "both", "twice",
                                                                                    "second"),
          3: ("third", "thrice", "trio"), 12: ("dozen",)}
_ORDINALS = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def number_words(n: int) -> set[str]:
    """Every word that says the number ``n``.

    >>> sorted(number_words(3))
    ['3', 'third', 'three', 'thrice', 'trio']
    """
    out = {str(n)}
    if 0 <= n < len(NUMBER_WORDS):
        out.add(NUMBER_WORDS[n])
    if 0 <= n < len(_ORDINALS) and n != 1:
        out.add(_ORDINALS[n])
    out.update(_EXTRA.get(n, ()))
    return out


def _label_words(label: str, ontology: Ontology) -> set[str]:
    label = label.lower()
    words = {label, *ontology.labels.get(label, ()), ontology.plurals.get(label, label + "s")}
    parts = {t for w in words for t in normalise_words(w)}
    return {w for w in words | parts if w not in STOPWORDS and len(w) > 1}


def answer_words(answer: str, answer_type: str, ontology: Ontology) -> set[str]:
    """The words that say ``answer`` (its synonyms from the ontology, number words ...).

    >>> sorted(answer_words("grey", "colour", load_ontology()))[:3]
    ['gray', 'grayish', 'grey']
    """
    a = answer.strip().lower()
    if answer_type == "colour":
        return {a, *ontology.colours.get(a, ())}
    if answer_type == "count":
        try:
            return number_words(int(a))
        except ValueError:
            return {a}
    if answer_type == "text":
        return _text_tokens(answer)
    if answer_type == "label":
        return set().union(*(_label_words(part, ontology) for part in _label_parts(a, ontology)))
    return set()


def _label_parts(answer: str, ontology: Ontology) -> list[str]:
    """"the red circles" -> ["circles", "red"]: the words of a label-type answer that name things."""
    toks = [t for t in normalise_words(answer) if t not in STOPWORDS]
    return toks + ([" ".join(toks)] if len(toks) > 1 else [])


def _text_tokens(text: str) -> set[str]:
    toks = set(normalise_words(text))
    out = {t for t in toks if t not in STOPWORDS and (len(t) > 1 or t.isdigit())}
    for t in list(out):
        if t.isdigit():
            out |= number_words(int(t))
    return out


def question_leak(question: str, answer: str, answer_type: str, ontology: Ontology, *,
                  options_listed: bool = False) -> str | None:
    """A reason when the wording of ``question`` gives ``answer`` away, else ``None`` (see the module docstring).

    ``options_listed``: the question lists every option (``which comes first: A or B?``), so naming them is not a
    leak. Time-order answers are never checked here (both events are named by design).
    """
    if answer_type == "time_order" or (options_listed and answer_type in ("label", "yes_no")):
        return None
    toks = normalise_words(question)
    if answer_type == "text":
        norm = " ".join(normalise_words(answer))
        if norm and f" {norm} " in f" {' '.join(toks)} ":
            return f"leak_question: the question contains the text {answer!r}"
    said = answer_words(answer, answer_type, ontology) & (set(toks) | _bigrams(toks))
    if said:
        return f"leak_question: the question says {sorted(said)[0]!r} (the answer is {answer})"
    return None


def _bigrams(toks: list[str]) -> set[str]:
    return {f"{a} {b}" for a, b in zip(toks, toks[1:])}


def heard_leak(index: CueIndex, start: float, end: float, answer: str, answer_type: str, ontology: Ontology, *,
               about: Iterable[str] = (), extra: Iterable[str] = (), margin: float | None = None) -> str | None:
    """A reason when the transcript near ``[start, end]`` (``heard_margin_s`` either side) says ``answer``,
    else ``None``.

    ``about``: labels the question is about (a colour answer said anywhere in the video in one sentence with
    its object is heard too; a count of 1 is heard when the object is named nearby, "a dog"). ``extra``: more
    words that, heard nearby, give the answer away (e.g. the text of the visual event in an order question).
    """
    m = ontology.check("heard_margin_s") if margin is None else margin
    near = index.words_between(start - m, end + m)
    near_set = set(near) | _bigrams(near)
    for seg_words in index.segments_between(start - m, end + m):  # a sentence that reaches the margin counts whole
        near_set |= set(seg_words) | _bigrams(seg_words)
    where = f"{max(0.0, start - m):.1f}-{end + m:.1f} s"
    words = answer_words(answer, answer_type, ontology)
    if answer_type == "text":
        toks = {t for t in normalise_words(answer) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())}
        heard = {t for t in toks if t in near_set or (t.isdigit() and number_words(int(t)) & near_set)}
        if toks and len(heard) >= 0.5 * len(toks):
            return f"leak_heard: the transcript says {sorted(heard)} of the text {answer!r} near the window ({where})"
    elif words & near_set:
        return f"leak_heard: {sorted(words & near_set)[0]!r} is said near the window ({where})"
    about_words = set().union(*(_label_words(a, ontology) for a in about)) if about else set()
    if answer_type == "count" and answer.strip() == "1" and about_words & near_set:
        return f"leak_heard: {sorted(about_words & near_set)[0]!r} is named near the window (one of it) ({where})"
    extra_words = set().union(*(_text_tokens(x) for x in extra)) if extra else set()
    if extra_words & near_set:
        return f"leak_heard: {sorted(extra_words & near_set)[0]!r} is said near the window ({where})"
    if about_words and answer_type in ("colour", "count", "text"):
        for (s, _, _), seg in zip(index.segments, index.segment_sets):
            if words & seg and about_words & seg:
                return (f"leak_heard: the transcript at {s:.1f} s says {sorted(words & seg)[0]!r} with "
                        f"{sorted(about_words & seg)[0]!r}")
    return None

