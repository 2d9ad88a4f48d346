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
