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

Whether two frames are a cut (signatures, scores, the hard and adaptive cut tests) is decided by
:mod:`vidqa.analyze.cuts`; this module decides which frames to decode and compare. ``DEFAULT_CUT_THRESHOLD`` and
``SceneCut`` live there and are re-exported here. The packet scan and rotation helpers are in
:mod:`vidqa.analyze.packets`, the keyframe-only engine (mode 2) in :mod:`vidqa.analyze.keyframes`; this module
keeps the decode-all engine (mode 3) and the public API.

Example::

    from vidqa.analyze.frames import sample_frames, detect_scene_cuts
    for fr in sample_frames("match.mp4", fps=1.0):
        print(fr.t, fr.frame_index, fr.reason, fr.image.shape)
    cuts = detect_scene_cuts("match.mp4")
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vidqa.analyze.cuts import (
    DEFAULT_CUT_THRESHOLD,
    CutJudge,
    KeyframePairJudge,
    SceneCut,
    encoder_cut_keyframes,
    frame_signature,
    signature_score,
    signature_spread,
)
from vidqa.analyze.keyframes import KeyframeSampling
from vidqa.analyze.packets import PacketScan, decoding, display_rotation, open_video, rotate_image, scan_packets

if TYPE_CHECKING:
    from vidqa.records import Probe

__all__ = ["DEFAULT_CUT_THRESHOLD", "Frame", "SceneCut", "detect_scene_cuts", "sample_frames"]

# the old private names (benchmarks/bench_frames.py imports _scan and _Sampler from here)
_Scan = PacketScan
_scan = scan_packets
_open = open_video
_rotation_of = display_rotation
_rotate = rotate_image


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


# ----------------------------------------------------------------------------------------------------------------
# the engine


class _Sampler(KeyframeSampling[Frame]):
    """The frame sampler: plans, decodes and yields :class:`Frame` s (mode "all" here, "keyframes" in
    :class:`~vidqa.analyze.keyframes.KeyframeSampling`)."""

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
        self.judge = CutJudge(cut_threshold, cut_ratio, adaptive)
        self.key_judge = KeyframePairJudge(cut_threshold, adaptive)
        self.rotation = rotation
        self.want_images = want_images
        self.progress = progress
        self.scan = scan_packets(path)
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
        # Keyframes the encoder put off its regular schedule are its scene-cut keyframes: a cut seen between such a
        # keyframe and the previous one is placed on it without decoding.
        self.encoder_cut_keys: set[int] = set()
        if trust_encoder_keyframes and s.fps:
            self.encoder_cut_keys = encoder_cut_keyframes([(k - s.start) * s.time_base for k in s.key_pts], s.fps)

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
        sig = frame_signature(frame)
        if prev_sig is None:
            return sig, None, False
        score = signature_score(prev_sig, sig)
        verdict = self.judge(score, signature_spread(prev_sig, sig) if self.judge.adaptive else 1.0)
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
            self.rotation = display_rotation(frame)
        img = frame.to_ndarray(format="bgr24")
        return rotate_image(img, self.rotation)

    def make(self, frame: Any, reason: str, score: float | None = None) -> Frame:
        t = self.t_of(frame.pts, frame)
        img = self.image(frame) if self.want_images else np.empty((0, 0, 3), np.uint8)
        return Frame(t=t, frame_index=self.index_of(frame.pts, t), image=img, reason=reason, cut_score=score)  # type: ignore[arg-type]

    def ticks(self) -> list[float]:
        if not self.fps:
            return []
        n = max(1, math.ceil(self.scan.duration * self.fps - 1e-6))
        return [k / self.fps for k in range(n)]

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
        container = open_video(self.path)
        with decoding(self.path, container):
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
