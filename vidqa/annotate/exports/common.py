"""What every note export shares: cue timing, clock strings, tag lists, subtitle text rules, atomic writes.

Timing and text rules are described in :mod:`vidqa.annotate.exports`; this module is their one implementation.

Example::

    from vidqa.annotate.exports.common import cues, clock, hms
    for cue in cues(notes, 2.0, video):
        print(clock(cue.start_ms, ","), cue.note.text)
    hms(3723.5)   # '01:02:03.500'
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidqa.errors import ExportError
from vidqa.records import Note, Video

__all__ = ["MIN_CUE_S", "Cue", "clock", "cues", "hms", "join_tags", "read_cues", "split_tags",
           "subtitle_lines", "subtitle_text", "to_ms",
           "write_atomic"]

MIN_CUE_S = 0.5
"""Shortest cue (seconds) that clipping to the next note may leave."""


# --- timing ------------------------------------------------------------------------------------------------------
@dataclass
class Cue:
    """One note's exported span, in whole milliseconds."""

    note: Note
    start_ms: int
    end_ms: int


def to_ms(seconds: float) -> int:
    """Whole milliseconds of a time in seconds (negative times become 0)."""
    return int(round(max(0.0, float(seconds)) * 1000.0))


def cues(notes: Sequence[Note], default_duration: float, video: Video | None) -> list[Cue]:
    """The notes' cues in time order, following the timing rules of :mod:`vidqa.annotate.exports`."""
    if not default_duration > 0:
        raise ExportError(f"default_duration must be > 0 seconds, got {default_duration!r}.")
    ordered = sorted(notes, key=lambda n: (float(n.t), n.id))
    starts = [max(0.0, float(n.t)) for n in ordered]
    duration = float(video.duration) if video is not None and video.duration else None
    out = []
    for i, note in enumerate(ordered):
        t = starts[i]
        if note.end is not None and float(note.end) > t:
            end = float(note.end)
        else:
            end = t + default_duration
            later = next((s for s in starts[i + 1:] if s > t), None)
            if later is not None and later < end:
                end = max(later, t + min(MIN_CUE_S, default_duration))
        if duration is not None and t < duration < end:
            end = duration
        start_ms = to_ms(t)
        out.append(Cue(note, start_ms, max(to_ms(end), start_ms + 1)))
    return out


def clock(ms: int, sep: str) -> str:
    """``HH:MM:SS<sep>mmm`` of a time in milliseconds (``sep`` is ``,`` for SRT, ``.`` elsewhere)."""
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def hms(seconds: float) -> str:
    """``HH:MM:SS.mmm`` of a time in seconds, e.g. ``hms(3723.5) == "01:02:03.500"``."""
    return clock(to_ms(seconds), ".")


# --- tags --------------------------------------------------------------------------------------------------------
def join_tags(tags: Sequence[str]) -> str:
    """Tags as one ``;``-separated string (``\\`` and ``;`` inside a tag are backslash-escaped)."""
    return ";".join(t.replace("\\", "\\\\").replace(";", "\\;") for t in tags)


def split_tags(value: str) -> list[str]:
    """Inverse of :func:`join_tags`."""
    tags, cur, chars = [], [], iter(value or "")
    for ch in chars:
        if ch == "\\":
            cur.append(next(chars, ""))
        elif ch == ";":
            tags.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    tags.append("".join(cur))
    return [t for t in tags if t]


# --- subtitle text -----------------------------------------------------------------------------------------------
_LINE_BREAKS = re.compile("\r\n|[\r\v\f\x85\u2028\u2029]")
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ufffe\uffff\ud800-\udfff]")


def subtitle_text(text: str) -> list[str]:
    """The lines of ``text`` as a subtitle cue may hold them: controls removed, line breaks unified, blank lines
    dropped (see the text rules of :mod:`vidqa.annotate.exports`).

    >>> subtitle_text("a\\x00b\\r\\n\\r\\nc\\u2028d")
    ['ab', 'c', 'd']
    """
    text = _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text or ""))
    return [line for line in text.split("\n") if line.strip()]


def subtitle_lines(note: Note, tags_in_text: bool) -> list[str]:
    """A note's cue lines (:func:`subtitle_text`), plus a ``[tag] [tag]`` line when ``tags_in_text``."""
    lines = subtitle_text(note.text)
    if tags_in_text and note.tags:
        lines.extend(subtitle_text(" ".join(f"[{tag}]" for tag in note.tags)))
    return lines


# --- reading subtitles back (SRT and WebVTT share the cue layout) ------------------------------------------------
_TIMING = re.compile(r"^\s*((?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})")
_TAG = re.compile(r"<[^>]*>")


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    value = 0.0
    for p in parts:
        value = value * 60 + float(p)
    return round(value, 3)


def read_cues(text: str, vtt: bool) -> list[dict[str, Any]]:
    """Note dicts (``id``, ``t``, ``end``, ``text``, ``tags``) of SRT (``vtt=False``) or WebVTT text.

    >>> read_cues("1\\n00:00:01,500 --> 00:00:03,500\\nball\\n", vtt=False)[0]["t"]
    1.5
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for block in re.split(r"\n[ \t]*\n", text):
        lines = block.strip("\n").split("\n")
        k = next((i for i, line in enumerate(lines[:2]) if _TIMING.match(line)), None)
        if k is None:
            continue  # header, NOTE/STYLE/REGION block, or junk
        ident = lines[0].strip() if k == 1 else None
        m = _TIMING.match(lines[k])
        body = lines[k + 1:]
        if vtt:
            body = [html.unescape(_TAG.sub("", line)) for line in body]
        note_id = None
        if ident:
            found = re.fullmatch(r"note-(\d+)", ident)
            note_id = int(found.group(1)) if found else None
        out.append({"id": note_id, "t": _seconds(m.group(1)), "end": _seconds(m.group(2)), "text": "\n".join(body),
                    "tags": []})
    return out


# --- files -------------------------------------------------------------------------------------------------------
def write_atomic(dest: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``dest`` via a temp file and a rename: never half a file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
