"""Colour naming (vidqa.analyze.colors): synthetic patches, objects on backgrounds, real photos, the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from media_factory import frame_at

from vidqa.analyze.colors import (
    COLOUR_NAMES,
    REFERENCES,
    ColourResult,
    annotate_colours,
    colour_events,
    dominant_colour,
    name_colour,
)
from vidqa.records import VisualEvent

SAMPLE_JSON = Path(__file__).resolve().parents[1] / "data" / "samples" / "sample.json"

# Several shades (RGB) of every vocabulary colour, chosen as typical examples of each name.
SHADES: dict[str, list[tuple[int, int, int]]] = {
    "red": [(220, 20, 30), (180, 0, 0), (255, 40, 40), (150, 20, 25)],
    "orange": [(255, 140, 0), (255, 120, 30), (240, 150, 40), (230, 110, 10)],
    "yellow": [(250, 220, 20), (255, 255, 0), (240, 200, 40), (255, 235, 80)],
    "green": [(30, 160, 50), (0, 128, 0), (60, 200, 60), (20, 100, 40), (110, 170, 60)],
    "blue": [(20, 60, 200), (0, 0, 255), (30, 110, 220), (0, 0, 128), (70, 130, 180)],
    "purple": [(120, 40, 160), (128, 0, 128), (90, 30, 140), (150, 80, 200)],
    "pink": [(255, 120, 180), (255, 182, 193), (240, 100, 160), (255, 20, 147)],
    "brown": [(120, 70, 30), (139, 69, 19), (100, 60, 30), (150, 90, 45)],
    "black": [(15, 15, 15), (0, 0, 0), (30, 28, 32)],
    "white": [(245, 245, 245), (255, 255, 255), (235, 235, 240)],
    "grey": [(128, 128, 128), (100, 100, 100), (160, 160, 160), (90, 95, 100)],
}


def _patch(rgb, size=(60, 80), noise=6.0, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.tile(np.array(rgb[::-1], np.float32), (size[0], size[1], 1))
    img += rng.normal(0.0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_vocabulary_is_the_agreed_one():
    assert set(COLOUR_NAMES) == {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black",
                                 "white", "grey"}
    # every chromatic reference point names itself (the rules do not override the references they build on)
    for name, labs in REFERENCES.items():
        assert name in COLOUR_NAMES
        assert len(labs) >= 4
        for lab in labs:
            assert name_colour(lab) == name, (name, lab)
    assert name_colour((53.24, 80.09, 67.20)) == "red"  # true-scale CIELAB of sRGB #ff0000


@pytest.mark.parametrize("name", list(SHADES))
def test_shades_are_named(name):
    factors = (1.0,) if name in ("black", "white", "grey") else (0.9, 1.0, 1.1)
    for rgb in SHADES[name]:
        for f in factors:
            c = tuple(int(v) for v in np.clip(np.array(rgb) * f, 0, 255))
            assert name_colour(c, space="rgb") == name, (rgb, f)
            assert name_colour(c[::-1], space="bgr") == name
            assert name_colour("#{:02x}{:02x}{:02x}".format(*c)) == name
            r = dominant_colour(_patch(c, seed=sum(c)))
            assert r.name == name, (rgb, f, r)
            assert r.fraction > 0.8


@pytest.mark.parametrize("name", ["red", "orange", "yellow", "green", "blue", "purple", "pink"])
def test_shading_and_highlight(name):
    """A lit-from-one-side object with a small specular highlight keeps its name."""
    base = np.array(SHADES[name][0], np.float32)
    ramp = np.linspace(0.8, 1.1, 100, dtype=np.float32)[None, :, None]
    img = np.clip(np.tile(base[::-1], (80, 100, 1)) * ramp, 0, 255)
    img[30:38, 60:70] = 255  # highlight
    img = np.clip(img + np.random.default_rng(1).normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    assert dominant_colour(img).name == name


def test_lab_is_true_scale_not_opencv_8bit():
    r = dominant_colour(_patch((255, 0, 0), noise=0))
    assert r.rgb_hex == "#ff0000"
    L, a, b = r.lab
    assert abs(L - 53.2) < 1.0 and abs(a - 80.1) < 1.5 and abs(b - 67.2) < 1.5


def test_name_colour_rejects_bad_input():
    with pytest.raises(ValueError):
        name_colour((1, 2), space="rgb")
    with pytest.raises(ValueError):
        name_colour((1, 2, 3), space="hsv")
    with pytest.raises(ValueError):
        name_colour("#12345")


def _scene(bg_rgb, texture: bool = False, seed: int = 0) -> np.ndarray:
    img = _patch(bg_rgb, size=(360, 640), noise=10.0 if texture else 4.0, seed=seed)
    if texture:  # streaky grass / asphalt texture
        rng = np.random.default_rng(seed)
        for _ in range(400):
            x, y = int(rng.integers(0, 640)), int(rng.integers(0, 360))
            d = int(rng.integers(-30, 30))
            cv2.line(img, (x, y), (x + int(rng.integers(-6, 6)), y + 12),
                     tuple(int(np.clip(v + d, 0, 255)) for v in bg_rgb[::-1]), 1)
    return img


def _norm(box, w=640, h=360):
    return (box[0] / w, box[1] / h, box[2] / w, box[3] / h)


def test_red_car_on_grey_road_is_red():
    img = _scene((110, 110, 112), texture=True)
    cv2.rectangle(img, (200, 150), (440, 260), (30, 30, 200), -1)  # body (BGR red)
    cv2.rectangle(img, (250, 160), (390, 195), (30, 30, 30), -1)  # dark windows
    for cx in (250, 390):
        cv2.circle(img, (cx, 262), 22, (20, 20, 20), -1)  # wheels
    # a detector box is loose: it includes road around the car
    r = dominant_colour(img, _norm((185, 130, 455, 290)))
    assert r.name == "red", r
    assert r.palette[0][0] in ("red", "grey")
    assert {"red", "black"} <= {n for n, _ in dominant_colour(img, _norm((185, 130, 455, 290)), k=4).palette}


def test_white_object_on_brown_grass_is_white():
    img = _scene((170, 150, 95), texture=True)  # dry-grass tan
    cv2.ellipse(img, (320, 180), (110, 70), 0, 0, 360, (235, 238, 240), -1)
    cv2.ellipse(img, (320, 200), (100, 40), 0, 0, 180, (190, 192, 195), -1)  # shaded belly
    r = dominant_colour(img, _norm((200, 100, 440, 260)))
    assert r.name == "white", r
    # without the background model the grass takes over the loose box's chromatic share
    assert dominant_colour(img, _norm((200, 100, 440, 260)), background=False).name in ("white", "brown")


def test_grey_object_on_yellow_background_is_grey():
    """The chromatic preference must not pick the background colour that leaks into the box."""
    img = _scene((250, 220, 30))
    cv2.rectangle(img, (220, 110), (420, 250), (128, 128, 128), -1)
    assert dominant_colour(img, _norm((200, 90, 440, 270))).name == "grey"


def test_blue_shirt_black_trousers_person_is_blue():
    img = _scene((60, 150, 60), texture=True)  # green field
    cv2.rectangle(img, (290, 80), (350, 190), (200, 90, 30), -1)  # blue shirt (BGR)
    cv2.rectangle(img, (295, 190), (345, 300), (25, 25, 25), -1)  # black trousers
    cv2.circle(img, (320, 60), 20, (140, 170, 220), -1)  # face
    assert dominant_colour(img, _norm((280, 35, 360, 305))).name == "blue"


def test_box_edge_cases():
    img = _patch((0, 200, 0), size=(100, 100))
    assert dominant_colour(img, (0.0, 0.0, 1.0, 1.0)).name == "green"  # no ring outside the image
    assert dominant_colour(img, (0.5, 0.5, 0.505, 0.505)).name == "green"  # sub-pixel box
    assert dominant_colour(img, (0.8, 0.8, 0.2, 0.2)).name == "green"  # reversed corners
    assert dominant_colour(img, (-0.2, -0.1, 1.3, 1.2)).name == "green"  # outside the frame
    grey = cv2.cvtColor(_patch((200, 200, 200)), cv2.COLOR_BGR2GRAY)
    assert dominant_colour(grey).name in ("grey", "white")
    with pytest.raises(ValueError):
        dominant_colour(np.zeros((0, 5, 3), np.uint8))


def test_colour_events_and_annotate():
    img = _scene((128, 128, 128))
    cv2.rectangle(img, (40, 40), (200, 200), (0, 140, 255), -1)  # orange
    cv2.rectangle(img, (400, 100), (600, 300), (150, 40, 130), -1)  # purple
    objs = [
        VisualEvent(2.5, "object", "box", 0.9, 75, _norm((30, 30, 210, 210)), {"detector": "test"}),
        VisualEvent(2.5, "object", "crate", 0.7, 75, _norm((390, 90, 610, 310))),
        VisualEvent(2.5, "scene_cut", "cut", 1.0, 75),  # no box: skipped / passed through
    ]
    evs = colour_events(2.5, 75, img, objs)
    assert [e.label for e in evs] == ["orange", "purple"]
    for e, o in zip(evs, objs):
        assert e.kind == "colour" and e.t == 2.5 and e.frame_index == 75 and e.box == o.box
        assert e.attributes["object"] == o.label
        assert e.attributes["object_box"] == list(o.box)
        assert 0.5 < e.attributes["fraction"] <= 1.0 and e.confidence == e.attributes["fraction"]
        assert e.attributes["palette"][0][0] == e.label
    ann = annotate_colours(objs, img)
    assert [e.attributes.get("colour") for e in ann] == ["orange", "purple", None]
    assert ann[0].attributes["detector"] == "test"
    assert "colour" not in objs[0].attributes  # inputs untouched
    assert ann[2] is objs[2]


def test_result_type():
    r = dominant_colour(_patch((20, 60, 200)), k=2)
    assert isinstance(r, ColourResult)
    assert r.rgb_hex.startswith("#") and len(r.rgb_hex) == 7
    assert 1 <= len(r.palette) <= 2
    assert all(0.0 < f <= 1.0 for _, f in r.palette)
    assert r.palette[0] == ("blue", r.fraction)


# --- real photos (Debian darknet package) ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def darknet_data() -> Path:
    from debs import deb_root

    return deb_root("darknet") / "usr/share/darknet/data"


# Boxes are SSD-MobileNet-v2 (cv2.dnn) detections on these photos; every colour was checked by eye.
REAL = [
    ("dog.jpg", "truck", (0.587, 0.138, 0.904, 0.291), "white"),  # white pickup truck
    ("dog.jpg", "dog", (0.183, 0.362, 0.408, 0.93), "black"),  # black (and tan) dog
    ("person.jpg", "person", (0.291, 0.236, 0.424, 0.881), "blue"),  # blue jacket, black trousers
    ("person.jpg", "horse", (0.622, 0.314, 0.941, 0.81), "white"),  # white horse on dry grass
    ("person.jpg", "dog", (0.101, 0.623, 0.321, 0.836), "black"),  # black husky on dry grass
    ("kite.jpg", "kite", (0.439, 0.086, 0.497, 0.168), "green"),  # big green kite in a grey sky
    ("kite.jpg", "kite", (0.346, 0.38, 0.365, 0.406), "blue"),  # small blue kite
    ("kite.jpg", "person", (0.079, 0.679, 0.116, 0.828), "blue"),  # person in a blue hoodie on sand
    ("giraffe.jpg", "giraffe", (0.344, 0.049, 0.925, 0.894), "brown"),  # giraffe among green trees
]


@pytest.mark.parametrize("photo,label,box,colour", REAL, ids=[f"{p}-{lbl}-{c}" for p, lbl, _, c in REAL])
def test_real_photos(darknet_data, photo, label, box, colour):
    img = cv2.imread(str(darknet_data / photo))
    assert img is not None
    r = dominant_colour(img, box)
    assert r.name == colour, (photo, label, r)


def test_real_red_bicycle_frame(darknet_data):
    """The bicycle in dog.jpg is thin: its detector box is mostly wall and road, but its frame tube is red."""
    img = cv2.imread(str(darknet_data / "dog.jpg"))
    h, w = img.shape[:2]
    # the two red ends of the top tube, either side of its black "CAAD8" decal (checked by eye)
    assert dominant_colour(img, (236 / w, 198 / h, 280 / w, 212 / h)).name == "red"
    assert dominant_colour(img, (375 / w, 203 / h, 405 / w, 214 / h)).name == "red"
    names = {n for n, _ in dominant_colour(img, (0.1, 0.233, 0.714, 0.71), k=6).palette}
    assert "yellow" in names  # the yellow porch wall behind the bicycle


# --- the bundled sample (built by vidqa.testing.samples) -----------------------------------------------------------------
def test_sample_object_colours():
    truth = json.loads(SAMPLE_JSON.read_text())
    video = SAMPLE_JSON.parent / truth.get("video", "sample.mp4")
    if not video.exists():
        pytest.skip(f"{video} missing beside {SAMPLE_JSON.name}")
    checked = 0
    for obj in truth.get("objects", []):
        if not obj.get("colour") or not obj.get("box"):
            continue
        if obj.get("label") == "bicycle":
            continue  # thin object: its box is mostly background (see test_real_red_bicycle_frame)
        img = frame_at(video, (obj["start"] + obj["end"]) / 2)
        r = dominant_colour(img, obj["box"])
        assert r.name == obj["colour"], (obj, r)
        checked += 1
    assert checked >= 3
