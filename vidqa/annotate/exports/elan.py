"""ELAN annotation file (EAF 3.0 XML) export of notes: tier ``notes`` (plus ``notes-2``... for overlaps), tags on a
child tier, and a link to the media file.

The functions never guess where the data folder is: give ``media_path`` (the video file) or ``data_dir`` (the
folder holding the database, against which the video's stored relative paths resolve).

Example::

    from vidqa.annotate.exports.elan import to_eaf
    xml = to_eaf(notes, video=video, data_dir=store.root)
"""

from __future__ import annotations

import mimetypes
import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from vidqa.annotate.exports.common import Cue, cues, join_tags
from vidqa.errors import ExportError
from vidqa.records import Note, Video

__all__ = ["EAF_TIER", "media_uri", "to_eaf", "xml_text"]

EAF_TIER = "notes"
"""Name of the first notes tier (overlapping notes go to ``notes-2``, ``notes-3`` ...)."""

_XML_BAD = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` as XML 1.0 can hold it: ``\\r\\n``/``\\r`` become ``\\n``, forbidden characters are dropped.

    >>> xml_text("a\\x00b\\r\\nc")
    'ab\\nc'
    """
    return _XML_BAD.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def media_uri(media_path: str | Path | None, video: Video | None, data_dir: str | Path | None) -> Path | None:
    """The absolute media file an EAF links to: ``media_path``, else the video's file under ``data_dir``.

    Example::

        media_uri(None, video, store.root)   # PosixPath('/data/videos/3f2a.mp4')
    """
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


def _lanes(cue_list: list[Cue]) -> list[list[Cue]]:
    """Overlapping cues on separate lanes (ELAN forbids overlaps within one tier)."""
    lanes: list[list[Cue]] = []
    for cue in cue_list:
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
    spans = cues(notes, default_duration, video)
    now = datetime.now(timezone.utc).astimezone()
    root = ET.Element("ANNOTATION_DOCUMENT", {
        "AUTHOR": "vidqa", "DATE": now.isoformat(timespec="seconds"), "FORMAT": "3.0", "VERSION": "3.0",
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd",
    })
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    media = media_uri(media_path, video, data_dir)
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
    bounds = sorted((ms, i, side) for i, c in enumerate(spans) for side, ms in ((0, c.start_ms), (1, c.end_ms)))
    slot: dict[tuple[int, int], str] = {}
    for k, (ms, i, side) in enumerate(bounds, start=1):
        slot[(i, side)] = f"ts{k}"
        ET.SubElement(time_order, "TIME_SLOT", {"TIME_SLOT_ID": f"ts{k}", "TIME_VALUE": str(ms)})

    index = {id(c): i for i, c in enumerate(spans)}
    n_annotations = 0
    any_tags = False
    for lane_no, lane in enumerate(_lanes(spans) or [[]], start=1):  # an empty export still has its tier
        tier_id = EAF_TIER if lane_no == 1 else f"{EAF_TIER}-{lane_no}"
        tier = ET.SubElement(root, "TIER", {"LINGUISTIC_TYPE_REF": "default-lt", "TIER_ID": tier_id})
        tagged = []
        for cue in lane:
            i = index[id(cue)]
            ann = ET.SubElement(ET.SubElement(tier, "ANNOTATION"), "ALIGNABLE_ANNOTATION", {
                "ANNOTATION_ID": f"note-{cue.note.id}", "TIME_SLOT_REF1": slot[(i, 0)],
                "TIME_SLOT_REF2": slot[(i, 1)]})
            ET.SubElement(ann, "ANNOTATION_VALUE").text = xml_text(cue.note.text)
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
                ET.SubElement(ann, "ANNOTATION_VALUE").text = xml_text(join_tags(cue.note.tags))
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
