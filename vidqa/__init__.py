"""vidqa: turn videos into audio-visual challenge questions that expose where multimodal LLMs fail.

The public API, importable from ``vidqa``:

- :func:`open_store` / :class:`Store`: the SQLite store (one owner of the schema).
- :func:`ingest`: local path, URL or Google Drive link -> a stored, probed :class:`Video`.
- :func:`probe`: what a media file holds.
- :class:`VideoPlayer`: the annotation player widget (imported lazily; needs a Jupyter front-end).

Stage functions (transcribe, audio events, detection) live in their own modules and return records from
:mod:`vidqa.records`; the store writes them.
"""

from __future__ import annotations

from vidqa._version import __version__

from vidqa.errors import VidqaError
from vidqa.pipeline.ingest import ingest  # the function shadows the submodule on purpose: `from vidqa import ingest`
from vidqa.media.probe import probe
from vidqa.records import AudioEvent, MediaFile, Note, Probe, TranscriptSegment, TranscriptWord, Video, VisualEvent
from vidqa.store import Store, open_store

__all__ = [
    "__version__",
    "VidqaError",
    "Store",
    "open_store",
    "ingest",
    "probe",
    "VideoPlayer",
    "Video",
    "Probe",
    "MediaFile",
    "Note",
    "TranscriptSegment",
    "TranscriptWord",
    "AudioEvent",
    "VisualEvent",
]


def __getattr__(name: str):
    # The widget is imported lazily: anywidget/ipywidgets are not needed for batch runs.
    if name == "VideoPlayer":
        from vidqa.widgets.player import VideoPlayer

        return VideoPlayer
    raise AttributeError(f"module 'vidqa' has no attribute {name!r}")
