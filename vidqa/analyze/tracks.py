"""Track ids across sampled frames (ByteTrack from the ``trackers`` package) and per-track colour events.

Detections are per sampled frame; a question such as "what colour is the ball?" needs to know that the ball of
frame 10 and the ball of frame 11 are one object. :func:`assign_tracks` runs Roboflow's ByteTrack implementation
(``trackers.ByteTrackTracker``, maintained by the ``supervision`` authors) over the
detections of each class separately (objects by label, regions by shape, so a track never changes
class) and writes a ``track_id`` on every detection. Trackers restart at every scene cut (a new shot shows new
objects), and ids are unique over the whole video.

:func:`track_colours` then gives one ``kind="colour"`` event per track: the majority colour name over the track,
its span (first sample seen .. the first sample where it is gone), the box where it was first seen.

Example::

    assign_tracks(per_frame, fps=1.0)        # per_frame: [(t, frame_index, is_cut, [VisualEvent, ...]), ...]
    colours = track_colours(per_frame, fps=1.0, duration=video.duration)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from vidqa.errors import ModelUnavailableError
from vidqa.records import VisualEvent

__all__ = ["FrameDetections", "assign_tracks", "track_colours"]

FrameDetections = tuple[float, "int | None", bool, list[VisualEvent]]
"""(t, frame_index, is_cut, detections of that frame)."""

_TRACKED = ("object", "region")


def _class_key(ev: VisualEvent) -> tuple[str, str, str]:
    # regions are tracked by shape only: a colour name that flickers on one sample (orange/red under compression)
    # must not break the track; the track's colour is then its majority (:func:`track_colours`)
    return (ev.kind, ev.label, "")


def _new_tracker(fps: float) -> Any:
    try:
        from trackers import ByteTrackTracker
    except ImportError as exc:
        raise ModelUnavailableError(
            "Tracking needs the PyPI package 'trackers' (ByteTrack): `pip install trackers` "
            "(or VisualSettings(tracks=False))."
        ) from exc
    rate = max(1.0, float(fps or 1.0))
    return ByteTrackTracker(
        lost_track_buffer=max(2, int(round(2 * rate))),  # forgive ~2 s of missed samples
        frame_rate=rate,
        track_activation_threshold=0.3,
        minimum_consecutive_frames=1,
        minimum_iou_threshold=0.1,
        high_conf_det_threshold=0.5,
    )


def assign_tracks(per_frame: Sequence[FrameDetections], *, fps: float = 1.0) -> int:
    """Set ``track_id`` on every object/region event of ``per_frame`` (in place); returns the number of tracks.

    ``per_frame`` must be in time order. Each class (object label; region shape) gets its own ByteTrack
    instance; all trackers restart at cut frames.

    Example::

        n = assign_tracks([(0.0, 0, True, [ball0]), (1.0, 30, False, [ball1])])   # ball0.track_id == ball1.track_id
    """
    import supervision as sv

    trackers: dict[tuple[str, str, str], Any] = {}
    ids: dict[tuple[int, tuple[str, str, str], int], int] = {}
    epoch = 0
    next_id = 1
    pending: dict[tuple[str, str, str], list[VisualEvent]] = {}  # last frame's detections still without an id
    known: set[int] = set()
    for _t, _idx, is_cut, dets in per_frame:
        if is_cut:
            trackers.clear()
            epoch += 1
            for evs in pending.values():
                for ev in evs:
                    ev.track_id = next_id
                    next_id += 1
            pending.clear()
        groups: dict[tuple[str, str, str], list[VisualEvent]] = defaultdict(list)
        for ev in dets:
            if ev.kind in _TRACKED and ev.box is not None:
                groups[_class_key(ev)].append(ev)
        for key, evs in groups.items():
            tr = trackers.get(key)
            if tr is None:
                tr = trackers[key] = _new_tracker(fps)
            xyxy = np.array([ev.box for ev in evs], dtype=np.float64) * 1000.0  # IoU is scale-free
            conf = np.array([max(0.31, float(ev.confidence)) for ev in evs], dtype=np.float64)
            d = sv.Detections(xyxy=xyxy, confidence=conf, class_id=np.zeros(len(evs), dtype=int))
            d.data["i"] = np.arange(len(evs))
            out = tr.update(d)
            assigned = set()
            for j in range(len(out)):
                local = int(out.tracker_id[j]) if out.tracker_id is not None else -1
                i = int(out.data["i"][j]) if "i" in out.data else j
                if local < 0 or i in assigned:
                    continue
                assigned.add(i)
                gk = (epoch, key, local)
                if gk not in ids:
                    ids[gk] = next_id
                    next_id += 1
                evs[i].track_id = ids[gk]
            # ByteTrack confirms a track on its second frame: the first detection of a track comes back without
            # an id. Give it the id of the track it started (best IoU among this class's new tracks next frame).
            new_here = [ev for i, ev in enumerate(evs) if i in assigned and ev.track_id not in known]
            for ev in pending.pop(key, []):
                best = max(new_here, key=lambda e: _iou(ev.box, e.box), default=None)
                if best is not None and _iou(ev.box, best.box) >= 0.2:
                    ev.track_id = best.track_id
                    new_here.remove(best)
                else:
                    ev.track_id = next_id
                    next_id += 1
            known.update(ev.track_id for ev in evs if ev.track_id is not None)
            pending[key] = [ev for i, ev in enumerate(evs) if i not in assigned]
        for key in [k for k in pending if k not in groups]:
            for ev in pending.pop(key):
                ev.track_id = next_id
                next_id += 1
    for evs in pending.values():
        for ev in evs:
            ev.track_id = next_id
            next_id += 1
    return next_id - 1


def _iou(a, b) -> float:  # noqa: ANN001
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def track_colours(per_frame: Sequence[FrameDetections], *, fps: float = 1.0, duration: float | None = None
                  ) -> list[VisualEvent]:
    """One ``kind="colour"`` event per track that has colour attributes (after :func:`assign_tracks`).

    ``label`` is the majority colour, ``confidence`` its share of the track's samples, ``t``..``end`` the span
    (the end is the time of the first sample after the last one that saw it), ``box`` the first box,
    ``attributes``: ``object`` (label or shape), ``object_kind``, ``samples``, ``votes``.
    """
    times = [f[0] for f in per_frame]
    seen: dict[int, list[tuple[int, VisualEvent]]] = defaultdict(list)
    for fi, (_t, _idx, _cut, dets) in enumerate(per_frame):
        for ev in dets:
            if ev.track_id is not None and ev.attributes.get("colour"):
                seen[ev.track_id].append((fi, ev))
    out: list[VisualEvent] = []
    for tid, items in seen.items():
        votes = Counter(str(ev.attributes["colour"]) for _, ev in items)
        colour, n = votes.most_common(1)[0]
        first_fi, first = items[0]
        last_fi = items[-1][0]
        end = times[last_fi + 1] if last_fi + 1 < len(times) else (duration if duration else times[last_fi])
        out.append(VisualEvent(
            t=first.t, kind="colour", label=colour, confidence=round(n / len(items), 3),
            frame_index=first.frame_index, box=first.box,
            attributes={"object": first.label, "object_kind": first.kind, "samples": len(items),
                        "votes": dict(votes)},
            end=float(max(end, first.t)), track_id=tid,
        ))
    return out
