"""Evaluation throughput against a rate-limited server, and the cost of a cached re-run.

1. A local OpenAI-compatible server (tests/fake_ratelimit.py) accepts at most ``--rpm`` requests a minute (a sliding
   window of ``--window`` s holding ``rpm * window / 60`` requests; over it: 429 with retry-after). ``--calls``
   questions are evaluated through the real openai SDK with the runner's limiter set to the same rpm. Target:
   throughput >= 90 % of the limit.
2. ``--questions`` (1,000) questions are evaluated once (an unlimited server), then again: the re-run resumes
   (every call already answered) and a forced re-run is answered from the response cache. Target: 0 calls and
   <= 2 s each.

Both go through the pipeline (plan, media, limiter, cache, scoring, store writes), text transport.

    python benchmarks/bench_evaluate.py                      # 600 rpm for ~30 s, then 1,000 questions
    python benchmarks/bench_evaluate.py --rpm 1200 --calls 400 --questions 1000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _store_with_questions(n: int):
    from vidqa.records import Video
    from vidqa.records.questions import AudioCue, Question, VisualCue
    from vidqa.store import Store

    store = Store(Path(tempfile.mkdtemp(prefix="vidqa-bench-eval-")) / "vidqa.db")
    sha = "ab" * 32
    store.add_video(Video(id=sha[:12], sha256=sha, title="bench", duration=3600.0, fps=25.0, is_vfr=False,
                          width=640, height=360, rotation=0, video_codec="h264", audio_codec=None, audio_tracks=0,
                          has_audio=False, path="bench.mp4", play_path="bench.mp4"))
    colours = ["red", "blue", "green", "white", "black", "yellow"]
    qs = []
    for i in range(n):
        opts = [colours[(i + j) % len(colours)] for j in range(4)]
        t0 = float(i * 3 % 3500)
        qs.append(Question(video_id=sha[:12], category="referential_grounding", template="bench", template_version=1,
                           question=f"Question {i}: what colour is the ball right after the whistle?",
                           answer=opts[i % 4], answer_type="colour", options=opts, answer_index=i % 4, t_start=t0,
                           t_end=t0 + 4.0, audio_cue=AudioCue("whistle", t0 + 0.5, t0 + 1.0),
                           visual_cue=VisualCue("object", t0, t0 + 4.0, label="ball", colour=opts[i % 4]),
                           status="validated"))
    store.add_questions(qs)
    return store


def throughput(rpm: float, window: float, calls: int) -> float:
    from fake_ratelimit import RateLimitedLLM

    from vidqa.evaluate.plan import Limits, resolve_model
    from vidqa.pipeline.evaluate import evaluate_questions

    store = _store_with_questions(calls)
    limit = max(1, round(rpm * window / 60.0))
    with RateLimitedLLM(limit=limit, window=window, latency=0.02) as server:
        target = resolve_model(f"openai/bench@{server.url}/v1", limits=Limits(concurrency=4, rpm=rpm))
        t0 = time.perf_counter()
        result = evaluate_questions(store, [target], transports=("text",), progress=False)
        seconds = time.perf_counter() - t0
        achieved = result.stats.n_calls / seconds * 60.0
        print(f"[throughput] limit {rpm:.0f} rpm ({limit} per {window:g} s): {result.stats.n_calls} calls in "
              f"{seconds:.1f} s = {achieved:.0f} rpm ({achieved / rpm:.1%} of the limit); server accepted "
              f"{server.accepted}, rejected {server.rejected} (429); errors {result.stats.n_errors}")
    store.close()
    return achieved / rpm


def cached_rerun(n: int) -> tuple[float, float, int, int]:
    from fake_ratelimit import RateLimitedLLM

    from vidqa.evaluate.plan import Limits, resolve_model
    from vidqa.pipeline.evaluate import evaluate_questions

    store = _store_with_questions(n)
    with RateLimitedLLM(limit=10**9, window=1.0) as server:
        target = resolve_model(f"openai/bench@{server.url}/v1", limits=Limits(concurrency=4, rpm=None))
        t0 = time.perf_counter()
        first = evaluate_questions(store, [target], transports=("text",), progress=False)
        t_first = time.perf_counter() - t0
        before = server.accepted
        t0 = time.perf_counter()
        resumed = evaluate_questions(store, [target], transports=("text",), progress=False)
        t_resume = time.perf_counter() - t0
        resume_calls = server.accepted - before
        t0 = time.perf_counter()
        forced = evaluate_questions(store, [target], transports=("text",), force=True, progress=False)
        t_cache = time.perf_counter() - t0
        cache_calls = server.accepted - before - resume_calls
    print(f"[cache] {n} questions: first run {first.stats.n_calls} calls in {t_first:.2f} s; re-run (resume) "
          f"{resume_calls} calls, {resumed.stats.n_resumed} resumed, {t_resume:.2f} s; forced re-run (cache) "
          f"{cache_calls} calls, {forced.stats.n_cached} cached, {t_cache:.2f} s")
    store.close()
    return t_resume, t_cache, resume_calls, cache_calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rpm", type=float, default=600.0, help="The server's requests-per-minute limit.")
    ap.add_argument("--window", type=float, default=10.0, help="The server's sliding window (s).")
    ap.add_argument("--calls", type=int, default=300, help="Calls in the throughput run.")
    ap.add_argument("--questions", type=int, default=1000, help="Questions in the cached re-run.")
    args = ap.parse_args()
    share = throughput(args.rpm, args.window, args.calls)
    t_resume, t_cache, c1, c2 = cached_rerun(args.questions)
    ok_rate = share >= 0.9
    ok_cache = c1 == 0 and c2 == 0 and t_resume <= 2.0 and t_cache <= 2.0
    print(f"throughput >= 90 % of the limit: {'PASS' if ok_rate else 'FAIL'} ({share:.1%})")
    print(f"cached re-run of {args.questions}: 0 calls and <= 2 s: {'PASS' if ok_cache else 'FAIL'} "
          f"(resume {t_resume:.2f} s / {c1} calls, cache {t_cache:.2f} s / {c2} calls)")
    sys.exit(0 if ok_rate and ok_cache else 1)


if __name__ == "__main__":
    main()
