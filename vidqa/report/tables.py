"""Read-only tables (pandas DataFrames) over the store, for notebooks and Voila apps.

Every function takes an open store (read-only is enough) and returns a DataFrame; none loads a model or writes.

Example::

    from vidqa import open_store
    from vidqa.report import videos_table, visual_events_table
    store = open_store("data/vidqa.db", readonly=True)
    videos_table(store)
    visual_events_table(store, store.videos()[0].id, kind="text")
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from vidqa.store import Store

__all__ = ["videos_table", "transcript_table", "audio_events_table", "visual_events_table", "runs_table"]


def videos_table(store: Store) -> pd.DataFrame:
    """One row per stored video: id, title, duration, size and codecs."""
    cols = ["id", "title", "duration", "fps", "is_vfr", "width", "height", "rotation", "video_codec", "audio_codec",
            "audio_tracks", "play_path"]
    return pd.DataFrame([{c: getattr(v, c) for c in cols} for v in store.videos()], columns=cols)


def transcript_table(store: Store, video_id: str) -> pd.DataFrame:
    """Transcript segments of a video (start, end, text)."""
    return pd.DataFrame([{"start": s.start, "end": s.end, "text": s.text} for s in store.transcript(video_id)],
                        columns=["start", "end", "text"])


def audio_events_table(store: Store, video_id: str, kind: str | None = None) -> pd.DataFrame:
    """Audio events of a video (kind, start, end, peak, confidence, top labels)."""
    cols = ["kind", "start", "end", "peak", "confidence", "labels"]
    return pd.DataFrame([asdict(e) for e in store.audio_events(video_id, kind)], columns=cols)


def visual_events_table(store: Store, video_id: str, kind: str | None = None) -> pd.DataFrame:
    """Visual events of a video (t, end, kind, label, confidence, box, track, attributes)."""
    cols = ["t", "end", "kind", "label", "confidence", "frame_index", "box", "track_id", "attributes"]
    return pd.DataFrame([{c: getattr(e, c) for c in cols} for e in store.visual_events(video_id, kind)],
                        columns=cols)


def runs_table(store: Store, stage: str | None = None) -> pd.DataFrame:
    """Stage runs with their timing and status."""
    cols = ["id", "stage", "unit", "status", "seconds", "media_seconds", "n_records", "error", "started_at"]
    return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in store.runs(stage=stage)], columns=cols)
