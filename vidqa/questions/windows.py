"""Windows: the audio anchors and the visual facts a question can join, indexed by time.

:class:`CueIndex` is built once per video from plain records (transcript, audio events, visual events) and answers
the questions the generator asks, fast enough for an hour of video in well under a second:

- **anchors** (:class:`Anchor`): a short spoken phrase located by its word timestamps (unique in the transcript,
  every word at least ``min_confidence`` sure), or a non-speech audio event (whistle, buzzer, crowd, music ...)
  with no other event of its kind close by, so "when the whistle blows" names one moment;
- **facts** (:class:`Fact`): a visual cue over a span: an object's colour (a tracked ``colour`` event, or the
  majority colour of a track's detections), a count run, a text line, an object's presence; only cues of at least
  ``min_confidence`` are used, and an object whose box another label claims in the same frame is nobody's;
- **samples**: the sampled frame times (from the visual events), so "the fact holds over [a, b]" is checked frame
  by frame (:meth:`CueIndex.cover`), never assumed.

Cue kinds that are missing (an older visual stage without ``count`` or ``colour`` events) are derived
conservatively from the per-frame detections or skipped.

Example::

    index = CueIndex.build(video.duration, transcript, audio_events, visual_events, ontology)
    [a.text for a in index.anchors if a.kind == "speech"][:3]
    [(f.kind, f.label, f.start, f.end) for f in index.facts("count")]
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from vidqa.questions.ontology import Ontology
from vidqa.records import AudioEvent, TranscriptSegment, VisualEvent
from vidqa.records.questions import AudioCue, VisualCue

__all__ = ["Anchor", "CueIndex", "Fact", "Obj", "normalise_words"]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "by", "for", "with", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "there", "here", "you", "your", "we", "our", "they", "their", "he", "she", "his", "her", "i", "me", "my", "so", "as", "if", "then", "than", "too", "very", "just", "not", "no", "yes", "do", "does", "did", "has", "have", "had", "will", "would", "can", "could"]
)
MAX_FACT_S = 30.0
"""Presence facts longer than this are split (one question per fact and category)."""
LOW_CONFIDENCE = 0.25
"""Detections at least this sure count as "something is there" when deciding whether a label is unique."""
CONFLICT_IOU = 0.5
"""Two detections of different labels whose boxes overlap this much in one frame: neither is trusted."""


def normalise_words(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits, apostrophes).

    >>> normalise_words("HOME 2 - 1 AWAY, isn't it?")
    ['home', '2', '1', 'away', "isn't", 'it']
    """
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Anchor:
    """An audio cue a question can anchor on."""

    kind: str
    """``speech`` or an audio event kind."""
    start: float
    end: float
    confidence: float
    text: str | None = None
    """The phrase, for speech."""
    words: tuple[int, ...] = ()
    """Indices into the transcript's words flattened segment by segment (speech)."""
    event: int | None = None
    """Index into the audio events (non-speech)."""
    segment: int | None = None

    def cue(self) -> AudioCue:
        return AudioCue(self.kind, round(self.start, 3), round(self.end, 3), self.text, round(self.confidence, 3))


@dataclass(frozen=True)
class Obj:
    """One trusted detection in one sampled frame (object, or a counted region)."""

    kind: str
    label: str
    box: tuple[float, float, float, float] | None
    confidence: float
    event: int
    colour: str | None = None
    track_id: int | None = None
    frame_index: int | None = None


@dataclass(frozen=True)
class Fact:
    """A visual fact over ``[start, end]``."""

    kind: str
    """``colour``, ``count``, ``text`` or ``object``."""
    label: str
    """Object label or region shape (the text itself for ``text``)."""
    start: float
    end: float
    confidence: float
    colour: str | None = None
    shape: str | None = None
    text: str | None = None
    count: int | None = None
    box: tuple[float, float, float, float] | None = None
    events: tuple[int, ...] = ()
    """Indices into the visual events the fact stands on."""
    track_id: int | None = None
    object_kind: str = "object"
    """``object`` (a detector label) or ``region`` (a shape)."""

    @property
    def key(self) -> tuple:
        return (self.kind, self.label, self.colour, self.text, self.count, self.track_id, round(self.start, 2))

    def cue(self, start: float | None = None, end: float | None = None) -> VisualCue:
        s = self.start if start is None else max(self.start, start)
        e = self.end if end is None else min(self.end, end)
        return VisualCue(self.kind, round(s, 3), round(max(s, e), 3), label=self.label, colour=self.colour,
                         shape=self.shape, text=self.text, count=self.count,
                         box=tuple(round(x, 4) for x in self.box) if self.box else None,
                         confidence=round(self.confidence, 3))


def _iou(a, b) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class CueIndex:
    """The cues of one video, indexed by time (see the module docstring)."""

    duration: float
    dt: float
    """Sampling period of the visual stage (seconds), estimated from the sample times."""
    times: list[float]
    """Sorted sampled frame times."""
    objects_at: list[list[Obj]]
    """Trusted objects and counted regions per sample."""
    seen_at: list[frozenset[str]]
    """Every label/shape detected per sample, at any confidence (distractors avoid these)."""
    raw_at: list[list[tuple[str, tuple[float, float, float, float]]]]
    """Every detector object per sample, at any confidence at least :data:`LOW_CONFIDENCE` (label, box): instances are
    counted on these, so a second, doubtful car makes "the car" ambiguous."""
    anchors: list[Anchor]
    words: list[tuple[float, float, str]]
    """Flat transcript words: (start, end, normalised word)."""
    word_starts: list[float]
    segments: list[tuple[float, float, list[str]]]
    """Transcript segments: (start, end, normalised words)."""
    facts_by_kind: dict[str, list[Fact]] = field(default_factory=dict)
    texts: list[Fact] = field(default_factory=list)
    cuts: list[float] = field(default_factory=list)
    audio_events: list[AudioEvent] = field(default_factory=list)
    anchor_starts: list[float] = field(default_factory=list)
    min_samples: int = 2
    """A presence or colour fact needs this many sampled frames (one frame is a glimpse, often a false one)."""
    labels_seen: frozenset[str] = frozenset()
    """Labels of trusted detections anywhere in the video."""
    labels_anywhere: frozenset[str] = frozenset()
    """Every label detected anywhere in the video, at any confidence."""
    segment_sets: list[set[str]] = field(default_factory=list)
    """Each transcript segment's words and word pairs (for the sentence-level heard check)."""
    colours_seen: tuple[str, ...] = ()

    # --- building ------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, duration: float, transcript: Sequence[TranscriptSegment], audio_events: Sequence[AudioEvent],
              visual_events: Sequence[VisualEvent], ontology: Ontology, *, min_confidence: float = 0.5) -> CueIndex:
        """Index one video's cues (pure; see the module docstring)."""
        thr = float(min_confidence)
        checks = ontology.checks
        # -- visual samples
        frame_kinds = ("object", "region")
        times_set = sorted({round(e.t, 3) for e in visual_events if e.kind in frame_kinds})
        diffs = [b - a for a, b in zip(times_set, times_set[1:]) if b - a > 1e-3]
        dt = float(median(diffs)) if diffs else 1.0
        pos = {t: i for i, t in enumerate(times_set)}
        raw: list[list[tuple[int, VisualEvent]]] = [[] for _ in times_set]
        seen: list[set[str]] = [set() for _ in times_set]
        raw_boxes: list[list[tuple[str, tuple]]] = [[] for _ in times_set]
        region_tracks_bad: set[int] = set()
        min_area, min_contrast = checks["min_region_area"], checks["min_region_contrast"]
        for i, e in enumerate(visual_events):
            if e.kind not in frame_kinds:
                continue
            k = pos[round(e.t, 3)]
            seen[k].add(e.label)
            if e.kind == "object" and e.box is not None and e.confidence >= LOW_CONFIDENCE:
                raw_boxes[k].append((e.label, tuple(e.box)))
            if e.kind == "region" and (e.attributes.get("panel") or e.label == "other"
                                       or float(e.attributes.get("area", 0.0)) < min_area
                                       or float(e.attributes.get("contrast", 0.0)) < min_contrast):
                if e.track_id is not None:
                    region_tracks_bad.add(e.track_id)
                continue
            if e.confidence >= thr and e.box is not None:
                raw[k].append((i, e))
        objects_at: list[list[Obj]] = []
        for k, frame in enumerate(raw):
            # a detection whose box another label claims in the same frame (at any confidence) is nobody's
            bad = {i for i, e in frame if e.kind == "object" and any(
                label != e.label and _iou(e.box, box) > CONFLICT_IOU for label, box in raw_boxes[k])}
            objects_at.append([
                Obj(e.kind, e.label, tuple(e.box), e.confidence, i, e.attributes.get("colour"), e.track_id,
                    e.frame_index)
                for i, e in frame if i not in bad and not (e.kind == "region" and e.track_id in region_tracks_bad)
            ])
        # -- transcript
        words: list[tuple[float, float, str]] = []
        word_probs: list[float] = []
        word_seg: list[int] = []
        word_flat: list[int] = []
        segments: list[tuple[float, float, list[str]]] = []
        flat = 0
        for si, seg in enumerate(transcript):
            segments.append((seg.start, seg.end, normalise_words(seg.text)))
            for w in seg.words:
                toks = normalise_words(w.word)
                flat += 1
                if not toks:
                    continue
                word_flat.append(flat - 1)
                words.append((w.start, w.end, " ".join(toks)))
                word_probs.append(1.0 if w.probability is None else float(w.probability))
                word_seg.append(si)
        index = cls(duration=float(duration), dt=dt, times=list(times_set), objects_at=objects_at,
                    seen_at=[frozenset(s) for s in seen], raw_at=raw_boxes, anchors=[], words=words,
                    word_starts=[w[0] for w in words], segments=segments,
                    audio_events=list(audio_events))
        index.min_samples = int(checks["min_presence_samples"])
        index.anchors = index._speech_anchors(word_probs, word_seg, word_flat, thr) + index._event_anchors(
            audio_events, ontology, thr)
        index.anchors.sort(key=lambda a: (a.start, a.kind, a.text or ""))
        index.anchor_starts = [a.start for a in index.anchors]
        # -- facts
        index.cuts = sorted(e.t for e in visual_events if e.kind == "scene_cut")
        index.texts = index._text_facts(visual_events, thr)
        index.facts_by_kind = {
            "colour": index._colour_facts(visual_events, thr, checks, region_tracks_bad),
            "count": index._count_facts(visual_events, thr, checks),
            "text": index.texts,
            "object": index._presence_facts(),
        }
        index.labels_seen = frozenset(o.label for frame in objects_at for o in frame if o.kind == "object")
        index.labels_anywhere = frozenset().union(*index.seen_at) if index.seen_at else frozenset()
        index.segment_sets = [set(toks) | {f"{a} {b}" for a, b in zip(toks, toks[1:])} for _, _, toks in segments]
        colours = Counter(f.colour for f in index.facts_by_kind["colour"] if f.colour)
        index.colours_seen = tuple(c for c, _ in colours.most_common())
        return index

    def _speech_anchors(self, probs: list[float], segs: list[int], flat: list[int], thr: float) -> list[Anchor]:
        """Phrases of 2-4 words inside one segment, starting and ending on a content word, unique in the
        transcript, every word at least ``thr`` sure."""
        out: list[Anchor] = []
        counts: Counter[str] = Counter()
        spans: list[tuple[int, int]] = []
        n = len(self.words)
        for i in range(n):
            for length in (3, 4, 2):
                j = i + length
                if j > n or segs[j - 1] != segs[i]:
                    continue
                toks = [w[2] for w in self.words[i:j]]
                if toks[0] in STOPWORDS or toks[-1] in STOPWORDS:
                    continue
                spans.append((i, j))
                break
        all_text = " " + " | ".join(" ".join(s[2]) for s in self.segments) + " "
        for i, j in spans:
            phrase = " ".join(w[2] for w in self.words[i:j])
            counts[phrase] = all_text.count(" " + phrase + " ")
        for i, j in spans:
            phrase = " ".join(w[2] for w in self.words[i:j])
            conf = min(probs[i:j])
            if conf < thr or counts[phrase] != 1:
                continue
            out.append(Anchor("speech", self.words[i][0], self.words[j - 1][1], conf, phrase,
                              tuple(flat[x] for x in range(i, j)),
                              segment=segs[i]))
        return out

    @staticmethod
    def _event_anchors(events: Sequence[AudioEvent], ontology: Ontology, thr: float) -> list[Anchor]:
        """Non-speech events with wording in the ontology, with no other event of their kind within 3 s."""
        out = []
        for i, e in enumerate(events):
            if e.kind == "speech" or e.kind not in ontology.anchors or e.confidence < thr:
                continue
            near = [o for o in events if o is not e and o.kind == e.kind and o.start < e.end + 3.0
                    and o.end > e.start - 3.0]
            if near:
                continue
            out.append(Anchor(e.kind, e.start, e.end, e.confidence, event=i))
        return out

    def _text_facts(self, events: Sequence[VisualEvent], thr: float) -> list[Fact]:
        out = []
        for i, e in enumerate(events):
            if e.kind != "text" or e.confidence < thr:
                continue
            text = " ".join(e.label.split())
            if len(text) < 2 or not any(c.isalnum() for c in text):
                continue
            end = e.end if e.end is not None else e.t + self.dt
            out.append(Fact("text", text, e.t, end, e.confidence, text=text, box=e.box, events=(i,)))
        return out

    def _colour_facts(self, events: Sequence[VisualEvent], thr: float, checks: dict[str, float],
                      bad_region_tracks: set[int]) -> list[Fact]:
        """Colours of tracked objects/regions. A detector object's colour counts when it fills at least
        ``min_colour_fraction`` of its box on average over the track (a thin bicycle's box is mostly background)."""
        min_fraction = checks["min_colour_fraction"]
        by_track: dict[int, list[int]] = defaultdict(list)
        for i, e in enumerate(events):
            if e.kind in ("object", "region") and e.track_id is not None:
                by_track[e.track_id].append(i)
        out = []
        trusted = {o.event for frame in self.objects_at for o in frame}
        colour_events = [(i, e) for i, e in enumerate(events) if e.kind == "colour"]
        for i, e in colour_events:
            label = e.attributes.get("object")
            okind = e.attributes.get("object_kind", "object")
            if not label or label == "other" or e.confidence < thr or e.track_id in bad_region_tracks:
                continue
            span_end = e.end if e.end is not None else e.t
            member_ids = [k for k in by_track.get(e.track_id, []) if e.t - 1e-6 <= events[k].t <= span_end + 1e-6] \
                if e.track_id is not None else []
            members = [events[k] for k in member_ids]
            if e.track_id is not None and (not member_ids or any(k not in trusted for k in member_ids)):
                continue  # a doubtful or contested detection in the track (another label claims the box)
            if int(e.attributes.get("samples", len(members))) < self.min_samples:
                continue
            if okind == "object":
                fractions = [float(m.attributes.get("colour_fraction", 0.0)) for m in members]
                if not fractions or sum(fractions) / len(fractions) < min_fraction:
                    continue
                det_conf = sum(m.confidence for m in members) / len(members)
                if det_conf < thr or any(m.attributes.get("colour") not in (None, e.label) for m in members):
                    continue
            else:
                if any(m.attributes.get("panel") for m in members):
                    continue
                det_conf = sum(m.confidence for m in members) / len(members) if members else e.confidence
                if det_conf < thr:
                    continue
            votes = e.attributes.get("votes") or {e.label: 1}
            share = votes.get(e.label, 0) / max(1, sum(votes.values()))
            conf = min(e.confidence, det_conf) * share
            if conf < thr:
                continue
            end = e.end if e.end is not None else e.t + self.dt
            out.append(Fact("colour", label, e.t, end, conf, colour=e.label,
                            shape=label if okind == "region" else None, box=e.box,
                            events=(i, *member_ids),
                            track_id=e.track_id, object_kind=okind))
        if not colour_events:
            out = self._derived_colour_facts(thr, min_fraction, events)
        return out

    def _derived_colour_facts(self, thr: float, min_fraction: float, events: Sequence[VisualEvent]) -> list[Fact]:
        """No ``colour`` events (an older visual stage): a track's (or a lone label's) majority colour when at
        least 80 % of its detections agree and fill enough of their boxes."""
        groups: dict[tuple, list[tuple[float, Obj]]] = defaultdict(list)
        for t, frame in zip(self.times, self.objects_at):
            labels = Counter(o.label for o in frame)
            for o in frame:
                if o.kind != "object" or not o.colour:
                    continue
                key = ("track", o.track_id) if o.track_id is not None else (("label", o.label)
                                                                              if labels[o.label] == 1 else None)
                if key is not None:
                    groups[key].append((t, o))
        out = []
        for members in groups.values():
            colours = Counter(o.colour for _, o in members)
            colour, n = colours.most_common(1)[0]
            fractions = [float(events[o.event].attributes.get("colour_fraction", 1.0)) for _, o in members]
            if n < 0.8 * len(members) or sum(fractions) / len(fractions) < min_fraction:
                continue
            conf = sum(o.confidence for _, o in members) / len(members) * n / len(members)
            if conf < thr:
                continue
            start, end = members[0][0], members[-1][0] + self.dt
            o0 = members[0][1]
            out.append(Fact("colour", o0.label, start, end, conf, colour=colour, box=o0.box,
                            events=tuple(o.event for _, o in members), track_id=o0.track_id))
        return out

    def _count_facts(self, events: Sequence[VisualEvent], thr: float, checks: dict[str, float]) -> list[Fact]:
        """Count runs (``count`` events) with enough samples and confidence, at most ``max_count``; derived from
        per-frame detections when the visual stage wrote none."""
        min_samples = int(checks["min_count_samples"])
        max_count = int(checks["max_count"])
        min_conf = checks["min_count_confidence"]
        runs = [(i, e) for i, e in enumerate(events) if e.kind == "count"]
        out = []
        for i, e in runs:
            count = e.attributes.get("count")
            if not isinstance(count, int) or not 1 <= count <= max_count or e.confidence < max(thr, min_conf):
                continue
            if int(e.attributes.get("samples", min_samples)) < min_samples:
                continue
            shape = e.attributes.get("shape")
            end = e.end if e.end is not None else e.t + self.dt
            out.append(Fact("count", e.label, e.t, end, e.confidence, colour=e.attributes.get("colour"),
                            shape=shape, count=count, events=(i,), object_kind="region" if shape else "object"))
        if not runs:
            out = self._derived_count_facts(max(thr, min_conf), min_samples, max_count)
        return out

    def _derived_count_facts(self, thr: float, min_samples: int, max_count: int) -> list[Fact]:
        """Runs of equal per-frame counts of a detector label over at least ``min_samples`` consecutive samples."""
        out = []
        labels = sorted({o.label for frame in self.objects_at for o in frame if o.kind == "object"})
        for label in labels:
            run_start, run_count, run_events, run_conf, prev_t = None, 0, [], [], None
            for t, frame in [*zip(self.times, self.objects_at), (None, [])]:
                here = [o for o in frame if o.kind == "object" and o.label == label]
                gap = t is not None and prev_t is not None and t - prev_t > 1.5 * self.dt
                if t is None or gap or len(here) != run_count:
                    if run_count and run_start is not None and len(run_events) >= min_samples * run_count:
                        conf = sum(run_conf) / len(run_conf)
                        if 1 <= run_count <= max_count and conf >= thr:
                            out.append(Fact("count", label, run_start, prev_t + self.dt, conf, count=run_count,
                                            events=tuple(run_events)))
                    run_start, run_count, run_events, run_conf = t, len(here), [], []
                run_events += [o.event for o in here]
                run_conf += [o.confidence for o in here]
                prev_t = t
        return out

    def _presence_facts(self) -> list[Fact]:
        """Each detector label's spans of presence over consecutive samples (one fact per span; a span is cut at
        scene cuts and after ``MAX_FACT_S``, so a long video asks about an ever-present object more than once)."""
        out = []
        spans: dict[str, list] = {}
        for t, frame in zip(self.times, self.objects_at):
            for label in {o.label for o in frame if o.kind == "object"}:
                objs = [o for o in frame if o.kind == "object" and o.label == label]
                cur = spans.get(label)
                cut = cur is not None and (t - cur[0] >= MAX_FACT_S or any(cur[1] < c <= t for c in self.cuts))
                if cur is not None and t - cur[1] <= 1.5 * self.dt and not cut:
                    cur[1] = t
                    cur[2].extend(o.event for o in objs)
                    cur[3].extend(o.confidence for o in objs)
                else:
                    if cur is not None:
                        out.append(cur)
                    spans[label] = [t, t, [o.event for o in objs], [o.confidence for o in objs], label]
        out += spans.values()
        return sorted(
            (Fact("object", s[4], s[0], s[1] + self.dt, sum(s[3]) / len(s[3]), events=tuple(s[2])) for s in out
             if round((s[1] - s[0]) / self.dt) + 1 >= self.min_samples),
            key=lambda f: (f.start, f.label),
        )

    # --- queries ---------------------------------------------------------------------------------------------
    def facts(self, kind: str) -> list[Fact]:
        return self.facts_by_kind.get(kind, [])

    def cover(self, start: float, end: float) -> list[int] | None:
        """Indices of the samples that show ``[start, end]`` (the one at or before ``start`` through the last one
        before ``end``), or ``None`` when the samples leave a gap (nothing is known there)."""
        if not self.times:
            return None
        lo = bisect.bisect_right(self.times, start + 1e-6) - 1
        hi = bisect.bisect_left(self.times, end - 1e-6)
        lo = max(lo, 0)
        if self.times[lo] > start + 0.5 * self.dt or hi <= lo:
            hi = max(hi, lo + 1)
        idx = list(range(lo, min(hi, len(self.times))))
        if not idx or self.times[idx[0]] > start + 0.5 * self.dt or self.times[idx[-1]] + 1.5 * self.dt < end:
            return None
        if any(self.times[b] - self.times[a] > 1.5 * self.dt for a, b in zip(idx, idx[1:])):
            return None
        return idx

    def instances(self, k: int, label: str, ontology: Ontology) -> int:
        """How many distinct things at sample ``k`` are ``label`` or a synonym of it (boxes overlapping by IoU >
        0.5 are one thing), at any confidence from :data:`LOW_CONFIDENCE`."""
        names = {label, *ontology.labels.get(label, ())}
        boxes: list[tuple] = []
        for other, box in self.raw_at[k]:
            if other in names or label in ontology.labels.get(other, ()):
                if all(_iou(box, b) <= CONFLICT_IOU for b in boxes):
                    boxes.append(box)
        return len(boxes)

    def labels_near(self, start: float, end: float) -> set[str]:
        """Every label or shape detected (any confidence) within ``[start, end]``."""
        lo = bisect.bisect_left(self.times, start)
        hi = bisect.bisect_right(self.times, end)
        out: set[str] = set()
        for s in self.seen_at[lo:hi]:
            out |= s
        return out

    def words_between(self, start: float, end: float) -> list[str]:
        """Normalised transcript words that start or end within ``[start, end]``."""
        lo = bisect.bisect_left(self.word_starts, start - 10.0)
        hi = bisect.bisect_right(self.word_starts, end)
        return [w for s, e, w in self.words[lo:hi] if e >= start and s <= end]

    def segments_between(self, start: float, end: float) -> list[list[str]]:
        """Normalised words of every transcript segment overlapping ``[start, end]``."""
        return [toks for s, e, toks in self.segments if s <= end and e >= start]

    def anchors_between(self, start: float, end: float) -> list[Anchor]:
        """Anchors that start within ``[start, end]``."""
        lo = bisect.bisect_left(self.anchor_starts, start)
        hi = bisect.bisect_right(self.anchor_starts, end)
        return self.anchors[lo:hi]

    def segment_of(self, t: float) -> int | None:
        """The transcript segment at (or nearest before) ``t``."""
        best = None
        for i, (s, e, _) in enumerate(self.segments):
            if s <= t + 0.5:
                best = i
            if s > t:
                break
        return best
