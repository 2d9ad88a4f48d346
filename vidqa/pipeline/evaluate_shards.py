"""Evaluation sharded by provider: one process per provider, each running :func:`evaluate_questions` on the same
store.

One process is the right shape for remote models: the calls are I/O, each model has its own thread pool and rate
limiter, and the rate limits are the bound, not the CPU. Shard when one provider needs a CPU of its own (a local
``llama-server`` model beside remote APIs) or when one provider's client work (encoding frames and audio clips for
thousands of calls) should not slow the others: each shard is a spawned process with its own connection to the
SQLite store (WAL: the shards' small commits wait for each other, never fail), its own evaluation run and its own
``runs`` units, so a re-run, sharded or not, does only what is left.

Example::

    from vidqa import open_store
    from vidqa.pipeline.evaluate_shards import evaluate_sharded
    store = open_store("data/vidqa.db")
    for shard in evaluate_sharded(store, ["local/smollm2", "groq/llama-3.1-8b-instant", "baseline/random"]):
        print(shard.models, shard.result.summary() if shard.result else shard.error)
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from vidqa.errors import VidqaError
from vidqa.evaluate.cost import CostEstimate
from vidqa.pipeline.evaluate import EvaluationResult, evaluate_questions
from vidqa.store import Store

__all__ = ["Shard", "evaluate_sharded", "provider_groups"]

_NOT_PICKLABLE = ("limiters", "questions")


@dataclass
class Shard:
    """One provider's share of a sharded evaluation: its models and what :func:`evaluate_questions` returned
    there (``result``), or the error that stopped it (``error``, the other shards still finished)."""

    provider: str
    models: list[str]
    result: EvaluationResult | None = None
    error: str | None = None


def provider_groups(models: Sequence[str]) -> dict[str, list[str]]:
    """Model specs grouped by provider (the part before the first ``/``), in the order given.

    >>> provider_groups(["groq/a", "baseline/random", "groq/b"])
    {'groq': ['groq/a', 'groq/b'], 'baseline': ['baseline/random']}
    """
    groups: dict[str, list[str]] = {}
    for spec in models:
        if not isinstance(spec, str) or "/" not in spec:
            raise VidqaError(f"Sharding by provider needs model specs such as groq/MODEL, not {spec!r}.")
        groups.setdefault(spec.split("/", 1)[0], []).append(spec)
    return groups


def _run_shard(db_path: str, models: list[str], kwargs: dict[str, Any]) -> EvaluationResult:
    store = Store(db_path, create=False)
    try:
        return evaluate_questions(store, models, **kwargs)
    finally:
        store.close()


def evaluate_sharded(
    store: Store,
    models: Sequence[str],
    *,
    on_estimate: Callable[[CostEstimate], None] | None = None,
    max_processes: int | None = None,
    **kwargs: Any,
) -> list[Shard]:
    """Evaluate like :func:`evaluate_questions`, with each provider's models in a process of its own.

    ``kwargs`` are :func:`evaluate_questions`' keywords (``settings``, ``status``, ``limits``, ``judge``, ...; all
    picklable: ``limiters`` and ``questions`` objects are refused, pass ``question_ids``). ``on_estimate`` sees the
    cost estimate of the whole evaluation before any shard starts (raise in it to stop). Shards run
    ``max_processes`` at a time (default: all at once); per-shard progress bars are off. A shard that fails is
    reported in its :class:`Shard` and does not stop the others. With one provider this is
    :func:`evaluate_questions` in this process.
    """
    bad = [k for k in _NOT_PICKLABLE if kwargs.get(k) is not None]
    if bad:
        raise VidqaError(f"evaluate_sharded cannot send {', '.join(bad)} to other processes; "
                         "pass question_ids / limits instead.")
    if kwargs.get("dry_run"):
        evaluate_questions(store, list(models), on_estimate=on_estimate, **kwargs)
        return [Shard(p, ms) for p, ms in provider_groups(models).items()]
    groups = provider_groups(models)
    if len(groups) == 1:
        (provider, ms), = groups.items()
        return [Shard(provider, ms, evaluate_questions(store, ms, on_estimate=on_estimate, **kwargs))]
    if on_estimate is not None:  # the whole estimate, once, before anything is sent
        evaluate_questions(store, list(models), on_estimate=on_estimate, **{**kwargs, "dry_run": True})
    shard_kwargs = {**kwargs, "progress": False}
    shards = [Shard(p, ms) for p, ms in groups.items()]
    ctx = multiprocessing.get_context("spawn")  # no forked copies of this process's threads and connections
    with ProcessPoolExecutor(max_workers=max_processes or len(shards), mp_context=ctx) as pool:
        futures = {pool.submit(_run_shard, str(store.path.resolve()), sh.models, shard_kwargs): sh for sh in shards}
        for fut in as_completed(futures):
            sh = futures[fut]
            try:
                sh.result = fut.result()
            except Exception as err:  # noqa: BLE001  (reported per shard; the other shards are kept)
                sh.error = f"{type(err).__name__}: {err}"
    return shards
