"""Scoring: answers read (JSON letters, free text, refusals), normalised, judged by rules and by an LLM judge over
the real openai SDK, categorised, and summarised with seeded bootstrap intervals. An error is never a wrong answer;
a failed judge is never a guess."""

from __future__ import annotations

import json
import random

import pytest
from fake_llm import FakeLLM

from vidqa.evaluate.plan import resolve_model
from vidqa.providers.retry import RetryPolicy
from vidqa.records import VisualEvent
from vidqa.records.evaluation import EvalRequest, EvalResponse, EvalScore
from vidqa.records.questions import AudioCue, Question, VisualCue
from vidqa.score.categories import categorise
from vidqa.score.judge import judge_answer
from vidqa.score.normalize import colours_in, normalize, number_in, number_to_words, words_to_numbers
from vidqa.score.parse import is_refusal, parse_choice, parse_open
from vidqa.score.rules import score_open
from vidqa.score.scorer import score_response
from vidqa.score.stats import (
    accuracy_table,
    bootstrap_ci,
    consistency_table,
    counterfactual_table,
    error_breakdown,
    format_table,
    position_bias,
)

OPTIONS = ["red", "blue", "green", "white"]


def question(**kw) -> Question:
    base = {"video_id": "v1", "category": "referential_grounding", "template": "t", "template_version": 1,
            "question": "What colour is the ball when the whistle blows?", "answer": "blue",
            "answer_type": "colour", "options": list(OPTIONS), "answer_index": 1, "t_start": 10.0, "t_end": 14.0,
            "audio_cue": AudioCue("whistle", 11.0, 11.5),
            "visual_cue": VisualCue("object", 10.0, 14.0, label="ball", colour="blue", box=(0.1, 0.1, 0.3, 0.3)),
            "id": 1}
    base.update(kw)
    return Question(**base)


def response(text, *, status="ok", options=OPTIONS, gold_letter="B", gold="blue", refusal=False, error=None,
             qid=1, model="m/x", perm=0, condition="full", cf="none") -> EvalResponse:
    req = EvalRequest(question_id=qid, video_id="v1", model=model, provider="m", model_name="x", transport="text",
                      condition=condition, permutation=perm, counterfactual=cf, options=list(options),
                      gold_letter=gold_letter, gold=gold, call_key=f"k{qid}-{model}-{perm}-{condition}-{cf}")
    return EvalResponse(req, status, text=text, refusal=refusal, error=error)


# --- parse ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, letter, method", [
    ('{"answer": "C"}', "C", "json"),
    ('{"answer": "c"}', "C", "json"),
    ('```json\n{"answer": "D"}\n```', "D", "json"),
    ('{"answer": "blue"}', "B", "json"),
    ('{"answer": "B) blue"}', "B", "json"),
    ('{"answer": "B', "B", "extracted"),
    ("The answer is (C).", "C", "extracted"),
    ("Answer: D", "D", "extracted"),
    ("B) blue, because the ball is blue.", "B", "extracted"),
    ("B", "B", "extracted"),
    ("I think it is green.", "C", "extracted"),
    ('Sure! {"answer": "A"} is my choice', "A", "json"),
])
def test_letters_are_read_from_json_or_extracted(text, letter, method):
    parsed = parse_choice(text, OPTIONS)
    assert (parsed.letter, parsed.method, parsed.error) == (letter, method, None)
    assert parsed.text == OPTIONS["ABCD".index(letter)]


def test_a_leading_article_is_not_read_as_option_a():
    parsed = parse_choice("A white car, clearly.", ["red car", "blue car", "white car", "green car"])
    assert parsed.letter == "C"


@pytest.mark.parametrize("text, why", [
    ("Either (A) or (C), hard to say.", "ambiguous"),
    ("It could be red or blue.", "ambiguous"),
    ("The scene is dark.", "no option letter"),
    ('{"answer": "Z"}', "not one of"),
])
def test_unreadable_answers_are_errors_never_guesses(text, why):
    parsed = parse_choice(text, OPTIONS)
    assert parsed.letter is None and why in parsed.error and not parsed.refusal


def test_refusals_and_omissions_are_detected():
    assert parse_choice("I'm sorry, I cannot view videos.", OPTIONS).refusal
    assert parse_choice('{"answer": "I cannot determine this from the frames"}', OPTIONS).refusal
    assert parse_choice("", OPTIONS).refusal
    assert parse_choice('{"answer": "B"}', OPTIONS, refusal=True).refusal  # the provider's flag wins
    assert not parse_choice("I cannot be sure, but (B).", OPTIONS).refusal  # an answer is an answer
    assert is_refusal("No video was provided.") and not is_refusal("The ball is blue.")


def test_open_answers_are_read():
    assert parse_open('{"answer": "three"}').text == "three"
    assert parse_open("The answer is: 4 people\nbecause ...").text == "4 people"
    assert parse_open('{"answer": "I am unable to see the video"}').refusal
    assert parse_open('{"answer": "blu').text == "blu"


# --- normalise, rules --------------------------------------------------------------------------------------
def test_normalisation():
    assert normalize("The Twenty-One GRAY cars!") == "21 grey cars"
    assert normalize("A Dark-Gray car.") == "dark grey car"
    assert words_to_numbers("one hundred and five balls") == "105 balls"
    assert words_to_numbers("none") == "0" and words_to_numbers("no cars") == "no cars"
    assert number_in("there are three people") == 3 and number_in("the 2nd goal") == 2
    assert number_in("twice") == 2 and number_in("nothing") == 0 and number_in("many") is None
    assert colours_in("a navy shirt and a crimson hat, navy again") == ["blue", "red"]
    assert all(normalize(number_to_words(n)) == str(n) for n in range(0, 1000, 7))


@pytest.mark.parametrize("pred, gold, kind, expected", [
    ("There are three.", "3", "count", True),
    ("4", "three", "count", False),
    ("several", "3", "count", False),
    ("navy blue", "blue", "colour", True),
    ("gray", "grey", "colour", True),
    ("red and blue", "blue", "colour", False),
    ("the ball", "blue", "colour", False),
    ("Yes, it does.", "yes", "yes_no", True),
    ("no", "yes", "yes_no", False),
    ("maybe", "yes", "yes_no", None),
    ("HOME 2 - 1 AWAY", "home 2 1 away", "text", True),
    ("HOME 2-7 AWAY", "home 2 1 away", "text", True),  # 92 % similar: OCR-level misreads are close calls
    ("the referee", "referee", "label", True),
    ("two dogs", "dog", "label", True),
    ("a bicycle", "horse", "label", False),
    ("goal keeper", "goalkeeper gloves", "label", None),
])
def test_rules_for_open_answers(pred, gold, kind, expected):
    assert score_open(pred, gold, kind).correct is expected


# --- the judge over the real openai SDK ------------------------------------------------------------------
def test_judge_verdicts_stand_beside_the_rules_and_failures_stay_unscored():
    seen = []

    def reply(kind, req):
        seen.append(req)
        prompt = req["messages"][-1]["content"]
        if "navy-ish" in prompt or "sky" in prompt:
            return json.dumps({"correct": True, "reason": "navy is blue"})
        if "teal" in prompt:
            return "I would say it is probably fine"  # not the JSON asked for
        return json.dumps({"correct": False, "reason": "different"})

    with FakeLLM(reply) as fake:
        target = resolve_model(f"openai/judge@{fake.url}/v1", policy=RetryPolicy(max_attempts=1, sleep=lambda s: None))
        ok = judge_answer(target.provider, target.model, question="Colour?", gold="blue", predicted="navy-ish")
        assert (ok.correct, ok.reason, ok.error) == (True, "navy is blue", None)
        garbled = judge_answer(target.provider, target.model, question="Colour?", gold="blue", predicted="teal")
        assert garbled.correct is None and "not the JSON" in garbled.error
        fake.fail_next("chat", 500)
        failed = judge_answer(target.provider, target.model, question="Colour?", gold="blue", predicted="cyan")
        assert failed.correct is None and "judge failed" in failed.error and "500" in failed.error
        assert seen[0]["response_format"]["type"] == "json_schema"

        q = question(options=[], answer_index=None, answer_type="label", answer="goalkeeper gloves")

        def judge(qq, pred):
            return judge_answer(target.provider, target.model, question=qq.question, gold=qq.answer, predicted=pred)

        # rules undecided ("goal keeper" vs "goalkeeper gloves"), the judge decides
        s = score_response(response('{"answer": "goal keeper"}', options=[], gold_letter=None,
                                    gold="goalkeeper gloves"), q, judge=judge)
        assert s.rule_correct is None and s.judge_correct is False and s.status == "wrong" and s.method == "judge"
        # rules decide (no colour named: wrong); the judge's verdict is kept beside them
        s = score_response(response('{"answer": "the colour of the sky"}', options=[], gold_letter=None, gold="blue"),
                           question(options=[], answer_index=None), judge=judge)
        assert s.rule_correct is False and s.judge_correct is True and s.status == "wrong" and s.method == "rules"
        # rules undecided and the judge fails: unscored with both reasons, never a guess
        fake.fail_next("chat", 500)
        s = score_response(response('{"answer": "goal keeper"}', options=[], gold_letter=None,
                                    gold="goalkeeper gloves"), q, judge=judge)
        assert s.status == "unscored" and s.correct is None and "judge failed" in s.reason


# --- scoring ---------------------------------------------------------------------------------------------
def test_errors_are_never_wrong_answers():
    q = question()
    for status in ("error", "parked", "unsupported"):
        s = score_response(response(None, status=status, error="HTTP 503 (server error)"), q)
        assert s.status == "unscored" and s.correct is None and s.reason.startswith(status)
    s = score_response(response("The scene is dark."), q)
    assert s.status == "unscored" and s.reason.startswith("parse_error") and s.parse_error
    s = score_response(response("I'm sorry, I cannot view videos."), q)
    assert (s.status, s.correct, s.error_category) == ("wrong", False, "omission_refusal")
    s = score_response(response('{"answer": "B"}'), q)
    assert (s.status, s.predicted, s.predicted_text, s.method) == ("correct", "B", "blue", "json")
    cut = response("")
    cut.finish_reason = "length"
    s = score_response(cut, q)
    assert s.status == "unscored" and s.reason.startswith("truncated")


def test_error_categories_use_the_cues():
    q = question()
    other_ball_red = VisualEvent(11.0, "object", "ball", 0.9, box=(0.6, 0.6, 0.8, 0.8), attributes={"colour": "red"},
                                 end=12.0)
    same_ball_green_later = VisualEvent(20.0, "object", "ball", 0.9, box=(0.1, 0.1, 0.3, 0.3),
                                        attributes={"colour": "green"}, end=21.0)
    events = [other_ball_red, same_ball_green_later]
    assert categorise(q, predicted="red", visual_events=events) == "referential_grounding_error"
    assert categorise(q, predicted="green", visual_events=events) == "temporal_error"
    assert categorise(q, predicted="white", visual_events=events) == "colour_misidentification"
    assert categorise(q, predicted="", visual_events=events) == "omission_refusal"
    count_q = question(answer_type="count", answer="3", options=["1", "2", "3", "4"], answer_index=2,
                       category="counting", visual_cue=VisualCue("count", 10, 14, label="person", count=3))
    assert categorise(count_q, predicted="2") == "counting_error"
    text_q = question(answer_type="text", answer="GOAL", options=["GOAL", "GOLD", "GOAT", "COAL"], answer_index=0,
                      category="text_reading", visual_cue=VisualCue("text", 10, 14, text="GOAL"))
    assert categorise(text_q, predicted="GOLD") == "text_misread"
    order_q = question(category="temporal_order", answer_type="time_order")
    assert categorise(order_q, predicted="after") == "temporal_error"
    odd = question(category="audio_visual_misc", answer_type="yes_no", visual_cue=VisualCue("region", 10, 14))
    assert categorise(odd, predicted="no") == "uncategorised"


# --- statistics ------------------------------------------------------------------------------------------
def _scores(model: str, p_correct: float, n_q: int, k: int, rng: random.Random, *, unscored_every: int = 0):
    out = []
    i = 0
    for q in range(n_q):
        for perm in range(k):
            i += 1
            if unscored_every and i % unscored_every == 0:
                status = "unscored"
            else:
                status = "correct" if rng.random() < p_correct else "wrong"
            out.append(EvalScore(call_key=f"{model}{q}{perm}", question_id=q, model=model, transport="text",
                                 condition="full", permutation=perm, counterfactual="none", status=status,
                                 correct=None if status == "unscored" else status == "correct",
                                 predicted="ABCD"[(q + perm) % 4], category="counting" if q % 2 else "colour",
                                 reason="error: HTTP 503" if status == "unscored" else None,
                                 error_category="counting_error" if status == "wrong" else None))
    return out


def test_accuracy_with_seeded_bootstrap_intervals_and_unscored_counts():
    rng = random.Random(7)
    rows = _scores("good", 0.8, 60, 2, rng, unscored_every=10) + _scores("chance", 0.25, 60, 2, rng)
    table = accuracy_table(rows, by=("model",), seed=3)
    assert table == accuracy_table(list(reversed(rows)), by=("model",), seed=3)  # order does not matter
    assert table != accuracy_table(rows, by=("model",), seed=4)
    chance, good = table
    assert good.n_unscored == 12 and good.n_scored == 108 and good.unscored_reasons == {"error": 12}
    assert chance.n_unscored == 0 and chance.n_questions == 60
    for row in table:
        assert row.ci_low <= row.accuracy <= row.ci_high
        assert 0.05 < row.ci_high - row.ci_low < 0.35
    assert good.ci_low > chance.ci_high  # 0.8 vs 0.25 on 60 questions: clearly apart
    by_cat = accuracy_table(rows, by=("model", "category", "transport"))
    assert len(by_cat) == 4 and sum(r.n for r in by_cat) == len(rows)
    text = format_table(table)
    assert "unscored" in text and "good" in text
    assert bootstrap_ci([(1, 1)] * 10) == (1.0, 1.0) and bootstrap_ci([]) == (None, None)


def test_cluster_bootstrap_is_wider_when_rotations_agree():
    # 40 questions, each right under all 4 rotations or wrong under all: effectively 40 draws, not 160
    rows = []
    for q in range(40):
        ok = q % 2 == 0
        rows += [{"question_id": q, "model": "m", "status": "correct" if ok else "wrong", "permutation": p,
                  "condition": "full", "counterfactual": "none"} for p in range(4)]
    (row,) = accuracy_table(rows, by=("model",), seed=0)
    naive = 1.96 * (0.25 / 160) ** 0.5 * 2
    assert row.ci_high - row.ci_low > 1.5 * naive


def test_consistency_position_bias_errors_and_counterfactuals():
    rows = []
    for q in range(10):
        for p in range(4):
            # a model that always answers "A": right exactly when the gold sits at A (one rotation in four)
            gold = "ABCD"[(1 + p) % 4]
            rows.append({"question_id": q, "model": "biased", "transport": "text", "permutation": p,
                         "condition": "full", "counterfactual": "none", "predicted": "A",
                         "status": "correct" if gold == "A" else "wrong",
                         "error_category": None if gold == "A" else "uncategorised"})
    (cons,) = consistency_table(rows)
    assert cons["plain"] == pytest.approx(0.25) and cons["consistent"] == 0.0 and cons["n_complete"] == 10
    (bias,) = position_bias(rows)
    assert bias["A"] == 1.0 and bias["n"] == 40
    (err,) = error_breakdown(rows, by=("model",))
    assert err["uncategorised"] == 30 and err["correct"] == 10
    cf_rows = []
    for q in range(6):
        cf_rows.append({"question_id": q, "model": "m", "transport": "frames_audio", "permutation": 0,
                        "condition": "full", "counterfactual": "none", "predicted": "B", "status": "correct"})
        cf_rows.append({"question_id": q, "model": "m", "transport": "frames_audio", "permutation": 0,
                        "condition": "full", "counterfactual": "muted", "predicted": "B" if q < 2 else "A",
                        "status": "correct" if q < 2 else "wrong"})
    (cf,) = counterfactual_table(cf_rows)
    assert cf["listening"] == pytest.approx(4 / 6) and cf["n_pairs"] == 6
    assert cf["accuracy_without_cue"] == pytest.approx(2 / 6)
