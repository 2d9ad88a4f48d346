"""Export a video's notes as subtitles (SRT, WebVTT), tables (CSV, JSON) or an ELAN annotation file (EAF).

Every exporter is pure (notes in, text out); :func:`export_notes` also writes the text to a file atomically (temp
name, then rename), so a failed export never leaves half a file behind. :func:`import_notes` reads SRT, VTT, CSV and
JSON exports back (round trip).

Timing rules, the same in every format (times are rounded to whole milliseconds):

- a cue starts at ``note.t`` (negative times become 0);
- it ends at ``note.end`` when the note has an end after its start; otherwise at ``t + default_duration``, cut
  short at the start of the next note that starts *later* (so cues of quick successive notes do not pile up), but
  never shorter than :data:`MIN_CUE_S` (or ``default_duration`` when that is smaller);
- with a ``video`` given, an end past the video's duration is cut to the duration (when the note starts before it);
- every cue lasts at least 1 ms: no zero or negative lengths.

Text rules (what is guaranteed):

- JSON and EAF keep ``note.text`` exactly (EAF drops only characters XML 1.0 cannot hold and turns ``\\r\\n`` into
  ``\\n``).
- CSV keeps the text exactly *except* that, by default, a cell starting with ``=`` ``+`` ``-`` ``@``, tab or carriage
  return (or their full-width forms) gets a leading ``'`` so that a spreadsheet shows it as text instead of running
  it as a formula (OWASP's advice against CSV injection: ``=HYPERLINK(...)`` in a note never runs when a reviewer
  opens the file). A cell that already starts with ``'`` before such a character gets one more, so
  :func:`import_notes` (which removes exactly one) gives every text back unchanged. ``safe=False`` (CLI
  ``--raw-csv``) writes cells verbatim, for tools that need exact bytes and never open the file in a spreadsheet.
- SRT/VTT hold one cue per note and nothing a note contains can add, end or corrupt a cue: control characters
  (NUL, escape, DEL, C1 controls, lone surrogates, BOMs) are removed, other line breaks (``\\r``, vertical tab, form
  feed, U+0085, U+2028/2029) become newlines, blank lines are dropped (a blank line would end the cue), notes with
  no text left are skipped (nothing to show). WebVTT text is escaped as the spec requires (``&`` ``<`` ``>`` become
  ``&amp;`` ``&lt;`` ``&gt;``), so ``<img src=x onerror=alert(1)>`` or ``-->`` are shown as literal text. SubRip has
  no escape syntax (players do not decode entities), so SRT text is written as is, except that a line that could
  pass for a timing line (it starts with a number and contains ``-->``, e.g. ``00:00:09,000 --> 00:00:10,000``) has
  its ``-->`` written ``->``. FFmpeg's readers (PyAV), pysrt and webvtt-py read exactly one cue per note back.

Tags go to CSV/JSON columns and to an EAF child tier; ``tags_in_text=True`` also appends them to subtitle cues as a
last line ``[tag] [tag]``.

Media link (EAF): the functions never guess where the data folder is. Give ``media_path`` (the video file) or
``data_dir`` (the folder holding the database, against which the video's stored relative paths resolve);
:func:`export_video_notes` passes the store's own folder.

One module per format: :mod:`.srt`, :mod:`.webvtt`, :mod:`.table` (CSV, JSON and the CSV safety), :mod:`.elan`;
:mod:`.common` holds the shared timing/text/tag helpers. Import from this package: its names are the stable API.

Example::

    from vidqa.annotate.exports import export_notes, export_video_notes
    text = export_notes(store.notes(video.id), "vtt", "out/notes.vtt", video=video)
    export_video_notes(store, video.id, "eaf", "out/notes.eaf")   # media path resolved in the store's folder
    export_notes(notes, "eaf", "out/notes.eaf", video=video, data_dir=store.root)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidqa.annotate.exports.common import MIN_CUE_S, hms, join_tags, read_cues, split_tags, subtitle_text, write_atomic
from vidqa.annotate.exports.elan import EAF_TIER, to_eaf
from vidqa.annotate.exports.srt import to_srt
from vidqa.annotate.exports.table import (
    CSV_COLUMNS,
    CSV_FORMULA_START,
    csv_cell,
    csv_uncell,
    read_csv,
    read_json,
    to_csv,
    to_json,
)
from vidqa.annotate.exports.webvtt import to_vtt
from vidqa.errors import ExportError
from vidqa.records import Note, Video

__all__ = ["EXPORT_FORMATS", "ExportError", "export_notes", "export_video_notes", "import_notes", "to_csv",
           "to_eaf", "to_json", "to_srt", "to_vtt", "hms", "join_tags", "split_tags", "csv_cell", "csv_uncell",
           "subtitle_text", "MIN_CUE_S", "CSV_COLUMNS", "CSV_FORMULA_START", "EAF_TIER"]

EXPORT_FORMATS = ("srt", "vtt", "csv", "json", "eaf")
"""Formats :func:`export_notes` writes."""

_WRITERS = {"srt": to_srt, "vtt": to_vtt, "csv": to_csv, "json": to_json, "eaf": to_eaf}


def export_notes(
    notes: Sequence[Note],
    fmt: str,
    dest: str | Path | None = None,
    *,
    video: Video | None = None,
    default_duration: float = 2.0,
    tags_in_text: bool = False,
    media_path: str | Path | None = None,
    data_dir: str | Path | None = None,
    safe: bool = True,
) -> str:
    """Notes as ``fmt`` (one of :data:`EXPORT_FORMATS`); also written atomically to ``dest`` when given.

    ``video`` adds metadata (JSON), the media link (EAF) and clips cues to its duration. ``tags_in_text`` appends
    ``[tag]`` lines to SRT/VTT cues. ``media_path`` is the video file EAF links to, or ``data_dir`` the folder its
    stored relative paths are in (see :func:`to_eaf`). ``safe=False`` writes CSV cells verbatim (no formula
    neutralising, see :func:`csv_cell`). Raises :class:`ExportError` for an unknown format; the previous ``dest``
    stays intact when anything fails.

    Example::

        srt_text = export_notes(store.notes(vid), "srt", "exports/game.srt", video=store.video(vid))
    """
    key = (fmt or "").lower().lstrip(".")
    if key not in EXPORT_FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}.")
    kw: dict[str, Any] = {"video": video, "default_duration": default_duration}
    if key in ("srt", "vtt"):
        kw["tags_in_text"] = tags_in_text
    if key == "eaf":
        kw.update(media_path=media_path, eaf_path=dest, data_dir=data_dir)
    if key == "csv":
        kw["safe"] = safe
    text = _WRITERS[key](notes, **kw)
    if dest is not None:
        try:
            write_atomic(Path(dest).expanduser(), text)
        except OSError as err:
            raise ExportError(f"Cannot write the {key.upper()} export to {dest}: {err.strerror or err}") from err
    return text


def export_video_notes(store: Any, video_id: str, fmt: str, dest: str | Path | None = None, **kw: Any) -> str:
    """:func:`export_notes` for a stored video: its (non-deleted) notes, its metadata and its playable file (in the
    store's own folder, whatever database that is).

    Example::

        export_video_notes(store, "3f2a9c1b0d4e", "eaf", "exports/3f2a.eaf")
    """
    video = store.video(video_id)
    kw.setdefault("data_dir", store.root)
    if kw.get("media_path") is None:
        kw["media_path"] = store.abspath(video.play_path or video.path)
    return export_notes(store.notes(video.id), fmt, dest, video=video, **kw)


def import_notes(path: str | Path, fmt: str | None = None, *, safe: bool = True) -> list[dict[str, Any]]:
    """Read notes back from an SRT, VTT, CSV or JSON export (format from ``fmt`` or the file's suffix).

    Returns dicts with at least ``id`` (``None`` when unknown), ``t``, ``end``, ``text`` and ``tags`` (plus the
    other columns CSV/JSON carry), ready for ``store.add_note(video_id, d["t"], text=d["text"], ...)``.
    SRT/VTT ids come from ``note-<id>`` cue identifiers; VTT entities are decoded and cue tags removed. CSV cells
    lose the ``'`` a safe export put before a would-be formula (``safe=False`` reads them verbatim).

    Example::

        for d in import_notes("exports/game.vtt"):
            store.add_note(vid, d["t"], end=d["end"], kind="typed", text=d["text"])
    """
    p = Path(path)
    key = (fmt or p.suffix).lower().lstrip(".")
    if key not in ("srt", "vtt", "csv", "json"):
        raise ExportError(f"Cannot import {p.name}: format {key!r} is not one of srt, vtt, csv, json.")
    try:
        with open(p, encoding="utf-8-sig", newline="") as f:  # keep a CR inside a CSV cell
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ExportError(f"Cannot read {p}: {err}") from err
    if key in ("srt", "vtt"):
        if key == "vtt" and not text.lstrip("\ufeff").startswith("WEBVTT"):
            raise ExportError(f"{p.name} is not WebVTT (no WEBVTT header).")
        return read_cues(text, key == "vtt")
    if key == "csv":
        return read_csv(text, p.name, safe=safe)
    return read_json(text, p.name)
