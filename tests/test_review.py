"""Review: Cohen's kappa against hand-computed values, second-review sampling, edit checks, cue tiers and evidence,
and accept / edit / reject round-trips through a real SQLite store (the bundled sample ingested, its ground-truth
cues stored, questions written with the store's API). The review widget's Python side is driven through the same
messages its front-end sends.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest
from review_data import (
    HOSTILE_NOTE,
    TRUTH,
    build_review_store,
    sample_questions,
    truth_cues,
)

from vidqa.errors import VidqaError
from vidqa.records import VisualEvent
from vidqa.records.questions import Question, Review
from vidqa.review.agreement import ReviewPair, agreement, pair_reviews
from vidqa.review.edits import EditError, validate_edit
from vidqa.review.evidence import evidence_view
from vidqa.review.sampling import sample_rank, second_review_sample
from vidqa.review.tiers import build_tiers


@pytest.fixture
def review_store(tmp_path):
    store, video, ids = build_review_store(tmp_path)
    yield store, video, ids
    store.close()


def raw_rows(db: Path, sql: str, params=()) -> list[dict]:
    """Rows read with plain sqlite3 (what is really on disk)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------------------------
# Cohen's kappa
# ---------------------------------------------------------------------------------------------------------------
def _pairs(category: str, labels: list[tuple[str, str]], start: int = 0) -> list[ReviewPair]:
    return [ReviewPair(start + i, category, a, b) for i, (a, b) in enumerate(labels)]


def test_kappa_matches_hand_computed_values():
    # counting, 10 pairs: (A,A)x4 (R,R)x3 (A,R)x2 (R,A)x1
    #   po = 7/10; rater 1: A 6, R 4; rater 2: A 5, R 5; pe = .6*.5 + .4*.5 = .5; kappa = (.7-.5)/.5 = 0.4
    counting = _pairs("counting", [("accept", "accept")] * 4 + [("reject", "reject")] * 3
                      + [("accept", "reject")] * 2 + [("reject", "accept")])
    # text_reading, 5 pairs: (A,A)x3 (R,R)x1 (A,R)x1
    #   po = 4/5; rater 1: A 4, R 1; rater 2: A 3, R 2; pe = .8*.6 + .2*.4 = .56; kappa = (.8-.56)/.44 = 6/11
    text = _pairs("text_reading", [("accept", "accept")] * 3 + [("reject", "reject")] + [("accept", "reject")], 100)
    report = agreement(counting + text)
    assert report.by_category["counting"].kappa == pytest.approx(0.4, abs=1e-12)
    assert report.by_category["counting"].observed == pytest.approx(0.7)
    assert report.by_category["text_reading"].kappa == pytest.approx(6 / 11, abs=1e-12)
    # overall, 15 pairs: po = 11/15; rater 1: A 10, R 5; rater 2: A 8, R 7
    #   pe = (10*8 + 5*7)/225 = 115/225; kappa = (165/225 - 115/225)/(110/225) = 50/110 = 5/11
    assert report.overall.n == 15
    assert report.overall.kappa == pytest.approx(5 / 11, abs=1e-12)
    assert report.overall.labels == {"accept": (10, 8), "reject": (5, 7)}
    rows = report.rows()
    assert [r["category"] for r in rows] == ["counting", "text_reading", "overall"]


def test_kappa_edge_cases_say_why():
    perfect = agreement(_pairs("c", [("accept", "accept"), ("reject", "reject")]))
    assert perfect.overall.kappa == pytest.approx(1.0)
    same = agreement(_pairs("c", [("accept", "accept")] * 4)).overall
    assert same.kappa is None and same.observed == 1.0 and "undefined" in same.note
    # the first round always accepted (only validated items were sampled): kappa is 0 by construction
    constant = agreement(_pairs("c", [("accept", "accept")] * 3 + [("accept", "reject")])).overall
    assert constant.kappa == pytest.approx(0.0) and "first review always" in constant.note
    # worse than chance
    opposite = agreement(_pairs("c", [("accept", "reject"), ("reject", "accept")])).overall
    assert opposite.kappa == pytest.approx(-1.0)
    empty = agreement([]).overall
    assert empty.n == 0 and empty.kappa is None


def test_pair_reviews_uses_last_judgements_and_ignores_skips_and_self_review():
    reviews = [
        Review(1, "ana", "reject", "x", round=1, id=1),
        Review(1, "ana", "edit", None, {"question": "q?"}, round=1, id=2),  # ana changed her mind: edit = accept
        Review(1, "ben", "skip", round=2, id=3),
        Review(1, "ben", "reject", "wrong", round=2, id=4),
        Review(2, "ana", "accept", round=1, id=5),
        Review(2, "ana", "accept", round=2, id=6),  # the same person: no second opinion
        Review(3, "ana", "accept", round=1, id=7),  # never second-reviewed
    ]
    pairs = pair_reviews(reviews, {1: "counting", 2: "counting"})
    assert pairs == [ReviewPair(1, "counting", "accept", "reject", "ana", "ben")]
    three = pair_reviews(reviews, {1: "counting"}, merge_edit=False)
    assert three[0].first == "edit"


# ---------------------------------------------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------------------------------------------
def test_second_review_sample_is_seeded_sized_and_stable():
    ids = list(range(1, 201))
    a = second_review_sample(ids, fraction=0.1, seed=7)
    assert a == second_review_sample(list(reversed(ids)), fraction=0.1, seed=7)  # order of input is irrelevant
    assert len(a) == 20 and set(a) <= set(ids)
    b = second_review_sample(ids, fraction=0.1, seed=8)
    assert a != b and len(b) == 20
    assert len(second_review_sample(range(1, 6), fraction=0.1)) == 1  # ceil: a small set still gets one
    assert second_review_sample([], fraction=0.1) == []
    assert len(second_review_sample(ids, fraction=0.25)) == 50
    # growing the pool keeps most of the earlier sample (rank-based), and done items always count
    grown = second_review_sample(range(1, 221), fraction=0.1, seed=7)
    assert len(grown) == 22 and len(set(a) & set(grown)) >= 18
    done = [150, 151, 152]
    with_done = second_review_sample(ids, fraction=0.1, seed=7, done=done)
    assert set(done) <= set(with_done) and len(with_done) == 20
    # every item has the same chance: over many seeds each id is drawn about 10 % of the time
    hits = dict.fromkeys(range(1, 21), 0)
    for seed in range(2000):
        for i in second_review_sample(range(1, 21), fraction=0.1, seed=seed):
            hits[i] += 1
    assert all(abs(h / 2000 - 0.1) < 0.03 for h in hits.values()), hits
    assert sample_rank(5, 1) == sample_rank(5, 1) != sample_rank(5, 2)


@pytest.mark.parametrize("bad", [-0.1, 1.5, "ten", math.nan])
def test_second_review_fraction_is_checked(bad):
    with pytest.raises(VidqaError, match="fraction"):
        second_review_sample([1, 2, 3], fraction=bad)


# ---------------------------------------------------------------------------------------------------------------
# edits
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture
def mc_question() -> Question:
    return sample_questions("v")[0]


def test_validate_edit_normalises_and_keeps_only_real_changes(mc_question):
    res = validate_edit(mc_question, {"prompt": "  When the whistle sounds, what colour is the bike? ",
                                      "window": [0.0, 5.0], "category": "referential_grounding",
                                      "options": ["red", "blue", "white", "black"]}, duration=24.0)
    assert res.changes == {"question": "When the whistle sounds, what colour is the bike?", "t_end": 5.0}
    assert res.question.t_end == 5.0 and res.question.answer == "red"
    # choosing another option moves the answer index with it
    res = validate_edit(mc_question, {"answer": "Blue"}, duration=24.0)
    assert res.changes == {"answer": "blue", "answer_index": 1}
    res = validate_edit(mc_question, {"answer_index": 2}, duration=24.0)
    assert res.changes == {"answer": "white", "answer_index": 2}
    # renaming the right option renames the answer
    res = validate_edit(mc_question, {"options": ["crimson", "blue", "white", "black"], "answer": "crimson"},
                        duration=24.0)
    assert res.question.answer == "crimson" and res.question.answer_index == 0
    assert validate_edit(mc_question, {}, duration=24.0).changes == {}


@pytest.mark.parametrize("changes, message", [
    ({"prompt": "   "}, "the prompt is empty"),
    ({"answer": "purple"}, "the answer 'purple' is not among the options"),
    ({"options": ["red", "blue", "red", "black"]}, "the options repeat 'red'"),
    ({"options": ["red", "", "white", "black"]}, "option(s) 2 are empty"),
    ({"options": ["pink", "blue", "white", "black"]}, "the answer 'red' is not among the options"),
    ({"window": [5.0, 30.0]}, "the window ends after the video (30.000 s > 24.000 s)"),
    ({"t_start": -1}, "the window starts before the video"),
    ({"window": [4.0, 2.0]}, "the window must start before it ends"),
    ({"t_end": "soon"}, "the window end must be a number of seconds"),
    ({"category": "vibes"}, "the category 'vibes' is unknown"),
    ({"answer_index": 7}, "answer_index 7 does not point into the 4 options"),
    ({"video_id": "x"}, "video_id cannot be edited"),
    ({"window": [1.0]}, "the window must be [start, end]"),
    ({"prompt": "When the whistle blows, is the bicycle red?"}, "the prompt gives the answer away (leak_question"),
    ({"prompt": "What colour is the bicycle, crimson or not?", "answer": "crimson",
      "options": ["crimson", "blue", "white", "black"]}, "the prompt gives the answer away"),
])
def test_validate_edit_says_what_is_wrong(mc_question, changes, message):
    with pytest.raises(EditError) as info:
        validate_edit(mc_question, changes, duration=24.0)
    assert message in str(info.value)
    assert isinstance(info.value, VidqaError)


def test_validate_edit_lists_every_problem_and_knows_given_categories(mc_question):
    with pytest.raises(EditError) as info:
        validate_edit(mc_question, {"prompt": "", "window": [3, 99], "category": "x"}, duration=24.0)
    text = str(info.value)
    assert "prompt is empty" in text and "ends after the video" in text and "'x' is unknown" in text
    ok = validate_edit(mc_question, {"category": "my_category"}, duration=24.0, categories=["my_category"])
    assert ok.changes == {"category": "my_category"}


def test_validate_edit_open_form_answers():
    q = sample_questions("v")[2]  # open form, no options
    assert validate_edit(q, {"answer": "HOME 3 - 1 AWAY"}, duration=24.0).changes == {"answer": "HOME 3 - 1 AWAY"}
    with pytest.raises(EditError, match="the gold answer is empty"):
        validate_edit(q, {"answer": " "}, duration=24.0)


# ---------------------------------------------------------------------------------------------------------------
# tiers and evidence (pure, from the sample's cue records)
# ---------------------------------------------------------------------------------------------------------------
def test_tiers_from_cue_records():
    from vidqa.records import Note

    segments, audio, visual = truth_cues()
    note = Note(9, "v", 7.0, None, "typed", HOSTILE_NOTE, "typed", end=8.0)
    tiers = build_tiers(transcript=segments, audio_events=audio, visual_events=visual, notes=[note])
    by_id = {t["id"]: t for t in tiers}
    assert list(by_id)[:2] == ["transcript", "audio"] and list(by_id)[-2:] == ["scene_cut", "notes"]
    assert [i["label"] for i in by_id["transcript"]["items"]] == [s["text"] for s in TRUTH["speech"]]
    assert by_id["audio"]["items"] == [{"start": 3.8, "end": 4.8, "label": "whistle", "kind": "audio_event",
                                        "confidence": 0.7, "labels": [["Whistle", 0.7]]}]
    # objects by label; one detection a second merges into one span per shot (split at the cut), first box kept
    dogs = by_id["object:dog"]["items"]
    assert [(d["start"], d["end"], d["samples"]) for d in dogs] == [(0.0, 6.0, 6), (6.0, 12.0, 6)]
    assert dogs[1]["box"] == [round(x, 4) for x in TRUTH["objects"][4]["box"]]
    bike = by_id["object:bicycle"]["items"]
    assert len(bike) == 1 and bike[0]["box"] == [round(x, 4) for x in TRUTH["objects"][1]["box"]]
    assert {"object:ball", "object:square", "object:horse", "object:person", "object:truck"} <= set(by_id)
    assert [(i["label"], i["start"], i["end"]) for i in by_id["text"]["items"]] == \
        [(x["text"], x["start"], x["end"]) for x in TRUTH["text"]]
    assert [i["start"] for i in by_id["scene_cut"]["items"]] == TRUTH["scene_cuts"]
    assert all(i["start"] == i["end"] for i in by_id["scene_cut"]["items"])
    assert by_id["notes"]["items"][0]["label"] == HOSTILE_NOTE  # data, shown as text by the front-end
    assert "3 red ball" in [i["label"] for i in by_id["count"]["items"]]
    # a window keeps only the overlapping items
    near = build_tiers(transcript=segments, audio_events=audio, visual_events=visual, start=17.0, end=24.0)
    assert {t["id"] for t in near} >= {"transcript", "text", "scene_cut"} and "audio" not in {t["id"] for t in near}
    assert json.loads(json.dumps(tiers)) == tiers  # plain data


def test_evidence_view_picks_the_words_event_ocr_and_boxes():
    segments, audio, visual = truth_cues()
    q_bike, _q_horse, q_board, _q = sample_questions("v")
    elsewhere = VisualEvent(2.0, "object", "bicycle", 0.6, 50, (0.7, 0.7, 0.9, 0.9))  # a second bicycle
    ev = evidence_view(q_bike, transcript=segments, audio_events=audio, visual_events=visual + [elsewhere])
    assert ev["audio_events"] == [{"kind": "whistle", "start": 3.8, "end": 4.8, "confidence": 0.7, "cue": True}]
    cue_box = ev["boxes"][0]
    assert cue_box["kind"] == "cue" and cue_box["box"] == list(q_bike.visual_cue.box) and "bicycle" in cue_box["label"]
    # detections at the cue's own box are not drawn twice; the other bicycle is, for its own second
    detections = [b for b in ev["boxes"] if b["kind"] == "object"]
    assert detections == [{"start": 2.0, "end": 3.0, "box": [0.7, 0.7, 0.9, 0.9], "label": "bicycle",
                           "kind": "object"}]
    assert not [b for b in ev["boxes"] if "dog" in b["label"]]  # other objects are not evidence
    ev = evidence_view(q_board, transcript=segments, audio_events=audio, visual_events=visual)
    cue_words = [w["word"] for w in ev["words"] if w["cue"]]
    assert cue_words == ["The", "home", "team", "is", "winning", "this", "match."]
    assert [o["text"] for o in ev["ocr"] if o["cue"]] == ["HOME 2 - 1 AWAY"]
    assert any(b["kind"] == "text" for b in ev["boxes"])


# ---------------------------------------------------------------------------------------------------------------
# round trips through SQLite
# ---------------------------------------------------------------------------------------------------------------
def test_submit_accept_edit_reject_round_trip(review_store):
    from vidqa.pipeline.review import submit_review
    from vidqa.store import Store

    store, _video, (q_bike, q_horse, q_board, q_balls) = review_store
    r = submit_review(store, q_bike, "ana", "accept")
    assert r.verdict == "accept" and r.id and r.created_at
    r = submit_review(store, q_horse, "ana", "accept",
                      changes={"prompt": "What animal stands beside the person?", "answer": "horse"})
    assert r.verdict == "edit" and r.changes == {"question": "What animal stands beside the person?",
                                                 "answer": "horse", "answer_index": 1}
    r = submit_review(store, q_board, "ana", "reject", reason="the narrator's words do not anchor the board")
    assert r.verdict == "reject"
    store.close()

    fresh = Store(store.path)  # what is on disk, through a new connection
    try:
        assert fresh.question(q_bike).status == "validated"
        horse = fresh.question(q_horse)
        assert (horse.status, horse.question, horse.answer, horse.answer_index) == \
            ("validated", "What animal stands beside the person?", "horse", 1)
        assert horse.options == ["dog", "horse", "bicycle", "truck"]
        assert fresh.question(q_board).status == "rejected"
        assert fresh.question(q_balls).status == "dropped"
        rows = raw_rows(fresh.path, "SELECT question_id, reviewer, verdict, reason, changes, round, created_at"
                                    " FROM reviews ORDER BY id")
        assert [(r["question_id"], r["reviewer"], r["verdict"], r["round"]) for r in rows] == \
            [(q_bike, "ana", "accept", 1), (q_horse, "ana", "edit", 1), (q_board, "ana", "reject", 1)]
        assert json.loads(rows[1]["changes"])["answer"] == "horse"
        assert rows[2]["reason"] == "the narrator's words do not anchor the board"
        assert all(r["created_at"] for r in rows)
    finally:
        fresh.close()


def test_submit_review_refuses_bad_input_and_changes_nothing(review_store):
    from vidqa.pipeline.review import submit_review

    store, _video, (q_bike, q_horse, _q_board, _q) = review_store
    with pytest.raises(VidqaError, match="reviewer"):
        submit_review(store, q_bike, "  ", "accept")
    with pytest.raises(VidqaError, match="Say why"):
        submit_review(store, q_bike, "ana", "reject")
    with pytest.raises(VidqaError, match="Unknown verdict"):
        submit_review(store, q_bike, "ana", "maybe")
    with pytest.raises(EditError, match="ends after the video"):
        submit_review(store, q_horse, "ana", "accept", changes={"window": [6.0, 60.0]})
    with pytest.raises(VidqaError, match="no first review"):
        submit_review(store, q_bike, "ben", "accept", round=2)
    assert store.reviews() == []
    assert {q.status for q in store.questions(status=["draft"])} == {"draft"}
    assert store.question(q_horse).t_end == 12.0
    # a skip is recorded and changes nothing
    r = submit_review(store, q_bike, "ana", "skip")
    assert r.verdict == "skip" and store.question(q_bike).status == "draft"


def test_second_review_queue_and_agreement(tmp_path):
    """20 validated + 10 rejected questions; a 20 % sample over both goes to a second reviewer; kappa from SQLite."""
    from vidqa.pipeline.review import agreement as store_agreement
    from vidqa.pipeline.review import queue_second_review, submit_review

    store, video, _ids = build_review_store(tmp_path)
    try:
        base = sample_questions(video.id)[2]  # open form: any answer is fine
        qs = [Question.from_record({**base.to_record(), "answer": f"HOME {i} - 1 AWAY", "id": None,
                                    "category": "text_reading" if i % 2 else "counting"}) for i in range(30)]
        ids = store.add_questions(qs)
        for i, qid in enumerate(ids):
            submit_review(store, qid, "ana", "accept" if i < 20 else "reject", reason=None if i < 20 else "bad")
        assert store.questions(status="validated") and len(store.questions(status="validated")) == 20

        only_validated = queue_second_review(store, fraction=0.1, seed=3)
        assert len(only_validated) == 2 and {q.status for q in only_validated} == {"validated"}
        assert [q.id for q in only_validated] == [q.id for q in queue_second_review(store, fraction=0.1, seed=3)]
        assert queue_second_review(store, fraction=0.1, seed=3, reviewer="ana") == []  # her own work

        queue = queue_second_review(store, fraction=0.2, seed=3, statuses=("validated", "rejected"))
        assert len(queue) == 6
        with pytest.raises(VidqaError, match="someone else"):
            submit_review(store, queue[0].id, "ana", "accept", round=2)
        expected = []
        for k, q in enumerate(queue):
            first = "accept" if q.status == "validated" else "reject"
            second = first if k % 3 else ("reject" if first == "accept" else "accept")  # disagree on k = 0, 3
            submit_review(store, q.id, "ben", second, reason="no" if second == "reject" else None, round=2)
            expected.append((q.category, first, second))
            assert store.question(q.id).status == q.status  # round 2 never changes the question
        assert queue_second_review(store, fraction=0.2, seed=3, statuses=("validated", "rejected")) == []

        from sklearn.metrics import cohen_kappa_score

        report = store_agreement(store)
        assert report.overall.n == 6
        want = cohen_kappa_score([e[1] for e in expected], [e[2] for e in expected])
        assert report.overall.kappa == pytest.approx(want) if not math.isnan(want) else report.overall.kappa is None
        assert report.overall.observed == pytest.approx(4 / 6)
        assert sum(a.n for a in report.by_category.values()) == 6
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------------------------
# the widget's Python side, driven by the messages its front-end sends
# ---------------------------------------------------------------------------------------------------------------
def test_review_widget_queue_verdicts_and_errors(review_store, tmp_path, monkeypatch):
    from vidqa.widgets.review import ReviewWidget

    store, _video, (q_bike, q_horse, q_board, q_balls) = review_store
    monkeypatch.chdir(tmp_path)
    w = ReviewWidget(store, reviewer="")
    assert w.queue == [q_bike, q_horse, q_board]
    assert [r["id"] for r in w.queue_state] == [q_bike, q_horse, q_board, q_balls]
    dropped = w.queue_state[-1]
    assert dropped["status"] == "dropped" and dropped["drop_reason"].startswith("leak_heard")
    assert w.counts == {"draft": 3, "validated": 0, "rejected": 0, "dropped": 1}
    assert w.current["question"]["id"] == q_bike
    assert w.current["evidence"]["audio_events"][0]["kind"] == "whistle"
    assert {t["id"] for t in w.tiers} >= {"transcript", "audio", "object:bicycle", "scene_cut"}
    assert w.tier_view == {"start": 0.0, "end": 12.0}
    # the page says hello: the media is linked under the kernel's folder and gets a URL
    w.handle_message({"type": "hello", "base_url": "/", "app_url": "lab", "pathname": "/lab/tree/review.ipynb"})
    assert w.video_urls and w.video_urls[0].endswith(".mp4"), (w.video_urls, w.error)
    # no reviewer name yet: the verdict is refused with a message, nothing is stored
    w.handle_message({"type": "verdict", "id": q_bike, "verdict": "accept", "changes": {}})
    assert "name" in w.error and store.reviews() == []
    w.handle_message({"type": "reviewer", "name": " ana "})
    assert w.reviewer == "ana" and w.error == ""

    w.handle_message({"type": "verdict", "id": q_bike, "verdict": "accept", "changes": {}})
    assert store.question(q_bike).status == "validated" and w.current["question"]["id"] == q_horse
    assert "Accepted #" in w.status
    # a bad edit shows an error and stays on the item
    w.handle_message({"type": "verdict", "id": q_horse, "verdict": "accept", "changes": {"t_end": 99}})
    assert "ends after the video" in w.error and w.current["question"]["id"] == q_horse
    assert store.question(q_horse).status == "draft"
    w.handle_message({"type": "verdict", "id": q_horse, "verdict": "accept",
                      "changes": {"question": "What animal stands beside the person?", "answer": "horse",
                                  "answer_index": 1}})
    assert w.error == "" and store.question(q_horse).answer == "horse"
    assert store.reviews(q_horse)[-1].verdict == "edit"
    w.handle_message({"type": "verdict", "id": q_board, "verdict": "reject", "reason": "ambiguous"})
    assert store.question(q_board).status == "rejected" and w.queue == []
    assert "Nothing left" in w.status
    assert [r["status"] for r in w.queue_state] == ["validated", "validated", "rejected", "dropped"]
    w.handle_message({"type": "nonsense"})
    assert "unknown message" in w.error

    # round 2: blind, someone else, sample of the validated ones
    w2 = ReviewWidget(store.path, reviewer="ben", round=2, fraction=1.0)
    assert set(w2.queue) == {q_bike, q_horse}
    assert {r["status"] for r in w2.queue_state} == {"waiting"}  # blind: the first verdict is not shown
    assert w2.current["question"]["status"] == "second review"
    w2.accept()
    assert {r["status"] for r in w2.queue_state} == {"waiting", "done"}
    assert store.reviews(round=2)[0].reviewer == "ben"
    assert store.question(w2.queue[0]).status == "validated"
    with pytest.raises(VidqaError, match="No vidqa database"):
        ReviewWidget(tmp_path / "missing.db", reviewer="x")


# ---------------------------------------------------------------------------------------------------------------
# the front-end module: tiers.js inlined into review.js (anywidget loads one ES module)
# ---------------------------------------------------------------------------------------------------------------
def test_review_module_inlines_the_tiers_module(tmp_path):
    import shutil
    import subprocess

    from vidqa.widgets.assets import inline_modules, widget_module

    esm = widget_module("review.js", deps=["dom.js", "tiers.js"])
    assert "from \"./tiers.js\"" not in esm and "from \"./dom.js\"" not in esm and "export function renderTiers" not in esm
    assert "const { renderTiers } = __vidqa_tiers_js;" in esm and "export default" in esm
    code = "\n".join(line for line in esm.splitlines() if not line.lstrip().startswith("//"))
    assert "innerHTML" not in code and "insertAdjacentHTML" not in code  # text goes in with textContent / value
    out = inline_modules('import { a, b as c } from "./m.js";\nexport default { render() { return a() + c; } };',
                         {"m.js": "export function a() { return 1; }\nconst k = 2;\nexport { k as b };\n"})
    assert "const { a, b: c } = __vidqa_m_js;" in out and "return { a, b };" in out
    with pytest.raises(VidqaError, match="not given"):
        inline_modules('import { a } from "./other.js";', {})
    with pytest.raises(VidqaError, match="self-contained"):
        inline_modules('import { a } from "./m.js";', {"m.js": 'import x from "y";\nexport const a = 1;'})
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the syntax check of the inlined module is skipped")
    path = tmp_path / "review.mjs"
    path.write_text(esm)
    check = subprocess.run([node, "--check", str(path)], check=False, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
