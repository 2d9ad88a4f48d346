"""The processing core end to end: ingest -> every stage -> rows in SQLite, checked against ground truth.

Runs the real models (tiny.en, YAMNet, SSD-MobileNet-v2, tesseract) on the bundled sample (and on the real-media
sample built from Debian packages), then checks what the store holds: transcript WER, audio event times, OCR text,
object counts and colours, scene cuts; and the stage machinery: idempotent runs, --force, skips, failures.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from vidqa.pipeline.ingest import ingest
from vidqa.pipeline.process import STAGES, VisualSettings, process, run_detect
from vidqa.store import Store
from vidqa.analyze.textmetrics import wer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "samples" / "sample.mp4"
TRUTH = json.loads(SAMPLE.with_suffix(".json").read_text())


def iou(a, b) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """The bundled sample ingested and processed once for this module."""
    store = Store(tmp_path_factory.mktemp("pipeline") / "vidqa.db")
    video = ingest(str(SAMPLE), store, progress=False)
    results = process(store, video, progress=False)
    yield store, video, results
    store.close()


def test_every_stage_runs_and_records_its_run(processed):
    store, video, results = processed
    assert [r.stage for r in results] == list(STAGES)
    assert all(r.status == "done" for r in results), [r.summary() for r in results]
    runs = {r.stage: r for r in store.runs(video_id=video.id)}
    for stage in STAGES:
        run = runs[stage]
        assert run.status == "done" and run.seconds > 0 and run.media_seconds == pytest.approx(video.duration)
        assert run.settings  # what produced the rows is recorded
        assert run.n_records > 0


def test_transcript_matches_the_narration(processed):
    store, video, _ = processed
    segments = store.transcript(video.id)
    hyp = " ".join(s.text for s in segments)
    ref = " ".join(s["text"] for s in TRUTH["speech"])
    assert wer(ref, hyp) <= 0.15, hyp
    words = [w for s in segments for w in s.words]
    assert words and all(a.start <= b.start for a, b in zip(words, words[1:]))
    for utterance in TRUTH["speech"]:
        inside = [w for w in words if utterance["start"] - 0.5 <= w.start <= utterance["end"] + 0.5]
        assert inside, utterance
        assert abs(inside[0].start - utterance["start"]) <= 0.5


def test_ocr_before_transcription_in_one_process_leaves_the_transcript_intact():
    """Regression: tesseract's OMP_THREAD_LIMIT=1 once stayed in os.environ; CTranslate2 loaded after it then
    transcribed nothing (and 10x slower). OCR first, then a fresh speech model, in a clean process."""
    import subprocess
    import sys

    code = f"""
import os, sys
from vidqa.analyze.ocr import ocr_image
from media_factory import frame_at
before = os.environ.get("OMP_THREAD_LIMIT")
assert [t.text for t in ocr_image(frame_at({str(SAMPLE)!r}, 21.0))] == ["HOME 2 - 1 AWAY"]
assert os.environ.get("OMP_THREAD_LIMIT") == before, "OCR left OMP_THREAD_LIMIT in the environment"
from vidqa.analyze.transcribe import transcribe, transcript_text
print(transcript_text(transcribe({str(SAMPLE)!r}, progress=False)))
"""
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                         cwd=Path(__file__).parent)
    assert out.returncode == 0, out.stderr[-2000:]
    ref = " ".join(s["text"] for s in TRUTH["speech"])
    assert wer(ref, out.stdout) <= 0.15, out.stdout


def test_audio_events_find_the_whistle_and_the_silence(processed):
    store, video, _ = processed
    events = store.audio_events(video.id)
    truth = TRUTH["audio_events"][0]
    whistles = [e for e in events if e.kind == "whistle"]
    assert any(abs(e.start - truth["start"]) <= 0.25 for e in whistles), events
    gap = TRUTH["silence"][0]
    silences = [e for e in events if e.kind == "silence" and e.start < gap["end"] and e.end > gap["start"]]
    assert silences and abs(silences[0].start - gap["start"]) <= 0.25 and abs(silences[0].end - gap["end"]) <= 0.25
    speech = [e for e in events if e.kind == "speech"]
    assert all(any(e.start - 0.5 <= u["start"] <= e.end for e in speech) for u in TRUTH["speech"])
    assert all(e.labels for e in events if e.kind != "silence")  # top AudioSet labels kept


def test_scoreboard_and_sign_are_read_exactly(processed):
    store, video, _ = processed
    texts = store.visual_events(video.id, "text")
    for truth in TRUTH["text"]:
        hits = [e for e in texts if e.label == truth["text"] and truth["start"] <= e.t < truth["end"]]
        assert hits, (truth, [(e.t, e.label) for e in texts])
        assert iou(hits[0].box, truth["box"]) > 0.5
    assert {e.label for e in texts} == {t["text"] for t in TRUTH["text"]}  # nothing read out of photo texture


def test_scene_cuts_are_found_at_the_right_times(processed):
    store, video, _ = processed
    cuts = [e.t for e in store.visual_events(video.id, "scene_cut")]
    assert len(cuts) == len(TRUTH["scene_cuts"])
    for t, truth in zip(cuts, TRUTH["scene_cuts"]):
        assert abs(t - truth) <= 1 / TRUTH["fps"] + 1e-6


def test_objects_are_counted_and_coloured(processed):
    store, video, _ = processed
    objects = store.visual_events(video.id, "object")
    checked_colours = 0
    for truth in (o for o in TRUTH["objects"] if o["coco"]):
        names = {truth["label"], *truth.get("aliases", [])}
        frames = sorted({e.t for e in objects if truth["start"] <= e.t < truth["end"]})
        assert frames, truth
        matched = []
        for t in frames:
            here = [e for e in objects if e.t == t and e.label in names and iou(e.box, truth["box"]) > 0.3]
            matched.append(here)
        # one detection per instance in (almost) every sampled frame of its scene
        assert sum(len(m) == 1 for m in matched) >= 0.8 * len(frames), (truth["label"], matched)
        if truth["label"] in {"dog", "person", "horse", "truck"}:  # thin objects (the bicycle) fill little of their box
            colours = [m[0].attributes.get("colour") for m in matched if m]
            assert max(set(colours), key=colours.count) == truth["colour"], (truth, colours)
            checked_colours += 1
    assert checked_colours >= 4


def copy_store(store: Store, dest: Path) -> Store:
    """A copy of ``store``'s database and media in ``dest`` (tests that change rows must not touch the shared one)."""
    dest.mkdir(parents=True, exist_ok=True)
    copy = Store(dest / "vidqa.db")
    store.conn.backup(copy.conn)
    shutil.copytree(store.media_dir, copy.media_dir)
    return copy


def test_runs_are_idempotent_and_force_redoes(processed, tmp_path):
    shared, video, _ = processed
    store = copy_store(shared, tmp_path / "copy")
    again = process(store, video, progress=False)
    assert [r.status for r in again] == ["skipped"] * len(STAGES)
    assert all("same settings" in r.reason for r in again)
    n_before = len(store.runs(video_id=video.id))
    redo = run_detect(store, video, VisualSettings(ocr=False), progress=False)  # other settings: not skipped
    assert redo.status == "done"
    forced = run_detect(store, video, VisualSettings(ocr=False), force=True, progress=False)
    assert forced.status == "done"
    assert len(store.runs(video_id=video.id)) == n_before + 2
    # the latest run replaced the visual rows: no text rows without OCR
    assert store.visual_events(video.id, "text") == []


def test_a_video_without_audio_skips_audio_stages_with_a_reason(tmp_path):
    from media_factory import make_video

    clip = make_video(tmp_path / "silent.mp4", seconds=2.0, audio=False)
    store = Store(tmp_path / "vidqa.db")
    video = ingest(str(clip), store, progress=False)
    results = {r.stage: r for r in process(store, video, stages=["transcribe", "audio-events"], progress=False)}
    for stage in ("transcribe", "audio-events"):
        assert results[stage].status == "skipped"
        assert "no audio" in results[stage].reason
    assert {r.status for r in store.runs(video_id=video.id)} == {"skipped"}


def test_a_failing_stage_is_recorded_and_does_not_stop_the_batch(tmp_path):
    store = Store(tmp_path / "vidqa.db")
    video = ingest(str(SAMPLE), store, progress=False)
    bad = VisualSettings(detector=str(tmp_path / "missing.pt"))
    result = run_detect(store, video, bad, progress=False)
    assert result.status == "failed" and "missing.pt" in result.error
    (run,) = store.runs(stage="detect")
    assert run.status == "failed" and run.error == result.error
    assert store.visual_events(video.id) == []


@pytest.mark.slow
def test_real_media_sample_end_to_end(tmp_path_factory):
    """Real pedestrians video, real recorded speech, real referee whistles and crowd (Debian packages)."""
    from vidqa.testing.samples import build_real_sample

    cache = ROOT / "tests" / ".cache" / "real"
    mp4 = build_real_sample(cache, cache_dir=ROOT / "tests" / ".cache" / "debian")
    truth = json.loads(mp4.with_suffix(".json").read_text())
    work = tmp_path_factory.mktemp("real")
    clip = Path(shutil.copy(mp4, work / mp4.name))
    store = Store(work / "vidqa.db")
    video = ingest(str(clip), store, progress=False)
    results = process(store, video, settings=None, progress=False)
    assert all(r.status == "done" for r in results), [r.summary() for r in results]

    hyp = " ".join(s.text for s in store.transcript(video.id))
    ref = " ".join(s["text"] for s in truth["speech"])
    assert wer(ref, hyp) <= 0.15, (ref, hyp)

    events = store.audio_events(video.id)
    for whistle in (e for e in truth["audio_events"] if e["kind"] == "whistle"):
        assert any(e.kind == "whistle" and abs(e.start - whistle["start"]) <= 0.25 for e in events), (whistle, events)
    for crowd in (e for e in truth["audio_events"] if e["kind"] == "crowd"):
        assert any(e.kind == "crowd" and e.start < crowd["end"] and e.end > crowd["start"] for e in events)

    people = [e for e in store.visual_events(video.id, "object") if e.label == "person"]
    per_frame = {}
    for e in people:
        per_frame[e.t] = per_frame.get(e.t, 0) + 1
    assert len(per_frame) >= 0.9 * int(video.duration)  # pedestrians in (nearly) every sampled second
    assert max(per_frame.values()) >= 3
