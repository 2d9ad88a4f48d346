"""What the model receives: the *transport*, recorded with every answer.

============================  =====================================================================================
``native_video``              the video file with the window as start/end offsets (Gemini reads it natively); deaf
                              and counterfactual variants send a re-encoded window clip instead
``frames_audio``              frames sampled in the window (within the provider's image and size limits, each
                              labelled with its time) plus the window's audio as 16 kHz WAV bytes
``frames_transcript``         the same frames plus the window's transcript as text
``text``                      the question with vidqa's own cues as text (speech, sounds, what was seen): the cascade
                              for text-only models such as the local SmolLM2
============================  =====================================================================================

Gate conditions (:mod:`~vidqa.evaluate.gate`) strip a modality: ``deaf`` keeps frames only (visual cues only for
``text``), ``blind`` keeps audio or transcript only, ``question_only`` keeps no media. Counterfactuals
(:mod:`~vidqa.evaluate.counterfactual`) change the audio of the transports that carry it.

Frames and audio come from :mod:`~vidqa.evaluate.window` (PyAV, the window only, memoised), so the rotations and
conditions of one question decode it once.

Example::

    from vidqa.evaluate.transports import QuestionMedia, build_media, TransportSettings
    media = QuestionMedia(video_path="clip.mp4", video_sha256=None, duration=20.0, transcript=segments)
    bundle = build_media("frames_transcript", "full", "none", question, media, caps)
    [p.kind for p in bundle.parts]      # ['text', 'text', 'image', 'text', 'image', ..., 'text']
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidqa.errors import MediaError, VidqaError
from vidqa.evaluate.counterfactual import mute_span, shifted_window
from vidqa.evaluate.window import SAMPLE_RATE, wav_bytes, window_audio, window_frames, write_clip
from vidqa.providers.base import Capabilities, Part, audio_part, image_part, text_part, video_part
from vidqa.records import AudioEvent, TranscriptSegment, VisualEvent
from vidqa.records.questions import Question

__all__ = ["FRAME_TRANSPORTS", "MediaBundle", "QuestionMedia", "TransportSettings", "UnsupportedTransport",
           "build_media", "cue_lines", "default_transport", "unsupported_reason", "wav_bytes", "window_audio",
           "window_frames", "write_clip"]

TRANSPORT_NAMES = ("native_video", "frames_audio", "frames_transcript", "text")
FRAME_TRANSPORTS = ("native_video", "frames_audio", "frames_transcript")
AUDIO_TRANSPORTS = ("native_video", "frames_audio")


class UnsupportedTransport(VidqaError):
    """The model cannot take what this transport / condition sends (recorded ``unsupported``, never scored)."""


@dataclass
class QuestionMedia:
    """The media and stored cues of one question's video, as the pipeline hands them to the pure layer.

    ``audio_path`` is the stored 16 kHz mono WAV (else the audio is decoded from ``video_path``); the cue lists may
    hold the whole video's cues or only those near the window (they are filtered to the window here).
    """

    video_path: str | None
    video_sha256: str | None = None
    duration: float = 0.0
    audio_path: str | None = None
    has_audio: bool = True
    rotation: int = 0
    transcript: list[TranscriptSegment] = field(default_factory=list)
    audio_events: list[AudioEvent] = field(default_factory=list)
    visual_events: list[VisualEvent] = field(default_factory=list)


@dataclass(frozen=True)
class TransportSettings:
    """How media are sampled; every field changes what the model sees, so all are hashed into the settings."""

    frames: int = 4
    """Frames sampled in the window (capped by the provider's ``max_images``)."""
    max_side: int = 768
    """Longest side of a frame in pixels."""
    jpeg_quality: int = 80
    clip_max_side: int = 480
    """Longest side of a re-encoded window clip (deaf / counterfactual ``native_video``)."""
    max_cue_lines: int = 40
    """Lines of cues in the ``text`` transport."""


@dataclass
class MediaBundle:
    """The parts that describe the window (the question block is added by the caller), and what went in."""

    parts: list[Part]
    frame_times: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def media_hashes(self) -> list[str]:
        return [p.media_hash() or "" for p in self.parts if p.kind != "text"]


def default_transport(caps: Capabilities) -> str:
    """The richest transport a model takes: native video, else frames + audio, else frames + transcript, else text."""
    if caps.video:
        return "native_video"
    if caps.image and caps.audio:
        return "frames_audio"
    if caps.image:
        return "frames_transcript"
    return "text"


def unsupported_reason(transport: str, caps: Capabilities, condition: str = "full") -> str | None:
    """Why a model with ``caps`` cannot take ``transport`` under ``condition``, or ``None`` when it can."""
    if transport not in TRANSPORT_NAMES:
        raise VidqaError(f"Unknown transport {transport!r}; known: {', '.join(TRANSPORT_NAMES)}.")
    if condition == "question_only":
        return None
    need: list[str] = []
    if condition in ("full", "deaf") and transport in FRAME_TRANSPORTS:
        need.append("video" if transport == "native_video" and condition == "full" else "image")
    if condition in ("full", "blind") and transport in AUDIO_TRANSPORTS:
        need.append("audio" if not (transport == "native_video" and condition == "full") else "video")
    missing = [k for k in dict.fromkeys(need) if not getattr(caps, k)]
    if missing:
        return f"the model takes no {' or '.join(missing)} input"
    return None


# --- cues as text ----------------------------------------------------------------------------------------------
def _overlaps(a0: float, a1: float | None, t0: float, t1: float) -> bool:
    return a0 <= t1 and (a1 if a1 is not None else a0) >= t0


def _span(a: float, b: float | None) -> str:
    return f"[{a:.1f} s]" if b is None or abs(b - a) < 0.05 else f"[{a:.1f}-{b:.1f} s]"


def transcript_lines(segments: Sequence[TranscriptSegment], t0: float, t1: float) -> list[str]:
    """The words spoken in the window, one line per segment (words outside the window trimmed)."""
    lines = []
    for s in segments:
        if not _overlaps(s.start, s.end, t0, t1):
            continue
        if s.words:
            words = [w for w in s.words if _overlaps(w.start, w.end, t0, t1)]
            if not words:
                continue
            text = " ".join(w.word.strip() for w in words).strip()
            a, b = words[0].start, words[-1].end
        else:
            text, a, b = s.text.strip(), s.start, s.end
        if text:
            lines.append(f'{_span(a, b)} "{text}"')
    return lines


def _visual_line(key: tuple, spans: list[tuple[float, float | None]], n: int) -> str:
    kind, label, colour, extra = key
    a = min(s[0] for s in spans)
    b = max((s[1] if s[1] is not None else s[0]) for s in spans)
    if kind == "text":
        return f'{_span(a, b)} on-screen text "{label}"'
    if kind == "count":
        return f"{_span(a, b)} {extra} {colour + ' ' if colour else ''}{label}(s) visible"
    if kind == "scene_cut":
        return f"{_span(a, None)} scene cut"
    if kind == "colour":
        return f"{_span(a, b)} colour of a {label}: {colour}" + (f" (seen in {n} frames)" if n > 1 else "")
    what = f"{colour} {label}" if colour else label
    noun = "object" if kind == "object" else ("shape" if kind == "region" else kind)
    return f"{_span(a, b)} {noun}: {what}" + (f" (seen in {n} frames)" if n > 1 else "")


def cue_lines(media: QuestionMedia, t0: float, t1: float, *, speech: bool = True, sounds: bool = True,
              seen: bool = True, max_lines: int = 40) -> list[str]:
    """vidqa's own cues of the window as text: what was said, heard and seen (repeats merged, at most
    ``max_lines`` lines of what was seen)."""
    out: list[str] = []
    if speech:
        said = transcript_lines(media.transcript, t0, t1)
        out += ["Speech:"] + [f"  {s}" for s in said] if said else ["Speech: none detected"]
    if sounds:
        heard = [e for e in media.audio_events if _overlaps(e.start, e.end, t0, t1) and e.kind != "silence"]
        out += (["Sounds:"] + [f"  {_span(e.start, e.end)} {e.kind} (confidence {e.confidence:.2f})"
                               for e in heard[:max_lines]]) if heard else ["Sounds: none detected"]
    if seen:
        groups: dict[tuple, list[tuple[float, float | None]]] = {}
        for e in media.visual_events:
            if not _overlaps(e.t, e.end, t0, t1):
                continue
            attrs = e.attributes if isinstance(e.attributes, dict) else {}
            if e.kind == "colour":  # a colour event's label is the colour; the object it belongs to is an attribute
                key = ("colour", str(attrs.get("object") or "object"), e.label, None)
            else:
                key = (e.kind, e.label, attrs.get("colour"), attrs.get("count") if e.kind == "count" else None)
            groups.setdefault(key, []).append((e.t, e.end))
        lines = sorted(((min(s[0] for s in spans), _visual_line(k, spans, len(spans))) for k, spans in groups.items()))
        lines_text = [line for _, line in lines][:max_lines]
        out += (["Seen:"] + [f"  {line}" for line in lines_text]) if lines_text else ["Seen: nothing detected"]
    return out


# --- the bundle ------------------------------------------------------------------------------------------------
def _window(question: Question, media: QuestionMedia) -> tuple[float, float]:
    t0 = max(0.0, float(question.t_start))
    t1 = float(question.t_end)
    if media.duration:
        t1 = min(t1, media.duration)
    if t1 - t0 < 0.1:
        t1 = t0 + 0.1
    return t0, t1


def _frame_parts(media: QuestionMedia, t0: float, t1: float, caps: Capabilities, s: TransportSettings,
                 budget: int | None) -> tuple[list[Part], list[float], list[str]]:
    if not media.video_path:
        raise MediaError("This question has no video file to sample frames from.")
    n = s.frames if caps.max_images is None else max(1, min(s.frames, caps.max_images))
    notes = [f"frames capped at {n} (provider limit)"] if n < s.frames else []
    side, quality = s.max_side, s.jpeg_quality
    while True:
        frames = window_frames(str(media.video_path), round(t0, 3), round(t1, 3), n, max_side=side,
                               quality=quality, rotation=media.rotation)
        size = sum(len(b) for _, b in frames) * 4 // 3 + 2048
        if budget is None or size <= budget or side <= 160:
            break
        side, quality = max(160, int(side * 0.7)), max(40, quality - 10)
        notes.append(f"frames shrunk to {side} px / quality {quality} to fit the request-size limit")
    parts: list[Part] = []
    for t, data in frames:
        parts += [text_part(f"Frame at {t:.1f} s:"), image_part(data, "image/jpeg")]
    return parts, [t for t, _ in frames], notes


def _audio_for(media: QuestionMedia, question: Question, t0: float, t1: float, counterfactual: str
               ) -> tuple[np.ndarray, list[str]]:
    cue = question.audio_cue
    if counterfactual == "none":
        return window_audio(media, t0, t1), []
    if counterfactual == "muted":
        return mute_span(window_audio(media, t0, t1), SAMPLE_RATE, window=(t0, t1), span=(cue.start, cue.end)), []
    if counterfactual == "shifted":
        other = shifted_window(media.duration or t1, (t0, t1), (cue.start, cue.end))
        if other is None:
            return (mute_span(window_audio(media, t0, t1), SAMPLE_RATE, window=(t0, t1), span=(cue.start, cue.end)),
                    ["no stretch of the video without the cue is long enough: the cue was muted instead"])
        return window_audio(media, *other), [f"audio taken from {other[0]:.1f}-{other[1]:.1f} s"]
    raise VidqaError(f"Unknown counterfactual {counterfactual!r}; known: none, muted, shifted.")


def _clip(media: QuestionMedia, t0: float, t1: float, audio: np.ndarray | None, s: TransportSettings,
          work_dir: str | os.PathLike[str] | None) -> Part:
    if not media.video_path:
        raise MediaError("This question has no video file to cut a clip from.")
    key = hashlib.sha256(repr((media.video_sha256 or str(media.video_path), round(t0, 3), round(t1, 3),
                               s.clip_max_side, media.rotation,
                               None if audio is None else hashlib.sha256(
                                   np.asarray(audio, np.float32).tobytes()).hexdigest())).encode()).hexdigest()[:20]
    folder = Path(work_dir) if work_dir else Path(os.environ.get("TMPDIR", "/tmp")) / "vidqa-eval-clips"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"clip-{key}.mp4"
    if not out.is_file():
        write_clip(str(media.video_path), t0, t1, out, audio=audio, max_side=s.clip_max_side,
                   rotation=media.rotation)
    return video_part(out, mime="video/mp4")


def build_media(transport: str, condition: str, counterfactual: str, question: Question, media: QuestionMedia,
                caps: Capabilities, settings: TransportSettings | None = None, *,
                work_dir: str | os.PathLike[str] | None = None) -> MediaBundle:
    """The parts describing ``question``'s window for ``transport`` under gate ``condition`` and ``counterfactual``.

    Raises :class:`~vidqa.errors.MediaError` when the media needed are missing (the call is then recorded as an
    error, never scored). ``work_dir`` holds re-encoded clips (default a temporary folder).
    """
    s = settings or TransportSettings()
    t0, t1 = _window(question, media)
    reason = unsupported_reason(transport, caps, condition)
    if reason:
        raise UnsupportedTransport(f"{transport} under {condition}: {reason}.")
    if counterfactual != "none" and (transport not in AUDIO_TRANSPORTS or condition != "full"):
        raise UnsupportedTransport(f"Counterfactual audio applies to frames_audio / native_video under the full condition, "
                         f"not {transport} / {condition}.")
    budget = int(caps.max_request_bytes * 0.9) if caps.max_request_bytes else None
    parts: list[Part] = []
    times: list[float] = []
    notes: list[str] = []
    if condition == "question_only":
        return MediaBundle([text_part("No media of the window are given: answer from the question alone.")])
    if transport == "text":
        lines = cue_lines(media, t0, t1, speech=condition != "deaf", sounds=condition != "deaf",
                          seen=condition != "blind", max_lines=s.max_cue_lines)
        head = {"full": "What vidqa detected automatically in the window (may contain errors):",
                "deaf": "What vidqa saw in the window (automatic, may contain errors; no sound is given):",
                "blind": "What vidqa heard in the window (automatic, may contain errors; no picture is given):"}
        return MediaBundle([text_part("\n".join([head[condition], *lines]))])
    if transport == "native_video" and condition == "full":
        if counterfactual == "none":
            if not media.video_path:
                raise MediaError("This question has no video file to send.")
            parts.append(text_part("The video follows; look at the window only."))
            parts.append(video_part(media.video_path, t0, t1, sha256=media.video_sha256))
            return MediaBundle(parts, notes=notes)
        samples, notes = _audio_for(media, question, t0, t1, counterfactual)
        parts.append(text_part("A clip of the window follows (it starts at the window's start)."))
        parts.append(_clip(media, t0, t1, samples, s, work_dir))
        return MediaBundle(parts, notes=notes)
    if condition in ("full", "deaf"):
        audio_bytes = 0
        if condition == "full" and transport in AUDIO_TRANSPORTS:
            audio_bytes = int((t1 - t0) * SAMPLE_RATE * 2 * 4 / 3)
        frame_budget = None if budget is None else max(0, budget - audio_bytes)
        frame_parts, times, notes = _frame_parts(media, t0, t1, caps, s, frame_budget)
        parts.append(text_part(f"{len(times)} frames sampled from the window follow, each after its time."))
        parts += frame_parts
    if condition in ("full", "blind"):
        if transport in AUDIO_TRANSPORTS:
            samples, more = _audio_for(media, question, t0, t1, counterfactual)
            notes += more
            parts.append(text_part("The window's audio (16 kHz WAV, starting at the window's start):"))
            parts.append(audio_part(wav_bytes(samples)))
        else:  # frames_transcript
            said = transcript_lines(media.transcript, t0, t1)
            parts.append(text_part("Transcript of the window (automatic):\n" + ("\n".join(said) if said else
                                                                                 "(no speech detected)")))
    if condition == "deaf":
        parts.append(text_part("No sound is given."))
    elif condition == "blind":
        parts.append(text_part("No picture is given."))
    return MediaBundle(parts, times, notes)
