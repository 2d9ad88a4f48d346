"""The rules of a note's life without any widget: :mod:`vidqa.annotate.notes` (pure) and the one writer
:mod:`vidqa.pipeline.notes` over a real store, real recordings (espeak-ng speech as WebM/Opus) and the real
faster-whisper tiny.en, run on a synchronous executor (and a deferred one to put work "in between")."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from player_media import CLIP, KEY_WORDS, SPOKEN, cached, encode_webm_opus, espeak_wav, make_clip

from vidqa.annotate import notes as rules
from vidqa.annotate.notes import (
    LIFECYCLE,
    NoteError,
    SyncExecutor,
    ThreadExecutor,
    edit_note,
    merge_transcript,
    notes_at,
    recovery_plan,
    stamp_time,
)
from vidqa.records import Note


def note(**kw) -> Note:
    base = dict(id=1, video_id="v", t=2.0, frame_index=50, kind="voice", text="", status="recording")
    base.update(kw)
    return Note(**base)


def iso(seconds_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------------------------------
# pure rules
# ---------------------------------------------------------------------------------------------------------------
def test_lifecycle_allows_the_documented_moves_only():
    ok = [("recording", "pending"), ("pending", "transcribing"), ("transcribing", "done"), ("transcribing", "error"),
          ("error", "pending"), ("error", "done"), ("transcribing", "pending"), ("recording", "typed"),
          ("recording", "error"), ("pending", "done"), ("done", "pending"), ("typed", "typed")]
    bad = [("typed", "pending"), ("done", "recording"), ("recording", "done"), ("pending", "recording"),
           ("done", "typed"), ("error", "transcribing"), ("nonsense", "done"), ("done", "nonsense")]
    assert all(LIFECYCLE.allowed(a, b) for a, b in ok)
    assert not any(LIFECYCLE.allowed(a, b) for a, b in bad)
    with pytest.raises(NoteError, match="'typed' to 'pending'"):
        LIFECYCLE.check("typed", "pending")
    assert LIFECYCLE.busy("transcribing") and not LIFECYCLE.busy("done")


def test_stamp_time_applies_lookback_clamps_and_keeps_the_frame():
    assert stamp_time(3.52, frame=88, fps=25) == (3.52, 88)  # browser frame kept without look-back
    assert stamp_time(4.0, frame=100, lookback=0.75, fps=25) == (3.25, 81)
    assert stamp_time(0.3, frame=7, lookback=0.75, fps=25) == (0.0, 0)
    assert stamp_time("2.5", fps=0) == (2.5, None)
    for bad in (None, "x", float("nan"), float("inf")):
        with pytest.raises(NoteError, match="valid media time"):
            stamp_time(bad)


def test_audio_arrival_takes_the_end_only_after_the_stamp():
    up = rules.audio_arrived(note(), audio_path="notes/v/1.webm", mime="audio/webm", end=7.0, lookback=0.5)
    assert up.fields == {"status": "pending", "audio_path": "notes/v/1.webm", "audio_mime": "audio/webm",
                         "error": None, "end": 6.5}
    assert up.transcribe
    assert "end" not in rules.audio_arrived(note(), audio_path="a", mime="m", end=1.0).fields
    assert "end" not in rules.audio_arrived(note(), audio_path="a", mime="m", end="junk").fields
    # a re-sent recording for an error or done note is transcribed again
    assert rules.audio_arrived(note(status="error"), audio_path="a", mime="m").fields["status"] == "pending"
    assert rules.audio_arrived(note(status="done", text="x"), audio_path="a", mime="m").transcribe


def test_typed_stamps_mic_failure_and_abandoned_stamps():
    failed = rules.mic_unavailable(note())
    assert failed.fields == {"status": "typed", "kind": "typed", "error": None}  # the row no longer says recording
    assert not rules.mic_unavailable(note(audio_path="a", status="pending"))
    typed = rules.typed_text(note(status="typed", kind="typed"), "whistle blown", ["foul"])
    assert typed.fields == {"status": "typed", "kind": "typed", "text": "whistle blown", "error": None,
                            "tags": ["foul"]}
    assert rules.typed_text(note(status="typed", kind="typed"), "   ").delete  # nothing typed: no note
    # a stamp that has a recording after all: the text is an edit, the voice note stays voice
    with_audio = rules.typed_text(note(status="pending", audio_path="a"), "mine")
    assert with_audio.fields == {"text": "mine"}
    assert rules.abandon(note()).delete and rules.abandon(note(status="typed", kind="typed")).delete
    assert not rules.abandon(note(text="kept")) and not rules.abandon(note(status="pending", audio_path="a"))


def test_edits_validate_times_and_follow_the_frame():
    n = note(t=2.0, end=4.0, frame_index=50)
    assert edit_note(n, t=3.2, end=5.0, fps=25).fields == {"t": 3.2, "frame_index": 80, "end": 5.0}
    assert edit_note(n, t="00:00:01.500", fps=25).fields == {"t": 1.5, "frame_index": 37}
    assert edit_note(n, t="1:02.25", end="1:05", fps=0).fields == {"t": 62.25, "frame_index": None, "end": 65.0}
    assert edit_note(n, end=None).fields == {"end": None}  # cleared
    assert edit_note(n, text="ball out", tags=["out"]).fields == {"text": "ball out", "tags": ["out"]}
    assert not edit_note(n, text="", tags=[], t=2.0, end=4.0)  # nothing changed: nothing to write
    with pytest.raises(NoteError, match="end after it starts"):
        edit_note(n, end=1.0)
    with pytest.raises(NoteError, match="end after it starts"):
        edit_note(n, t=4.5)  # past the stored end
    with pytest.raises(NoteError, match="before the video"):
        edit_note(n, t=-1)
    with pytest.raises(NoteError, match="after the end of the video"):
        edit_note(n, end=12.0, duration=10.0)
    with pytest.raises(NoteError, match="not a time"):
        edit_note(n, t="soon")
    # text typed on an error note: done (the user typed what the recogniser missed); on a waiting note: kept as is
    assert edit_note(note(status="error", error="x"), text="typed").fields == {
        "text": "typed", "status": "done", "error": None}
    assert edit_note(note(status="pending"), text="typed").fields == {"text": "typed"}


def test_typed_text_beats_a_late_transcript():
    waiting = note(status="pending", audio_path="a", text="goal at the left post")
    start = rules.start_transcription(waiting)
    assert start.fields == {"status": "done", "error": None} and not start.transcribe  # never transcribed
    # typed while transcribing: the transcript arrives after the user's text
    late = note(status="transcribing", audio_path="a", text="goal at the left post")
    merged = merge_transcript(late, "the red car stops", backend="local:tiny.en")
    assert merged.fields == {"status": "done", "error": None, "backend": "local:tiny.en"}
    assert "text" not in merged.fields
    fresh = merge_transcript(note(status="transcribing", audio_path="a"), " the red car ", backend="b")
    assert fresh.fields == {"status": "done", "text": "the red car", "error": None, "backend": "b"}
    empty = merge_transcript(note(status="transcribing", audio_path="a"), "  ")
    assert empty.fields["status"] == "error" and "No speech" in empty.fields["error"]
    assert rules.start_transcription(note(status="pending", audio_path="a")).transcribe
    assert not rules.start_transcription(note(status="recording"))  # no audio: nothing to do
    failed = rules.transcription_failed(note(status="transcribing"), RuntimeError("boom"))
    assert failed.fields == {"status": "error", "error": "RuntimeError: boom"}


def test_retry_needs_a_recording():
    up = rules.retry(note(status="error", audio_path="a"), audio_exists=True)
    assert up.fields == {"status": "pending", "error": None} and up.transcribe
    with pytest.raises(NoteError, match="no recording"):
        rules.retry(note(status="error", audio_path="a"), audio_exists=False)
    with pytest.raises(NoteError, match="no recording"):
        rules.retry(note(status="error"), audio_exists=True)


def test_recovery_plan_requeues_saved_recordings_and_marks_lost_ones():
    notes = [
        note(id=1, status="pending", audio_path="notes/v/1.webm"),
        note(id=2, status="transcribing", audio_path="notes/v/2.webm"),
        note(id=3, status="pending", audio_path="notes/v/gone.webm"),
        note(id=4, status="recording", updated_at=iso(3600)),
        note(id=5, status="recording", updated_at=iso(5)),  # another page may be recording right now
        note(id=6, status="done", text="x", audio_path="notes/v/6.webm"),
        note(id=7, status="recording", updated_at="not a date"),  # unknown age: treated as old
    ]
    present = {"notes/v/1.webm", "notes/v/2.webm", "notes/v/6.webm"}
    plan = {u.note_id: u for u in recovery_plan(notes, present)}
    assert set(plan) == {1, 2, 3, 4, 7}
    assert plan[1].fields == {"status": "pending"} and plan[1].transcribe
    assert plan[2].transcribe
    assert plan[3].fields["status"] == "error" and "missing" in plan[3].fields["error"] and not plan[3].transcribe
    assert plan[4].fields["status"] == "error" and "interrupted" in plan[4].fields["error"]
    # a function works as well as a set, and the staleness threshold is the caller's
    later = recovery_plan(notes, present.__contains__, stale_after=1.0, now=time.time() + 10)
    assert {u.note_id for u in later} == {1, 2, 3, 4, 5, 7}


def test_notes_under_the_playhead():
    a, b, c = note(id=1, t=1.0, end=4.0), note(id=2, t=3.0), note(id=3, t=8.0, end=8.5)
    assert [n.id for n in notes_at([a, b, c], 3.5)] == [1, 2]
    assert [n.id for n in notes_at([a, b, c], 4.5)] == [2]  # no end: covers 2 s
    assert notes_at([a, b, c], 6.0) == [] and [n.id for n in notes_at([a, b, c], 8.0)] == [3]
    assert rules.note_span(b) == (3.0, 5.0) and rules.clean_tags("goal, #var  x") == ["goal", "var", "x"]


def test_executors_run_jobs_in_order_and_survive_failures():
    seen: list[tuple[str, str]] = []
    SyncExecutor().submit(lambda: seen.append(("sync", threading.current_thread().name)))
    SyncExecutor().submit(lambda: 1 / 0)  # logged, not raised
    assert seen == [("sync", threading.current_thread().name)]
    ex = ThreadExecutor(name="vidqa-test-worker")
    for k in range(5):
        ex.submit(lambda k=k: seen.append((str(k), threading.current_thread().name)))
        if k == 2:
            ex.submit(lambda: 1 / 0)
    ex.join()
    assert [s[0] for s in seen[1:]] == ["0", "1", "2", "3", "4"]
    assert {s[1] for s in seen[1:]} == {"vidqa-test-worker"}
    assert rules.shared_executor() is rules.shared_executor()


# ---------------------------------------------------------------------------------------------------------------
# the writer (pipeline.notes) over a real store, synchronously
# ---------------------------------------------------------------------------------------------------------------
class Deferred:
    """An executor that holds jobs until ``run()``: lets a test act while a note waits for its transcript."""

    def __init__(self) -> None:
        self.jobs: list = []

    def submit(self, job) -> None:
        self.jobs.append(job)

    def run(self) -> int:
        n = 0
        while self.jobs:
            self.jobs.pop(0)()
            n += 1
        return n


@pytest.fixture(scope="module")
def speech_webm() -> bytes:
    wav = cached("speech.wav", lambda p: espeak_wav(SPOKEN, p))
    return cached("speech.webm", lambda p: encode_webm_opus(wav, p)).read_bytes()


@pytest.fixture
def video_in_store(store):
    from vidqa.pipeline.notes import find_or_ingest

    clip = cached(CLIP, make_clip)
    video = find_or_ingest(store, clip, progress=False)
    assert find_or_ingest(store, str(clip)).id == video.id  # found again by path, not ingested twice
    return store, video


def test_writer_stamps_saves_audio_and_transcribes_synchronously(video_in_store, speech_webm):
    from vidqa.pipeline.notes import VideoNotes

    store, video = video_in_store
    changes, busy = [], []
    notes = VideoNotes(store, video, executor=SyncExecutor(), backend="local", lookback=0.25,
                       on_change=lambda: changes.append(1), on_busy=busy.append)
    n = notes.stamp(3.75, frame=93)
    assert (n.t, n.frame_index, n.status) == (3.5, 87, "recording") and changes
    done = notes.save_audio(n.id, speech_webm, "audio/webm;codecs=opus", end=6.25)
    # synchronous: when save_audio returns, the note is transcribed (no waiting, no threads)
    row = notes.note(n.id)
    assert row.status == "done", row.error
    assert sum(w in row.text.lower() for w in KEY_WORDS) >= 3, row.text
    assert row.end == pytest.approx(6.0) and row.backend.startswith("local:")
    assert done.id == n.id and notes.jobs == 0 and notes.wait_idle(0.1)
    assert any(b.startswith("Transcribing the note at 0:03.5") for b in busy) and busy[-1] == ""
    data, mime = notes.audio(n.id)
    assert data == speech_webm and mime == "audio/webm"
    assert (store.notes_dir / video.id / f"{n.id}.webm").read_bytes() == speech_webm
    # corrections go through the rules
    edited = notes.edit(n.id, t=2.0, end=5.5, text="the red car stops\nnear the door")
    assert (edited.t, edited.end, edited.frame_index) == (2.0, 5.5, 50) and "\n" in edited.text
    with pytest.raises(NoteError):
        notes.edit(n.id, end=1.0)
    assert store.note(n.id).end == 5.5  # a refused edit writes nothing


def test_writer_keeps_text_typed_while_the_recording_waits(video_in_store, speech_webm):
    from vidqa.pipeline.notes import VideoNotes

    store, video = video_in_store
    later = Deferred()
    notes = VideoNotes(store, video, executor=later, backend="local")
    n = notes.stamp(1.0)
    notes.save_audio(n.id, speech_webm, "audio/webm")
    assert notes.note(n.id).status == "pending" and notes.jobs == 1
    notes.edit(n.id, text="goal at the left post")  # typed while it waits
    assert later.run() == 1
    row = notes.note(n.id)
    assert (row.status, row.text) == ("done", "goal at the left post") and row.audio_path


def test_writer_typed_notes_mic_failure_cancel_and_other_videos(video_in_store):
    from vidqa.errors import NotFoundError
    from vidqa.pipeline.notes import VideoNotes

    store, video = video_in_store
    notes = VideoNotes(store, video, executor=SyncExecutor(), backend="local")
    voice = notes.stamp(2.0)
    assert notes.mic_unavailable(voice.id).status == "typed"  # no "recording" row while the user types
    assert notes.type_text(voice.id, "whistle blown", ["foul"]).text == "whistle blown"
    typed = notes.stamp(4.0, kind="typed")
    assert typed.status == "typed" and typed.kind == "typed"
    assert notes.type_text(typed.id, "") is None and typed.id not in [x.id for x in notes.notes()]
    dismissed = notes.stamp(5.0)
    assert notes.cancel(dismissed.id) and dismissed.id not in [x.id for x in notes.notes()]
    assert not notes.cancel(voice.id)  # it holds text: kept
    deleted = notes.delete(voice.id)
    assert deleted.id not in [x.id for x in notes.notes()]
    assert notes.restore(voice.id).text == "whistle blown"
    foreign = store.add_note(video.id, 1.0, kind="typed", text="x")  # seen from another video's writer
    with pytest.raises(NotFoundError):
        VideoNotes(store, video.__class__(**{**video.__dict__, "id": "someone-else"}),
                   executor=SyncExecutor()).note(foreign.id)


def test_writer_recovers_what_a_killed_kernel_left(video_in_store, speech_webm):
    from vidqa.pipeline.notes import VideoNotes

    store, video = video_in_store
    saved = store.add_note(video.id, 2.0, frame_index=50)
    audio = store.notes_dir / video.id / f"{saved.id}.webm"
    audio.parent.mkdir(parents=True, exist_ok=True)
    audio.write_bytes(speech_webm)
    store.update_note(saved.id, status="pending", audio_path=store.relpath(audio), audio_mime="audio/webm")
    gone = store.add_note(video.id, 3.0)
    store.update_note(gone.id, status="transcribing", audio_path="notes/x/missing.webm")
    lost = store.add_note(video.id, 4.0)
    store.conn.execute("UPDATE notes SET updated_at = '2020-01-01T00:00:00.000+00:00' WHERE id = ?", (lost.id,))
    live = store.add_note(video.id, 6.0)

    VideoNotes(store, video, executor=SyncExecutor(), backend="local").recover()
    assert store.note(saved.id).status == "done"
    assert sum(w in store.note(saved.id).text.lower() for w in KEY_WORDS) >= 3
    assert store.note(gone.id).status == "error" and "missing" in store.note(gone.id).error
    assert store.note(lost.id).status == "error" and store.note(lost.id).t == pytest.approx(4.0)
    assert store.note(live.id).status == "recording"


def test_writer_reports_a_failing_backend_on_the_note(video_in_store, speech_webm):
    from vidqa.pipeline.notes import VideoNotes

    store, video = video_in_store
    notes = VideoNotes(store, video, executor=SyncExecutor(), backend="groq")  # no GROQ_API_KEY in tests
    n = notes.stamp(1.0)
    notes.save_audio(n.id, speech_webm, "audio/webm")
    row = notes.note(n.id)
    assert row.status == "error" and "GROQ_API_KEY" in row.error and row.audio_path
    notes.retry(n.id, backend="local")
    assert notes.note(n.id).status == "done"
    junk = notes.stamp(2.0)
    notes.save_audio(junk.id, b"\x1aE\xdf\xa3 not a recording" * 20, "audio/webm")
    assert notes.note(junk.id).status == "error" and notes.note(junk.id).error


def test_writer_progress_is_honest(video_in_store, speech_webm, capsys):
    """What the player shows while it works: one short busy line per job, a tqdm bar when a script waits."""
    from vidqa.pipeline.notes import VideoNotes

    store, video = video_in_store
    later = Deferred()
    busy: list[str] = []
    notes = VideoNotes(store, video, executor=later, backend="local", on_busy=busy.append)
    a, b = notes.stamp(1.0), notes.stamp(61.5)
    notes.save_audio(a.id, speech_webm, "audio/webm")
    notes.save_audio(b.id, speech_webm, "audio/webm")
    assert notes.jobs == 2 and notes.busy_text() == "Waiting for the note worker (2 more waiting)…"
    worker = threading.Thread(target=lambda: (time.sleep(0.3), later.run()))
    worker.start()
    assert notes.wait_idle(120, progress=True)
    worker.join()
    assert "Transcribing the note at 0:01.0 (1 more waiting)…" in busy
    assert "Transcribing the note at 1:01.5…" in busy and busy[-1] == ""
    err = capsys.readouterr().err
    assert "note jobs" in err and "2/2" in err
    assert [notes.note(n.id).status for n in (a, b)] == ["done", "done"]
