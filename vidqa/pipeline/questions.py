"""The ``questions`` stage: a video's stored cues in, its generated questions (and drops) written to the store.

:func:`generate_for_video` runs :func:`vidqa.questions.generate.generate_questions` through
:func:`~vidqa.pipeline.runner.run_stage` (stage ``questions``): idempotent (the settings hashed into ``runs`` hold
the seed, the threshold, a hash of the ontology and the runs that produced the cues, so new cues or a new
ontology redo the work), timed, and written with :meth:`~vidqa.store.Store.replace_generated_questions` (reviewed
questions and note drafts stay).

Example::

    from vidqa import open_store
    from vidqa.pipeline.questions import generate_all
    store = open_store("data/vidqa.db")
    for result in generate_all(store, seed=0):
        print(result.summary())
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidqa.pipeline.runner import SkipStage, StageResult, run_stage
from vidqa.questions.generate import CueIds, GenerationResult, generate_questions
from vidqa.questions.ontology import DEFAULT_PATH, Ontology, load_ontology
from vidqa.records import Video
from vidqa.store import Store

__all__ = ["STAGE", "cue_ids", "generate_all", "generate_all_questions", "generate_for_video", "generate_video_questions",
           "question_settings"]

STAGE = "questions"
CUE_STAGES = ("transcribe", "audio-events", "detect")


def cue_ids(store: Store, video_id: str) -> CueIds:
    """Row ids of a video's words, audio events and visual events, in the order the store reads them."""
    words = [r["id"] for r in store.query(
        "SELECT w.id FROM transcript_words w JOIN transcript_segments s ON s.id = w.segment_id WHERE w.video_id = ?"
        " ORDER BY s.start, s.seg_index, w.start, w.id", (video_id,))]
    audio = [r["id"] for r in store.query("SELECT id FROM audio_events WHERE video_id = ? ORDER BY start, id",
                                          (video_id,))]
    visual = [r["id"] for r in store.query("SELECT id FROM visual_events WHERE video_id = ? ORDER BY t, id",
                                           (video_id,))]
    return CueIds(words, audio, visual)


def _ontology_hash(path: str | Path | None) -> str:
    h = hashlib.sha256(DEFAULT_PATH.read_bytes())
    if path is not None:
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:16]


def question_settings(store: Store, video: Video, *, seed: int, ontology: str | Path | None,
                      min_confidence: float, model: str | None) -> dict[str, Any]:
    """Everything that changes a video's questions (hashed into ``runs``): seed, threshold, ontology, the runs
    that wrote its cues, its notes."""
    runs = {}
    for stage in CUE_STAGES:
        done = [r.id for r in store.runs(stage=stage, video_id=video.id) if r.status == "done"]
        runs[stage] = max(done) if done else None
    notes = [(n.id, n.updated_at) for n in store.notes(video.id)]
    return {"seed": seed, "min_confidence": min_confidence, "ontology": _ontology_hash(ontology),
            "ontology_file": str(ontology) if ontology else None, "cue_runs": runs,
            "notes": hashlib.sha256(repr(notes).encode()).hexdigest()[:12], "model": model}


def generate_for_video(store: Store, video: Video | str, *, seed: int = 0, ontology: str | Path | None = None,
                       force: bool = False, min_confidence: float = 0.5, model: str | None = None
                       ) -> StageResult:
    """Generate and store the questions of one video (see the module docstring)."""
    if isinstance(video, str):
        video = store.video(video)
    onto: Ontology = load_ontology(ontology)  # fails here, with file and line, before a run is recorded
    settings = question_settings(store, video, seed=seed, ontology=ontology, min_confidence=min_confidence,
                                 model=model)

    def compute(v: Video) -> list:
        transcript, audio, visual = store.transcript(v.id), store.audio_events(v.id), store.visual_events(v.id)
        if not visual:
            raise SkipStage("no visual cues yet: run `vidqa detect` (or `vidqa process`) first")
        if not transcript and not audio:
            raise SkipStage("no audio cues yet: run `vidqa transcribe` and `vidqa audio-events` first")
        result: GenerationResult = generate_questions(
            v, transcript, audio, visual, store.notes(v.id), ontology=onto, seed=seed,
            min_confidence=min_confidence, ids=cue_ids(store, v.id), model=model)
        return result.all

    def write(st: Store, vid: str, questions: Sequence, run_id: int) -> int:
        return st.replace_generated_questions(vid, questions, run_id=run_id)

    return run_stage(store, STAGE, video, settings, compute, write, force=force)


def generate_all(store: Store, videos: Sequence[Video | str] | None = None, *, seed: int = 0,
                 ontology: str | Path | None = None, force: bool = False, min_confidence: float = 0.5,
                 model: str | None = None) -> list[StageResult]:
    """:func:`generate_for_video` for each of ``videos`` (default: every stored video)."""
    targets = list(videos) if videos is not None else store.videos()
    return [generate_for_video(store, v, seed=seed, ontology=ontology, force=force, min_confidence=min_confidence,
                               model=model) for v in targets]


generate_all_questions = generate_all
"""The name the package front door exports (``vidqa.generate_all_questions``)."""
generate_video_questions = generate_for_video
