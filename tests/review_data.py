"""Review test data: the bundled sample ingested into a real store with its ground-truth cues, hostile text in a
note and a prompt, and four questions (shared by tests/test_review.py and tests/test_review_browser.py)."""

from __future__ import annotations

import json
from pathlib import Path

from vidqa.records import AudioEvent, TranscriptSegment, TranscriptWord, VisualEvent
from vidqa.records.questions import AudioCue, Evidence, Question, VisualCue

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "samples" / "sample.mp4"
TRUTH = json.loads((REPO / "data" / "samples" / "sample.json").read_text())
HOSTILE_NOTE = "<script>window.__vidqaPwned = 1</script><img src=x onerror=\"window.__vidqaPwned = 2\">"
HOSTILE_PROMPT = "Who stands beside the person? <script>window.__vidqaPwned = 3</script>"


# ---------------------------------------------------------------------------------------------------------------
# test data: the bundled sample with its ground-truth cues and four questions
# ---------------------------------------------------------------------------------------------------------------
def truth_cues() -> tuple[list[TranscriptSegment], list[AudioEvent], list[VisualEvent]]:
    """The sample's ground truth as cue records (words spread evenly over each sentence)."""
    segments = []
    for s in TRUTH["speech"]:
        toks = s["text"].split()
        step = (s["end"] - s["start"]) / len(toks)
        words = [TranscriptWord(s["start"] + i * step, s["start"] + (i + 1) * step, w, 0.9) for i, w in enumerate(toks)]
        segments.append(TranscriptSegment(s["start"], s["end"], s["text"], words))
    audio = [AudioEvent(e["kind"], e["start"], e["end"], (e["start"] + e["end"]) / 2, 0.7, [("Whistle", 0.7)])
             for e in TRUTH["audio_events"]]
    visual = []
    for o in TRUTH["objects"]:
        for t in range(int(o["start"]), int(o["end"])):  # one detection a second, like the visual loop
            visual.append(VisualEvent(float(t), "object" if o["coco"] else "region", o["label"], 0.8,
                                      int(t * 25), tuple(o["box"]), {"colour": o["colour"]}))
    for x in TRUTH["text"]:
        visual.append(VisualEvent(x["start"], "text", x["text"], 0.95, int(x["start"] * 25), tuple(x["box"]),
                                  {"kind": x["kind"]}, end=x["end"]))
    for c in TRUTH["counts"]:
        visual.append(VisualEvent(c["start"], "count", c["label"], 0.9, None, None,
                                  {"count": c["count"], "colour": c["colour"]}, end=c["end"]))
    for t in TRUTH["scene_cuts"]:
        visual.append(VisualEvent(float(t), "scene_cut", "scene_cut", 0.9, int(t * 25)))
    return segments, audio, visual


def sample_questions(video_id: str) -> list[Question]:
    """Three drafts and one dropped candidate on the sample (gold answers from its ground truth)."""
    bike = next(o for o in TRUTH["objects"] if o["label"] == "bicycle")
    board = next(x for x in TRUTH["text"] if x["kind"] == "scoreboard")
    horse = next(o for o in TRUTH["objects"] if o["label"] == "horse")
    balls = next(c for c in TRUTH["counts"] if c["label"] == "ball")
    whistle = TRUTH["audio_events"][0]
    q_bike = Question(
        video_id, "referential_grounding", "colour_at_event", 1, "When the whistle blows, what colour is the bicycle?",
        bike["colour"], "colour", ["red", "blue", "white", "black"], 0, 0.0, 6.0,
        AudioCue("whistle", whistle["start"], whistle["end"], None, 0.7),
        VisualCue("object", bike["start"], bike["end"], label="bicycle", colour=bike["colour"], box=tuple(bike["box"])),
        Evidence(audio_events=[1], visual_events=[2, 3]), confidence=0.8)
    speech = TRUTH["speech"][1]
    q_horse = Question(
        video_id, "object_interaction", "object_beside", 1, HOSTILE_PROMPT,
        "dog", "label", ["dog", "horse", "bicycle", "truck"], 0, 6.0, 12.0,  # deliberately wrong: the reviewer fixes it
        AudioCue("speech", speech["start"], speech["end"], "A person in a blue jacket", 0.9),
        VisualCue("object", horse["start"], horse["end"], label="horse", colour=horse["colour"],
                  box=tuple(horse["box"])), confidence=0.7)
    speech = TRUTH["speech"][3]
    q_board = Question(
        video_id, "text_reading", "text_after_speech", 1,
        "While the narrator talks about the match, what does the scoreboard read?", board["text"], "text", [], None,
        18.0, 22.0, AudioCue("speech", speech["start"], speech["end"], "this match", 0.9),
        VisualCue("text", board["start"], board["end"], text=board["text"], box=tuple(board["box"])))
    speech = TRUTH["speech"][2]
    q_balls = Question(
        video_id, "counting", "count_after_speech", 1, "Right after the narrator speaks, how many red balls are there?",
        str(balls["count"]), "count", ["3", "2", "4", "5"], 0, 12.0, 16.0,
        AudioCue("speech", speech["start"], speech["end"], "There are", 0.9),
        VisualCue("count", balls["start"], balls["end"], label="ball", colour="red", count=balls["count"]),
        status="dropped", drop_reason="leak_heard: the transcript says 'three red balls' in the window")
    return [q_bike, q_horse, q_board, q_balls]


def build_review_store(folder: Path):
    """A real store in ``folder``: the sample ingested, its ground-truth cues, a hostile note, four questions.

    Returns ``(store, video, ids)`` with ``ids`` in the order of :func:`sample_questions`.
    """
    from vidqa.pipeline.ingest import ingest
    from vidqa.store import Store

    store = Store(folder / "vidqa.db")
    video = ingest(str(SAMPLE), store, progress=False)
    segments, audio, visual = truth_cues()
    store.replace_transcript(video.id, segments)
    store.replace_audio_events(video.id, audio)
    store.replace_visual_events(video.id, visual)
    store.add_note(video.id, 7.0, kind="typed", text=HOSTILE_NOTE, end=8.0)
    ids = store.add_questions(sample_questions(video.id))
    return store, video, ids
