"""Track ids (ByteTrack via the ``trackers`` package), per-track colours and count runs (vidqa.analyze.tracks/counts)."""

from __future__ import annotations

import pytest

from vidqa.analyze.counts import count_key, count_runs
from vidqa.analyze.tracks import assign_tracks, track_colours
from vidqa.records import VisualEvent

pytest.importorskip("trackers")


def region(t: float, box, shape="circle", colour="red", conf=0.9, panel=False) -> VisualEvent:  # noqa: ANN001
    return VisualEvent(t, "region", shape, conf, int(t * 25), tuple(box), {"colour": colour, "shape": shape,
                                                                           "panel": panel})


def frames_of(dets_by_t, cuts=()):  # noqa: ANN001
    return [(t, int(t * 25), t in cuts, dets) for t, dets in dets_by_t]


def test_moving_objects_keep_their_ids_and_classes_never_share_one():
    per = []
    for k in range(6):
        x = 0.1 + 0.03 * k  # a ball moving right; a square standing still; a blue ball on top of the red one
        per.append((float(k), [region(k, (x, 0.4, x + 0.1, 0.5)), region(k, (0.7, 0.7, 0.8, 0.8), "square", "blue"),
                               region(k, (x, 0.4, x + 0.1, 0.5), "circle", "blue")]))
    frames = frames_of(per)
    n = assign_tracks(frames, fps=1.0)
    ids = {key: {d.track_id for _, _, _, dets in frames for d in dets
                 if (d.label, d.attributes["colour"]) == key} for key in
           [("circle", "red"), ("square", "blue"), ("circle", "blue")]}
    assert all(len(v) == 1 for v in ids.values()), ids  # one id each, from the first frame on
    assert len({next(iter(v)) for v in ids.values()}) == 3 and n == 3


def test_tracks_restart_at_cuts_and_ids_stay_unique():
    per = [(0.0, [region(0, (0.1, 0.1, 0.2, 0.2))]), (1.0, [region(1, (0.1, 0.1, 0.2, 0.2))]),
           (2.0, [region(2, (0.1, 0.1, 0.2, 0.2))]), (3.0, [region(3, (0.1, 0.1, 0.2, 0.2))])]
    frames = frames_of(per, cuts={2.0})
    assign_tracks(frames, fps=1.0)
    ids = [dets[0].track_id for _, _, _, dets in frames]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]


def test_track_colour_is_the_majority_over_the_span():
    per = [(float(k), [region(k, (0.3, 0.3, 0.4, 0.4), colour="orange" if k == 2 else "red")]) for k in range(5)]
    per.append((5.0, []))
    frames = frames_of(per)
    assign_tracks(frames, fps=1.0)
    (ev,) = track_colours(frames, fps=1.0, duration=6.0)
    assert (ev.kind, ev.label, ev.t, ev.end) == ("colour", "red", 0.0, 5.0)
    assert ev.confidence == pytest.approx(0.8) and ev.track_id is not None
    assert ev.attributes["object"] == "circle" and ev.attributes["votes"] == {"red": 4, "orange": 1}


def test_count_runs_have_one_answer_per_span():
    # three blue squares from the cut at 0; one leaves between samples 4 and 5; a one-sample miss at 2 is smoothed
    boxes = [(0.1, 0.1, 0.2, 0.2), (0.3, 0.1, 0.4, 0.2), (0.5, 0.1, 0.6, 0.2)]
    per = []
    for k in range(9):
        n = 3 if k < 5 else 2
        if k == 2:
            n = 2  # a missed detection
        per.append((float(k), [region(k, b, "square", "blue") for b in boxes[:n]]
                    + [region(k, (0.8, 0.8, 0.9, 0.9), "other", "red"),
                       region(k, (0.1, 0.6, 0.6, 0.7), "rectangle", "black", panel=True)]))
    runs = count_runs(frames_of(per, cuts={0.0}), duration=9.0)
    got = [(e.label, e.attributes["colour"], e.attributes["count"], e.t, e.end) for e in runs]
    assert got == [("square", "blue", 3, 0.0, 4.5), ("square", "blue", 2, 4.5, 9.0)]  # panels and "other" uncounted
    assert 0.0 < runs[0].confidence < runs[1].confidence <= 1.0  # the smoothed-over sample lowers confidence


def test_count_changes_at_a_cut_are_exact_and_objects_count_by_label():
    person = VisualEvent(0.0, "object", "person", 0.8, 0, (0.1, 0.1, 0.3, 0.9), {"colour": "blue"})
    assert count_key(person) == ("person", None)
    per = [(0.0, [person]), (1.0, [person, person]), (1.7, []), (2.7, [])]
    runs = count_runs(frames_of(per, cuts={1.7}), duration=3.0)
    assert [(e.attributes["count"], e.t, e.end) for e in runs] == [(1, 0.0, 0.5), (2, 0.5, 1.7)]
    assert all(e.attributes["object"] == "person" and e.kind == "count" for e in runs)
