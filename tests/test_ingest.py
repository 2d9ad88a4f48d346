"""ingest(): local files, URLs and Drive links into a real store, with dedupe, audio, proxies and clean failures."""

from __future__ import annotations

import warnings

import av
import numpy as np
import pytest
from fake_servers import FakeDrive, FlakyHost
from ingest_env import clean_env, store  # noqa: F401  (fixtures)
from media_factory import make_audio, make_video, truncate

import vidqa.media.download as dl
from vidqa.media.audio import decode_audio, read_wav
from vidqa.errors import (
    CorruptMediaError,
    DownloadError,
    DownloadTooLargeError,
    DriveQuotaError,
    EmptyMediaError,
    NotMediaError,
    NoVideoStreamError,
    SourceNotAllowedError,
)
from vidqa.pipeline.ingest import file_sha256, ingest, ingest_many
from vidqa.media.probe import probe


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return {
        "h264": make_video(d / "match.mp4", seconds=2, size=(320, 240)),
        "hevc": make_video(d / "hevc.mkv", seconds=2, size=(320, 240), codec="hevc"),
        "rot_mpeg4": make_video(d / "phone.mp4", seconds=1, size=(320, 240), codec="mpeg4", rotation=90),
        "silent": make_video(d / "silent.mp4", seconds=1, audio=False),
        "short_audio": make_video(d / "short_audio.mp4", seconds=2, audio_seconds=1.0),
        "audio_only": make_audio(d / "tone.m4a", seconds=1),
    }


def assert_nothing_left(store, allow_part=False):
    assert store.videos() == []
    assert store.query("SELECT * FROM media_files") == []
    assert store.query("SELECT * FROM video_sources") == []
    media = list(store.media_dir.iterdir()) if store.media_dir.exists() else []
    assert media == []
    downloads = store.cache_dir / "downloads"
    left = sorted(p.name for p in downloads.iterdir()) if downloads.exists() else []
    if allow_part:
        assert all(n.endswith((".part", ".part.json")) for n in left)
    else:
        assert left == []


def test_local_h264(store, clips):
    src = clips["h264"]
    before = src.read_bytes()
    v = ingest(src, store, progress=False)
    sha = file_sha256(src)
    assert (v.id, v.sha256, v.title) == (sha[:12], sha, "match.mp4")
    assert v.path == f"media/{sha}.mp4" and v.play_path == v.path  # browsers play it: no proxy
    assert (v.width, v.height, v.video_codec, v.audio_codec, v.has_audio) == (320, 240, "h264", "aac", True)
    assert src.read_bytes() == before  # copied, never moved
    assert store.abspath(v.path).read_bytes() == before
    samples, sr = read_wav(store.abspath(v.audio_path))
    assert sr == 16_000 and abs(len(samples) / sr - v.duration) < 0.05
    assert np.abs(samples).max() > 0.2  # the 0.3-amplitude tone, not silence
    assert v.audio_track == 0 and v.audio_coverage > 0.97 and v.warnings == []
    roles = sorted(m.role for m in store.media_files(v.id))
    assert roles == ["audio", "original"]
    assert store.sources(v.id)[0]["kind"] == "local"


def test_title_and_idempotent_source(store, clips):
    v = ingest(clips["h264"], store, title="Cup final", progress=False)
    assert v.title == "Cup final"
    again = ingest(str(clips["h264"]), store, progress=False)
    assert again.id == v.id and len(store.videos()) == 1 and len(store.sources(v.id)) == 1


def test_proxy_for_hevc_is_playable(store, clips):
    v = ingest(clips["hevc"], store, progress=False)
    assert v.video_codec == "hevc"
    assert v.play_path == f"media/{v.sha256}.proxy.mp4" and v.path.endswith(".mkv")
    proxy = store.abspath(v.play_path)
    p = probe(proxy)
    assert (p.video_codec, p.container, p.audio_codec) == ("h264", "mp4", "aac")
    assert abs(p.duration - v.duration) < 0.1 and (p.width, p.height) == (320, 240)
    with av.open(str(proxy)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        n = sum(1 for _ in c.decode(video=0))
    assert n >= 48  # 2 s at 25 fps
    audio = decode_audio(proxy)
    assert abs(audio.duration - v.duration) < 0.1 and audio.start_time < 0.05  # audio kept, in sync
    assert "proxy" in [m.role for m in store.media_files(v.id)]


def test_rotated_proxy_is_upright(store, clips):
    v = ingest(clips["rot_mpeg4"], store, progress=False)
    assert (v.rotation, v.width, v.height) == (90, 240, 320)
    proxy = store.abspath(v.play_path)
    p = probe(proxy)
    assert (p.rotation, p.width, p.height) == (0, 240, 320)
    with av.open(str(proxy)) as c:
        img = next(c.decode(video=0)).to_ndarray(format="rgb24")
    # frame 0's black 16x16 marker sits top-left in the stored frame, so top-right once turned clockwise
    assert img[:8, -8:].mean() < 40 and img[:8, :8].mean() > 60


def test_no_audio_is_flagged(store, clips):
    with pytest.warns(UserWarning, match="no audio track"):
        v = ingest(clips["silent"], store, progress=False)
    assert not v.has_audio and v.audio_path is None and v.audio_tracks == 0
    assert any("no audio track" in w for w in v.warnings)


def test_partial_audio_coverage_warns(store, clips):
    with pytest.warns(UserWarning, match="Audio covers only"):
        v = ingest(clips["short_audio"], store, progress=False)
    assert 0.45 < v.audio_coverage < 0.6
    samples, sr = read_wav(store.abspath(v.audio_path))
    assert abs(len(samples) / sr - 1.0) < 0.05


def test_no_audio_extraction_or_proxy_when_disabled(store, clips):
    v = ingest(clips["hevc"], store, progress=False, make_proxy=False, extract_audio=False)
    assert v.audio_path is None and v.play_path == v.path
    assert sorted(p.name for p in store.media_dir.iterdir()) == [f"{v.sha256}.mkv"]


def test_url_and_dedupe(store, clips):
    data = clips["h264"].read_bytes()
    with FlakyHost() as host:
        url = host.add("match.mp4", data)
        with pytest.raises(SourceNotAllowedError):
            ingest(url, store, progress=False)  # loopback refused by default
        assert_nothing_left(store)
        v = ingest(url, store, allow_private=True, progress=False)
        assert store.sources(v.id)[0]["kind"] == "url"
        assert list((store.cache_dir / "downloads").iterdir()) == []  # moved into media/
        # the same bytes from a second URL and from disk: still one video
        v2 = ingest(host.url("/drop/match.mp4"), store, allow_private=True, progress=False)
        v3 = ingest(clips["h264"], store, progress=False)
        assert v2.id == v3.id == v.id and len(store.videos()) == 1
        assert len(store.sources(v.id)) == 3
        assert list((store.cache_dir / "downloads").iterdir()) == []
        # a source ingested before is not downloaded again
        n = len(host.requests)
        assert ingest(url, store, allow_private=True, progress=False).id == v.id
        assert len(host.requests) == n
    assert sorted(p.name for p in store.media_dir.iterdir()) == [f"{v.sha256}.16k.wav", f"{v.sha256}.mp4"]


def test_drive(store, clips, monkeypatch):
    data = clips["hevc"].read_bytes()
    with FakeDrive() as drive:
        link = drive.add("1driveVideoId_xyz", data, "Derby (full).mkv", large=True)
        monkeypatch.setenv("VIDQA_DRIVE_BASE", drive.download_url)
        v = ingest(link, store, allow_private=True, progress=False)
    assert v.title == "Derby (full).mkv"
    assert v.path == f"media/{v.sha256}.mkv" and v.play_path.endswith(".proxy.mp4")
    # recorded as the canonical share link (``?usp=sharing`` and friends are one source)
    assert store.sources(v.id)[0] | {"added_at": None} == {
        "source": "https://drive.google.com/file/d/1driveVideoId_xyz/view", "video_id": v.id, "kind": "drive",
        "added_at": None}


def test_ingest_many(store, clips):
    with pytest.warns(UserWarning, match="no audio track"):
        outcomes = ingest_many([clips["h264"], clips["audio_only"], clips["silent"]], store, progress=False)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, NoVideoStreamError)
    assert outcomes[0].video.id != outcomes[2].video.id
    with pytest.raises(NoVideoStreamError):
        ingest_many([clips["audio_only"]], store, keep_going=False, progress=False)


# --- failures leave nothing behind ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, error",
    [("zero", EmptyMediaError), ("truncated", CorruptMediaError), ("audio_only", NoVideoStreamError),
     ("html", CorruptMediaError)],
)
def test_bad_local_files(store, clips, tmp_path, kind, error):
    if kind == "zero":
        f = tmp_path / "zero.mp4"
        f.write_bytes(b"")
    elif kind == "truncated":
        f = truncate(clips["h264"], tmp_path / "cut.mp4", keep=0.5)
    elif kind == "html":
        f = tmp_path / "page.mp4"
        f.write_text("<html><head><title>Login</title></head></html>")
    else:
        f = clips["audio_only"]
    with pytest.raises(error):
        ingest(f, store, progress=False)
    assert_nothing_left(store)
    assert f.exists()  # the user's file is never touched


@pytest.mark.parametrize("path, error", [("/html/match.mp4", NotMediaError), ("/liar/match.mp4", DownloadError),
                                         ("/huge", DownloadTooLargeError)])
def test_bad_downloads(store, clips, path, error):
    with FlakyHost(huge_size=16 * 1024 * 1024) as host:
        host.add("match.mp4", clips["h264"].read_bytes())
        with pytest.raises(error):
            ingest(host.url(path), store, allow_private=True, max_bytes=4 * 1024 * 1024, progress=False)
    assert_nothing_left(store)


def test_downloaded_non_video_is_deleted(store, clips):
    with FlakyHost() as host:
        url = host.add("tone.m4a", clips["audio_only"].read_bytes())
        with pytest.raises(NoVideoStreamError):
            ingest(url, store, allow_private=True, progress=False)
    assert_nothing_left(store)


def test_dropped_download_keeps_only_resumable_part(store, clips):
    data = clips["h264"].read_bytes()
    with FlakyHost(drops=100) as host:
        host.add("match.mp4", data)
        url = host.url("/drop/match.mp4")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(dl, "RETRIES", 1)
            with pytest.raises(DownloadError, match="failed after 2 attempt.*resume"):
                ingest(url, store, allow_private=True, progress=False)
        assert_nothing_left(store, allow_part=True)
        host.drops = 0
        v = ingest(url, store, allow_private=True, progress=False)
        assert store.abspath(v.path).read_bytes() == data
    assert list((store.cache_dir / "downloads").iterdir()) == []


def test_drive_quota_leaves_nothing(store, clips, monkeypatch):
    with FakeDrive() as drive:
        link = drive.add("1quotaVideo_xyz", clips["h264"].read_bytes(), quota=True)
        monkeypatch.setenv("VIDQA_DRIVE_BASE", drive.download_url)
        with pytest.raises(DriveQuotaError, match="Too many users"):
            ingest(link, store, allow_private=True, progress=False)
    assert_nothing_left(store)


def test_no_warnings_for_a_clean_clip(store, clips):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ingest(clips["h264"], store, progress=False)


def test_a_server_chosen_file_name_never_picks_the_stored_type(store, clips):
    with FlakyHost() as host:
        url = host.add("clip", clips["h264"].read_bytes(), disposition='attachment; filename="page.html"')
        video = ingest(url, store, allow_private=True, progress=False)
    assert video.path.endswith(".mp4")  # from the probed container, not from the server's name
