"""The store at scale: bulk commit rate, window-query latency, size per hour, vacuum/ANALYZE (issue #12).

Builds a synthetic store of ``--hours`` of video (one video per ``--video-minutes``) with the cue density of the
real core (``--visual-per-s`` visual events and ``--audio-per-s`` audio events per media second; the bundled sample
gives ~5.8 visual and ~0.25 audio events per second), committed through the store's own write helpers
(``replace_visual_events`` / ``replace_audio_events``: the path a Dask batch's client uses), then measures the
question engine's window queries. 1000 h x 6 cues/s ≈ 21 M rows.

``--long-cues`` adds the real-video weak spot: per video one text cue spanning the whole video (a channel logo or
watermark) and four 5-minute count runs (a static shot). ``--reuse`` measures an existing ``--db`` (built by an
earlier run, possibly by an older vidqa: opening it runs the new migrations, timed) instead of building one; with
``--long-cues`` it re-commits the text and count cues of every video with the long ones added. The printed plans are
those of the SQL the store actually runs (captured with ``set_trace_callback`` during a real call).

    python benchmarks/bench_store_scale.py --hours 20                        # ~430 k rows, a minute or two
    python benchmarks/bench_store_scale.py --hours 1000 --db /tmp/s/vidqa.db # ~21 M rows (~10 min, ~4.5 GB disk)
    python benchmarks/bench_store_scale.py --hours 1000 --db /tmp/s/vidqa.db --reuse --long-cues
"""

from __future__ import annotations

import argparse
import random
import sqlite3
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


def long_cues(rng: random.Random, seconds: float) -> list[VisualEvent]:
    """One text cue over the whole video (a watermark) and four 5-minute count runs (a static shot)."""
    out = [VisualEvent(0.0, "text", "CHANNEL LOGO", 0.99, 0, (0.85, 0.02, 0.98, 0.08), {}, end=seconds)]
    for _ in range(4):
        t = round(rng.uniform(0, seconds - 300), 2)
        out.append(VisualEvent(t, "count", "person", 0.9, int(t * 25), None, {"count": 3}, end=t + 300.0))
    return out


def audio(rng: random.Random, seconds: float, per_s: float) -> list[AudioEvent]:
    out = []
    for n in range(int(seconds * per_s)):
        t = n / per_s
        out.append(AudioEvent(rng.choice(AUDIO_KINDS), t, t + rng.uniform(0.2, 3), rng.random(), rng.random(),
                              [("Speech", 0.8)]))
    return out


def plans(store: Store, call) -> list[str]:
    """EXPLAIN QUERY PLAN of the statements ``call()`` really runs on the cue tables (expanded SQL from the trace)."""
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        store.conn.set_trace_callback(None)
    out = []
    for sql in seen:
        if sql.lstrip().upper().startswith("SELECT") and ("visual_events" in sql or "audio_events" in sql):
            out.append("; ".join(r["detail"] for r in store.query("EXPLAIN QUERY PLAN " + sql)))
    return out


def has_long_cues(store: Store, video_id: str) -> bool:
    return bool(store.query("SELECT 1 FROM visual_events WHERE video_id = ? AND kind = 'text' AND end - t > 120 "
                            "LIMIT 1", [video_id]))


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
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--db", help="where to build it (default a temp folder, removed afterwards)")
    ap.add_argument("--long-cues", action="store_true",
                    help="add a whole-video text cue and four 5-min count runs per video")
    ap.add_argument("--reuse", action="store_true", help="measure the existing --db instead of building one")
    args = ap.parse_args()
    if args.reuse and not (args.db and Path(args.db).is_file()):
        ap.error("--reuse needs an existing --db")

    tmp = tempfile.TemporaryDirectory(prefix="vidqa-store-scale-")
    db = Path(args.db) if args.db else Path(tmp.name) / "vidqa.db"
    seconds = args.video_minutes * 60
    n_videos = max(1, round(args.hours * 60 / args.video_minutes))
    rng = random.Random(12)
    if args.reuse:
        old = sqlite3.connect(db)
        version = old.execute("PRAGMA user_version").fetchone()[0]
        old.close()
        t0 = time.perf_counter()
        store = Store(db)
        print(f"open: schema v{version} -> v{store.schema_version} in {time.perf_counter() - t0:.1f} s"
              + (" (migrations ran)" if store.schema_version != version else ""))
        ids = [r["id"] for r in store.query("SELECT id FROM videos ORDER BY sha256")]
        n_videos = len(ids)
        rows = store.query("SELECT (SELECT COUNT(*) FROM visual_events) + (SELECT COUNT(*) FROM audio_events) AS n")[0]["n"]
        if args.long_cues and not has_long_cues(store, ids[0]):
            t0, n = time.perf_counter(), 0
            for vid in ids:
                ve = [e for e in visual(rng, seconds, args.visual_per_s) if e.kind in ("text", "count")]
                n += store.replace_visual_events(vid, ve + long_cues(rng, seconds), kinds=["text", "count"])
            dt = time.perf_counter() - t0
            rows = store.query("SELECT (SELECT COUNT(*) FROM visual_events) + (SELECT COUNT(*) FROM audio_events) AS n")[0]["n"]
            print(f"long cues added: re-committed the text and count cues of {n_videos} videos ({n:,} rows) in "
                  f"{dt:.1f} s = {n / dt:,.0f} rows/s (generation included)")
        commit_s = None
    else:
        store = Store(db)
        rows = 0
        commit_s = 0.0
        ids = []
        for i in range(n_videos):
            v = store.add_video(fake_video(i, seconds))
            ids.append(v.id)
            ve, ae = visual(rng, seconds, args.visual_per_s), audio(rng, seconds, args.audio_per_s)
            if args.long_cues:
                ve = sorted(ve + long_cues(rng, seconds), key=lambda e: e.t)
            t0 = time.perf_counter()
            run = store.start_run("detect", v.id, {"synthetic": True})
            rows += store.replace_visual_events(v.id, ve, run_id=run.id)
            rows += store.replace_audio_events(v.id, ae, run_id=run.id)
            store.finish_run(run.id, "done", seconds=0, media_seconds=seconds, n_records=len(ve) + len(ae))
            commit_s += time.perf_counter() - t0
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-wal"))
    hours = n_videos * seconds / 3600
    print(f"store: {n_videos} videos, {hours:.1f} h of media, {rows:,} cue rows, schema v{store.schema_version}, "
          f"long cues: {'yes' if has_long_cues(store, ids[0]) else 'no'}")
    if commit_s is not None:
        print(f"bulk commit: {rows / commit_s:,.0f} rows/s ({commit_s:.1f} s; one transaction per video and stage; "
              f"= {hours * 3600 / commit_s:,.0f} media-seconds committed per second)")
    print(f"size: {size / 1e6:.1f} MB = {size / 1e6 / hours:.1f} MB per hour of video "
          f"({size / rows:.0f} bytes/row incl. indexes)")
    bound = sorted(r["m"] for r in store.query("SELECT MAX(max_span) AS m FROM cue_spans GROUP BY video_id"))
    print(f"cue_spans: an all-kinds window [t1, t2] reads cues from t1 - max_span: max_span median "
          f"{statistics.median(bound):.1f} s, max {bound[-1]:.1f} s over the videos")

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

    def text(vid, t1, t2, k):
        return store.visual_events(vid, kind="text", start=t1, end=t2)

    queries = [("visual_events(kind=object, 30 s window)", True, vis),
               ("visual_events(kind=text, 30 s window)", True, text),
               ("visual_events(all kinds, 30 s window)", False, vis),
               ("audio_events(kind=speech, 30 s window)", True, aud),
               ("audio_events(all kinds, 30 s window)", False, aud)]

    def report(label: str) -> None:
        for name, k, fn in queries:
            got: list[int] = []
            ms = timed(window(k, lambda *a, fn=fn, got=got: got.append(len(fn(*a)))), args.queries)
            print(f"  [{label}] {name}: median {statistics.median(ms):.2f} ms, "
                  f"p95 {sorted(ms)[int(len(ms) * 0.95) - 1]:.2f} ms, max {max(ms):.1f} ms "
                  f"({statistics.mean(got):.0f} rows per query)")
        for name, k, fn in queries:
            for plan in plans(store, lambda fn=fn, k=k: fn(ids[len(ids) // 2], seconds - 90, seconds - 60, k)):
                print(f"  [{label}] plan of {name.split(',')[0]}): {plan}")

    report("as committed")
    t0 = time.perf_counter()
    store.conn.execute("ANALYZE")
    print(f"ANALYZE: {time.perf_counter() - t0:.1f} s")
    report("after ANALYZE")
    # churn: re-commit a tenth of the videos (a --force re-run), then VACUUM
    n, commit = 0, 0.0
    for vid in ids[: max(1, len(ids) // 10)]:
        ve = visual(rng, seconds, args.visual_per_s)
        if args.long_cues:
            ve = sorted(ve + long_cues(rng, seconds), key=lambda e: e.t)
        t0 = time.perf_counter()
        n += store.replace_visual_events(vid, ve)
        commit += time.perf_counter() - t0
    print(f"re-commit of {max(1, len(ids) // 10)} videos' visual cues into the full store: {n / commit:,.0f} rows/s "
          f"({n:,} rows, delete + insert)")
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
