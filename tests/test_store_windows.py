"""The store's window queries (issue #12): exact rows with long cues present, both index bounds, v4 -> v5 upgrade."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest

from vidqa.records import AudioEvent, Video, VisualEvent
from vidqa.store import SCHEMA_VERSION, Store
from vidqa.store.schema import LONG_CUE_S, MIGRATIONS

DURATION = 1800.0  # a 30-min video
KINDS = ["object", "text", "count", "scene_cut"]


def make_video(i: int) -> Video:
    sha = f"{i:064x}"
    return Video(id=sha[-12:], sha256=sha, title=f"v{i}", duration=DURATION, fps=25.0, is_vfr=False, width=640,
                 height=360, rotation=0, video_codec="h264", audio_codec="aac", audio_tracks=1, has_audio=True,
                 path=f"media/{i}.mp4", play_path=f"media/{i}.mp4", size=1)


def random_events(rng: random.Random, n: int = 1500) -> list[VisualEvent]:
    """Dense short cues on a 40 ms grid (so starts tie), instants, and the long ones real videos have: a cue over
    the whole video, 5-min count runs, spans right at the long/short threshold."""
    out = []
    for _ in range(n):
        kind = rng.choice(KINDS)
        t = round(rng.randrange(int(DURATION * 25)) / 25, 2)
        r = rng.random()
        if kind == "scene_cut" or r < 0.05:
            end = None
        elif r < 0.08:
            end = t + LONG_CUE_S  # exactly at the threshold: short
        elif r < 0.10:
            end = t + LONG_CUE_S + 1e-6  # just over: long
        elif r < 0.13:
            end = t + rng.uniform(121, 600)
        elif r < 0.14:
            end = t - 0.5  # a malformed cue that ends before it starts
        else:
            end = t + rng.uniform(0.04, 4)
        out.append(VisualEvent(t, kind, f"{kind} {len(out)}", round(rng.random(), 3), int(t * 25), None,
                               {"n": len(out)}, end=end))
    out.append(VisualEvent(0.0, "text", "WATERMARK", 0.99, 0, (0.8, 0.0, 1.0, 0.1), {}, end=DURATION))
    out.append(VisualEvent(600.0, "count", "person", 0.9, 15000, None, {"count": 3}, end=900.0))
    rng.shuffle(out)
    return out


def brute_visual(store: Store, video_id, kind=None, start=None, end=None, min_confidence=None):
    """Every row of the video (a plain scan, id order), filtered in Python, sorted by (t, id)."""
    rows = store.conn.execute("SELECT * FROM visual_events NOT INDEXED WHERE video_id = ?", (video_id,)).fetchall()
    keep = [r for r in rows
            if (kind is None or r["kind"] == kind)
            and (end is None or r["t"] <= end)
            and (start is None or (r["end"] if r["end"] is not None else r["t"]) >= start)
            and (min_confidence is None or r["confidence"] >= min_confidence)]
    keep.sort(key=lambda r: (r["t"], r["id"]))
    return [VisualEvent(r["t"], r["kind"], r["label"], r["confidence"], r["frame_index"],
                        (r["x0"], r["y0"], r["x1"], r["y1"]) if r["x0"] is not None else None,
                        json.loads(r["attributes"]), end=r["end"], track_id=r["track_id"]) for r in keep]


def sql_scan_visual(store: Store, video_id, kind, start, end):
    """The reference filter in SQL, with no index: ``t <= end AND COALESCE(end, t) >= start``."""
    sql, params = "SELECT label FROM visual_events NOT INDEXED WHERE video_id = ?", [video_id]
    if kind:
        sql, params = sql + " AND kind = ?", [*params, kind]
    if end is not None:
        sql, params = sql + " AND t <= ?", [*params, end]
    if start is not None:
        sql, params = sql + " AND COALESCE(end, t) >= ?", [*params, start]
    return [r[0] for r in store.conn.execute(sql + " ORDER BY t, id", params)]


def random_window(rng: random.Random, events: list[VisualEvent]) -> tuple[float | None, float | None]:
    r = rng.random()
    if r < 0.15:  # a window edge exactly on a cue's start or end
        e = rng.choice(events)
        edge = e.end if e.end is not None and rng.random() < 0.5 else e.t
        return (edge, edge + rng.choice([0.0, 1.0, 30.0])) if rng.random() < 0.5 else (edge - 30.0, edge)
    if r < 0.2:
        return None, rng.uniform(0, DURATION)
    if r < 0.25:
        return rng.uniform(0, DURATION), None
    if r < 0.28:
        return rng.uniform(-100, DURATION + 100), rng.uniform(-100, DURATION + 100)  # may be empty (start > end)
    t1 = rng.uniform(-10, DURATION)
    return t1, t1 + rng.choice([0.0, 0.5, 5.0, 30.0, 300.0])


def test_window_queries_return_exactly_the_rows_of_a_full_scan_with_long_cues_present(store):
    rng = random.Random(2024)
    videos = [store.add_video(make_video(i)).id for i in range(3)]
    events = {v: random_events(rng) for v in videos}
    for v in videos:
        store.replace_visual_events(v, events[v])
    # a partial re-commit (one kind) keeps cue_spans right for the others
    text = [e for e in random_events(rng) if e.kind == "text"]
    store.replace_visual_events(videos[0], text, kinds=["text"])
    events[videos[0]] = [e for e in events[videos[0]] if e.kind != "text"] + text
    # the long cues did not widen the short-cue bound (the text kind holds a whole-video cue)
    spans = {(r["video_id"], r["kind"]): r["max_span"] for r in store.query("SELECT * FROM cue_spans")}
    assert set(spans) == {(v, k) for v in videos for k in KINDS}
    assert all(0 <= s <= LONG_CUE_S for s in spans.values())

    checked = nonempty = 0
    for _ in range(600):
        v = rng.choice(videos)
        kind = rng.choice([None, None, *KINDS])
        start, end = random_window(rng, events[v])
        conf = rng.choice([None, None, None, 0.5])
        got = store.visual_events(v, kind, start=start, end=end, min_confidence=conf)
        want = brute_visual(store, v, kind, start, end, conf)
        assert got == want, (v, kind, start, end, conf)
        if conf is None:
            assert [e.label for e in got] == sql_scan_visual(store, v, kind, start, end)
        checked += 1
        nonempty += bool(got)
    assert checked == 600 and nonempty > 400  # the windows mostly hit cues: the comparison means something
    whole = store.visual_events(videos[1], "text", start=1700.0, end=1701.0)
    assert "WATERMARK" in [e.label for e in whole]  # the whole-video cue shows in a window at the very end


def test_audio_window_queries_return_exactly_the_rows_of_a_full_scan(store):
    rng = random.Random(7)
    v = store.add_video(make_video(1)).id
    events = []
    for _ in range(800):
        t = round(rng.uniform(0, DURATION), 2)
        span = rng.choice([rng.uniform(0.1, 3), rng.uniform(0.1, 3), rng.uniform(100, 900)])
        events.append(AudioEvent(rng.choice(["speech", "music", "whistle"]), t, t + span, rng.random(), rng.random(),
                                 [("Speech", 0.8)]))
    events.append(AudioEvent("music", 0.0, DURATION, 0.5, 0.9, [("Music", 0.9)]))
    store.replace_audio_events(v, events)
    for _ in range(300):
        kind = rng.choice([None, "speech", "music"])
        t1 = rng.uniform(-10, DURATION)
        start, end = rng.choice([(t1, t1 + 30), (None, t1), (t1, None)])
        want = sorted(
            ((i, e) for i, e in enumerate(events)
             if (kind is None or e.kind == kind) and (end is None or e.start <= end)
             and (start is None or e.end >= start)),
            key=lambda p: (p[1].start, p[0]))  # insertion order = id order
        got = store.audio_events(v, kind, start=start, end=end)
        assert [(e.kind, e.start, e.end) for e in got] == [(e.kind, e.start, e.end) for _, e in want]


def traced_plans(store: Store, call) -> list[str]:
    """The query plans of the SELECTs on visual_events that ``call()`` really runs (expanded SQL from the trace)."""
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        store.conn.set_trace_callback(None)
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT") and "visual_events" in s]
    assert selects, seen
    return [" | ".join(r["detail"] for r in store.query("EXPLAIN QUERY PLAN " + s)) for s in selects]


@pytest.mark.parametrize("analyzed", [False, True])
def test_the_window_query_bounds_t_on_both_sides_even_with_a_whole_video_cue(store, analyzed):
    rng = random.Random(5)
    v = store.add_video(make_video(1)).id
    store.replace_visual_events(v, random_events(rng, 3000))
    if analyzed:
        store.conn.execute("ANALYZE")
    for kind in ("text", "object", None):
        (plan,) = traced_plans(store, lambda kind=kind: store.visual_events(v, kind, start=1700.0, end=1730.0))
        assert "SCAN visual_events" not in plan, plan
        short, long = plan.split("SEARCH visual_events USING")[1:3]
        assert "t>? AND t<?" in short, plan  # short cues: an index range bounded on both sides
        assert "visual_events_long" in long, plan  # long cues: their own partial index
    # the bound is tight: a window at the end of the video reads the cues of ~150 s (30 s window + the longest
    # short span), not those of the 1,700 s before it
    in_range = ("SELECT COUNT(*) FROM visual_events WHERE video_id = ? AND t <= 1730 AND t >= 1700 - "
                "(SELECT MAX(max_span) FROM cue_spans WHERE video_id = ?) - 1e-6")
    read = store.conn.execute(in_range, (v, v)).fetchone()[0]
    before = store.conn.execute("SELECT COUNT(*) FROM visual_events WHERE video_id = ? AND t <= 1730", (v,)).fetchone()[0]
    assert before > 2500 and read < 400


def _v4_database(path) -> None:
    """A database as vidqa with schema 4 left it: the first four migrations, recorded as the store records them,
    with cue_spans holding the longest span of ALL cues (the whole-video one included)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN")
    for i, (name, migrate) in enumerate(MIGRATIONS[:4]):
        migrate(conn)
        if i == 1:
            conn.execute("INSERT INTO schema_migrations VALUES (1, ?, 'then')", (MIGRATIONS[0][0],))
        if i >= 1:
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", (i + 1, name))
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO videos (id, sha256, title, duration, width, height, video_codec, path, play_path,"
                 " created_at) VALUES ('abc', 'abcd', 't', 1800.0, 2, 2, 'h264', 'a.mp4', 'a.mp4', 'now')")
    rows = [(float(i), float(i) + 2.0, "object", f"o{i}") for i in range(1800)]
    rows += [(0.0, 1800.0, "text", "WATERMARK"), (10.0, 12.5, "text", "EXIT"), (300.0, None, "scene_cut", "cut")]
    conn.executemany("INSERT INTO visual_events (video_id, t, end, kind, label, confidence) VALUES ('abc', ?, ?, ?, ?, 1)",
                     rows)
    conn.executemany("INSERT INTO cue_spans VALUES ('abc', ?, ?)", [("object", 2.0), ("text", 1800.0), ("scene_cut", 0)])
    conn.execute("COMMIT")
    conn.close()


def test_a_version_4_database_upgrades_and_its_old_rows_answer_window_queries(tmp_path):
    path = tmp_path / "v4.db"
    _v4_database(path)
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION >= 5
        assert s.migrations()[4]["name"] == "v5_long_cues_apart"
        assert "visual_events_long" in [r["name"] for r in s.query("SELECT name FROM sqlite_master WHERE type = 'index'")]
        spans = {r["kind"]: r["max_span"] for r in s.query("SELECT * FROM cue_spans WHERE video_id = 'abc'")}
        assert spans == {"object": 2.0, "text": 2.5, "scene_cut": 0.0}  # recomputed from short cues only
        assert [e.label for e in s.visual_events("abc", "text", start=1000.0, end=1010.0)] == ["WATERMARK"]
        assert [e.label for e in s.visual_events("abc", start=1000.0, end=1001.0)] == ["WATERMARK", "o998", "o999",
                                                                                        "o1000", "o1001"]
        for kind in (None, "text", "object", "scene_cut"):
            for t1 in (0.0, 11.0, 299.0, 1000.0, 1799.0):
                assert s.visual_events("abc", kind, start=t1, end=t1 + 30) == brute_visual(s, "abc", kind, t1, t1 + 30)
        (plan,) = traced_plans(s, lambda: s.visual_events("abc", "text", start=1000.0, end=1010.0))
        assert "t>? AND t<?" in plan and "visual_events_long" in plan, plan
        # new commits go on keeping the bound from short cues
        s.replace_visual_events("abc", [VisualEvent(5.0, "text", "LOGO", 0.9, end=1795.0),
                                        VisualEvent(7.0, "text", "GOAL", 0.9, end=10.0)], kinds=["text"])
        assert s.query("SELECT max_span FROM cue_spans WHERE video_id = 'abc' AND kind = 'text'")[0]["max_span"] == 3.0
        assert [e.label for e in s.visual_events("abc", "text", start=9.0, end=9.5)] == ["LOGO", "GOAL"]
