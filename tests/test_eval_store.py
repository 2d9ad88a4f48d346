"""Evaluation in the store: the v4 tables and views, provenance round trips, the pipeline glue (resume after a 5xx
storm, the store-backed cache, gate flags written to the questions, dry runs that write nothing), the CLI, and one
end-to-end run against the real local model (plumbing and valid answers only: its accuracy is chance)."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from eval_media import BEEP, SEGMENTS, make_av_clip, oracle
from fake_llm import FakeLLM, openai_error
from needs import missing

from vidqa.cli import cli
from vidqa.evaluate.plan import EvalSettings, Limits, resolve_model
from vidqa.pipeline.evaluate import evaluate_questions, evaluation_results, rescore
from vidqa.pipeline.ingest import ingest
from vidqa.providers.retry import RetryPolicy
from vidqa.records import AudioEvent, TranscriptSegment, TranscriptWord, VisualEvent
from vidqa.records.evaluation import EvalRequest, EvalResponse, EvalScore
from vidqa.records.questions import AudioCue, Question, VisualCue

OPTIONS = ["red", "blue", "green", "white"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_av_clip(tmp_path_factory.mktemp("evalstore") / "screens.mp4")


def _question(video_id: str, question: str, answer: str, t0: float, t1: float, *, category: str,
              cue: tuple[str, float, float] = ("beep", *BEEP), status: str = "validated") -> Question:
    return Question(video_id=video_id, category=category, template="test", template_version=1, question=question,
                    answer=answer, answer_type="colour", options=list(OPTIONS), answer_index=OPTIONS.index(answer),
                    t_start=t0, t_end=t1, audio_cue=AudioCue(*cue),
                    visual_cue=VisualCue("colour", t0, t1, label="screen", colour=answer), status=status)


@pytest.fixture
def loaded(store, clip, tmp_path):
    """A store with the screens clip ingested, its cues written, and three validated questions."""
    src = tmp_path / "screens.mp4"
    shutil.copy(clip, src)
    video = ingest(str(src), store, make_proxy=False, progress=False)
    words = [TranscriptWord(4.5, 4.7, "the"), TranscriptWord(4.7, 4.9, "flag"), TranscriptWord(4.9, 5.1, "is"),
             TranscriptWord(5.1, 5.5, "white")]
    store.replace_transcript(video.id, [TranscriptSegment(4.5, 5.5, "the flag is white", words)])
    store.replace_audio_events(video.id, [AudioEvent("beep", *BEEP, 0.9, 0.9)])
    store.replace_visual_events(video.id, [VisualEvent(s, "colour", c, 0.9, box=(0, 0, 1, 1),
                                                       attributes={"object": "screen"}, end=e)
                                           for s, e, c in SEGMENTS])
    ids = store.add_questions([
        _question(video.id, "What colour is the screen when the beep sounds?", "blue", 1.0, 5.0,
                  category="audio_visual_sync"),
        _question(video.id, "What colour is the screen?", "red", 0.2, 1.8, category="referential_grounding"),
        _question(video.id, "Which colour does the speaker name?", "white", 4.2, 5.8, category="speech",
                  cue=("speech", 4.5, 5.5)),
        _question(video.id, "A draft nobody checked?", "green", 4.0, 6.0, category="speech", status="draft"),
    ])
    return store, video, ids


def _target(fake, **kw):
    return resolve_model(f"openai/oracle@{fake.url}/v1", limits=kw.pop("limits", Limits(2, None)),
                         policy=kw.pop("policy", RetryPolicy(max_attempts=2, base_delay=0.01, sleep=lambda s: None)),
                         **kw)


# --- tables and views --------------------------------------------------------------------------------------
def test_the_migration_adds_the_evaluation_tables_and_views(store):
    names = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE name LIKE 'eval%'")}
    assert {"eval_runs", "eval_responses", "eval_scores", "eval_cache", "eval_results", "eval_accuracy",
            "eval_accuracy_by_model", "eval_consistency", "eval_errors", "eval_unscored", "eval_gate",
            "eval_counterfactual"} <= names
    assert [m["version"] for m in store.migrations() if m["name"] == "v4_evaluations"] == [4]


def _resp(qid, perm, status, text=None, *, model="m/x", condition="full", error=None) -> EvalResponse:
    req = EvalRequest(question_id=qid, video_id="v", model=model, provider="m", model_name="x", transport="text",
                      condition=condition, permutation=perm, options=list(OPTIONS), gold_letter="B", gold="blue",
                      question_hash="qh", settings_hash="sh", unit=f"q{qid}/{model}/text",
                      call_key=f"{qid}-{perm}-{model}-{condition}", prompt_version=1, prompt_hash="ph",
                      media_hashes=["a" * 64], frame_times=[1.5, 2.5], cache_key=f"c{qid}{perm}", seed=0,
                      notes=["frames capped at 2 (provider limit)"])
    return EvalResponse(req, status, text=text, error=error, latency=0.25, input_tokens=120, output_tokens=4,
                        cost=1e-5, system_fingerprint="fp_1", finish_reason="stop", attempts=1)


def _score(resp: EvalResponse, status: str, predicted=None, category="colour_misidentification") -> EvalScore:
    r = resp.request
    return EvalScore(call_key=r.call_key, question_id=r.question_id, model=r.model, transport=r.transport,
                     condition=r.condition, permutation=r.permutation, counterfactual=r.counterfactual,
                     status=status, correct={"correct": True, "wrong": False}.get(status), predicted=predicted,
                     gold="B", method="json", category="colour", answer_type="colour",
                     error_category=category if status == "wrong" else None,
                     reason="error: HTTP 503" if status == "unscored" else None)


def test_responses_round_trip_with_provenance_and_views_count_the_unscored(loaded):
    store, _video, (q1, q2, q3, _) = loaded
    rows = []
    for qid, statuses in ((q1, ["correct", "correct"]), (q2, ["correct", "wrong"]), (q3, ["wrong", "unscored"])):
        for perm, st in enumerate(statuses):
            resp = _resp(qid, perm, "error" if st == "unscored" else "ok",
                         None if st == "unscored" else json.dumps({"answer": "B" if st == "correct" else "A"}),
                         error="HTTP 503" if st == "unscored" else None)
            rows.append((resp, _score(resp, st, None if st == "unscored" else ("B" if st == "correct" else "A"))))
    run = store.start_eval_run({"models": ["m/x"]}, n_planned=6, estimated_cost=0.001)
    store.add_eval_results(rows, eval_run_id=run.id)
    back = store.eval_responses(question_id=q1)
    assert [r.request for r in back] == [r.request for r, _ in rows[:2]]
    assert back[0].system_fingerprint == "fp_1" and back[0].latency == 0.25 and back[0].eval_run_id == run.id
    (acc,) = store.query("SELECT * FROM eval_accuracy")
    assert (acc["n"], acc["n_scored"], acc["n_correct"], acc["n_unscored"]) == (6, 5, 3, 1)
    assert acc["accuracy"] == pytest.approx(0.6)
    (cons,) = store.query("SELECT * FROM eval_consistency")
    assert (cons["n_questions"], cons["n_complete"], cons["n_consistent"]) == (3, 2, 1)
    assert store.query("SELECT error_category, n FROM eval_errors") == [
        {"error_category": "colour_misidentification", "n": 2}]
    assert store.query("SELECT reason_kind, n FROM eval_unscored") == [{"reason_kind": "error", "n": 1}]
    assert store.done_call_keys() == {r.request.call_key for r, s in rows if s.status != "unscored"}
    # a re-run of a call replaces its response and its score (no duplicates)
    fixed = _resp(q3, 1, "ok", '{"answer": "B"}')
    store.add_eval_results([(fixed, _score(fixed, "correct", "B"))])
    assert len(store.eval_results()) == 6 and len(store.eval_scores()) == 6
    assert store.query("SELECT n_unscored FROM eval_accuracy")[0]["n_unscored"] == 0
    store.put_cached_responses([("k1", "openai", "x", {"text": "B", "provider": "openai", "model": "x",
                                                        "latency": 0.1})])
    assert store.cached_response("k1")["text"] == "B" and store.cached_responses(["k1", "nope"]).keys() == {"k1"}
    finished = store.finish_eval_run(run.id, "done", n_calls=6, cost=6e-5)
    assert finished.status == "done" and finished.n_calls == 6 and store.eval_runs()[0].id == run.id


# --- the pipeline ------------------------------------------------------------------------------------------
def test_pipeline_writes_results_gate_flags_and_resumes_after_a_5xx_storm(loaded):
    store, _video, (q1, q2, q3, draft) = loaded
    with FakeLLM(oracle) as fake:
        target = _target(fake, limits=Limits(1, None))
        seen = []

        def storm(estimate):
            seen.append(estimate)
            for _ in range(6):  # three calls fail twice each (2 attempts): final errors, never wrong answers
                fake.fail_next("chat", 503, openai_error(503, "overloaded"))

        first = evaluate_questions(store, [target, "baseline/random"], transports=("frames_audio",
                                                                                  "frames_transcript"),
                                   permutations=4, gate=True, on_estimate=storm, progress=False)
        assert seen and first.n_questions == 3  # validated only: the draft is left out
        sent = len(fake.of_kind("chat"))
        assert first.stats.n_errors == 3 and first.eval_run.status == "done"
        unscored = store.query("SELECT COUNT(*) AS n FROM eval_results WHERE status = 'unscored'")[0]["n"]
        assert unscored == 3
        failed_units = [r for r in store.runs(stage="evaluate") if r.status == "failed"]
        assert 1 <= len(failed_units) <= 3 and all("503" in r.error for r in failed_units)

        again = evaluate_questions(store, [target, "baseline/random"], transports=("frames_audio",
                                                                                  "frames_transcript"),
                                   permutations=4, gate=True, progress=False)
        assert again.stats.n_resumed == first.n_planned - 3
        assert len(fake.of_kind("chat")) - sent == again.stats.n_calls <= 3  # only the rest (some from the cache)
        assert store.query("SELECT COUNT(*) AS n FROM eval_results WHERE status = 'unscored'")[0]["n"] == 0
        units = {}
        for r in store.runs(stage="evaluate"):
            units[r.unit] = r.status
        assert set(units.values()) == {"done"}  # the latest run of every unit is done
        assert any(u.startswith(f"q{q1}/baseline/random") for u in units)

        # gate flags are on the questions: sight alone answers q2, hearing alone q3, q1 needs both
        gates = {q: store.question(q).gate for q in (q1, q2, q3)}
        assert gates[q1]["flagged"] is False
        assert gates[q2]["flagged"] is True and gates[q2]["by"] == ["deaf"]
        assert gates[q3]["flagged"] is True and gates[q3]["by"] == ["blind"]
        assert store.question(draft).gate == {}

        # a forced re-run at temperature 0 is answered from the store's cache: no call at all
        before = len(fake.of_kind("chat"))
        forced = evaluate_questions(store, [target], transports=("frames_audio",), permutations=4, force=True,
                                    progress=False)
        assert len(fake.of_kind("chat")) == before and forced.stats.n_calls == 0
        assert forced.stats.n_cached == forced.n_planned == 12

    table = {tuple(r.keys.values()): r for r in evaluation_results(store, by=("model", "transport"))}
    oracle_av = table[(target.spec, "frames_audio")]
    assert oracle_av.n_unscored == 0 and oracle_av.n_questions == 3 and oracle_av.ci_low <= oracle_av.accuracy
    assert table[("baseline/random", "baseline")].n_scored == 12
    stored = store.eval_responses(model=target.spec)
    assert all(r.request.prompt_hash and r.request.cache_key for r in stored)
    for r in stored:  # media hashes for every media part: none with the question alone or a transcript alone
        media_sent = r.request.condition in ("full", "deaf") or (r.request.condition, r.request.transport) == (
            "blind", "frames_audio")
        assert bool(r.request.media_hashes) == media_sent
    assert {r.request.condition for r in stored} == {"full", "deaf", "blind", "question_only"}
    assert rescore(store) == len(store.eval_responses())


def test_a_dry_run_writes_nothing_and_a_parked_model_is_reported(loaded, monkeypatch):
    store, _video, _ids = loaded
    result = evaluate_questions(store, ["baseline/random", "baseline/longest"], permutations=2, dry_run=True,
                                progress=False)
    assert result.dry_run and result.n_planned == 12 and result.estimate.total_usd == 0.0
    assert store.eval_runs() == [] and store.eval_results() == [] and store.runs(stage="evaluate") == []
    assert "dry run" in result.summary()
    monkeypatch.setenv("GROQ_API_KEY", "gsk_fake_for_loopback")
    with FakeLLM() as fake:
        parked = resolve_model(f"groq/llama-3.1-8b-instant@{fake.url}", limits=Limits(1, None),
                               policy=RetryPolicy(sleep=lambda s: None))
        fake.fail_next("chat", 429, openai_error(429, "tokens per day"), headers={"retry-after": "86400"})
        out = evaluate_questions(store, [parked], progress=False)
        assert len(fake.of_kind("chat")) == 1
    assert out.eval_run.status == "parked" and "24.0 h" in out.eval_run.error
    rows = store.eval_results(model=parked.spec)
    assert len(rows) == 3 and {r["status"] for r in rows} == {"unscored"}
    assert {r["response_status"] for r in rows} == {"parked"}
    assert store.done_call_keys() == set()  # parked calls are done next time
    store.close()  # the key never reaches the database (nor its WAL)
    for f in store.path.parent.glob(store.path.name + "*"):
        assert b"gsk_fake_for_loopback" not in f.read_bytes()


def test_cli_evaluate_and_results(loaded):
    store, _video, _ids = loaded
    runner = CliRunner()
    with FakeLLM(oracle) as fake:
        spec = f"openai/oracle@{fake.url}/v1"
        dry = runner.invoke(cli, ["evaluate", "--db", str(store.path), "--model", spec, "--model", "baseline/random",
                                  "--transport", "text", "-k", "2", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "Cost estimate" in dry.output and "Dry run" in dry.output and not fake.requests
        done = runner.invoke(cli, ["evaluate", "--db", str(store.path), "--model", spec, "--model",
                                   "baseline/transcript-only", "--transport", "text", "-k", "4", "--quiet",
                                   "--rpm", "6000"])
        assert done.exit_code == 0, done.output
        assert "12 sent" in done.output and len(fake.of_kind("chat")) == 12
        bad = runner.invoke(cli, ["evaluate", "--db", str(store.path), "--model", "nope/x"])
        assert bad.exit_code == 1 and "PROVIDER/MODEL" in bad.output and "Traceback" not in bad.output
    res = runner.invoke(cli, ["results", "--db", str(store.path), "--by", "model,transport", "--consistency",
                              "--errors"])
    assert res.exit_code == 0, res.output
    assert "baseline/transcript-only" in res.output and "unscored" in res.output and "consistent" in res.output
    assert "95% CI" in res.output and "[" in res.output


# --- the real local model ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_end_to_end_with_the_real_local_model(loaded):
    from vidqa.errors import VidqaError
    from vidqa.providers.local import find_llama_server, model_path

    try:
        find_llama_server()
        model_path("smollm2")
    except VidqaError as err:
        missing(str(err))
    store, _video, _ids = loaded
    result = evaluate_questions(store, ["local/smollm2"], settings=EvalSettings(permutations=2, max_tokens=24),
                                progress=False)
    assert result.eval_run.status == "done", result.summary()
    rows = store.eval_results(model="local/smollm2")
    assert len(rows) == 6 and {r["transport"] for r in rows} == {"text"}  # the cascade for a text-only model
    assert {r["response_status"] for r in rows} == {"ok"}
    assert all(r["status"] in ("correct", "wrong") and r["predicted"] in "ABCD" for r in rows)  # valid answers
    responses = store.eval_responses(model="local/smollm2")
    assert all(r.input_tokens and r.input_tokens > 100 and r.latency > 0 for r in responses)
    again = evaluate_questions(store, ["local/smollm2"], settings=EvalSettings(permutations=2, max_tokens=24),
                               force=True, progress=False)
    assert again.stats.n_calls == 0 and again.stats.n_cached == 6
