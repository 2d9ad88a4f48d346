"""The prompt every model gets: a system message, the window's media (from :mod:`~vidqa.evaluate.transports`),
then the question with its lettered options, and a JSON-schema answer ``{"answer": "A".."D"}`` where the provider
supports structured output (else the schema goes into the system prompt and the letter is extracted if need be).

The wording is versioned (:data:`PROMPT_VERSION`) and hashed (:func:`prompt_hash`) into every stored response, so a
score can always be traced to the exact text the model saw.

Example::

    from vidqa.evaluate.prompt import answer_schema, question_text
    question_text("What colour is the car when the whistle blows?", ["red", "blue", "green", "white"])
    # 'Question: What colour is the car ...\\nOptions:\\nA) red\\nB) blue\\nC) green\\nD) white\\n...'
    answer_schema(4)   # {'type': 'object', 'properties': {'answer': {'type': 'string', 'enum': ['A', 'B', 'C', 'D']}}, ...}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from vidqa.errors import VidqaError

__all__ = ["LETTERS", "PROMPT_VERSION", "SYSTEM_MC", "SYSTEM_OPEN", "answer_schema", "letters_for", "open_schema",
           "prompt_hash", "question_text", "window_text"]

PROMPT_VERSION = 1
LETTERS = "ABCDEFGHIJ"

SYSTEM_MC = ("You answer questions about a short window of a video. You get the window as described in the message "
             "(a video clip, frames with their times, its audio, its transcript, or a text list of what was detected "
             "in it). Choose the one correct option. Reply with a JSON object {\"answer\": \"<letter>\"} and "
             "nothing else.")
SYSTEM_OPEN = ("You answer questions about a short window of a video. You get the window as described in the "
               "message (a video clip, frames with their times, its audio, its transcript, or a text list of what "
               "was detected in it). Reply with a JSON object {\"answer\": \"<a short answer>\"} and nothing else: "
               "a word, a number or a short phrase.")


def letters_for(n: int) -> list[str]:
    """The option letters for ``n`` options (``["A", "B", "C", "D"]`` for 4)."""
    if not 2 <= n <= len(LETTERS):
        raise VidqaError(f"A multiple-choice question needs 2 to {len(LETTERS)} options, not {n}.")
    return list(LETTERS[:n])


def answer_schema(n_options: int) -> dict:
    """JSON schema of a multiple-choice answer: ``{"answer": one of the letters}``."""
    return {"type": "object", "properties": {"answer": {"type": "string", "enum": letters_for(n_options)}},
            "required": ["answer"], "additionalProperties": False}


def open_schema() -> dict:
    """JSON schema of an open answer: ``{"answer": "<short text>"}``."""
    return {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
            "additionalProperties": False}


def window_text(t_start: float, t_end: float) -> str:
    """The sentence that places the window in the video."""
    return (f"The window runs from {t_start:.1f} s to {t_end:.1f} s of the video ({max(0.0, t_end - t_start):.1f} s); "
            "all times below are seconds of the video.")


def question_text(question: str, options: Sequence[str] = ()) -> str:
    """The question block: the question, then ``A) ...`` lines and the answer instruction (open when no options)."""
    q = " ".join(str(question).split())
    if not options:
        return f"Question: {q}\nAnswer in a few words, as JSON: {{\"answer\": \"...\"}}."
    letters = letters_for(len(options))
    lines = [f"Question: {q}", "Options:"] + [f"{k}) {o}" for k, o in zip(letters, options)]
    lines.append(f"Answer with the letter of the correct option ({', '.join(letters)}) as JSON: "
                 "{\"answer\": \"<letter>\"}.")
    return "\n".join(lines)


def prompt_hash(system: str | None, texts: Sequence[str]) -> str:
    """sha256 hex of the prompt version, the system prompt and the text parts in order (media are hashed apart)."""
    blob = json.dumps({"v": PROMPT_VERSION, "system": system, "texts": list(texts)}, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
