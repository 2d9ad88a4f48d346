"""The annotation player's Python side, driven the way the browser drives it.

A real store (tmp database), a real ingested clip (H.264/AAC made here with PyAV + espeak-ng speech), real voice
recordings (espeak-ng speech encoded as WebM/Opus, as MediaRecorder sends it) and the real faster-whisper tiny.en.
Messages go through the widget's own dispatch (``handle_message`` = what ``on_msg`` calls), buffers and all.

Also the pure URL computation of :mod:`vidqa.widgets.serving`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from pathlib import Path

import pytest
from player_media import CLIP, KEY_WORDS, SPOKEN, cached, encode_webm_opus, espeak_wav, make_clip

from vidqa.widgets.serving import ServerInfo, find_server, link_into, media_urls, serve_media


@pytest.fixture(scope="session")
def clip() -> Path:
    return cached(CLIP, make_clip)


@pytest.fixture(scope="session")
def speech_webm() -> bytes:
    wav = cached("speech.wav", lambda p: espeak_wav(SPOKEN, p))
    return cached("speech.webm", lambda p: encode_webm_opus(wav, p)).read_bytes()


@pytest.fixture
def ingested(tmp_path, clip, monkeypatch):
    """(store, video): the clip ingested into a fresh tmp store; cwd is tmp (links go there, not the repo)."""
    from vidqa.pipeline.ingest import ingest
    from vidqa.store import Store

    monkeypatch.chdir(tmp_path)
    store = Store(tmp_path / "data" / "vidqa.db")
    video = ingest(str(clip), store)
    yield store, video
    store.close()


def _row(db: Path, note_id: int) -> dict:
    """A note row read through a separate read-only connection (what another process would see)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
        return dict(row) if row else {}
    finally:
        conn.close()


def _player(store, video, **kw):
    from vidqa.widgets.player import VideoPlayer

    kw.setdefault("backend", "local")
    return VideoPlayer(video.id, store=store, **kw)


# ---------------------------------------------------------------------------------------------------------------
# vidqa.widgets.serving: URL computation (pure) and linking
# ---------------------------------------------------------------------------------------------------------------
def test_media_urls_jupyterlab_uses_server_root():
    urls = media_urls(base_url="/user/ann/", app_url="/lab", pathname="/user/ann/lab/tree/nb/a.ipynb",
                      rel_root="data/media/ab cd.mp4", rel_cwd="../data/media/ab cd.mp4")
    assert urls == ["/user/ann/files/data/media/ab%20cd.mp4"]


def test_media_urls_jupyterlab_without_known_root_uses_the_notebook_url():
    urls = media_urls(base_url="/", app_url="/lab", pathname="/lab/tree/notebooks/annotate.ipynb",
                      rel_root=None, rel_cwd="../data/media/v.mp4")
    assert urls[0] == "/files/data/media/v.mp4"


def test_media_urls_voila_render_and_standalone():
    render = media_urls(base_url="/", app_url="voila/", pathname="/voila/render/notebooks/annotate.ipynb",
                        rel_root="data/media/v.mp4", rel_cwd="../data/media/v.mp4")
    assert render == ["/voila/files/data/media/v.mp4"]
    # standalone `voila annotate.ipynb`: the root is the notebook folder, so ../ escapes it: no URL
    assert media_urls(base_url="/", app_url="voila/", pathname="/", rel_cwd="../data/media/v.mp4") == []
    assert media_urls(base_url="/", app_url="voila/", pathname="/", rel_cwd="vidqa_media/v.mp4") == [
        "/voila/files/vidqa_media/v.mp4"]


def test_media_urls_refuse_escaping_and_hidden_paths():
    assert media_urls(base_url="/", app_url="/lab", rel_root="../outside/v.mp4") == []
    assert media_urls(base_url="/", app_url="/lab", rel_root="tests/.cache/v.mp4") == []
    assert media_urls(base_url="/", app_url="/lab", rel_root="/abs/v.mp4") == []


def test_serve_media_links_files_outside_the_served_folder(tmp_path):
    served_root = tmp_path / "root"
    (served_root / "nb").mkdir(parents=True)
    media = tmp_path / "elsewhere" / "media" / "v.mp4"
    media.parent.mkdir(parents=True)
    media.write_bytes(b"x" * 1000)
    lab = {"base_url": "/", "app_url": "/lab", "pathname": "/lab/tree/nb/a.ipynb"}
    served = serve_media(media, page=lab, cwd=served_root / "nb", server=ServerInfo(served_root))
    assert served.linked == "hardlink"
    assert served.file == served_root / "nb" / "vidqa_media" / "v.mp4"
    assert os.path.samefile(served.file, media)
    assert served.urls == ["/files/nb/vidqa_media/v.mp4"]
    assert "vidqa_media" in served.message
    # inside the root: served where it is, no link
    inside = served_root / "data" / "w.mp4"
    inside.parent.mkdir()
    inside.write_bytes(b"y")
    direct = serve_media(inside, page=lab, cwd=served_root / "nb", server=ServerInfo(served_root))
    assert direct.linked is None and direct.urls == ["/files/data/w.mp4"]
    # Voilà standalone in the notebook folder: the file in ../data must be linked under the notebook folder
    voila = serve_media(inside, page={"base_url": "/", "app_url": "voila/", "pathname": "/"},
                        cwd=served_root / "nb", server=None)
    assert voila.urls == ["/voila/files/vidqa_media/w.mp4"] and voila.linked == "hardlink"
    # relinking the same file is idempotent
    assert link_into(media, served_root / "nb" / "vidqa_media")[0] == served.file


def test_find_server_picks_the_deepest_root_holding_cwd(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    servers = [{"root_dir": str(tmp_path), "base_url": "/x/"}, {"root_dir": str(tmp_path / "a"), "base_url": "/y/"},
               {"root_dir": str(tmp_path / "other"), "base_url": "/z/"}]
    found = find_server(tmp_path / "a" / "b", servers)
    assert found is not None and found.base_url == "/y/" and found.root_dir == (tmp_path / "a").resolve()
    assert find_server(tmp_path / "nowhere", [{"root_dir": str(tmp_path / "a")}]) is None


# ---------------------------------------------------------------------------------------------------------------
# the widget's message handlers
# ---------------------------------------------------------------------------------------------------------------
def test_player_state_has_no_media_bytes_and_widget_files_resolve(ingested):
    from vidqa.widgets.assets import widget_module

    store, video = ingested
    player = _player(store, video)
    state = player.get_state()
    assert len(json.dumps(state)) < 200_000  # the JS/CSS source plus small values, never the video
    assert "export default" in state["_esm"] and ".vidqa-player" in state["_css"]
    assert state["video_id"] == video.id and state["fps"] == pytest.approx(25.0)
    assert widget_module("player.js", deps=["dom.js"]) == state["_esm"]  # the one ES module the front-end gets
    assert "import {" not in state["_esm"] and "function isEditable" in state["_esm"]  # dom.js inlined
    player.handle_message({"type": "hello", "base_url": "/", "app_url": "/lab", "pathname": "/lab/tree/a.ipynb"})
    assert player.video_urls and all(u.endswith(".mp4") for u in player.video_urls)
    assert player.error == ""


def test_stamp_is_saved_before_audio_then_transcribed(ingested, speech_webm):
    store, video = ingested
    player = _player(store, video)
    sent = []
    player.send = lambda content, buffers=None: sent.append(content)  # capture replies to the front-end
    note = player.handle_message({"type": "stamp", "t": 3.52, "frame": 88, "wall_ms": time.time() * 1000,
                                  "client_id": "s1-1"})
    row = _row(store.path, note.id)
    assert row["status"] == "recording" and row["t"] == pytest.approx(3.52) and row["frame_index"] == 88
    assert row["audio_path"] is None
    assert {"type": "stamped", "client_id": "s1-1", "note_id": note.id, "t": pytest.approx(3.52)} in sent
    assert player.current_time == pytest.approx(3.52)
    # the recording names only the client stamp id (the reply had not reached the browser yet)
    player.handle_message({"type": "audio", "note_id": None, "client_id": "s1-1", "mime": "audio/webm;codecs=opus",
                           "end": 7.0}, [memoryview(speech_webm)])
    row = _row(store.path, note.id)
    assert row["status"] in ("pending", "transcribing", "done")
    audio = store.abspath(row["audio_path"])
    assert audio.suffix == ".webm" and audio.parent == store.notes_dir / video.id
    assert audio.read_bytes() == speech_webm
    assert player.wait_idle(120)
    row = _row(store.path, note.id)
    assert row["status"] == "done", row["error"]
    words = row["text"].lower()
    assert sum(w in words for w in KEY_WORDS) >= 3, row["text"]
    assert row["t"] == pytest.approx(3.52) and row["end"] == pytest.approx(7.0)
    assert row["backend"].startswith("local")
    shown = {n["id"]: n for n in player.notes_state}[note.id]
    assert shown["status"] == "done" and shown["text"] == row["text"]
    assert [m for m in store.media_files(video.id) if m.role == "note_audio"]


def test_lookback_is_applied_and_clamped(ingested):
    store, video = ingested
    player = _player(store, video, lookback=0.75)
    a = player.handle_message({"type": "stamp", "t": 4.0, "frame": 100, "client_id": "a"})
    b = player.handle_message({"type": "stamp", "t": 0.3, "frame": 7, "client_id": "b"})
    assert a.t == pytest.approx(3.25) and a.frame_index == int(3.25 * 25)
    assert b.t == 0.0 and b.frame_index == 0
    typed = player.handle_message({"type": "typed", "t": 2.0, "text": "late reaction"})
    assert typed.t == pytest.approx(1.25)


def test_corrupt_recording_keeps_stamp_and_audio_and_can_be_retried(ingested, speech_webm):
    store, video = ingested
    player = _player(store, video)
    note = player.handle_message({"type": "stamp", "t": 5.0, "frame": 125, "client_id": "c"})
    junk = b"\x1aE\xdf\xa3 this is not a webm recording" * 20
    player.handle_message({"type": "audio", "note_id": note.id, "mime": "audio/webm"}, [junk])
    assert player.wait_idle(120)
    row = _row(store.path, note.id)
    assert row["status"] == "error" and row["error"], row
    assert row["t"] == pytest.approx(5.0)
    assert store.abspath(row["audio_path"]).read_bytes() == junk
    assert player.error == ""  # a per-note problem: shown on the note, not as a widget error
    # retrying the same broken file fails the same way, still keeping everything
    player.handle_message({"type": "retry", "note_id": note.id})
    assert player.wait_idle(120)
    assert _row(store.path, note.id)["status"] == "error"
    # the browser re-sends a good recording for the same note: it is transcribed
    player.handle_message({"type": "audio", "note_id": note.id, "mime": "audio/webm"}, [speech_webm])
    assert player.wait_idle(120)
    row = _row(store.path, note.id)
    assert row["status"] == "done" and "car" in row["text"].lower()


def test_failed_backend_then_retry_with_a_working_one(ingested, speech_webm):
    store, video = ingested
    player = _player(store, video, backend="groq")  # no GROQ_API_KEY in tests: fails with a clear message
    note = player.handle_message({"type": "stamp", "t": 1.0, "frame": 25, "client_id": "g"})
    player.handle_message({"type": "audio", "client_id": "g", "mime": "audio/webm;codecs=opus"}, [speech_webm])
    assert player.wait_idle(60)
    row = _row(store.path, note.id)
    assert row["status"] == "error" and "GROQ_API_KEY" in row["error"]
    assert store.abspath(row["audio_path"]).exists()
    player.handle_message({"type": "retry", "note_id": note.id, "backend": "local"})
    assert player.wait_idle(120)
    row = _row(store.path, note.id)
    assert row["status"] == "done" and sum(w in row["text"].lower() for w in KEY_WORDS) >= 3


def test_edits_deletes_and_undo_persist_across_store_and_widget(ingested, tmp_path):
    from vidqa.widgets.player import VideoPlayer
    from vidqa.store import Store

    store, video = ingested
    player = _player(store, video)
    keep = player.handle_message({"type": "typed", "t": 1.0, "frame": 25, "text": "first"})
    gone = player.handle_message({"type": "typed", "t": 2.0, "frame": 50, "text": "second"})
    back = player.handle_message({"type": "typed", "t": 3.0, "frame": 75, "text": "third"})
    player.handle_message({"type": "edit", "note_id": keep.id, "text": "ball crosses the line", "tags": "goal, #var"})
    player.handle_message({"type": "delete", "note_id": gone.id})
    player.handle_message({"type": "delete", "note_id": back.id})
    player.handle_message({"type": "undo", "note_id": back.id})
    assert player.error == ""
    # a restarted kernel: new connection, new widget opened by id
    store2 = Store(store.path)
    try:
        again = VideoPlayer(video.id, store=store2, backend="local")
        shown = {n["id"]: n for n in again.notes_state}
        assert set(shown) == {keep.id, back.id}
        assert shown[keep.id]["text"] == "ball crosses the line" and shown[keep.id]["tags"] == ["goal", "var"]
        assert [n.id for n in again.notes] == [keep.id, back.id]
        assert store2.note(gone.id, include_deleted=True).text == "second"  # soft-deleted, recoverable
    finally:
        store2.close()


def test_typed_notes_and_mic_refused_stamp_becomes_typed(ingested):
    store, video = ingested
    player = _player(store, video)
    hostile = "<img src=x onerror=alert(1)>"
    typed = player.handle_message({"type": "typed", "t": 6.4, "frame": 160, "text": hostile, "tags": ["foul"]})
    assert typed.kind == "typed" and typed.status == "typed" and typed.text == hostile and typed.tags == ["foul"]
    # the mic was refused after the stamp went out: the same note becomes a typed one (no duplicate row)
    stamp = player.handle_message({"type": "stamp", "t": 7.0, "frame": 175, "client_id": "m"})
    player.handle_message({"type": "mic", "state": "unavailable", "message": "The microphone was refused."})
    player.handle_message({"type": "typed", "client_id": "m", "note_id": None, "text": "whistle blown"})
    note = store.note(stamp.id)
    assert note.kind == "typed" and note.text == "whistle blown" and note.t == pytest.approx(7.0)
    assert player.mic_state == "unavailable" and "refused" in player.status_detail
    assert len(player.status) < 60  # the status line stays short; the details are on demand
    # a stamp whose text field was dismissed is dropped
    other = player.handle_message({"type": "stamp", "t": 8.0, "frame": 200, "client_id": "n"})
    player.handle_message({"type": "cancel", "client_id": "n"})
    assert other.id not in [n.id for n in player.notes]
    assert len(player.notes) == 2


def test_export_via_widget_writes_a_file_next_to_the_db(ingested):
    store, video = ingested
    player = _player(store, video)
    player.handle_message({"type": "typed", "t": 1.5, "text": "kick-off"})
    player.handle_message({"type": "typed", "t": 4.0, "text": "whistle"})
    sent = []
    player.send = lambda content, buffers=None: sent.append(content)
    path = player.handle_message({"type": "export", "fmt": "srt"})
    assert path.parent == store.root / "reports" and path.suffix == ".srt"
    text = path.read_text()
    assert "kick-off" in text and "00:00:01,500 -->" in text
    assert path.name in player.status and str(path) in player.status_detail
    download = next(m for m in sent if m["type"] == "download")
    assert download["text"] == text and download["filename"] == path.name
    csv_path = player.export("csv", store.root / "out" / "n.csv")
    assert csv_path.exists() and "whistle" in csv_path.read_text()
    for fmt in ("vtt", "json", "eaf"):
        assert player.export(fmt).stat().st_size > 0


def test_bad_messages_show_errors_without_raising(ingested):
    store, video = ingested
    player = _player(store, video)
    assert player.handle_message({"type": "nonsense"}) is None and "unknown message" in player.error
    player.error = ""
    assert player.handle_message({"type": "edit", "note_id": 99999, "text": "x"}) is None
    assert "99999" in player.error
    player.error = ""
    player.handle_message({"type": "audio", "client_id": "never-stamped", "mime": "audio/webm"}, [b"abc"])
    assert "stamp" in player.error
    player.error = ""
    player.handle_message({"type": "export", "fmt": "docx"})
    assert "docx" in player.error
    player.handle_message({"type": "summarize"})  # no GROQ_API_KEY in tests
    assert "GROQ_API_KEY" in player.status and "GROQ_API_KEY" in player.status_detail and player.summary == ""


def test_reopening_by_path_uses_the_stored_video(ingested, clip):
    from vidqa.widgets.player import VideoPlayer

    store, video = ingested
    a = VideoPlayer(str(clip), store=store, backend="local")
    a.handle_message({"type": "typed", "t": 2.0, "text": "seen again"})
    b = VideoPlayer(str(clip), store=store.path, backend="local")
    assert b.video_id == video.id and [n["text"] for n in b.notes_state] == ["seen again"]
    assert len(store.videos()) == 1
    b.seek(3.0)  # no front-end attached: a no-op, never an error
    assert b.error == ""


def test_summarize_shows_the_summary_from_a_groq_compatible_server(ingested, monkeypatch):
    from fake_groq import FakeGroq

    store, video = ingested
    player = _player(store, video)
    player.handle_message({"type": "typed", "t": 1.0, "text": "the red car stops near the blue door"})
    with FakeGroq(reply="A red car stops by a blue door at 0:01.") as groq:
        monkeypatch.setenv("GROQ_API_KEY", "gsk_test_not_a_real_key")
        monkeypatch.setenv("GROQ_BASE_URL", groq.url)
        result = player.summarize()
        assert result["text"] == "A red car stops by a blue door at 0:01." == player.summary
        player.summary = ""
        player.handle_message({"type": "summarize"})  # the button: runs in a background thread
        deadline = time.monotonic() + 30
        while not player.summary and not player.error and time.monotonic() < deadline:
            time.sleep(0.05)
        assert player.summary == "A red car stops by a blue door at 0:01.", player.error
        chats = [r for r in groq.requests if r.path.endswith("/chat/completions")]
        assert len(chats) == 2 and "blue door" in json.dumps(chats[0].json)
        assert "gsk_test_not_a_real_key" not in player.status + player.error
    assert len(store.summaries(video.id)) == 2


def test_notes_left_by_a_killed_kernel_are_recovered_on_reopen(ingested, speech_webm):
    """Kernel killed after the audio was saved but before transcription, and during another recording."""
    store, video = ingested
    first = _player(store, video)
    # what the first kernel left: a saved recording never transcribed ...
    saved = first.handle_message({"type": "stamp", "t": 2.0, "frame": 50, "client_id": "k1"})
    audio = store.notes_dir / video.id / f"{saved.id}.webm"
    audio.parent.mkdir(parents=True, exist_ok=True)
    audio.write_bytes(speech_webm)
    store.update_note(saved.id, status="pending", audio_path=store.relpath(audio), audio_mime="audio/webm")
    # ... a stamp whose recording never arrived (long ago), and one being recorded right now by another page
    lost = first.handle_message({"type": "stamp", "t": 4.0, "frame": 100, "client_id": "k2"})
    store.conn.execute("UPDATE notes SET updated_at = '2020-01-01T00:00:00.000+00:00' WHERE id = ?", (lost.id,))
    live = first.handle_message({"type": "stamp", "t": 6.0, "frame": 150, "client_id": "k3"})

    reopened = _player(store, video)  # a new kernel opens the same video
    assert reopened.wait_idle(120)
    assert _row(store.path, saved.id)["status"] == "done"
    assert sum(w in _row(store.path, saved.id)["text"].lower() for w in KEY_WORDS) >= 3
    row = _row(store.path, lost.id)
    assert row["status"] == "error" and "interrupted" in row["error"] and row["t"] == pytest.approx(4.0)
    assert _row(store.path, live.id)["status"] == "recording"  # a fresh stamp is left alone


def test_text_typed_while_a_note_waits_is_never_overwritten_by_the_transcript(ingested, speech_webm):
    store, video = ingested
    player = _player(store, video)
    note = player.handle_message({"type": "stamp", "t": 3.0, "frame": 75, "client_id": "e"})
    # the user types the text before the recording arrives (it is then still waiting for transcription)
    player.handle_message({"type": "edit", "note_id": note.id, "text": "goal at the left post"})
    player.handle_message({"type": "audio", "client_id": "e", "mime": "audio/webm"}, [speech_webm])
    assert player.wait_idle(120)
    row = _row(store.path, note.id)
    assert row["text"] == "goal at the left post" and row["status"] == "done"
    assert store.abspath(row["audio_path"]).exists()  # the recording is still kept


# ---------------------------------------------------------------------------------------------------------------
# issue 13: corrections, replay, typed stamps, the picker, short status, databases never created by mistake
# ---------------------------------------------------------------------------------------------------------------
def test_note_time_and_end_edits_through_the_widget(ingested):
    store, video = ingested
    player = _player(store, video)
    note = player.handle_message({"type": "typed", "t": 2.0, "frame": 50, "text": "kick"})
    edited = player.handle_message({"type": "edit", "note_id": note.id, "t": 1.2, "end": 2.8,
                                    "text": "kick-off\nsecond line"})
    assert (edited.t, edited.end, edited.frame_index) == (1.2, 2.8, 30) and edited.text == "kick-off\nsecond line"
    shown = {n["id"]: n for n in player.notes_state}[note.id]
    assert (shown["t"], shown["end"], shown["frame"]) == (1.2, 2.8, 30)
    # refused: end before start, start past the video; the note keeps what it had and the error says why
    assert player.handle_message({"type": "edit", "note_id": note.id, "end": 0.5}) is None
    assert "end after it starts" in player.error
    player.error = ""
    assert player.handle_message({"type": "edit", "note_id": note.id, "t": 60.0, "end": None}) is None
    assert "after the end of the video" in player.error
    assert store.note(note.id).end == 2.8
    cleared = player.handle_message({"type": "edit", "note_id": note.id, "end": None})
    assert cleared.end is None and cleared.t == 1.2


def test_voice_clip_is_sent_back_for_replay(ingested, speech_webm):
    store, video = ingested
    player = _player(store, video)
    sent = []
    player.send = lambda content, buffers=None: sent.append((content, buffers))
    note = player.handle_message({"type": "stamp", "t": 1.0, "client_id": "r"})
    player.handle_message({"type": "audio", "client_id": "r", "mime": "audio/webm;codecs=opus"}, [speech_webm])
    assert player.handle_message({"type": "clip", "note_id": note.id}) == len(speech_webm)
    content, buffers = sent[-1]
    assert content == {"type": "clip", "note_id": note.id, "mime": "audio/webm"} and bytes(buffers[0]) == speech_webm
    typed = player.handle_message({"type": "typed", "t": 2.0, "text": "no audio"})
    assert player.handle_message({"type": "clip", "note_id": typed.id}) is None and "no recording" in player.error
    assert player.wait_idle(120)


def test_typed_stamp_is_saved_at_the_key_and_never_says_recording(ingested):
    store, video = ingested
    player = _player(store, video)
    stamp = player.handle_message({"type": "stamp", "kind": "typed", "t": 3.0, "frame": 75, "client_id": "t1"})
    assert (stamp.kind, stamp.status) == ("typed", "typed")  # saved now, before any text
    player.handle_message({"type": "typed", "client_id": "t1", "text": "ball out"})
    assert store.note(stamp.id).text == "ball out"
    # a voice stamp whose microphone then failed: converted at once (the row must not say "recording")
    voice = player.handle_message({"type": "stamp", "t": 4.0, "client_id": "v1"})
    player.handle_message({"type": "mic", "state": "unavailable", "client_id": "v1", "short": "No microphone.",
                           "message": "No microphone (NotFoundError); notes are typed instead."})
    assert store.note(voice.id).status == "typed" and player.status == "No microphone."
    assert "NotFoundError" in player.status_detail
    # dismissed (Esc) with nothing typed: dropped
    player.handle_message({"type": "cancel", "client_id": "v1"})
    assert voice.id not in [n.id for n in player.notes]
    assert [n["status"] for n in player.notes_state] == ["typed"]


def test_player_options_overlay_and_keymap(ingested):
    from vidqa.errors import VidqaError
    from vidqa.widgets.player import OVERLAY_POSITIONS

    store, video = ingested
    player = _player(store, video, overlay="outside", keymap={"overlay": "v"})
    assert player.overlay == "outside" and player.keymap["overlay"] == "v" and player.keymap["record"] == " "
    player.overlay = OVERLAY_POSITIONS[1]
    with pytest.raises(Exception, match="overlay position"):
        player.overlay = "middle"
    with pytest.raises(VidqaError, match="overlay position"):
        _player(store, video, overlay="middle")
    with pytest.raises(VidqaError, match="keymap action"):
        _player(store, video, keymap={"dance": "d"})
    assert player.autofocus is True and _player(store, video, autofocus=False).autofocus is False


def test_picker_lists_videos_and_databases_and_switches(ingested, tmp_path, clip):
    from vidqa.pipeline.ingest import ingest
    from vidqa.store import Store
    from player_media import make_clip as make

    store, video = ingested
    other_clip = cached("clip-b.mp4", lambda p: make(p, seconds=6.0, speech="a whistle and a yellow card"))
    second = ingest(str(other_clip), store, progress=False)
    other_db = tmp_path / "elsewhere" / "other.db"
    with Store(other_db) as o:
        third = ingest(str(clip), o, progress=False)
    player = _player(store, video, picker=True, databases=[other_db])
    assert [v["id"] for v in player.videos] == [video.id, second.id]
    assert [d["path"] for d in player.databases] == [str(store.path.resolve()), str(other_db.resolve())]
    player.handle_message({"type": "typed", "t": 1.0, "text": "on the first"})
    shown = player.handle_message({"type": "open", "video": second.id})
    assert shown.id == second.id == player.video_id and player.duration == pytest.approx(6.0, abs=0.1)
    assert player.notes_state == [] and player.title == "clip-b.mp4"
    player.handle_message({"type": "typed", "t": 1.0, "text": "on the second"})
    assert [n.text for n in store.notes(second.id)] == ["on the second"]
    # another database: its (only) video, its notes
    player.handle_message({"type": "open", "db": str(other_db)})
    assert player.video_id == third.id and player.db_path == str(other_db.resolve())
    assert [v["id"] for v in player.videos] == [third.id]
    # a database that does not exist is refused and never created
    missing_db = tmp_path / "typo" / "vidqa.db"
    assert player.handle_message({"type": "open", "db": str(missing_db)}) is None
    assert "No vidqa database" in player.error and not missing_db.exists() and not missing_db.parent.exists()
    assert player.video_id == third.id


def test_no_source_opens_the_latest_video_and_never_creates_a_database(ingested, tmp_path):
    from vidqa.errors import VidqaError
    from vidqa.widgets.player import VideoPlayer

    store, video = ingested
    latest = VideoPlayer(store=store.path, backend="local")
    assert latest.video_id == video.id
    missing_db = tmp_path / "nowhere" / "vidqa.db"
    with pytest.raises(VidqaError, match="No vidqa database"):
        VideoPlayer(store=missing_db)
    assert not missing_db.parent.exists()


def test_status_line_is_short_with_details_on_demand(ingested, tmp_path, monkeypatch):
    store, video = ingested
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "no-servers"))  # no running server's root holds it
    player = _player(store, video)
    # the data folder is outside the (kernel) folder served: the media is linked, the status says so briefly
    served_root = tmp_path / "served"
    served_root.mkdir()
    os.chdir(served_root)
    player.handle_message({"type": "hello", "base_url": "/", "app_url": "/lab", "pathname": "/lab/tree/a.ipynb"})
    assert "vidqa_media" in player.status and len(player.status) < 80
    assert re.search(r"[0-9a-f]{64}", player.status) is None  # the 64-hex path only in the details
    assert re.search(r"[0-9a-f]{64}", player.status_detail) and "vidqa_media" in player.status_detail


def test_injected_sync_executor_transcribes_before_the_message_returns(ingested, speech_webm):
    from vidqa.annotate.notes import SyncExecutor

    store, video = ingested
    player = _player(store, video, executor=SyncExecutor())
    note = player.handle_message({"type": "stamp", "t": 2.0, "client_id": "s"})
    player.handle_message({"type": "audio", "client_id": "s", "mime": "audio/webm"}, [speech_webm])
    row = store.note(note.id)  # no wait_idle: the writer ran the job in this thread
    assert row.status == "done" and sum(w in row.text.lower() for w in KEY_WORDS) >= 3
    assert player.busy == "" and player.note_writer.jobs == 0


def test_notes_list_command_prints_headers_and_refuses_a_missing_database(ingested, tmp_path):
    from click.testing import CliRunner

    from vidqa.cli import cli

    store, video = ingested
    player = _player(store, video)
    player.handle_message({"type": "typed", "t": 1.5, "text": "kick-off\nfrom the centre", "tags": ["start"]})
    a = player.handle_message({"type": "typed", "t": 4.0, "text": "whistle"})
    player.handle_message({"type": "edit", "note_id": a.id, "end": 5.25})
    gone = player.handle_message({"type": "typed", "t": 6.0, "text": "deleted one"})
    player.handle_message({"type": "delete", "note_id": gone.id})
    runner = CliRunner()
    out = runner.invoke(cli, ["notes", "list", video.id, "--db", str(store.path)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split() == ["ID", "START", "END", "STATUS", "KIND", "TAGS", "TEXT"]
    assert "00:00:01.500" in lines[1] and "kick-off ⏎ from the centre" in lines[1] and "start" in lines[1]
    assert "00:00:04.000" in lines[2] and "00:00:05.250" in lines[2] and "deleted one" not in out.output
    with_deleted = runner.invoke(cli, ["notes", "list", video.id, "--deleted", "--db", str(store.path)])
    assert "deleted one" in with_deleted.output and "(deleted)" in with_deleted.output
    as_json = runner.invoke(cli, ["notes", "list", "--json", "--db", str(store.path)])
    assert [json.loads(x)["text"] for x in as_json.output.splitlines()] == ["kick-off\nfrom the centre", "whistle"]
    missing_db = tmp_path / "typo.db"
    refused = runner.invoke(cli, ["notes", "list", "--db", str(missing_db)])
    assert refused.exit_code == 1 and "No vidqa database" in refused.output and not missing_db.exists()


def test_shipped_annotate_notebook_is_output_free_with_clean_metadata():
    from vidqa.widgets.serving import clean_notebook

    nb = json.loads((Path(__file__).resolve().parent.parent / "notebooks" / "annotate.ipynb").read_text())
    assert nb["metadata"] == {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                              "language_info": {"name": "python"}}
    for cell in nb["cells"]:
        assert set(cell["metadata"]) <= {"tags"}
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    # what JupyterLab adds when it runs and saves it is taken out again by the clean-on-save hook
    dirty = json.loads(json.dumps(nb))
    dirty["metadata"]["language_info"].update(version="3.11.7", pygments_lexer="ipython3")
    dirty["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    dirty["cells"][2].update(outputs=[{"output_type": "display_data", "data": {}}], execution_count=2)
    dirty["cells"][2]["metadata"]["scrolled"] = True
    assert clean_notebook(dirty, nb) == nb
    assert clean_notebook(json.loads(json.dumps(dirty)))["metadata"] == {
        "kernelspec": nb["metadata"]["kernelspec"], "language_info": {"name": "python"}}
