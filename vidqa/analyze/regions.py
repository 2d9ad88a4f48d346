"""Class-agnostic salient regions: flat-coloured blobs (drawn shapes, balls, signs, panels) with colour and shape.

The COCO detector knows 80 labels; a drawn blue square is none of them. :func:`find_regions` finds solid regions
of one colour that stand out from what surrounds them, whatever they are, and names

- their **colour** in the eleven-term vocabulary of :mod:`vidqa.analyze.colors`, and
- their **shape**: ``circle``, ``square``, ``rectangle``, ``triangle`` or ``other``.

How (≈ 3–6 ms a 720p frame):

1. The frame is shrunk to at most 384 px wide (area averaging, which also removes compression noise) and every
   pixel is named through the colour-name look-up table (:func:`vidqa.analyze.colors.name_pixels`).
2. Per colour name, the pixels form connected components (after a small opening). A component is a candidate
   when it is big enough (≥ ``min_area`` of the frame), not the background (it touches the frame border only
   briefly and covers ≤ 35 % of the frame) and convex-ish (solidity ≥ 0.88).
3. It is kept when it is **flat** (the lightness inside, away from its edge, varies little: drawn shapes, signs,
   balls; photo texture does not) and **stands out** (mean CIELAB distance between a ring just inside and a ring
   just outside its contour ≥ 18).
4. The shape comes from the contour: polygon approximation (3 corners: triangle; 4: square when the sides of the
   minimum-area rectangle are within 20 %, else rectangle), circularity ``4πA/P²`` ≥ 0.84 with a round minimum
   enclosing circle: circle; anything else: other. A region with holes (text on a panel) is a ``panel``
   (``attributes["panel"] = True``); panels are not counted as shapes by :mod:`vidqa.analyze.counts`.

Example::

    from vidqa.analyze.regions import find_regions
    [(r.label, r.attributes["colour"]) for r in find_regions(frame_bgr)]   # [('square', 'blue'), ('circle', 'red')]
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vidqa.records import VisualEvent

__all__ = ["SHAPES", "find_regions", "shape_of"]

SHAPES = ("circle", "square", "rectangle", "triangle", "other")
"""The shape vocabulary of region events."""

_WORK_WIDTH = 384
_KERNEL3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


def shape_of(contour: np.ndarray) -> tuple[str, float]:
    """(shape name, how well it fits 0..1) of one closed contour (OpenCV points, any scale).

    >>> sq = np.array([[[0, 0]], [[40, 0]], [[40, 40]], [[0, 40]]], np.int32)
    >>> shape_of(sq)[0]
    'square'
    """
    area = float(cv2.contourArea(contour))
    peri = float(cv2.arcLength(contour, True))
    if area <= 0 or peri <= 0:
        return "other", 0.0
    # pixel contours are staircases: measure roundness on the convex hull's perimeter
    hull_peri = float(cv2.arcLength(cv2.convexHull(contour), True))
    circularity = 4.0 * math.pi * area / (hull_peri * hull_peri)
    (_, _), radius = cv2.minEnclosingCircle(contour)
    circle_fill = area / (math.pi * radius * radius) if radius > 0 else 0.0
    approx = cv2.approxPolyDP(contour, 0.035 * peri, True)
    n = len(approx)
    (_, _), (rw, rh), _ = cv2.minAreaRect(contour)
    rect_fill = area / (rw * rh) if rw * rh > 0 else 0.0
    aspect = min(rw, rh) / max(rw, rh) if max(rw, rh) > 0 else 0.0
    if n == 3:
        tri = cv2.minEnclosingTriangle(contour)[0]
        tri_fill = area / tri if tri > 0 else 0.0
        if tri_fill > 0.8:
            return "triangle", float(min(1.0, tri_fill))
    if n == 4 and rect_fill > 0.88:
        return ("square" if aspect >= 0.8 else "rectangle"), float(rect_fill)
    if circularity >= 0.84 and circle_fill >= 0.8:
        return "circle", float(min(1.0, circle_fill))
    if rect_fill > 0.93 and 4 <= n <= 6:  # a rectangle with slightly rounded/compressed corners
        return ("square" if aspect >= 0.8 else "rectangle"), float(rect_fill)
    return "other", float(max(rect_fill, circle_fill) * 0.5)


def _lab(img: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)
    return lab


def _full_res_shape(img: np.ndarray, box: tuple[float, float, float, float], lab_in: np.ndarray, contrast: float
                    ) -> tuple[str | None, float]:
    """Shape of the region from the full-resolution frame: pixels near the region's colour, largest component."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    pad = max(3.0, 0.15 * max(x1 - x0, y1 - y0))
    X0, Y0 = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    X1, Y1 = min(w, int(np.ceil(x1 + pad))), min(h, int(np.ceil(y1 + pad)))
    crop = img[Y0:Y1, X0:X1, :3]
    if crop.shape[0] < 6 or crop.shape[1] < 6 or crop.shape[0] * crop.shape[1] > 400_000:
        return None, 0.0
    lab = _lab(crop)
    dist = np.linalg.norm(lab - lab_in.reshape(1, 1, 3), axis=2)
    mask = (dist < max(10.0, 0.5 * contrast)).astype(np.uint8)
    n, lbl, st, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if n <= 1:
        return None, 0.0
    k = 1 + int(np.argmax(st[1:, 4]))
    comp = (lbl == k).astype(np.uint8)
    contours, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None, 0.0
    return shape_of(max(contours, key=cv2.contourArea))


def _box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _segmentations(names: np.ndarray, lab: np.ndarray, min_px: int):
    """Candidate components from two segmentations: (colour index or None, n, labels, stats).

    1. per colour name (pixels of one vocabulary name, opened), and
    2. flat areas between edges (neighbouring pixels more than ~ΔE 6 apart), which also separates a shape from a
       background of the same colour name (a dark purple plate on a light purple gradient).
    """
    counts = np.bincount(names.ravel().astype(np.int64), minlength=1)
    for ci in np.flatnonzero(counts >= max(1, min_px)):
        mask = (names == ci).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _KERNEL3)
        n, lbl, st, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        yield int(ci), n, lbl, st
    # L1 distance of neighbours in Lab (cheaper than Euclidean; 8 in L1 is about 5-8 ΔE)
    dx = np.abs(lab[:, 1:] - lab[:, :-1]).sum(axis=2) > 8.0
    dy = np.abs(lab[1:] - lab[:-1]).sum(axis=2) > 8.0
    edge = np.zeros(lab.shape[:2], bool)
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:] |= dy
    edge[:-1] |= dy
    flat = (edge == 0).astype(np.uint8)
    n, lbl, st, _ = cv2.connectedComponentsWithStats(flat, connectivity=4)
    yield None, n, lbl, st


def find_regions(
    image_bgr: np.ndarray,
    *,
    t: float = 0.0,
    frame_index: int | None = None,
    min_area: float = 0.0006,
    max_area: float = 0.35,
    min_contrast: float = 18.0,
    max_flatness: float = 9.0,
) -> list[VisualEvent]:
    """Salient flat-coloured regions of one BGR frame as ``kind="region"`` events (label = shape).

    ``attributes``: ``colour`` (vocabulary name), ``shape``, ``rgb_hex``, ``area`` (fraction of the frame),
    ``contrast`` (ΔE to the surroundings), ``flatness`` (lightness std inside), ``panel`` (has holes: text on a
    panel). ``confidence`` blends shape fit, contrast and flatness. ``min_area`` / ``max_area`` are fractions of the
    frame; ``min_contrast`` is a CIELAB distance; ``max_flatness`` the largest lightness std (L units) inside.

    >>> img = np.full((360, 640, 3), 235, np.uint8)
    >>> _ = cv2.circle(img, (200, 180), 50, (40, 40, 220), -1)
    >>> [(r.label, r.attributes["colour"]) for r in find_regions(img)]
    [('circle', 'red')]
    """
    from vidqa.analyze.colors import COLOUR_NAMES, name_colour, name_pixels

    img = np.asarray(image_bgr)
    if img.ndim != 3 or img.shape[0] < 8 or img.shape[1] < 8:
        return []
    h0, w0 = img.shape[:2]
    s = min(1.0, _WORK_WIDTH / w0)
    small = cv2.resize(img[:, :, :3], (max(8, round(w0 * s)), max(8, round(h0 * s))), interpolation=cv2.INTER_AREA) \
        if s < 1 else img[:, :, :3]
    h, w = small.shape[:2]
    total = float(h * w)
    names = name_pixels(small)
    lab = _lab(small)
    L = lab[:, :, 0]
    out: list[VisualEvent] = []
    accepted: list[tuple[int, int, int, int]] = []
    for ci, n, lbl, st in _segmentations(names, lab, int(min_area * total)):
        for k in range(1, n):
            x, y, bw, bh, area = (int(v) for v in st[k])
            if area < min_area * total or area > max_area * total or bw < 5 or bh < 5:
                continue
            if any(_box_iou((x, y, x + bw, y + bh), b) > 0.5 for b in accepted):
                continue  # the same region, found by the other segmentation
            comp = (lbl[y:y + bh, x:x + bw] == k).astype(np.uint8)
            # the background touches the border along much of its edge
            border = 0
            if x == 0:
                border += int(comp[:, 0].sum())
            if y == 0:
                border += int(comp[0, :].sum())
            if x + bw == w:
                border += int(comp[:, -1].sum())
            if y + bh == h:
                border += int(comp[-1, :].sum())
            if border > 0.15 * (bw + bh):
                continue
            contours, hier = cv2.findContours(comp, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
            if not contours:
                continue
            outer_i = max(range(len(contours)), key=lambda i: cv2.contourArea(contours[i]))
            outer = contours[outer_i]
            outer_area = float(cv2.contourArea(outer))
            hull_area = float(cv2.contourArea(cv2.convexHull(outer)))
            if outer_area <= 0 or hull_area <= 0 or outer_area / hull_area < 0.88:
                continue
            filled = np.zeros_like(comp)
            cv2.drawContours(filled, [outer], -1, 1, -1)
            filled_area = float(filled.sum())
            holes = 1.0 - area / max(filled_area, 1.0)
            # flatness: lightness spread inside, away from the (anti-aliased, compressed) edge
            inner = cv2.erode(filled, _KERNEL3, iterations=2)
            if inner.sum() < 6:
                inner = filled
            sub_l = L[y:y + bh, x:x + bw]
            sel = (inner > 0) & (comp > 0)
            if sel.sum() < 6:
                continue
            flat = float(np.std(sub_l[sel]))
            if flat > max_flatness:
                continue
            # contrast: a ring inside the contour against a ring outside it
            pad = 4
            X0, Y0, X1, Y1 = max(0, x - pad), max(0, y - pad), min(w, x + bw + pad), min(h, y + bh + pad)
            fm = np.zeros((Y1 - Y0, X1 - X0), np.uint8)
            fm[y - Y0:y - Y0 + bh, x - X0:x - X0 + bw] = filled
            ring_out = cv2.dilate(fm, _KERNEL3, iterations=3) - cv2.dilate(fm, _KERNEL3, iterations=1)
            ring_in = fm - cv2.erode(fm, _KERNEL3, iterations=2)
            ring_in = cv2.erode(fm, _KERNEL3, iterations=1) - cv2.erode(fm, _KERNEL3, iterations=3) \
                if cv2.erode(fm, _KERNEL3, iterations=3).sum() > 0 else ring_in
            sub_lab = lab[Y0:Y1, X0:X1]
            if ring_out.sum() < 4 or ring_in.sum() < 4:
                continue
            m_in = sub_lab[ring_in > 0].mean(axis=0)
            out_px = sub_lab[ring_out > 0]
            contrast = float(np.median(np.linalg.norm(out_px - m_in, axis=1)))
            surround = float(np.std(out_px[:, 0]))
            # on a flat surround (a plain or gradient background) a fainter region still stands out
            if contrast < (0.65 * min_contrast if surround < 2.5 else min_contrast):
                continue
            # on textured surroundings (footage) dark/achromatic flat patches are everywhere (windows, shadows,
            # asphalt): there only a decidedly coloured or very contrasted region counts
            chroma = float(np.hypot(m_in[1], m_in[2]))
            if surround > 6.0 and (contrast < 40.0 or (chroma < 25.0 and contrast < 50.0)):
                continue
            if surround > 3.5 and contrast < 30.0:  # faint patches in mildly textured surroundings (windows)
                continue
            shape, fit = _full_res_shape(img, (x / s, y / s, (x + bw) / s, (y + bh) / s), m_in, contrast)
            if shape is None:
                scale_pts = outer.astype(np.float32) + np.array([x, y], np.float32)
                shape, fit = shape_of((scale_pts / s).astype(np.int32) if s < 1 else scale_pts.astype(np.int32))
            mean_bgr = small[y:y + bh, x:x + bw][sel].mean(axis=0)
            colour = name_colour(mean_bgr, space="bgr")
            if ci is not None and colour != COLOUR_NAMES[int(ci)]:
                # the component's name and the mean's name disagree (a blend at a name border): trust the mean,
                # but only if the region is decidedly flat
                if flat > max_flatness / 2:
                    continue
            rgb = np.clip(mean_bgr[::-1] + 0.5, 0, 255).astype(int)
            conf = 0.5 * fit + 0.3 * min(1.0, contrast / 60.0) + 0.2 * (1.0 - flat / max_flatness)
            panel = holes > 0.03
            accepted.append((x, y, x + bw, y + bh))
            out.append(VisualEvent(
                t=float(t), kind="region", label=shape, confidence=round(float(min(1.0, conf)), 3),
                frame_index=frame_index,
                box=(x / w, y / h, (x + bw) / w, (y + bh) / h),
                attributes={"colour": colour, "shape": shape, "rgb_hex": "#{:02x}{:02x}{:02x}".format(*rgb),
                            "area": round(area / total, 5), "contrast": round(contrast, 1),
                            "flatness": round(flat, 2), "surround": round(surround, 2),
                            "panel": bool(panel)},
            ))
    out.sort(key=lambda e: (e.box[1], e.box[0]))  # type: ignore[index]
    return out
