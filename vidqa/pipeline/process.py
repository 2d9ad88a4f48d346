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
    """Run the processing core on one video; the transcript runs beside the visual path (2 cores)."""
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
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        if "transcribe" in stages:
            # one progress bar at a time on the terminal: the visual path's (or this one when it runs alone)
            alone = not ({"audio-events", "detect"} & set(stages))

            def transcribe_in_worker() -> StageResult:
                try:
                    return run_transcribe(store, video, settings.transcribe, force=force, progress=progress and alone)
                finally:
                    store.release_thread()  # the worker thread's own connection

            pending = pool.submit(transcribe_in_worker)
        if "audio-events" in stages:
            results["audio-events"] = run_audio_events(store, video, settings.audio_events, force=force,
                                                       progress=progress)
        if "detect" in stages:
            results["detect"] = run_detect(store, video, settings.visual, force=force, progress=progress)
        if pending is not None:
            results["transcribe"] = pending.result()
    return [results[s] for s in STAGES if s in results]
