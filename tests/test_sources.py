"""Classifying sources: local paths, URLs and every form of Google Drive link."""

from __future__ import annotations

import os

import pytest

from vidqa.errors import IngestError
from vidqa.media.sources import Source, drive_link, parse_source

DRIVE_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz_-012"


@pytest.mark.parametrize(
    "link, key",
    [
        (f"https://drive.google.com/file/d/{DRIVE_ID}/view?usp=sharing", None),
        (f"https://drive.google.com/file/d/{DRIVE_ID}/view", None),
        (f"https://drive.google.com/file/d/{DRIVE_ID}/edit?usp=drive_link", None),
        (f"https://drive.google.com/file/u/0/d/{DRIVE_ID}/view", None),
        (f"https://drive.google.com/a/example.org/file/d/{DRIVE_ID}/view", None),
        (f"https://drive.google.com/open?id={DRIVE_ID}", None),
        (f"https://drive.google.com/uc?id={DRIVE_ID}&export=download", None),
        (f"https://drive.google.com/uc?export=download&id={DRIVE_ID}", None),
        (f"https://docs.google.com/uc?export=download&id={DRIVE_ID}", None),
        (f"https://drive.usercontent.google.com/download?id={DRIVE_ID}&export=download&authuser=0", None),
        (f"https://drive.google.com/file/d/{DRIVE_ID}/view?usp=sharing&resourcekey=0-AbC_xyz", "0-AbC_xyz"),
        (f"https://drive.google.com/open?id={DRIVE_ID}&resourcekey=0-k3y", "0-k3y"),
        (f"  HTTPS://DRIVE.GOOGLE.COM/file/d/{DRIVE_ID}/view  ", None),
    ],
)
def test_drive_links(link, key):
    s = parse_source(link)
    assert s.kind == "drive"
    assert s.drive_id == DRIVE_ID
    assert s.resource_key == key
    assert s.value == link.strip()


def test_drive_folder_and_idless_links_are_refused_with_advice():
    with pytest.raises(IngestError, match="folder"):
        parse_source("https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp?usp=sharing")
    with pytest.raises(IngestError, match="file id"):
        parse_source("https://drive.google.com/drive/my-drive")


def test_plain_urls():
    assert parse_source("https://example.org/videos/match.mp4?x=1") == Source(
        "url", "https://example.org/videos/match.mp4?x=1"
    )
    assert parse_source("http://10.0.0.5:8000/a.webm").kind == "url"
    # other Google hosts are plain URLs
    assert parse_source("https://storage.googleapis.com/bucket/a.mp4").kind == "url"


def test_other_schemes_are_urls_for_netguard_to_refuse():
    for s in ("ftp://example.org/a.mp4", "gopher://x/", "javascript://alert(1)"):
        assert parse_source(s).kind == "url"


def test_local_paths_become_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = parse_source("clips/a b.mp4")
    assert s == Source("local", str(tmp_path / "clips" / "a b.mp4"))
    assert parse_source(tmp_path / "x.mp4").value == str(tmp_path / "x.mp4")
    assert parse_source("~/x.mp4").value == os.path.expanduser("~/x.mp4")
    assert parse_source(f"file://{tmp_path}/y%20z.mp4") == Source("local", str(tmp_path / "y z.mp4"))
    with pytest.raises(IngestError):
        parse_source("file://otherhost/share/a.mp4")
    with pytest.raises(IngestError, match="Empty"):
        parse_source("   ")


def test_drive_link_roundtrip():
    link = drive_link(DRIVE_ID, "0-key")
    s = parse_source(link)
    assert (s.kind, s.drive_id, s.resource_key) == ("drive", DRIVE_ID, "0-key")


def test_source_key_hides_secrets_and_keeps_sources_apart():
    from vidqa.media.sources import source_key

    url = "https://alice:pa55@cdn.example.org/v.mp4?X-Amz-Signature=s3cr3t&id=1#frag"
    key = source_key(url)
    assert key.startswith("https://***@cdn.example.org/v.mp4?X-Amz-Signature=…&id=…#src=")
    assert "pa55" not in key and "s3cr3t" not in key and "alice" not in key and "frag" not in key
    assert source_key(url) == key  # stable: the same URL finds its video again
    assert source_key(url.replace("id=1", "id=2")) != key  # hidden parts still tell sources apart
    assert source_key("https://example.org/clip.mp4") == "https://example.org/clip.mp4"  # nothing to hide
    # Drive: the canonical link, a resource key hidden
    assert source_key(f"https://drive.google.com/open?id={DRIVE_ID}") == drive_link(DRIVE_ID)
    keyed = source_key(f"https://drive.google.com/file/d/{DRIVE_ID}/view?resourcekey=0-s3cr3t")
    assert keyed.startswith(drive_link(DRIVE_ID) + "?resourcekey=…#src=") and "s3cr3t" not in keyed
    # local paths unchanged; a Source never shows a secret in its repr
    assert source_key(parse_source("/data/a.mp4")) == "/data/a.mp4"
    assert "pa55" not in repr(parse_source(url)) and "s3cr3t" not in repr(parse_source(url))


def test_parse_errors_never_echo_secrets():
    with pytest.raises(IngestError) as info:
        parse_source("https://drive.google.com/drive/folders/abc?resourcekey=0-s3cr3t")
    assert "s3cr3t" not in str(info.value)
    with pytest.raises(IngestError) as info:
        parse_source("http://u:pa55@[::1/x?token=s3cr3t")
    assert "s3cr3t" not in str(info.value) and "pa55" not in str(info.value)
