"""The stage registry: plan / compute / commit, a compute that pickles and runs in another process, one writer."""

from __future__ import annotations

import multiprocessing as mp
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from vidqa.errors import StageError
from vidqa.pipeline.ingest import ingest
from vidqa.pipeline.registry import get_stage, stage_names
from vidqa.pipeline.runner import Job, commit, execute, plan, run_stage
from vidqa.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "sample.mp4"


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    db = tmp_path_factory.mktemp("registry") / "vidqa.db"
    store = Store(db)
    video = ingest(str(SAMPLE), store, progress=False)
    yield store, video
    store.close()


def test_the_core_stages_are_registered_in_pipeline_order():
    assert stage_names()[:3] == ("transcribe", "audio-events", "detect")
    with pytest.raises(StageError, match="Unknown stage 'ocr'.*known: transcribe"):
        get_stage("ocr")
    with pytest.raises(StageError, match="Unknown settings for stage detect: \\['fsp'\\]"):
        get_stage("detect").settings({"fsp": 2})


def test_a_job_pickles_runs_in_another_process_and_commits_like_an_in_process_run(stored):
    store, video = stored
    job = plan(store, "audio-events", video, force=True)
    assert isinstance(job, Job)
    assert pickle.loads(pickle.dumps(job)).video == video  # plain data, no store inside
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        outcome = pool.submit(execute, job).result(timeout=300)
    remote = commit(store, outcome)
    assert remote.status == "done" and remote.n_records > 0
    remote_rows = [(e.kind, round(e.start, 3), round(e.end, 3)) for e in store.audio_events(video.id)]
    local = run_stage(store, "audio-events", video, force=True, progress=False)
    assert local.status == "done"
    assert [(e.kind, round(e.start, 3), round(e.end, 3)) for e in store.audio_events(video.id)] == remote_rows
    again = run_stage(store, "audio-events", video, progress=False)
    assert again.status == "skipped" and "same settings" in again.reason


def test_a_failing_compute_is_recorded_and_the_run_is_not_left_running(stored, tmp_path):
    store, video = stored
    broken = video.__class__(**{**video.__dict__, "audio_path": "media/missing.16k.wav"})
    result = run_stage(store, "audio-events", broken, force=True, progress=False)
    assert result.status == "failed" and result.error
    assert store.run(result.run_id).status == "failed"
