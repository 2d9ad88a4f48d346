"""The processing core on stored videos: transcript, audio events, visual analysis (the stages of the registry).

:func:`process` runs the core on one video, overlapping the transcription (its own core) with the visual path, as
PERFORMANCE.md recommends. ``run_transcribe`` / ``run_audio_events`` / ``run_detect`` run one stage each; all of
them go through :func:`vidqa.pipeline.runner.run_stage` (idempotent, timed, recorded in ``runs``).

Example::

    from vidqa import open_store, ingest
    from vidqa.pipeline.process import process
    store = open_store("data/vidqa.db")
    video = ingest("data/samples/sample.mp4", store)
    for result in process(store, video):
        print(result.summary())
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from vidqa.analyze.visual import VisualSettings
from vidqa.errors import StageError
from vidqa.pipeline.registry import STAGES
from vidqa.pipeline.runner import StageResult, run_stage
from vidqa.records import Video
from vidqa.store import Store

__all__ = ["STAGES", "CoreSettings", "VisualSettings", "process", "run_transcribe", "run_audio_events",
           "run_detect"]


@dataclass
class CoreSettings:
    """Settings of each core stage (``None`` = that stage's defaults)."""

    transcribe: Any = None
    audio_events: Any = None
    visual: VisualSettings = field(default_factory=VisualSettings)


def run_transcribe(store: Store, video: Video, settings: Any = None, *, force: bool = False,
                   progress: bool = True) -> StageResult:
    """The transcript stage on one video."""
    return run_stage(store, "transcribe", video, settings, force=force, progress=progress)


def run_audio_events(store: Store, video: Video, settings: Any = None, *, force: bool = False,
                     progress: bool = True) -> StageResult:
    """The audio-event stage on one video."""
    return run_stage(store, "audio-events", video, settings, force=force, progress=progress)


def run_detect(store: Store, video: Video, settings: VisualSettings | None = None, *, force: bool = False,
               progress: bool = True) -> StageResult:
    """The visual stage on one video."""
    return run_stage(store, "detect", video, settings, force=force, progress=progress)


def process(
    store: Store,
    video: Video | str,
    *,
    stages: Sequence[str] = STAGES,
    settings: CoreSettings | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[StageResult]:
    """Run the processing core on one video: transcript and audio events run beside the visual path (2 cores)."""
    settings = settings or CoreSettings()
    if isinstance(video, str):
        video = store.video(video)
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise StageError(f"Unknown stages {sorted(unknown)}; known: {', '.join(STAGES)}.")
    results: dict[str, StageResult] = {}
    if "transcribe" in stages:
        # Load CTranslate2's OpenMP runtime before OCR (one thread per tesseract child) can touch the environment.
        import faster_whisper  # noqa: F401
    # transcription and audio events (each well under a core) run on worker threads beside the visual path, which
    # uses the rest; one progress bar at a time on the terminal: the visual path's, or one of the others alone
    visual = "detect" in stages
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="vidqa-core") as pool:
        pending: dict[str, Any] = {}

        def in_worker(run: Any, stage_settings: Any, bar: bool) -> StageResult:
            try:
                return run(store, video, stage_settings, force=force, progress=progress and bar)
            finally:
                store.release_thread()  # the worker thread's own connection

        if "transcribe" in stages:
            pending["transcribe"] = pool.submit(in_worker, run_transcribe, settings.transcribe,
                                                not visual and "audio-events" not in stages)
        if "audio-events" in stages:
            pending["audio-events"] = pool.submit(in_worker, run_audio_events, settings.audio_events, not visual)
        if visual:
            results["detect"] = run_detect(store, video, settings.visual, force=force, progress=progress)
        for name, job in pending.items():
            results[name] = job.result()
    return [results[s] for s in STAGES if s in results]
