"""probe(): durations, frame rates, VFR, rotation, codecs, and a specific error for each kind of bad file."""

from __future__ import annotations

import av
import pytest
from media_factory import has_encoder, make_audio, make_video, truncate

from vidqa.errors import CorruptMediaError, EmptyMediaError, MediaError, NoVideoStreamError
from vidqa.media.probe import probe


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return tmp_path_factory.mktemp("probe")


def test_h264_aac_mp4(media):
    p = probe(make_video(media / "a.mp4", seconds=2, size=(320, 240), fps=25))
    assert abs(p.duration - 2.0) < 0.05
    assert p.fps == pytest.approx(25, abs=0.1)
    assert not p.is_vfr
    assert (p.width, p.height, p.rotation) == (320, 240, 0)
    assert (p.video_codec, p.audio_codec, p.audio_tracks, p.container) == ("h264", "aac", 1, "mp4")
    assert p.n_frames == 50 and p.has_audio


def test_ntsc_rate(media):
    p = probe(make_video(media / "ntsc.mp4", seconds=2, fps=30000 / 1001, audio=False))
    assert p.fps == pytest.approx(29.97, abs=0.01)
    assert not p.is_vfr


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_gives_display_size(media, rotation):
    p = probe(make_video(media / f"rot{rotation}.mp4", seconds=1, size=(320, 240), rotation=rotation, audio=False))
    assert p.rotation == rotation
    expected = (240, 320) if rotation in (90, 270) else (320, 240)
    assert (p.width, p.height) == expected


def test_variable_frame_rate(media):
    p = probe(make_video(media / "vfr.mp4", seconds=3, fps=30, vfr=True, audio=False))
    assert p.is_vfr
    # durations cycle 1,1,3 frame periods: 3 frames per 5/30 s = 18 fps on average
    assert p.fps == pytest.approx(18, rel=0.05)
    assert abs(p.duration - 3.0) < 0.15


@pytest.mark.parametrize(
    "name, codec, container, audio_codec",
    [("hevc.mkv", "hevc", "matroska", "aac"), ("vp9.webm", "vp9", "webm", "opus"),
     ("vp8.webm", "vp8", "webm", "opus"), ("mpeg4.avi", "mpeg4", "avi", "mp3")],
)
def test_other_codecs(media, name, codec, container, audio_codec):
    if not has_encoder(codec):
        pytest.skip(f"this PyAV cannot encode {codec}")
    p = probe(make_video(media / name, seconds=1.5, codec=codec))
    assert (p.video_codec, p.container, p.audio_codec) == (codec, container, audio_codec)
    assert abs(p.duration - 1.5) < 0.1
    assert p.fps == pytest.approx(25, abs=0.5)


def test_no_audio_is_not_an_error(media):
    p = probe(make_video(media / "silent.mp4", seconds=1, audio=False))
    assert p.audio_tracks == 0 and p.audio_codec is None and not p.has_audio


def test_two_audio_tracks(media):
    p = probe(make_video(media / "two.mkv", seconds=1, audio_tracks=2))
    assert p.audio_tracks == 2


def test_zero_byte_file(media):
    f = media / "zero.mp4"
    f.write_bytes(b"")
    with pytest.raises(EmptyMediaError, match="0 bytes"):
        probe(f)


def test_zero_duration(media):
    # a Matroska header with a video track and not a single frame (a recorder stopped at once)
    f = media / "header_only.mkv"
    with av.open(str(f), "w", format="matroska") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()
    with pytest.raises(EmptyMediaError, match="zero duration"):
        probe(f)


def test_truncated_mp4_moov_missing(media):
    src = make_video(media / "full.mp4", seconds=2)  # moov at the end (no faststart)
    with pytest.raises(CorruptMediaError, match="moov atom not found"):
        probe(truncate(src, media / "cut.mp4", keep=0.6))


def test_truncated_faststart_mp4_is_refused(media):
    # with the index at the front, a truncated file opens and claims its full duration: the sample tables tell
    src = make_video(media / "fast.mp4", seconds=2, faststart=True)
    assert probe(src).duration == pytest.approx(2.0, abs=0.05)
    with pytest.raises(CorruptMediaError, match=r"truncated: .*\(90%\); only the first 1\.\d s of its 2\.0 s"):
        probe(truncate(src, media / "fast_cut.mp4", keep=0.9))


@pytest.mark.parametrize("name, kw", [("cut.mkv", {}), ("cut.webm", {"codec": "vp9"}), ("cut.avi", {"codec": "mpeg4"})])
def test_truncated_matroska_and_avi_are_refused(media, name, kw):
    src = make_video(media / f"full_{name}", seconds=2, **kw)
    assert probe(src).duration == pytest.approx(2.0, abs=0.1)
    with pytest.raises(CorruptMediaError, match="truncated"):
        probe(truncate(src, media / name, keep=0.5))


@pytest.mark.parametrize(
    "content", [b"<!DOCTYPE html><html><body>Sign in</body></html>", b"\x00\x01\x02garbage" * 100,
                b"just text, not a video\n" * 50],
)
def test_not_media(media, content):
    f = media / "fake.mp4"
    f.write_bytes(content)
    with pytest.raises(CorruptMediaError, match="not"):
        probe(f)


def test_html_as_mp4_says_html_page(media):
    f = media / "login.mp4"
    f.write_text("<!DOCTYPE html><html><head><title>Sign in - Google Accounts</title></head><body>" + "x" * 9000)
    with pytest.raises(CorruptMediaError, match='not media: it is an HTML page titled "Sign in - Google Accounts"'):
        probe(f)


@pytest.mark.parametrize("name", ["tone.wav", "tone.m4a", "tone.mp3"])
def test_audio_only(media, name):
    with pytest.raises(NoVideoStreamError, match="no video stream"):
        probe(make_audio(media / name, seconds=1))


def test_missing_file(media):
    with pytest.raises(MediaError, match="No such file"):
        probe(media / "nope.mp4")
