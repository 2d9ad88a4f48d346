"""Dataclass records that stages return and :mod:`vidqa.store` writes.

Stage functions are pure (media in, records out); only the store writes. Times are always seconds (float) of
media presentation time; ``frame_index`` is kept beside the time where it is meaningful, never instead of it
(variable-frame-rate video makes frame numbers ambiguous).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def as_row(record: Any) -> dict[str, Any]:
    """A record as a plain dict (nested dataclasses become dicts too)."""
    return dataclasses.asdict(record)


@dataclass
class Probe:
    """What PyAV says about a media file."""

    duration: float
    """Seconds."""
    fps: float | None
    """Average frame rate (frames / duration)."""
    is_vfr: bool
    width: int
    """Display width after rotation."""
    height: int
    """Display height after rotation."""
    rotation: int
    """Degrees clockwise the stored frames must be turned for display (0/90/180/270)."""
    video_codec: str
    audio_codec: str | None
    audio_tracks: int
    container: str
    n_frames: int | None = None
    bit_rate: int | None = None

    @property
    def has_audio(self) -> bool:
        return self.audio_tracks > 0


@dataclass
class MediaFile:
    """A file in the content-addressed media folder."""

    role: str
    """``original``, ``proxy``, ``audio`` or ``note_audio``."""
    path: str
    """Relative to the data folder."""
    sha256: str
    size: int
    mime: str | None = None
    codec: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Video:
    id: str
    sha256: str
    title: str
    duration: float
    fps: float | None
    is_vfr: bool
    width: int
    height: int
    rotation: int
    video_codec: str
    audio_codec: str | None
    audio_tracks: int
    has_audio: bool
    path: str
    """Original file, relative to the data folder."""
    play_path: str
    """Browser-playable file (the original or an H.264 proxy), relative to the data folder."""
    audio_path: str | None = None
    """16 kHz mono WAV, relative to the data folder; ``None`` when the video has no audio."""
    audio_track: int | None = None
    audio_coverage: float | None = None
    size: int = 0
    created_at: str | None = None
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        """Human-readable lines about this video (what the CLI and the demo print after ingest)."""
        fps = f"{self.fps:.3f}" if self.fps else "?"
        lines = [
            f"video {self.id}  {self.title}",
            f"  duration {self.duration:.3f} s, {self.width}x{self.height}, {fps} fps"
            f"{' (VFR)' if self.is_vfr else ''}, rotation {self.rotation}",
            f"  codecs: video {self.video_codec}, audio {self.audio_codec or '-'}"
            f" ({self.audio_tracks} audio track(s){', no audio: audio stages skip it' if not self.has_audio else ''})",
            f"  original {self.path}",
        ]
        if self.play_path != self.path:
            lines.append(f"  browser proxy {self.play_path}")
        if self.audio_path:
            cov = f", coverage {self.audio_coverage:.0%}" if self.audio_coverage is not None else ""
            lines.append(f"  audio 16 kHz {self.audio_path} (track {self.audio_track}{cov})")
        lines += [f"  warning: {w}" for w in self.warnings]
        return lines


@dataclass
class TranscriptWord:
    start: float
    end: float
    word: str
    probability: float | None = None


@dataclass
class TranscriptSegment:
    start: float
    end: float
    text: str
    words: list[TranscriptWord] = field(default_factory=list)
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    language: str | None = None


@dataclass
class AudioEvent:
    kind: str
    """``whistle``, ``buzzer``, ``crowd``, ``music``, ``speech``, ``silence`` ..."""
    start: float
    end: float
    peak: float
    confidence: float
    labels: list[tuple[str, float]] = field(default_factory=list)
    """Top AudioSet labels with their scores."""


@dataclass
class VisualEvent:
    """One visual cue: an object, a salient region (shape), a text line, a colour, a count run or a scene cut.

    ``t`` is where the cue starts (media seconds), ``end`` where it stops being seen (``None`` for an instant,
    such as a scene cut); ``box`` is where it is (normalised), ``track_id`` ties detections of one object
    across frames. Kinds and what their ``attributes`` hold are documented in the README's data model.
    """

    t: float
    kind: str
    """``object``, ``region``, ``text``, ``colour``, ``count`` or ``scene_cut``."""
    label: str
    confidence: float
    frame_index: int | None = None
    box: tuple[float, float, float, float] | None = None
    """(x0, y0, x1, y1), normalised to 0..1 of the displayed frame."""
    attributes: dict[str, Any] = field(default_factory=dict)
    end: float | None = None
    """End of the span the cue holds (media seconds), ``None`` for an instant."""
    track_id: int | None = None
    """Track this detection belongs to (same object across frames), when tracked."""


@dataclass
class Note:
    id: int
    video_id: str
    t: float
    """Media time of the stamp (after the look-back), seconds."""
    frame_index: int | None
    kind: str
    """``voice`` or ``typed``."""
    text: str
    status: str
    """``recording``, ``pending``, ``transcribing``, ``done``, ``error`` or ``typed``."""
    error: str | None = None
    audio_path: str | None = None
    tags: list[str] = field(default_factory=list)
    backend: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    end: float | None = None
    """End of the span the note covers, when known (e.g. stamp + recording length)."""
    audio_mime: str | None = None
    """Media type of the voice recording (``audio/webm;codecs=opus`` ...), when there is one."""


@dataclass
class Run:
    id: int
    stage: str
    video_id: str | None
    settings: dict[str, Any]
    settings_hash: str
    status: str
    started_at: str
    finished_at: str | None = None
    seconds: float | None = None
    media_seconds: float | None = None
    n_records: int | None = None
    error: str | None = None
    unit: str | None = None
    """What the run worked on: a video id, or a composite key (question x model x route) for evaluation."""
