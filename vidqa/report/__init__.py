"""Read-only tables and Plotly figures over a store, for notebooks, Voila apps and HTML reports.

Nothing here loads a model or writes the database.

Example::

    from vidqa import open_store
    from vidqa.report import timeline_figure, videos_table
    store = open_store("data/vidqa.db", readonly=True)
    videos_table(store)
    timeline_figure(store, store.videos()[0].id).show()
"""

from vidqa.report.figures import runs_figure, timeline_figure
from vidqa.report.tables import audio_events_table, runs_table, transcript_table, videos_table, visual_events_table

__all__ = ["timeline_figure", "runs_figure", "videos_table", "transcript_table", "audio_events_table",
           "visual_events_table", "runs_table"]
