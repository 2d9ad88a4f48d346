"""Many videos on a Dask cluster: plan here, compute on the workers, commit here (the one writer).

:func:`process_many` maps the registry's stage compute over videos on a Dask ``distributed`` cluster:

1. the client (this process, which owns the store) plans every (stage, video): work done with the same settings is
   skipped, the rest becomes a :class:`~vidqa.pipeline.runner.Job` (plain data; the store never leaves here);
2. each job is one task: transcription, audio events and the visual path of one video are separate tasks, so they
   overlap on different workers (or threads) the way :func:`vidqa.pipeline.process.process` overlaps them in one
   process;
3. outcomes are committed as they complete (``as_completed``). A user-caused failure (a
   :class:`~vidqa.errors.VidqaError`, e.g. a missing file) is recorded and not retried; a crash or a lost worker is
   retried per ``retries`` and then recorded; either way the batch goes on.

Workers load each model once: the :class:`VidqaWorkerPlugin` warms the detector and imports faster-whisper's
runtime at start-up, and the per-process caches (``warm_detector``, the warm Whisper model) keep them across videos.
Media is read from ``Job.root``: the data folder by default, or ``media_root`` (a path every worker mounts, or an
fsspec URL such as ``s3://bucket/vidqa`` that workers fetch each needed file from into a local cache).

Example::

    from vidqa import open_store
    from vidqa.pipeline.distributed import process_many
    store = open_store("data/vidqa.db")
    results = process_many(store, store.videos(), workers=2)             # a LocalCluster on this machine
    results = process_many(store, store.videos(), scheduler="tcp://10.0.0.5:8786",
                           media_root="/mnt/nfs/vidqa")                    # a real cluster
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidqa.errors import StageError
from vidqa.pipeline.registry import STAGES, get_stage, stage_names
from vidqa.pipeline.runner import Job, Outcome, StageResult, commit, execute, plan
from vidqa.records import Video

if TYPE_CHECKING:
    from vidqa.store import Store

__all__ = ["process_many", "local_cluster", "VidqaWorkerPlugin", "execute_on_worker", "localize_job"]

_SETTINGS_FIELDS = {"transcribe": "transcribe", "audio-events": "audio_events", "detect": "visual"}


# --- the worker side ---------------------------------------------------------------------------------------------
try:  # distributed is an optional dependency: only process_many needs it
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPluginBase
except ImportError:  # pragma: no cover - without dask the plugin is never used
    _WorkerPluginBase = object  # type: ignore[assignment,misc]


class VidqaWorkerPlugin(_WorkerPluginBase):  # type: ignore[misc,valid-type]
    """Set up each worker process once: extra stages, thread limits, warm models.

    ``stages`` are :class:`~vidqa.pipeline.registry.Stage` objects registered in the client that a worker's own
    import of vidqa does not know (a plugin-registered or test stage); ``detector`` is warmed when the batch runs
    the visual path. A worker that restarts (e.g. after being killed) gets the plugin again from the scheduler.
    """

    name = "vidqa"

    def __init__(self, stages: Sequence[Any] = (), detector: str | None = None, transcribe: bool = False,
                 threads: int = 1):
        self.stages = list(stages)
        self.detector = detector
        self.transcribe = transcribe
        self.threads = threads

    def setup(self, worker: Any = None) -> None:
        from vidqa.pipeline import registry

        _keep_freed_memory()

        for stage in self.stages:
            if stage.name not in registry.stage_names():
                registry.register(stage)
        try:  # one OpenCV thread per Dask thread: workers x threads should match the cores
            import cv2

            cv2.setNumThreads(max(1, int(self.threads)))
        except Exception:  # noqa: BLE001 - OpenCV is optional for custom stages
            pass
        if self.transcribe:
            # CTranslate2's OpenMP runtime loads before OCR's tesseract children touch the environment
            import faster_whisper  # noqa: F401
        if self.detector:
            registry.warm_detector(self.detector)


def _keep_freed_memory() -> None:
    """Let glibc keep freed memory for reuse in this worker (thresholds of 32 MiB mmap / 64 MiB trim).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also switches off glibc's adaptive mmap
    threshold: every decoded frame and model tensor (hundreds of KB to MBs) is then mmapped, page-faulted in and
    unmapped again. Measured on the 20-clip bench: 2.9 CPU-s per video instead of 1.85 (57 % more CPU, mostly
    kernel time). The adaptive default tops out at these values; memory stays bounded by the largest working set.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None)
    except OSError:
        mallopt = None
    if mallopt is None:  # not glibc (macOS, musl): nothing to do
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    mallopt(m_trim_threshold, 64 * 1024 * 1024)


def _worker_cache_dir() -> Path:
    return Path(os.environ.get("VIDQA_WORKER_CACHE") or Path(tempfile.gettempdir()) / "vidqa-worker-cache")


def _is_url(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


def localize_job(job: Job, cache_dir: str | os.PathLike[str] | None = None) -> Job:
    """``job`` with a local ``root``: a path is used as it is; from an fsspec URL the one file the stage reads
    (the 16 kHz WAV for audio stages, the original for the others) is fetched once into ``cache_dir``.

    Example::

        local = localize_job(Job("detect", video, "s3://bucket/vidqa", settings, run_id=1))
        Path(local.root, video.path).is_file()   # True
    """
    root = job.root
    if root.startswith("file://"):
        return dataclasses.replace(job, root=root[len("file://"):])
    if not _is_url(root):
        return job
    import fsspec

    stage = get_stage(job.stage)
    rels = [job.video.audio_path] if stage.needs_audio and job.video.audio_path else [job.video.path]
    local_root = Path(cache_dir or _worker_cache_dir()) / job.video.sha256[:16]
    for rel in rels:
        dest = local_root / rel
        if dest.is_file():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        url = root.rstrip("/") + "/" + rel
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            with fsspec.open(url, "rb") as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 4 * 1024 * 1024)
            os.replace(tmp, dest)
        except FileNotFoundError:
            tmp.unlink(missing_ok=True)
            raise StageError(f"{url} does not exist: media_root must hold the data folder's files "
                             f"(e.g. {rel}).") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return dataclasses.replace(job, root=str(local_root))


# The per-process detector (``warm_detector``) is one cv2.dnn Net, which is not thread-safe: two visual tasks in
# one multi-thread worker crash OpenCV ("buf.shape() == m.shape()", measured). They take turns; transcription and
# audio events still run beside them.
_SHARED_MODEL_LOCKS = {"detect": threading.Lock()}


def execute_on_worker(job: Job) -> Outcome:
    """What a Dask task runs: fetch the media if needed, then :func:`vidqa.pipeline.runner.execute`.

    The outcome carries the job as it was submitted (its ``root`` is the shared one, not the worker's cache).
    """
    started = time.perf_counter()
    try:
        local = localize_job(job)
    except StageError as err:
        return Outcome(job, "failed", seconds=time.perf_counter() - started, message=str(err))
    lock = _SHARED_MODEL_LOCKS.get(job.stage)
    if lock is None:
        outcome = execute(local)
    else:
        with lock:
            outcome = execute(local)
    outcome.job = job
    return outcome


# --- the client side ---------------------------------------------------------------------------------------------
def _settings_for(settings: Any, stage: str) -> Any:
    if settings is None:
        return None
    if isinstance(settings, Mapping):
        return settings.get(stage)
    field = _SETTINGS_FIELDS.get(stage)
    return getattr(settings, field, None) if field else None


_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def local_cluster(workers: int, threads_per_worker: int = 1, retries: int = 1, **kwargs: Any):
    """A ``distributed.LocalCluster`` of ``workers`` processes set up for vidqa.

    - a worker that dies mid-task is tolerated ``retries`` times (``allowed-failures``) before the task fails as
      ``KilledWorker``;
    - glibc keeps its adaptive allocator (no ``MALLOC_TRIM_THRESHOLD_``: with it a worker spent 57 % more CPU);
    - workers keep this process's OpenMP/BLAS thread variables instead of Dask's ``OMP_NUM_THREADS=1``: with it
      faster-whisper's int8 beam search decodes differently from the in-process path (measured: another word on
      the bundled sample), so records would not match ``vidqa process`` run without Dask.

    Example::

        client = distributed.Client(local_cluster(2))
        process_many(store, None, client=client)
    """
    import dask
    from distributed import LocalCluster

    environ = {k: os.environ[k] for k in _THREAD_VARS if k in os.environ}
    config = {"distributed.scheduler.allowed-failures": max(0, int(retries)),
              # not Dask's MALLOC_TRIM_THRESHOLD_=65536: see _keep_freed_memory (the plugin also undoes it)
              "distributed.nanny.pre-spawn-environ": environ}
    with dask.config.set(config):
        return LocalCluster(n_workers=int(workers), threads_per_worker=int(threads_per_worker), processes=True,
                            dashboard_address=kwargs.pop("dashboard_address", None), **kwargs)


def _open_client(scheduler: str | None, workers: int | None, threads_per_worker: int, retries: int):
    """(client, owned): a Client to ``scheduler``, or to a new LocalCluster of ``workers`` processes."""
    import dask
    from distributed import Client

    if scheduler:
        return Client(scheduler), True
    if workers is None:
        if dask.config.get("scheduler-address", None):
            return Client(), True
        workers = max(1, (os.cpu_count() or 1) // max(1, threads_per_worker))
    return Client(local_cluster(workers, threads_per_worker, retries)), True


def process_many(
    store: Store,
    videos: Sequence[Video | str] | None = None,
    *,
    stages: Sequence[str] = STAGES,
    settings: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    threads_per_worker: int = 1,
    retries: int = 1,
    force: bool = False,
    progress: bool = True,
    media_root: str | os.PathLike[str] | None = None,
    client: Any = None,
) -> list[StageResult]:
    """Run ``stages`` on many ``videos`` on a Dask cluster; this process commits every result (one writer).

    Parameters
    ----------
    videos:
        Stored videos (or their ids); ``None`` = every video in the store.
    settings:
        A :class:`~vidqa.pipeline.process.CoreSettings`, or a dict ``{stage name: settings}``; ``None`` = defaults.
    scheduler / workers / client:
        ``scheduler="tcp://HOST:8786"`` joins a running cluster; ``workers=N`` starts a LocalCluster of N worker
        processes (``threads_per_worker`` threads each) here and closes it afterwards; ``client`` uses an open
        ``distributed.Client`` (left open). With none: ``DASK_SCHEDULER_ADDRESS`` when set, else a LocalCluster
        of one process per core.
    retries:
        Extra attempts for a job whose worker died or whose compute crashed (a bug or an I/O error). A
        :class:`~vidqa.errors.VidqaError` (bad input) is recorded as failed at once.
    media_root:
        Where workers find the data folder's files (a shared path or an fsspec URL); default the store's folder.

    Returns the :class:`StageResult` of every (video, stage), videos in the given order, stages in pipeline order.

    Example::

        results = process_many(store, None, workers=2)
        print(sum(r.status == "done" for r in results), "stage runs done")
    """
    from tqdm.auto import tqdm

    unknown = [s for s in stages if s not in stage_names()]
    if unknown:
        raise StageError(f"Unknown stages {unknown}; known: {', '.join(stage_names())}.")
    order = [s for s in stage_names() if s in stages]
    if videos is None:
        videos = store.videos()
    seen: set[str] = set()
    videos = [v for v in (store.video(v) if isinstance(v, str) else v for v in videos)
              if not (v.id in seen or seen.add(v.id))]
    root = str(media_root) if media_root is not None else str(store.root)

    results: dict[tuple[str, str], StageResult] = {}
    jobs: list[Job] = []
    for video in videos:
        for name in order:
            planned = plan(store, name, video, _settings_for(settings, name), force=force)
            if isinstance(planned, StageResult):
                results[(video.id, name)] = planned
            else:
                jobs.append(dataclasses.replace(planned, root=root, progress=False))

    remaining = {v.id: 0 for v in videos}
    for job in jobs:
        remaining[job.video.id] += 1
    duration = {v.id: v.duration or 0.0 for v in videos}
    bar = tqdm(total=len(videos), desc="videos", unit="video", disable=not progress)
    media_done = 0.0
    t0 = time.perf_counter()

    def video_finished(vid: str, worked: bool = True) -> None:
        nonlocal media_done
        bar.update(1)
        if not worked:  # all skipped: counts as a video done, not as throughput
            return
        media_done += duration[vid]
        wall = time.perf_counter() - t0
        bar.set_postfix_str(f"{media_done / 3600:.2f} h media, {media_done / wall if wall else 0:.1f}x realtime")

    for vid, n in remaining.items():
        if n == 0:
            video_finished(vid, worked=False)
    if not jobs:
        bar.close()
        return _ordered(results, videos, order)

    owned = False
    if client is None:
        client, owned = _open_client(scheduler, workers, threads_per_worker, retries)
    pending: dict[Any, tuple[Job, int]] = {}
    try:
        from distributed import as_completed

        extra = [get_stage(s) for s in order if s not in STAGES]
        visual = _settings_for(settings, "detect")
        detector = None
        if "detect" in order:
            detector = getattr(get_stage("detect").settings(visual), "detector", None)
        client.register_plugin(VidqaWorkerPlugin(extra, detector, "transcribe" in order, threads_per_worker),
                               name="vidqa")

        def submit(job: Job, attempt: int):
            fut = client.submit(execute_on_worker, job, key=f"vidqa-{job.stage}-{job.video.id}-{job.run_id}-{attempt}",
                                pure=False, retries=0)
            pending[fut] = (job, attempt)
            return fut

        # transcription first: it is the longest task of a video, so it starts while the visual path runs beside it
        ranked = sorted(jobs, key=lambda j: (0 if j.stage == "transcribe" else 1))
        queue = as_completed([submit(job, 0) for job in ranked])
        for fut in queue:
            job, attempt = pending.pop(fut)
            if fut.status == "finished":
                outcome: Outcome = fut.result()
                error = None
                if outcome.status == "crashed" and attempt < retries:
                    fut.release()
                    queue.add(submit(job, attempt + 1))
                    continue
            else:
                try:
                    outcome, error = None, fut.exception()
                except BaseException as err:  # noqa: BLE001 - a cancelled future raises here
                    outcome, error = None, err
                if attempt < retries and not _is_killed_worker(error):
                    fut.release()
                    queue.add(submit(job, attempt + 1))
                    continue
            fut.release()
            results[(job.video.id, job.stage)] = _commit(store, job, outcome, error)
            remaining[job.video.id] -= 1
            if remaining[job.video.id] == 0:
                video_finished(job.video.id)
    except BaseException:
        for fut, (job, _) in pending.items():
            fut.cancel()
            store.finish_run(job.run_id, "failed", error="the batch was interrupted before this job finished")
        raise
    finally:
        bar.close()
        if owned:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    return _ordered(results, videos, order)


def _is_killed_worker(error: BaseException | None) -> bool:
    # the scheduler has already retried it on `allowed-failures` workers: do not kill more of them
    return type(error).__name__ == "KilledWorker"


def _commit(store: Store, job: Job, outcome: Outcome | None, error: BaseException | None) -> StageResult:
    """Commit one outcome; a crash or a lost task is recorded as a failed run and returned, never raised."""
    if outcome is None:
        message = f"{type(error).__name__}: {error}"
        if _is_killed_worker(error):
            message = f"the worker running it died too often ({message})"
        store.finish_run(job.run_id, "failed", error=message)
        return StageResult(job.stage, job.video.id, "failed", job.run_id, error=message)
    try:
        return commit(store, outcome)
    except RuntimeError as err:  # a crashed compute: commit() recorded it as failed
        return StageResult(job.stage, job.video.id, "failed", job.run_id, seconds=outcome.seconds, error=str(err))


def _ordered(results: dict[tuple[str, str], StageResult], videos: Sequence[Video],
             order: Sequence[str]) -> list[StageResult]:
    return [results[(v.id, s)] for v in videos for s in order if (v.id, s) in results]
