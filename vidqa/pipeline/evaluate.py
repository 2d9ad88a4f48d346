"""Evaluation glue: questions, cues and media from the store -> :mod:`vidqa.evaluate` -> :mod:`vidqa.score` -> the
store (this module is the only writer).

- :func:`evaluate_questions` plans every call, prints (returns) the cost estimate, and -- unless ``dry_run`` -- runs
  them with a limiter per model and the store-backed response cache, scoring each response as it arrives and
  committing in small batches, so a crash or a 5xx mid-batch keeps every finished row and a re-run does only the
  rest. Each unit (question x model x transport) is a row in ``runs`` (``stage="evaluate"``); a unit already done
  with the same settings is skipped. With ``gate=True`` the questions' gate flags are written
  (``store.update_question(qid, gate=...)``).
- :func:`evaluation_results` is the accuracy table (bootstrap intervals, ``n_unscored``) over stored scores;
  :func:`rescore` re-scores stored responses (new rules, or a judge) without calling any model again.

Example::

    from vidqa import open_store
    from vidqa.pipeline.evaluate import evaluate_questions, evaluation_results
    store = open_store("data/vidqa.db")
    result = evaluate_questions(store, ["local/smollm2", "baseline/random"], permutations=4, gate=True)
    print(result.summary())
    for row in evaluation_results(store):
        print(row.keys, row.accuracy, row.ci_low, row.ci_high, row.n_unscored)
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from vidqa.errors import VidqaError
from vidqa.evaluate.cost import CostEstimate
from vidqa.evaluate.gate import GATE_CONDITIONS, gate_flags
from vidqa.evaluate.plan import EvalSettings, Limits, ModelTarget, Plan, plan, resolve_model
from vidqa.evaluate.runner import RateLimiter, RunStats, run_tasks
from vidqa.evaluate.transports import QuestionMedia, TransportSettings
from vidqa.providers.base import ChatResponse
from vidqa.records.evaluation import EvalResponse, EvalRun, EvalScore
from vidqa.records.questions import Question
from vidqa.score.judge import judge_answer
from vidqa.score.scorer import score_response
from vidqa.score.stats import AccuracyRow, accuracy_table
from vidqa.store import Store

__all__ = ["EvaluationResult", "StoreCache", "evaluate_questions", "evaluation_frame", "evaluation_results",
           "load_media", "rescore"]

STAGE = "evaluate"


class StoreCache:
    """The response cache in the store's ``eval_cache`` table. Reads work from any thread (through one read
    connection of its own, so worker threads open none); writes are buffered and committed by
    :func:`evaluate_questions` in its own thread (the store has one writer)."""

    def __init__(self, store: Store):
        self.store = store
        self._pending: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._read: sqlite3.Connection | None = None
        self.hits = self.misses = 0

    def _lookup(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                return pending[2]
            if self._read is None:
                self._read = sqlite3.connect(f"file:{self.store.path.resolve()}?mode=ro", uri=True,
                                             check_same_thread=False, timeout=30.0)
            row = self._read.execute("SELECT response FROM eval_cache WHERE cache_key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def get(self, key: str) -> ChatResponse | None:
        fields = self._lookup(key)
        with self._lock:
            if fields is None:
                self.misses += 1
                return None
            self.hits += 1
        return ChatResponse(**fields)

    def close(self) -> None:
        with self._lock:
            if self._read is not None:
                self._read.close()
                self._read = None

    def put(self, key: str, response: ChatResponse) -> None:
        fields = {"text": response.text, "provider": response.provider, "model": response.model,
                  "latency": response.latency, "input_tokens": response.input_tokens,
                  "output_tokens": response.output_tokens, "finish_reason": response.finish_reason,
                  "system_fingerprint": response.system_fingerprint, "refusal": response.refusal,
                  "attempts": response.attempts}
        with self._lock:
            self._pending[key] = (response.provider, response.model, fields)

    def take_pending(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        with self._lock:
            items, self._pending = self._pending, {}
        return [(k, p, m, f) for k, (p, m, f) in items.items()]


@dataclass
class EvaluationResult:
    """What :func:`evaluate_questions` did."""

    eval_run: EvalRun | None
    """``None`` for a dry run (nothing is written)."""
    estimate: CostEstimate
    n_questions: int
    n_planned: int
    skipped: list[tuple[str, str, str, str]]
    """(model, transport, condition, reason) combinations left out (the model cannot take that input)."""
    stats: RunStats | None = None
    gates: dict[int, dict[str, Any]] = field(default_factory=dict)
    dry_run: bool = False

    def summary(self) -> str:
        lines = [f"{self.n_questions} question(s), {self.n_planned} call(s) planned"]
        lines += [f"  left out: {m} {t} {c}: {r}" for m, t, c, r in self.skipped]
        lines.append("cost estimate:")
        lines += self.estimate.lines()
        if self.dry_run:
            lines.append("dry run: nothing was sent or written")
        if self.stats is not None:
            lines.append(self.stats.summary())
        if self.gates:
            flagged = [q for q, g in self.gates.items() if g.get("flagged")]
            lines.append(f"gate: {len(flagged)} of {len(self.gates)} question(s) answered by one modality alone"
                         + (f" (flagged: {', '.join(map(str, flagged[:20]))})" if flagged else ""))
        return "\n".join(lines)


def load_media(store: Store, video_id: str) -> QuestionMedia:
    """A stored video's files and cues as the pure layer wants them."""
    video = store.video(video_id)
    return QuestionMedia(
        video_path=str(store.abspath(video.path)), video_sha256=video.sha256, duration=float(video.duration),
        audio_path=str(store.abspath(video.audio_path)) if video.audio_path else None, has_audio=bool(video.has_audio),
        rotation=int(video.rotation or 0), transcript=store.transcript(video_id),
        audio_events=store.audio_events(video_id), visual_events=store.visual_events(video_id))


def _select(store: Store, *, status: str | Sequence[str] | None, video_id: str | None, category: str | None,
            question_ids: Sequence[int] | None, limit: int | None) -> list[Question]:
    if question_ids:
        qs = [store.question(int(q)) for q in question_ids]
    else:
        qs = store.questions(video_id, status=status, category=category)
        qs = [q for q in qs if q.status != "dropped" or status == "dropped"]
    return qs[:limit] if limit else qs


def _unit_settings(settings: EvalSettings, spec: str, transport: str, question_hash: str) -> dict[str, Any]:
    return {"model": spec, "transport": transport, "question_hash": question_hash, **settings.as_dict()}


def evaluate_questions(
    store: Store,
    models: Sequence[str | ModelTarget],
    *,
    settings: EvalSettings | None = None,
    transports: Sequence[str] | None = None,
    permutations: int | None = None,
    gate: bool | None = None,
    counterfactual: bool | None = None,
    frames: int | None = None,
    status: str | Sequence[str] | None = "validated",
    video_id: str | None = None,
    category: str | None = None,
    question_ids: Sequence[int] | None = None,
    questions: Sequence[Question] | None = None,
    limit: int | None = None,
    judge: str | ModelTarget | None = None,
    limits: Mapping[str, Limits] | None = None,
    limiters: Mapping[str, RateLimiter] | None = None,
    prices: Mapping[str, tuple[float, float]] | None = None,
    dry_run: bool = False,
    force: bool = False,
    commit_every: int = 64,
    on_estimate: Callable[[CostEstimate], None] | None = None,
    progress: bool = True,
) -> EvaluationResult:
    """Evaluate stored questions against ``models`` (specs such as ``groq/...``, ``gemini/...``,
    ``openai/MODEL@URL``, ``local/smollm2``, ``baseline/random``, or ready :class:`ModelTarget` s).

    The keyword shortcuts (``transports``, ``permutations``, ``gate``, ``counterfactual``, ``frames``) override
    ``settings``. ``status`` chooses the questions (default ``validated``; ``None`` = any but dropped) unless
    ``question_ids`` or ``questions`` (stored questions) are given. ``on_estimate`` sees the cost estimate before
    any call. ``force`` re-asks calls that already have an answer (the cache still answers temperature-0 calls).
    """
    s = settings or EvalSettings()
    changes: dict[str, Any] = {}
    if transports is not None:
        changes["transports"] = tuple(transports) or None
    if permutations is not None:
        changes["permutations"] = int(permutations)
    if gate is not None:
        changes["gate"] = bool(gate)
    if counterfactual is not None:
        changes["counterfactual"] = bool(counterfactual)
    if frames is not None:
        changes["media"] = replace(s.media, frames=int(frames)) if s.media else TransportSettings(frames=int(frames))
    s = replace(s, **changes) if changes else s
    if not models:
        raise VidqaError("Name at least one model to evaluate (e.g. --model local/smollm2 or --model baseline/random).")
    qs = list(questions) if questions is not None else _select(store, status=status, video_id=video_id,
                                                               category=category, question_ids=question_ids,
                                                               limit=limit)
    targets = [m if isinstance(m, ModelTarget) else resolve_model(m) for m in models]
    media = {vid: load_media(store, vid) for vid in dict.fromkeys(q.video_id for q in qs)}
    the_plan = plan(qs, media, targets, s)
    estimate = the_plan.estimate(prices)
    if on_estimate is not None:
        on_estimate(estimate)
    result = EvaluationResult(None, estimate, len(qs), len(the_plan.tasks), the_plan.skipped, dry_run=dry_run)
    if dry_run or not the_plan.tasks:
        return result
    judge_fn = _judge(store, judge) if judge else None
    done = set() if force else store.done_call_keys(t.request.call_key for t in the_plan.tasks)
    run = store.start_eval_run({**s.as_dict(), "models": [t.spec for t in targets],
                                "judge": judge if isinstance(judge, str) else getattr(judge, "spec", None),
                                "question_ids": [q.id for q in qs]},
                               n_planned=len(the_plan.tasks), estimated_cost=estimate.total_usd)
    result.eval_run = run
    run_ids, remaining, unit_failed = _start_units(store, the_plan, s, done)
    cache = StoreCache(store)
    buffer: list[tuple[EvalResponse, EvalScore | None]] = []
    finished_units: list[str] = []
    questions_by_id = {q.id: q for q in qs}
    last_commit = time.monotonic()

    def flush() -> None:
        nonlocal last_commit
        items = cache.take_pending()
        if not buffer and not items and not finished_units:
            return
        with store.transaction():
            if buffer:
                store.add_eval_results(buffer, eval_run_id=run.id, run_ids=run_ids)
            if items:
                store.put_cached_responses(items)
            for unit in finished_units:
                failed = unit_failed.get(unit)
                store.finish_run(run_ids[unit], "failed" if failed else "done",
                                 n_records=len(the_plan.units.get(unit, ())), error=failed)
        buffer.clear()
        finished_units.clear()
        last_commit = time.monotonic()

    def on_result(resp: EvalResponse) -> None:
        resp.eval_run_id = run.id
        q = questions_by_id[resp.request.question_id]
        score = score_response(resp, q, visual_events=media[q.video_id].visual_events, judge=judge_fn)
        buffer.append((resp, score))
        unit = resp.request.unit
        if not resp.answered and unit not in unit_failed:
            unit_failed[unit] = f"{resp.status}: {resp.error}"[:500]
        if unit in remaining:
            remaining[unit] -= 1
            if remaining[unit] <= 0:
                finished_units.append(unit)
        if len(buffer) >= commit_every or time.monotonic() - last_commit > 2.0:
            flush()

    stats: RunStats | None = None
    try:
        out = run_tasks(the_plan.tasks, cache=cache, done=done, on_result=on_result, limits=dict(limits or {}),
                        limiters=dict(limiters or {}), work_dir=str(store.cache_dir / "eval-clips"),
                        prices=dict(prices or {}), progress=progress)
        stats = out.stats
    except BaseException as err:
        cache.close()
        flush()
        for unit, rid in run_ids.items():
            if remaining.get(unit, 0) > 0:
                store.finish_run(rid, "failed", error=f"the evaluation stopped: {type(err).__name__}: {err}"[:500])
        store.finish_eval_run(run.id, "failed", error=f"{type(err).__name__}: {err}"[:500])
        raise
    cache.close()
    flush()
    result.stats = stats
    if s.gate:
        result.gates = _write_gates(store, qs, s)
    status_ = "parked" if stats.parked else "done"
    result.eval_run = store.finish_eval_run(
        run.id, status_, n_calls=stats.n_calls, n_cached=stats.n_cached, n_resumed=stats.n_resumed,
        n_errors=stats.n_errors + stats.n_parked, cost=stats.cost, seconds=stats.seconds,
        error="; ".join(f"{k} parked: {v}" for k, v in stats.parked.items()) or None)
    return result


def _start_units(store: Store, the_plan: Plan, s: EvalSettings, done: set[str]
                 ) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
    """A ``runs`` row for every unit with calls left to make (one transaction); units whose every call is done are
    not started again."""
    specs = {t.request.unit: (t.target.spec, t.request.transport, t.request.video_id, t.request.question_hash)
             for t in the_plan.tasks}
    run_ids: dict[str, int] = {}
    remaining: dict[str, int] = {}
    with store.transaction():
        for unit, keys in the_plan.units.items():
            left = sum(1 for k in keys if k not in done)
            if not left:
                continue
            spec, transport, video_id, qhash = specs[unit]
            run = store.start_run(STAGE, video_id, _unit_settings(s, spec, transport, qhash), unit=unit)
            run_ids[unit] = run.id
            remaining[unit] = left
    return run_ids, remaining, {}


def _judge(store: Store, judge: str | ModelTarget):
    target = judge if isinstance(judge, ModelTarget) else resolve_model(judge)
    cache = StoreCache(store)

    def fn(question: Question, predicted: str):
        verdict = judge_answer(target.provider, target.model, question=question.question, gold=question.answer,
                               predicted=predicted, answer_type=question.answer_type, cache=cache, spec=target.spec)
        items = cache.take_pending()
        if items:
            store.put_cached_responses(items)
        return verdict

    return fn


def _write_gates(store: Store, qs: Sequence[Question], s: EvalSettings) -> dict[int, dict[str, Any]]:
    """Gate flags from every stored gate-condition score of these questions, merged into ``Question.gate``."""
    ids = [q.id for q in qs]
    rows = []
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        rows += store.query(
            "SELECT question_id, model, transport, condition, permutation, status FROM eval_results"
            " WHERE counterfactual = 'none'"
            f" AND condition IN ({', '.join('?' * len(GATE_CONDITIONS))})"
            f" AND question_id IN ({', '.join('?' * len(chunk))})", [*GATE_CONDITIONS, *chunk])
    k = {q.id: min(len(q.options), s.gate_permutations or len(q.options)) or 1 for q in qs}
    flags = gate_flags([(r["question_id"], f"{r['model']} via {r['transport']}", r["condition"], r["permutation"],
                         {"correct": True, "wrong": False}.get(r["status"])) for r in rows], k)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with store.transaction():
        for q in qs:
            if q.id in flags:
                store.update_question(q.id, gate={**(q.gate or {}), **flags[q.id], "updated_at": stamp})
    return flags


def evaluation_results(store: Store, *, by: Sequence[str] = ("model", "category", "transport"),
                       model: str | Sequence[str] | None = None, condition: str | None = "full",
                       counterfactual: str | None = "none", eval_run_id: int | None = None, seed: int = 0,
                       n_boot: int = 2000, level: float = 0.95) -> list[AccuracyRow]:
    """Accuracy per ``by`` group over stored scores, with question-level bootstrap intervals and ``n_unscored``."""
    rows = store.eval_results(model=model, eval_run_id=eval_run_id)
    return accuracy_table(rows, by=by, condition=condition, counterfactual=counterfactual, seed=seed, n_boot=n_boot,
                          level=level)


def evaluation_frame(store: Store, table: str = "accuracy", *, by: Sequence[str] | None = None,
                     model: str | Sequence[str] | None = None, condition: str | None = "full", seed: int = 0):
    """A pandas DataFrame of evaluation results for notebooks: ``table`` is ``accuracy`` (with 95 % intervals and
    ``n_unscored``), ``consistency`` (plain vs consistent over rotations), ``errors`` (error categories),
    ``bias`` (share of each predicted letter), ``counterfactual`` (listening rate) or ``gate`` (accuracy per gate
    condition).

    Example: ``evaluation_frame(store, "accuracy", by=("model", "transport"))``.
    """
    import pandas as pd

    from vidqa.score.stats import consistency_table, counterfactual_table, error_breakdown, position_bias

    rows = store.eval_results(model=model)
    if table == "accuracy":
        out = [r.as_dict() for r in accuracy_table(rows, by=tuple(by or ("model", "category", "transport")),
                                                    condition=condition, seed=seed)]
    elif table == "gate":
        out = [r.as_dict() for r in accuracy_table(rows, by=tuple(by or ("model", "transport", "condition")),
                                                    condition=None, seed=seed)]
    elif table == "consistency":
        out = consistency_table(rows, by=tuple(by or ("model", "transport")), condition=condition or "full")
    elif table == "errors":
        out = error_breakdown(rows, by=tuple(by or ("model", "transport")), condition=condition)
    elif table == "bias":
        out = position_bias(rows, by=tuple(by or ("model", "transport")), condition=condition)
    elif table == "counterfactual":
        out = counterfactual_table(rows, by=tuple(by or ("model", "transport")))
    else:
        raise VidqaError(f"Unknown results table {table!r}: accuracy, consistency, errors, bias, counterfactual "
                         "or gate.")
    return pd.DataFrame(out)


def rescore(store: Store, *, judge: str | ModelTarget | None = None, model: str | None = None) -> int:
    """Score stored responses again (after a change of rules, or to add a judge's verdict); no model is called
    except the judge. Returns how many scores were written."""
    judge_fn = _judge(store, judge) if judge else None
    responses = store.eval_responses(model=model)
    questions: dict[int, Question] = {}
    media: dict[str, QuestionMedia] = {}
    out: list[tuple[int, EvalScore]] = []
    for resp in responses:
        qid = resp.request.question_id
        if qid is None:
            continue
        if qid not in questions:
            questions[qid] = store.question(qid)
        q = questions[qid]
        if q.video_id not in media:
            media[q.video_id] = QuestionMedia(video_path=None, visual_events=store.visual_events(q.video_id))
        out.append((int(resp.id), score_response(resp, q, visual_events=media[q.video_id].visual_events,
                                                  judge=judge_fn)))
    store.replace_eval_scores(out)
    return len(out)
