"""Read-only tables and Plotly figures over a store, for notebooks, Voila apps and HTML reports.

Nothing here loads a model or writes the database.

Example::

    from vidqa import open_store
    from vidqa.report import accuracy_figure, results_frame, timeline_figure, videos_table
    store = open_store("data/vidqa.db", readonly=True)
    videos_table(store)
    timeline_figure(store, store.videos()[0].id).show()
    accuracy_figure(results_frame(store)).show()
"""

from importlib import import_module
from typing import Any

from vidqa.report.figures import runs_figure, timeline_figure
from vidqa.report.tables import audio_events_table, runs_table, transcript_table, videos_table, visual_events_table

_LAZY = {
    **{name: "vidqa.report.results" for name in (
        "results_frame", "filter_results", "review_note", "accuracy_figure", "consistency_figure", "errors_figure", "gate_figure",
        "transport_figure", "cost_latency_figure", "failure_heatmap", "failures_table")},
    **{name: "vidqa.report.questionset" for name in ("question_health", "question_health_figure",
                                                       "questions_table")},
    "ResultsDashboard": "vidqa.report.app",
}

__all__ = ["timeline_figure", "runs_figure", "videos_table", "transcript_table", "audio_events_table",
           "visual_events_table", "runs_table", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vidqa.report' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
