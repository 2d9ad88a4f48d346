"""The SQLite store: schema, migrations, WAL/busy settings, write helpers, read-only access, concurrency."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3

import pytest

from vidqa.errors import NotFoundError, StoreError
from vidqa.records import AudioEvent, MediaFile, TranscriptSegment, TranscriptWord, Video, VisualEvent
from vidqa.store import SCHEMA_VERSION, Store


def make_video(sha: str = "ab" * 32, **kw) -> Video:
    base = dict(
        id=sha[:12], sha256=sha, title="clip.mp4", duration=10.0, fps=25.0, is_vfr=False, width=640, height=360,
        rotation=0, video_codec="h264", audio_codec="aac", audio_tracks=1, has_audio=True,
        path=f"media/{sha}.mp4", play_path=f"media/{sha}.mp4", audio_path=f"media/{sha}.16k.wav", size=1234,
    )
    base.update(kw)
    return Video(**base)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "vidqa.db")
    yield s
    s.close()


def test_new_database_is_wal_with_busy_timeout_and_current_schema(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert store.schema_version == SCHEMA_VERSION
    expected = {"videos", "video_sources", "media_files", "transcript_segments", "transcript_words",
                "visual_events", "audio_events", "notes", "runs", "summaries", "schema_migrations"}
    assert expected <= set(store.db.table_names())
    assert not {"qa_pairs", "qa_reviews", "llm_responses"} & set(store.db.table_names())  # v1 placeholders gone
    assert [m["version"] for m in store.migrations()] == list(range(1, SCHEMA_VERSION + 1))


def test_same_bytes_twice_give_one_video_row_and_both_sources(store):
    v = make_video()
    media = [MediaFile("original", v.path, v.sha256, 1234, "video/mp4", "h264")]
    first = store.add_video(v, media, source="/a/clip.mp4", source_kind="local")
    second = store.add_video(make_video(title="other name"), media, source="https://x/clip.mp4", source_kind="url")
    assert first.id == second.id
    assert store.db["videos"].count == 1
    assert {s["source"] for s in store.sources(first.id)} == {"/a/clip.mp4", "https://x/clip.mp4"}
    assert store.video("https://x/clip.mp4").sha256 == v.sha256  # lookup by source
    assert store.video(v.sha256).id == v.id  # and by full hash
    assert [m.role for m in store.media_files(v.id)] == ["original"]


def test_unknown_video_raises_a_helpful_error(store):
    with pytest.raises(NotFoundError, match="ingest it first"):
        store.video("nope")


def test_transcript_events_round_trip_with_times_in_seconds(store):
    v = store.add_video(make_video())
    segs = [TranscriptSegment(0.5, 2.25, "hello world", [TranscriptWord(0.5, 1.0, "hello", 0.9),
                                                            TranscriptWord(1.1, 2.25, "world", 0.8)])]
    store.replace_transcript(v.id, segs, backend="local", model="tiny.en")
    store.replace_transcript(v.id, segs, backend="local", model="tiny.en")  # replace, not append
    got = store.transcript(v.id)
    assert got == segs
    store.replace_audio_events(v.id, [AudioEvent("whistle", 3.0, 4.2, 3.4, 0.8, [("Whistle", 0.8)])])
    assert store.audio_events(v.id)[0].labels == [("Whistle", 0.8)]
    ev = [VisualEvent(1.04, "object", "dog", 0.9, 26, (0.1, 0.2, 0.5, 0.9), {"colour": "brown"}),
          VisualEvent(2.0, "scene_cut", "cut", 1.0, 50)]
    store.replace_visual_events(v.id, ev)
    store.replace_visual_events(v.id, [VisualEvent(3.0, "text", "HOME 2 - 1", 0.9, 75)], kinds=["text"])
    kinds = sorted(e.kind for e in store.visual_events(v.id))
    assert kinds == ["object", "scene_cut", "text"]
    assert store.visual_events(v.id, "object")[0].box == (0.1, 0.2, 0.5, 0.9)


def test_notes_edit_delete_undo_persist_across_connections(tmp_path):
    path = tmp_path / "vidqa.db"
    with Store(path) as s:
        v = s.add_video(make_video())
        n = s.add_note(v.id, 12.345, frame_index=308)
        assert n.status == "recording" and n.text == ""
        s.update_note(n.id, text="a <b>bold</b> claim", status="done", tags=["goal"])
        gone = s.add_note(v.id, 1.0, kind="typed", text="typo")
        assert gone.status == "typed"
        s.delete_note(gone.id)
    with Store(path) as s:
        notes = s.notes(v.id)
        assert [(x.t, x.text, x.tags) for x in notes] == [(12.345, "a <b>bold</b> claim", ["goal"])]
        s.restore_note(gone.id)
        assert len(s.notes(v.id)) == 2
        with pytest.raises(StoreError, match="Unknown note fields"):
            s.update_note(n.id, bogus=1)


def test_failed_transaction_leaves_nothing(store):
    v = store.add_video(make_video())
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            conn.execute("INSERT INTO notes (video_id, t, kind, status, created_at, updated_at)"
                         " VALUES (?, 1, 'typed', 'typed', 'x', 'x')", (v.id,))
            raise RuntimeError("boom")
    assert store.notes(v.id) == []


def test_runs_find_done_with_same_settings(store):
    run = store.start_run("transcribe", "abc", {"model": "tiny.en", "vad": True})
    assert store.find_done_run("transcribe", "abc", {"vad": True, "model": "tiny.en"}) is None
    store.finish_run(run.id, seconds=1.5, media_seconds=20.0, n_records=3)
    found = store.find_done_run("transcribe", "abc", {"vad": True, "model": "tiny.en"})
    assert found is not None and found.id == run.id and found.n_records == 3
    assert store.find_done_run("transcribe", "abc", {"vad": False, "model": "tiny.en"}) is None
    # another run with other settings replaced the rows: the first settings are no longer "done"
    other = store.start_run("transcribe", "abc", {"model": "small.en", "vad": True})
    store.finish_run(other.id, n_records=5)
    assert store.find_done_run("transcribe", "abc", {"vad": True, "model": "tiny.en"}) is None
    assert store.find_done_run("transcribe", "abc", {"vad": True, "model": "small.en"}).id == other.id
    failed = store.start_run("transcribe", "abc", {"model": "tiny.en", "vad": True})
    store.finish_run(failed.id, "failed", error="boom")  # a failed run writes nothing: the rows stay small.en's
    assert store.find_done_run("transcribe", "abc", {"vad": True, "model": "small.en"}).id == other.id


def test_readonly_open_reads_but_refuses_writes(tmp_path):
    path = tmp_path / "vidqa.db"
    with Store(path) as s:
        v = s.add_video(make_video())
    ro = Store(path, readonly=True)
    assert ro.video(v.id).title == "clip.mp4"
    with pytest.raises(StoreError):
        ro.add_note(v.id, 1.0)
    with pytest.raises(sqlite3.OperationalError):
        ro.conn.execute("DELETE FROM videos")
    ro.close()
    with pytest.raises(StoreError, match="No vidqa database"):
        Store(tmp_path / "missing.db", readonly=True)


def test_a_store_that_must_exist_never_creates_one(tmp_path):
    missing = tmp_path / "typo" / "vidqa.db"
    with pytest.raises(StoreError, match="vidqa ingest SOURCE --db"):
        Store(missing, create=False)
    assert not missing.exists() and not missing.parent.exists()
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello")
    with pytest.raises(StoreError, match="not a vidqa database"):
        Store(not_a_db, readonly=True)


def test_nested_transactions_are_savepoints(store):
    v = store.add_video(make_video())
    with store.transaction():
        store.add_note(v.id, 1.0, kind="typed", text="kept")
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.add_note(v.id, 2.0, kind="typed", text="undone")
                raise RuntimeError("inner block fails")
        store.add_note(v.id, 3.0, kind="typed", text="also kept")
    assert [n.text for n in store.notes(v.id)] == ["kept", "also kept"]


def test_a_store_refuses_to_be_pickled(store):
    import pickle

    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(store)


def test_a_run_left_running_by_a_dead_process_is_marked_abandoned(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "vidqa.db"
    Store(path).close()
    code = ("import os, sys; from vidqa.store import Store; s = Store(sys.argv[1]); "
            "s.start_run('transcribe', None, {'a': 1}); os._exit(0)")  # exits without finishing the run
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    with Store(path) as s:
        (run,) = s.runs()
        assert run.status == "abandoned" and "killed" in run.error
        live = s.start_run("transcribe", None, {"a": 1})
    with Store(path) as s:  # our own process is alive: its running run stays running
        assert s.run(live.id).status == "running"


def test_migrations_upgrade_an_old_database_and_refuse_a_newer_one(tmp_path, monkeypatch):
    path = tmp_path / "vidqa.db"
    with Store(path) as s:
        s.add_video(make_video())
    def later_feature(conn):  # a function migration may hold a trigger (semicolons inside)
        conn.execute("CREATE TABLE later_feature (id INTEGER PRIMARY KEY, note TEXT, n INTEGER DEFAULT 0)")
        conn.execute("CREATE TRIGGER later_count AFTER INSERT ON later_feature BEGIN "
                     "UPDATE later_feature SET n = n + 1 WHERE id = NEW.id; END")

    from vidqa.store import db as db_mod

    monkeypatch.setattr(db_mod, "MIGRATIONS", [*db_mod.MIGRATIONS, ("later_feature", later_feature)])
    monkeypatch.setattr(db_mod, "SCHEMA_VERSION", len(db_mod.MIGRATIONS))
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION + 1
        assert "later_feature" in s.db.table_names()
        assert s.migrations()[-1]["name"] == "later_feature"
        with s.transaction() as conn:
            conn.execute("INSERT INTO later_feature (note) VALUES ('x')")
        assert s.query("SELECT n FROM later_feature")[0]["n"] == 1
        assert s.db["videos"].count == 1  # data kept
    monkeypatch.undo()
    with pytest.raises(StoreError, match="newer than this vidqa"):
        Store(path)


def test_threads_have_their_own_connections_and_never_see_uncommitted_rows(store):
    import threading

    v = store.add_video(make_video())
    inside, release, seen = threading.Event(), threading.Event(), {}

    def worker() -> None:
        with store.transaction() as conn:
            conn.execute("INSERT INTO notes (video_id, t, kind, status, created_at, updated_at)"
                         " VALUES (?, 7, 'typed', 'typed', 'x', 'x')", (v.id,))
            inside.set()
            release.wait(10)
        seen["worker"] = len(store.notes(v.id))
        store.release_thread()

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    seen["main during"] = len(store.notes(v.id))  # the worker's transaction is still open
    release.set()
    t.join(10)
    assert seen == {"main during": 0, "worker": 1}
    assert len(store.notes(v.id)) == 1


def _writer(path: str, video_id: str, worker: int, count: int, queue) -> None:
    s = Store(path)
    n, errors = 0, []
    while n < count and len(errors) < 10:
        try:
            note = s.add_note(video_id, float(n), kind="typed", text=f"w{worker}-{n}")
            s.update_note(note.id, tags=[f"w{worker}"])
            n += 1
        except Exception as err:  # noqa: BLE001 - reported to the parent
            errors.append(repr(err))
    queue.put((worker, n, errors))


@pytest.mark.slow
def test_two_processes_writing_at_once_see_no_lock_errors_and_lose_no_rows(tmp_path):
    path = str(tmp_path / "vidqa.db")
    with Store(path) as s:
        v = s.add_video(make_video())
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, v.id, w, 20000, queue)) for w in (1, 2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [e for _, _, errs in results for e in errs]
    assert errors == []
    written = {w: n for w, n, _ in results}
    assert written == {1: 20000, 2: 20000}
    with Store(path, readonly=True) as s:
        notes = s.notes(v.id)
    for w, n in written.items():
        mine = [x for x in notes if x.text.startswith(f"w{w}-")]
        assert len(mine) == n
        assert all(x.tags == [f"w{w}"] for x in mine)


def test_a_version_1_database_upgrades_keeping_its_rows(tmp_path):
    from vidqa.store.schema import v1_initial

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    v1_initial(conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO videos (id, sha256, title, duration, width, height, video_codec, path, play_path,"
                 " created_at) VALUES ('abc', 'abcd', 't', 1.0, 2, 2, 'h264', 'a.mp4', 'a.mp4', 'now')")
    conn.execute("INSERT INTO visual_events (video_id, t, kind, label, confidence) VALUES ('abc', 0.5, 'text', 'X', 1)")
    conn.execute("COMMIT")
    conn.close()
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        (event,) = s.visual_events("abc")
        assert event.label == "X" and event.end is None and event.track_id is None
        assert [m["name"] for m in s.migrations()][:2] == ["v1_initial", "v2_cue_spans_units_and_provenance"]


def test_window_queries_return_every_overlapping_cue_and_use_the_index(store):
    v = store.add_video(make_video())
    events = [VisualEvent(float(i), "text", f"line {i}", 0.9, end=float(i) + (30.0 if i == 5 else 0.5))
              for i in range(100)]
    events.append(VisualEvent(50.0, "scene_cut", "scene_cut", 1.0))
    store.replace_visual_events(v.id, events)
    got = [e.label for e in store.visual_events(v.id, "text", start=20.0, end=22.0)]
    assert got == ["line 5", "line 20", "line 21", "line 22"]  # the long line that began at 5 s overlaps too
    assert [(e.kind, e.label) for e in store.visual_events(v.id, start=49.9, end=50.1)] == [
        ("text", "line 50"), ("scene_cut", "scene_cut")]
    plan = " ".join(r[-1] for r in store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM visual_events WHERE video_id = ? AND kind = ? AND t <= ? AND t >= ?",
        (v.id, "text", 22.0, -10.0)))
    assert "t>? AND t<?" in plan  # both bounds of the window on the (video_id, kind, t) index
    store.replace_visual_events(v.id, [VisualEvent(1.0, "text", "short", 0.9, end=1.5)], kinds=["text"])
    assert store.visual_events(v.id, "text", start=20.0, end=22.0) == []
