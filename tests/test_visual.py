"""The one visual loop (vidqa.analyze.visual): one decode, one event schema, checked against what was drawn.

Also the class-agnostic regions (vidqa.analyze.regions) on drawn shapes and on real footage.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from debs import deb_root
from media_factory import write_frames

from vidqa.analyze.regions import find_regions, shape_of
from vidqa.analyze.visual import VisualSettings, analyze_visual

W, H, FPS = 640, 360, 10
KINDS = {"object", "region", "text", "colour", "count", "scene_cut"}


def _panel(img: np.ndarray, text: str, org=(30, 50), scale=1.0) -> None:  # noqa: ANN001
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    cv2.rectangle(img, (org[0] - 10, org[1] - th - 10), (org[0] + tw + 10, org[1] + 12), (30, 30, 30), -1)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)


def _frames(photo: np.ndarray):
    """0-3 s: two red circles, a blue square, a scoreboard; 3-6 s: green triangles (a 4th appears at 4.5 s) and a
    sign; 6-8 s: a low-contrast cut to another plain background with one yellow rectangle; 8-10 s: a real photo."""
    for i in range(10 * FPS):
        t = i / FPS
        if t < 3:
            img = np.full((H, W, 3), (120, 120, 120), np.uint8)
            cv2.circle(img, (150, 220), 35, (40, 40, 220), -1, cv2.LINE_AA)
            cv2.circle(img, (300, 250), 35, (40, 40, 220), -1, cv2.LINE_AA)
            cv2.rectangle(img, (450, 180), (530, 260), (200, 90, 30), -1)
            _panel(img, "HOME 1 - 0 AWAY")
        elif t < 6:
            img = np.full((H, W, 3), (225, 225, 215), np.uint8)
            for k, cx in enumerate((100, 230, 360, 490)):
                if k < 3 or t >= 4.5:
                    pts = np.array([[cx, 170], [cx - 45, 250], [cx + 45, 250]], np.int32)
                    cv2.fillPoly(img, [pts], (50, 160, 40), cv2.LINE_AA)
            _panel(img, "EXIT 4", (420, 330))
        elif t < 8:
            img = np.full((H, W, 3), (210, 232, 222), np.uint8)  # ~0.03 from the last shot: a low-contrast cut
            cv2.rectangle(img, (200, 150), (360, 230), (0, 220, 245), -1)
        else:
            img = cv2.resize(photo, (W, H))
        yield img


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    photo = cv2.imread(str(deb_root("darknet") / "usr/share/darknet/data/person.jpg"))
    path = tmp_path_factory.mktemp("visual") / "clip.mp4"
    write_frames(path, _frames(photo), fps=FPS, options={"g": str(FPS), "preset": "ultrafast"})
    video = SimpleNamespace(id="clip", rotation=0, duration=10.0, fps=FPS)
    events = analyze_visual(path, video, VisualSettings(), progress=False)
    return events


def of(events, kind):  # noqa: ANN001
    return [e for e in events if e.kind == kind]


def test_settings_are_frozen_hashable_and_recordable():
    s = VisualSettings(fps=2.0, ocr=False)
    assert hash(s) == hash(VisualSettings(fps=2.0, ocr=False)) and s != VisualSettings()
    assert s.as_dict()["fps"] == 2.0 and dataclasses.asdict(s) == s.as_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.fps = 3.0  # type: ignore[misc]


def test_one_schema_with_confidence_time_and_boxes(clip):
    assert {e.kind for e in clip} <= KINDS and {"region", "text", "count", "scene_cut", "colour"} <= {e.kind for e in clip}
    times = [e.t for e in clip]
    assert times == sorted(times)
    for e in clip:
        assert 0.0 <= e.confidence <= 1.0, e
        if e.kind != "scene_cut":
            x0, y0, x1, y1 = e.box
            assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0, e
        if e.kind in ("text", "count", "colour"):
            assert e.end is not None and e.end > e.t, e
        if e.kind in ("region", "object", "colour"):
            assert e.track_id is not None, e


def test_cuts_hard_and_low_contrast(clip):
    cuts = of(clip, "scene_cut")
    assert [round(c.t, 2) for c in cuts] == [3.0, 6.0, 8.0]
    assert all(c.attributes["score"] > 0 and c.end is None for c in cuts)


def test_text_lines_with_spans(clip):
    got = {(e.label, round(e.t, 1), round(e.end, 1)) for e in of(clip, "text")}
    assert got == {("HOME 1 - 0 AWAY", 0.0, 3.0), ("EXIT 4", 3.0, 6.0)}


def test_regions_colour_shape_and_counts(clip):
    counts = {(e.label, e.attributes["colour"], e.attributes["count"], round(e.t, 1), round(e.end, 1))
              for e in of(clip, "count") if e.attributes.get("shape")}
    assert ("circle", "red", 2, 0.0, 3.0) in counts and ("square", "blue", 1, 0.0, 3.0) in counts
    assert ("rectangle", "yellow", 1, 6.0, 8.0) in counts
    tri = sorted((e.t, e.end, e.attributes["count"]) for e in of(clip, "count") if e.label == "triangle")
    assert [c for _, _, c in tri] == [3, 4] and tri[0][0] == 3.0 and abs(tri[1][0] - 4.5) <= 0.5 and tri[1][1] == 6.0
    # no count for the scoreboard plate or the photo's texture
    assert not [c for c in counts if c[3] >= 8.0]
    colours = {(e.attributes["object"], e.label) for e in of(clip, "colour") if e.attributes["object_kind"] == "region"}
    assert {("circle", "red"), ("square", "blue"), ("triangle", "green"), ("rectangle", "yellow")} <= colours


def test_objects_on_the_photo_are_tracked_with_colour(clip):
    people = [e for e in of(clip, "object") if e.label == "person"]
    assert people and all(8.0 <= e.t < 10.0 for e in people)
    assert len({e.track_id for e in people}) == 1  # one person, one track over the shot
    assert all(e.attributes.get("colour") for e in people)


def test_disabled_detectors_stay_off(tmp_path):
    path = tmp_path / "small.mp4"
    imgs = []
    for i in range(20):
        img = np.full((H, W, 3), 200, np.uint8)
        cv2.circle(img, (320, 180), 40, (40, 40, 220), -1)
        imgs.append(img)
    write_frames(path, imgs, fps=FPS)
    video = SimpleNamespace(id="s", rotation=0, duration=2.0)
    events = analyze_visual(path, video, VisualSettings(detector="none", ocr=False, regions=False), progress=False)
    assert {e.kind for e in events} <= {"scene_cut"}
    events = analyze_visual(path, video, VisualSettings(detector="none", ocr=False, tracks=False), progress=False)
    assert of(events, "region") and all(e.track_id is None for e in of(events, "region")) and not of(events, "colour")


# --- regions alone --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("r", [8, 15, 40])
def test_shape_names_at_any_size(r):
    for shape in ("circle", "square", "rectangle", "triangle"):
        m = np.zeros((200, 200), np.uint8)
        if shape == "circle":
            cv2.circle(m, (100, 100), r, 1, -1, cv2.LINE_AA)
        elif shape == "square":
            cv2.rectangle(m, (100 - r, 100 - r), (100 + r, 100 + r), 1, -1)
        elif shape == "rectangle":
            cv2.rectangle(m, (100 - 2 * r, 100 - r), (100 + 2 * r, 100 + r), 1, -1)
        else:
            cv2.fillPoly(m, [np.array([[100, 100 - r], [100 - r, 100 + r], [100 + r, 100 + r]], np.int32)], 1)
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        assert shape_of(contours[0])[0] == shape


def test_regions_on_a_gradient_and_none_on_real_footage():
    yy, xx = np.mgrid[0:720, 0:1280]
    img = np.stack([xx * 200 // 1280 + 30, np.full_like(xx, 90), yy * 150 // 720 + 60], -1).astype(np.uint8)
    cv2.circle(img, (300, 300), 50, (0, 220, 245), -1, cv2.LINE_AA)
    cv2.rectangle(img, (700, 200), (780, 280), (190, 140, 255), -1)
    got = sorted((r.label, r.attributes["colour"]) for r in find_regions(img))
    assert got == [("circle", "yellow"), ("square", "pink")]
    import av

    vtest = deb_root("opencv-doc") / "usr/share/doc/opencv-doc/examples/data/vtest.avi"
    spurious = 0
    with av.open(str(vtest)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i % 80 == 0:
                spurious += sum(1 for r in find_regions(cv2.resize(fr.to_ndarray(format="bgr24"), (1280, 720)))
                                if r.label != "other" and not r.attributes["panel"])
            if i > 640:
                break
    assert spurious <= 1  # pedestrians, lawn and asphalt are not drawn shapes
