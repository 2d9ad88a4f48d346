"""Note exports (SRT, WebVTT, CSV, JSON, ELAN EAF) read back by real third-party parsers.

Notes are made through a real Store. Each export is parsed by the library people use for that format (webvtt-py,
pysrt, csv / pandas, json, pympi-ling) and must give back the same times (ms) and text.
"""

from __future__ import annotations

import csv
import html
import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pandas as pd
import pympi
import pysrt
import pytest
import webvtt

from vidqa.annotate.exports import EXPORT_FORMATS, ExportError, export_notes, export_video_notes, import_notes, split_tags
from vidqa.records import Video
from vidqa.store import open_store

XSS = "<img src=x onerror=alert(1)>"
MULTI = 'Comma, "quotes", and\nsecond line'
ARROW = "a --> b & c < d > e"
UNI = "Ünïcödé 日本語 🎉 naïve café"
LATE = "=SUM(A1); after an hour"
PARAS = "para one\n\npara two"

# text -> (cue start ms, cue end ms) by the documented rules (default_duration 2 s, clip to the next later note
# but not below 0.5 s, explicit ends kept, ends clipped to the video's 3725 s).
EXPECTED = {
    "kick-off": (0, 1250),            # next note at 1.25 s cuts the 2 s default
    MULTI: (1250, 3250),              # two notes at the same time: neither cuts the other
    XSS: (1250, 3250),
    ARROW: (5000, 9500),              # explicit end
    PARAS: (20000, 22000),
    UNI: (3723456, 3724000),          # > 1 h; cut at the next note
    LATE: (3724000, 3725000),         # cut at the video's end
}
EMPTY_AT = 10.0  # a voice note still transcribing (no text)


def _video(duration: float = 3725.0) -> Video:
    return Video(id="abc123def456", sha256="ab" * 32, title="Match <final> & more", duration=duration, fps=25.0,
                 is_vfr=False, width=640, height=360, rotation=0, video_codec="h264", audio_codec="aac",
                 audio_tracks=1, has_audio=True, path="media/ab/orig.mkv", play_path="media/ab/play.mp4")


@pytest.fixture
def stored(tmp_path):
    store = open_store(tmp_path / "data" / "vidqa.db")
    video = store.add_video(_video())
    vid = video.id
    store.add_note(vid, 0.0, kind="typed", text="kick-off", tags=["start"], frame_index=0)
    store.add_note(vid, 1.25, kind="typed", text=MULTI, frame_index=31)
    store.add_note(vid, 1.25, kind="typed", text=XSS, tags=["xss", "a;b"])
    store.add_note(vid, 5.0, kind="voice", text=ARROW, status="done", end=9.5)
    store.add_note(vid, EMPTY_AT, kind="voice", status="transcribing")
    store.add_note(vid, 20.0, kind="typed", text=PARAS)
    store.add_note(vid, 3723.456, kind="typed", text=UNI, tags=["unicode ✓"])
    store.add_note(vid, 3724.0, kind="typed", text=LATE)
    gone = store.add_note(vid, 30.0, kind="typed", text="deleted note")
    store.delete_note(gone.id)
    yield store, store.video(vid)
    store.close()


def _ms(stamp: str) -> int:
    h, m, s = stamp.replace(",", ".").split(":")
    return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)


def _subtitle_text(text: str) -> str:
    """What subtitle formats can hold: blank lines dropped."""
    return "\n".join(line for line in text.split("\n") if line.strip())


def test_vtt_reads_back_in_webvtt_py(stored, tmp_path):
    store, video = stored
    notes = store.notes(video.id)
    dest = tmp_path / "out" / "notes.vtt"
    text = export_notes(notes, "vtt", dest, video=video)
    assert dest.read_text(encoding="utf-8") == text
    assert text.startswith("WEBVTT\n\n")

    for captions in (webvtt.read(str(dest)), webvtt.from_buffer(open(dest, encoding="utf-8"))):
        by_text = {}
        for cap in captions:
            # No cue tags survive (text == raw_text): the <img> note is escaped, not markup.
            assert cap.text == cap.raw_text
            by_text[html.unescape(cap.raw_text)] = cap
        assert set(by_text) == {_subtitle_text(t) for t in EXPECTED}  # the empty voice note has no cue
        for original, (start, end) in EXPECTED.items():
            cap = by_text[_subtitle_text(original)]
            assert (_ms(cap.start), _ms(cap.end)) == (start, end), original
            note = next(n for n in notes if n.text == original)
            assert cap.identifier == f"note-{note.id}"
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "a --&gt; b &amp; c &lt; d &gt; e" in text
    # Only timing lines contain "-->" (a literal one in text would start a new cue for a spec parser).
    assert sum("-->" in line for line in text.splitlines()) == len(EXPECTED)


def test_srt_reads_back_in_pysrt(stored, tmp_path):
    store, video = stored
    dest = tmp_path / "notes.srt"
    export_notes(store.notes(video.id), "srt", dest, video=video)
    subs = pysrt.open(str(dest), encoding="utf-8")
    assert [s.index for s in subs] == list(range(1, len(EXPECTED) + 1))
    got = {s.text: (s.start.ordinal, s.end.ordinal) for s in subs}
    assert got == {_subtitle_text(t): span for t, span in EXPECTED.items()}
    assert XSS in got  # literal, unchanged
    assert all(s.end.ordinal > s.start.ordinal for s in subs)
    # cues are in time order
    assert [s.start.ordinal for s in subs] == sorted(s.start.ordinal for s in subs)


def test_srt_and_vtt_tags_in_text(stored):
    store, video = stored
    srt = pysrt.from_string(export_notes(store.notes(video.id), "srt", video=video, tags_in_text=True))
    xss = next(s for s in srt if s.text.startswith(XSS))
    assert xss.text == XSS + "\n[xss] [a;b]"
    vtt = webvtt.from_string(export_notes(store.notes(video.id), "vtt", video=video, tags_in_text=True))
    assert any(html.unescape(c.raw_text) == "kick-off\n[start]" for c in vtt)


def test_csv_reads_back_in_csv_and_pandas(stored, tmp_path):
    store, video = stored
    notes = store.notes(video.id)
    dest = tmp_path / "notes.csv"
    export_notes(notes, "csv", dest, video=video)
    with open(dest, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "start", "end", "start_hms", "text", "status", "tags", "kind", "frame_index",
                             "video_id"]
    assert len(rows) == len(notes)  # every note, including the empty voice note; not the deleted one
    by_id = {int(r["id"]): r for r in rows}
    for note in notes:
        r = by_id[note.id]
        # exact (commas, quotes, newlines, blank lines, unicode), but a would-be formula is shown as text
        assert r["text"] == ("'" + note.text if note.text.startswith("=") else note.text)
        assert r["video_id"] == video.id and r["status"] == note.status and r["kind"] == note.kind
        assert split_tags(r["tags"]) == note.tags
        assert round(float(r["start"]) * 1000) == round(note.t * 1000)
        if note.text in EXPECTED:
            assert (round(float(r["start"]) * 1000), round(float(r["end"]) * 1000)) == EXPECTED[note.text]
        assert r["frame_index"] == ("" if note.frame_index is None else str(note.frame_index))
    assert by_id[next(n.id for n in notes if n.text == UNI)]["start_hms"] == "01:02:03.456"

    df = pd.read_csv(dest, keep_default_na=False, dtype={"text": str, "tags": str})
    assert list(df["text"]) == [("'" + n.text if n.text == LATE else n.text) for n in notes]
    # the opt-out round-trips exactly, formula and all
    export_notes(notes, "csv", dest, video=video, safe=False)
    raw = pd.read_csv(dest, keep_default_na=False, dtype={"text": str, "tags": str})
    assert list(raw["text"]) == [n.text for n in notes]
    assert (df["end"] > df["start"]).all()
    assert df["start"].tolist() == pytest.approx([n.t for n in notes], abs=5e-4)


def test_json_reads_back(stored, tmp_path):
    store, video = stored
    notes = store.notes(video.id)
    dest = tmp_path / "notes.json"
    export_notes(notes, "json", dest, video=video)
    doc = json.loads(dest.read_text(encoding="utf-8"))
    assert doc["video"]["id"] == video.id and doc["video"]["title"] == video.title
    assert doc["video"]["duration"] == video.duration
    assert [d["id"] for d in doc["notes"]] == [n.id for n in notes]
    for d, n in zip(doc["notes"], notes):
        assert d["text"] == n.text and d["t"] == n.t and d["tags"] == n.tags and d["end"] == n.end
        assert d["cue_end"] > d["cue_start"]
        if n.text in EXPECTED:
            assert (round(d["cue_start"] * 1000), round(d["cue_end"] * 1000)) == EXPECTED[n.text]


def test_eaf_loads_in_pympi(stored, tmp_path):
    store, video = stored
    notes = store.notes(video.id)
    dest = tmp_path / "exports" / "notes.eaf"
    export_video_notes(store, video.id, "eaf", dest)
    eaf = pympi.Elan.Eaf(str(dest))

    note_tiers = [t for t in eaf.get_tier_names() if t == "notes" or t.startswith("notes-")]
    assert "notes" in note_tiers and len(note_tiers) == 2  # the two notes at 1.25 s need two tiers
    got = {}
    for tier in note_tiers:
        spans = sorted(eaf.get_annotation_data_for_tier(tier))
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), "overlap within a tier"
        for start, end, value in spans:
            got[value] = (start, end)
    assert len(got) == len(notes)
    for n in notes:
        if n.text in EXPECTED:
            assert got[n.text] == EXPECTED[n.text], n.text
    assert got[""][0] == round(EMPTY_AT * 1000)

    tags = {}
    for tier in (t for t in eaf.get_tier_names() if t.startswith("tags@")):
        assert eaf.tiers[tier][2]["PARENT_REF"] in note_tiers
        for _s, _e, value, parent_value in eaf.get_ref_annotation_data_for_tier(tier):
            tags[parent_value] = value
    assert tags == {"kick-off": "start", XSS: "xss;a\\;b", UNI: "unicode ✓"}

    (md,) = eaf.media_descriptors
    assert md["MEDIA_URL"] == store.abspath(video.play_path).as_uri()
    assert md["MEDIA_URL"].startswith("file:///") and md["MIME_TYPE"] == "video/mp4"
    assert (dest.parent / md["RELATIVE_MEDIA_URL"]).resolve() == store.abspath(video.play_path).resolve()


def test_eaf_structure_follows_the_schema(stored, tmp_path):
    """What EAFv3.0.xsd requires and pympi does not check: element order, ID/IDREF integrity, attribute forms."""
    store, video = stored
    notes = store.notes(video.id)
    text = export_notes(notes, "eaf", tmp_path / "n.eaf", video=video, media_path=tmp_path / "clip.mp4")
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "ANNOTATION_DOCUMENT" and root.get("FORMAT") == "3.0" and root.get("VERSION") == "3.0"
    datetime.fromisoformat(root.get("DATE"))
    order = ["HEADER", "TIME_ORDER", "TIER", "LINGUISTIC_TYPE", "LOCALE", "LANGUAGE", "CONSTRAINT"]
    ranks = [order.index(child.tag) for child in root]
    assert ranks == sorted(ranks) and ranks[:2] == [0, 1]
    assert root.find("HEADER").get("TIME_UNITS") == "milliseconds"
    slots = {ts.get("TIME_SLOT_ID"): int(ts.get("TIME_VALUE")) for ts in root.iter("TIME_SLOT")}
    assert list(slots.values()) == sorted(slots.values())
    ids = [a.get("ANNOTATION_ID") for a in root.iter() if a.get("ANNOTATION_ID")]
    assert len(ids) == len(set(ids))
    for ann in root.iter("ALIGNABLE_ANNOTATION"):
        assert slots[ann.get("TIME_SLOT_REF1")] < slots[ann.get("TIME_SLOT_REF2")]
    for ann in root.iter("REF_ANNOTATION"):
        assert ann.get("ANNOTATION_REF") in ids
    types = {lt.get("LINGUISTIC_TYPE_ID") for lt in root.iter("LINGUISTIC_TYPE")}
    assert {t.get("LINGUISTIC_TYPE_REF") for t in root.iter("TIER")} <= types
    stereotypes = {c.get("STEREOTYPE") for c in root.iter("CONSTRAINT")}
    assert {lt.get("CONSTRAINTS") for lt in root.iter("LINGUISTIC_TYPE") if lt.get("CONSTRAINTS")} <= stereotypes
    values = [v.text or "" for v in root.iter("ANNOTATION_VALUE")]
    assert XSS in values and MULTI in values and PARAS in values  # escaped by XML, intact after parsing
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert root.find("HEADER/MEDIA_DESCRIPTOR").get("RELATIVE_MEDIA_URL") == "./clip.mp4"


def test_import_round_trip(stored, tmp_path):
    store, video = stored
    notes = store.notes(video.id)
    with_text = [n for n in notes if n.text]
    for fmt in ("srt", "vtt", "csv", "json"):
        path = tmp_path / f"notes.{fmt}"
        export_notes(notes, fmt, path, video=video)
        back = import_notes(path)
        if fmt in ("srt", "vtt"):
            assert [d["text"] for d in back] == [_subtitle_text(n.text) for n in with_text], fmt
            assert [round(d["t"] * 1000) for d in back] == [round(n.t * 1000) for n in with_text], fmt
        else:
            assert [d["text"] for d in back] == [n.text for n in notes], fmt
            assert [d["tags"] for d in back] == [n.tags for n in notes], fmt
            assert [d["t"] for d in back] == pytest.approx([n.t for n in notes], abs=5e-4)
        if fmt != "srt":
            assert [d["id"] for d in back] == [n.id for n in (with_text if fmt == "vtt" else notes)], fmt
        # and into a fresh store
        other = open_store(tmp_path / fmt / "vidqa.db")
        vid = other.add_video(_video()).id
        for d in back:
            other.add_note(vid, d["t"], end=d["end"], kind="typed", text=d["text"], tags=d["tags"])
        assert [n.text for n in other.notes(vid) if n.text] == [d["text"] for d in back if d["text"]]
        other.close()


def test_cue_lengths_are_positive_and_clip_to_next_note(tmp_path):
    store = open_store(tmp_path / "vidqa.db")
    vid = store.add_video(_video(duration=10.0)).id
    for t in (0.0, 0.1, 0.1, 3.0, 9.9995, 12.0):  # 12 s is past the video's end
        store.add_note(vid, t, kind="typed", text=f"at {t}")
    store.add_note(vid, 4.0, kind="typed", text="bad end", end=3.0)  # end before start: ignored
    notes = store.notes(vid)
    subs = pysrt.from_string(export_notes(notes, "srt", video=store.video(vid)))
    got = [(s.text, s.start.ordinal, s.end.ordinal) for s in subs]
    assert got.count(("at 0.1", 100, 2100)) == 2  # same time: neither cuts the other; 3 s is later than 2.1 s
    assert ("at 0.0", 0, 500) in got  # next note 0.1 s later: kept at the 0.5 s minimum
    assert ("at 3.0", 3000, 4000) in got
    assert ("bad end", 4000, 6000) in got
    assert ("at 9.9995", 10000, 10001) in got  # rounds onto the end: still 1 ms long
    assert ("at 12.0", 12000, 14000) in got  # starts after the video's end: not clipped
    assert all(end > start for _, start, end in got)
    with pytest.raises(ExportError):
        export_notes(notes, "srt", default_duration=0)
    store.close()


def test_write_is_atomic_and_formats_checked(stored, tmp_path):
    store, video = stored
    notes = store.notes(video.id)
    dest = tmp_path / "keep.srt"
    dest.write_text("previous export\n", encoding="utf-8")
    with pytest.raises(ExportError, match="srt, vtt, csv, json, eaf"):
        export_notes(notes, "docx", dest)
    with pytest.raises(ExportError):
        export_notes(notes, "vtt", dest, default_duration=-1)
    with pytest.raises(ExportError, match="Cannot write"):
        export_notes(notes, "srt", tmp_path)  # a folder, not a file
    assert dest.read_text(encoding="utf-8") == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "keep.srt"]  # no temp files left
    for fmt in EXPORT_FORMATS:
        out = tmp_path / "all" / f"n.{fmt.upper()}"
        assert export_notes(notes, fmt.upper(), out, video=video, data_dir=store.root) == \
            out.read_bytes().decode("utf-8")
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(f"n.{f.upper()}" for f in EXPORT_FORMATS)


def test_empty_notes_export_valid_files(tmp_path):
    assert export_notes([], "srt") == ""
    assert list(webvtt.from_string(export_notes([], "vtt"))) == []
    assert list(csv.reader(export_notes([], "csv").splitlines())) == [list(
        "id start end start_hms text status tags kind frame_index video_id".split())]
    assert json.loads(export_notes([], "json"))["notes"] == []
    path = tmp_path / "empty.eaf"
    export_notes([], "eaf", path)
    eaf = pympi.Elan.Eaf(str(path))
    assert "notes" in eaf.get_tier_names() and eaf.get_annotation_data_for_tier("notes") == []
    assert Path(path).stat().st_size > 0
