"""Summaries of a video's notes, written to the store (the model call itself is :mod:`vidqa.annotate.summarize`)."""

from __future__ import annotations

from typing import Any

from vidqa.annotate.summarize import summarize
from vidqa.store import Store

__all__ = ["summarize_video_notes"]


def summarize_video_notes(store: Store, video_id: str, **kw: Any) -> dict[str, Any]:
    """Summarise a stored video's notes, save the summary and return it.

    Keyword arguments are those of :func:`vidqa.annotate.summarize.summarize_notes` (``model``, ``base_url``,
    ``max_notes``, ``timeout``, ``policy``). Returns ``{"id", "text", "model", "video_id", "n_notes"}``; ``model``
    is the one the API answered with.

    Example::

        summarize_video_notes(store, "3f2a9c1b0d4e")["text"]
    """
    video = store.video(video_id)
    kw.pop("video", None)
    result = summarize(store.notes(video.id), video=video, **kw)
    summary_id = store.add_summary(video.id, result.model, result.text)
    return {"id": summary_id, "text": result.text, "model": result.model, "video_id": video.id,
            "n_notes": result.n_notes}
