"""Seeded synthetic cue sets with exact ground truth: what the question engine sees, without any media.

:func:`synthetic_cues` lays out scenes (hard cuts between them), each with a few uniquely labelled, coloured
objects at fixed, well separated boxes, or groups of coloured shapes, sometimes a line of text; sound events
(whistle, buzzer, bell, crowd) and one narrated sentence per scene, which sometimes *says* a visual fact ("the
truck is white", "there are three red circles") so the leak checks have something to catch. It emits the records
the visual stage would (``object``/``region`` detections per sampled frame, ``colour`` events per track, ``count``
runs, ``text`` spans, ``scene_cut``), plus optional noise: doubtful detections below the threshold, and another
label claiming an object's box in a frame.

The :class:`Truth` answers what a question may be checked against: colours, counts, texts, labels on screen,
positions, what was said when.

Example::

    cues = synthetic_cues(600.0, seed=3)
    result = generate_questions(cues.video, cues.transcript, cues.audio_events, cues.visual_events)
    cues.truth.colour_at("dog", 12.5)     # 'black'
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from vidqa.records import AudioEvent, TranscriptSegment, TranscriptWord, Video, VisualEvent

__all__ = ["SyntheticCues", "Truth", "synthetic_cues"]

LABELS = ("dog", "horse", "truck", "bicycle", "person", "cat", "bird", "boat", "umbrella", "chair", "clock")
COLOURS = ("red", "blue", "green", "yellow", "white", "black", "orange", "purple", "pink", "brown", "grey")
SHAPES = ("circle", "square", "triangle")
TEXTS = ("GATE {n}", "EXIT {n}", "HOME {a} - {b} AWAY", "ROOM {n}{n}", "PLATFORM {n}", "LEVEL {n}")
SOUNDS = ("whistle", "buzzer", "bell", "crowd")
FILLER = ("the weather looks calm this afternoon", "everyone waits for the next part of the show",
          "this moment was recorded last summer", "listen carefully to what happens now",
          "the match continues after a short break", "people are arriving from every direction")
NUMBER = ("zero", "one", "two", "three", "four", "five", "six")


@dataclass
class Scene:
    start: float
    end: float
    objects: list[dict[str, Any]] = field(default_factory=list)
    """``label``, ``colour``, ``box``, ``track``."""
    shapes: list[dict[str, Any]] = field(default_factory=list)
    """``shape``, ``colour``, ``count``, ``boxes``, ``tracks``."""
    text: str | None = None
    text_box: tuple[float, float, float, float] | None = None


@dataclass
class Truth:
    """Exact ground truth of a synthetic cue set."""

    scenes: list[Scene]
    sounds: list[tuple[str, float, float]]
    words: list[tuple[float, float, str]]

    def scene_at(self, t: float) -> Scene | None:
        for s in self.scenes:
            if s.start <= t < s.end:
                return s
        return None

    def scenes_over(self, t0: float, t1: float) -> list[Scene]:
        return [s for s in self.scenes if s.start < t1 and s.end > t0]

    def colour_at(self, label: str, t: float) -> str | None:
        s = self.scene_at(t)
        if s is None:
            return None
        for o in s.objects:
            if o["label"] == label:
                return o["colour"]
        for g in s.shapes:
            if g["shape"] == label and g["count"] == 1:
                return g["colour"]
        return None

    def count_at(self, label: str, colour: str | None, t: float) -> int:
        s = self.scene_at(t)
        if s is None:
            return 0
        n = sum(1 for o in s.objects if o["label"] == label and colour in (None, o["colour"]))
        n += sum(g["count"] for g in s.shapes if g["shape"] == label and colour in (None, g["colour"]))
        return n

    def text_at(self, t: float) -> str | None:
        s = self.scene_at(t)
        return s.text if s else None

    def labels_at(self, t: float) -> set[str]:
        s = self.scene_at(t)
        return {o["label"] for o in s.objects} if s else set()

    def box_of(self, label: str, t: float) -> tuple[float, float, float, float] | None:
        s = self.scene_at(t)
        for o in (s.objects if s else []):
            if o["label"] == label:
                return o["box"]
        return None

    def text_onset(self, text: str) -> float | None:
        starts = [s.start for s in self.scenes if s.text == text]
        return min(starts) if starts else None

    def label_onset(self, label: str) -> float | None:
        starts = [s.start for s in self.scenes if any(o["label"] == label for o in s.objects)]
        return min(starts) if starts else None

    def said_between(self, t0: float, t1: float) -> list[str]:
        return [w for s, e, w in self.words if e >= t0 and s <= t1]


@dataclass
class SyntheticCues:
    """A synthetic video's records and their truth."""

    video: Video
    transcript: list[TranscriptSegment]
    audio_events: list[AudioEvent]
    visual_events: list[VisualEvent]
    truth: Truth


def _video(duration: float, seed: int) -> Video:
    sha = f"{seed:08x}".rjust(64, "5")
    return Video(id=sha[:12], sha256=sha, title=f"synthetic-{seed}", duration=duration, fps=25.0, is_vfr=False,
                 width=1280, height=720, rotation=0, video_codec="h264", audio_codec="aac", audio_tracks=1,
                 has_audio=True, path=f"media/{sha}.mp4", play_path=f"media/{sha}.mp4")


def _layout(n: int, rng: random.Random) -> list[tuple[float, float, float, float]]:
    """``n`` boxes in separate columns (left to right), well apart."""
    width = 1.0 / n
    out = []
    for i in range(n):
        x0 = i * width + rng.uniform(0.02, 0.06)
        w = width * rng.uniform(0.45, 0.7)
        y0 = rng.uniform(0.2, 0.5)
        out.append((round(x0, 4), round(y0, 4), round(x0 + w, 4), round(min(0.98, y0 + rng.uniform(0.2, 0.4)), 4)))
    return out


def synthetic_cues(duration: float = 600.0, *, seed: int = 0, fps: float = 1.0, noise: bool = True,
                   leak_rate: float = 0.3) -> SyntheticCues:
    """A seeded synthetic cue set of ``duration`` seconds (see the module docstring)."""
    rng = random.Random(seed)
    dt = 1.0 / fps
    scenes: list[Scene] = []
    t = 0.0
    track = 0
    while t < duration - 4:
        length = min(duration - t, float(rng.randint(8, 20)))
        s = Scene(t, t + length)
        if rng.random() < 0.6:
            labels = rng.sample(LABELS, rng.randint(2, 4))
            for label, box in zip(labels, _layout(len(labels), rng)):
                track += 1
                s.objects.append({"label": label, "colour": rng.choice(COLOURS), "box": box, "track": track})
        else:
            shapes = rng.sample(SHAPES, rng.randint(1, 2))
            counts = [rng.randint(1, 4) for _ in shapes]
            boxes = _layout(sum(counts), rng)
            for shape, count in zip(shapes, counts):
                group = {"shape": shape, "colour": rng.choice(COLOURS), "count": count, "boxes": [], "tracks": []}
                for _ in range(count):
                    track += 1
                    group["boxes"].append(tuple(round(v * 0.9 + 0.02, 4) for v in boxes.pop(0)))
                    group["tracks"].append(track)
                s.shapes.append(group)
        if rng.random() < 0.4:
            n = rng.randint(1, 9)
            s.text = rng.choice(TEXTS).format(n=n, a=rng.randint(0, 5), b=rng.randint(0, 5))
            s.text_box = (0.1, 0.05, 0.6, 0.15)
        scenes.append(s)
        t += length

    visual: list[VisualEvent] = []
    for s in scenes:
        frame0 = int(round(s.start * 25))
        if s.start > 0:
            visual.append(VisualEvent(s.start, "scene_cut", "scene_cut", 0.9, frame0, attributes={"score": 0.9}))
        k = s.start
        samples = []
        while k < s.end - 1e-6:
            samples.append(round(k, 3))
            k += dt
        for o in s.objects:
            confs = [round(rng.uniform(0.6, 0.95), 3) for _ in samples]
            for ts, c in zip(samples, confs):
                visual.append(VisualEvent(ts, "object", o["label"], c, int(round(ts * 25)), o["box"],
                                          {"colour": o["colour"], "colour_fraction": 0.6, "detector": "synthetic"},
                                          track_id=o["track"]))
            visual.append(VisualEvent(s.start, "colour", o["colour"], 1.0, frame0, o["box"],
                                      {"object": o["label"], "object_kind": "object", "samples": len(samples),
                                       "votes": {o["colour"]: len(samples)}}, end=s.end, track_id=o["track"]))
            visual.append(VisualEvent(s.start, "count", o["label"], round(sum(confs) / len(confs), 3), frame0,
                                      attributes={"colour": None, "count": 1, "samples": len(samples),
                                                  "object": o["label"]}, end=s.end))
        for g in s.shapes:
            for box, tr in zip(g["boxes"], g["tracks"]):
                for ts in samples:
                    visual.append(VisualEvent(ts, "region", g["shape"], 0.85, int(round(ts * 25)), box,
                                              {"colour": g["colour"], "shape": g["shape"], "area": 0.03,
                                               "contrast": 80.0, "panel": False}, track_id=tr))
                visual.append(VisualEvent(s.start, "colour", g["colour"], 1.0, frame0, box,
                                          {"object": g["shape"], "object_kind": "region", "samples": len(samples),
                                           "votes": {g["colour"]: len(samples)}}, end=s.end, track_id=tr))
            visual.append(VisualEvent(s.start, "count", g["shape"], 0.85, frame0,
                                      attributes={"colour": g["colour"], "count": g["count"],
                                                  "samples": len(samples), "shape": g["shape"]}, end=s.end))
        if s.text:
            visual.append(VisualEvent(s.start, "text", s.text, 0.95, frame0, s.text_box, {"lang": "eng"},
                                      end=s.end))
        if noise and samples:
            ts = rng.choice(samples)  # a doubtful detection somewhere
            visual.append(VisualEvent(ts, "object", rng.choice(LABELS), 0.3, int(round(ts * 25)),
                                      (0.85, 0.8, 0.95, 0.95), {"colour": "grey", "colour_fraction": 0.5}))
            if s.objects and rng.random() < 0.3:  # another label claims an object's box in one frame
                o = rng.choice(s.objects)
                other = rng.choice([x for x in LABELS if x != o["label"]])
                visual.append(VisualEvent(ts, "object", other, 0.45, int(round(ts * 25)), o["box"],
                                          {"colour": o["colour"], "colour_fraction": 0.6}))
    visual.sort(key=lambda e: (e.t, e.kind, e.label))

    audio: list[AudioEvent] = []
    sounds: list[tuple[str, float, float]] = []
    words: list[tuple[float, float, str]] = []
    transcript: list[TranscriptSegment] = []
    for s in scenes:
        length = s.end - s.start
        if length >= 6 and rng.random() < 0.7:
            kind = rng.choice(SOUNDS)
            start = round(s.start + rng.uniform(1.0, length - 3.0), 3)
            end = round(start + rng.uniform(0.6, 1.8), 3)
            audio.append(AudioEvent(kind, start, end, 0.8, 0.85, [(kind.capitalize(), 0.85)]))
            sounds.append((kind, start, end))
        sentence = rng.choice(FILLER)
        if rng.random() < leak_rate:
            if s.objects:
                o = rng.choice(s.objects)
                sentence = f"look at the {o['colour']} {o['label']} over there"
            elif s.shapes:
                g = rng.choice(s.shapes)
                sentence = f"there are {NUMBER[g['count']]} {g['colour']} {g['shape']}s"
            elif s.text:
                sentence = "the sign says " + s.text.lower()
        toks = sentence.split()
        start = round(s.start + rng.uniform(0.2, 1.0), 3)
        seg_words = []
        for tok in toks:
            w = TranscriptWord(round(start, 3), round(start + 0.28, 3), tok, 0.92)
            seg_words.append(w)
            words.append((w.start, w.end, tok))
            start += 0.3
        transcript.append(TranscriptSegment(seg_words[0].start, seg_words[-1].end, sentence, seg_words))
    return SyntheticCues(_video(duration, seed), transcript, audio, visual, Truth(scenes, sounds, words))
