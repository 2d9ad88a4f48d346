"""HTTP downloads against a real, misbehaving server on 127.0.0.1."""

from __future__ import annotations

import pytest
from fake_servers import FlakyHost
from media_factory import make_video

import vidqa.media.download as dl
from vidqa.media.download import download, filename_from_disposition, sniff_media
from vidqa.errors import DownloadError, DownloadTooLargeError, NotMediaError, SourceNotAllowedError


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(dl, "RETRY_BACKOFF_S", 0.01)
    monkeypatch.delenv("VIDQA_ALLOW_PRIVATE_URLS", raising=False)


@pytest.fixture
def flaky_host():
    with FlakyHost() as host:
        yield host


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    path = make_video(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=3, size=(320, 240))
    return path.read_bytes()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_plain_download(flaky_host, clip_bytes, tmp_path):
    url = flaky_host.add("clip.mp4", clip_bytes)
    r = download(url, tmp_path, allow_private=True, progress=False)
    assert r.path.read_bytes() == clip_bytes
    assert (r.size, r.filename, r.content_type, r.resumed_from) == (len(clip_bytes), "clip.mp4", "video/mp4", 0)
    assert r.final_url == url
    assert leftovers(tmp_path) == ["clip.mp4"]  # no .part / .json / .lock left


def test_default_refuses_loopback(flaky_host, clip_bytes, tmp_path):
    url = flaky_host.add("clip.mp4", clip_bytes)
    with pytest.raises(SourceNotAllowedError, match="loopback"):
        download(url, tmp_path, progress=False)
    assert flaky_host.requests == []  # refused before connecting
    assert leftovers(tmp_path) == []


def test_content_disposition_names(flaky_host, clip_bytes, tmp_path):
    disposition = "attachment; filename=\"fallback.mp4\"; filename*=UTF-8''%C3%A9t%C3%A9%20%E2%9A%BD.mp4"
    url = flaky_host.add("x.bin", clip_bytes, disposition=disposition)
    r = download(url, tmp_path, allow_private=True, progress=False)
    assert r.filename == "été ⚽.mp4"
    assert r.path.name == "été ⚽.mp4"
    # a second download of the same name does not overwrite the first
    r2 = download(url + "?again=1", tmp_path, allow_private=True, progress=False)
    assert r2.path.name == "été ⚽ (1).mp4"


@pytest.mark.parametrize(
    "header, expected",
    [
        ('attachment; filename="match.mp4"', "match.mp4"),
        ("attachment; filename=plain.webm", "plain.webm"),
        ("attachment; filename*=UTF-8''na%C3%AFve%20clip.mkv", "naïve clip.mkv"),
        ("attachment; filename*=iso-8859-1'en'%E9t%E9.mp4", "été.mp4"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="C:\\\\Users\\\\x\\\\evil.mp4"', "evil.mp4"),
        ('attachment; filename="a\\"b.mp4"', "a_b.mp4"),
        ("inline", None),
        (None, None),
    ],
)
def test_filename_from_disposition(header, expected):
    assert filename_from_disposition(header) == expected


def test_sniff_media_magic_bytes(tmp_path):
    mkv = make_video(tmp_path / "a.mkv", seconds=0.5, audio=False).read_bytes()[:64]
    webm = make_video(tmp_path / "a.webm", seconds=0.5, codec="vp9", audio=False).read_bytes()[:64]
    avi = make_video(tmp_path / "a.avi", seconds=0.5, codec="mjpeg", audio=False).read_bytes()[:64]
    ts = make_video(tmp_path / "a.ts", seconds=0.5, audio=False).read_bytes()[:400]
    assert sniff_media(mkv) == "mkv"
    assert sniff_media(webm) == "webm"
    assert sniff_media(avi) == "avi"
    assert sniff_media(ts) == "ts"
    assert sniff_media(b"OggS\x00\x02") == "ogg"
    assert sniff_media(b"fLaC\x00\x00") == "flac"
    assert sniff_media(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "wav"
    assert sniff_media(b"ID3\x04\x00\x00") == "mp3"
    assert sniff_media(b"\x00\x00\x00\x14ftypqt  \x00\x00") == "mov"
    for text in (b"<!DOCTYPE html><html>", b"<html><body>", b'{"error": 1}', b"Hello world"):
        assert sniff_media(text) is None


def test_dropped_connection_is_resumed_with_range(flaky_host, clip_bytes, tmp_path):
    flaky_host.add("clip.mp4", clip_bytes)
    r = download(flaky_host.url("/drop/clip.mp4"), tmp_path, allow_private=True, progress=False)
    assert r.path.read_bytes() == clip_bytes
    hits = flaky_host.hits("/drop/")
    assert len(hits) == 2
    assert "Range" not in hits[0]["headers"]
    assert hits[1]["headers"]["Range"] == f"bytes={len(clip_bytes) // 2}-"
    assert leftovers(tmp_path) == ["clip.mp4"]


def test_clean_truncation_keeps_part_and_resumes_later(clip_bytes, tmp_path):
    with FlakyHost(drops=10) as host:
        host.add("clip.mp4", clip_bytes)
        url = host.url("/drop/clip.mp4")
        with pytest.raises(DownloadError, match="resume") as info:
            download(url, tmp_path, allow_private=True, progress=False, retries=1)
        assert "failed after 2 attempt" in str(info.value)
        parts = [p for p in tmp_path.iterdir() if p.suffix == ".part"]
        assert len(parts) == 1
        kept = parts[0].stat().st_size
        assert 0 < kept < len(clip_bytes)
        assert clip_bytes.startswith(parts[0].read_bytes())
        host.drops = 0  # the server recovers
        r = download(url, tmp_path, allow_private=True, progress=False)
        assert r.resumed_from == kept
        assert r.path.read_bytes() == clip_bytes
        assert host.hits("/drop/")[-1]["headers"]["Range"] == f"bytes={kept}-"
        assert leftovers(tmp_path) == ["clip.mp4"]


def test_server_ignoring_range_restarts_from_zero(flaky_host, clip_bytes, tmp_path):
    flaky_host.add("clip.mp4", clip_bytes)
    r = download(flaky_host.url("/norange/clip.mp4"), tmp_path, allow_private=True, progress=False)
    assert r.path.read_bytes() == clip_bytes  # not the half + the whole file appended
    hits = flaky_host.hits("/norange/")
    assert len(hits) == 2 and "Range" in hits[1]["headers"]


@pytest.mark.parametrize("path, what", [("/html/clip.mp4", "HTML page"), ("/disguised/clip.mp4", "HTML page"),
                                        ("/text/clip.mp4", "text")])
def test_html_or_text_is_never_saved(flaky_host, clip_bytes, tmp_path, path, what):
    flaky_host.add("clip.mp4", clip_bytes)
    with pytest.raises(NotMediaError, match=what) as info:
        download(flaky_host.url(path), tmp_path, allow_private=True, progress=False)
    if what == "HTML page":
        assert "Watch our match video" in str(info.value)  # the page title helps the user
    assert "direct link" in str(info.value)
    assert leftovers(tmp_path) == []


def test_lying_content_length(flaky_host, clip_bytes, tmp_path):
    flaky_host.add("clip.mp4", clip_bytes)
    with pytest.raises(DownloadError, match="inconsistent"):
        download(flaky_host.url("/liar/clip.mp4"), tmp_path, allow_private=True, progress=False)
    assert leftovers(tmp_path) == []  # not a clean truncation: nothing kept


def test_size_cap_from_content_length(tmp_path):
    with FlakyHost(huge_size=32 * 1024 * 1024) as host, pytest.raises(DownloadTooLargeError, match="cap"):
            download(host.url("/huge"), tmp_path, allow_private=True, progress=False, max_bytes=1024 * 1024)
    assert leftovers(tmp_path) == []


def test_size_cap_while_streaming_and_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDQA_MAX_DOWNLOAD_BYTES", str(2 * 1024 * 1024))
    with FlakyHost(huge_size=32 * 1024 * 1024) as host, pytest.raises(DownloadTooLargeError, match="partial file"):
            download(host.url("/huge-nolength"), tmp_path, allow_private=True, progress=False)
    assert leftovers(tmp_path) == []


def test_redirect_to_private_address_is_refused_at_the_hop(flaky_host, clip_bytes, tmp_path):
    flaky_host.add("clip.mp4", clip_bytes)
    loopback_only = ["127.0.0.1"]  # the fake server is allowed, nothing else private
    for target in ("http://169.254.169.254/latest/meta-data/", "http://2130706434/x.mp4",
                   "http://[::ffff:10.0.0.1]/x.mp4", "http://[::1]:1/x.mp4"):
        url = flaky_host.url(f"/redirect?to={target}&n=2")
        with pytest.raises(SourceNotAllowedError, match="Refusing"):
            download(url, tmp_path, allow_private=loopback_only, progress=False)
    # allowed redirects are followed (relative and absolute)
    r = download(flaky_host.url("/redirect?to=/ok/clip.mp4&n=3"), tmp_path, allow_private=loopback_only,
                 progress=False)
    assert r.path.read_bytes() == clip_bytes
    assert r.final_url.endswith("/ok/clip.mp4")
    assert leftovers(tmp_path) == ["clip.mp4"]


def test_too_many_redirects(flaky_host, tmp_path):
    with pytest.raises(DownloadError, match="Too many redirects"):
        download(flaky_host.url("/redirect?to=/ok/x&n=20"), tmp_path, allow_private=True, progress=False)


def test_http_errors(flaky_host, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(flaky_host.url("/missing"), tmp_path, allow_private=True, progress=False)
    assert leftovers(tmp_path) == []


def test_connection_refused_is_retried_then_reported(tmp_path):
    with FlakyHost() as host:
        url = host.url("/ok/x.mp4")
    # the server is gone: nothing listens on that port any more
    with pytest.raises(DownloadError, match="cannot connect"):
        download(url, tmp_path, allow_private=True, progress=False, retries=2)
    assert leftovers(tmp_path) == []


def test_caller_headers_are_not_sent_to_another_origin_after_a_redirect(clip_bytes, tmp_path):
    with FlakyHost() as first, FlakyHost() as other:
        other.add("clip.mp4", clip_bytes)
        first.add("clip.mp4", clip_bytes)
        secret = {"Authorization": "Bearer not-for-other-hosts"}
        download(first.url(f"/redirect?to={other.url('/ok/clip.mp4')}"), tmp_path / "a", allow_private=True,
                 headers=secret, progress=False)
        assert first.hits("/redirect")[0]["headers"].get("Authorization") == secret["Authorization"]
        assert "Authorization" not in other.hits("/ok/clip.mp4")[0]["headers"]
        # same origin: the header goes along
        download(first.url("/redirect?to=/ok/clip.mp4"), tmp_path / "b", allow_private=True, headers=secret,
                 progress=False)
        assert first.hits("/ok/clip.mp4")[0]["headers"].get("Authorization") == secret["Authorization"]


def test_two_downloads_with_the_same_name_never_replace_each_other(tmp_path):
    from vidqa.media.download import _claim

    first, second = tmp_path / "a.part", tmp_path / "b.part"
    first.write_bytes(b"first video")
    second.write_bytes(b"second video")
    one = _claim(first, tmp_path / "video.mp4")
    two = _claim(second, tmp_path / "video.mp4")
    assert one != two and one.name == "video.mp4" and two.name == "video (1).mp4"
    assert one.read_bytes() == b"first video" and two.read_bytes() == b"second video"
    assert not first.exists() and not second.exists()
