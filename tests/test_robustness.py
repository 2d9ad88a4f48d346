"""Issue 14: nothing silently wrong, nothing left behind.

One section per point of the issue, each against real files, real HTTP servers on 127.0.0.1, real subprocesses
(killed with SIGKILL) and FFmpeg's own subtitle readers through PyAV.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import av
import pysrt
import pytest
import webvtt
from fake_servers import FlakyHost
from ingest_env import clean_env, store  # noqa: F401  (fixtures)
from media_factory import make_video, truncate

from vidqa.annotate.exports import export_notes, import_notes, to_csv, to_eaf, to_srt, to_vtt
from vidqa.errors import CorruptMediaError, DownloadError, EmptyMediaError, ExportError, SourceNotAllowedError
from vidqa.media.download import DownloadLimits, download
from vidqa.media.netguard import check_url
from vidqa.media.probe import probe
from vidqa.pipeline.ingest import STALE_DOWNLOAD_S, ingest, known_video, sweep_leftovers
from vidqa.records import Note
from vidqa.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return {
        "a": make_video(d / "a.mp4", seconds=2, size=(320, 240), tone_hz=440),
        "b": make_video(d / "b.mp4", seconds=2, size=(320, 240), tone_hz=660),
        "big": make_video(d / "big.mp4", seconds=6, size=(640, 480)),
        # 150 frames with the index at the front, like a web MP4
        "fast": make_video(d / "fast.mp4", seconds=6, size=(320, 240), fps=25, faststart=True),
        # needs a browser proxy, which takes a second or two: time to kill the process in the middle
        "avi": make_video(d / "long.avi", seconds=30, size=(320, 240), codec="mpeg4"),
    }


def vidqa_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidqa", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)


def rchar() -> int:
    """Bytes this process has read through read() calls so far (Linux /proc)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def media_names(store) -> list[str]:
    return sorted(p.name for p in store.media_dir.iterdir()) if store.media_dir.exists() else []


# --- 1. a replaced file is a new video, an unchanged one a cheap lookup -------------------------------------------
def test_same_path_new_bytes_is_a_new_video_and_says_so(store, clips, tmp_path):
    path = tmp_path / "match.mp4"
    path.write_bytes(clips["a"].read_bytes())
    first = ingest(path, store, progress=False)
    path.write_bytes(clips["b"].read_bytes())  # same path, other content
    with pytest.warns(UserWarning, match="changed since it was ingested"):
        second = ingest(path, store, progress=False)
    assert second.id != first.id and second.sha256 != first.sha256
    assert any(first.id in w and "changed since it was ingested" in w for w in second.warnings)
    assert store.abspath(second.path).read_bytes() == clips["b"].read_bytes()
    # the path now names the new video; the old one is kept
    assert store.find_video(str(path)).id == second.id
    assert {v.id for v in store.videos()} == {first.id, second.id}
    # the stored warning travels with the video (the CLI prints it under "ingested ...")
    assert any("changed since" in w for w in store.video(second.id).warnings)


def test_a_deleted_path_gives_its_stored_copy_and_says_so(store, clips, tmp_path):
    path = tmp_path / "gone.mp4"
    path.write_bytes(clips["a"].read_bytes())
    video = ingest(path, store, progress=False)
    path.unlink()
    with pytest.warns(UserWarning, match="no longer exists"):
        again = ingest(path, store, progress=False)
    assert again.id == video.id and store.abspath(again.path).exists()


def test_replaced_by_bytes_already_stored_finds_that_video(store, clips, tmp_path):
    a_path, b_path = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a_path.write_bytes(clips["a"].read_bytes())
    b_path.write_bytes(clips["b"].read_bytes())
    va, vb = ingest(a_path, store, progress=False), ingest(b_path, store, progress=False)
    a_path.write_bytes(clips["b"].read_bytes())
    with pytest.warns(UserWarning, match="changed since"):
        again = ingest(a_path, store, progress=False)
    assert again.id == vb.id and len(store.videos()) == 2
    assert any(va.id in w for w in again.warnings)


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
def test_unchanged_file_is_a_cheap_lookup_a_touched_one_is_hashed(store, clips, tmp_path):
    path = tmp_path / "big.mp4"
    path.write_bytes(clips["big"].read_bytes())
    size = path.stat().st_size
    video = ingest(path, store, progress=False)
    before = rchar()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ingest(path, store, progress=False).id == video.id
    cheap = rchar() - before
    assert cheap < size / 4, f"an unchanged file should not be read: {cheap} bytes read of {size}"
    assert known_video(store, str(path)).id == video.id
    # a touch (same bytes, new mtime) is hashed once, then cheap again; no warning, same video
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert known_video(store, str(path)) is None  # not trusted without hashing
    before = rchar()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ingest(path, store, progress=False).id == video.id
    assert rchar() - before >= size
    before = rchar()
    assert ingest(path, store, progress=False).id == video.id
    assert rchar() - before < size / 4
    assert len(store.videos()) == 1


# --- 2. a truncated +faststart MP4 is refused at ingest -----------------------------------------------------------
def test_truncated_faststart_mp4_is_refused_with_the_decodable_part(store, clips, tmp_path):
    with av.open(str(clips["fast"])) as c:
        assert c.streams.video[0].frames == 150
    cut = truncate(clips["fast"], tmp_path / "web.mp4", keep=1 / 3)
    with pytest.raises(CorruptMediaError, match=r"truncated.*only the first [12]\.\d s of its 6\.0 s") as info:
        ingest(cut, store, progress=False)
    assert "again" in str(info.value)
    assert store.videos() == [] and media_names(store) == []
    # the complete file is fine
    assert ingest(clips["fast"], store, progress=False).duration == pytest.approx(6.0, abs=0.05)


def test_truncated_web_mp4_served_over_http_is_refused_and_deleted(store, clips):
    data = clips["fast"].read_bytes()
    with FlakyHost() as host:
        url = host.add("match.mp4", data[: len(data) // 3])  # the server has only the first third
        with pytest.raises(CorruptMediaError, match="truncated"):
            ingest(url, store, allow_private=True, progress=False)
    assert store.videos() == [] and media_names(store) == []
    assert list((store.cache_dir / "downloads").iterdir()) == []


def test_sample_tables_are_checked_even_when_the_mdat_box_was_patched(clips, tmp_path):
    # a cut file whose mdat header was made to fit: only the sample tables tell
    data = bytearray(truncate(clips["fast"], tmp_path / "cut.mp4", keep=0.5).read_bytes())
    pos = 0
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), bytes(data[pos + 4:pos + 8])
        if kind == b"mdat":
            data[pos:pos + 4] = (len(data) - pos).to_bytes(4, "big")
            break
        pos += size
    patched = tmp_path / "patched.mp4"
    patched.write_bytes(bytes(data))
    with pytest.raises(CorruptMediaError, match="index .* describes"):
        probe(patched)


# --- 3. CSV formula injection -------------------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://evil.example/x","open me")', "+1+2", "-2+3", "@SUM(A1:A2)", "\tcmd", "\rcmd",
            "＝1+1", "'=already quoted", "''=twice", "plain text", "- a bullet", "'just a quote"]


def _notes(texts, video_id="vid000000000"):
    return [Note(id=i + 1, video_id=video_id, t=float(i), frame_index=None, kind="typed", text=t, status="done",
                 tags=["=tag"] if i == 0 else [])
            for i, t in enumerate(texts)]


def test_csv_neutralises_formulas_by_default_and_round_trips(tmp_path):
    notes = _notes(FORMULAS)
    dest = tmp_path / "notes.csv"
    export_notes(notes, "csv", dest)
    with open(dest, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row, note in zip(rows, notes, strict=True):
        cell = row["text"]
        if note.text.startswith(("=", "+", "-", "@", "\t", "\r", "＝")) or note.text.startswith(("'=", "''=")):
            assert cell == "'" + note.text  # a spreadsheet shows it as text, never runs it
        else:
            assert cell == note.text
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert rows[0]["tags"] == "'=tag"
    # import_notes takes exactly the one added quote off again
    assert [d["text"] for d in import_notes(dest)] == FORMULAS
    assert import_notes(dest)[0]["tags"] == ["=tag"]


def test_csv_opt_out_writes_cells_verbatim(tmp_path):
    notes = _notes(FORMULAS)
    rows = list(csv.DictReader(io.StringIO(to_csv(notes, safe=False), newline="")))
    assert [r["text"] for r in rows] == FORMULAS
    dest = tmp_path / "raw.csv"
    export_notes(notes, "csv", dest, safe=False)
    assert [d["text"] for d in import_notes(dest, safe=False)] == FORMULAS


def test_cli_csv_export_is_safe_unless_raw_csv(tmp_path, clips):
    db = tmp_path / "data" / "vidqa.db"
    with Store(db) as s:
        v = ingest(clips["a"], s, progress=False)
        s.add_note(v.id, 0.5, kind="typed", text='=HYPERLINK("http://evil.example","x")')
    safe = vidqa_cli("notes", "export", v.id, "--format", "csv", "--db", str(db))
    assert safe.returncode == 0, safe.stderr
    assert list(csv.DictReader(io.StringIO(safe.stdout)))[0]["text"].startswith("'=HYPERLINK")
    raw = vidqa_cli("notes", "export", v.id, "--format", "csv", "--raw-csv", "--db", str(db))
    assert list(csv.DictReader(io.StringIO(raw.stdout)))[0]["text"].startswith("=HYPERLINK")


# --- 4. secrets in URLs are never printed or stored ---------------------------------------------------------------
def _data_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.suffix not in (".mp4", ".wav"))


def test_url_secrets_never_reach_the_store(store, clips):
    with FlakyHost() as host:
        host.add("match.mp4", clips["a"].read_bytes())
        url = host.url("/ok/match.mp4?X-Amz-Signature=s3cr3tsig&token=t0k3n").replace(
            "http://", "http://alice:pa55word@")
        v = ingest(url, store, allow_private=True, progress=False)
        (row,) = store.sources(v.id)
        assert row["source"].startswith(f"http://***@127.0.0.1:{host.port}/ok/match.mp4?X-Amz-Signature=…&token=…")
        # the same URL is found again without a download; a different token is another source
        n = len(host.requests)
        assert ingest(url, store, allow_private=True, progress=False).id == v.id and len(host.requests) == n
        ingest(url.replace("t0k3n", "other"), store, allow_private=True, progress=False)
        assert len(host.requests) == n + 1 and len(store.sources(v.id)) == 2
    store.close()
    blob = _data_bytes(store.root)
    for secret in (b"pa55word", b"s3cr3tsig", b"t0k3n", b"alice"):
        assert secret not in blob


def test_cli_lines_never_print_url_secrets(tmp_path, clips):
    db = tmp_path / "data" / "vidqa.db"
    with FlakyHost() as host:
        host.add("match.mp4", clips["a"].read_bytes())
        good = host.url("/ok/match.mp4?token=t0k3n").replace("http://", "http://alice:pa55word@")
        bad = host.url("/html/page.mp4?sig=s1gn4ture").replace("http://", "http://bob:hunter2@")
        out = vidqa_cli("ingest", good, bad, "--allow-private", "--db", str(db), "-q")
    assert out.returncode == 1
    assert "ingested http://***@127.0.0.1" in out.stdout and "Error: http://***@127.0.0.1" in out.stderr
    for secret in ("pa55word", "t0k3n", "hunter2", "s1gn4ture", "alice", "bob"):
        assert secret not in out.stdout + out.stderr


# --- 5. subtitle exports cannot be broken by note text ------------------------------------------------------------
NASTY = ["first", "a\x00b (NUL)", "x\n00:00:09,000 --> 00:00:10,000\ninjected cue", "ESC \x1b[31mred\x1b[0m",
         "line\u2028separator", "form\x0cfeed\x0bvtab", "7\n00:00:20.000 --> 00:00:21.000", "C1 \x85 \x9b",
         "bom\ufeff inside", "WEBVTT\n\nNOTE not a note", "last"]


def _ffmpeg_cues(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        stream = c.streams.subtitles[0]
        return [bytes(p).decode("utf-8") for p in c.demux(stream) if p.size]


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_hold_one_cue_per_note_in_every_reader(fmt, tmp_path):
    notes = _notes(NASTY)
    dest = tmp_path / f"notes.{fmt}"
    text = export_notes(notes, fmt, dest)
    assert not any(ch in text for ch in "\x00\x1b\x0b\x0c\x85\x9b\ufeff\u2028")
    cues = _ffmpeg_cues(dest)
    assert len(cues) == len(notes), cues
    assert cues[0] == "first" and cues[-1] == "last"
    assert cues[1] == "ab (NUL)"
    assert "injected cue" in cues[2]
    if fmt == "srt":
        subs = pysrt.open(str(dest), encoding="utf-8")
        assert len(subs) == len(notes) and [s.index for s in subs] == list(range(1, len(notes) + 1))
        assert subs[2].text == "x\n00:00:09,000 -> 00:00:10,000\ninjected cue"
        assert subs[1].text == "ab (NUL)"
    else:
        vtt = webvtt.read(str(dest))
        assert len(vtt.captions) == len(notes)
        assert [c.identifier for c in vtt.captions] == [f"note-{n.id}" for n in notes]
        assert "00:00:09,000 --&gt; 00:00:10,000" in text
    # and our own reader gets one record per note back
    assert len(import_notes(dest)) == len(notes)


def test_pure_subtitle_functions_sanitise_too():
    notes = _notes(["\x00", "ok\x00", "\ud800lone surrogate"])
    srt, vtt = to_srt(notes), to_vtt(notes)
    for text in (srt, vtt):
        text.encode("utf-8")  # writable: no lone surrogates
        assert "\x00" not in text
    assert len(pysrt.from_string(srt)) == 2  # the note with nothing but a NUL has nothing to show


# --- 6. an HTML page saved as .mp4 ---------------------------------------------------------------------------------
SIGN_IN = ('<!doctype html><html lang="en-US" dir="ltr"><head><base href="https://accounts.google.com/v3/signin/">'
           '<meta charset="utf-8"><title>Sign in - Google Accounts</title><script nonce="abc">window.WIZ_global_data'
           ' = {"Qzxixc":"S1"};</script></head><body><form action="/signin/v2"><input type="email"></form>'
           + "<div>" * 4000 + "</body></html>")


@pytest.mark.parametrize("name", ["download.mp4", "download", "video.MP4"])
def test_html_page_saved_as_video_is_called_an_html_page(store, tmp_path, name):
    page = tmp_path / name
    page.write_text(SIGN_IN, encoding="utf-8")
    with pytest.raises(CorruptMediaError, match='not media: it is an HTML page titled "Sign in - Google Accounts"'):
        probe(page)
    with pytest.raises(CorruptMediaError, match="HTML page") as info:
        ingest(page, store, progress=False)
    assert not isinstance(info.value, EmptyMediaError) and "zero duration" not in str(info.value)
    assert store.videos() == [] and media_names(store) == []


def test_playlists_and_text_are_not_media(tmp_path):
    m3u8 = tmp_path / "live.mp4"
    m3u8.write_text("#EXTM3U\n#EXT-X-VERSION:3\nhttp://10.0.0.1/seg0.ts\n")
    with pytest.raises(CorruptMediaError, match="HLS playlist"):
        probe(m3u8)  # never handed to FFmpeg, which would fetch the segments


# --- 7. slow servers: stall, trickle, deadline, Retry-After; the .part stays resumable -----------------------------
@pytest.fixture(scope="module")
def clip_bytes(clips) -> bytes:
    return clips["a"].read_bytes()


def test_stalled_server_fails_fast_and_the_part_resumes(clip_bytes, tmp_path):
    with FlakyHost() as host:
        host.add("clip.mp4", clip_bytes)
        url = host.url("/stall/clip.mp4")
        t0 = time.monotonic()
        with pytest.raises(DownloadError, match=r"stalled: no data arrived for 0\.5 s.*kept in .*\.part") as info:
            download(url, tmp_path, allow_private=True, progress=False, limits=DownloadLimits(stall_timeout=0.5))
        assert "resume" in str(info.value)
        print(f"stall detected after {time.monotonic() - t0:.1f} s")
        parts = list(tmp_path.glob("*.part"))
        assert len(parts) == 1 and 0 < parts[0].stat().st_size < len(clip_bytes)
        kept = parts[0].stat().st_size
        host.misbehave = False
        r = download(url, tmp_path, allow_private=True, progress=False)
        assert r.resumed_from == kept and r.path.read_bytes() == clip_bytes
        assert host.requests[-1]["headers"].get("Range", "").startswith("bytes=")


def test_trickling_server_is_given_up_as_too_slow(clip_bytes, tmp_path):
    with FlakyHost() as host:
        host.add("clip.mp4", clip_bytes)
        host.trickle_bytes, host.trickle_delay = 32, 0.05  # ~640 B/s: it would take minutes
        url = host.url("/trickle/clip.mp4")
        limits = DownloadLimits(min_rate=4096, rate_window=1.0)
        with pytest.raises(DownloadError, match=r"too slow|trickling") as info:
            download(url, tmp_path, allow_private=True, progress=False, limits=limits)
        assert "/s" in str(info.value) and "min_rate" in str(info.value)
        (part,) = tmp_path.glob("*.part")
        assert 0 < part.stat().st_size < len(clip_bytes)
        host.misbehave = False
        r = download(url, tmp_path, allow_private=True, progress=False, limits=limits)
        assert r.resumed_from > 0 and r.path.read_bytes() == clip_bytes


def test_overall_deadline(clip_bytes, tmp_path):
    with FlakyHost() as host:
        host.add("clip.mp4", clip_bytes)
        host.slow_chunk, host.slow_delay = 2048, 0.1  # 20 kB/s: fine for min_rate, but needs > 2 s in all
        with pytest.raises(DownloadError, match="deadline of 0.6 s"):
            download(host.url("/slow/clip.mp4"), tmp_path, allow_private=True, progress=False,
                     limits=DownloadLimits(deadline=0.6))


def test_cli_deadline_option(clip_bytes, tmp_path):
    with FlakyHost() as host:
        host.add("clip.mp4", clip_bytes)
        host.slow_chunk, host.slow_delay = 2048, 0.1
        out = vidqa_cli("ingest", host.url("/slow/clip.mp4"), "--allow-private", "--deadline", "0.5", "--db",
                        str(tmp_path / "v.db"), "-q")
    assert out.returncode == 1 and "deadline of 0.5 s" in out.stderr and "Traceback" not in out.stderr


def test_retry_after_is_honoured_or_reported(clip_bytes, tmp_path):
    with FlakyHost() as host:
        host.add("clip.mp4", clip_bytes)
        host.busy_retry_after = "0.3"
        t0 = time.monotonic()
        r = download(host.url("/busy/clip.mp4"), tmp_path / "a", allow_private=True, progress=False)
        assert r.path.read_bytes() == clip_bytes and len(host.hits("/busy/")) == 2
        assert time.monotonic() - t0 >= 0.3  # waited as asked (a lower bound, not a speed claim)
        host.busy, host.busy_retry_after = 100, "3600"
        with pytest.raises(DownloadError, match="asks to wait 3600 s"):
            download(host.url("/busy/clip.mp4"), tmp_path / "b", allow_private=True, progress=False)
        assert len(host.hits("/busy/")) == 3  # no retry loop against a server that said "an hour"
        # the HTTP-date form goes through the same (shared) parser
        host.busy_retry_after = "Wed, 21 Oct 2099 07:28:00 GMT"
        with pytest.raises(DownloadError, match=r"asks to wait \d+ s"):
            download(host.url("/busy/clip.mp4"), tmp_path / "c", allow_private=True, progress=False)


# --- 8. kill -9 during ingest leaves nothing that outlives the next ingest -----------------------------------------
INGEST_SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
from vidqa.store import Store
from vidqa.pipeline.ingest import ingest
ingest(sys.argv[2], Store(sys.argv[1]), progress=False, allow_private=True)
"""


def _run_until(args: list[str], ready, timeout: float = 120.0) -> None:
    """Start ``python -c INGEST_SCRIPT args``, SIGKILL it as soon as ``ready()`` is true."""
    proc = subprocess.Popen([sys.executable, "-c", INGEST_SCRIPT, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                raise AssertionError(f"the ingest ended before the kill point: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("the kill point was never reached")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def test_kill_during_proxy_leaves_nothing_after_the_next_ingest(tmp_path, clips):
    db = tmp_path / "data" / "vidqa.db"
    Store(db).close()
    media = db.parent / "media"

    def proxy_temp_growing() -> bool:
        return media.exists() and any(p.name.endswith(".tmp.mp4") and p.stat().st_size > 0
                                      for p in media.iterdir())

    _run_until([str(db), str(clips["avi"])], proxy_temp_growing)
    left = sorted(p.name for p in media.iterdir())
    assert any(n.endswith(".tmp.mp4") for n in left)          # the partial browser copy
    assert any(n.endswith(".avi") for n in left)              # the original, with no video row
    assert any(n.endswith(".16k.wav") for n in left)          # its WAV
    with Store(db) as s:
        assert s.videos() == []
        # the next ingest (of anything) sweeps all of it
        other = ingest(clips["a"], s, progress=False)
        assert sorted(p.name for p in media.iterdir()) == sorted([f"{other.sha256}.mp4", f"{other.sha256}.16k.wav"])
        # and the killed source ingests cleanly
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = ingest(clips["avi"], s, progress=False)
        names = sorted(p.name for p in media.iterdir())
        assert not any(n.startswith(".") for n in names)
        assert f"{v.sha256}.proxy.mp4" in names and f"{v.sha256}.avi" in names
        assert probe(s.abspath(v.play_path)).duration == pytest.approx(30.0, abs=0.1)


def test_kill_during_download_keeps_only_a_resumable_part(tmp_path, clips):
    db = tmp_path / "data" / "vidqa.db"
    Store(db).close()
    downloads = db.parent / "cache" / "downloads"
    data = clips["big"].read_bytes()
    with FlakyHost() as host:
        host.add("big.mp4", data)
        host.slow_chunk, host.slow_delay = 8192, 0.05  # ~160 kB/s
        url = host.url("/slow/big.mp4")

        def part_half_way() -> bool:
            return downloads.exists() and any(p.suffix == ".part" and p.stat().st_size > len(data) // 4
                                              for p in downloads.iterdir())

        _run_until([str(db), url], part_half_way)
        parts = list(downloads.glob("*.part"))
        assert len(parts) == 1
        kept = parts[0].stat().st_size
        host.misbehave = False
        with Store(db) as s:
            v = ingest(url, s, allow_private=True, progress=False)
            assert s.abspath(v.path).read_bytes() == data
        assert host.requests[-1]["headers"].get("Range", "").startswith("bytes=")
        assert int(host.requests[-1]["headers"]["Range"][6:].split("-")[0]) >= kept
    assert list(downloads.iterdir()) == []  # .part, .part.json and the dead process's lock are gone


def test_sweep_keeps_parts_and_live_work(store, clips):
    downloads = store.cache_dir / "downloads"
    downloads.mkdir(parents=True)
    old = time.time() - STALE_DOWNLOAD_S - 60
    stale, fresh, part = downloads / "match.mp4", downloads / "new.mp4", downloads / "dl-0123.part"
    for p in (stale, fresh, part):
        p.write_bytes(b"x" * 10)
    os.utime(stale, (old, old))
    os.utime(part, (old, old))
    store.media_dir.mkdir(parents=True)
    live_tmp = store.media_dir / f".{'a' * 64}.proxy.{os.getpid()}.tmp.mp4"   # this (live) process's work
    dead_tmp = store.media_dir / f".{'b' * 64}.mp4.999999999.tmp"            # no such process
    for p in (live_tmp, dead_tmp):
        p.write_bytes(b"x")
    removed = sweep_leftovers(store)
    assert set(removed) == {stale, dead_tmp}
    assert fresh.exists() and part.exists() and live_tmp.exists()


# --- 9. --allow-private never unblocks the cloud metadata service --------------------------------------------------
METADATA_SPELLINGS = [
    "http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/", "http://169.254.43518/", "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::]/",
    "http://[fd00:ec2::254]/", "http://169.254.170.2/v2/credentials", "http://100.100.100.200/",
]


@pytest.mark.parametrize("url", METADATA_SPELLINGS)
def test_allow_private_keeps_the_metadata_service_blocked(url, monkeypatch):
    for allow in (True, ["0.0.0.0/0", "::/0"], ["169.254.0.0/16"]):
        with pytest.raises(SourceNotAllowedError, match="metadata service"):
            check_url(url, allow_private=allow)
    monkeypatch.setenv("VIDQA_ALLOW_PRIVATE_URLS", "1")
    with pytest.raises(SourceNotAllowedError, match="metadata service"):
        check_url(url)


def test_metadata_address_named_exactly_is_allowed_and_loopback_still_is():
    assert check_url("http://169.254.169.254/", allow_private=["169.254.169.254"]).port == 80
    assert check_url("http://[fd00:ec2::254]/", allow_private=["fd00:ec2::254"]).port == 80
    assert check_url("http://127.0.0.1:8080/x.mp4", allow_private=True).port == 8080


def test_redirect_to_metadata_is_refused_even_with_allow_private(tmp_path):
    with FlakyHost() as host:
        url = host.url("/redirect?to=http://169.254.169.254/latest/meta-data/iam/")
        with pytest.raises(SourceNotAllowedError, match="metadata service"):
            download(url, tmp_path, allow_private=True, progress=False)
        assert len(host.requests) == 1


def test_cli_allow_private_keeps_metadata_blocked(tmp_path):
    out = vidqa_cli("ingest", "http://[::ffff:169.254.169.254]/latest/meta-data/", "--allow-private", "--db",
                    str(tmp_path / "v.db"), "-q")
    assert out.returncode == 1 and "metadata service" in out.stderr and "Traceback" not in out.stderr


# --- issue 7, seam 7: the EAF links the video in the store's own folder --------------------------------------------
def test_eaf_export_with_another_db_links_that_folders_media(tmp_path, clips):
    import pympi

    db = tmp_path / "elsewhere" / "v.db"
    with Store(db) as s:
        v = ingest(clips["a"], s, progress=False)
        s.add_note(v.id, 0.5, kind="typed", text="kick-off")
        expected = s.abspath(v.play_path)
    cwd = tmp_path / "somewhere-else"
    cwd.mkdir()
    out = vidqa_cli("notes", "export", v.id, "--format", "eaf", "--db", str(db), "-o", "n.eaf", cwd=cwd,
                    env={"VIDQA_DB": str(tmp_path / "default" / "vidqa.db")})
    assert out.returncode == 0, out.stderr
    eaf = pympi.Elan.Eaf(str(cwd / "n.eaf"))
    (md,) = eaf.media_descriptors
    assert md["MEDIA_URL"] == expected.resolve().as_uri()
    assert Path(md["MEDIA_URL"][len("file://"):]).exists()
    assert (cwd / Path(md["RELATIVE_MEDIA_URL"])).resolve() == expected.resolve()


def test_eaf_functions_take_the_data_folder_as_data(tmp_path, clips):
    with Store(tmp_path / "d" / "v.db") as s:
        v = ingest(clips["a"], s, progress=False)
        notes = s.notes(v.id)
        root = s.root
    with pytest.raises(ExportError, match="data_dir"):
        to_eaf(notes, video=v)  # a relative path and no folder: refuse rather than guess
    text = to_eaf(notes, video=v, data_dir=root)
    assert (root / v.play_path).resolve().as_uri() in text


def test_the_sweep_never_deletes_media_of_another_database_in_the_same_folder(tmp_path):
    import shutil

    from vidqa.pipeline.ingest import ingest
    from vidqa.store import Store

    sample = Path(__file__).resolve().parents[1] / "data" / "samples" / "sample.mp4"
    first = Store(tmp_path / "vidqa.db")
    video = ingest(str(sample), first, progress=False, make_proxy=False)
    kept = sorted(first.media_dir.glob(f"{video.sha256}.*"))
    assert kept
    other_clip = tmp_path / "other.mp4"
    data = bytearray(sample.read_bytes())
    data[-64:] = bytes(64)
    other_clip.write_bytes(bytes(data))
    second = Store(tmp_path / "other.db")
    ingest(str(other_clip), second, progress=False, make_proxy=False)  # sweeps the shared media/ folder
    assert all(p.exists() for p in kept), "the other database's media were deleted"
    (tmp_path / "broken.db").write_text("not a database")
    orphan = second.media_dir / ("f" * 64 + ".mp4")
    shutil.copy(other_clip, orphan)
    ingest(str(other_clip), second, progress=False, make_proxy=False)
    assert orphan.exists()  # an unreadable neighbour: nothing counts as an orphan
