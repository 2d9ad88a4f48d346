"""Reading a model's answer: the letter from a JSON-schema answer where there is one, else extracted from free text
(``"The answer is (B)"``, ``"B) red"``, the option's own words); open answers from ``{"answer": ...}`` or the text
itself; refusals detected ("I can't see the video").

Nothing is guessed: text with no letter, or with two different letters, is a parse error (the score is then
``unscored`` with the reason), never a random pick.

Example::

    from vidqa.score.parse import parse_choice
    parse_choice('{"answer": "C"}', ["red", "blue", "green"])            # letter 'C', method 'json'
    parse_choice("I think the answer is (b) blue.", ["red", "blue"])     # letter 'B', method 'extracted'
    parse_choice("I'm sorry, I cannot view videos.", ["red", "blue"]).refusal   # True
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vidqa.score.normalize import normalize

__all__ = ["ParsedAnswer", "is_refusal", "parse_choice", "parse_open"]

LETTERS = "ABCDEFGHIJ"
_ANSWER_KEYS = ("answer", "choice", "option", "letter", "final_answer", "response")
_OBJ = re.compile(r"\{[^{}]*\}", re.DOTALL)
_TRUNCATED = re.compile(r'"(?:answer|choice|option|letter)"\s*:\s*"?\s*\(?([A-Ja-j])\b')
_REFUSAL = re.compile(
    r"(?i)\b(i\s*(?:am|'m)\s*(?:sorry|unable|not able)|i\s*(?:can(?:no|')t|cannot|could\s*not|couldn't|am\s*unable)"
    r"|unable\s+to\s+(?:determine|answer|see|view|watch|access|tell)|(?:can(?:no|')t|cannot)\s+(?:determine|tell|see|"
    r"view|watch|access)|not\s+(?:possible|able)\s+to\s+(?:determine|tell|answer)|as\s+an\s+ai\b|no\s+(?:video|image|"
    r"audio|frames?)\s+(?:was|were|is|are)\s+(?:provided|given|attached)|insufficient\s+information|"
    r"i\s+don't\s+have\s+(?:access|enough))")


@dataclass
class ParsedAnswer:
    """What was read from a response. ``letter`` for multiple choice, ``text`` for open answers (and the option
    text of a letter); ``method`` is ``json`` or ``extracted``; ``error`` says why nothing could be read."""

    letter: str | None = None
    text: str | None = None
    method: str | None = None
    error: str | None = None
    refusal: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.refusal


def is_refusal(text: str | None) -> bool:
    """True when ``text`` declines to answer (or says it got no media)."""
    return bool(text) and bool(_REFUSAL.search(text or ""))


def _strip_fences(text: str) -> str:
    s = text.strip()
    if s.startswith("```"):
        s = s.strip("`").strip()
        if s.lower().startswith("json"):
            s = s[4:]
    return s.strip()


def _json_value(text: str) -> tuple[bool, Any]:
    """(found a JSON object, the value of its answer key or None)."""
    s = _strip_fences(text)
    candidates = [s] + _OBJ.findall(s)
    for c in candidates:
        try:
            obj = json.loads(c)
        except (ValueError, TypeError):
            continue
        if isinstance(obj, dict):
            for k in _ANSWER_KEYS:
                if k in obj:
                    return True, obj[k]
            lowered = {str(k).lower(): v for k, v in obj.items()}
            for k in _ANSWER_KEYS:
                if k in lowered:
                    return True, lowered[k]
            return True, None
        if isinstance(obj, str):
            return True, obj
    return False, None


def _letter_of(value: str, letters: Sequence[str], options: Sequence[str]) -> str | None:
    """A letter from a short answer value: ``"B"``, ``"(b)"``, ``"B) red"``, ``"Option B"``, or an option's text."""
    v = value.strip()
    m = re.fullmatch(r"(?i)(?:option|choice|answer)?\s*[\(\[]?\s*([A-J])\s*[\)\]\.:]?", v)
    if m and m.group(1).upper() in letters:
        return m.group(1).upper()
    m = re.match(r"^\s*[\(\[]?([A-J])[\)\]\.:]\s+\S", v)
    if m and m.group(1) in letters:
        return m.group(1)
    nv = normalize(v)
    if nv:
        matches = [letters[i] for i, o in enumerate(options) if normalize(o) == nv]
        if len(matches) == 1:
            return matches[0]
    return None


def _extract(text: str, letters: Sequence[str], options: Sequence[str]) -> tuple[str | None, str | None]:
    """(letter, error) from free text, by rules in order of confidence; the first rule with one distinct letter
    wins, a rule that finds two different letters makes the answer ambiguous."""
    allowed = "".join(letters)
    rules = [
        rf"(?i:answer|option|choice)\s*(?:is|would be|:|=)?\s*[:\-]?\s*[\(\[\*]*([{allowed}])\b(?![a-z])",
        rf"^\s*[\(\[\*]*([{allowed}])\s*(?:[\)\]\.:,\*]|$)",
        rf"\(([{allowed}])\)",
        rf"(?<![A-Za-z])([{allowed}])\)",
    ]
    for rule in rules:
        found = {m.group(1).upper() for m in re.finditer(rule, text, re.MULTILINE)}
        found &= set(letters)
        if len(found) == 1:
            return found.pop(), None
        if len(found) > 1:
            return None, f"ambiguous: the answer names {', '.join(sorted(found))}"
    stripped = text.strip().strip(".*\"'")
    if len(stripped) == 1 and stripped.upper() in letters and stripped.isupper():
        return stripped.upper(), None
    nt = f" {normalize(text)} "
    hits = [letters[i] for i, o in enumerate(options) if normalize(o) and f" {normalize(o)} " in nt]
    if len(hits) == 1:
        return hits[0], None
    if len(hits) > 1:
        return None, f"ambiguous: the answer mentions options {', '.join(hits)}"
    return None, "no option letter found in the answer"


def parse_choice(text: str | None, options: Sequence[str], *, refusal: bool = False) -> ParsedAnswer:
    """The chosen letter of a multiple-choice answer (``options`` in the order shown).

    ``refusal`` is the provider's own flag (e.g. a content filter). An empty answer is an omission (a refusal).
    """
    letters = list(LETTERS[:len(options)])
    if refusal:
        return ParsedAnswer(text=text, refusal=True, error="the provider reported a refusal")
    if not text or not text.strip():
        return ParsedAnswer(text=text, refusal=True, error="empty answer (omission)")
    found_json, value = _json_value(text)
    if found_json and value is not None:
        letter = _letter_of(str(value), letters, options)
        if letter:
            return ParsedAnswer(letter, options[letters.index(letter)], "json")
        letter, err = _extract(str(value), letters, options)
        if letter:
            return ParsedAnswer(letter, options[letters.index(letter)], "extracted")
        if is_refusal(str(value)):
            return ParsedAnswer(text=text, refusal=True, error="the model declined to answer")
        return ParsedAnswer(text=text, method="json", error=f"the JSON answer {str(value)[:60]!r} is not one of "
                                                            f"{', '.join(letters)}")
    m = _TRUNCATED.search(text)
    if m and m.group(1).upper() in letters:
        letter = m.group(1).upper()
        return ParsedAnswer(letter, options[letters.index(letter)], "extracted")
    letter, err = _extract(text, letters, options)
    if letter:
        return ParsedAnswer(letter, options[letters.index(letter)], "extracted")
    if is_refusal(text):
        return ParsedAnswer(text=text, refusal=True, error="the model declined to answer")
    return ParsedAnswer(text=text, error=err)


def parse_open(text: str | None, *, refusal: bool = False) -> ParsedAnswer:
    """The answer of an open question: the ``answer`` of a JSON object, else the text itself (first line)."""
    if refusal:
        return ParsedAnswer(text=text, refusal=True, error="the provider reported a refusal")
    if not text or not text.strip():
        return ParsedAnswer(text=text, refusal=True, error="empty answer (omission)")
    found_json, value = _json_value(text)
    if found_json and value is not None and str(value).strip():
        value = str(value).strip()
        if is_refusal(value):
            return ParsedAnswer(text=value, refusal=True, error="the model declined to answer")
        return ParsedAnswer(text=value, method="json")
    m = re.search(r'"answer"\s*:\s*"([^"]*)', text)
    if m and m.group(1).strip():
        return ParsedAnswer(text=m.group(1).strip(), method="extracted")
    if is_refusal(text):
        return ParsedAnswer(text=text, refusal=True, error="the model declined to answer")
    line = _strip_fences(text).splitlines()[0].strip()
    line = re.sub(r"(?i)^(?:the\s+)?answer\s*(?:is\s*:?|:)\s*", "", line).strip()
    return ParsedAnswer(text=line, method="extracted") if line else ParsedAnswer(text=text, error="no answer found")
