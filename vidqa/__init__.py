"""vidqa: turn videos into audio-visual challenge questions that expose where multimodal LLMs fail.

The public API (what notebooks and scripts use; everything else is an implementation detail):

- :func:`open_store` / :class:`Store`, :func:`locate_db`: the SQLite store (one owner of the schema).
- :func:`ingest`: local path, URL or Google Drive link -> a stored, probed :class:`Video`. :func:`probe`.
- :func:`process` and :func:`run_stage`: the processing core (transcript, audio events, visual cues) as
  registered stages (:func:`stage_names`), with :class:`TranscribeSettings`, :class:`AudioEventSettings`,
  :class:`VisualSettings`, :class:`CoreSettings`.
- :class:`VideoPlayer`: the annotation player widget; :class:`ReviewWidget`: the review widget (both imported
  lazily; they need a Jupyter front-end); :func:`submit_review`, :func:`queue_second_review`,
  :func:`review_agreement`.
- :mod:`vidqa.report`: read-only tables and Plotly figures.

Example::

    from vidqa import open_store, ingest, process
    store = open_store("data/vidqa.db")
    video = ingest("data/samples/sample.mp4", store)
    for result in process(store, video):
        print(result.summary())
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from vidqa._version import __version__
from vidqa.config import bundled_sample, locate_db
from vidqa.errors import VidqaError
from vidqa.records import AudioEvent, MediaFile, Note, Probe, TranscriptSegment, TranscriptWord, Video, VisualEvent

# name -> module: imported on first use, so `import vidqa` stays light (no PyAV, models or widgets loaded).
_LAZY = {
    "Store": "vidqa.store",
    "open_store": "vidqa.store",
    "ingest": "vidqa.pipeline.ingest",
    "probe": "vidqa.media.probe",
    "process": "vidqa.pipeline.process",
    "CoreSettings": "vidqa.pipeline.process",
    "process_many": "vidqa.pipeline.distributed",
    "run_stage": "vidqa.pipeline.runner",
    "StageResult": "vidqa.pipeline.runner",
    "stage_names": "vidqa.pipeline.registry",
    "TranscribeSettings": "vidqa.analyze.transcribe",
    "AudioEventSettings": "vidqa.analyze.audio_events",
    "VisualSettings": "vidqa.analyze.visual",
    "VideoPlayer": "vidqa.widgets.player",
    "ReviewWidget": "vidqa.widgets.review",
    "Question": "vidqa.records.questions",
    "Review": "vidqa.records.questions",
    "generate_all_questions": "vidqa.pipeline.questions",
    "generate_video_questions": "vidqa.pipeline.questions",
    "question_bias_stats": "vidqa.questions.options",
    "export_questions": "vidqa.questions.export",
    "load_ontology": "vidqa.questions.ontology",
    "evaluate_questions": "vidqa.pipeline.evaluate",
    "evaluation_results": "vidqa.pipeline.evaluate",
    "evaluation_frame": "vidqa.pipeline.evaluate",
    "submit_review": "vidqa.pipeline.review",
    "queue_second_review": "vidqa.pipeline.review",
    "review_agreement": "vidqa.pipeline.review",
}

_ALIASES = {"review_agreement": "agreement", "question_bias_stats": "bias_stats"}

__all__ = [
    "__version__", "VidqaError", "locate_db", "bundled_sample",
    "Video", "Probe", "MediaFile", "Note", "TranscriptSegment", "TranscriptWord", "AudioEvent", "VisualEvent",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vidqa' has no attribute {name!r}")
    value = getattr(import_module(module), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
