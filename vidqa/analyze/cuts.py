"""Scene-cut detection on tiny frame signatures: the absolute (hard) and adaptive (low-contrast) cut tests.

The cut detector behind :func:`vidqa.analyze.frames.sample_frames` / :func:`~vidqa.analyze.frames.detect_scene_cuts`
(which decide *which* frames to decode; this module decides whether two of them are a cut).

Cut signature (:func:`frame_signature`): a 64×36 downscale of the luma plane plus 32×18 of each chroma plane, read
straight from the YUV planes (no RGB conversion; strided then area-averaged, ≈ 0.1 ms a 720p frame). The cut score
(:func:`signature_score`) is the mean absolute difference of consecutive signatures (0..1, luma weighted 1/2, each
chroma 1/4). A hard cut needs ``score >= cut_threshold`` **and** a score ``cut_ratio``× above the median of the
recent frame-to-frame scores, so fast motion, pans and fades (many moderate differences in a row) do not count as
cuts while a single jump does; an adaptive cut is a smaller jump that stands far above its neighbours on both sides
(:class:`CutJudge`). Keyframes that lie up to ~2 s apart are compared after undoing a global pan and a fade
(:func:`keyframe_compare`, :class:`KeyframePairJudge`); keyframes an encoder put off its regular schedule are its
own scene-cut decisions (:func:`encoder_cut_keyframes`).

Example::

    import av
    from vidqa.analyze.cuts import CutJudge, DEFAULT_CUT_THRESHOLD, frame_signature, signature_score, signature_spread
    judge, prev = CutJudge(DEFAULT_CUT_THRESHOLD, 3.0, adaptive=False), None
    with av.open("clip.mp4") as c:
        for frame in c.decode(video=0):
            sig = frame_signature(frame)
            if prev is not None and judge(signature_score(prev, sig), signature_spread(prev, sig)) is True:
                print("cut at", frame.time)
            prev = sig
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ADAPTIVE_AFTER",
    "ADAPTIVE_MIN_SCORE",
    "ADAPTIVE_RATIO",
    "ADAPTIVE_SPREAD",
    "DEFAULT_CUT_THRESHOLD",
    "CutJudge",
    "KeyframePairJudge",
    "SceneCut",
    "encoder_cut_keyframes",
    "frame_signature",
    "keyframe_compare",
    "signature_score",
    "signature_spread",
]

DEFAULT_CUT_THRESHOLD = 0.06
"""Mean absolute signature difference (0..1) at or above which consecutive frames are a candidate cut."""

_SIG_W, _SIG_H = 64, 36
_HISTORY = 12  # recent frame-to-frame scores kept for the adaptive part of the cut test


@dataclass
class SceneCut:
    """A hard cut: ``t`` / ``frame_index`` are those of the first frame of the new shot; ``score`` is 0..1."""

    t: float
    frame_index: int | None
    score: float


# ----------------------------------------------------------------------------------------------------------------
# signatures and scores


def _plane(p: Any, w: int, h: int) -> np.ndarray:
    """A plane's pixels as a (h, w) uint8 view (no copy; rows padded to ``line_size`` in memory)."""
    a = np.frombuffer(p, np.uint8)
    ls = p.line_size
    return a[: ls * h].reshape(h, ls)[:, :w]


def _shrink(plane: np.ndarray, w: int, h: int) -> np.ndarray:
    """Area-average ``plane`` down to ``w``×``h``; big planes are first thinned by a stride (≥ 4×4 samples a cell
    remain), which is ~6× cheaper than averaging every pixel of a 720p plane and as good for telling shots apart."""
    import cv2

    step = max(1, min(plane.shape[0] // (4 * h), plane.shape[1] // (4 * w)))
    if step > 1:
        plane = plane[::step, ::step]
    return cv2.resize(plane, (w, h), interpolation=cv2.INTER_AREA)


def frame_signature(frame: Any) -> np.ndarray:
    """Downscaled Y (64×36) + U, V (32×18) as float32 0..1, straight from the planes when the format is 8-bit YUV."""
    fmt = frame.format.name
    w, h = frame.width, frame.height
    cw_, ch_ = _SIG_W // 2, _SIG_H // 2
    if fmt in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12"):
        planes = frame.planes  # (a new tuple on every access)
        ys = _shrink(_plane(planes[0], w, h), _SIG_W, _SIG_H)
        if fmt == "nv12":
            uv = _plane(planes[1], 2 * ((w + 1) // 2), (h + 1) // 2).reshape((h + 1) // 2, -1, 2)
            us, vs = _shrink(np.ascontiguousarray(uv[..., 0]), cw_, ch_), _shrink(np.ascontiguousarray(uv[..., 1]), cw_, ch_)
        else:
            pw, ph = planes[1].width, planes[1].height
            us, vs = _shrink(_plane(planes[1], pw, ph), cw_, ch_), _shrink(_plane(planes[2], pw, ph), cw_, ch_)
    else:  # any other pixel format: convert (slower, rare)
        yuv = frame.to_ndarray(format="yuv444p")  # (3, h, w)
        ys, us, vs = _shrink(yuv[0], _SIG_W, _SIG_H), _shrink(yuv[1], cw_, ch_), _shrink(yuv[2], cw_, ch_)
    out = np.empty(_SIG_W * _SIG_H + 2 * cw_ * ch_, np.float32)
    out[: _SIG_W * _SIG_H] = ys.ravel()
    out[_SIG_W * _SIG_H : _SIG_W * _SIG_H + cw_ * ch_] = us.ravel()
    out[_SIG_W * _SIG_H + cw_ * ch_ :] = vs.ravel()
    out *= 1.0 / 255.0
    return out


_NY = _SIG_W * _SIG_H
_NC = (_SIG_W // 2) * (_SIG_H // 2)


def signature_score(a: np.ndarray, b: np.ndarray) -> float:
    """The cut score of two signatures: mean absolute difference, 0..1 (luma weighted 1/2, each chroma 1/4)."""
    d = np.abs(a - b)
    return float(0.5 * d[:_NY].mean() + 0.25 * d[_NY : _NY + _NC].mean() + 0.25 * d[_NY + _NC :].mean())


def _shifted_overlap(a: np.ndarray, b: np.ndarray, dx: int, dy: int) -> float:
    h, w = a.shape
    if abs(dx) >= w // 2 or abs(dy) >= h // 2:
        return float("inf")
    a2 = a[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    b2 = b[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)]
    return float(np.abs(a2 - b2).mean())


def _aligned_score(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`signature_score` after undoing a global shift (pan/tilt) found by phase correlation of the luma
    signatures.

    Used to compare keyframes that lie up to ~2 s apart: a pan moves the picture a lot between them but the shifted
    pictures still match, while a cut leaves them different however they are aligned.
    """
    import cv2

    plain = signature_score(a, b)
    ya, yb = a[:_NY].reshape(_SIG_H, _SIG_W), b[:_NY].reshape(_SIG_H, _SIG_W)
    ch, cw = _SIG_H // 2, _SIG_W // 2
    ua, ub = a[_NY : _NY + _NC].reshape(ch, cw), b[_NY : _NY + _NC].reshape(ch, cw)
    va, vb = a[_NY + _NC :].reshape(ch, cw), b[_NY + _NC :].reshape(ch, cw)
    win = cv2.createHanningWindow((_SIG_W, _SIG_H), cv2.CV_64F)
    (sx, sy), _ = cv2.phaseCorrelate(ya.astype(np.float64), yb.astype(np.float64), win)
    best = plain
    tried = {(0, 0)}
    for sgn in (1, -1):
        for ex in (-1, 0, 1):  # the estimate is sub-pixel: try the integer shifts around it
            for ey in (-1, 0, 1):
                dx, dy = round(sgn * sx) + ex, round(sgn * sy) + ey
                if (dx, dy) in tried:
                    continue
                tried.add((dx, dy))
                hx, hy = round(dx / 2), round(dy / 2)
                s = (
                    0.5 * _shifted_overlap(ya, yb, dx, dy)
                    + 0.25 * _shifted_overlap(ua, ub, hx, hy)
                    + 0.25 * _shifted_overlap(va, vb, hx, hy)
                )
                best = min(best, s)
    return best


def _gain_compensated_score(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`signature_score` after fitting ``b ≈ gain * a + offset`` per plane: what is left of a fade is near
    zero."""
    ya, yb = a[:_NY].astype(np.float64), b[:_NY].astype(np.float64)
    sa, sb = ya.std(), yb.std()
    # only a picture that keeps its structure is a fade: flat frames or unrelated ones are not compensated
    if sa < 0.02 or sb < 0.02 or float(((ya - ya.mean()) * (yb - yb.mean())).mean() / (sa * sb)) < 0.7:
        return float("inf")
    parts = ((0, _NY, 0.5), (_NY, _NY + _NC, 0.25), (_NY + _NC, _NY + 2 * _NC, 0.25))
    total = 0.0
    for lo, hi, w in parts:
        x, y = a[lo:hi].astype(np.float64), b[lo:hi].astype(np.float64)
        vx = x.var()
        gain = ((x - x.mean()) * (y - y.mean())).mean() / vx if vx > 1e-8 else 0.0
        gain = min(max(gain, 0.0), 4.0)  # a fade scales contrast; a negative fit is not a fade
        total += w * float(np.abs(y - (gain * (x - x.mean()) + y.mean())).mean())
    return total


def keyframe_compare(a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
    """How different two keyframes up to ~2 s apart are, forgiving a global pan or a fade between them.

    Also says whether the difference can be trusted as a cut without looking at the frames in between: not when
    either picture is nearly flat (black, white), since a fade from/to black looks the same as a cut there.
    """
    score = min(_aligned_score(a, b), _gain_compensated_score(a, b))
    flat = min(float(a[:_NY].std()), float(b[:_NY].std())) < 0.03
    return score, not flat


ADAPTIVE_MIN_SCORE = 0.015
"""Smallest score an adaptive (low-contrast) cut may have."""
ADAPTIVE_RATIO = 4.0
"""An adaptive cut stands this many times above the median of the recent frame-to-frame scores ..."""
ADAPTIVE_AFTER = 0.35
"""... and the next frame's score falls back under this share of it (a fade or motion keeps changing)."""
ADAPTIVE_SPREAD = 0.6
"""Share of the signature's cells that must change (a cut changes the whole picture; an object appearing does not)."""


def signature_spread(a: np.ndarray, b: np.ndarray) -> float:
    """Largest share, over the Y, U and V planes, of signature cells whose value moved by more than ~2 levels
    (a cut between two flat backgrounds may change one chroma plane only, but everywhere)."""
    moved = np.abs(a - b) > 0.008
    return float(max(moved[:_NY].mean(), moved[_NY:_NY + _NC].mean(), moved[_NY + _NC:].mean()))


class CutJudge:
    """Consecutive-frame cut test.

    A **hard cut**: ``score >= threshold`` and ``score >= ratio ×`` the median of the recent frame-to-frame scores.
    An **adaptive (low-contrast) cut**, as PySceneDetect's adaptive detector does it, compares a score with its
    rolling neighbourhood instead of a fixed threshold: ``score >= ADAPTIVE_MIN_SCORE``, ``>= ADAPTIVE_RATIO ×`` the
    recent median, the change covers most of the picture (``ADAPTIVE_SPREAD``), and the *next* frame's score falls
    back under ``ADAPTIVE_AFTER ×`` the score (a fade or a pan changes frame after frame; a cut is one jump). Such a
    candidate is therefore decided one frame late (:meth:`confirm`).
    """

    def __init__(self, threshold: float, ratio: float, adaptive: bool = True) -> None:
        self.threshold = threshold
        self.ratio = ratio
        self.adaptive = adaptive
        self.recent: deque[float] = deque(maxlen=_HISTORY)

    def reset(self) -> None:
        self.recent.clear()

    def __call__(self, score: float, spread: float = 1.0) -> bool | str:
        """``True`` (hard cut), ``"candidate"`` (adaptive cut, confirm with the next score) or ``False``."""
        base = float(np.median(self.recent)) if self.recent else 0.0
        is_cut = score >= self.threshold and score >= self.ratio * base
        if is_cut:
            return True  # a cut is not motion: keep it out of the baseline
        if (self.adaptive and score >= ADAPTIVE_MIN_SCORE and score >= ADAPTIVE_RATIO * max(base, 0.002)
                and spread >= ADAPTIVE_SPREAD):
            return "candidate"
        self.recent.append(score)
        return False

    def confirm(self, score: float, next_score: float) -> bool:
        """Whether an adaptive candidate of ``score`` is a cut, given the score of the frame after it."""
        ok = next_score <= ADAPTIVE_AFTER * score
        if not ok:
            self.recent.append(score)
        return ok


class KeyframePairJudge:
    """Whether two consecutive keyframes (up to ~2 s apart) may hide a cut: then the frames between them are decoded.

    Keyframes lie apart in time: a cut between them shows as at least most of a cut's jump (``score >= 0.8 ×
    threshold``, after undoing a global pan, so that camera motion alone does not force a GOP decode). With
    ``adaptive``, a low-contrast cut is suspected when the pair differs much more than the recent pairs did
    (keyframes lie ~1 s apart: motion raises their baseline, so a global change (spread) at twice the baseline is
    enough; the per-frame :class:`CutJudge` then decides).
    """

    def __init__(self, threshold: float, adaptive: bool = True) -> None:
        self.threshold = threshold
        self.adaptive = adaptive
        self.recent: deque[float] = deque(maxlen=8)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> tuple[bool, bool, float]:
        """``(suspect, trustable, score)`` of keyframe signatures ``a`` then ``b`` (see :func:`keyframe_compare`)."""
        kscore, trustable = keyframe_compare(a, b)
        suspect = kscore >= 0.8 * self.threshold
        if not suspect and self.adaptive:
            base = float(np.median(self.recent)) if self.recent else 0.0
            suspect = (kscore >= 0.8 * ADAPTIVE_MIN_SCORE and kscore >= 2.0 * max(base, 0.002)
                       and signature_spread(a, b) >= 0.8 * ADAPTIVE_SPREAD)
            if not suspect:
                self.recent.append(kscore)
        return suspect, trustable, kscore


def encoder_cut_keyframes(key_times: Sequence[float], fps: float) -> set[int]:
    """Indices of the keyframes an encoder put off its regular schedule: its own scene-cut keyframes.

    A keyframe closer to the previous one than the usual GOP length (the 90th percentile of the gaps, less 1.5
    frames) was placed there by the encoder's scene-cut test (x264 ``--scenecut`` and most encoders), which
    compared every frame pair there. Empty when there are fewer than 3 keyframes or no regular GOP longer than 2.5
    frames (all-intra or irregular streams).

    Example::

        encoder_cut_keyframes([0.0, 1.0, 2.0, 2.4, 3.4, 4.4], fps=30.0)   # {3}
    """
    if len(key_times) <= 2 or not fps:
        return set()
    kt = np.array(key_times)
    gaps = np.diff(kt)
    regular = float(np.percentile(gaps, 90))
    if regular > 2.5 / fps:
        return {i + 1 for i, g in enumerate(gaps) if g < regular - 1.5 / fps}
    return set()
