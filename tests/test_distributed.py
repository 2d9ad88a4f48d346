"""Many videos on Dask: a LocalCluster of 2 worker processes gives the sequential rows, survives a killed worker,
and a failing video does not stop the others (issue #12)."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("distributed")

import cloudpickle  # noqa: E402
from distributed import Client  # noqa: E402

from vidqa.pipeline.distributed import local_cluster, localize_job, process_many  # noqa: E402
from vidqa.pipeline.ingest import ingest  # noqa: E402
from vidqa.pipeline.registry import Stage, register, stage_names  # noqa: E402
from vidqa.pipeline.runner import Job  # noqa: E402
from vidqa.store import Store  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "sample.mp4"
CORE = ("transcribe", "audio-events", "detect")


def core_settings():
    """The defaults (the CLI's): the cluster must match `vidqa process` as users run it."""
    from vidqa.pipeline.process import CoreSettings

    return CoreSettings()

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def cut(src: Path, dest: Path, seconds: float) -> Path:
    """The first ``seconds`` of ``src`` remuxed (no re-encode): real speech and pictures, distinct bytes."""
    import av

    with av.open(str(src)) as inp, av.open(str(dest), "w", format="mp4") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        for packet in inp.demux(*[s for s in inp.streams if s.index in streams]):
            if packet.dts is None or packet.pts is None:
                continue
            if float(packet.pts * packet.time_base) >= seconds:
                continue
            packet.stream = streams[packet.stream_index]
            out.mux(packet)
    return dest


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [cut(SAMPLE, folder / f"clip{i}.mp4", seconds) for i, seconds in enumerate((6.0, 7.0, 8.0))]


@pytest.fixture(scope="module")
def client():
    cluster = local_cluster(2, threads_per_worker=1, retries=1)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def ingest_all(db: Path, clips: list[Path]) -> tuple[Store, list]:
    store = Store(db)
    return store, [ingest(str(c), store, progress=False) for c in clips]


def rows(store: Store, video_id: str) -> dict[str, list]:
    return {
        "transcript": [(s.text, round(s.start, 2), round(s.end, 2), len(s.words)) for s in store.transcript(video_id)],
        "audio": [(e.kind, round(e.start, 2), round(e.end, 2), round(e.confidence, 3))
                  for e in store.audio_events(video_id)],
        "visual": [(e.kind, e.label, round(e.t, 3), e.frame_index, round(e.confidence, 3))
                   for e in store.visual_events(video_id)],
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory, clips, client):
    """Three good clips and one whose files are gone, processed on the cluster."""
    store, videos = ingest_all(tmp_path_factory.mktemp("cluster") / "vidqa.db", clips)
    broken_src = cut(SAMPLE, tmp_path_factory.mktemp("broken") / "broken.mp4", 5.0)
    broken = ingest(str(broken_src), store, progress=False)
    for rel in {broken.path, broken.audio_path, broken.play_path}:
        store.abspath(rel).unlink(missing_ok=True)
    results = process_many(store, [*videos, broken], settings=core_settings(), client=client, progress=False)
    yield store, videos, broken, results
    store.close()


def test_a_cluster_of_two_workers_gives_the_rows_of_the_sequential_path(batch, clips, tmp_path):
    store, videos, _broken, results = batch
    good = {v.id for v in videos}
    done = [r for r in results if r.video_id in good]
    assert [(r.video_id, r.stage) for r in done] == [(v.id, s) for v in videos for s in CORE]
    assert all(r.status == "done" for r in done), [r.summary() for r in done]
    seq_store, seq_videos = ingest_all(tmp_path / "seq.db", clips)
    try:
        assert [v.id for v in seq_videos] == [v.id for v in videos]
        # `vidqa process` as users run it, in a fresh process: this test process has loaded OpenMP runtimes under
        # other tests' conditions (e.g. tesseract's one-thread limit), which changes faster-whisper's beam search
        import subprocess
        import sys

        out = subprocess.run([sys.executable, "-m", "vidqa", "process", "--all", "--db", str(seq_store.path), "-q"],
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        for v in seq_videos:
            expected = rows(seq_store, v.id)
            assert expected["transcript"] and expected["visual"] and expected["audio"], expected
            assert rows(store, v.id) == expected
    finally:
        seq_store.close()


def test_a_failing_video_is_recorded_and_does_not_stop_the_others(batch, client):
    store, videos, broken, results = batch
    failed = [r for r in results if r.video_id == broken.id]
    assert [r.stage for r in failed] == list(CORE)
    assert all(r.status == "failed" and r.error for r in failed), [r.summary() for r in failed]
    assert all(store.run(r.run_id).status == "failed" for r in failed)
    assert not [r for r in store.runs() if r.status == "running"]
    # a re-run skips what is done and tries the failed video again (it fails again, alone)
    again = process_many(store, [*videos, broken], settings=core_settings(), client=client, progress=False)
    assert {r.status for r in again if r.video_id != broken.id} == {"skipped"}
    assert {r.status for r in again if r.video_id == broken.id} == {"failed"}


# --- a worker killed mid-video -------------------------------------------------------------------------------
@dataclass(frozen=True)
class KillOnce:
    marker_dir: str = ""


def compute_kill_once(job: Job) -> list[int]:
    """Kills its own worker process the first time it runs on a video, then completes (returns the pid)."""
    marker = Path(job.settings.marker_dir) / f"killed-{job.video.id}"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return [os.getpid()]


def commit_kill_once(store, video_id, records, run_id, settings) -> int:
    return len(records)


cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
if "test-kill-once" not in stage_names():
    register(Stage("test-kill-once", "kills its worker the first time (tests only)", KillOnce, compute_kill_once,
                   commit_kill_once))


def test_a_worker_killed_mid_video_is_survived_and_the_video_completes(tmp_path, clips, client):
    store, videos = ingest_all(tmp_path / "vidqa.db", clips[:2])
    try:
        markers = tmp_path / "markers"
        markers.mkdir()
        victim = videos[0]
        (markers / f"killed-{videos[1].id}").write_text("not this one")
        results = process_many(store, videos, stages=("test-kill-once",),
                               settings={"test-kill-once": KillOnce(str(markers))}, client=client, progress=False)
        assert [r.status for r in results] == ["done", "done"], [r.summary() for r in results]
        killed_pid = int((markers / f"killed-{victim.id}").read_text())
        assert store.run(results[0].run_id).status == "done"
        assert killed_pid != os.getpid()
    finally:
        store.close()


def test_an_fsspec_media_root_is_fetched_into_a_worker_cache(tmp_path, clips):
    import fsspec

    store, (video,) = ingest_all(tmp_path / "vidqa.db", clips[:1])
    try:
        fs = fsspec.filesystem("memory")
        fs.pipe(f"/bucket/{video.path}", store.abspath(video.path).read_bytes())
        job = Job("detect", video, "memory://bucket", None, run_id=1)
        local = localize_job(job, cache_dir=tmp_path / "cache")
        assert Path(local.root, video.path).read_bytes() == store.abspath(video.path).read_bytes()
        assert local.root.startswith(str(tmp_path / "cache"))
        assert localize_job(Job("detect", video, "/data/x", None, 1)).root == "/data/x"
    finally:
        store.close()
