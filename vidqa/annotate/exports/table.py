"""Table exports of notes (CSV, JSON), their readers, and the CSV-injection safety of every vidqa CSV.

CSV cells that a spreadsheet would run as a formula get a leading ``'`` by default (:func:`csv_cell`, OWASP's advice
against CSV injection); :func:`csv_uncell` removes exactly that one quote again, so a round trip is exact.

Example::

    from vidqa.annotate.exports.table import csv_cell, to_csv, to_json
    csv_cell("=1+2")   # "'=1+2" (shown as text, never run)
    text = to_csv(notes, video=video)
    doc = json.loads(to_json(notes))
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from vidqa.annotate.exports.common import clock, cues, join_tags, split_tags
from vidqa.errors import ExportError
from vidqa.records import Note, Video, as_row

__all__ = ["CSV_COLUMNS", "CSV_FORMULA_START", "csv_cell", "csv_uncell", "read_csv", "read_json", "to_csv",
           "to_json"]

CSV_COLUMNS = ("id", "start", "end", "start_hms", "text", "status", "tags", "kind", "frame_index", "video_id")
"""CSV header. ``start``/``end`` are seconds (3 decimals); ``tags`` as :func:`join_tags` writes them."""

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""Cell starts a spreadsheet may run as a formula (OWASP's list plus the full-width forms)."""
_QUOTED_FORMULA = re.compile("^'+[=+\\-@\t\r\uff1d\uff0b\uff0d\uff20]")


def csv_cell(value: object, safe: bool = True) -> str:
    """``value`` as a CSV cell; with ``safe`` a would-be formula is neutralised with a leading ``'``.

    >>> print(csv_cell('=HYPERLINK("http://x", "click")'))
    '=HYPERLINK("http://x", "click")
    >>> csv_cell("-5 dB", safe=False)
    '-5 dB'
    """
    text = "" if value is None else str(value)
    if safe and (text.startswith(CSV_FORMULA_START) or _QUOTED_FORMULA.match(text)):
        return "'" + text
    return text


def csv_uncell(text: str) -> str:
    """Inverse of :func:`csv_cell` with ``safe=True``."""
    if text.startswith("'") and _QUOTED_FORMULA.match(text):
        return text[1:]
    return text


def to_csv(notes: Sequence[Note], *, video: Video | None = None, default_duration: float = 2.0,
           safe: bool = True) -> str:
    """CSV with the header :data:`CSV_COLUMNS` (RFC 4180 quoting; newlines kept).

    With ``safe`` (default) cells that would start a spreadsheet formula get a leading ``'`` (:func:`csv_cell`);
    ``safe=False`` writes every text exactly.

    Example::

        pandas.read_csv(io.StringIO(to_csv(notes)))
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for cue in cues(notes, default_duration, video):
        n = cue.note
        row = [n.id, f"{cue.start_ms / 1000:.3f}", f"{cue.end_ms / 1000:.3f}", clock(cue.start_ms, "."),
               n.text, n.status, join_tags(n.tags), n.kind,
               "" if n.frame_index is None else n.frame_index, n.video_id]
        writer.writerow([csv_cell(v, safe) for v in row])
    return buf.getvalue()


def to_json(notes: Sequence[Note], *, video: Video | None = None, default_duration: float = 2.0) -> str:
    """JSON object ``{"format": "vidqa-notes", "version": 1, "video": {...} | null, "notes": [...]}``.

    Each note is every :class:`~vidqa.records.Note` field plus ``cue_start``/``cue_end`` (seconds, the exported
    span) and ``start_hms``.
    """
    items = []
    for cue in cues(notes, default_duration, video):
        row = as_row(cue.note)
        row.update(cue_start=cue.start_ms / 1000, cue_end=cue.end_ms / 1000, start_hms=clock(cue.start_ms, "."))
        items.append(row)
    doc = {"format": "vidqa-notes", "version": 1, "exported_at": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "video": as_row(video) if video is not None else None, "notes": items}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def read_csv(text: str, name: str, *, safe: bool = True) -> list[dict[str, Any]]:
    """Note dicts of a CSV export's ``text`` (``name`` is the file's name, for messages).

    Example::

        read_csv(to_csv(notes), "notes.csv")[0]["t"]
    """
    rows = []
    for r in csv.DictReader(io.StringIO(text, newline="")):
        if safe:
            r = {k: csv_uncell(v) if isinstance(v, str) else v for k, v in r.items()}
        if "start" not in r or "text" not in r:
            raise ExportError(f"{name} lacks the start/text columns of a vidqa CSV export.")
        rows.append({
            **r,
            "id": int(r["id"]) if r.get("id") else None,
            "t": float(r["start"]),
            "end": float(r["end"]) if r.get("end") else None,
            "tags": split_tags(r.get("tags") or ""),
            "frame_index": int(r["frame_index"]) if r.get("frame_index") else None,
        })
    return rows


def read_json(text: str, name: str) -> list[dict[str, Any]]:
    """Note dicts of a JSON export's ``text`` (a ``{"notes": [...]}`` document or a bare list).

    Example::

        read_json(to_json(notes), "notes.json")
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ExportError(f"{name} is not valid JSON: {err}") from err
    items = doc.get("notes") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ExportError(f"{name} holds no list of notes.")
    return [dict(item) for item in items]
