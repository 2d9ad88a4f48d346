"""The ``vidqa`` command: real subprocesses on a real database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "samples" / "sample.mp4"


def vidqa(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidqa", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_help_lists_commands_with_examples():
    out = vidqa("--help")
    assert out.returncode == 0
    for command in ("ingest", "transcribe", "audio-events", "detect", "process", "notes", "runs"):
        assert command in out.stdout
    ingest_help = vidqa("ingest", "--help").stdout
    assert "Examples:" in ingest_help and "drive.google.com" in ingest_help


def test_ingest_prints_the_probe_and_dedupes(tmp_path):
    db = tmp_path / "vidqa.db"
    first = vidqa("ingest", str(SAMPLE), "--db", str(db), "-q")
    assert first.returncode == 0, first.stderr
    assert "duration 24.000 s, 640x360, 25.000 fps" in first.stdout
    copy = tmp_path / "same-bytes.mp4"
    copy.write_bytes(SAMPLE.read_bytes())
    second = vidqa("ingest", str(copy), "--db", str(db), "-q")
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM videos").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM video_sources").fetchone()[0] == 2
    listing = vidqa("videos", "--db", str(db), "--json")
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["duration"] == pytest.approx(24.0)


def test_errors_are_one_clear_line_and_exit_1(tmp_path):
    db = tmp_path / "vidqa.db"
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    out = vidqa("ingest", str(bad), "--db", str(db), "-q")
    assert out.returncode == 1
    assert "Error:" in out.stderr and "Traceback" not in out.stderr
    local = vidqa("ingest", "http://127.0.0.1:9/clip.mp4", "--db", str(db), "-q")
    assert local.returncode == 1 and "Traceback" not in local.stderr
    assert "private" in local.stderr.lower() or "loopback" in local.stderr.lower()
    malformed = vidqa("ingest", "http://[::1/x.mp4", "--db", str(db), "-q")
    assert malformed.returncode == 1 and "Invalid IPv6 URL" in malformed.stderr and "Traceback" not in malformed.stderr
    stages = vidqa("process", "--stages", "foo", "--db", str(db))
    assert stages.returncode == 1 and "Unknown stages" in stages.stderr and "Traceback" not in stages.stderr
    none = vidqa("transcribe", "--db", str(tmp_path / "empty.db"))
    assert none.returncode == 1 and "vidqa ingest" in none.stderr


def test_stage_commands_and_runs(tmp_path):
    db = tmp_path / "vidqa.db"
    assert vidqa("ingest", str(SAMPLE), "--db", str(db), "-q").returncode == 0
    out = vidqa("detect", "--db", str(db), "--no-ocr", "-q")
    assert out.returncode == 0, out.stderr
    assert "detect:" in out.stdout and "records" in out.stdout
    again = vidqa("detect", "--db", str(db), "--no-ocr", "-q")
    assert "skipped" in again.stdout
    runs = vidqa("runs", "--db", str(db))
    assert runs.stdout.count("detect") == 1 and "done" in runs.stdout


def test_notes_export_from_the_command_line(tmp_path):
    from vidqa.pipeline.ingest import ingest
    from vidqa.store import Store

    db = tmp_path / "vidqa.db"
    with Store(db) as store:
        video = ingest(str(SAMPLE), store, progress=False)
        store.add_note(video.id, 3.8, kind="typed", text="referee whistles")
    out = vidqa("notes", "export", video.id, "--format", "vtt", "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("WEBVTT") and "00:00:03.800 -->" in out.stdout and "referee whistles" in out.stdout


def test_demo_runs_the_whole_loop_and_ends_in_an_offline_report(tmp_path):
    import os

    from needs import missing

    from vidqa.providers.local import prebuilt_server_usable

    db = tmp_path / "data" / "vidqa.db"
    out = subprocess.run([sys.executable, "-m", "vidqa.demo", "--db", str(db), "--reports", str(tmp_path / "demo"),
                          "-q"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "duration 24.000 s, 640x360, 25.000 fps" in out.stdout  # the probe
    for stage in ("transcribe:", "audio-events:", "detect:", "questions:"):
        assert stage in out.stdout
    assert "FAILED" not in out.stdout and str(db.resolve()) in out.stdout and "UNREVIEWED" in out.stdout
    summary = json.loads((db.parent / "demo-summary.json").read_text())
    assert summary["stages"] == {"transcribe": "done", "audio-events": "done", "detect": "done"}
    assert "HOME 2 - 1 AWAY" in summary["text"] and any(e["kind"] == "whistle" for e in summary["audio_events"])
    assert summary["questions"], "the sample yields questions"
    for q in summary["questions"]:
        assert q["audio_cue"]["kind"] and q["visual_cue"]["kind"] and q["status"] == "draft"
    if not prebuilt_server_usable() and not os.environ.get("CI"):
        missing("this CPU cannot run the prebuilt llama-server")
    answered = {row["model"] for row in summary["answers"]}
    assert {"local/smollm2", "baseline/random", "baseline/question-only", "baseline/transcript-only"} <= answered
    report = Path(summary["report"])
    assert report.parent == tmp_path / "demo" and report.suffix == ".html"
    page = report.read_text()
    assert "Plotly.newPlot" in page and "https://cdn" not in page.split("<script>", 1)[0]


def test_ingest_from_a_file_of_sources_in_parallel_says_one_line_per_failure_and_resumes(tmp_path):
    import shutil

    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    shutil.copy(SAMPLE, a)
    data = bytearray(SAMPLE.read_bytes())
    data[-100:] = bytes(100)  # other bytes, still the same playable clip up to its tail
    b.write_bytes(bytes(data))
    listing = tmp_path / "sources.txt"
    listing.write_text(f"# my clips\n{a}\n\n{b}\n{tmp_path / 'missing.mp4'}\n")
    db = tmp_path / "data" / "vidqa.db"
    out = vidqa("ingest", "--from", str(listing), "--jobs", "2", "--db", str(db), "-q")
    assert out.returncode == 1
    assert out.stderr.count("Error:") == 1 and "missing.mp4" in out.stderr
    assert "2 of 3 source(s) ingested, 1 failed" in out.stdout
    again = vidqa("ingest", "--from", str(listing), "--jobs", "2", "--db", str(db), "-q")
    assert "2 of 3 source(s) ingested" in again.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM videos").fetchone()[0] == 2


def test_read_only_commands_refuse_a_missing_database_and_create_none(tmp_path):
    for args in (["videos"], ["runs"], ["process"], ["run", "detect"]):
        out = vidqa(*args, "--db", str(tmp_path / "typo" / "vidqa.db"), cwd=tmp_path)
        assert out.returncode != 0, args
        assert "No vidqa database at" in out.stderr and "vidqa ingest SOURCE" in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "typo").exists() and not (tmp_path / "data").exists()
