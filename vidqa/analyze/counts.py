"""Count runs: for each (label or shape, colour), the spans over which the number on screen is constant.

"How many blue squares are on screen between t1 and t2?" must have one answer in the store. From the detections
of every sampled frame, :func:`count_runs` counts

- regions (:mod:`vidqa.analyze.regions`) by ``(shape, colour)``, leaving out panels (text on a plate) and
  shapes named ``other``;
- objects (:mod:`vidqa.analyze.detect`) by ``label`` (colour ``None``),

and turns each key's per-sample counts into runs: a ``kind="count"`` event per run of equal, non-zero counts,
``t`` / ``end`` = where the count changed (at a cut frame when the change is a cut, else midway between the two
samples that saw the old and the new count; the end of the video for the last run), so runs that follow each
other touch. A count that differs on one sample only, between two equal neighbours and
not at a scene cut, is taken as a missed or spurious detection and smoothed away.

Example::

    runs = count_runs(per_frame, duration=85.0)
    [(e.label, e.attributes["colour"], e.attributes["count"], e.t, e.end) for e in runs][:2]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from vidqa.records import VisualEvent

__all__ = ["count_key", "count_runs"]


def _boundary(times: Sequence[float], cuts: Sequence[bool], k: int) -> float:
    """Where a change seen first on sample ``k`` happened: the cut itself, else midway from sample ``k - 1``."""
    if cuts[k] or k == 0:
        return float(times[k])
    return 0.5 * (float(times[k - 1]) + float(times[k]))


def count_key(ev: VisualEvent) -> tuple[str, str | None] | None:
    """The key an event is counted under, or ``None`` if it is not counted.

    >>> count_key(VisualEvent(0.0, "region", "square", 0.9, attributes={"colour": "blue", "panel": False}))
    ('square', 'blue')
    """
    if ev.kind == "region":
        if ev.attributes.get("panel") or ev.label == "other":
            return None
        return (ev.label, str(ev.attributes.get("colour")))
    if ev.kind == "object":
        return (ev.label, None)
    return None


def count_runs(
    per_frame: Sequence[tuple[float, int | None, bool, list[VisualEvent]]],
    *,
    duration: float | None = None,
    smooth: bool = True,
) -> list[VisualEvent]:
    """``kind="count"`` events from per-frame detections (in time order); see the module docstring.

    ``label`` is the shape or object label; ``box`` the union of the counted boxes over the run (where to look);
    ``attributes``: ``colour``, ``shape`` (regions) or ``object``,
    ``count``, ``samples`` (sampled frames in the run); ``confidence`` is the mean confidence of the counted
    detections times the share of the run's samples whose raw count agreed (before smoothing).
    """
    n = len(per_frame)
    if n == 0:
        return []
    times = [float(f[0]) for f in per_frame]
    cuts = [bool(f[2]) for f in per_frame]
    counts: dict[tuple[str, str | None], np.ndarray] = defaultdict(lambda: np.zeros(n, np.int64))
    confs: dict[tuple[str, str | None], np.ndarray] = defaultdict(lambda: np.zeros(n, np.float64))
    kinds: dict[tuple[str, str | None], str] = {}
    boxes: dict[tuple[str, str | None], dict[int, list[tuple[float, ...]]]] = defaultdict(dict)
    for i, (_t, _idx, _cut, dets) in enumerate(per_frame):
        for ev in dets:
            key = count_key(ev)
            if key is None:
                continue
            counts[key][i] += 1
            confs[key][i] += float(ev.confidence)
            kinds[key] = ev.kind
            if ev.box is not None:
                boxes[key].setdefault(i, []).append(tuple(ev.box))
    out: list[VisualEvent] = []
    end_of_video = float(duration) if duration else times[-1]
    for key, raw in counts.items():
        c = raw.copy()
        if smooth and n >= 3:
            for i in range(1, n - 1):
                if c[i - 1] == c[i + 1] != c[i] and not cuts[i] and not cuts[i + 1]:
                    c[i] = c[i - 1]
        i = 0
        while i < n:
            j = i
            while j + 1 < n and c[j + 1] == c[i]:
                j += 1
            if c[i] > 0:
                agree = raw[i:j + 1] == c[i]
                mean_conf = float(confs[key][i:j + 1][agree].sum() / max(1, raw[i:j + 1][agree].sum())) \
                    if agree.any() else 0.0
                # the count changed somewhere between two samples: at the cut if the later one is a cut frame,
                # else (unknown) at the midpoint, which halves the expected error
                end = _boundary(times, cuts, j + 1) if j + 1 < n else max(end_of_video, times[j])
                start = _boundary(times, cuts, i) if i > 0 else times[0]
                label, colour = key
                attrs = {"colour": colour, "count": int(c[i]), "samples": int(j - i + 1)}
                attrs["shape" if kinds[key] == "region" else "object"] = label
                run_boxes = [b for k in range(i, j + 1) for b in boxes[key].get(k, [])]
                box = (min(b[0] for b in run_boxes), min(b[1] for b in run_boxes),
                       max(b[2] for b in run_boxes), max(b[3] for b in run_boxes)) if run_boxes else None
                out.append(VisualEvent(
                    t=start, kind="count", label=label,
                    confidence=round(mean_conf * float(agree.mean()), 3),
                    frame_index=per_frame[i][1], box=box, attributes=attrs, end=float(end),
                ))
            i = j + 1
    out.sort(key=lambda e: (e.t, e.label, str(e.attributes.get("colour"))))
    return out
