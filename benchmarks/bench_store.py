"""Two (or more) processes writing notes into one SQLite store at once: throughput and lock errors.

Each writer adds a note and edits it, as fast as it can, for ``--seconds`` (default 60). Prints writes per second
per process and every error; the store's contract is zero "database is locked" errors and no lost rows.

    python benchmarks/bench_store.py --seconds 60 --writers 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path


def writer(path: str, video_id: str, worker: int, seconds: float, queue) -> None:
    from vidqa.store import Store

    store = Store(path)
    n, errors, worst = 0, [], 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            note = store.add_note(video_id, float(n), kind="typed", text=f"w{worker}-{n}")
            store.update_note(note.id, tags=[f"w{worker}"])
            n += 1
        except Exception as err:  # noqa: BLE001 - reported
            errors.append(repr(err))
        worst = max(worst, time.perf_counter() - t0)
    queue.put((worker, n, errors, worst))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--writers", type=int, default=2)
    args = ap.parse_args()

    from vidqa.records import Video
    from vidqa.store import Store

    path = str(Path(tempfile.mkdtemp(prefix="vidqa-store-")) / "vidqa.db")
    sha = "cd" * 32
    with Store(path) as s:
        s.add_video(Video(id=sha[:12], sha256=sha, title="bench", duration=1.0, fps=25.0, is_vfr=False, width=2,
                          height=2, rotation=0, video_codec="h264", audio_codec=None, audio_tracks=0,
                          has_audio=False, path="x.mp4", play_path="x.mp4"))
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=writer, args=(path, sha[:12], w, args.seconds, queue)) for w in range(args.writers)]
    for p in procs:
        p.start()
    results = sorted(queue.get(timeout=args.seconds + 120) for _ in procs)
    for p in procs:
        p.join()
    with Store(path, readonly=True) as s:
        stored = len(s.notes(sha[:12]))
    total = sum(n for _, n, _, _ in results)
    print(f"{args.writers} writers x {args.seconds:g} s on {path}")
    for w, n, errors, worst in results:
        print(f"  writer {w}: {n} notes ({2 * n / args.seconds:.0f} write transactions/s), worst write"
              f" {worst * 1000:.0f} ms, {len(errors)} errors {errors[:3]}")
    print(f"  rows stored {stored} / written {total}: {'no rows lost' if stored == total else 'ROWS LOST'}")


if __name__ == "__main__":
    main()
