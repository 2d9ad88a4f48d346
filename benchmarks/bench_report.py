"""How long the dashboard's figures take for a large result set (target: 10,000 responses in <= 3 s).

    python benchmarks/bench_report.py [--responses 10000]

Writes a seeded result set (vidqa.testing.results) into a temporary store, then times reading it
(results_frame) and building every figure of the dashboard, twice (cold, warm), and prints the figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from vidqa.report import (accuracy_figure, consistency_figure, cost_latency_figure, errors_figure, failure_heatmap,
                          failures_table, gate_figure, question_health_figure, results_frame, transport_figure)
from vidqa.store import Store
from vidqa.testing.results import synthetic_results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--responses", type=int, default=10_000)
    args = ap.parse_args()
    models, perms = ("model/a", "model/b", "model/c", "model/d"), 2
    n_questions = max(1, args.responses // (len(models) * perms))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "vidqa.db")
        t0 = time.perf_counter()
        truth = synthetic_results(store, n_questions=n_questions, models=models, permutations=perms, seed=0)
        print(f"wrote {truth.n_responses} responses to {n_questions} questions in {time.perf_counter() - t0:.2f} s")
        ro = Store(store.path, readonly=True)
        for attempt in ("cold", "warm"):
            t0 = time.perf_counter()
            df = results_frame(ro)
            t_read = time.perf_counter() - t0
            timings = {}
            for name, make in [("accuracy", accuracy_figure), ("consistency", consistency_figure),
                               ("errors", errors_figure), ("gate", gate_figure), ("transport", transport_figure),
                               ("cost_latency", cost_latency_figure)]:
                t1 = time.perf_counter()
                make(df)
                timings[name] = time.perf_counter() - t1
            t1 = time.perf_counter()
            failure_heatmap(df, ro, truth.video_id)
            timings["heatmap"] = time.perf_counter() - t1
            t1 = time.perf_counter()
            failures_table(df)
            question_health_figure(ro)
            timings["failures+health"] = time.perf_counter() - t1
            total = time.perf_counter() - t0
            parts = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
            print(f"{attempt}: read {len(df)} rows {t_read:.2f} s; {parts}; total {total:.2f} s "
                  f"(target <= 3 s: {'met' if total <= 3 else 'MISSED'})")


if __name__ == "__main__":
    main()
