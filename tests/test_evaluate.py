"""Evaluation (pure layer): transports, prompts, permutations, the modality gate, counterfactual audio, the runner's
limiter / cache / resume, and provider failures through the real SDKs against local fake servers (tests/fake_llm).

The "models" here are oracles served by the fake server: they really decode the JPEG frames and the WAV audio they
are sent (a frame's colour, where the beep is), so the gate and the counterfactuals are tested on what actually
reached the model. Questions are built here with exact ground truth (no question engine needed).
"""

from __future__ import annotations

import io
import json
import re
import wave

import numpy as np
import pytest
from eval_media import BEEP, DURATION, SEGMENTS, beep_time, colour_of, make_av_clip, oracle
from fake_llm import FakeLLM, gemini_error, openai_error

from vidqa.evaluate.baselines import get_baseline
from vidqa.evaluate.counterfactual import listening_rate, mute_span, shifted_window
from vidqa.evaluate.gate import gate_flags
from vidqa.evaluate.permutations import permutation_accuracy, rotations
from vidqa.evaluate.plan import EvalSettings, Limits, build_chat_request, plan, resolve_model
from vidqa.evaluate.prompt import answer_schema, question_text
from vidqa.evaluate.runner import MemoryCache, RateLimiter, run_tasks
from vidqa.evaluate.transports import QuestionMedia, TransportSettings, build_media, cue_lines, window_frames
from vidqa.providers.base import Capabilities
from vidqa.providers.retry import RetryPolicy
from vidqa.records import AudioEvent, TranscriptSegment, TranscriptWord, VisualEvent
from vidqa.records.questions import AudioCue, Question, VisualCue
from vidqa.score.scorer import score_response
from vidqa.score.stats import consistency_table, counterfactual_table


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    return make_av_clip(tmp_path_factory.mktemp("eval") / "screens.mp4")


def _sha(path) -> str:
    import hashlib

    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture(scope="session")
def media(clip):
    said = TranscriptSegment(4.5, 5.5, "the flag is white", [TranscriptWord(4.5, 4.7, "the"),
                                                             TranscriptWord(4.7, 4.9, "flag"),
                                                             TranscriptWord(4.9, 5.1, "is"),
                                                             TranscriptWord(5.1, 5.5, "white")])
    return QuestionMedia(video_path=str(clip), video_sha256=_sha(clip), duration=DURATION, has_audio=True,
                         transcript=[said], audio_events=[AudioEvent("beep", *BEEP, 0.9, 0.9)],
                         visual_events=[VisualEvent(s, "colour", c, 0.9, box=(0, 0, 1, 1),
                                                    attributes={"object": "screen"}, end=e)
                                        for s, e, c in SEGMENTS])


def q(qid, question, answer, t0, t1, *, category="audio_visual_sync", cue=("beep", *BEEP)) -> Question:
    opts = ["red", "blue", "green", "white"]
    return Question(video_id="screens", category=category, template="test", template_version=1, question=question,
                    answer=answer, answer_type="colour", options=opts, answer_index=opts.index(answer),
                    t_start=t0, t_end=t1, audio_cue=AudioCue(cue[0], cue[1], cue[2]),
                    visual_cue=VisualCue("colour", t0, t1, label="screen", colour=answer), id=qid)


@pytest.fixture(scope="session")
def questions():
    return [
        q(1, "What colour is the screen when the beep sounds?", "blue", 1.0, 5.0),           # needs both
        q(2, "What colour is the screen?", "red", 0.2, 1.8, category="referential_grounding"),  # sight alone
        q(3, "Which colour does the speaker name?", "white", 4.2, 5.8, category="speech",
          cue=("speech", 4.5, 5.5)),                                                           # hearing alone
    ]


@pytest.fixture
def waits():
    return []


@pytest.fixture
def policy(waits):
    return RetryPolicy(max_attempts=3, base_delay=0.01, sleep=waits.append)


# --- prompt, permutations ------------------------------------------------------------------------------------
def test_prompt_and_rotations():
    assert answer_schema(4)["properties"]["answer"]["enum"] == ["A", "B", "C", "D"]
    text = question_text("What colour?", ["red", "blue"])
    assert "A) red\nB) blue" in text and '{"answer": "<letter>"}' in text
    assert [p.shift for p in rotations(4, 2)] == [0, 2] and [p.shift for p in rotations(4, 9)] == [0, 1, 2, 3]
    p = rotations(4, 4)[1]
    assert p.apply(["a", "b", "c", "d"]) == ["b", "c", "d", "a"] and p.position_of(0) == 3
    for perm in rotations(4, 4):  # the gold sits at a different letter under each rotation
        assert perm.apply(list(range(4)))[perm.position_of(1)] == 1
    assert len({perm.position_of(1) for perm in rotations(4, 4)}) == 4
    pa = permutation_accuracy([(1, 0, True), (1, 1, True), (2, 0, True), (2, 1, False), (3, 0, True), (3, 1, None)])
    assert (pa.plain, pa.consistent, pa.n_incomplete, pa.n_unscored) == (0.8, 0.5, 1, 1)


# --- transports ----------------------------------------------------------------------------------------------
def test_frames_are_sampled_in_the_window_and_within_limits(media, questions):
    frames = window_frames(media.video_path, 1.0, 5.0, 4)
    assert [round(t, 1) for t, _ in frames] == [1.5, 2.5, 3.5, 4.5]
    assert [colour_of(b) for _, b in frames] == ["red", "blue", "blue", "green"]
    groq_like = Capabilities(image=True, max_images=2, json_schema=True)
    bundle = build_media("frames_transcript", "full", "none", questions[0], media, groq_like,
                         TransportSettings(frames=6))
    assert len(bundle.frame_times) == 2 and "capped at 2" in bundle.notes[0]
    assert all(1.0 <= t <= 5.0 for t in bundle.frame_times)


def test_audio_transport_carries_the_window_and_counterfactuals_remove_the_cue(media, questions):
    caps = Capabilities(image=True, audio=True)
    full = build_media("frames_audio", "full", "none", questions[0], media, caps)
    wav = next(p for p in full.parts if p.kind == "audio").data
    with wave.open(io.BytesIO(wav)) as w:
        assert w.getframerate() == 16_000 and abs(w.getnframes() - 4 * 16_000) < 400
    assert abs(beep_time(wav) - (BEEP[0] - 1.0)) < 0.05  # the beep, 2 s into the window
    muted = build_media("frames_audio", "full", "muted", questions[0], media, caps)
    assert beep_time(next(p for p in muted.parts if p.kind == "audio").data) is None
    shifted = build_media("frames_audio", "full", "shifted", questions[0], media, caps)
    assert beep_time(next(p for p in shifted.parts if p.kind == "audio").data) is None
    assert "audio taken from 3.5-7.5 s" in shifted.notes
    assert full.media_hashes()[-1] not in (muted.media_hashes()[-1], shifted.media_hashes()[-1])
    assert full.media_hashes()[:-1] == muted.media_hashes()[:-1]  # same frames, other audio
    blind = build_media("frames_audio", "blind", "none", questions[0], media, caps)
    assert [p.kind for p in blind.parts if p.kind != "text"] == ["audio"]
    deaf = build_media("frames_audio", "deaf", "none", questions[0], media, caps)
    assert {p.kind for p in deaf.parts} == {"text", "image"}
    assert shifted_window(4.0, (1.0, 3.0), (1.5, 2.0)) is None
    x = mute_span(np.ones(16_000, np.float32), 16_000, window=(0.0, 1.0), span=(0.4, 0.6))
    assert x[int(0.5 * 16_000)] == 0 and x[100] == 1 and x[-100] == 1


def test_text_transport_describes_vidqas_cues(media, questions):
    caps = Capabilities()
    full = build_media("text", "full", "none", questions[2], media, caps).parts[0].text
    assert '"the flag is white"' in full and "colour of a screen: green" in full
    deaf = build_media("text", "deaf", "none", questions[2], media, caps).parts[0].text
    assert "flag is white" not in deaf and "green" in deaf
    blind = build_media("text", "blind", "none", questions[0], media, caps).parts[0].text
    assert "beep" in blind and "Seen" not in blind
    lines = cue_lines(media, 1.0, 5.0)
    assert any("colour of a screen: blue" in line for line in lines)


def test_native_video_sends_the_file_with_the_window(media, questions, tmp_path):
    caps = Capabilities(image=True, audio=True, video=True)
    full = build_media("native_video", "full", "none", questions[0], media, caps)
    (video,) = [p for p in full.parts if p.kind == "video"]
    assert (video.start, video.end, video.sha256) == (1.0, 5.0, media.video_sha256)
    muted = build_media("native_video", "full", "muted", questions[0], media, caps, work_dir=tmp_path)
    (clip,) = [p for p in muted.parts if p.kind == "video"]
    assert clip.start is None and clip.sha256 != media.video_sha256
    from vidqa.media.probe import probe

    info = probe(clip.path)
    assert abs(info.duration - 4.0) < 0.3 and info.has_audio and max(info.width, info.height) <= 480


# --- the gate, permutations and counterfactuals against an oracle over the openai SDK ------------------------
def test_gate_flags_questions_one_modality_answers(media, questions, policy):
    with FakeLLM(oracle) as fake:
        target = resolve_model(f"openai/oracle@{fake.url}/v1", policy=policy)
        settings = EvalSettings(transports=("frames_audio", "frames_transcript"), permutations=4, gate=True)
        p = plan(questions, {"screens": media}, [target], settings)
        # 3 questions x 2 transports x (full + deaf + blind + question-only) x 4 rotations
        assert len(p.tasks) == 3 * 2 * 4 * 4 and not p.skipped
        out = run_tasks(p.tasks, cache=MemoryCache(), progress=False)
        # deaf and question-only requests are the same bytes under both transports: the cache answers the repeats
        assert out.stats.n_calls == len(fake.of_kind("chat")) and out.stats.n_calls + out.stats.n_cached == 96
        assert out.stats.n_cached > 0
    by_id = {x.id: x for x in questions}
    scores = [score_response(r, by_id[r.request.question_id]) for r in out.responses]
    assert all(s.scored for s in scores)
    full = {(s.question_id, s.transport) for s in scores if s.condition == "full" and not s.correct}
    assert (1, "frames_audio") not in full  # with both sight and sound the oracle gets the AV question right
    rows = [(s.question_id, f"{s.model} {s.transport}", s.condition, s.permutation, s.correct) for s in scores]
    flags = gate_flags(rows, k=4)
    assert flags[1]["flagged"] is False and flags[1]["deaf"] is False and flags[1]["blind"] is False
    assert flags[2]["flagged"] is True and flags[2]["by"] == ["deaf"]
    assert flags[3]["flagged"] is True and flags[3]["by"] == ["blind"]
    assert flags[1]["question_only"] is False  # position bias is right under one rotation in four, not all
    (cons,) = [c for c in consistency_table(scores) if c["transport"] == "frames_audio"]
    assert cons["n_complete"] == 3


def test_counterfactual_audio_shows_the_model_was_listening(media, questions, policy):
    with FakeLLM(oracle) as fake:
        target = resolve_model(f"openai/oracle@{fake.url}/v1", policy=policy)
        p = plan(questions[:1], {"screens": media}, [target],
                 EvalSettings(transports=("frames_audio",), permutations=4, counterfactual=True))
        assert {(t.request.condition, t.request.counterfactual) for t in p.tasks} == {
            ("full", "none"), ("full", "muted"), ("full", "shifted")}
        out = run_tasks(p.tasks, progress=False)
    scores = [score_response(r, questions[0]) for r in out.responses]
    table = {row["counterfactual"]: row for row in counterfactual_table(scores)}
    # without the beep the oracle falls back to "A": the answer changes under the 3 rotations where blue is not A
    assert table["muted"]["listening"] == pytest.approx(0.75) and table["shifted"]["listening"] == pytest.approx(0.75)
    assert listening_rate([("A", "A"), ("B", None)]) == (0.0, 1)


def test_text_only_models_get_the_cascade_and_unsupported_routes_are_left_out(media, questions):
    local_like = Capabilities(text=True, json_schema=True)

    class TextOnly:
        name = "local"

        def capabilities(self, model):
            return local_like

        def complete(self, request):
            raise AssertionError("not called in this test")

    target = resolve_model("local/smollm2", provider=TextOnly())
    p = plan(questions, {"screens": media}, [target], EvalSettings())
    assert {t.request.transport for t in p.tasks} == {"text"}
    p = plan(questions, {"screens": media}, [target], EvalSettings(transports=("frames_audio", "text"), gate=True))
    assert {t.request.transport for t in p.tasks} == {"text"}
    assert ("local/smollm2", "frames_audio", "full", "the model takes no image or audio input") in p.skipped
    chat, req = build_chat_request(p.tasks[0])
    assert all(part.kind == "text" for part in chat.parts) and req.prompt_hash and req.media_hashes == []
    assert req.cache_key == chat.cache_key("local")


# --- runner: limiter, cache, resume; failures through the real SDKs ------------------------------------------
def test_rate_limiter_paces_starts():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(30, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.acquire()
    assert slept == [2.0, 2.0, 2.0]
    burst = RateLimiter(60, burst=3, clock=lambda: now[0], sleep=sleep)
    slept.clear()
    for _ in range(5):
        burst.acquire()
    assert slept == [1.0, 1.0]
    assert RateLimiter(None).acquire() == 0.0


def _text_plan(questions, media, target, **kw):
    return plan(questions, {"screens": media}, [target], EvalSettings(transports=("text",), **kw))


def test_cache_makes_a_temperature_zero_rerun_free(media, questions, policy):
    with FakeLLM(oracle) as fake:
        target = resolve_model(f"openai/oracle@{fake.url}/v1", policy=policy)
        p = _text_plan(questions, media, target, permutations=4)
        cache = MemoryCache()
        first = run_tasks(p.tasks, cache=cache, progress=False)
        sent = len(fake.of_kind("chat"))
        again = run_tasks(p.tasks, cache=cache, progress=False)
        assert sent == 12 and len(fake.of_kind("chat")) == sent  # no call on the re-run
        assert again.stats.n_cached == 12 and again.stats.n_calls == 0 and all(r.cached for r in again.responses)
        assert sorted(r.text for r in again.responses) == sorted(r.text for r in first.responses)
        # the same question through another server is another cache entry
        other = resolve_model(f"openai/oracle@{fake.url}/v1/", policy=policy)
        assert build_chat_request(_text_plan(questions, media, other).tasks[0])[1].cache_key != \
            build_chat_request(p.tasks[0])[1].cache_key
        # sampling (temperature > 0, no seed) is never answered from the cache
        hot = _text_plan(questions, media, target, temperature=0.7, seed=None)
        run_tasks(hot.tasks, cache=cache, progress=False)
        run_tasks(hot.tasks, cache=cache, progress=False)
        assert len(fake.of_kind("chat")) == sent + 6


def test_429_with_retry_after_is_waited_out(media, questions, policy, waits, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_fake_for_loopback")
    with FakeLLM() as fake:
        target = resolve_model(f"groq/llama-3.1-8b-instant@{fake.url}", policy=policy)
        fake.fail_next("chat", 429, openai_error(429, "Rate limit reached"), headers={"retry-after": "1.5"})
        out = run_tasks(_text_plan(questions[:1], media, target).tasks, progress=False)
    (r,) = out.responses
    assert r.status == "ok" and r.attempts == 2 and waits and 1.5 <= waits[0] < 1.6
    assert r.system_fingerprint == "fp_fake_1" and r.input_tokens == 11 and r.cost is not None


def test_a_long_retry_after_parks_the_model_without_more_calls(media, questions, policy, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_fake_for_loopback")
    with FakeLLM() as fake:
        spec = f"groq/llama-3.1-8b-instant@{fake.url}"
        target = resolve_model(spec, policy=policy, limits=Limits(concurrency=1))
        fake.fail_next("chat", 429, openai_error(429, "Daily limit reached"), headers={"retry-after": "7200"})
        out = run_tasks(_text_plan(questions, media, target, permutations=2).tasks, progress=False)
        assert len(fake.of_kind("chat")) == 1
    assert [r.status for r in out.responses] == ["parked"] * 6
    assert "2.0 h" in out.stats.parked[spec] and out.stats.n_parked == 6
    assert all(score_response(r, questions[0]).status == "unscored" for r in out.responses)


def test_5xx_mid_batch_is_an_error_then_resume_does_only_the_rest(media, questions, waits):
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, sleep=waits.append)
    with FakeLLM(oracle) as fake:
        target = resolve_model(f"openai/oracle@{fake.url}/v1", policy=policy, limits=Limits(concurrency=1))
        p = _text_plan(questions, media, target, permutations=4)
        kept = []
        first_calls = []

        def on_result(r):
            kept.append(r)
            if len(kept) == 5:  # a 503 storm in the middle of the batch: two attempts each for the next two
                for _ in range(4):
                    fake.fail_next("chat", 503, openai_error(503, "overloaded"))

        run_tasks(p.tasks, on_result=on_result, progress=False)
        first_calls.append(len(fake.of_kind("chat")))
        errors = [r for r in kept if r.status == "error"]
        assert 1 <= len(errors) <= 2 and all("503" in r.error and r.error_type == "RetriesExhausted" for r in errors)
        assert all(score_response(r, questions[0]).status == "unscored" for r in errors)
        done = {r.request.call_key for r in kept if r.answered}
        again = run_tasks(p.tasks, done=done, progress=False)
        assert again.stats.n_resumed == 12 - len(errors) and len(again.responses) == len(errors)
        assert all(r.status == "ok" for r in again.responses)
        assert len(fake.of_kind("chat")) == first_calls[0] + len(errors)


def test_413_malformed_refusal_and_slow_answers(media, questions, waits):
    final = RetryPolicy(max_attempts=1, sleep=waits.append)
    retrying = RetryPolicy(max_attempts=2, base_delay=0.01, sleep=waits.append)
    with FakeLLM(oracle) as fake:
        url = f"{fake.url}/v1"

        def one(policy, **kw):
            target = resolve_model(f"openai/oracle@{url}", policy=policy, **kw)
            (r,) = run_tasks(_text_plan(questions[2:], media, target).tasks, progress=False).responses
            return r, score_response(r, questions[2])

        fake.fail_next("chat", 413, openai_error(413, "Request Entity Too Large"))
        r, s = one(retrying)
        assert (r.status, r.error_type, s.status) == ("error", "RequestTooLarge", "unscored")
        assert len(fake.of_kind("chat")) == 1  # 413 is not retried

        fake.malformed_next("chat")
        r, s = one(retrying)
        assert r.status == "ok" and r.attempts == 2 and s.status == "correct"
        fake.malformed_next("chat")
        r, s = one(final)
        assert r.status == "error" and "not" in r.error and s.status == "unscored"

        fake.refuse_next("chat")
        r, s = one(final)
        assert r.status == "refused" and (s.status, s.error_category) == ("wrong", "omission_refusal")

        fake.slow_next("chat", 3.0)
        r, s = one(retrying, timeout=0.5)
        assert r.status == "ok" and r.attempts == 2
        fake.slow_next("chat", 3.0)
        r, s = one(final, timeout=0.5)
        assert r.status == "error" and "timed out" in r.error and s.status == "unscored"


def test_groq_vision_limits_shrink_frames_to_fit(tmp_path, questions, monkeypatch, waits):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_fake_for_loopback")
    big = make_av_clip(tmp_path / "noisy.mp4", size=(1280, 720), fps=1, noise=True)
    m = QuestionMedia(video_path=str(big), duration=DURATION)
    with FakeLLM() as fake:
        target = resolve_model(f"groq/meta-llama/llama-4-scout-17b-16e-instruct@{fake.url}",
                               policy=RetryPolicy(max_attempts=1, sleep=waits.append))
        assert target.caps.max_images == 5 and target.caps.max_request_bytes == 4 * 1024 * 1024
        p = plan(questions[:1], {"screens": m}, [target], EvalSettings(
            transports=("frames_transcript",), media=TransportSettings(frames=8, max_side=1280, jpeg_quality=98)))
        (r,) = run_tasks(p.tasks, progress=False).responses
        (sent,) = fake.of_kind("chat")
    assert r.status == "ok", r.error
    assert len(r.request.frame_times) == 5 and any("capped at 5" in n for n in r.request.notes)
    assert any("shrunk" in n for n in r.request.notes) and sent.size < 4 * 1024 * 1024
    parts = sent.json["messages"][-1]["content"]
    assert sum(1 for x in parts if x["type"] == "image_url") == 5


def test_gemini_native_video_uploads_once_and_sends_the_window(media, questions, monkeypatch, waits):
    monkeypatch.setenv("GEMINI_API_KEY", "AIza_fake_for_loopback")
    with FakeLLM() as fake:
        target = resolve_model(f"gemini/gemini-2.0-flash@{fake.url}", limits=Limits(2, rpm=None),
                               policy=RetryPolicy(max_attempts=2, base_delay=0.01, sleep=waits.append))
        assert target.caps.video
        p = plan(questions, {"screens": media}, [target], EvalSettings(permutations=2))
        assert {t.request.transport for t in p.tasks} == {"native_video"}
        fake.fail_next("generate", 429, gemini_error(429, "quota", retry_delay="2s"))
        out = run_tasks(p.tasks, progress=False)
        assert len([r for r in fake.requests if r.kind == "upload"]) == 1  # one upload for six calls
        gens = fake.of_kind("generate")
    assert all(r.status == "ok" for r in out.responses) and len(gens) == 7
    assert any(2.0 <= w < 2.1 for w in waits)  # the server's RetryInfo delay (the rest are upload polls)
    body = json.dumps(gens[-1].json)
    assert "videoMetadata" in body or "video_metadata" in body
    starts = {re.search(r'"start_?[oO]ffset": "([\d.]+)s"', json.dumps(g.json)).group(1) for g in gens}
    assert {float(x) for x in starts} == {1.0, 0.2, 4.2}
    assert all(r.request.media_hashes == [media.video_sha256] for r in out.responses)
    assert all(score_response(r, questions[r.request.question_id - 1]).scored for r in out.responses)


def test_gemini_gate_and_counterfactual_conditions_send_the_right_media(media, questions, monkeypatch, waits):
    monkeypatch.setenv("GEMINI_API_KEY", "AIza_fake_for_loopback")
    with FakeLLM() as fake:
        target = resolve_model(f"gemini/gemini-2.0-flash@{fake.url}", limits=Limits(1, rpm=None),
                               policy=RetryPolicy(max_attempts=2, base_delay=0.01, sleep=waits.append))
        p = plan(questions[:1], {"screens": media}, [target],
                 EvalSettings(gate=True, gate_permutations=1, counterfactual=True))
        out = run_tasks(p.tasks, progress=False)
        uploads = len([r for r in fake.requests if r.kind == "upload"])
        by_call = {(r.request.condition, r.request.counterfactual): r for r in out.responses}
        gens = {json.dumps(g.json) for g in fake.of_kind("generate")}
    assert all(r.status == "ok" for r in out.responses) and len(out.responses) == 6
    # the video itself, then one window clip: muted and shifted audio are both silence here, so the same clip
    assert uploads == 2
    assert by_call[("full", "muted")].request.media_hashes == by_call[("full", "shifted")].request.media_hashes
    assert by_call[("full", "muted")].request.media_hashes != [media.video_sha256]
    deaf = [g for g in gens if "image/jpeg" in g]
    blind = [g for g in gens if "audio/wav" in g]
    assert len(deaf) == 1 and "fileData" not in deaf[0] and "file_data" not in deaf[0]
    assert len(blind) == 1 and "image/jpeg" not in blind[0]
    assert len(by_call[("deaf", "none")].request.frame_times) == 4


def test_baselines_are_seeded_pseudo_models(media, questions):
    targets = [resolve_model(f"baseline/{k}") for k in ("random", "longest", "question-only", "transcript-only")]
    p = plan(questions, {"screens": media}, targets, EvalSettings(permutations=4, gate=True))
    assert {t.request.transport for t in p.tasks} == {"baseline"}
    assert {t.request.condition for t in p.tasks} == {"full"}
    a = run_tasks(p.tasks, progress=False)
    b = run_tasks(p.tasks, progress=False)
    key = {r.request.call_key: r.text for r in a.responses}
    assert key == {r.request.call_key: r.text for r in b.responses}  # seeded
    assert a.stats.n_calls == 0
    scores = {(r.request.model, r.request.question_id, r.request.permutation):
              score_response(r, questions[r.request.question_id - 1]) for r in a.responses}
    # the transcript says "white": the transcript-only baseline finds it under every rotation
    assert all(scores[("baseline/transcript-only", 3, k)].correct for k in range(4))
    assert all(s.scored for s in scores.values())
    assert get_baseline("baseline/longest").kind == "longest"
