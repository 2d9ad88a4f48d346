"""Running planned calls: a limiter per model (concurrency and requests per minute), a response cache, resume, and
errors that stay errors.

- Each model spec gets its own thread pool (``Limits.concurrency`` workers) and :class:`RateLimiter` (``rpm``), so a
  slow or rate-limited provider never holds back another. Retries (429 with ``retry-after``, 5xx, timeouts) are the
  provider's :class:`~vidqa.providers.retry.RetryPolicy`; a wait longer than the policy allows *parks* the model:
  its remaining calls are recorded ``parked`` without being sent, with the server's wait in the message.
- The cache is keyed by :meth:`ChatRequest.cache_key` (provider, model, exact request with media hashes, settings):
  a temperature-0 (or seeded) re-run is answered from it and makes no calls.
- ``done`` holds the call keys that already have an answer: those calls are skipped (resume after a crash or a 5xx
  mid-batch). ``on_result`` receives every response in the calling thread as it completes, so the caller can commit
  as it goes (the pipeline writes the store there).
- A failed call is an :class:`~vidqa.records.evaluation.EvalResponse` with ``status`` ``error`` / ``parked`` /
  ``unsupported`` and the reason; it is never turned into an answer.

Example::

    from vidqa.evaluate.runner import MemoryCache, run_tasks
    cache = MemoryCache()
    result = run_tasks(plan.tasks, cache=cache)
    result.stats.n_calls, result.stats.n_cached       # a second run_tasks(plan.tasks, cache=cache): 0 calls
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

from vidqa.errors import ApiError, VidqaError
from vidqa.evaluate.cost import response_cost
from vidqa.evaluate.plan import EvalTask, Limits, build_chat_request
from vidqa.evaluate.transports import UnsupportedTransport
from vidqa.providers.base import ChatRequest, ChatResponse
from vidqa.providers.errors import RateLimitParked, UnsupportedInputError
from vidqa.providers.keys import scrub
from vidqa.records.evaluation import EvalResponse

__all__ = ["MemoryCache", "RateLimiter", "ResponseCache", "RunResult", "RunStats", "cacheable", "run_tasks"]


class RateLimiter:
    """At most ``rpm`` starts per minute, evenly paced (``burst`` starts may go back to back). Thread-safe.

    ``clock`` and ``sleep`` are injectable (tests do not sleep for real). ``rpm=None`` never waits.

    Example::

        limiter = RateLimiter(rpm=30)
        limiter.acquire()     # returns at once, then every 2 s
    """

    def __init__(self, rpm: float | None, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rpm is not None and rpm <= 0:
            raise VidqaError(f"A requests-per-minute limit must be positive, not {rpm}.")
        self.interval = 60.0 / rpm if rpm else 0.0
        self.burst = max(1, int(burst))
        self._clock, self._sleep = clock, sleep
        self._tat = 0.0  # theoretical arrival time of the next start (GCRA)
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Block until a start is allowed; returns the seconds waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            start = max(now, tat - (self.burst - 1) * self.interval)
            self._tat = tat + self.interval
        wait_s = start - now
        if wait_s > 0:
            self._sleep(wait_s)
            self.waited += wait_s
        return max(0.0, wait_s)


class ResponseCache(Protocol):
    """Where answers are kept by cache key (the pipeline backs it with the store)."""

    def get(self, key: str) -> ChatResponse | None: ...

    def put(self, key: str, response: ChatResponse) -> None: ...


class MemoryCache:
    """A thread-safe in-memory :class:`ResponseCache` (counts ``hits`` and ``misses``)."""

    def __init__(self) -> None:
        self._data: dict[str, ChatResponse] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str) -> ChatResponse | None:
        with self._lock:
            found = self._data.get(key)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, key: str, response: ChatResponse) -> None:
        with self._lock:
            self._data[key] = response

    def __len__(self) -> int:
        return len(self._data)


def cacheable(request: ChatRequest) -> bool:
    """Answers are reused only for deterministic requests: temperature 0, or a fixed seed."""
    return float(request.temperature) == 0.0 or request.seed is not None


@dataclass
class RunStats:
    """What a run did: calls made (cache hits and resumed calls excluded), errors, time, dollars."""

    n_tasks: int = 0
    n_resumed: int = 0
    n_calls: int = 0
    n_cached: int = 0
    n_errors: int = 0
    n_parked: int = 0
    n_unsupported: int = 0
    seconds: float = 0.0
    cost: float = 0.0
    cost_unknown: int = 0
    per_model: dict[str, dict[str, int]] = field(default_factory=dict)
    parked: dict[str, str] = field(default_factory=dict)
    """Model spec -> the message that parked it."""

    def summary(self) -> str:
        cost = f"${self.cost:.4f}" + (f" (+{self.cost_unknown} of unknown price)" if self.cost_unknown else "")
        text = (f"{self.n_tasks} calls planned: {self.n_calls} sent, {self.n_cached} from the cache, "
                f"{self.n_resumed} already done; {self.n_errors} errors, {self.n_parked} parked, "
                f"{self.n_unsupported} unsupported; {self.seconds:.1f} s, {cost}")
        for spec, msg in self.parked.items():
            text += f"\n  {spec} parked: {msg}"
        return text


@dataclass
class RunResult:
    responses: list[EvalResponse]
    stats: RunStats


class _Lane:
    """One model spec's pool, limiter and parked state."""

    def __init__(self, spec: str, limits: Limits, limiter: RateLimiter | None = None):
        self.spec = spec
        self.limits = limits
        self.limiter = limiter or RateLimiter(limits.rpm, limits.burst)
        self.pool = ThreadPoolExecutor(max_workers=max(1, limits.concurrency), thread_name_prefix=f"eval-{spec}"[:40])
        self.parked: str | None = None
        self.lock = threading.Lock()


def _error_response(req, status: str, err: BaseException, *, sent: bool = False) -> EvalResponse:
    attempts = int(getattr(err, "attempts", 0) or 0) or (1 if sent else 0)
    return EvalResponse(req, status, error=scrub(str(err)) or type(err).__name__, error_type=type(err).__name__,
                        attempts=attempts)


def _execute(task: EvalTask, lane: _Lane, cache: ResponseCache | None, work_dir: str | None,
             prices) -> EvalResponse:
    req = task.request
    target = task.target
    if target.is_baseline:
        t0 = time.perf_counter()
        try:
            text = target.provider.answer(task)
        except VidqaError as err:
            return _error_response(req, "unsupported", err)
        return EvalResponse(req, "ok", text=text, latency=time.perf_counter() - t0, cost=0.0, attempts=0,
                            finish_reason="stop")
    try:
        chat, req = build_chat_request(task, work_dir=work_dir)
    except UnsupportedTransport as err:
        return _error_response(req, "unsupported", err)
    except VidqaError as err:
        return _error_response(req, "error", err)
    use_cache = cache is not None and cacheable(chat)
    if use_cache:
        hit = cache.get(req.cache_key)  # type: ignore[union-attr, arg-type]
        if hit is not None:
            return _from_chat(req, hit, cached=True, prices=prices)
    if lane.parked:
        return EvalResponse(req, "parked", error=lane.parked, error_type="RateLimitParked")
    lane.limiter.acquire()
    if lane.parked:
        return EvalResponse(req, "parked", error=lane.parked, error_type="RateLimitParked")
    try:
        response = target.provider.complete(chat)
    except RateLimitParked as err:
        with lane.lock:
            lane.parked = lane.parked or scrub(str(err))
        return _error_response(req, "parked", err, sent=True)
    except UnsupportedInputError as err:
        return _error_response(req, "unsupported", err)
    except (ApiError, VidqaError) as err:
        return _error_response(req, "error", err, sent=True)
    out = _from_chat(req, response, cached=False, prices=prices)
    if use_cache:
        cache.put(req.cache_key, response)  # type: ignore[union-attr, arg-type]
    return out


def _from_chat(req, r: ChatResponse, *, cached: bool, prices) -> EvalResponse:
    return EvalResponse(
        req, "refused" if r.refusal else "ok", text=r.text, latency=r.latency, input_tokens=r.input_tokens,
        output_tokens=r.output_tokens, cost=response_cost(req.model, r.input_tokens, r.output_tokens, prices),
        system_fingerprint=r.system_fingerprint, finish_reason=r.finish_reason,
        attempts=0 if cached else r.attempts, cached=cached, refusal=r.refusal)


def run_tasks(tasks: Iterable[EvalTask], *, cache: ResponseCache | None = None, done: Collection[str] = (),
              on_result: Callable[[EvalResponse], None] | None = None, limits: dict[str, Limits] | None = None,
              limiters: dict[str, RateLimiter] | None = None, work_dir: str | None = None,
              prices: dict[str, tuple[float, float]] | None = None, progress: bool = True) -> RunResult:
    """Run planned calls and return every response (in completion order) with the run's :class:`RunStats`.

    ``limits`` overrides a model's :class:`Limits` by spec; ``limiters`` supplies ready :class:`RateLimiter` s (shared
    across runs, or with a fake clock). A bug (an exception that is not a :class:`~vidqa.errors.VidqaError`) stops
    the run after the calls in flight; responses already passed to ``on_result`` are kept.
    """
    from tqdm.auto import tqdm

    tasks = list(tasks)
    stats = RunStats(n_tasks=len(tasks))
    t_start = time.perf_counter()
    done = set(done) if not isinstance(done, (set, frozenset, dict)) else done
    todo = [t for t in tasks if t.request.call_key not in done]
    stats.n_resumed = len(tasks) - len(todo)
    lanes: dict[str, _Lane] = {}
    for t in todo:
        spec = t.target.spec
        if spec not in lanes:
            lim = (limits or {}).get(spec) or t.target.limits
            lanes[spec] = _Lane(spec, lim, (limiters or {}).get(spec))
    responses: list[EvalResponse] = []
    bar = tqdm(total=len(todo), desc="evaluate", unit="call", disable=not progress or not todo)
    pending: set[Future] = set()
    try:
        for t in todo:
            lane = lanes[t.target.spec]
            pending.add(lane.pool.submit(_execute, t, lane, cache, work_dir, prices))
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                resp = fut.result()  # a bug propagates (after the finally below cancels the rest)
                _count(stats, resp)
                responses.append(resp)
                if on_result is not None:
                    on_result(resp)
                bar.update(1)
    finally:
        for fut in pending:
            fut.cancel()
        for lane in lanes.values():
            lane.pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    for lane in lanes.values():
        if lane.parked:
            stats.parked[lane.spec] = lane.parked
    stats.seconds = time.perf_counter() - t_start
    return RunResult(responses, stats)


def _count(stats: RunStats, resp: EvalResponse) -> None:
    m = stats.per_model.setdefault(resp.request.model, {"calls": 0, "cached": 0, "errors": 0, "parked": 0})
    if resp.cached:
        stats.n_cached += 1
        m["cached"] += 1
    elif resp.status in ("ok", "refused") and resp.request.transport != "baseline":
        stats.n_calls += 1
        m["calls"] += 1
    elif resp.status == "error":
        stats.n_errors += 1
        m["errors"] += 1
        if resp.attempts:
            stats.n_calls += 1
            m["calls"] += 1
    elif resp.status == "parked":
        stats.n_parked += 1
        m["parked"] += 1
    elif resp.status == "unsupported":
        stats.n_unsupported += 1
    if resp.cached or resp.request.transport == "baseline":
        return  # nothing was paid for
    if resp.cost is not None:
        stats.cost += resp.cost
    elif resp.status in ("ok", "refused"):
        stats.cost_unknown += 1
