"""ELAN-style cue tiers as plain data: what the pipeline found, one row per kind of cue, for a timeline under a video.

:func:`build_tiers` turns stored cue records into a list of tiers (JSON-safe dicts, what ``widgets/tiers.js``
draws)::

    {"id": "transcript", "name": "Transcript", "kind": "transcript",
     "items": [{"start": 0.4, "end": 3.2, "label": "A black dog ...", "kind": "speech"}, ...]}

Tiers, in this order, each only when it has items: ``transcript`` (segments; ``words`` too when asked), ``audio``
(audio events), ``object:<label>`` (objects and shape regions, one tier per label: detections of one track or of
one label close in time and in one shot are merged into one span that keeps the first box and lasts until the
next sampled frame), ``count`` (count runs), ``colour``,
``text`` (OCR lines), ``scene_cut`` (instants) and ``notes``. Every item has ``start``, ``end`` (equal for an
instant), ``label`` and ``kind``; ``box`` (normalised ``[x0, y0, x1, y1]``) and ``confidence`` when known.
Labels are data to be shown as text, never markup.

Example::

    >>> from vidqa.records import AudioEvent
    >>> tiers = build_tiers(audio_events=[AudioEvent("whistle", 3.8, 4.8, 4.2, 0.7)])
    >>> tiers[0]["id"], tiers[0]["items"][0]["label"]
    ('audio', 'whistle')
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from vidqa.records import AudioEvent, Note, TranscriptSegment, VisualEvent

__all__ = ["MERGE_GAP_S", "build_tiers", "tier_items_at"]

MERGE_GAP_S = 1.5
"""Detections of one object less than this apart (seconds) are drawn as one span."""

_OBJECT_KINDS = ("object", "region")


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


def _item(start: float, end: float | None, label: str, kind: str, **extra: Any) -> dict[str, Any]:
    s = float(start)
    e = float(end) if end is not None else s
    out: dict[str, Any] = {"start": _r(s), "end": _r(max(s, e)), "label": str(label), "kind": kind}
    for k, v in extra.items():
        if v is not None:
            out[k] = [round(float(x), 4) for x in v] if k == "box" else v
    return out


def _overlaps(item: dict[str, Any], start: float | None, end: float | None) -> bool:
    if item["start"] == item["end"]:  # an instant: inside the span, edges included
        return (end is None or item["start"] <= end) and (start is None or item["start"] >= start)
    return (end is None or item["start"] < end) and (start is None or item["end"] > start)


def _sample_step(events: Iterable[VisualEvent]) -> float:
    """The typical time between sampled frames (median gap between distinct detection times), 0 when unknown."""
    times = sorted({round(e.t, 3) for e in events})
    gaps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    return gaps[len(gaps) // 2] if gaps else 0.0


def _merge_runs(events: list[VisualEvent], gap: float, kind: str,
                cuts: Sequence[float] = (), step: float = 0.0) -> list[dict[str, Any]]:
    """One span per run of detections of one track (or one label) with gaps of at most ``gap`` seconds and no
    scene cut in between. A detection without an ``end`` holds until the next sampled frame (``step`` later), so a
    run ends there (never across a cut)."""
    groups: dict[Any, list[VisualEvent]] = {}
    for e in sorted(events, key=lambda e: (e.t, e.label)):
        key = ("track", e.track_id) if e.track_id is not None else ("label", e.label.strip().lower())
        groups.setdefault(key, []).append(e)
    out = []
    for evs in groups.values():
        run: list[VisualEvent] = []
        run_end = -1.0
        for e in evs + [None]:  # type: ignore[list-item]
            if e is not None and run and e.t - run_end <= gap and not any(run_end < c <= e.t for c in cuts):
                run.append(e)
                run_end = max(run_end, e.end if e.end is not None else e.t)
                continue
            if run:
                first = run[0]
                if run[-1].end is None and step > 0:
                    held = run[-1].t + min(step, gap)
                    run_end = max(run_end, min([held] + [c for c in cuts if c > run[-1].t]))
                out.append(_item(first.t, run_end, first.label, kind, box=first.box,
                                 confidence=round(max(x.confidence for x in run), 3),
                                 track_id=first.track_id, samples=len(run)))
            if e is not None:
                run = [e]
                run_end = e.end if e.end is not None else e.t
    return sorted(out, key=lambda i: (i["start"], i["label"]))


def build_tiers(
    *,
    transcript: Iterable[TranscriptSegment] = (),
    audio_events: Iterable[AudioEvent] = (),
    visual_events: Iterable[VisualEvent] = (),
    notes: Iterable[Note] = (),
    start: float | None = None,
    end: float | None = None,
    words: bool = False,
    merge_gap: float = MERGE_GAP_S,
) -> list[dict[str, Any]]:
    """The cue tiers (see the module docstring); only items overlapping ``[start, end]`` when given."""
    tiers: list[dict[str, Any]] = []

    def add(tid: str, name: str, kind: str, items: list[dict[str, Any]]) -> None:
        items = [i for i in items if _overlaps(i, start, end)]
        if items:
            tiers.append({"id": tid, "name": name, "kind": kind, "items": items})

    segments = list(transcript)
    add("transcript", "Transcript", "transcript",
        [_item(s.start, s.end, s.text.strip(), "speech") for s in segments if s.text.strip()])
    if words:
        add("words", "Words", "words",
            [_item(w.start, w.end, w.word.strip(), "word", confidence=_r(w.probability))
             for s in segments for w in s.words if w.word.strip()])
    add("audio", "Audio events", "audio",
        [_item(e.start, e.end, e.kind, "audio_event", confidence=_r(e.confidence),
               labels=[[str(n), _r(p)] for n, p in (e.labels or [])[:3]] or None) for e in audio_events])

    visual = list(visual_events)
    cuts = sorted(e.t for e in visual if e.kind == "scene_cut")
    step = _sample_step(e for e in visual if e.kind in _OBJECT_KINDS)
    by_label: dict[str, list[VisualEvent]] = {}
    for e in visual:
        if e.kind in _OBJECT_KINDS:
            by_label.setdefault(e.label.strip().lower() or "?", []).append(e)
    for label in sorted(by_label):
        add(f"object:{label}", f"Objects: {label}", "object", _merge_runs(by_label[label], merge_gap, "object", cuts, step))

    counts = []
    for e in visual:
        if e.kind == "count":
            n = e.attributes.get("count")
            colour = e.attributes.get("colour")
            text = " ".join(str(x) for x in (n, colour, e.label) if x not in (None, ""))
            counts.append(_item(e.t, e.end, text, "count", confidence=_r(e.confidence), count=n))
    add("count", "Counts", "count", sorted(counts, key=lambda i: (i["start"], i["label"])))
    add("colour", "Colours", "colour",
        [_item(e.t, e.end, e.label, "colour", box=e.box, confidence=_r(e.confidence),
               object=e.attributes.get("object")) for e in visual if e.kind == "colour"])
    add("text", "Text on screen", "text", _merge_runs([e for e in visual if e.kind == "text"], merge_gap, "text", cuts))
    add("scene_cut", "Scene cuts", "scene_cut",
        [_item(e.t, e.t, "cut", "scene_cut", confidence=_r(e.confidence)) for e in visual if e.kind == "scene_cut"])
    add("notes", "Notes", "notes",
        [_item(n.t, n.end, n.text.strip() or f"({n.status})", "note", note_id=n.id) for n in notes])
    return tiers


def tier_items_at(tiers: Iterable[dict[str, Any]], t: float) -> list[tuple[str, dict[str, Any]]]:
    """``(tier id, item)`` for every item spanning ``t`` (instants within 1/25 s): what the playhead crosses."""
    out = []
    for tier in tiers:
        for item in tier["items"]:
            if item["start"] - 0.04 <= t <= item["end"] + 0.04:
                out.append((tier["id"], item))
    return out
