"""Dashboard figures over a seeded result set with exact ground truth (real SQLite, the store's write API)."""

from __future__ import annotations

import pytest

from vidqa.report import (accuracy_figure, consistency_figure, cost_latency_figure, errors_figure, failure_heatmap,
                          failures_table, filter_results, gate_figure, question_health_figure, results_frame,
                          review_note, transport_figure)
from vidqa.store import Store
from vidqa.testing.results import HOSTILE_ANSWER, synthetic_results


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("dash") / "vidqa.db")
    truth = synthetic_results(store, n_questions=80, seed=3)
    ro = Store(store.path, readonly=True)
    return ro, truth, results_frame(ro)


def test_accuracy_bars_match_the_truth_and_say_what_was_left_out(results):
    store, truth, df = results
    assert len(df) == truth.n_responses
    fig = accuracy_figure(df)
    for trace in fig.data:
        for category, value in zip(trace.x, trace.y):
            c, s = truth.correct[trace.name][category], truth.scored[trace.name][category]
            assert value == pytest.approx(c / s)
        assert all(lo >= 0 for lo in trace.error_y.arrayminus) and all(hi >= 0 for hi in trace.error_y.array)
    n_unscored = sum(truth.unscored.values())
    assert f"{n_unscored} of {len(df)} answers unscored" in fig.layout.title.text


def test_filters_change_every_figure(results):
    store, truth, df = results
    only_a = filter_results(df, models=["model/a"], categories=["counting"])
    assert set(only_a["model"]) == {"model/a"} and set(only_a["category"]) == {"counting"}
    fig = accuracy_figure(only_a)
    assert [t.name for t in fig.data] == ["model/a"] and list(fig.data[0].x) == ["counting"]
    for make in (consistency_figure, errors_figure, gate_figure, transport_figure, cost_latency_figure):
        assert make(only_a).to_plotly_json() != make(df).to_plotly_json()


def test_failure_heatmap_and_the_failures_table(results):
    store, truth, df = results
    fig = failure_heatmap(df, store, truth.video_id, bin_seconds=60)
    z = fig.data[0].z
    assert fig.data[0].y == ("model/a", "model/b") and len(z[0]) == 10
    wrong = df[(df["status"] == "wrong") & (df["model"] == "model/a")]
    assert sum(c for row in [fig.data[0].customdata[0]] for c in row) == int(
        (df[(df["model"] == "model/a")]["status"].isin(["correct", "wrong"])).sum())
    table = failures_table(df)
    assert set(table["status"]) <= {"wrong", "unscored"} and len(table) == min(500, len(df) - int(
        (df["status"] == "correct").sum()))
    assert len(wrong) > 0 and HOSTILE_ANSWER in set(table["predicted_text"])
    html = table.to_html()
    assert HOSTILE_ANSWER not in html and "&lt;img" in html  # pandas escapes it: shown as text


def test_question_health_and_the_review_note(results):
    store, truth, df = results
    fig = question_health_figure(store)
    assert "80 questions" in fig.layout.title.text
    assert review_note(df) == ""  # all validated
    assert "UNREVIEWED: 1 of 1" in review_note(df.assign(question_status="draft").head(1))


def test_figures_of_an_empty_store_say_so(tmp_path):
    store = Store(tmp_path / "empty.db")
    df = results_frame(store)
    assert df.empty
    assert "no evaluation results yet" in accuracy_figure(df).layout.annotations[0].text


def test_the_dataset_export_loads_with_hugging_face_datasets_and_leaves_flagged_questions_out(tmp_path):
    from needs import missing

    try:
        import datasets
    except ImportError:
        missing("the datasets package is not installed (pip install -e '.[test]')")
    from vidqa.pipeline.dataset import export_dataset

    store = Store(tmp_path / "vidqa.db")
    truth = synthetic_results(store, n_questions=12, seed=1)
    flagged = truth.question_ids[0]
    store.update_question(flagged, gate={"flagged": True, "by": ["blind"]})
    store.update_question(truth.question_ids[1], question="=HYPERLINK(\"http://x\",\"click\") how many?")
    done = export_dataset(store, tmp_path / "release")
    assert done.n_questions == 11 and done.n_flagged_left_out == 1
    ds = datasets.load_dataset("json", data_files=str(tmp_path / "release" / "questions.jsonl"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert len(ds) == 11 and flagged not in ds["id"]
    assert {"question", "options", "answer", "answer_index", "audio_cue", "visual_cue", "evidence"} <= set(ds.features)
    results = datasets.load_dataset("json", data_files=str(tmp_path / "release" / "results.jsonl"), split="train",
                                    cache_dir=str(tmp_path / "hf"))
    assert set(results["question_id"]) == set(ds["id"])
    card = (tmp_path / "release" / "README.md").read_text()
    assert "questions: **11**" in card and "modality gate): 1" in card and "| model/a | text |" in card
    assert "'=HYPERLINK" in (tmp_path / "release" / "questions.csv").read_text()  # neutralised for spreadsheets
    with_flagged = export_dataset(store, tmp_path / "all", include_flagged=True)
    assert with_flagged.n_questions == 12
