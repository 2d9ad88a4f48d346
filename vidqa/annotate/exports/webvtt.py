"""WebVTT export of notes: ``WEBVTT`` header, cue identifiers ``note-<id>``, ``HH:MM:SS.mmm`` times, escaped text.

Text is escaped as the spec requires (``&`` ``<`` ``>``), so markup in a note is shown as literal text.

Example::

    from vidqa.annotate.exports.webvtt import to_vtt
    to_vtt(notes)   # 'WEBVTT\\n\\nnote-3\\n00:00:01.500 --> 00:00:03.500\\nx &lt; y\\n'
"""

from __future__ import annotations

from collections.abc import Sequence

from vidqa.annotate.exports.common import clock, cues, subtitle_lines
from vidqa.records import Note, Video

__all__ = ["to_vtt", "vtt_escape"]


def vtt_escape(line: str) -> str:
    """``line`` with ``&`` ``<`` ``>`` as WebVTT character references.

    >>> vtt_escape("<b>x & y</b>")
    '&lt;b&gt;x &amp; y&lt;/b&gt;'
    """
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(notes: Sequence[Note], *, video: Video | None = None, default_duration: float = 2.0,
           tags_in_text: bool = False) -> str:
    """WebVTT text: ``WEBVTT`` header, cue identifiers ``note-<id>``, ``HH:MM:SS.mmm`` times, escaped text.

    Example::

        to_vtt(notes)   # 'WEBVTT\\n\\nnote-3\\n00:00:01.500 --> 00:00:03.500\\nx &lt; y\\n'
    """
    blocks = ["WEBVTT"]
    for cue in cues(notes, default_duration, video):
        lines = subtitle_lines(cue.note, tags_in_text)
        if not lines:
            continue
        timing = f"{clock(cue.start_ms, '.')} --> {clock(cue.end_ms, '.')}"
        blocks.append("\n".join([f"note-{cue.note.id}", timing, *(vtt_escape(x) for x in lines)]))
    return "\n\n".join(blocks) + "\n"
