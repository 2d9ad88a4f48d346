"""The processing core as stages over stored videos: transcript, audio events, visual analysis.

Each ``*_records`` function is pure (a :class:`~vidqa.records.Video` and the data folder in, records out); each
``run_*`` function wraps it with :func:`vidqa.pipeline.runner.run_stage` (idempotent, timed, recorded in ``runs``) and the
store's write helper. :func:`process` runs the whole core on one video, overlapping the transcription (its own
core) with the visual path, as PERFORMANCE.md recommends.

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidqa.errors import StageError
from vidqa.records import AudioEvent, TranscriptSegment, Video, VisualEvent
from vidqa.pipeline.runner import SkipStage, StageResult, run_stage
from vidqa.store import Store

STAGES = ("transcribe", "audio-events", "detect")


@dataclass
class VisualSettings:
    """Settings of the visual stage (all of them change the result, so all are hashed into ``runs``)."""

    fps: float = 1.0
    """Frames per second sampled at a fixed rate (scene-cut frames come on top)."""
    scene_cuts: bool = True
    detector: str = "ssd-mobilenet-v2"
    """``ssd-mobilenet-v2`` (bundled, offline) or a path to ultralytics YOLO weights (``.pt`` / ``.onnx``)."""
    min_confidence: float = 0.4
    colours: bool = True
    ocr: bool = True
    ocr_lang: str = "eng"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CoreSettings:
    transcribe: Any = None
    audio_events: Any = None
    visual: VisualSettings = field(default_factory=VisualSettings)


# --- pure stage functions --------------------------------------------------------------------------------------
def _audio_samples(video: Video, root: Path):
    from vidqa.media.audio import load_audio

    if not video.has_audio or not video.audio_path:
        raise SkipStage("the video has no audio track")
    return load_audio(root / video.audio_path)


def transcript_records(video: Video, root: Path, settings: Any = None, *, progress: bool = True
                       ) -> list[TranscriptSegment]:
    """The time-aligned transcript of ``video`` (pure)."""
    from vidqa.analyze.transcribe import transcribe

    return transcribe(_audio_samples(video, root), settings, progress=progress)


def audio_event_records(video: Video, root: Path, settings: Any = None, *, progress: bool = True
                        ) -> list[AudioEvent]:
    """Audio events (whistle, buzzer, crowd, music, speech, silence) of ``video`` (pure)."""
    from vidqa.analyze.audio_events import detect_audio_events

    return detect_audio_events(_audio_samples(video, root), settings=settings, progress=progress)


def visual_records(video: Video, root: Path, settings: VisualSettings | None = None, *, progress: bool = True
                   ) -> list[VisualEvent]:
    """Objects (with colour attributes), on-screen text and scene cuts of ``video`` (pure)."""
    from tqdm.auto import tqdm

    from vidqa.analyze.colors import annotate_colours
    from vidqa.analyze.detect import get_detector
    from vidqa.analyze.frames import sample_frames
    from vidqa.analyze.ocr import likely_has_text, ocr_image, text_changed

    s = settings or VisualSettings()
    detector = get_detector(s.detector)
    events: list[VisualEvent] = []
    last_ocr_image = None
    frames = sample_frames(root / video.path, fps=s.fps, scene_cuts=s.scene_cuts, rotation=video.rotation,
                           progress=False)
    bar = tqdm(total=round(video.duration, 1), unit="s", desc=f"visual {video.id}", disable=not progress)
    for frame in frames:
        if frame.reason == "cut":
            events.append(VisualEvent(frame.t, "scene_cut", "cut", float(frame.cut_score or 1.0),
                                      frame.frame_index))
        objects = [
            VisualEvent(frame.t, "object", d.label, float(d.confidence), frame.frame_index, tuple(d.box_norm),
                        {"detector": detector.name})
            for d in detector.detect(frame.image)
            if d.confidence >= s.min_confidence
        ]
        if s.colours and objects:
            objects = annotate_colours(objects, frame.image)
        events.extend(objects)
        # OCR only frames that likely hold text, and of those only a new shot's first frame or changed text:
        # tesseract (~0.4 s a frame) would otherwise cost more than the rest of the visual path together.
        if s.ocr and likely_has_text(frame.image) and (
            last_ocr_image is None or frame.reason == "cut" or text_changed(last_ocr_image, frame.image)
        ):
            last_ocr_image = frame.image
            for box in ocr_image(frame.image, lang=s.ocr_lang):
                events.append(VisualEvent(frame.t, "text", box.text, float(box.confidence), frame.frame_index,
                                          tuple(box.box), {"lang": s.ocr_lang}))
        bar.update(max(0.0, min(frame.t, video.duration) - bar.n))
    bar.close()
    return events


# --- stages with writes ----------------------------------------------------------------------------------------
def _settings_dict(settings: Any) -> dict[str, Any]:
    if settings is None:
        return {}
    if hasattr(settings, "as_dict"):
        return settings.as_dict()
    return asdict(settings)


def run_transcribe(store: Store, video: Video, settings: Any = None, *, force: bool = False,
                   progress: bool = True) -> StageResult:
    from vidqa.analyze.transcribe import TranscribeSettings

    settings = settings or TranscribeSettings()
    sd = _settings_dict(settings)

    def write(st: Store, vid: str, recs: Sequence[TranscriptSegment], run_id: int) -> int:
        return st.replace_transcript(vid, recs, run_id=run_id, backend=sd.get("backend"), model=sd.get("model"))

    return run_stage(store, "transcribe", video, sd,
                     lambda v: transcript_records(v, store.root, settings, progress=progress), write, force=force)


def run_audio_events(store: Store, video: Video, settings: Any = None, *, force: bool = False,
                     progress: bool = True) -> StageResult:
    from vidqa.analyze.audio_events import AudioEventSettings

    settings = settings or AudioEventSettings()

    def write(st: Store, vid: str, recs: Sequence[AudioEvent], run_id: int) -> int:
        return st.replace_audio_events(vid, recs, run_id=run_id)

    return run_stage(store, "audio-events", video, _settings_dict(settings),
                     lambda v: audio_event_records(v, store.root, settings, progress=progress), write, force=force)


def run_detect(store: Store, video: Video, settings: VisualSettings | None = None, *, force: bool = False,
               progress: bool = True) -> StageResult:
    settings = settings or VisualSettings()

    def write(st: Store, vid: str, recs: Sequence[VisualEvent], run_id: int) -> int:
        return st.replace_visual_events(vid, recs, run_id=run_id)

    return run_stage(store, "detect", video, settings.as_dict(),
                     lambda v: visual_records(v, store.root, settings, progress=progress), write, force=force)


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
