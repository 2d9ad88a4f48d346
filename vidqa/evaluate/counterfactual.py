"""Counterfactual audio: the same question with its audio cue silenced (``muted``) or with the window's audio taken
from a stretch of the video that does not hold the cue (``shifted``). A model that answers the same without the
cue was not listening.

Only transports that carry audio (``frames_audio``, ``native_video``) get counterfactuals, and only for models that
take audio. :func:`listening_rate` compares answers with and without the cue.

Example::

    from vidqa.evaluate.counterfactual import mute_span, shifted_window
    quiet = mute_span(samples, 16_000, window=(10.0, 16.0), span=(12.0, 12.8))
    shifted_window(duration=60.0, window=(10.0, 16.0), cue=(12.0, 12.8))   # (12.9, 18.9): starts after the cue
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["COUNTERFACTUAL_KINDS", "listening_rate", "mute_span", "shifted_window"]

COUNTERFACTUAL_KINDS = ("muted", "shifted")
FADE_S = 0.02
"""Ramps at the edges of a muted span (no click that would itself be a cue)."""
MARGIN_S = 0.1
"""Silence kept around the cue: word timestamps are only good to ~0.1 s."""


def mute_span(samples: np.ndarray, sample_rate: int, *, window: tuple[float, float], span: tuple[float, float],
              margin: float = MARGIN_S) -> np.ndarray:
    """A copy of the window's ``samples`` (which start at ``window[0]``) with ``span`` (video seconds, widened by
    ``margin``) silenced, with short fades at its edges."""
    out = np.array(samples, dtype=np.float32, copy=True)
    a = round((span[0] - margin - window[0]) * sample_rate)
    b = round((span[1] + margin - window[0]) * sample_rate)
    a, b = max(0, a), min(len(out), b)
    if b <= a:
        return out
    out[a:b] = 0.0
    fade = int(FADE_S * sample_rate)
    if fade > 0:
        lo = max(0, a - fade)
        if a > lo:
            out[lo:a] *= np.linspace(1.0, 0.0, a - lo, dtype=np.float32)
        hi = min(len(out), b + fade)
        if hi > b:
            out[b:hi] *= np.linspace(0.0, 1.0, hi - b, dtype=np.float32)
    return out


def shifted_window(duration: float, window: tuple[float, float], cue: tuple[float, float], *,
                   margin: float = MARGIN_S) -> tuple[float, float] | None:
    """A stretch as long as ``window`` that does not overlap ``cue`` (widened by ``margin``): right after the cue if
    the video is long enough, else right before it; ``None`` when the video has no such stretch."""
    length = window[1] - window[0]
    after = cue[1] + margin
    if after + length <= duration:
        return (after, after + length)
    before = cue[0] - margin
    if before - length >= 0:
        return (before - length, before)
    return None


def listening_rate(pairs: Iterable[tuple[Any, Any]]) -> tuple[float | None, int]:
    """Share of (answer with cue, answer without cue) pairs whose answers differ, and how many pairs were compared.

    Pairs with a missing answer (``None``: unscored) are left out. A model that listens changes its answer when the
    cue is gone; one that answers the same every time was not using the audio.
    """
    compared = changed = 0
    for with_cue, without in pairs:
        if with_cue is None or without is None:
            continue
        compared += 1
        changed += with_cue != without
    return (changed / compared if compared else None), compared
