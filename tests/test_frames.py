"""Frame sampling and scene cuts on synthetic H.264 clips made here with PyAV.

Every frame carries its own index as a 10-bit barcode along the bottom edge, so a sample's reported time and index
can be checked against what the picture actually shows. Scenes: a panning blurred-noise texture, a flat green field
with a moving white box, and a horizontal gradient; hard cuts at frames 51, 97 and 137 (30 fps).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from media_factory import write_frames

from vidqa.errors import CorruptMediaError, NoVideoStreamError
from vidqa.analyze.frames import Frame, SceneCut, detect_scene_cuts, sample_frames
from vidqa.records import Probe

FPS = 30
W, H = 320, 240
N = 180  # 6 s
CUTS = (51, 97, 137)
SHORT_GOP = "keyint=15:min-keyint=15:scenecut=0"  # keyframes every 0.5 s, never moved to a cut
LONG_GOP = "keyint=600:min-keyint=600:scenecut=0"  # one keyframe
X264_DEFAULT = "keyint=30"  # 1 s GOP, x264's own scene-cut keyframes

def _texture() -> np.ndarray:
    """Coarse full-contrast colour blobs (structure at the scale a cut detector looks at), 480 x 1200."""
    t = cv2.GaussianBlur(np.random.default_rng(1).random((60, 150, 3), dtype=np.float32), (0, 0), 1.2)
    t = (t - t.mean()) / t.std()
    return cv2.resize(np.clip(128 + 50 * t, 0, 255).astype(np.uint8), (1200, 480), interpolation=cv2.INTER_CUBIC)


_TEX = _texture()


def barcode(img: np.ndarray, i: int) -> None:
    h = img.shape[0]
    for b in range(10):
        img[h - 12 : h, b * 16 : (b + 1) * 16] = 255 if (i >> b) & 1 else 0


def read_barcode(img: np.ndarray) -> int:
    h = img.shape[0]
    return sum(1 << b for b in range(10) if img[h - 10 : h - 2, b * 16 + 4 : (b + 1) * 16 - 4].mean() > 128)


def scene_frame(i: int, cuts=CUTS) -> np.ndarray:
    sc = sum(i >= c for c in cuts)
    if sc % 3 == 0:
        x = (i * 2) % 600
        img = _TEX[40 : 40 + H, x : x + W].copy()
    elif sc % 3 == 1:
        img = np.full((H, W, 3), (40, 160, 60), np.uint8)
        cx = 40 + (i * 3) % 200
        cv2.rectangle(img, (cx, 80), (cx + 40, 120), (230, 230, 230), -1)
    else:
        g = np.linspace(0, 255, W, dtype=np.uint8)[None, :, None]
        img = np.repeat(np.repeat(g, H, 0), 3, 2).copy()
        img[..., 0] = 200
    barcode(img, i)
    return img


def pan_fade_frame(i: int) -> np.ndarray:
    """No cut at all: 3 s slow pan, 2 s fade to black, 2 s fade up into the gradient scene."""
    if i < 90:
        img = _TEX[40 : 40 + H, i * 3 : i * 3 + W].astype(np.float32)
    elif i < 150:
        img = _TEX[40 : 40 + H, 270 : 270 + W].astype(np.float32) * (1 - (i - 90) / 60)
    else:
        g = np.linspace(0, 255, W, dtype=np.float32)[None, :, None]
        img = np.repeat(np.repeat(g, H, 0), 3, 2) * ((i - 150) / 60)
    return img.clip(0, 255).astype(np.uint8)


def encode(path: Path, make=scene_frame, n=N, x264=SHORT_GOP, rotation=None, pts_ms=None) -> Path:
    return write_frames(path, (make(i) for i in range(n)), fps=FPS, rotation=rotation, pts_ms=pts_ms,
                        options={"x264-params": x264, "preset": "veryfast"})


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("frames")
    return {
        "short": encode(d / "short.mp4", x264=SHORT_GOP),
        "long": encode(d / "long.mp4", x264=LONG_GOP),
        "x264": encode(d / "x264.mp4", x264=X264_DEFAULT),
    }


def keyframe_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        return sorted(float(p.pts * st.time_base) for p in c.demux(st) if p.is_keyframe and p.pts is not None)


# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("clip,mode", [("short", "auto"), ("short", "all"), ("long", "auto"), ("x264", "auto")])
def test_sample_times_and_indices_match_the_picture(clips, clip, mode):
    frames = list(sample_frames(clips[clip], fps=1.0, mode=mode, progress=False))
    assert frames and all(isinstance(f, Frame) for f in frames)
    for f in frames:
        assert f.image.shape == (H, W, 3) and f.image.dtype == np.uint8
        shown = read_barcode(f.image)
        assert f.frame_index == shown, (f, shown)
        assert abs(f.t - shown / FPS) <= 1 / FPS + 1e-6
    ts = [f.t for f in frames]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)


@pytest.mark.parametrize("clip,mode", [("short", "auto"), ("long", "auto"), ("x264", "auto"), ("short", "keyframes"),
                                       ("x264", "keyframes")])
@pytest.mark.parametrize("fps", [1.0, 2.0, 5.0])
def test_rate_sampling_count_and_spacing(clips, clip, mode, fps):
    """Forced keyframe mode at 2-5 fps must decode GOPs for the ticks no keyframe serves."""
    frames = list(sample_frames(clips[clip], fps=fps, scene_cuts=False, mode=mode, progress=False))
    expected = int(N / FPS * fps)
    assert len(frames) == expected
    assert {f.reason for f in frames} <= {"rate", "keyframe"}
    # each tick k/fps is served by a frame within half a tick interval (keyframe mode) or one frame (decode-all)
    for k, f in enumerate(frames):
        tol = 0.5 / fps if f.reason == "keyframe" else 1 / FPS
        assert abs(f.t - k / fps) <= tol + 1e-6, (k, f.t, f.reason)


def test_auto_mode_uses_keyframes_on_short_gop_and_decodes_all_on_long(clips):
    short = list(sample_frames(clips["short"], fps=1.0, scene_cuts=False, progress=False))
    assert {f.reason for f in short} == {"keyframe"}
    kts = keyframe_times(clips["short"])
    assert all(min(abs(f.t - k) for k in kts) < 1e-6 for f in short)
    long = list(sample_frames(clips["long"], fps=1.0, scene_cuts=False, progress=False))
    assert {f.reason for f in long} == {"rate"}
    assert [f.frame_index for f in long] == [0, 30, 60, 90, 120, 150]


@pytest.mark.parametrize("clip", ["short", "long", "x264"])
@pytest.mark.parametrize("mode", ["auto", "all"])
def test_cuts_found_on_the_right_frame(clips, clip, mode):
    cuts = detect_scene_cuts(clips[clip], mode=mode, progress=False)
    assert all(isinstance(c, SceneCut) for c in cuts)
    assert len(cuts) == len(CUTS), cuts
    for c, want in zip(cuts, CUTS):
        assert abs(c.frame_index - want) <= 1
        assert abs(c.t - want / FPS) <= 0.1
        assert c.score >= 0.06


def test_encoder_keyframes_trusted_or_verified_give_the_same_cuts(clips):
    trusted = detect_scene_cuts(clips["x264"], progress=False)
    verified = detect_scene_cuts(clips["x264"], trust_encoder_keyframes=False, progress=False)
    assert [c.frame_index for c in trusted] == [c.frame_index for c in verified] == list(CUTS)


def test_short_gop_cuts_fall_between_keyframes(clips):
    """The fixed-GOP clip's cuts are not on keyframes, so finding them exactly means GOP refinement worked."""
    kts = keyframe_times(clips["short"])
    assert all(min(abs(k - c / FPS) for k in kts) > 1.5 / FPS for c in CUTS)


def test_encoder_puts_keyframes_at_cuts(clips):
    """x264's default scene-cut detection starts a GOP at each of our hard cuts (why keyframes help)."""
    kts = keyframe_times(clips["x264"])
    assert all(min(abs(k - c / FPS) for k in kts) < 0.5 / FPS for c in CUTS)


def test_cut_frames_in_sample_stream_show_the_new_shot(clips):
    frames = list(sample_frames(clips["short"], fps=1.0, progress=False))
    cut_frames = [f for f in frames if f.reason == "cut"]
    assert [read_barcode(f.image) for f in cut_frames] == list(CUTS)
    assert all(f.cut_score and f.cut_score > 0 for f in cut_frames)
    assert all(f.cut_score is None for f in frames if f.reason != "cut")


@pytest.mark.parametrize("x264", [SHORT_GOP, LONG_GOP, X264_DEFAULT])
def test_no_false_cuts_on_slow_pan_and_fades(tmp_path, x264):
    clip = encode(tmp_path / "panfade.mp4", make=pan_fade_frame, n=210, x264=x264)
    assert detect_scene_cuts(clip, progress=False) == []
    assert detect_scene_cuts(clip, mode="all", progress=False) == []
    frames = list(sample_frames(clip, fps=1.0, progress=False))
    assert len(frames) == 7 and not any(f.reason == "cut" for f in frames)


LOW_CUTS = (40, 95, 150)


def low_contrast_frame(i: int) -> np.ndarray:
    """Plain backgrounds that differ by only ~0.02-0.04 (issue #8), a small square that appears mid-shot (not a
    cut), a quick fade between the last two shots (not a cut either) and motion of a small ball throughout."""
    bgs = [(120, 130, 140), (128, 138, 128), (124, 124, 150), (60, 60, 60)]
    sc = sum(i >= c for c in LOW_CUTS)
    img = np.full((H, W, 3), bgs[sc], np.uint8)
    if sc == 1 and i >= 70:
        cv2.rectangle(img, (200, 60), (240, 100), (40, 40, 200), -1)  # an object appears: not a cut
    if sc >= 2 and i >= 170:
        img = (img.astype(np.float32) * (1 - min(1.0, (i - 170) / 20) * 0.8)).astype(np.uint8)  # a fade
    cv2.circle(img, (30 + (i * 2) % 260, 180), 10, (0, 200, 250), -1)
    barcode(img, i)
    return img


@pytest.mark.parametrize("x264", [SHORT_GOP, LONG_GOP, X264_DEFAULT])
def test_low_contrast_cuts_found_adaptively_without_false_cuts(tmp_path, x264):
    clip = encode(tmp_path / "low.mp4", make=low_contrast_frame, n=200, x264=x264)
    for mode in ("auto", "all"):
        cuts = detect_scene_cuts(clip, mode=mode, progress=False)
        assert [c.frame_index for c in cuts] == list(LOW_CUTS), (mode, [(c.frame_index, round(c.score, 3)) for c in cuts])
        assert all(0.01 < c.score < 0.06 for c in cuts[:2])  # under the fixed threshold: found adaptively
    assert [c.frame_index for c in detect_scene_cuts(clip, adaptive_cuts=False, progress=False)] == [150]


def _marker_frame(i: int) -> np.ndarray:
    img = np.full((H, W, 3), 90, np.uint8)
    img[:40, :40] = (0, 0, 255)  # red square in the stored frame's top-left corner
    return img


def _red_corner(img: np.ndarray) -> str:
    h, w = img.shape[:2]
    corners = {
        "top-left": img[:20, :20],
        "top-right": img[:20, w - 20 :],
        "bottom-left": img[h - 20 :, :20],
        "bottom-right": img[h - 20 :, w - 20 :],
    }
    red = [k for k, v in corners.items() if v[..., 2].mean() > 200 and v[..., 1].mean() < 60]
    assert len(red) == 1, red
    return red[0]


@pytest.mark.parametrize("mode", ["auto", "all"])
def test_display_rotation_is_applied(tmp_path, mode):
    # display matrix: turn 90° counter-clockwise (= 270° clockwise) for display
    clip = encode(tmp_path / "rot.mp4", make=_marker_frame, n=45, rotation=90)
    frames = list(sample_frames(clip, fps=1.0, mode=mode, progress=False))
    assert len(frames) == 2
    for f in frames:
        assert f.image.shape == (W, H, 3)  # portrait
        assert _red_corner(f.image) == "bottom-left"  # top-left turned a quarter counter-clockwise


def test_rotation_from_probe_or_argument_overrides_the_stream(tmp_path):
    clip = encode(tmp_path / "plain.mp4", make=_marker_frame, n=15)
    f = next(sample_frames(clip, progress=False))
    assert f.image.shape == (H, W, 3) and _red_corner(f.image) == "top-left"
    probe = Probe(duration=0.5, fps=30.0, is_vfr=False, width=H, height=W, rotation=90, video_codec="h264",
                  audio_codec=None, audio_tracks=0, container="mov,mp4")
    f = next(sample_frames(clip, probe=probe, progress=False))
    assert f.image.shape == (W, H, 3) and _red_corner(f.image) == "top-right"  # a quarter clockwise
    f = next(sample_frames(clip, rotation=180, progress=False))
    assert f.image.shape == (H, W, 3) and _red_corner(f.image) == "bottom-right"


def test_variable_frame_rate_times_are_presentation_times(tmp_path):
    # 2 s at 30 fps, 2 s at 10 fps, 2 s at 30 fps; pts in milliseconds
    pts = [round(i * 1000 / 30) for i in range(60)]
    pts += [2000 + i * 100 for i in range(20)]
    pts += [4000 + round(i * 1000 / 30) for i in range(60)]
    clip = encode(tmp_path / "vfr.mp4", n=len(pts), pts_ms=pts, x264=LONG_GOP,
                  make=lambda i: scene_frame(i, cuts=(70,)))
    frames = list(sample_frames(clip, fps=2.0, scene_cuts=True, progress=False))
    samples = [f for f in frames if f.reason in ("rate", "cut")]  # the cut lands on the 3.0 s tick: yielded once
    assert len(samples) == len(frames) == 12
    for f in frames:
        i = read_barcode(f.image)
        assert f.frame_index == i
        assert f.t == pytest.approx(pts[i] / 1000, abs=1e-3)
    for k, f in enumerate(samples):
        assert 0 <= f.t - k / 2 < 0.1 + 1e-6  # at or just after each tick (10 fps part: within 0.1 s)
    cuts = [f for f in frames if f.reason == "cut"]
    assert [c.frame_index for c in cuts] == [70] and cuts[0].t == pytest.approx(3.0, abs=1e-3)


def test_bad_inputs_raise_vidqa_errors(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(CorruptMediaError):
        list(sample_frames(junk, progress=False))
    wav = tmp_path / "tone.wav"
    with av.open(str(wav), "w") as out:
        s = out.add_stream("pcm_s16le", rate=16000)
        fr = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.int16), format="s16", layout="mono")
        fr.sample_rate = 16000
        for p in s.encode(fr):
            out.mux(p)
        for p in s.encode():
            out.mux(p)
    with pytest.raises(NoVideoStreamError):
        detect_scene_cuts(wav, progress=False)


def test_times_count_from_the_container_start_like_the_audio(tmp_path):
    """A video stream starting 1 s after its audio keeps that offset (the audio, proxy and player count from 0)."""

    import av

    from vidqa.analyze.frames import sample_frames

    path = tmp_path / "late-video.mp4"
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        vs.options = {"g": "25", "bf": "0"}
        aus = out.add_stream("aac", rate=16000, layout="mono")
        for i in range(50):  # container time 1.0 .. 3.0 s; the frame at 2.0 s is white
            img = np.full((120, 160, 3), 255 if i == 25 else 0, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = 25 + i, Fraction(1, 25)
            for p in vs.encode(frame):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        for k in range(0, 3 * 16000, 1024):  # audio from 0 s
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = 16000, k, Fraction(1, 16000)
            for p in aus.encode(af):
                out.mux(p)
        for p in aus.encode():
            out.mux(p)
    frames = list(sample_frames(path, fps=None, scene_cuts=True, progress=False))
    white = [f for f in frames if f.image.mean() > 200]
    assert white, [(f.t, f.reason) for f in frames]
    assert abs(white[0].t - 2.0) <= 0.04  # container time, not 1.0 (the video stream's own clock)
    assert white[0].frame_index == 25  # the 26th frame of the video stream
