"""The question tables: questions with options and evidence, drops, reviews (accept / edit / reject) in SQLite."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vidqa.errors import NotFoundError
from vidqa.records import Video
from vidqa.records.questions import EXAMPLE, AudioCue, Evidence, Question, QuestionError, Review, VisualCue
from vidqa.store import Store


def make_video(sha: str = "cd" * 32) -> Video:
    return Video(id=sha[:12], sha256=sha, title="clip.mp4", duration=60.0, fps=25.0, is_vfr=False, width=640,
                 height=360, rotation=0, video_codec="h264", audio_codec="aac", audio_tracks=1, has_audio=True,
                 path=f"media/{sha}.mp4", play_path=f"media/{sha}.mp4", size=1)


def make_question(video_id: str, t: float = 1.0, answer: str = "red", **kw) -> Question:
    options = ["red", "blue", "green", "white"]
    q = Question(
        video_id=video_id, category="referential_grounding", template="colour_after_speech", template_version=2,
        question="Right after the narrator says 'look', what colour is the ball?", answer=answer,
        answer_type="colour", options=options, answer_index=options.index(answer), t_start=t, t_end=t + 2.0,
        audio_cue=AudioCue("speech", t, t + 0.4, "look", 0.9),
        visual_cue=VisualCue("object", t, t + 2.0, label="ball", colour=answer, box=(0.1, 0.2, 0.3, 0.4),
                             confidence=0.8),
        evidence=Evidence(words=[3, 4], audio_events=[], visual_events=[17, 12], frames=[25]),
        confidence=0.72, seed=7, context={"wording": "{anchor.after}, what colour is the {target.label}?"},
    )
    return replace(q, **kw)


@pytest.fixture
def qstore(tmp_path):
    s = Store(tmp_path / "vidqa.db")
    v = s.add_video(make_video())
    yield s, v
    s.close()


def test_the_migration_creates_the_tables_and_drops_nothing_else(qstore):
    store, _ = qstore
    tables = set(store.db.table_names())
    assert {"questions", "question_options", "question_evidence", "question_drops", "reviews"} <= tables
    assert not {"qa_pairs", "qa_reviews", "llm_responses"} & tables
    assert "v3_questions_and_reviews" in [m["name"] for m in store.migrations()]
    indexes = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"questions_status", "questions_window", "reviews_question"} <= indexes


def test_questions_round_trip_with_options_cues_and_evidence(qstore, tmp_path):
    store, v = qstore
    q = make_question(v.id)
    (qid,) = store.add_questions([q])
    got = store.question(qid)
    assert got.id == qid and got.video_sha256 == v.sha256 and got.created_at and got.updated_at
    assert replace(got, id=None, video_sha256=None, created_at=None, updated_at=None) == q
    assert got.visual_cue.box == (0.1, 0.2, 0.3, 0.4)
    assert got.evidence.visual_events == [17, 12]  # order kept
    # a second connection (another process) reads the same
    with Store(tmp_path / "vidqa.db", readonly=True) as ro:
        assert ro.question(qid) == got
    with pytest.raises(NotFoundError, match="No question 999"):
        store.question(999)


def test_query_by_video_status_and_category(qstore):
    store, v = qstore
    other = store.add_video(make_video("ef" * 32))
    dropped = make_question(v.id, 9.0, status="dropped", drop_reason="leak_heard: 'red' is said at 9.2 s",
                            options=[], answer_index=None)
    ids = store.add_questions([make_question(v.id, 5.0), make_question(v.id, 1.0, "blue"), dropped,
                               make_question(other.id, 1.0, category="counting")])
    assert [q.t_start for q in store.questions(v.id)] == [1.0, 5.0, 9.0]  # window order
    assert [q.id for q in store.questions(v.id, status="dropped")] == [ids[2]]
    assert len(store.questions(status=["draft", "dropped"])) == 4
    assert [q.video_id for q in store.questions(category="counting")] == [other.id]
    (drop,) = store.question_drops(ids[2])
    assert drop["check"] == "leak_heard" and "9.2 s" in drop["reason"]


def test_an_invalid_question_is_refused_and_nothing_is_written(qstore):
    store, v = qstore
    bad = make_question(v.id, answer_index=1)  # option 1 is 'blue', the answer 'red'
    with pytest.raises(QuestionError, match="is not the answer"):
        store.add_questions([make_question(v.id, 3.0), bad])
    assert store.questions() == []
    with pytest.raises(QuestionError, match="window starts after it ends"):
        store.add_questions([make_question(v.id, t_start=5.0, t_end=1.0)])


def test_replace_generated_questions_keeps_reviewed_and_note_drafts(qstore):
    store, v = qstore
    a, b, c, d = store.add_questions([make_question(v.id, 1.0), make_question(v.id, 5.0),
                                      make_question(v.id, 9.0), make_question(v.id, 13.0, source="note")])
    store.add_review(Review(a, "ana", "accept"))
    store.add_review(Review(b, "ana", "skip"))  # reviewed (seen), even if not decided
    new = [make_question(v.id, 1.0), make_question(v.id, 20.0), make_question(v.id, 30.0)]
    assert store.replace_generated_questions(v.id, new, run_id=None) == 2  # 1.0 duplicates the accepted one
    left = store.questions(v.id)
    assert [q.t_start for q in left] == [1.0, 5.0, 13.0, 20.0, 30.0]
    assert c not in {q.id for q in left}
    assert store.question(a).status == "validated" and store.question(d).source == "note"
    # running it again changes nothing
    assert store.replace_generated_questions(v.id, new) == 2
    assert len(store.questions(v.id)) == 5
    with pytest.raises(QuestionError, match="cannot replace"):
        store.replace_generated_questions("other", new)


def test_update_question_validates_and_rewrites_options(qstore):
    store, v = qstore
    (qid,) = store.add_questions([make_question(v.id)])
    q = store.update_question(qid, options=["blue", "red", "black", "white"], answer_index=1, gate={"blind": True})
    assert q.options == ["blue", "red", "black", "white"] and q.answer_index == 1 and q.gate == {"blind": True}
    with pytest.raises(QuestionError, match="Unknown question fields"):
        store.update_question(qid, colour="red")
    with pytest.raises(QuestionError, match="is not the answer"):
        store.update_question(qid, answer_index=0)
    assert store.question(qid).answer_index == 1  # the failed update left nothing
    with pytest.raises(QuestionError, match="Status"):
        store.update_question(qid, status="done")
    with pytest.raises(NotFoundError):
        store.update_question(12345, status="draft")


def test_review_accept_edit_reject_round_trip_through_sqlite(qstore, tmp_path):
    store, v = qstore
    a, e, r, dropped = store.add_questions([
        make_question(v.id, 1.0), make_question(v.id, 5.0), make_question(v.id, 9.0),
        make_question(v.id, 13.0, status="dropped", drop_reason="confidence: colour 0.41 < 0.5"),
    ])
    accepted = store.add_review(Review(a, " ana ", "accept"))
    assert accepted.id and accepted.created_at and accepted.reviewer == "ana"
    edit = {"prompt": "When the narrator says 'look', what colour is the ball?", "answer": "green",
            "window": [4.5, 7.5], "category": "audio_visual_sync"}
    store.add_review(Review(e, "ben", "edit", changes=edit))
    store.add_review(Review(r, "ana", "reject", reason="the ball is off screen"))
    store.add_review(Review(dropped, "ana", "accept"))

    with Store(tmp_path / "vidqa.db", readonly=True) as ro:  # what a fresh connection sees
        assert ro.question(a).status == "validated"
        edited = ro.question(e)
        assert edited.status == "validated" and edited.question.startswith("When the narrator")
        assert edited.answer == "green" and edited.options[edited.answer_index] == "green"
        assert sorted(edited.options) == sorted(["green", "blue", "red", "white"])
        assert (edited.t_start, edited.t_end, edited.category) == (4.5, 7.5, "audio_visual_sync")
        assert ro.question(r).status == "rejected"
        rescued = ro.question(dropped)
        assert rescued.status == "validated" and rescued.drop_reason is None
        assert ro.question_drops(dropped)[0]["check"] == "confidence"  # history kept
        reviews = ro.reviews()
        assert [(x.question_id, x.verdict) for x in reviews] == [(a, "accept"), (e, "edit"), (r, "reject"),
                                                                  (dropped, "accept")]
        assert reviews[1].changes == edit and reviews[2].reason == "the ball is off screen"
        assert [x.verdict for x in ro.reviews(e)] == ["edit"]


def test_second_round_reviews_are_recorded_without_changing_status(qstore):
    store, v = qstore
    (qid,) = store.add_questions([make_question(v.id)])
    store.add_review(Review(qid, "ana", "accept"))
    store.add_review(Review(qid, "ben", "reject", reason="not sure", round=2))
    assert store.question(qid).status == "validated"
    assert [x.reviewer for x in store.reviews(round=2)] == ["ben"]
    assert [x.reviewer for x in store.reviews(qid, round=1)] == ["ana"]


def test_a_bad_review_writes_nothing(qstore):
    store, v = qstore
    (qid,) = store.add_questions([make_question(v.id)])
    with pytest.raises(QuestionError, match="Verdict"):
        store.add_review(Review(qid, "ana", "maybe"))
    with pytest.raises(QuestionError, match="reviewer"):
        store.add_review(Review(qid, "  ", "accept"))
    with pytest.raises(QuestionError, match="not among the options"):
        store.add_review(Review(qid, "ana", "edit", changes={"answer": "pink", "options": ["a", "b", "c", "d"]}))
    with pytest.raises(QuestionError, match="cannot be edited"):
        store.add_review(Review(qid, "ana", "edit", changes={"status": "validated"}))
    with pytest.raises(NotFoundError):
        store.add_review(Review(999, "ana", "accept"))
    assert store.reviews() == [] and store.question(qid).status == "draft"


def test_deleting_a_video_deletes_its_questions_and_reviews(qstore):
    store, v = qstore
    (qid,) = store.add_questions([make_question(v.id)])
    store.add_review(Review(qid, "ana", "accept"))
    with store.transaction() as conn:
        conn.execute("DELETE FROM videos WHERE id = ?", (v.id,))
    assert store.questions() == [] and store.reviews() == []
    assert store.query("SELECT COUNT(*) AS n FROM question_options")[0]["n"] == 0


def test_from_record_inverts_to_record():
    q = Question.from_record(EXAMPLE)
    assert Question.from_record(q.to_record()) == q
    assert q.validate() is q
    with pytest.raises(QuestionError, match="the answer is empty"):
        replace(q, answer="").validate()
