"""The results dashboard: a Voila app (or a notebook cell) over a read-only store.

Filters (evaluation run, model, category, transport) redraw every figure; the failures list shows, for the one
picked, the question, its options, the gold and the model's answer, the reason it was scored so, the evidence, and
plays the question's window. Everything from users and models is shown as text (text areas and labels), never as
HTML.

Example (``notebooks/dashboard.ipynb``)::

    from vidqa import open_store
    from vidqa.report import ResultsDashboard
    ResultsDashboard(open_store("data/vidqa.db", readonly=True))
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from vidqa.report import questionset, results
from vidqa.store import Store

__all__ = ["ResultsDashboard"]

ALL = "(all)"


def _choices(df: pd.DataFrame, col: str) -> list[str]:
    if df.empty or col not in df:
        return [ALL]
    return [ALL, *sorted(str(v) for v in df[col].dropna().unique())]


class ResultsDashboard(w.VBox):
    """Where models fail, at a glance (see the module docstring)."""

    FIGURES = ("accuracy", "consistency", "errors", "gate", "transport", "cost_latency")

    def __init__(self, store: Store, *, eval_run: int | None = None, max_failures: int = 500):
        self.store = store
        self.all = results.results_frame(store, eval_run=eval_run)
        self.max_failures = max_failures
        self.run_pick = w.Dropdown(description="eval run", options=_choices(self.all, "eval_run_id"))
        self.model_pick = w.Dropdown(description="model", options=_choices(self.all, "model"))
        self.category_pick = w.Dropdown(description="category", options=_choices(self.all, "category"))
        self.transport_pick = w.Dropdown(description="transport", options=_choices(self.all, "transport"))
        self.video_pick = w.Dropdown(description="video", options=_choices(self.all, "video_id")[1:] or ["-"])
        self.summary = w.Label()
        self.outputs = {name: w.Output() for name in (*self.FIGURES, "heatmap", "health")}
        self.failures = w.Select(description="failures", rows=10, layout=w.Layout(width="100%"))
        self.detail = w.Textarea(disabled=True, layout=w.Layout(width="100%", height="220px"))
        self.clip = w.Output()
        for pick in (self.run_pick, self.model_pick, self.category_pick, self.transport_pick):
            pick.observe(self._refilter, names="value")
        self.video_pick.observe(lambda _: self._draw_heatmap(), names="value")
        self.failures.observe(self._show_failure, names="value")
        filters = w.HBox([self.run_pick, self.model_pick, self.category_pick, self.transport_pick],
                         layout=w.Layout(flex_flow="row wrap"))
        tabs = w.Tab(children=[
            w.VBox([self.outputs["accuracy"], self.outputs["consistency"]]),
            w.VBox([self.outputs["errors"], self.outputs["gate"]]),
            w.VBox([self.outputs["transport"], self.outputs["cost_latency"]]),
            w.VBox([self.video_pick, self.outputs["heatmap"]]),
            w.VBox([self.failures, self.detail, self.clip]),
            self.outputs["health"],
        ])
        for i, title in enumerate(("accuracy", "errors & gate", "routes & cost", "over time", "failures",
                                   "question set")):
            tabs.set_title(i, title)
        super().__init__([filters, self.summary, tabs])
        self.filtered = self.all
        self._refilter()
        with self.outputs["health"]:
            if "questions" in store.db.table_names():
                questionset.question_health_figure(store).show()

    # --- filtering and drawing ------------------------------------------------------------------------------
    def _value(self, pick: w.Dropdown) -> list[Any] | None:
        return None if pick.value in (ALL, None) else [pick.value]

    def _refilter(self, *_: Any) -> None:
        runs = self._value(self.run_pick)
        self.filtered = results.filter_results(
            self.all, models=self._value(self.model_pick), categories=self._value(self.category_pick),
            transports=self._value(self.transport_pick), eval_runs=[int(r) for r in runs] if runs else None)
        df = self.filtered
        n_unscored = int((df["status"] == "unscored").sum()) if not df.empty else 0
        self.summary.value = (f"{len(df)} answers, {df['question_id'].nunique() if not df.empty else 0} questions, "
                              f"{n_unscored} unscored (left out of every accuracy)"
                              + (f" — {results.review_note(df)}" if results.review_note(df) else ""))
        for name in self.FIGURES:
            out = self.outputs[name]
            out.clear_output(wait=True)
            with out:
                getattr(results, f"{name}_figure")(df).show()
        self._draw_heatmap()
        table = results.failures_table(df, limit=self.max_failures)
        self.failures.options = [
            (f"#{r.question_id} {r.model} [{r.category}] {r.status}: {str(r.question)[:70]}", i)
            for i, r in enumerate(table.itertuples())
        ] if not table.empty else []
        self._failure_rows = table

    def _draw_heatmap(self) -> None:
        out = self.outputs["heatmap"]
        out.clear_output(wait=True)
        with out:
            video = self.video_pick.value if self.video_pick.value not in ("-", None) else None
            results.failure_heatmap(self.filtered, self.store, video).show()

    # --- one failure -----------------------------------------------------------------------------------------
    def _show_failure(self, change: dict) -> None:
        if change.get("new") is None or getattr(self, "_failure_rows", None) is None:
            return
        row = self._failure_rows.iloc[change["new"]]
        q = self.store.question(int(row["question_id"])) if pd.notna(row["question_id"]) else None
        lines = [f"question: {row['question']}"]
        if q is not None:
            lines += [f"options: {' | '.join(q.options)}", f"gold: {q.answer}",
                      f"window: {q.t_start:.2f}-{q.t_end:.2f} s   audio cue: {q.audio_cue.kind}"
                      f" {q.audio_cue.start:.2f}-{q.audio_cue.end:.2f} s {q.audio_cue.text or ''}",
                      f"visual cue: {q.visual_cue.kind} {q.visual_cue.label or ''} {q.visual_cue.colour or ''} "
                      f"{q.visual_cue.text or ''} {q.visual_cue.count if q.visual_cue.count is not None else ''}",
                      f"evidence: words {q.evidence.words} audio {q.evidence.audio_events} "
                      f"visual {q.evidence.visual_events}"]
        lines += [f"model: {row['model']} via {row['transport']}",
                  f"answer: {row.get('predicted_text') or row.get('predicted') or '(none)'}",
                  f"scored: {row['status']} ({row.get('error_category') or row.get('reason') or ''})"]
        self.detail.value = "\n".join(str(x) for x in lines)
        self.clip.clear_output()
        if q is not None:
            with self.clip:
                self._play_window(q)

    def _play_window(self, q: Any) -> None:
        from IPython.display import display

        from vidqa.evaluate.transports import write_clip

        video = self.store.video(q.video_id)
        src = self.store.abspath(video.play_path)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "window.mp4"
            try:
                write_clip(str(src), max(0.0, q.t_start - 0.5), q.t_end + 0.5, out)
            except Exception as err:  # the clip is a convenience: say why it is missing, keep the details
                display(w.Label(f"(could not cut the window: {err})"))
                return
            display(w.Video(value=out.read_bytes(), format="mp4", autoplay=True, loop=True, width=480))
