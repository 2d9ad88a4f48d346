"""Evaluation sharded by provider (issue #12): one spawned process per provider on the same SQLite store gives the
rows one process gives; a re-run sends nothing; a shard that fails leaves the others' results stored; the CLI."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from click.testing import CliRunner
from eval_media import BEEP, SEGMENTS, make_av_clip, oracle
from fake_llm import FakeLLM

from vidqa.cli import cli
from vidqa.pipeline.evaluate import evaluate_questions
from vidqa.pipeline.evaluate_shards import evaluate_sharded, provider_groups
from vidqa.pipeline.ingest import ingest
from vidqa.records import AudioEvent, VisualEvent
from vidqa.records.questions import AudioCue, Question, VisualCue
from vidqa.store import Store

OPTIONS = ["red", "blue", "green", "white"]
COLUMNS = ("question_id", "model", "transport", "condition", "permutation", "status", "predicted")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_av_clip(tmp_path_factory.mktemp("shards") / "screens.mp4")


@pytest.fixture
def loaded(store, clip, tmp_path):
    src = tmp_path / "screens.mp4"
    shutil.copy(clip, src)
    video = ingest(str(src), store, make_proxy=False, progress=False)
    store.replace_audio_events(video.id, [AudioEvent("beep", *BEEP, 0.9, 0.9)])
    store.replace_visual_events(video.id, [VisualEvent(s, "colour", c, 0.9, box=(0, 0, 1, 1),
                                                       attributes={"object": "screen"}, end=e)
                                           for s, e, c in SEGMENTS])
    store.add_questions([
        Question(video_id=video.id, category="audio_visual_sync", template="test", template_version=1,
                 question=f"What colour is the screen {when}?", answer=answer, answer_type="colour",
                 options=list(OPTIONS), answer_index=OPTIONS.index(answer), t_start=t0, t_end=t1,
                 audio_cue=AudioCue("beep", *BEEP), visual_cue=VisualCue("colour", t0, t1, label="screen",
                                                                          colour=answer), status="validated")
        for when, answer, t0, t1 in [("when the beep sounds", "blue", 1.0, 5.0), ("at first", "red", 0.2, 1.8),
                                     ("near the end", "white", 6.5, 9.5)]
    ])
    return store


def _copy(store: Store, path) -> Store:
    with sqlite3.connect(path) as dst:
        store.conn.backup(dst)
    return Store(path, create=False)


def _rows(store: Store) -> list[tuple]:
    return sorted(tuple(r[c] for c in COLUMNS) for r in store.eval_results())


def test_provider_groups_keep_the_order_and_refuse_what_is_not_a_spec():
    assert provider_groups(["openai/a@http://x/v1", "baseline/random", "openai/b@http://y/v1"]) == {
        "openai": ["openai/a@http://x/v1", "openai/b@http://y/v1"], "baseline": ["baseline/random"]}
    with pytest.raises(Exception, match="groq/MODEL"):
        provider_groups(["smollm2"])


def test_two_providers_in_two_processes_give_the_rows_of_one_process(loaded, tmp_path):
    reference = _copy(loaded, tmp_path / "reference.db")
    with FakeLLM(oracle) as fake:
        models = [f"openai/oracle@{fake.url}/v1", "baseline/random"]
        kw = dict(transports=("text",), permutations=2)
        evaluate_questions(reference, models, progress=False, **kw)
        sent_once = len(fake.of_kind("chat"))
        assert sent_once == 6  # 3 questions x 2 rotations

        estimates = []
        shards = evaluate_sharded(loaded, models, on_estimate=estimates.append, **kw)
        assert [sh.provider for sh in shards] == ["openai", "baseline"]
        assert all(sh.error is None and sh.result is not None for sh in shards), [sh.error for sh in shards]
        assert len(estimates) == 1  # the whole evaluation's estimate, once, before any shard starts
        assert len(fake.of_kind("chat")) == 2 * sent_once
        assert _rows(loaded) == _rows(reference) and len(_rows(loaded)) == 12
        runs = loaded.query("SELECT status FROM eval_runs ORDER BY id")
        assert [r["status"] for r in runs] == ["done", "done"]  # one evaluation run per shard

        again = evaluate_sharded(loaded, models, **kw)  # everything is done: nothing is sent again
        assert all(sh.error is None for sh in again)
        assert len(fake.of_kind("chat")) == 2 * sent_once
        assert _rows(loaded) == _rows(reference)
    reference.close()


def test_a_failing_shard_leaves_the_other_providers_results_stored(loaded):
    shards = evaluate_sharded(loaded, ["nope/x", "baseline/longest"], transports=("text",))
    by = {sh.provider: sh for sh in shards}
    assert by["nope"].error and "PROVIDER/MODEL" in by["nope"].error
    assert by["baseline"].error is None
    assert {r["model"] for r in loaded.eval_results()} == {"baseline/longest"}


def test_cli_shard_by_provider(loaded):
    runner = CliRunner()
    with FakeLLM(oracle) as fake:
        spec = f"openai/oracle@{fake.url}/v1"
        res = runner.invoke(cli, ["evaluate", "--db", str(loaded.path), "--model", spec, "--model",
                                  "baseline/random", "--transport", "text", "--shard-by", "provider", "--quiet"])
        assert res.exit_code == 0, res.output
        assert "Cost estimate" in res.output and "[openai]" in res.output and "[baseline]" in res.output
        assert len(fake.of_kind("chat")) == 3
        bad = runner.invoke(cli, ["evaluate", "--db", str(loaded.path), "--model", "nope/x", "--model",
                                  "baseline/longest", "--shard-by", "provider", "--quiet"])
        # the whole estimate comes first, so a bad spec stops everything before any shard starts
        assert bad.exit_code == 1 and "PROVIDER/MODEL" in bad.output and "Traceback" not in bad.output
    assert {r["model"] for r in loaded.eval_results()} == {spec, "baseline/random"}
