"""An optional LLM judge for open answers, through any provider. Its verdict is stored *beside* the rules' verdict
(never instead of it), and a judge that fails (an API error, an answer that is not the JSON asked for) gives
``correct=None`` with the error: it is never replaced by a guess.

Example::

    from vidqa.providers import get_provider
    from vidqa.score.judge import judge_answer
    provider, model = get_provider("groq/llama-3.3-70b-versatile")
    v = judge_answer(provider, model, question="What colour is the car?", gold="blue", predicted="navy")
    v.correct, v.reason          # (True, 'navy is a shade of blue')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vidqa.errors import VidqaError
from vidqa.providers.base import ChatRequest, text_part
from vidqa.providers.keys import scrub

__all__ = ["JUDGE_PROMPT_VERSION", "JUDGE_SCHEMA", "JudgeVerdict", "judge_answer"]

JUDGE_PROMPT_VERSION = 1
JUDGE_SYSTEM = ("You grade short answers to questions about a video against the reference answer. An answer is "
                "correct when it means the same as the reference (synonyms, number words and shades of the same "
                "colour count as the same); it is wrong when it names something else or hedges between several "
                "answers. Reply with JSON {\"correct\": true|false, \"reason\": \"<a few words>\"} only.")
JUDGE_SCHEMA = {"type": "object", "properties": {"correct": {"type": "boolean"}, "reason": {"type": "string"}},
                "required": ["correct", "reason"], "additionalProperties": False}


@dataclass
class JudgeVerdict:
    """``correct`` is ``None`` when the judge failed (``error`` says why)."""

    correct: bool | None
    reason: str | None
    model: str
    error: str | None = None
    raw: str | None = None


def _parse(text: str) -> tuple[bool | None, str | None]:
    s = text.strip()
    if s.startswith("```"):
        s = s.strip("`").strip()
        s = s[4:] if s.lower().startswith("json") else s
    start, end = s.find("{"), s.rfind("}")
    if start < 0 or end <= start:
        return None, None
    try:
        obj = json.loads(s[start:end + 1])
    except ValueError:
        return None, None
    value = obj.get("correct") if isinstance(obj, dict) else None
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if not isinstance(value, bool):
        return None, None
    reason = obj.get("reason")
    return value, str(reason) if reason is not None else None


def judge_answer(provider: Any, model: str, *, question: str, gold: str, predicted: str,
                 answer_type: str | None = None, seed: int | None = 0, cache: Any = None,
                 spec: str | None = None) -> JudgeVerdict:
    """Ask ``provider``/``model`` whether ``predicted`` answers ``question`` as ``gold`` does.

    ``cache`` (anything with ``get(key)`` / ``put(key, response)``) reuses earlier verdicts; ``spec`` is the name
    recorded (default ``provider.name/model``).
    """
    name = spec or f"{getattr(provider, 'name', 'judge')}/{model}"
    prompt = (f"Question: {' '.join(question.split())}\n"
              + (f"Answer type: {answer_type}\n" if answer_type else "")
              + f"Reference answer: {gold}\nAnswer to grade: {predicted}\nIs the answer correct?")
    request = ChatRequest(model=model, parts=(text_part(prompt),), system=JUDGE_SYSTEM, temperature=0.0,
                          max_tokens=96, seed=seed, json_schema=JUDGE_SCHEMA)
    key = request.cache_key(getattr(provider, "name", "judge")) if cache is not None else None
    response = cache.get(key) if cache is not None else None
    if response is None:
        try:
            response = provider.complete(request)
        except VidqaError as err:
            return JudgeVerdict(None, None, name, error=f"the judge failed: {scrub(str(err))}")
        if cache is not None and not response.refusal:
            cache.put(key, response)
    if response.refusal:
        return JudgeVerdict(None, None, name, error="the judge declined to grade", raw=response.text)
    correct, reason = _parse(response.text or "")
    if correct is None:
        return JudgeVerdict(None, None, name, error=f"the judge's answer is not the JSON asked for: "
                                                    f"{(response.text or '')[:120]!r}", raw=response.text)
    return JudgeVerdict(correct, reason, name, raw=response.text)
