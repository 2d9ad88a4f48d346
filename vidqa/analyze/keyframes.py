"""Keyframe-only frame sampling: decode the keyframes, and a group of pictures (GOP) only where it is needed.

The engine behind ``mode="keyframes"`` of :func:`vidqa.analyze.frames.sample_frames` and
:func:`~vidqa.analyze.frames.detect_scene_cuts` (the module docstring there explains when it is used and what it
costs). :meth:`KeyframeSampling._plan` gives each rate tick the keyframe nearest it (within half a tick interval)
or marks it as a "fill" that needs its GOP decoded; :meth:`KeyframeSampling._run_keyframes` decodes only keyframes
(``skip_frame="NONKEY"``) while keeping each GOP's packets in memory, and :meth:`KeyframeSampling._finish_gop`
decides per GOP, from the two keyframes around it (:class:`vidqa.analyze.cuts.KeyframePairJudge`), whether to
decode it in full from those packets (a second decoder, never a seek), to take an encoder scene-cut keyframe as
the cut, or to skip it.

:class:`KeyframeSampling` is a mixin: the sampler that inherits it (``vidqa.analyze.frames._Sampler``) provides the
attributes and methods declared in its body (the packet scan, the cut judges, ``t_of``, ``make``, ...).

Example::

    from vidqa.analyze.frames import sample_frames
    frames = list(sample_frames("clip.mp4", fps=1.0, mode="keyframes"))   # runs KeyframeSampling._run_keyframes
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from vidqa.analyze.cuts import (
    ADAPTIVE_AFTER,
    CutJudge,
    KeyframePairJudge,
    frame_signature,
    signature_score,
    signature_spread,
)
from vidqa.analyze.packets import PacketScan, decoding, open_video

__all__ = ["KeyframeSampling"]

FrameT = TypeVar("FrameT")


class KeyframeSampling(Generic[FrameT]):
    """Keyframe-only decoding for a frame sampler that yields ``FrameT`` s (see the module docstring)."""

    # provided by the host sampler
    path: str | Path
    scan: PacketScan
    fps: float | None
    half_frame: float
    scene_cuts: bool
    threshold: float
    judge: CutJudge
    key_judge: KeyframePairJudge
    encoder_cut_keys: set[int]
    stats: dict[str, int]

    if TYPE_CHECKING:

        def t_of(self, pts: int | None, frame: Any = None) -> float: ...

        def ticks(self) -> list[float]: ...

        def make(self, frame: Any, reason: str, score: float | None = None) -> FrameT: ...

        def cut_check(self, frame: Any, prev_sig: np.ndarray | None) -> tuple[np.ndarray | None, float | None, Any]: ...

        def _decoder(self, container: Any, threads: int = 2) -> Any: ...

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

    def _run_keyframes(self) -> Iterator[FrameT]:
        s = self.scan
        key_for_tick, fills = self._plan()
        key_index = {p: i for i, p in enumerate(s.key_pts)}

        container = open_video(self.path)
        aux_container = open_video(self.path)
        with decoding(self.path, container, aux_container):
            stream = self._decoder(container)
            stream.codec_context.skip_frame = "NONKEY"
            aux_stream = self._decoder(aux_container)
            aux = aux_stream.codec_context

            gops: dict[int, list[Any]] = {}  # keyframe pts -> its packets in decode order
            cur: list[Any] | None = None
            prev: tuple[int, None, np.ndarray | None] | None = None  # (key index, -, signature)

            def handle(frame: Any) -> Iterator[FrameT]:
                nonlocal prev
                ki = key_index.get(frame.pts)
                if ki is None:  # not a keyframe we know (should not happen); treat by time
                    ki = max(0, bisect.bisect_right(s.key_pts, frame.pts or 0) - 1)
                self.stats["keyframes_decoded"] += 1
                sig = frame_signature(frame) if self.scene_cuts else None
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

    def _finish_gop(
        self,
        aux: Any,
        packets: list[Any],
        ki: int,
        ksig: np.ndarray | None,
        next_frame: Any,
        next_sig: np.ndarray | None,
        fills: list[float],
    ) -> Iterator[FrameT]:
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
                # keyframes lie apart in time: a big or (adaptive) unusual pair difference may hide a cut
                suspect, trustable, kscore = self.key_judge(ksig, next_sig)
        if not suspect and not gop_fills:
            # keyframes are far apart: what we saw between them is not a frame-to-frame baseline
            return
        if suspect and trustable and not gop_fills and (ki + 1) in self.encoder_cut_keys and kscore >= self.threshold:
            self.stats["cuts_at_encoder_keyframes"] += 1
            self._pending_cut = kscore
            return
        if len(packets) <= 1 and next_frame is not None and self.scene_cuts:
            # consecutive keyframes (all-intra or 1-frame GOP): they are consecutive frames
            sc = signature_score(ksig, next_sig)  # type: ignore[arg-type]
            if self.judge(sc, signature_spread(ksig, next_sig)) is True:  # type: ignore[arg-type]
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
        held: tuple[Any, float, bool, float | None] | None = None  # adaptive candidate: frame, score, tick, prior score
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
            sc = signature_score(prev_sig, next_sig)
            if held is not None:
                hf, hscore, htake, _ = held
                held = None
                if self.judge.confirm(hscore, sc):
                    yield self.make(hf, "cut", hscore)
                elif htake:
                    yield self.make(hf, "rate")
            verdict = self.judge(sc, signature_spread(prev_sig, next_sig))
            # at the next keyframe there is no next score yet: an adaptive candidate must be a lone jump after
            # quiet frames instead (a fade changes every frame before it too)
            if verdict is True or (verdict == "candidate" and prev_score is not None
                                   and prev_score <= ADAPTIVE_AFTER * sc):
                self._pending_cut = sc
        elif held is not None and held[2]:
            yield self.make(held[0], "rate")
