"""Frame sampling and scene-cut detection that decodes as little as it can.

:func:`sample_frames` yields :class:`Frame` s (BGR ``uint8`` images in display orientation) at a steady rate
and at every hard scene cut; :func:`detect_scene_cuts` returns only the cuts.

How it decides what to decode (see ``.dev``/shared ``PERFORMANCE.md`` for the measurements behind it):

1. The packets are read once **without decoding** (< 2 s for 10 min of 720p) to learn every frame's
   presentation time and where the keyframes are.
2. **Short GOP** (keyframes at most ``max_keyframe_gap`` s apart, 2 s by default): only keyframes are decoded
   (≈ 3× faster than decoding everything). A rate tick with no keyframe near it, or a pair of consecutive
   keyframes that look different enough to hide a cut (compared after undoing a global pan found by phase
   correlation, so camera motion alone does not count), makes the group of pictures (GOP) between them decode in
   full (one GOP, from the packets already in memory, never a seek), so cuts are still placed on the exact frame.
   The price is that cuts are *found* by comparing keyframes: a cut and a cut back inside one GOP (A→B→A
   within ~1 s) is missed, and busy footage (zooms, crowds) whose keyframes all differ decodes most GOPs (never
   much slower than mode 3, only closer to it). ``auto`` also falls back to mode 3 when more than half the GOPs
   would need decoding just to serve the requested rate (e.g. ``fps=5`` on a 1 s GOP).
3. **Long GOP** (or ``mode="all"``): every frame is decoded in order with frame threading (2 threads) and only
   the frames that are kept are converted to BGR; cuts compare consecutive frames.

Encoders usually start a GOP at a hard cut (x264's ``scenecut``; checked in tests/test_frames.py). Such a keyframe
sits off the encoder's regular keyframe schedule, and the encoder compared every frame pair to put it there, so in
mode 2 a keyframe off the schedule that differs clearly from the previous keyframe is taken as the cut without
decoding the GOP before it (``trust_encoder_keyframes=True``; on the 10-min benchmark clip 77 of 83 cuts came this
way and sampling cost 1.04× a keyframe-only decode). Not trusted when either keyframe is nearly flat (a fade
from/to black looks like a cut there): those GOPs are decoded. Fixed-GOP files (keyframes never at cuts) always
get the decode-and-verify path; the tests cover both.

Cut signature: a 64×36 downscale of the luma plane plus 32×18 of each chroma plane, read straight from the YUV
planes (no RGB conversion; strided then area-averaged, ≈ 0.1 ms a 720p frame). The cut score is the mean absolute difference of consecutive
signatures (0..1, luma weighted 1/2, each chroma 1/4). A cut needs ``score >= cut_threshold`` **and** a score
``cut_ratio``× above the median of the recent frame-to-frame scores, so fast motion, pans and fades (many
moderate differences in a row) do not count as cuts while a single jump does.

Example::

    from vidqa.analyze.frames import sample_frames, detect_scene_cuts
    for fr in sample_frames("match.mp4", fps=1.0):
        print(fr.t, fr.frame_index, fr.reason, fr.image.shape)
    cuts = detect_scene_cuts("match.mp4")
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vidqa.errors import CorruptMediaError, NoVideoStreamError

if TYPE_CHECKING:
    from vidqa.records import Probe

__all__ = ["DEFAULT_CUT_THRESHOLD", "Frame", "SceneCut", "detect_scene_cuts", "sample_frames"]

DEFAULT_CUT_THRESHOLD = 0.06
"""Mean absolute signature difference (0..1) at or above which consecutive frames are a candidate cut."""

_SIG_W, _SIG_H = 64, 36
_HISTORY = 12  # recent frame-to-frame scores kept for the adaptive part of the cut test


@dataclass
class Frame:
    """One decoded frame.

    ``t`` is the presentation time in seconds from the container's start (``pts * time_base - start``), the same
    origin as the extracted audio, the browser proxy and the player's clock.
    ``frame_index`` is the frame's position in presentation order, exact when every packet has a pts (counted from
    the packet scan), otherwise estimated as ``round(t * average_fps)``; ``None`` when neither is known.
    ``image`` is BGR ``uint8`` (H, W, 3) in display orientation (the stream's rotation is applied).
    ``reason`` is ``"rate"`` (a sample at the requested rate), ``"keyframe"`` (a rate sample taken from the keyframe
    nearest the tick, in keyframe-only mode) or ``"cut"`` (first frame after a scene cut; ``cut_score`` is set).
    A frame that is both a cut and a rate sample is yielded once, as ``"cut"``.
    """

    t: float
    frame_index: int | None
    image: np.ndarray
    reason: Literal["rate", "cut", "keyframe"]
    cut_score: float | None = None


@dataclass
class SceneCut:
    """A hard cut: ``t`` / ``frame_index`` are those of the first frame of the new shot; ``score`` is 0..1."""

    t: float
    frame_index: int | None
    score: float


# ----------------------------------------------------------------------------------------------------------------
# helpers


def _rotation_of(frame: Any) -> int:
    """Clockwise degrees (0/90/180/270) to turn a decoded frame for display, from its display-matrix side data."""
    ccw = getattr(frame, "rotation", 0)  # PyAV >= 13: counter-clockwise degrees of the DISPLAYMATRIX
    if not ccw:
        return 0
    return round(-float(ccw) / 90.0) * 90 % 360


def _rotate(img: np.ndarray, cw: int) -> np.ndarray:
    if cw == 90:
        return np.ascontiguousarray(np.rot90(img, k=-1))
    if cw == 180:
        return np.ascontiguousarray(img[::-1, ::-1])
    if cw == 270:
        return np.ascontiguousarray(np.rot90(img, k=1))
    return img


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


def _signature(frame: Any) -> np.ndarray:
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


def _score(a: np.ndarray, b: np.ndarray) -> float:
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
    """:func:`_score` after undoing a global shift (pan/tilt) found by phase correlation of the luma signatures.

    Used to compare keyframes that lie up to ~2 s apart: a pan moves the picture a lot between them but the shifted
    pictures still match, while a cut leaves them different however they are aligned.
    """
    import cv2

    plain = _score(a, b)
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
    """:func:`_score` after fitting ``b ≈ gain * a + offset`` per plane: what is left of a fade is near zero."""
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


def _keyframe_compare(a: np.ndarray, b: np.ndarray) -> tuple[float, bool]:
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


def _spread(a: np.ndarray, b: np.ndarray) -> float:
    """Largest share, over the Y, U and V planes, of signature cells whose value moved by more than ~2 levels
    (a cut between two flat backgrounds may change one chroma plane only, but everywhere)."""
    moved = np.abs(a - b) > 0.008
    return float(max(moved[:_NY].mean(), moved[_NY:_NY + _NC].mean(), moved[_NY + _NC:].mean()))


class _CutJudge:
    """Consecutive-frame cut test.

    A **hard cut**: ``score >= threshold`` and ``score >= ratio ×`` the median of the recent frame-to-frame scores.
    An **adaptive (low-contrast) cut**, as PySceneDetect's adaptive detector does it, compares a score with its
    rolling neighbourhood instead of a fixed threshold: ``score >= ADAPTIVE_MIN_SCORE``, ``>= ADAPTIVE_RATIO ×`` the
    recent median, the change covers most of the picture (``ADAPTIVE_SPREAD``), and the *next* frame's score falls
    back under ``ADAPTIVE_AFTER ×`` the score (a fade or a pan changes frame after frame; a cut is one jump). Such a
    candidate is therefore decided one frame late (:meth:`confirm`).
    """

    def __init__(self, threshold: float, ratio: float, adaptive: bool = True):
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


@dataclass
class _Scan:
    pts: list[int]  # every packet pts, sorted (presentation order)
    key_pts: list[int]  # keyframe pts, sorted
    time_base: float
    start: int
    fps: float | None
    duration: float


def _open(path: str | Path) -> Any:
    import av

    try:
        container = av.open(str(path))
    except (av.error.FileNotFoundError, FileNotFoundError):
        raise
    except Exception as exc:  # InvalidDataError and friends
        raise CorruptMediaError(f"Cannot open {path!s} as media: {exc}. Re-download or re-encode the file.") from exc
    if not container.streams.video:
        container.close()
        raise NoVideoStreamError(f"{path!s} has no video stream, so there are no frames to sample.")
    return container


def _scan(path: str | Path) -> _Scan:
    """Read every packet header of the first video stream (no decoding)."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        pts: list[int] = []
        key_pts: list[int] = []
        for pkt in container.demux(stream):
            if pkt.pts is None:
                if pkt.dts is None:
                    continue  # flush packet
                p = pkt.dts
            else:
                p = pkt.pts
            pts.append(p)
            if pkt.is_keyframe:
                key_pts.append(p)
        pts.sort()
        key_pts.sort()
        # Times count from the container's start, like the 16 kHz audio (vidqa.media.audio), the browser proxy and the
        # player's currentTime: a video stream that starts after its audio keeps its offset.
        if container.start_time is not None:
            start = round(container.start_time / 1e6 / tb)
        elif stream.start_time is not None:
            start = stream.start_time
        elif pts:
            start = pts[0]
        else:
            start = 0
        fps = float(stream.average_rate) if stream.average_rate else None
        if pts:
            last = pts[-1] - start
            step = (pts[-1] - pts[0]) / (len(pts) - 1) if len(pts) > 1 else (1.0 / fps / tb if fps else 0.0)
            duration = (last + step) * tb
        else:
            duration = float(stream.duration * tb) if stream.duration else (container.duration or 0) / 1e6
        if fps is None and len(pts) > 1 and duration > 0:
            fps = len(pts) / duration
        return _Scan(pts, key_pts, tb, start, fps, duration)
    finally:
        container.close()


# ----------------------------------------------------------------------------------------------------------------
# the engine


class _Sampler:
    def __init__(
        self,
        path: str | Path,
        *,
        fps: float | None,
        scene_cuts: bool,
        cut_threshold: float,
        cut_ratio: float,
        rotation: int | None,
        mode: str,
        max_keyframe_gap: float,
        progress: bool,
        want_images: bool,
        trust_encoder_keyframes: bool = True,
        adaptive: bool = True,
    ):
        self.path = path
        self.fps = fps if fps and fps > 0 else None
        self.scene_cuts = scene_cuts
        self.threshold = cut_threshold
        self.judge = _CutJudge(cut_threshold, cut_ratio, adaptive)
        self.key_recent: deque[float] = deque(maxlen=8)
        self.rotation = rotation
        self.want_images = want_images
        self.progress = progress
        self.scan = _scan(path)
        s = self.scan
        self.half_frame = 0.5 / s.fps if s.fps else 0.0
        if mode == "auto":
            gaps = np.diff([(k - s.start) * s.time_base for k in s.key_pts] + [s.duration])
            short = len(s.key_pts) > 0 and gaps.size > 0 and float(gaps.max()) <= max_keyframe_gap
            mode = "all"
            if short:
                # keyframe-only pays off unless most GOPs must be decoded anyway to serve the rate
                _, fills = self._plan()
                key_t = [(k - s.start) * s.time_base for k in s.key_pts]
                gops_with_fills = {bisect.bisect_right(key_t, tk) for tk in fills}
                if len(gops_with_fills) <= 0.5 * len(key_t):
                    mode = "keyframes"
        if mode not in ("keyframes", "all"):
            raise ValueError(f"mode must be 'auto', 'keyframes' or 'all', not {mode!r}")
        self.mode = mode
        self.stats = {"keyframes_decoded": 0, "gops_decoded": 0, "gops_for_cuts": 0, "gops_for_rate": 0,
                      "cuts_at_encoder_keyframes": 0}
        # Keyframes the encoder put off its regular schedule (closer to the previous one than the usual GOP length)
        # are scene-cut keyframes (x264 --scenecut and most encoders): the encoder compared every frame pair
        # there, so a cut seen between such a keyframe and the previous one is placed on it without decoding.
        self.encoder_cut_keys: set[int] = set()
        if trust_encoder_keyframes and len(s.key_pts) > 2 and s.fps:
            kt = np.array([(k - s.start) * s.time_base for k in s.key_pts])
            gaps = np.diff(kt)
            regular = float(np.percentile(gaps, 90))
            if regular > 2.5 / s.fps:
                self.encoder_cut_keys = {i + 1 for i, g in enumerate(gaps) if g < regular - 1.5 / s.fps}

    # -- common ---------------------------------------------------------------------------------------------------
    def t_of(self, pts: int | None, frame: Any = None) -> float:
        if pts is None:
            if frame is None or frame.time is None:
                return 0.0
            return float(frame.time) - self.scan.start * self.scan.time_base
        return (pts - self.scan.start) * self.scan.time_base

    def cut_check(self, frame: Any, prev_sig: np.ndarray | None) -> tuple[np.ndarray | None, float | None, Any]:
        """``frame``'s signature, its score against ``prev_sig`` and the judge's verdict (True/"candidate"/False)."""
        if not self.scene_cuts:
            return prev_sig, None, False
        sig = _signature(frame)
        if prev_sig is None:
            return sig, None, False
        score = _score(prev_sig, sig)
        verdict = self.judge(score, _spread(prev_sig, sig) if self.judge.adaptive else 1.0)
        return sig, score, verdict

    def index_of(self, pts: int | None, t: float) -> int | None:
        s = self.scan
        if pts is not None and s.pts:
            i = bisect.bisect_left(s.pts, pts)
            if i < len(s.pts) and s.pts[i] == pts:
                return i
        return round(t * s.fps) if s.fps else None

    def image(self, frame: Any) -> np.ndarray:
        if self.rotation is None:
            self.rotation = _rotation_of(frame)
        img = frame.to_ndarray(format="bgr24")
        return _rotate(img, self.rotation)

    def make(self, frame: Any, reason: str, score: float | None = None) -> Frame:
        t = self.t_of(frame.pts, frame)
        img = self.image(frame) if self.want_images else np.empty((0, 0, 3), np.uint8)
        return Frame(t=t, frame_index=self.index_of(frame.pts, t), image=img, reason=reason, cut_score=score)  # type: ignore[arg-type]

    def ticks(self) -> list[float]:
        if not self.fps:
            return []
        n = max(1, math.ceil(self.scan.duration * self.fps - 1e-6))
        return [k / self.fps for k in range(n)]

    def _plan(self) -> tuple[dict[int, float], list[float]]:
        """Keyframe-only plan: which keyframe serves which tick, and the ticks ("fills") needing a GOP decoded.

        A tick is served by the keyframe nearest to it when that lies within half a tick interval and serves no
        earlier tick; otherwise the frame at the tick is decoded from its GOP.
        """
        s = self.scan
        key_t = [self.t_of(k) for k in s.key_pts]
        tol = 0.5 / self.fps if self.fps else 0.0
        key_for_tick: dict[int, float] = {}  # keyframe index -> the tick it serves
        fills: list[float] = []
        for tk in self.ticks():
            j = bisect.bisect_left(key_t, tk)
            best = None
            for c in (j - 1, j):
                usable = 0 <= c < len(key_t) and c not in key_for_tick and abs(key_t[c] - tk) <= tol + 1e-9
                if usable and (best is None or abs(key_t[c] - tk) < abs(key_t[best] - tk)):
                    best = c
            if best is None:
                fills.append(tk)
            else:
                key_for_tick[best] = tk
        return key_for_tick, fills

    def _decoder(self, container: Any, threads: int = 2) -> Any:
        stream = container.streams.video[0]
        cc = stream.codec_context
        cc.thread_type = "FRAME"
        cc.thread_count = threads
        return stream

    def run(self) -> Iterator[Frame]:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=round(self.scan.duration, 1),
            unit="s",
            desc=f"frames ({self.mode})",
            disable=not self.progress,
            leave=False,
        )
        last = 0.0
        try:
            for fr in (self._run_all() if self.mode == "all" else self._run_keyframes()):
                if fr.t > last:
                    bar.update(round(fr.t - last, 3))
                    last = fr.t
                yield fr
        finally:
            bar.close()

    # -- mode "all" -----------------------------------------------------------------------------------------------
    def _run_all(self) -> Iterator[Frame]:
        ticks = self.ticks()
        ti = 0
        prev_sig = None
        held: tuple[Any, float, bool] | None = None  # an adaptive cut candidate waiting for the next frame's score
        container = _open(self.path)
        try:
            stream = self._decoder(container)
            for frame in container.decode(stream):
                t = self.t_of(frame.pts, frame)
                prev_sig, score, verdict = self.cut_check(frame, prev_sig)
                take_tick = ti < len(ticks) and t >= ticks[ti] - self.half_frame
                if take_tick:
                    while ti < len(ticks) and t >= ticks[ti] - self.half_frame:
                        ti += 1
                if held is not None:
                    hf, hscore, htick = held
                    held = None
                    if score is not None and self.judge.confirm(hscore, score):
                        yield self.make(hf, "cut", hscore)
                    elif htick:
                        yield self.make(hf, "rate")
                if verdict is True:
                    yield self.make(frame, "cut", score)
                elif verdict == "candidate":
                    held = (frame, float(score), take_tick)  # type: ignore[arg-type]
                elif take_tick:
                    yield self.make(frame, "rate")
            if held is not None and held[2]:  # the last frame: no next score, so no cut
                yield self.make(held[0], "rate")
        except Exception as exc:
            import av

            if isinstance(exc, av.error.FFmpegError):
                raise CorruptMediaError(f"Decoding {self.path!s} failed: {exc}.") from exc
            raise
        finally:
            container.close()

    # -- mode "keyframes" -----------------------------------------------------------------------------------------
    def _run_keyframes(self) -> Iterator[Frame]:
        s = self.scan
        key_for_tick, fills = self._plan()
        key_index = {p: i for i, p in enumerate(s.key_pts)}

        container = _open(self.path)
        aux_container = _open(self.path)
        try:
            stream = self._decoder(container)
            stream.codec_context.skip_frame = "NONKEY"
            aux_stream = self._decoder(aux_container)
            aux = aux_stream.codec_context

            gops: dict[int, list[Any]] = {}  # keyframe pts -> its packets in decode order
            cur: list[Any] | None = None
            prev: tuple[int, None, np.ndarray | None] | None = None  # (key index, -, signature)

            def handle(frame: Any) -> Iterator[Frame]:
                nonlocal prev
                ki = key_index.get(frame.pts)
                if ki is None:  # not a keyframe we know (should not happen); treat by time
                    ki = max(0, bisect.bisect_right(s.key_pts, frame.pts or 0) - 1)
                self.stats["keyframes_decoded"] += 1
                sig = _signature(frame) if self.scene_cuts else None
                cut_score = None
                if prev is not None:
                    pki, _, psig = prev
                    yield from self._finish_gop(aux, gops.pop(s.key_pts[pki], []), pki, psig, frame, sig, fills)
                    cut_score = self._pending_cut
                    self._pending_cut = None
                # emit the keyframe itself
                if cut_score is not None:
                    yield self.make(frame, "cut", cut_score)
                elif ki in key_for_tick:
                    yield self.make(frame, "keyframe")
                prev = (ki, None, sig)

            self._pending_cut: float | None = None
            for pkt in container.demux(stream):
                if pkt.dts is None and pkt.pts is None:
                    continue
                if pkt.is_keyframe:
                    p = pkt.pts if pkt.pts is not None else pkt.dts
                    cur = []
                    gops[p] = cur
                    cur.append(pkt)
                    for frame in stream.codec_context.decode(pkt):
                        yield from handle(frame)
                elif cur is not None:
                    cur.append(pkt)
            for frame in stream.codec_context.decode(None):
                yield from handle(frame)
            if prev is not None:  # the last GOP: nothing after it to compare with, so decode it if cuts/fills matter
                pki, _, psig = prev
                yield from self._finish_gop(aux, gops.pop(s.key_pts[pki], []), pki, psig, None, None, fills)
        except Exception as exc:
            import av

            if isinstance(exc, av.error.FFmpegError):
                raise CorruptMediaError(f"Decoding {self.path!s} failed: {exc}.") from exc
            raise
        finally:
            container.close()
            aux_container.close()

    def _finish_gop(
        self,
        aux: Any,
        packets: list[Any],
        ki: int,
        ksig: np.ndarray | None,
        next_frame: Any,
        next_sig: np.ndarray | None,
        fills: list[float],
    ) -> Iterator[Frame]:
        """Decide whether GOP ``ki`` (between keyframe ki and the next decoded keyframe) must be decoded in full.

        Yields the GOP's interior frames that are kept (fills, cuts) and leaves in ``self._pending_cut`` the score
        of a cut that lands exactly on the next keyframe.
        """
        s = self.scan
        t0 = self.t_of(s.key_pts[ki])
        t1 = self.t_of(next_frame.pts, next_frame) if next_frame is not None else s.duration + 1.0
        gop_fills = [tk for tk in fills if t0 < tk < t1 - self.half_frame]
        suspect = trustable = False
        kscore = 0.0
        if self.scene_cuts:
            if next_frame is None:
                suspect = len(packets) > 1
            elif ksig is not None and next_sig is not None:
                # keyframes lie apart in time: a cut between them shows as at least most of a cut's jump
                # (after undoing a global pan, so that camera motion alone does not force a GOP decode)
                kscore, trustable = _keyframe_compare(ksig, next_sig)
                suspect = kscore >= 0.8 * self.threshold
                if not suspect and self.judge.adaptive:
                    # a low-contrast cut: a keyframe pair that differs much more than the recent pairs did
                    base = float(np.median(self.key_recent)) if self.key_recent else 0.0
                    # (keyframes lie ~1 s apart: motion raises their baseline, so a global change (spread) at
                    # twice the baseline is enough to decode the GOP; the per-frame judge then decides)
                    suspect = (kscore >= 0.8 * ADAPTIVE_MIN_SCORE and kscore >= 2.0 * max(base, 0.002)
                               and _spread(ksig, next_sig) >= 0.8 * ADAPTIVE_SPREAD)
                    if not suspect:
                        self.key_recent.append(kscore)
        if not suspect and not gop_fills:
            # keyframes are far apart: what we saw between them is not a frame-to-frame baseline
            return
        if suspect and trustable and not gop_fills and (ki + 1) in self.encoder_cut_keys and kscore >= self.threshold:
            self.stats["cuts_at_encoder_keyframes"] += 1
            self._pending_cut = kscore
            return
        if len(packets) <= 1 and next_frame is not None and self.scene_cuts:
            # consecutive keyframes (all-intra or 1-frame GOP): they are consecutive frames
            sc = _score(ksig, next_sig)  # type: ignore[arg-type]
            if self.judge(sc, _spread(ksig, next_sig)) is True:  # type: ignore[arg-type]
                self._pending_cut = sc
            return
        # decode the GOP in full from the packets we kept (no seek)
        self.stats["gops_decoded"] += 1
        self.stats["gops_for_cuts" if suspect else "gops_for_rate"] += 1
        def gop_frames() -> Iterator[Any]:  # decoder output order is presentation order; nothing is held
            for pkt in packets:
                yield from aux.decode(pkt)
            yield from aux.decode(None)
            aux.flush_buffers()

        # interior frames, in presentation order, between the two keyframes
        interior = (f for f in gop_frames() if f.pts is not None and t0 < self.t_of(f.pts) < t1 - 1e-9)
        fi = 0
        self.judge.reset()
        prev_sig = ksig
        prev_score: float | None = None
        held: tuple[Any, float, bool, float | None] | None = None  # adaptive candidate: frame, score, tick, score before
        for f in interior:
            t = self.t_of(f.pts, f)
            prev_sig, score, verdict = self.cut_check(f, prev_sig)
            take = False
            while fi < len(gop_fills) and t >= gop_fills[fi] - self.half_frame:
                take = True
                fi += 1
            if held is not None:
                hf, hscore, htake, _ = held
                held = None
                if score is not None and self.judge.confirm(hscore, score):
                    yield self.make(hf, "cut", hscore)
                elif htake:
                    yield self.make(hf, "rate")
            if verdict is True:
                yield self.make(f, "cut", score)
            elif verdict == "candidate":
                held = (f, float(score), take, prev_score)  # type: ignore[arg-type]
            elif take:
                yield self.make(f, "rate")
            prev_score = score
        if self.scene_cuts and next_sig is not None and prev_sig is not None:
            sc = _score(prev_sig, next_sig)
            if held is not None:
                hf, hscore, htake, _ = held
                held = None
                if self.judge.confirm(hscore, sc):
                    yield self.make(hf, "cut", hscore)
                elif htake:
                    yield self.make(hf, "rate")
            verdict = self.judge(sc, _spread(prev_sig, next_sig))
            # at the next keyframe there is no next score yet: an adaptive candidate must be a lone jump after
            # quiet frames instead (a fade changes every frame before it too)
            if verdict is True or (verdict == "candidate" and prev_score is not None
                                   and prev_score <= ADAPTIVE_AFTER * sc):
                self._pending_cut = sc
        elif held is not None and held[2]:
            yield self.make(held[0], "rate")


# ----------------------------------------------------------------------------------------------------------------
# public API


def sample_frames(
    path: str | Path,
    *,
    fps: float | None = 1.0,
    scene_cuts: bool = True,
    cut_threshold: float = DEFAULT_CUT_THRESHOLD,
    cut_ratio: float = 3.0,
    rotation: int | None = None,
    probe: Probe | None = None,
    mode: Literal["auto", "keyframes", "all"] = "auto",
    max_keyframe_gap: float = 2.0,
    trust_encoder_keyframes: bool = True,
    adaptive_cuts: bool = True,
    progress: bool = True,
) -> Iterator[Frame]:
    """Yield frames at ``fps`` per second plus the first frame of every scene cut, in time order.

    Args:
        path: a video file PyAV can open.
        fps: samples per second of media (``None`` or 0: cut frames only). Rate samples are the first frame at or
            after each tick ``k / fps`` (within half a frame); in keyframe-only mode the keyframe nearest each tick
            within half a tick interval (``reason="keyframe"``), and a decoded frame where no keyframe is that close.
        scene_cuts: also detect hard cuts and yield each new shot's first frame (``reason="cut"``).
        cut_threshold: minimum signature difference (0..1) for a cut; see the module docstring.
        cut_ratio: a cut must also be this many times the median of the recent frame-to-frame differences.
        rotation: clockwise degrees to turn frames for display; default: ``probe.rotation`` when a probe is given,
            else the stream's display matrix.
        probe: a :class:`vidqa.records.Probe` of the file (only its rotation is used).
        mode: ``"auto"`` (keyframe-only decoding when keyframes are at most ``max_keyframe_gap`` s apart, else
            decode every frame), ``"keyframes"`` or ``"all"``.
        max_keyframe_gap: the largest keyframe spacing (s) for which ``"auto"`` picks keyframe-only decoding.
        trust_encoder_keyframes: in keyframe-only mode, a keyframe the encoder placed off its regular GOP schedule
            (a scene-cut keyframe) that differs clearly from the previous keyframe is taken as the cut without
            decoding the GOP before it (its ``cut_score`` then compares the two keyframes). ``False``: always verify
            by decoding (slower, and also catches a second cut earlier in that GOP).
        progress: show a tqdm bar over media seconds.

    ``frame_index`` is exact (position among all packets in presentation order) for normal files and estimated
    as ``round(t * average_fps)`` when a frame has no pts. Non-square pixels and mirrored display matrices are
    not corrected (rotation only).

    Example::

        frames = list(sample_frames("clip.mp4", fps=0.5))
        [(f.t, f.reason) for f in frames][:3]   # [(0.0, 'keyframe'), (2.0, 'keyframe'), (3.47, 'cut')]
    """
    if rotation is None and probe is not None:
        rotation = int(probe.rotation) % 360
    if rotation is not None and rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90 degrees, not {rotation}")
    sampler = _Sampler(
        path,
        fps=fps,
        scene_cuts=scene_cuts,
        cut_threshold=cut_threshold,
        cut_ratio=cut_ratio,
        rotation=None if rotation is None else rotation % 360,
        mode=mode,
        max_keyframe_gap=max_keyframe_gap,
        progress=progress,
        want_images=True,
        trust_encoder_keyframes=trust_encoder_keyframes,
        adaptive=adaptive_cuts,
    )
    return sampler.run()


def detect_scene_cuts(
    path: str | Path,
    *,
    cut_threshold: float = DEFAULT_CUT_THRESHOLD,
    cut_ratio: float = 3.0,
    mode: Literal["auto", "keyframes", "all"] = "auto",
    max_keyframe_gap: float = 2.0,
    trust_encoder_keyframes: bool = True,
    adaptive_cuts: bool = True,
    progress: bool = True,
) -> list[SceneCut]:
    """Hard cuts of a video (time and index of each new shot's first frame), without converting any image.

    Same engine and parameters as :func:`sample_frames` with ``fps=None``.

    Example::

        [(c.t, c.frame_index) for c in detect_scene_cuts("clip.mp4")]   # [(3.4667, 104), (7.0, 210)]
    """
    sampler = _Sampler(
        path,
        fps=None,
        scene_cuts=True,
        cut_threshold=cut_threshold,
        cut_ratio=cut_ratio,
        rotation=0,
        mode=mode,
        max_keyframe_gap=max_keyframe_gap,
        progress=progress,
        want_images=False,
        trust_encoder_keyframes=trust_encoder_keyframes,
        adaptive=adaptive_cuts,
    )
    return [SceneCut(f.t, f.frame_index, float(f.cut_score or 0.0)) for f in sampler.run() if f.reason == "cut"]
