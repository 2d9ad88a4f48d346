"""The stage registry: every stage the pipeline knows, with its settings, compute and commit.

A :class:`Stage` names

- ``settings_type``: a dataclass of everything that changes the result (hashed into ``runs``);
- ``compute``: a **top-level** function ``compute(job) -> list[records]`` over plain data (a
  :class:`~vidqa.pipeline.runner.Job`), so it pickles and runs on a Dask worker as well as here;
- ``commit``: ``commit(store, video_id, records, run_id, settings) -> int``, the single writer.

The CLI (``vidqa run STAGE``, ``vidqa transcribe`` ...), :func:`vidqa.pipeline.process.process` and the stage
notebooks are built from this table, so a new stage is one :func:`register` call.

Example::

    from vidqa.pipeline.registry import get_stage, stage_names
    stage_names()                      # ('transcribe', 'audio-events', 'detect')
    get_stage("detect").settings_type  # VisualSettings
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidqa.errors import StageError

if TYPE_CHECKING:
    from vidqa.pipeline.runner import Job
    from vidqa.store import Store

__all__ = ["Stage", "register", "get_stage", "stage_names", "STAGES"]


@dataclass(frozen=True)
class Stage:
    """One pipeline stage (see the module docstring)."""

    name: str
    description: str
    settings_type: Callable[[], Any]
    compute: Callable[[Job], Sequence[Any]]
    commit: Callable[[Store, str, Sequence[Any], int, Any], int]
    needs_audio: bool = False

    def settings(self, settings: Any = None) -> Any:
        """``settings`` or the defaults; a dict is turned into the settings dataclass (unknown keys refused)."""
        if settings is None:
            return self.settings_type()
        if isinstance(settings, dict):
            cls = getattr(self.settings_type, "cls", self.settings_type)
            fields = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(settings) - fields)
            if unknown:
                raise StageError(f"Unknown settings for stage {self.name}: {unknown}; known: {sorted(fields)}.")
            return cls(**settings)
        return settings

    def settings_dict(self, settings: Any) -> dict[str, Any]:
        """The settings as the dict hashed into ``runs``."""
        if hasattr(settings, "as_dict"):
            return settings.as_dict()
        return dataclasses.asdict(settings)


_REGISTRY: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    """Add a stage (its name must be new)."""
    if stage.name in _REGISTRY:
        raise StageError(f"Stage {stage.name!r} is registered already.")
    _REGISTRY[stage.name] = stage
    return stage


def get_stage(name: str | Stage) -> Stage:
    """A stage by name; an unknown name is a :class:`StageError` listing the known ones."""
    if isinstance(name, Stage):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        raise StageError(f"Unknown stage {name!r}; known: {', '.join(_REGISTRY)}.") from None


def stage_names() -> tuple[str, ...]:
    """The registered stages, in pipeline order."""
    return tuple(_REGISTRY)


# --- the processing core ----------------------------------------------------------------------------------------
def _audio(job: Job):
    from vidqa.media.audio import load_audio
    from vidqa.pipeline.runner import SkipStage

    if not job.video.has_audio or not job.video.audio_path:
        raise SkipStage("the video has no audio track")
    return load_audio(Path(job.root) / job.video.audio_path)


def compute_transcript(job: Job) -> list[Any]:
    """The time-aligned transcript of ``job.video`` (pure)."""
    from vidqa.analyze.transcribe import transcribe

    return transcribe(_audio(job), job.settings, progress=job.progress)


def commit_transcript(store: Store, video_id: str, records: Sequence[Any], run_id: int, settings: Any) -> int:
    sd = dataclasses.asdict(settings)
    return store.replace_transcript(video_id, records, run_id=run_id, backend=sd.get("backend"),
                                    model=sd.get("model"))


def compute_audio_events(job: Job) -> list[Any]:
    """Audio events (whistle, buzzer, crowd, music, speech, silence) of ``job.video`` (pure)."""
    from vidqa.analyze.audio_events import detect_audio_events

    return detect_audio_events(_audio(job), settings=job.settings, progress=job.progress)


def commit_audio_events(store: Store, video_id: str, records: Sequence[Any], run_id: int, settings: Any) -> int:
    return store.replace_audio_events(video_id, records, run_id=run_id)


_DETECTORS: dict[tuple[str, int], Any] = {}
_DETECTORS_LOCK = threading.Lock()


def warm_detector(name: str) -> Any:
    """The detector ``name``, loaded once per process and thread (a worker keeps it across videos; OpenCV's DNN
    net is not safe to share between threads, so each thread that runs the visual stage gets its own)."""
    key = (str(name), threading.get_ident())
    with _DETECTORS_LOCK:
        if key not in _DETECTORS:
            from vidqa.analyze.detect import get_detector

            _DETECTORS[key] = None if str(name).lower() in ("none", "", "off") else get_detector(name)
        return _DETECTORS[key]


def compute_visual(job: Job) -> list[Any]:
    """Objects, regions, text lines, colours, counts and scene cuts of ``job.video`` (pure)."""
    from vidqa.analyze.visual import analyze_visual

    s = job.settings
    return analyze_visual(Path(job.root) / job.video.path, job.video, s, detector=warm_detector(s.detector),
                          progress=job.progress)


def commit_visual(store: Store, video_id: str, records: Sequence[Any], run_id: int, settings: Any) -> int:
    return store.replace_visual_events(video_id, records, run_id=run_id)


def _transcribe_settings():
    from vidqa.analyze.transcribe import TranscribeSettings

    return TranscribeSettings


def _audio_settings():
    from vidqa.analyze.audio_events import AudioEventSettings

    return AudioEventSettings


def _visual_settings():
    from vidqa.analyze.visual import VisualSettings

    return VisualSettings


class _Lazy:
    """A settings class imported on first use (keeps ``import vidqa`` light)."""

    def __init__(self, loader: Callable[[], type]):
        self._loader = loader

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._loader()(*args, **kwargs)

    @property
    def cls(self) -> type:
        return self._loader()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader(), name)


register(Stage("transcribe", "time-aligned transcript (segments and words)", _Lazy(_transcribe_settings),
               compute_transcript, commit_transcript, needs_audio=True))
register(Stage("audio-events", "whistle, buzzer, crowd, music, speech, silence", _Lazy(_audio_settings),
               compute_audio_events, commit_audio_events, needs_audio=True))
register(Stage("detect", "frames, scene cuts, objects, regions, colours, counts, on-screen text",
               _Lazy(_visual_settings), compute_visual, commit_visual))

STAGES = stage_names()
