"""The same short videos sequentially, on a LocalCluster of 2 one-thread workers and on 1 two-thread worker
(issue #12): records must be identical to the sequential run; prints the throughput of each.

    python benchmarks/bench_scale.py                      # 20 clips of 6 s cut from the bundled sample
    python benchmarks/bench_scale.py --videos 6 --seconds 4 --stages audio-events,detect

Cluster start-up (spawning workers) is timed apart from processing; model loading happens in the first tasks and
is part of the processing time. ``cpu s`` is what the whole machine was busy for (every worker process included).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def busy_cpu_seconds() -> float:
    """CPU-seconds the whole machine has been busy (Linux /proc/stat; 0 elsewhere): counts every worker process."""
    try:
        v = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0
    return (sum(v) - v[3] - v[4]) / (os.sysconf("SC_CLK_TCK") or 100)


def rows(store, vid):
    return (
        [(s.text, round(s.start, 2), round(s.end, 2)) for s in store.transcript(vid)],
        [(e.kind, round(e.start, 2), round(e.end, 2)) for e in store.audio_events(vid)],
        [(e.kind, e.label, round(e.t, 3), round(e.confidence, 3)) for e in store.visual_events(vid)],
    )


def main() -> None:
    from distributed import Client
    from test_distributed import cut  # the test's remux helper: real speech and pictures, distinct bytes

    from vidqa.pipeline.distributed import local_cluster, process_many
    from vidqa.pipeline.ingest import ingest
    from vidqa.pipeline.process import process
    from vidqa.store import Store

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each clip (cut from the 24 s sample)")
    ap.add_argument("--stages", default="transcribe,audio-events,detect")
    args = ap.parse_args()
    stages = tuple(s for s in args.stages.split(",") if s)

    with tempfile.TemporaryDirectory(prefix="vidqa-bench-scale-") as tmp:
        tmp = Path(tmp)
        clips = [cut(ROOT / "data/samples/sample.mp4", tmp / f"c{i}.mp4", args.seconds + 0.04 * i)
                 for i in range(args.videos)]
        modes = [("sequential", None, None), ("2 workers x 1 thread", 2, 1), ("1 worker x 2 threads", 1, 2)]
        figures, reference = [], None
        for label, workers, threads in modes:
            store = Store(tmp / label.replace(" ", "_") / "vidqa.db")
            videos = [ingest(str(c), store, progress=False) for c in clips]
            media = sum(v.duration for v in videos)
            startup = 0.0
            if workers is None:
                t0, c0 = time.perf_counter(), busy_cpu_seconds()
                results = [r for v in videos for r in process(store, v, stages=stages, progress=False)]
            else:
                t0 = time.perf_counter()
                cluster = local_cluster(workers, threads)
                client = Client(cluster)
                startup = time.perf_counter() - t0
                t0, c0 = time.perf_counter(), busy_cpu_seconds()
                results = process_many(store, videos, stages=stages, client=client, progress=False)
            wall, cpu = time.perf_counter() - t0, busy_cpu_seconds() - c0
            if workers is not None:
                client.close()
                cluster.close()
            bad = [r.summary() for r in results if r.status != "done"]
            got = {v.id: rows(store, v.id) for v in videos}
            same = "reference" if reference is None else ("identical" if got == reference else "DIFFERENT")
            if reference is None:
                reference = got
            n = sum(sum(len(x) for x in r) for r in got.values())
            figures.append((label, wall, startup, cpu, media, n, same, bad))
            store.close()
        media = figures[0][4]
        print(f"{args.videos} clips x ~{args.seconds:.0f} s ({media:.0f} s of media), stages {','.join(stages)}")
        print(f"{'mode':24s} {'wall s':>7} {'start s':>8} {'cpu s':>6} {'xRT':>6} {'videos/min':>10} {'rows':>6}"
              "  records")
        for label, wall, startup, cpu, media, n, same, bad in figures:
            print(f"{label:24s} {wall:7.1f} {startup:8.1f} {cpu:6.1f} {media / wall:6.2f} "
                  f"{args.videos / wall * 60:10.1f} {n:6d}  {same}{'  FAILED: ' + '; '.join(bad) if bad else ''}")


if __name__ == "__main__":
    main()
