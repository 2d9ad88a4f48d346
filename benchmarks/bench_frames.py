"""Benchmark of the visual path: decoding, frame sampling, scene cuts and object detection.

Prints media-seconds per wall-second (×RT) for:

1. decode every frame (PyAV, frame threading, 2 threads): the decode limit;
2. keyframe-only decode (``skip_frame="NONKEY"``);
3. :func:`vidqa.analyze.frames.sample_frames` at 1 fps with scene cuts (auto mode, and forced ``mode="all"``);
4. SSD-MobileNet-v2 on the sampled frames (:func:`vidqa.analyze.detect.detect_objects`), sampling included;
5. the naive reference: an OpenCV ``VideoCapture.read()`` loop running the detector on every frame. It is far too
   slow to run for 10 min, so it runs on the first ``--naive-seconds`` (20 s) and the figure is extrapolated
   (×RT is a rate, so it carries over; the 10-min time is estimated from it).

The clip (10 min, 1280×720, 30 fps, H.264 veryfast CRF 23 with B-frames, keyframe every 1 s plus x264's
scene-cut keyframes, a hard cut every 4–11 s between panning textures, moving shapes and a pasted photo) is
generated once and cached in ``benchmarks/.cache/``.

Run: ``python benchmarks/bench_frames.py [--minutes 10] [--gop 30] [--naive-seconds 20]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"


def _bounce(v: int, n: int) -> int:
    """Triangle wave 0..n-1..0 (a position that moves back and forth smoothly)."""
    v %= 2 * (n - 1)
    return v if v < n else 2 * (n - 1) - v


def make_clip(path: Path, minutes: float, gop: int, w: int = 1280, h: int = 720, fps: int = 30) -> Path:
    """Generate the benchmark clip (cached: returns at once when it exists)."""
    import av
    import cv2

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    textures = []
    for k in range(6):
        t = rng.integers(0, 256, (h // 4 + 60, w // 4 + 200, 3), dtype=np.uint8)
        t = cv2.GaussianBlur(t, (0, 0), 1 + k % 3).astype(np.float32)
        t = (t - t.mean()) / (t.std() + 1e-6)  # full-contrast texture ...
        tint = rng.uniform(40, 215, 3)  # ... around a colour of its own per scene
        t = np.clip(tint + 45 * t, 0, 255).astype(np.uint8)
        t = cv2.resize(t, (w + 800, h + 240), interpolation=cv2.INTER_LINEAR)
        textures.append(t)
    n = int(minutes * 60 * fps)
    cuts = []
    f = 0
    while f < n:
        f += int(rng.integers(4 * fps, 11 * fps))
        cuts.append(f)
    tmp = path.with_suffix(".part.mp4")
    out = av.open(str(tmp), "w")
    s = out.add_stream("libx264", rate=fps)
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    s.options = {"preset": "veryfast", "crf": "23", "x264-params": f"keyint={gop}"}
    s.codec_context.thread_count = 2
    scene = 0
    ci = 0
    for i in range(n):
        if ci < len(cuts) and i >= cuts[ci]:
            ci += 1
            scene += 1
        tex = textures[scene % len(textures)]
        dx = _bounce(i * (2 + scene % 5), 800)  # pans bounce at the edges: no jump that would look like a cut
        dy = _bounce(i // 3, 240)
        img = tex[dy : dy + h, dx : dx + w].copy()
        x = _bounce(i * 7, w - 200)
        cv2.rectangle(img, (x, 300), (x + 160, 420), (30 + 40 * (scene % 5), 200, 250 - 30 * (scene % 7)), -1)
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts = i
        for p in s.encode(frame):
            out.mux(p)
        if i % (fps * 60) == 0:
            print(f"  generating clip: {i / fps / 60:.0f}/{minutes:g} min", file=sys.stderr, flush=True)
    for p in s.encode():
        out.mux(p)
    out.close()
    os.replace(tmp, path)
    return path


def timed(fn, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def decode_all(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.codec_context.thread_type = "FRAME"
        st.codec_context.thread_count = 2
        return sum(1 for _ in c.decode(st))


def decode_keyframes(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.codec_context.thread_type = "FRAME"
        st.codec_context.thread_count = 2
        st.codec_context.skip_frame = "NONKEY"
        return sum(1 for _ in c.decode(st))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--gop", type=int, default=30, help="x264 keyint (frames)")
    ap.add_argument("--naive-seconds", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    import cv2

    from vidqa.analyze.detect import detect_objects, get_detector
    from vidqa.analyze.frames import _scan, sample_frames

    clip = make_clip(CACHE / f"clip_v3_{args.minutes:g}min_720p30_gop{args.gop}.mp4", args.minutes, args.gop)
    scan = _scan(clip)
    dur = scan.duration
    gaps = np.diff([(k - scan.start) * scan.time_base for k in scan.key_pts])
    print(f"clip: {clip.name}  {dur:.0f} s, {len(scan.pts)} frames, {len(scan.key_pts)} keyframes "
          f"(median gap {np.median(gaps):.2f} s, max {gaps.max():.2f} s)")
    rows: list[tuple[str, float, str]] = []

    def row(name: str, secs: float, media: float = dur, note: str = "") -> None:
        rows.append((name, media / secs, note))
        print(f"{name:<48} {secs:8.1f} s  {media / secs:8.1f} ×RT  {note}", flush=True)

    t0 = time.perf_counter()
    _scan(clip)
    row("packet scan (no decode)", time.perf_counter() - t0)
    row("decode every frame (2 threads)", timed(lambda: decode_all(clip), args.repeat))
    row("keyframe-only decode (NONKEY)", timed(lambda: decode_keyframes(clip), args.repeat))

    frames: list = []

    def sample(mode: str) -> None:
        frames.clear()
        frames.extend(sample_frames(clip, fps=1.0, scene_cuts=True, mode=mode, progress=False))

    row("sample_frames 1 fps + cuts (auto)", timed(lambda: sample("auto"), args.repeat),
        note=f"{len(frames)} frames")
    auto_cuts = [f.frame_index for f in frames if f.reason == "cut"]
    n_cut = len(auto_cuts)
    row("sample_frames 1 fps + cuts (mode=all)", timed(lambda: sample("all"), args.repeat),
        note=f"{len(frames)} frames, {sum(f.reason == 'cut' for f in frames)} cuts")
    all_cuts = [f.frame_index for f in frames if f.reason == "cut"]
    agree = sum(any(abs(a - b) <= 1 for b in all_cuts) for a in auto_cuts)
    print(f"  cuts: auto {n_cut}, decode-all {len(all_cuts)}, auto cuts within 1 frame of a decode-all cut: {agree}")
    from vidqa.analyze.frames import _Sampler

    probe = _Sampler(clip, fps=1.0, scene_cuts=True, cut_threshold=0.06, cut_ratio=3.0, rotation=None, mode="auto",
                     max_keyframe_gap=2.0, progress=False, want_images=False)
    for _ in probe.run():
        pass
    print(f"  auto mode={probe.mode}: {probe.stats}")

    cv2.setNumThreads(2)
    det = get_detector()
    det.detect(np.zeros((720, 1280, 3), np.uint8))  # warm up
    t0 = time.perf_counter()
    events = detect_objects(sample_frames(clip, fps=1.0, scene_cuts=True, progress=False), det, progress=False)
    path_secs = time.perf_counter() - t0
    row("sample 1 fps + cuts + SSD (detection path)", path_secs, note=f"{len(events)} events")

    # naive: cv2 loop, detector on every frame, first N seconds only
    cap = cv2.VideoCapture(str(clip))
    n_naive = int(args.naive_seconds * (scan.fps or 30))
    t0 = time.perf_counter()
    done = 0
    while done < n_naive:
        ok, img = cap.read()
        if not ok:
            break
        det.detect(img)
        done += 1
    naive_secs = time.perf_counter() - t0
    cap.release()
    naive_media = done / (scan.fps or 30)
    row(f"naive cv2 loop, SSD every frame (first {naive_media:.0f} s)", naive_secs, media=naive_media,
        note=f"extrapolated to the clip: {naive_secs * dur / naive_media / 60:.0f} min")

    rt = {name: v for name, v, _ in rows}
    kf = rt["keyframe-only decode (NONKEY)"]
    sm = rt["sample_frames 1 fps + cuts (auto)"]
    speedup = rt["sample 1 fps + cuts + SSD (detection path)"] / next(v for n, v, _ in rows if n.startswith("naive"))
    print()
    print(f"sampling vs keyframe-only decode: {kf / sm:.2f}× the time (target ≤ 1.5×)")
    print(f"detection path vs naive loop: {speedup:.0f}× faster (target ≥ 20×)")


if __name__ == "__main__":
    main()
