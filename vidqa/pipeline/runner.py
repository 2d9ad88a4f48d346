"""Running a stage on a unit of work: plan, compute, commit — idempotent, timed, recorded in ``runs``.

A stage (:class:`~vidqa.pipeline.registry.Stage`) is split so it can leave this process:

1. :func:`plan` (in the process that owns the store) decides whether the unit needs work: a unit already done with
   the same settings is skipped (``force=True`` redoes it); otherwise it starts a run and returns a :class:`Job`.
2. :func:`execute` (anywhere: this process, a thread, a Dask worker) calls the stage's top-level compute function
   on plain data. A :class:`Job` and an :class:`Outcome` pickle; neither holds the store.
3. :func:`commit` (back in the store's process, the single writer) writes the records and finishes the run.

Expected failures (:class:`~vidqa.errors.VidqaError`) are recorded and returned, so a batch goes on with the next
unit; anything else is recorded and re-raised (a bug should be loud).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidqa.errors import VidqaError
from vidqa.records import Video

__all__ = ['StageResult', 'SkipStage', 'Job', 'Outcome', 'plan', 'execute', 'commit', 'run_stage']

if TYPE_CHECKING:
    from vidqa.store import Store


@dataclass
class StageResult:
    """How one stage ended on one unit."""

    stage: str
    video_id: str
    status: str
    """``done``, ``skipped`` (already done, or not applicable: see ``reason``) or ``failed``."""
    run_id: int | None = None
    n_records: int = 0
    seconds: float = 0.0
    media_seconds: float = 0.0
    reason: str | None = None
    error: str | None = None

    @property
    def speed(self) -> float | None:
        """Media seconds per wall second (×realtime)."""
        return self.media_seconds / self.seconds if self.seconds else None

    def summary(self) -> str:
        if self.status == "done":
            speed = f", {self.speed:.1f}x realtime" if self.speed else ""
            return f"{self.stage}: {self.n_records} records in {self.seconds:.1f} s{speed}"
        if self.status == "skipped":
            return f"{self.stage}: skipped ({self.reason})"
        return f"{self.stage}: FAILED: {self.error}"


class SkipStage(Exception):
    """Raised by a stage's compute function when the stage does not apply to a unit (e.g. no audio)."""


@dataclass
class Job:
    """One unit of work for one stage: plain data, picklable (what a Dask worker receives)."""

    stage: str
    video: Video
    root: str
    """The data folder (absolute path or a URL every worker can reach) that the video's paths are relative to."""
    settings: Any
    run_id: int
    progress: bool = False


@dataclass
class Outcome:
    """What :func:`execute` returns: the records, or why there are none."""

    job: Job
    status: str
    """``done``, ``skipped`` or ``failed`` (a user-caused error) or ``crashed`` (a bug)."""
    records: list[Any] | None = None
    seconds: float = 0.0
    message: str | None = None


def plan(store: Store, stage: Any, video: Video, settings: Any = None, *, force: bool = False,
         progress: bool = False) -> Job | StageResult:
    """A :class:`Job` for ``stage`` on ``video``, or the :class:`StageResult` of a skip (already done)."""
    from vidqa.pipeline.registry import get_stage

    stage = get_stage(stage)
    settings = stage.settings(settings)
    sd = stage.settings_dict(settings)
    if not force:
        done = store.find_done_run(stage.name, video.id, sd)
        if done is not None:
            return StageResult(stage.name, video.id, "skipped", done.id, done.n_records or 0,
                               reason=f"done in run {done.id} with the same settings; --force redoes it")
    run = store.start_run(stage.name, video.id, sd)
    return Job(stage.name, video, str(store.root), settings, run.id, progress)


def execute(job: Job, *, reraise: bool = False) -> Outcome:
    """Run the stage's compute on ``job`` (pure: no store). Safe to call on another process or machine.

    A bug (any exception that is not a :class:`VidqaError`) becomes a ``crashed`` outcome that :func:`commit`
    records and raises, or is raised here at once when ``reraise`` (in-process runs keep the original traceback).
    """
    from vidqa.pipeline.registry import get_stage

    stage = get_stage(job.stage)
    t0 = time.perf_counter()
    try:
        records = list(stage.compute(job))
    except SkipStage as skip:
        return Outcome(job, "skipped", seconds=time.perf_counter() - t0, message=str(skip))
    except VidqaError as err:
        return Outcome(job, "failed", seconds=time.perf_counter() - t0, message=str(err))
    except Exception as err:  # a bug: recorded, then re-raised by commit()
        if reraise:
            raise
        return Outcome(job, "crashed", seconds=time.perf_counter() - t0,
                       message=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=8)}")
    return Outcome(job, "done", records, time.perf_counter() - t0)


def commit(store: Store, outcome: Outcome) -> StageResult:
    """Write an :class:`Outcome` (the single writer) and finish its run."""
    from vidqa.pipeline.registry import get_stage

    job = outcome.job
    stage = get_stage(job.stage)
    vid = job.video.id
    if outcome.status == "skipped":
        store.finish_run(job.run_id, "skipped", seconds=outcome.seconds, error=outcome.message)
        return StageResult(stage.name, vid, "skipped", job.run_id, reason=outcome.message)
    if outcome.status in ("failed", "crashed"):
        store.finish_run(job.run_id, "failed", seconds=outcome.seconds, error=outcome.message)
        if outcome.status == "crashed":
            raise RuntimeError(f"stage {stage.name} crashed on {vid}: {outcome.message}")
        return StageResult(stage.name, vid, "failed", job.run_id, seconds=outcome.seconds, error=outcome.message)
    try:
        n = stage.commit(store, vid, outcome.records or [], job.run_id, job.settings)
    except BaseException as err:
        store.finish_run(job.run_id, "failed", seconds=outcome.seconds, error=f"{type(err).__name__}: {err}")
        raise
    store.finish_run(job.run_id, "done", seconds=outcome.seconds, media_seconds=job.video.duration, n_records=n)
    return StageResult(stage.name, vid, "done", job.run_id, n, outcome.seconds, job.video.duration)


def run_stage(store: Store, stage: Any, video: Video, settings: Any = None,
              compute: Callable[[Video], Sequence[Any]] | None = None,
              write: Callable[[Store, str, Sequence[Any], int], int] | None = None, *, force: bool = False,
              progress: bool = True) -> StageResult:
    """Plan, execute and commit ``stage`` on ``video`` in this process.

    ``stage`` is a registered stage (name or :class:`~vidqa.pipeline.registry.Stage`). A step that is not in the
    registry (it runs only here, e.g. question generation) passes its own ``compute(video) -> records`` and
    ``write(store, video_id, records, run_id) -> n`` with ``settings`` as a dict; it gets the same skip / timing /
    run bookkeeping.

    Example::

        from vidqa.pipeline.runner import run_stage
        result = run_stage(store, "audio-events", video)
        print(result.summary())
    """
    if compute is not None:
        return _run_adhoc(store, str(stage), video, dict(settings or {}), compute, write, force=force)
    job = plan(store, stage, video, settings, force=force, progress=progress)
    if isinstance(job, StageResult):
        return job
    try:
        outcome = execute(job, reraise=True)
    except BaseException as err:  # a bug, KeyboardInterrupt ...: the run must not stay "running"
        store.finish_run(job.run_id, "failed", error=f"{type(err).__name__}: {err}")
        raise
    return commit(store, outcome)


def _run_adhoc(store: Store, stage: str, video: Video, settings: dict[str, Any],
               compute: Callable[[Video], Sequence[Any]], write: Callable[..., int] | None, *,
               force: bool) -> StageResult:
    if write is None:
        raise TypeError("run_stage with a compute function needs a write function too")
    if not force:
        done = store.find_done_run(stage, video.id, settings)
        if done is not None:
            return StageResult(stage, video.id, "skipped", done.id, done.n_records or 0,
                               reason=f"done in run {done.id} with the same settings; --force redoes it")
    run = store.start_run(stage, video.id, settings)
    t0 = time.perf_counter()
    try:
        n = write(store, video.id, compute(video), run.id)
    except SkipStage as skip:
        store.finish_run(run.id, "skipped", seconds=time.perf_counter() - t0, error=str(skip))
        return StageResult(stage, video.id, "skipped", run.id, reason=str(skip))
    except VidqaError as err:
        seconds = time.perf_counter() - t0
        store.finish_run(run.id, "failed", seconds=seconds, error=str(err))
        return StageResult(stage, video.id, "failed", run.id, seconds=seconds, error=str(err))
    except BaseException as err:
        store.finish_run(run.id, "failed", seconds=time.perf_counter() - t0, error=f"{type(err).__name__}: {err}")
        raise
    seconds = time.perf_counter() - t0
    store.finish_run(run.id, "done", seconds=seconds, media_seconds=video.duration, n_records=n)
    return StageResult(stage, video.id, "done", run.id, n, seconds, video.duration)
