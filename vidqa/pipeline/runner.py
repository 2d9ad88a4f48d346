"""Running a stage on a video: idempotent, timed, recorded in ``runs``.

A *stage* is a pure function (video in, records out) plus a writer (the store's write helper for that record
kind). :func:`run_stage` is the only place that glues the two, so the same pure function can later be mapped over
many videos on another engine (Dask) and the writes done wherever the database lives.

- Work already done with the same settings is skipped (``force=True`` redoes it).
- Every attempt is a row in ``runs``: settings, wall seconds, media seconds, number of records, error.
- Expected failures (:class:`~vidqa.errors.VidqaError`) are recorded and returned, so a batch goes on with the
  next video; anything else is recorded and re-raised (a bug should be loud).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vidqa.errors import VidqaError
from vidqa.records import Video
from vidqa.store import Store


@dataclass
class StageResult:
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
    """Raised by a stage's compute function when the stage does not apply to a video (e.g. no audio)."""


def run_stage(
    store: Store,
    stage: str,
    video: Video,
    settings: dict[str, Any],
    compute: Callable[[Video], Sequence[Any]],
    write: Callable[[Store, str, Sequence[Any], int], int],
    *,
    force: bool = False,
) -> StageResult:
    """Run ``compute(video)`` and ``write(store, video_id, records, run_id)`` unless already done.

    ``settings`` must hold everything that changes the result (model, thresholds ...): it is hashed to decide
    whether earlier work can be reused.
    """
    if not force:
        done = store.find_done_run(stage, video.id, settings)
        if done is not None:
            return StageResult(stage, video.id, "skipped", done.id, done.n_records or 0,
                               reason=f"done in run {done.id} with the same settings; --force redoes it")
    run = store.start_run(stage, video.id, settings)
    t0 = time.perf_counter()
    try:
        records = compute(video)
        n = write(store, video.id, records, run.id)
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
