"""The store at scale: bulk commit rate, window-query latency, size per hour, vacuum/ANALYZE (issue #12).

Builds a synthetic store of ``--hours`` of video (one video per ``--video-minutes``) with the cue density of the
real core (``--visual-per-s`` visual events and ``--audio-per-s`` audio events per media second; the bundled sample
gives ~5.8 visual and ~0.25 audio events per second), committed through the store's own write helpers
(``replace_visual_events`` / ``replace_audio_events``: the path a Dask batch's client uses), then measures the
question engine's window queries. 1000 h x 6 cues/s ≈ 21 M rows.

    python benchmarks/bench_store_scale.py --hours 20          # ~430 k rows, a minute or two
    python benchmarks/bench_store_scale.py --hours 1000        # ~21 M rows (hours of CPU, ~8 GB of disk)
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from vidqa.records import AudioEvent, Video, VisualEvent
from vidqa.store import Store

KINDS = ["object"] * 6 + ["text", "colour", "count", "region", "scene_cut"]
LABELS = ["person", "car", "ball", "bicycle", "dog", "chair", "red", "blue", "EXIT", "score 2-1"]
AUDIO_KINDS = ["speech", "music", "crowd", "whistle", "silence", "buzzer"]


def fake_video(i: int, seconds: float) -> Video:
    sha = f"{i:064x}"
    return Video(id=sha[-12:], sha256=sha, title=f"synthetic {i}", duration=seconds, fps=25.0, is_vfr=False,
                 width=1280, height=720, rotation=0, video_codec="h264", audio_codec="aac", audio_tracks=1,
                 has_audio=True, path=f"media/{i}.mp4", play_path=f"media/{i}.mp4", audio_path=f"media/{i}.wav")


def visual(rng: random.Random, seconds: float, per_s: float) -> list[VisualEvent]:
    out = []
    for n in range(int(seconds * per_s)):
        t = n / per_s
        kind = rng.choice(KINDS)
        box = None if kind == "scene_cut" else tuple(sorted([rng.random(), rng.random()]) + sorted([rng.random(), rng.random()]))
        box = (box[0], box[2], box[1], box[3]) if box else None
        out.append(VisualEvent(t, kind, rng.choice(LABELS), round(rng.random(), 3), int(t * 25), box,
                               {"colour": "red"} if kind == "object" else {},
                               end=None if kind == "scene_cut" else t + rng.uniform(0.5, 4)))
    return out


def audio(rng: random.Random, seconds: float, per_s: float) -> list[AudioEvent]:
    out = []
    for n in range(int(seconds * per_s)):
        t = n / per_s
        out.append(AudioEvent(rng.choice(AUDIO_KINDS), t, t + rng.uniform(0.2, 3), rng.random(), rng.random(),
                              [("Speech", 0.8)]))
    return out


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=20.0, help="hours of synthetic video (default 20)")
    ap.add_argument("--video-minutes", type=float, default=30.0)
    ap.add_argument("--visual-per-s", type=float, default=5.8)
    ap.add_argument("--audio-per-s", type=float, default=0.25)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--db", help="where to build it (default a temp folder, removed afterwards)")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="vidqa-store-scale-")
    db = Path(args.db) if args.db else Path(tmp.name) / "vidqa.db"
    store = Store(db)
    seconds = args.video_minutes * 60
    n_videos = max(1, round(args.hours * 60 / args.video_minutes))
    rng = random.Random(12)
    rows = 0
    commit_s = 0.0
    ids = []
    for i in range(n_videos):
        v = store.add_video(fake_video(i, seconds))
        ids.append(v.id)
        ve, ae = visual(rng, seconds, args.visual_per_s), audio(rng, seconds, args.audio_per_s)
        t0 = time.perf_counter()
        run = store.start_run("detect", v.id, {"synthetic": True})
        rows += store.replace_visual_events(v.id, ve, run_id=run.id)
        rows += store.replace_audio_events(v.id, ae, run_id=run.id)
        store.finish_run(run.id, "done", seconds=0, media_seconds=seconds, n_records=len(ve) + len(ae))
        commit_s += time.perf_counter() - t0
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-wal"))
    hours = n_videos * seconds / 3600
    print(f"store: {n_videos} videos, {hours:.1f} h of media, {rows:,} cue rows")
    print(f"bulk commit: {rows / commit_s:,.0f} rows/s ({commit_s:.1f} s; one transaction per video and stage; "
          f"= {hours * 3600 / commit_s:,.0f} media-seconds committed per second)")
    print(f"size: {size / 1e6:.1f} MB = {size / 1e6 / hours:.1f} MB per hour of video "
          f"({size / rows:.0f} bytes/row incl. indexes)")

    def window(kind_query: bool, fn):
        def run():
            vid = rng.choice(ids)
            t1 = rng.uniform(0, seconds - 60)
            fn(vid, t1, t1 + 30, kind_query)
        return run

    def vis(vid, t1, t2, k):
        return store.visual_events(vid, kind="object" if k else None, start=t1, end=t2)

    def aud(vid, t1, t2, k):
        return store.audio_events(vid, kind="speech" if k else None, start=t1, end=t2)

    def report(label: str) -> None:
        for name, fn in [("visual_events(kind=object, 30 s window)", window(True, vis)),
                         ("visual_events(all kinds, 30 s window)", window(False, vis)),
                         ("audio_events(kind=speech, 30 s window)", window(True, aud)),
                         ("audio_events(all kinds, 30 s window)", window(False, aud))]:
            ms = timed(fn, args.queries)
            print(f"  [{label}] {name}: median {statistics.median(ms):.2f} ms, "
                  f"p95 {sorted(ms)[int(len(ms) * 0.95) - 1]:.2f} ms")
        plan = store.query("EXPLAIN QUERY PLAN SELECT * FROM visual_events WHERE video_id = ? AND kind = ? "
                           "AND t <= ? AND COALESCE(end, t) >= ? ORDER BY t, id", [ids[0], "object", 60, 30])
        print(f"  [{label}] plan: {'; '.join(r['detail'] for r in plan)}")

    report("as committed")
    t0 = time.perf_counter()
    store.conn.execute("ANALYZE")
    print(f"ANALYZE: {time.perf_counter() - t0:.1f} s")
    report("after ANALYZE")
    # churn: re-commit a tenth of the videos (a --force re-run), then VACUUM
    for vid in ids[: max(1, len(ids) // 10)]:
        store.replace_visual_events(vid, visual(rng, seconds, args.visual_per_s))
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = db.stat().st_size
    free = store.conn.execute("PRAGMA freelist_count").fetchone()[0] * store.conn.execute("PRAGMA page_size").fetchone()[0]
    t0 = time.perf_counter()
    store.conn.execute("VACUUM")
    vac = time.perf_counter() - t0
    print(f"after re-committing 10 % of videos: {before / 1e6:.1f} MB ({free / 1e6:.1f} MB free pages, reused by "
          f"later writes); VACUUM {vac:.1f} s -> {db.stat().st_size / 1e6:.1f} MB "
          f"({vac / max(rows, 1) * 1e6:.1f} s per million rows)")
    report("after VACUUM")
    store.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
