"""Colour names for objects: a small, fixed vocabulary in CIELAB, and the dominant colour of a box.

The vocabulary is the eleven basic colour terms of English (Berlin & Kay), which other stages and hand-made
ground truth use verbatim::

    red, orange, yellow, green, blue, purple, pink, brown, black, white, grey

How a colour is named (:func:`name_colour`):

1. **Chromatic: nearest reference point.** Each chromatic name has several reference shades
   (:data:`REFERENCES`, defined in sRGB and converted to Lab) and the colour takes the name of the nearest one in
   ``(0.5·L, a, b)`` (hue and chroma matter more than lightness for naming).
2. **Brown vs orange/yellow.** Brown is dark orange or dark yellow: a warm hue (Lab hue angle 35°..100°) darker
   than :data:`BROWN_L` is ``brown``; so is a weakly saturated mid-light warm colour (tan, khaki, sand, dry
   grass). Very light warm tints are ``yellow`` (chroma >= 25) or cream, i.e. ``white``.
3. **Achromatic.** Chroma ``C = sqrt(a² + b²)`` (CIELAB, D65) below :data:`ACHROMATIC_CHROMA` (a little more
   for dark or very light colours, whose a/b are noisy in video) means no hue: ``black`` (L < :data:`BLACK_L`),
   ``white`` (L > :data:`WHITE_L`) or ``grey``. Anything with L < 6 is ``black``.

:func:`dominant_colour` names every pixel of a (slightly shrunk) box, weights the centre more than the edge,
subtracts what the ring just *outside* the box looks like (the background), and returns the largest chromatic
colour when it holds a fair share, else the largest colour: a red car on a grey road is ``red``, a white horse on
brown grass is ``white``.

Example::

    >>> import numpy as np
    >>> img = np.full((120, 160, 3), 128, np.uint8)      # grey frame (BGR)
    >>> img[40:80, 50:110] = (0, 0, 220)                 # a red block
    >>> dominant_colour(img, (50 / 160, 40 / 120, 110 / 160, 80 / 120)).name
    'red'
    >>> name_colour("#1e90ff")
    'blue'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from vidqa.records import VisualEvent

__all__ = [
    "COLOUR_NAMES",
    "REFERENCES",
    "ColourResult",
    "annotate_colours",
    "name_pixels",
    "colour_events",
    "dominant_colour",
    "name_colour",
]

COLOUR_NAMES: tuple[str, ...] = (
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "brown",
    "black",
    "white",
    "grey",
)
"""The vocabulary, in a fixed order (indices into it are used internally)."""

CHROMATIC = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")
ACHROMATIC = ("black", "white", "grey")

ACHROMATIC_CHROMA = 12.0
"""Chroma below which a mid-lightness colour has no hue (grey)."""
BLACK_L = 25.0
"""Achromatic colours darker than this are black."""
WHITE_L = 82.0
"""Achromatic colours lighter than this are white."""
BROWN_L = 50.0
"""Warm (orange/yellow hue) colours darker than this are brown."""

# Reference shades per chromatic name, as sRGB hex (converted to Lab below). Several per name cover light, dark
# and saturated variants; names that border each other (red/pink/purple, orange/brown/yellow, blue/purple) get
# shades close to the border so the nearest-neighbour boundary falls where English speakers put it.
_REFERENCE_HEX: dict[str, tuple[str, ...]] = {
    "red": ("#ff0000", "#e00000", "#c00000", "#a00000", "#800000", "#dc143c", "#b22222", "#e32636", "#cc3333",
            "#ff2400", "#d62828",
            "#b04040", "#a03030", "#c05050", "#904040", "#c83c3c"),
    "orange": ("#ff8c00", "#ffa500", "#ff7f00", "#ff6600", "#e67e22", "#f28500", "#ff9933", "#fb8b23", "#ffb347"),
    "yellow": ("#ffff00", "#ffd700", "#f4d03f", "#ffeb3b", "#fff44f", "#ffe135", "#ffff66", "#ffffa0", "#e6c300",
               "#f0e130", "#bdb76b", "#a89d3c", "#c9b94a", "#d8c860", "#b0a040"),
    "green": ("#00ff00", "#008000", "#228b22", "#32cd32", "#006400", "#90ee90", "#2e8b57", "#3cb371", "#6b8e23",
              "#7cfc00", "#9acd32", "#4caf50", "#00a86b", "#556b2f", "#98fb98"),
    "blue": ("#0000ff", "#000080", "#00008b", "#1e90ff", "#4169e1", "#87ceeb", "#00bfff", "#4682b4", "#0047ab",
             "#6495ed", "#add8e6", "#0000cd", "#0000a0", "#2020e0", "#3333ff", "#00ffff", "#008b8b", "#191970", "#2a52be", "#5b92e5", "#b0e0e6"),
    "purple": ("#800080", "#8a2be2", "#9370db", "#4b0082", "#9400d3", "#663399", "#6a0dad", "#ba55d3", "#b57edc",
               "#7851a9", "#9932cc"),
    "pink": ("#ffc0cb", "#ff69b4", "#ff1493", "#ffb6c1", "#db7093", "#ff77ff", "#ee82ee", "#f4a6c6", "#fc8eac",
             "#e75480", "#ffd1dc"),
    "brown": ("#8b4513", "#a0522d", "#654321", "#964b00", "#7b3f00", "#5c4033", "#6f4e37", "#80461b", "#a67b5b",
              "#c19a6b", "#d2b48c", "#826644"),
}


def _hex_to_rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    if len(h) != 6:
        raise ValueError(f"not a #rrggbb colour: {h!r}")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) uint8-range values -> CIELAB float32 (L 0..100, a/b about -128..127), D65 like OpenCV."""
    arr = np.asarray(rgb, np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(arr, cv2.COLOR_RGB2Lab).reshape(np.shape(rgb))


_REF_NAMES: list[str] = []
_REF_RGB: list[tuple[int, int, int]] = []
for _name, _hexes in _REFERENCE_HEX.items():
    for _h in _hexes:
        _REF_NAMES.append(_name)
        _REF_RGB.append(_hex_to_rgb(_h))
_REF_LAB = _rgb_to_lab(np.array(_REF_RGB, np.float32))
_REF_IDX = np.array([COLOUR_NAMES.index(n) for n in _REF_NAMES], np.int64)
_L_WEIGHT = 0.5
_REF_KEY = _REF_LAB * np.array([_L_WEIGHT, 1.0, 1.0], np.float32)

REFERENCES: dict[str, list[tuple[float, float, float]]] = {}
"""Reference shades per chromatic name, in CIELAB (L, a, b), built from the sRGB definitions above."""
for _name, _lab in zip(_REF_NAMES, _REF_LAB):
    REFERENCES.setdefault(_name, []).append(tuple(round(float(v), 1) for v in _lab))  # type: ignore[arg-type]

_I = {n: i for i, n in enumerate(COLOUR_NAMES)}


def _name_indices(lab: np.ndarray) -> np.ndarray:
    """Vectorised naming: (N, 3) true-scale Lab float -> (N,) indices into :data:`COLOUR_NAMES`."""
    lab = np.asarray(lab, np.float32).reshape(-1, 3)
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    chroma = np.hypot(a, b)
    out = np.empty(len(lab), np.int64)

    # 1. nearest chromatic reference in (0.5 L, a, b)
    key = lab * np.array([_L_WEIGHT, 1.0, 1.0], np.float32)
    d2 = ((key[:, None, :] - _REF_KEY[None, :, :]) ** 2).sum(-1)
    out[:] = _REF_IDX[np.argmin(d2, axis=1)]

    # 2. brown is dark orange/yellow: warm hue, low lightness. Pale warm tints are cream (white) or yellow; mid
    #    tan/khaki/sand (weak chroma) is brown; a light, saturated winner "brown" is really orange or yellow.
    hue = np.degrees(np.arctan2(b, a)) % 360.0
    warm = (hue > 35.0) & (hue < 100.0)
    warm_name = (out == _I["orange"]) | (out == _I["yellow"]) | (out == _I["brown"]) | (
        (out == _I["red"]) & (hue >= 45.0)
    )
    dark = np.where(hue < 85.0, BROWN_L, BROWN_L - 15.0)  # dark yellow (olive, mustard in shade) stays yellow longer
    out[warm_name & warm & (L < dark) & (chroma < 85.0)] = _I["brown"]
    tan = (chroma < 32.0) & (L >= BROWN_L - 5.0) & (L < 85.0) & (hue > 55.0) & (hue < 92.0)
    out[tan] = _I["brown"]
    light_brown = (out == _I["brown"]) & (L >= BROWN_L) & (chroma >= 35.0)
    out[light_brown & (hue < 80.0)] = _I["orange"]
    out[light_brown & (hue >= 80.0)] = _I["yellow"]
    # pink is light or vivid: dark pinks are red (crimson, burgundy) or purple (plum)
    dark_pink = (out == _I["pink"]) & (L < 45.0)
    out[dark_pink & ((hue < 40.0) | (hue >= 350.0))] = _I["red"]
    out[dark_pink & (hue >= 270.0) & (hue < 350.0)] = _I["purple"]
    pale = (L >= 85.0) & (hue > 55.0) & (hue < 110.0) & (chroma < 40.0)
    out[pale] = _I["yellow"]
    out[pale & (chroma < 25.0)] = _I["white"]

    # 3. achromatic: low chroma (more tolerance when dark or very light: video noise, tinted light)
    limit = np.full(len(lab), ACHROMATIC_CHROMA, np.float32)
    limit = np.where(L < 40.0, ACHROMATIC_CHROMA + (40.0 - L) * 0.3, limit)
    limit = np.where(L > 85.0, ACHROMATIC_CHROMA + (L - 85.0) * 0.5, limit)
    achro = chroma < limit
    out[achro & (L < BLACK_L)] = _I["black"]
    out[achro & (L > WHITE_L)] = _I["white"]
    out[achro & (L >= BLACK_L) & (L <= WHITE_L)] = _I["grey"]
    # nearly black is black whatever the hue
    out[L < 6.0] = _I["black"]
    return out


def name_colour(colour: Any, space: str = "lab") -> str:
    """The vocabulary name of one colour.

    ``colour`` is a ``"#rrggbb"`` string, or three numbers in ``space``: ``"lab"`` (true CIELAB: L 0..100,
    a/b about -128..127, *not* OpenCV's 8-bit scaling), ``"rgb"`` or ``"bgr"`` (0..255).

    >>> name_colour((53.2, 80.1, 67.2))
    'red'
    >>> name_colour((0, 0, 139), space="rgb")
    'blue'
    >>> name_colour("#8b4513")
    'brown'
    """
    if isinstance(colour, str):
        lab = _rgb_to_lab(np.array(_hex_to_rgb(colour), np.float32))
    else:
        vals = np.asarray(colour, np.float32).reshape(-1)
        if vals.size != 3:
            raise ValueError(f"a colour has three components, got {vals.size}")
        space = space.lower()
        if space == "lab":
            lab = vals
        elif space == "rgb":
            lab = _rgb_to_lab(vals)
        elif space == "bgr":
            lab = _rgb_to_lab(vals[::-1].copy())
        else:
            raise ValueError(f"space must be 'lab', 'rgb' or 'bgr', not {space!r}")
    return COLOUR_NAMES[int(_name_indices(np.asarray(lab).reshape(1, 3))[0])]


@dataclass
class ColourResult:
    """The dominant colour of an image region."""

    name: str
    """One of :data:`COLOUR_NAMES`."""
    fraction: float
    """Share (0..1, centre-weighted) of the region's pixels that carry ``name``."""
    lab: tuple[float, float, float]
    """Mean CIELAB of those pixels (true scale)."""
    rgb_hex: str
    """The same mean colour as ``#rrggbb``."""
    palette: list[tuple[str, float]] = field(default_factory=list)
    """Up to ``k`` names with their centre-weighted share of the region, largest first."""


def _box_pixels(w: int, h: int, box_norm: Sequence[float] | None) -> tuple[int, int, int, int]:
    if box_norm is None:
        return 0, 0, w, h
    x0, y0, x1, y1 = (float(v) for v in box_norm)
    if x1 < x0:
        x0, x1 = x1, x0
    if y1 < y0:
        y0, y1 = y1, y0
    px0 = int(np.clip(np.floor(x0 * w), 0, w - 1))
    py0 = int(np.clip(np.floor(y0 * h), 0, h - 1))
    px1 = int(np.clip(np.ceil(x1 * w), px0 + 1, w))
    py1 = int(np.clip(np.ceil(y1 * h), py0 + 1, h))
    return px0, py0, px1, py1


_LUT_NAME: np.ndarray | None = None
_LUT_L: np.ndarray | None = None


def _luts() -> tuple[np.ndarray, np.ndarray]:
    """Name index and L of every 5-bit-per-channel BGR colour (32768 entries, built once, ~30 ms)."""
    global _LUT_NAME, _LUT_L
    if _LUT_NAME is None or _LUT_L is None:
        q = np.arange(32, dtype=np.float32) * 8.0 + 4.0
        bb, gg, rr = np.meshgrid(q, q, q, indexing="ij")
        bgr = np.stack([bb, gg, rr], -1).reshape(-1, 1, 3) / 255.0
        lab = cv2.cvtColor(bgr.astype(np.float32), cv2.COLOR_BGR2Lab).reshape(-1, 3)
        names = np.concatenate([_name_indices(chunk) for chunk in np.array_split(lab, 8)])
        _LUT_L = lab[:, 0].astype(np.float32)
        _LUT_NAME = names.astype(np.int8)
    return _LUT_NAME, _LUT_L


def name_pixels(image_bgr: np.ndarray) -> np.ndarray:
    """The colour-name index (into :data:`COLOUR_NAMES`) of every pixel of a BGR ``uint8`` image, shape (H, W).

    One table look-up per pixel (5 bits per channel), the same naming as :func:`name_colour`.

    >>> img = np.zeros((2, 2, 3), np.uint8); img[0, 0] = (0, 0, 255)
    >>> COLOUR_NAMES[int(name_pixels(img)[0, 0])], COLOUR_NAMES[int(name_pixels(img)[1, 1])]
    ('red', 'black')
    """
    lut_name, _ = _luts()
    img = np.asarray(image_bgr)
    q = img[..., :3] >> 3
    fine = (q[..., 0].astype(np.int32) << 10) | (q[..., 1].astype(np.int32) << 5) | q[..., 2].astype(np.int32)
    return lut_name[fine]


def dominant_colour(
    image_bgr: np.ndarray,
    box_norm: Sequence[float] | None = None,
    *,
    k: int = 3,
    shrink: float = 0.12,
    min_share: float = 0.25,
    background: bool = True,
    max_side: int = 40,
) -> ColourResult:
    """The dominant colour name of ``box_norm`` (x0, y0, x1, y1 in 0..1) of a BGR uint8 image (whole image if None).

    Steps: the box is shrunk by ``shrink`` of its size on every side (detector boxes include background) and
    resized to at most ``max_side`` pixels (area averaging removes noise and keeps it around 1 ms); every pixel is
    named through a 32×32×32 lookup table of :func:`name_colour`. Shares are centre-weighted (Gaussian, corners
    weigh ~0.3). With ``background=True`` and a box, the ring just *outside* the box (20 % of its size) models
    the background: colours (in 512 coarse RGB bins, so a dark-brown horse is not confused with tan grass) that
    are common there are discounted inside. White and grey compete together as "light achromatic" and are told
    apart by the upper-quartile lightness (shaded white stays white). The answer is the largest chromatic name
    if it holds at least ``min_share`` of the object mass, else the largest. ``k`` = palette entries returned.

    >>> img = np.full((100, 100, 3), (60, 60, 60), np.uint8)
    >>> img[30:70, 30:70] = (255, 255, 255)
    >>> r = dominant_colour(img, (0.3, 0.3, 0.7, 0.7))
    >>> r.name, r.rgb_hex
    ('white', '#ffffff')
    """
    img = np.asarray(image_bgr)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim != 3 or img.shape[2] < 3 or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"expected a BGR image (H, W, 3), got shape {img.shape}")
    if img.shape[2] > 3:
        img = img[:, :, :3]
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    lut_name, lut_l = _luts()
    h, w = img.shape[:2]
    bx0, by0, bx1, by1 = _box_pixels(w, h, box_norm)
    bw, bh = bx1 - bx0, by1 - by0

    # inner (shrunk) box, and the outer region = box + a 20 % margin (the ring), clipped to the image
    sx, sy = round(bw * shrink), round(bh * shrink)
    ix0, iy0 = bx0 + sx, by0 + sy
    ix1, iy1 = max(bx1 - sx, ix0 + 1), max(by1 - sy, iy0 + 1)
    use_ring = background and box_norm is not None
    if use_ring:
        mx, my = max(2, round(bw * 0.2)), max(2, round(bh * 0.2))
        ox0, oy0, ox1, oy1 = max(0, bx0 - mx), max(0, by0 - my), min(w, bx1 + mx), min(h, by1 + my)
    else:
        ox0, oy0, ox1, oy1 = ix0, iy0, ix1, iy1
    # big boxes: take every n-th pixel first (cheap), so INTER_AREA averages at most ~3x3 source pixels
    step = max(1, int(max(ix1 - ix0, iy1 - iy0) // (3 * max_side)))
    region = img[oy0:oy1:step, ox0:ox1:step]
    rh, rw = region.shape[:2]
    scale = min(1.0, max_side * step / max(ix1 - ix0, iy1 - iy0))
    tw, th = max(1, round(rw * scale)), max(1, round(rh * scale))
    small = cv2.resize(region, (tw, th), interpolation=cv2.INTER_AREA) if (tw, th) != (rw, rh) else region
    px = small.reshape(-1, 3)
    q = px >> 3
    fine = (q[:, 0].astype(np.int32) << 10) | (q[:, 1].astype(np.int32) << 5) | q[:, 2].astype(np.int32)
    idx = lut_name[fine].astype(np.int64)
    light = lut_l[fine]
    coarse = ((px[:, 0] >> 5).astype(np.int32) << 6) | ((px[:, 1] >> 5).astype(np.int32) << 3) | (px[:, 2] >> 5)

    # where each small pixel sits, in original-image pixels
    xs = ox0 + (np.arange(tw) + 0.5) * (rw * step / tw)
    ys = oy0 + (np.arange(th) + 0.5) * (rh * step / th)
    X, Y = (a.reshape(-1) for a in np.meshgrid(xs, ys))
    inner = (X >= ix0) & (X < ix1) & (Y >= iy0) & (Y < iy1)
    if not inner.any():
        inner = np.ones_like(inner)
    cx, cy = (ix0 + ix1) / 2.0, (iy0 + iy1) / 2.0
    u = (X - cx) / max(1.0, ix1 - ix0)
    v = (Y - cy) / max(1.0, iy1 - iy0)
    wgt = np.exp(-(u * u + v * v) / (2 * 0.35**2)) * inner

    n = len(COLOUR_NAMES)
    hist_in = np.bincount(idx, weights=wgt, minlength=n)
    hist_in /= max(hist_in.sum(), 1e-9)

    p_obj = np.ones(len(px))
    if use_ring:
        ring = ~((X >= bx0) & (X < bx1) & (Y >= by0) & (Y < by1))
        if ring.sum() >= 8:
            cin = np.bincount(coarse, weights=wgt, minlength=512)
            cin /= max(cin.sum(), 1e-9)
            cout = np.bincount(coarse[ring], minlength=512).astype(np.float64)
            cout /= cout.sum()
            pb = np.clip((cin - 0.5 * cout) / np.maximum(cin, 1e-9), 0.0, 1.0)
            if float((pb * cin).sum()) >= 0.15:  # else object and background look alike: keep plain shares
                p_obj = pb[coarse]
    ow = wgt * p_obj
    obj = np.bincount(idx, weights=ow, minlength=n)
    obj /= max(obj.sum(), 1e-9)

    # white and grey compete as one "light achromatic" group
    iw, ig = _I["white"], _I["grey"]
    groups = obj.copy()
    groups[iw] = obj[iw] + obj[ig]
    groups[ig] = 0.0
    order = np.argsort(-groups)
    chosen = int(order[0])
    for i in order:
        if COLOUR_NAMES[i] in CHROMATIC:
            if groups[i] >= min_share:
                chosen = int(i)
            break
    if chosen == iw:
        sel = (idx == iw) | (idx == ig)
        if sel.any():
            srt = np.argsort(light[sel])
            cum = np.cumsum(ow[sel][srt])
            q75 = light[sel][srt][min(len(srt) - 1, int(np.searchsorted(cum, 0.75 * cum[-1])))]
            chosen = iw if q75 > WHITE_L else ig

    sel = inner & (idx == chosen)
    if not sel.any():
        sel = inner
    mean_bgr = np.average(px[sel].astype(np.float32), axis=0, weights=wgt[sel] + 1e-9)
    mean_lab = cv2.cvtColor(mean_bgr.reshape(1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab).reshape(3)
    rgb = np.clip(mean_bgr[::-1] + 0.5, 0, 255).astype(int)
    pal_order = np.argsort(-hist_in)[: max(1, k)]
    palette = [(COLOUR_NAMES[i], round(float(hist_in[i]), 3)) for i in pal_order if hist_in[i] > 0]
    return ColourResult(
        name=COLOUR_NAMES[chosen],
        fraction=round(float(hist_in[chosen]), 3),
        lab=(round(float(mean_lab[0]), 1), round(float(mean_lab[1]), 1), round(float(mean_lab[2]), 1)),
        rgb_hex="#{:02x}{:02x}{:02x}".format(*rgb),
        palette=palette,
    )


def _event_box(ev: VisualEvent) -> tuple[float, float, float, float] | None:
    return tuple(float(v) for v in ev.box) if ev.box is not None else None  # type: ignore[return-value]


def colour_events(
    frame_t: float,
    frame_index: int | None,
    image: np.ndarray,
    object_events: Iterable[VisualEvent],
    *,
    k: int = 3,
) -> list[VisualEvent]:
    """One ``kind='colour'`` event per boxed object event of this frame, naming the object's dominant colour.

    ``confidence`` is the share of the box that carries the colour; attributes hold ``object`` (its label),
    ``object_box``, ``fraction``, ``palette``, ``rgb_hex`` and ``object_confidence``. Events without a box are
    skipped.

    >>> img = np.zeros((100, 100, 3), np.uint8); img[20:80, 20:80] = (0, 200, 0)
    >>> obj = VisualEvent(t=1.0, kind="object", label="ball", confidence=0.9, box=(0.2, 0.2, 0.8, 0.8))
    >>> colour_events(1.0, 25, img, [obj])[0].label
    'green'
    """
    out: list[VisualEvent] = []
    for ev in object_events:
        box = _event_box(ev)
        if box is None:
            continue
        res = dominant_colour(image, box, k=k)
        out.append(
            VisualEvent(
                t=float(frame_t),
                kind="colour",
                label=res.name,
                confidence=float(res.fraction),
                frame_index=frame_index,
                box=box,
                attributes={
                    "object": ev.label,
                    "object_box": list(box),
                    "object_confidence": float(ev.confidence),
                    "fraction": res.fraction,
                    "palette": [list(p) for p in res.palette],
                    "rgb_hex": res.rgb_hex,
                },
            )
        )
    return out


def annotate_colours(events: Iterable[VisualEvent], image: np.ndarray, *, k: int = 3) -> list[VisualEvent]:
    """Copies of ``events`` (from one frame) with ``attributes['colour']`` (and ``colour_fraction``,
    ``colour_palette``, ``colour_hex``) set for each event that has a box; others are returned unchanged.

    The input events are not modified.

    >>> img = np.zeros((100, 100, 3), np.uint8); img[20:80, 20:80] = (255, 0, 0)
    >>> ev = VisualEvent(t=0.0, kind="object", label="car", confidence=0.8, box=(0.2, 0.2, 0.8, 0.8))
    >>> annotate_colours([ev], img)[0].attributes["colour"]
    'blue'
    """
    out: list[VisualEvent] = []
    for ev in events:
        box = _event_box(ev)
        if box is None:
            out.append(ev)
            continue
        res = dominant_colour(image, box, k=k)
        attrs = dict(ev.attributes)
        attrs.update(
            colour=res.name,
            colour_fraction=res.fraction,
            colour_palette=[list(p) for p in res.palette],
            colour_hex=res.rgb_hex,
        )
        out.append(replace(ev, attributes=attrs))
    return out
