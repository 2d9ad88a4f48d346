"""Google Drive downloads against a fake Drive on 127.0.0.1 that behaves like drive.usercontent.google.com."""

from __future__ import annotations

import pytest
from fake_servers import FakeDrive
from media_factory import make_video

import vidqa.media.download as dl
from vidqa.media.download import download_drive
from vidqa.errors import DriveError, DrivePermissionError, DriveQuotaError, SourceNotAllowedError
from vidqa.media.sources import parse_source


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(dl, "RETRY_BACKOFF_S", 0.01)
    monkeypatch.delenv("VIDQA_ALLOW_PRIVATE_URLS", raising=False)
    monkeypatch.delenv("VIDQA_DRIVE_BASE", raising=False)


@pytest.fixture
def fake_drive():
    with FakeDrive() as drive:
        yield drive


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    return make_video(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=2).read_bytes()


def get(drive, link, dest, **kw):
    return download_drive(link, dest, base_url=drive.download_url, allow_private=True, progress=False, **kw)


def test_small_file_direct(fake_drive, clip_bytes, tmp_path):
    link = fake_drive.add("1smallFileId_abc", clip_bytes, "Match day ⚽.mp4")
    r = get(fake_drive, link, tmp_path)
    assert r.path.read_bytes() == clip_bytes
    assert r.filename == "Match day ⚽.mp4"  # from filename*=UTF-8''
    q = fake_drive.requests[0]["path"]
    assert q.startswith("/download?") and "id=1smallFileId_abc" in q and "export=download" in q and "confirm=t" in q
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Match day ⚽.mp4"]


def test_large_file_confirm_form(fake_drive, clip_bytes, tmp_path):
    link = fake_drive.add("1largeFileId_abc", clip_bytes, "big.mp4", large=True)
    r = get(fake_drive, link, tmp_path)
    assert r.path.read_bytes() == clip_bytes
    paths = [x["path"] for x in fake_drive.requests]
    assert len(paths) == 2
    uuid = fake_drive.files["1largeFileId_abc"].uuid
    assert f"uuid={uuid}" in paths[1] and "confirm=t" in paths[1]  # every hidden input was sent back


def test_old_style_confirm_token_and_cookie(fake_drive, clip_bytes, tmp_path):
    link = fake_drive.add("1oldStyleId_abcd", clip_bytes, "old.mp4", old_style=True)
    r = get(fake_drive, link, tmp_path)
    assert r.path.read_bytes() == clip_bytes
    last = fake_drive.requests[-1]
    token = fake_drive.files["1oldStyleId_abcd"].token
    assert f"confirm={token}" in last["path"]
    assert f"download_warning_13058_1oldStyleId_abcd={token}" in last["headers"].get("Cookie", "")


def test_resource_key_is_sent(fake_drive, clip_bytes, tmp_path):
    link = fake_drive.add("1keyedFileId_abc", clip_bytes, "k.mp4", resource_key="0-SeCrEtKey", large=True)
    src = parse_source(link)
    assert src.resource_key == "0-SeCrEtKey"
    r = get(fake_drive, src, tmp_path)
    assert r.path.read_bytes() == clip_bytes
    assert all("resourcekey=0-SeCrEtKey" in x["path"] for x in fake_drive.requests)
    # the same file without its key is refused like a private file
    with pytest.raises(DrivePermissionError, match="Anyone with the link"):
        get(fake_drive, "https://drive.google.com/open?id=1keyedFileId_abc", tmp_path)


def test_quota_page(fake_drive, clip_bytes, tmp_path):
    link = fake_drive.add("1quotaFileId_abc", clip_bytes, quota=True)
    with pytest.raises(DriveQuotaError) as info:
        get(fake_drive, link, tmp_path)
    assert "Too many users have viewed or downloaded this file recently" in str(info.value)
    assert len(fake_drive.requests) == 1  # no retry loop
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["redirect", "local-login", "403"])
def test_private_file(fake_drive, clip_bytes, tmp_path, mode):
    link = fake_drive.add("1privateFile_abc", clip_bytes, private=mode)
    with pytest.raises(DrivePermissionError, match='"Anyone with the link"'):
        get(fake_drive, link, tmp_path)
    if mode == "redirect":  # the accounts.google.com redirect is recognised without following it
        assert all("ServiceLogin" not in x["path"] for x in fake_drive.requests)
    assert list(tmp_path.iterdir()) == []


def test_missing_file(fake_drive, tmp_path):
    with pytest.raises(DriveError, match="does not exist"):
        get(fake_drive, "https://drive.google.com/file/d/1doesNotExist_x/view", tmp_path)


def test_base_from_environment_and_guard(fake_drive, clip_bytes, tmp_path, monkeypatch):
    link = fake_drive.add("1envBaseFile_abc", clip_bytes, "e.mp4")
    monkeypatch.setenv("VIDQA_DRIVE_BASE", fake_drive.download_url)
    # default policy: the fake Drive is on loopback, so it is refused
    with pytest.raises(SourceNotAllowedError):
        download_drive(link, tmp_path, progress=False)
    assert fake_drive.requests == []
    r = download_drive(link, tmp_path, progress=False, allow_private=True)
    assert r.path.read_bytes() == clip_bytes


def test_not_a_drive_link(tmp_path):
    with pytest.raises(DriveError, match="not a Google Drive"):
        download_drive("https://example.org/a.mp4", tmp_path, progress=False)
