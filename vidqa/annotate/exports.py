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

Example::

    from vidqa.annotate.exports import export_notes, export_video_notes
    text = export_notes(store.notes(video.id), "vtt", "out/notes.vtt", video=video)
    export_video_notes(store, video.id, "eaf", "out/notes.eaf")   # media path resolved in the store's folder
    export_notes(notes, "eaf", "out/notes.eaf", video=video, data_dir=store.root)
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import mimetypes
import os
import re
import tempfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vidqa.errors import ExportError
from vidqa.records import Note, Video, as_row

EXPORT_FORMATS = ("srt", "vtt", "csv", "json", "eaf")
"""Formats :func:`export_notes` writes."""

MIN_CUE_S = 0.5
"""Shortest cue (seconds) that clipping to the next note may leave."""

CSV_COLUMNS = ("id", "start", "end", "start_hms", "text", "status", "tags", "kind", "frame_index", "video_id")
"""CSV header. ``start``/``end`` are seconds (3 decimals); ``tags`` as :func:`join_tags` writes them."""

EAF_TIER = "notes"


# --- timing ------------------------------------------------------------------------------------------------------
@dataclass
class _Cue:
    note: Note
    start_ms: int
    end_ms: int


def _ms(seconds: float) -> int:
    return int(round(max(0.0, float(seconds)) * 1000.0))


def _cues(notes: Sequence[Note], default_duration: float, video: Video | None) -> list[_Cue]:
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
        start_ms = _ms(t)
        out.append(_Cue(note, start_ms, max(_ms(end), start_ms + 1)))
    return out


def _clock(ms: int, sep: str) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def hms(seconds: float) -> str:
    """``HH:MM:SS.mmm`` of a time in seconds, e.g. ``hms(3723.5) == "01:02:03.500"``."""
    return _clock(_ms(seconds), ".")


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


_LINE_BREAKS = re.compile("\r\n|[\r\v\f\x85\u2028\u2029]")
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ufffe\uffff\ud800-\udfff]")
_TIMING_LIKE = re.compile(r"^\s*[-+]?\d")


def subtitle_text(text: str) -> list[str]:
    """The lines of ``text`` as a subtitle cue may hold them: controls removed, line breaks unified, blank lines
    dropped (see the module's text rules).

    >>> subtitle_text("a\\x00b\\r\\n\\r\\nc\\u2028d")
    ['ab', 'c', 'd']
    """
    text = _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text or ""))
    return [line for line in text.split("\n") if line.strip()]


def _srt_line(line: str) -> str:
    """A SubRip text line that no reader can take for a timing line."""
    if "-->" in line and _TIMING_LIKE.match(line):
        while "-->" in line:
            line = line.replace("-->", "->")
    return line


def _subtitle_lines(note: Note, tags_in_text: bool) -> list[str]:
    lines = subtitle_text(note.text)
    if tags_in_text and note.tags:
        lines.extend(subtitle_text(" ".join(f"[{tag}]" for tag in note.tags)))
    return lines


# --- formats -----------------------------------------------------------------------------------------------------
def to_srt(notes: Sequence[Note], *, video: Video | None = None, default_duration: float = 2.0,
           tags_in_text: bool = False) -> str:
    """SubRip text: cues numbered from 1, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, blank-line separated.

    Example::

        to_srt(store.notes(vid))   # '1\\n00:00:01,500 --> 00:00:03,500\\nball enters\\n'
    """
    blocks = []
    for cue in _cues(notes, default_duration, video):
        lines = _subtitle_lines(cue.note, tags_in_text)
        if not lines:
            continue
        timing = f"{_clock(cue.start_ms, ',')} --> {_clock(cue.end_ms, ',')}"
        blocks.append("\n".join([str(len(blocks) + 1), timing, *(_srt_line(x) for x in lines)]))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _vtt_escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(notes: Sequence[Note], *, video: Video | None = None, default_duration: float = 2.0,
           tags_in_text: bool = False) -> str:
    """WebVTT text: ``WEBVTT`` header, cue identifiers ``note-<id>``, ``HH:MM:SS.mmm`` times, escaped text.

    Example::

        to_vtt(notes)   # 'WEBVTT\\n\\nnote-3\\n00:00:01.500 --> 00:00:03.500\\nx &lt; y\\n'
    """
    blocks = ["WEBVTT"]
    for cue in _cues(notes, default_duration, video):
        lines = _subtitle_lines(cue.note, tags_in_text)
        if not lines:
            continue
        timing = f"{_clock(cue.start_ms, '.')} --> {_clock(cue.end_ms, '.')}"
        blocks.append("\n".join([f"note-{cue.note.id}", timing, *(_vtt_escape(x) for x in lines)]))
    return "\n\n".join(blocks) + "\n"


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
    for cue in _cues(notes, default_duration, video):
        n = cue.note
        row = [n.id, f"{cue.start_ms / 1000:.3f}", f"{cue.end_ms / 1000:.3f}", _clock(cue.start_ms, "."),
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
    for cue in _cues(notes, default_duration, video):
        row = as_row(cue.note)
        row.update(cue_start=cue.start_ms / 1000, cue_end=cue.end_ms / 1000, start_hms=_clock(cue.start_ms, "."))
        items.append(row)
    doc = {"format": "vidqa-notes", "version": 1, "exported_at": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "video": as_row(video) if video is not None else None, "notes": items}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


_XML_BAD = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _XML_BAD.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _media_uri(media_path: str | Path | None, video: Video | None, data_dir: str | Path | None) -> Path | None:
    """The absolute media file an EAF links to: ``media_path``, else the video's file under ``data_dir``."""
    if media_path is not None:
        return Path(media_path).expanduser().resolve()
    if video is not None:
        p = Path(video.play_path or video.path)
        if not p.is_absolute():
            if data_dir is None:
                raise ExportError(
                    f"Cannot link the EAF to the video file: its path {p.as_posix()!r} is relative to the data folder."
                    " Pass media_path= (the video file) or data_dir= (the database's folder, e.g. store.root), or use"
                    " export_video_notes(store, ...)."
                )
            p = Path(data_dir).expanduser().resolve() / p
        return p
    return None


def _lanes(cues: list[_Cue]) -> list[list[_Cue]]:
    """Overlapping cues on separate lanes (ELAN forbids overlaps within one tier)."""
    lanes: list[list[_Cue]] = []
    for cue in cues:
        for lane in lanes:
            if lane[-1].end_ms <= cue.start_ms:
                lane.append(cue)
                break
        else:
            lanes.append([cue])
    return lanes


def to_eaf(notes: Sequence[Note], *, video: Video | None = None, default_duration: float = 2.0,
           media_path: str | Path | None = None, eaf_path: str | Path | None = None,
           data_dir: str | Path | None = None) -> str:
    """ELAN annotation document (EAF 3.0 XML) with the notes on tier ``notes``.

    Notes that overlap go to extra tiers ``notes-2``, ``notes-3`` ... (ELAN does not allow overlaps within a tier).
    Tags go to a child tier ``tags@<tier>`` (Symbolic_Association, as :func:`join_tags` writes them).
    Annotation ids are ``note-<id>``. ``media_path`` (default: the video's ``play_path`` under ``data_dir``; a
    relative path without ``data_dir`` raises :class:`ExportError` rather than guess) becomes the MEDIA_DESCRIPTOR's
    ``file://`` URL; ``eaf_path`` (where the file will live) adds a ``RELATIVE_MEDIA_URL``.

    Example::

        to_eaf(notes, video=video, media_path=store.abspath(video.play_path))
        to_eaf(notes, video=video, data_dir=store.root)
    """
    cues = _cues(notes, default_duration, video)
    now = datetime.now(timezone.utc).astimezone()
    root = ET.Element("ANNOTATION_DOCUMENT", {
        "AUTHOR": "vidqa", "DATE": now.isoformat(timespec="seconds"), "FORMAT": "3.0", "VERSION": "3.0",
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd",
    })
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    media = _media_uri(media_path, video, data_dir)
    if media is not None:
        mime = mimetypes.guess_type(media.name)[0] or "unknown"
        attrs = {"MEDIA_URL": media.as_uri(), "MIME_TYPE": mime}
        if eaf_path is not None:
            rel = os.path.relpath(media, Path(eaf_path).expanduser().resolve().parent)
            attrs["RELATIVE_MEDIA_URL"] = Path(rel).as_posix() if rel.startswith("..") else "./" + Path(rel).as_posix()
        ET.SubElement(header, "MEDIA_DESCRIPTOR", attrs)
    ET.SubElement(header, "PROPERTY", {"NAME": "URN"}).text = f"urn:nl-mpi-tools-elan-eaf:{uuid.uuid4()}"
    last_id = ET.SubElement(header, "PROPERTY", {"NAME": "lastUsedAnnotationId"})

    time_order = ET.SubElement(root, "TIME_ORDER")
    bounds = sorted((ms, i, side) for i, c in enumerate(cues) for side, ms in ((0, c.start_ms), (1, c.end_ms)))
    slot: dict[tuple[int, int], str] = {}
    for k, (ms, i, side) in enumerate(bounds, start=1):
        slot[(i, side)] = f"ts{k}"
        ET.SubElement(time_order, "TIME_SLOT", {"TIME_SLOT_ID": f"ts{k}", "TIME_VALUE": str(ms)})

    index = {id(c): i for i, c in enumerate(cues)}
    n_annotations = 0
    any_tags = False
    for lane_no, lane in enumerate(_lanes(cues) or [[]], start=1):  # an empty export still has its tier
        tier_id = EAF_TIER if lane_no == 1 else f"{EAF_TIER}-{lane_no}"
        tier = ET.SubElement(root, "TIER", {"LINGUISTIC_TYPE_REF": "default-lt", "TIER_ID": tier_id})
        tagged = []
        for cue in lane:
            i = index[id(cue)]
            ann = ET.SubElement(ET.SubElement(tier, "ANNOTATION"), "ALIGNABLE_ANNOTATION", {
                "ANNOTATION_ID": f"note-{cue.note.id}", "TIME_SLOT_REF1": slot[(i, 0)],
                "TIME_SLOT_REF2": slot[(i, 1)]})
            ET.SubElement(ann, "ANNOTATION_VALUE").text = _xml_text(cue.note.text)
            n_annotations += 1
            if cue.note.tags:
                tagged.append(cue)
        if tagged:
            any_tags = True
            tag_tier = ET.SubElement(root, "TIER", {"LINGUISTIC_TYPE_REF": "tags-lt", "PARENT_REF": tier_id,
                                                    "TIER_ID": f"tags@{tier_id}"})
            for cue in tagged:
                ann = ET.SubElement(ET.SubElement(tag_tier, "ANNOTATION"), "REF_ANNOTATION", {
                    "ANNOTATION_ID": f"tags-{cue.note.id}", "ANNOTATION_REF": f"note-{cue.note.id}"})
                ET.SubElement(ann, "ANNOTATION_VALUE").text = _xml_text(join_tags(cue.note.tags))
                n_annotations += 1
    last_id.text = str(n_annotations)

    ET.SubElement(root, "LINGUISTIC_TYPE", {"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": "default-lt",
                                            "TIME_ALIGNABLE": "true"})
    if any_tags:
        ET.SubElement(root, "LINGUISTIC_TYPE", {"CONSTRAINTS": "Symbolic_Association", "GRAPHIC_REFERENCES": "false",
                                                "LINGUISTIC_TYPE_ID": "tags-lt", "TIME_ALIGNABLE": "false"})
    ET.SubElement(root, "LOCALE", {"COUNTRY_CODE": "US", "LANGUAGE_CODE": "en"})
    ET.SubElement(root, "LANGUAGE", {"LANG_DEF": "http://cdb.iso.org/lg/CDB-00130975-001", "LANG_ID": "eng",
                                     "LANG_LABEL": "English (eng)"})
    for stereotype, description in (
        ("Time_Subdivision", "Time subdivision of parent annotation's time interval, no time gaps allowed within "
                             "this interval"),
        ("Symbolic_Subdivision", "Symbolic subdivision of a parent annotation. Annotations refering to the same "
                                 "parent are ordered"),
        ("Symbolic_Association", "1-1 association with a parent annotation"),
        ("Included_In", "Time alignable annotations within the parent annotation's time interval, gaps are allowed"),
    ):
        ET.SubElement(root, "CONSTRAINT", {"DESCRIPTION": description, "STEREOTYPE": stereotype})
    ET.indent(root, space="    ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- entry points ------------------------------------------------------------------------------------------------
def _write_atomic(dest: Path, text: str) -> None:
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
    text = {"srt": to_srt, "vtt": to_vtt, "csv": to_csv, "json": to_json, "eaf": to_eaf}[key](notes, **kw)
    if dest is not None:
        try:
            _write_atomic(Path(dest).expanduser(), text)
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


# --- import (round trip) -----------------------------------------------------------------------------------------
_TIMING = re.compile(r"^\s*((?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})")
_TAG = re.compile(r"<[^>]*>")


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    value = 0.0
    for p in parts:
        value = value * 60 + float(p)
    return round(value, 3)


def _read_cues(text: str, vtt: bool) -> list[dict[str, Any]]:
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
        return _read_cues(text, key == "vtt")
    if key == "csv":
        rows = []
        for r in csv.DictReader(io.StringIO(text, newline="")):
            if safe:
                r = {k: csv_uncell(v) if isinstance(v, str) else v for k, v in r.items()}
            if "start" not in r or "text" not in r:
                raise ExportError(f"{p.name} lacks the start/text columns of a vidqa CSV export.")
            rows.append({
                **r,
                "id": int(r["id"]) if r.get("id") else None,
                "t": float(r["start"]),
                "end": float(r["end"]) if r.get("end") else None,
                "tags": split_tags(r.get("tags") or ""),
                "frame_index": int(r["frame_index"]) if r.get("frame_index") else None,
            })
        return rows
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ExportError(f"{p.name} is not valid JSON: {err}") from err
    items = doc.get("notes") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ExportError(f"{p.name} holds no list of notes.")
    return [dict(item) for item in items]


__all__ = ["EXPORT_FORMATS", "ExportError", "export_notes", "export_video_notes", "import_notes", "to_csv",
           "to_eaf", "to_json", "to_srt", "to_vtt", "hms", "join_tags", "split_tags", "csv_cell", "csv_uncell",
           "subtitle_text"]
