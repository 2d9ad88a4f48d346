"""SubRip (SRT) export of notes: cues numbered from 1, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, blank-line separated.

SubRip has no escape syntax, so text is written as is, except that a line that could pass for a timing line has its
``-->`` written ``->`` (see the text rules of :mod:`vidqa.annotate.exports`).

Example::

    from vidqa.annotate.exports.srt import to_srt
    to_srt(store.notes(vid))   # '1\\n00:00:01,500 --> 00:00:03,500\\nball enters\\n'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vidqa.annotate.exports.common import clock, cues, subtitle_lines
from vidqa.records import Note, Video

__all__ = ["srt_line", "to_srt"]

_TIMING_LIKE = re.compile(r"^\s*[-+]?\d")


def srt_line(line: str) -> str:
    """A SubRip text line that no reader can take for a timing line.

    >>> srt_line("00:00:09,000 --> 00:00:10,000")
    '00:00:09,000 -> 00:00:10,000'
    """
    if "-->" in line and _TIMING_LIKE.match(line):
        while "-->" in line:
            line = line.replace("-->", "->")
    return line


def to_srt(notes: Sequence[Note], *, video: Video | None = None, default_duration: float = 2.0,
           tags_in_text: bool = False) -> str:
    """SubRip text: cues numbered from 1, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, blank-line separated.

    Example::

        to_srt(store.notes(vid))   # '1\\n00:00:01,500 --> 00:00:03,500\\nball enters\\n'
    """
    blocks = []
    for cue in cues(notes, default_duration, video):
        lines = subtitle_lines(cue.note, tags_in_text)
        if not lines:
            continue
        timing = f"{clock(cue.start_ms, ',')} --> {clock(cue.end_ms, ',')}"
        blocks.append("\n".join([str(len(blocks) + 1), timing, *(srt_line(x) for x in lines)]))
    return "\n\n".join(blocks) + ("\n" if blocks else "")
