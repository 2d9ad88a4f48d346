"""The SSRF guard: private, loopback, metadata and odd spellings of them are refused unless allowed."""

from __future__ import annotations

import ipaddress
import os

import pytest

from vidqa.errors import IngestError, SourceNotAllowedError
from vidqa.media.netguard import blocked_reason, check_local_path, check_url, private_policy

REFUSED = [
    "http://127.0.0.1/",
    "http://localhost:8080/x.mp4",
    "http://2130706433/",  # decimal 127.0.0.1
    "http://0x7f000001/",  # hex
    "http://0x7f.1/",
    "http://017700000001/",  # octal
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.10/",
    "http://100.64.0.1/",  # shared / CGNAT
    "http://0.0.0.0/",
    "http://[::]/",
    "http://224.0.0.251/",  # multicast
    "http://[ff02::1]/",
    "http://240.0.0.1/",  # reserved
    "http://[fe80::1]/",  # link-local
    "http://[fc00::1]/",  # ULA
    "http://[2002:7f00:1::]/",  # 6to4 wrapping 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 wrapping 169.254.169.254
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_addresses_refused_by_default(url, monkeypatch):
    monkeypatch.delenv("VIDQA_ALLOW_PRIVATE_URLS", raising=False)
    with pytest.raises(SourceNotAllowedError, match="Refusing") as info:
        check_url(url)
    assert "allow_private" in str(info.value)  # says how to lift it


@pytest.mark.parametrize("url", ["ftp://example.org/a.mp4", "file:///etc/passwd", "gopher://127.0.0.1/",
                                 "javascript://x", "example.org/a.mp4"])
def test_only_http_and_https(url):
    with pytest.raises(SourceNotAllowedError, match="http"):
        check_url(url, allow_private=True)


def test_public_literal_addresses_pass():
    for ip in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"):
        host = f"[{ip}]" if ":" in ip else ip
        checked = check_url(f"https://{host}/v.mp4")
        assert checked.addresses == [ipaddress.ip_address(ip)]
        assert blocked_reason(ip) is None


def test_allow_private_flag_env_and_networks(monkeypatch):
    monkeypatch.delenv("VIDQA_ALLOW_PRIVATE_URLS", raising=False)
    assert check_url("http://127.0.0.1:9/", allow_private=True).addresses == [ipaddress.ip_address("127.0.0.1")]
    monkeypatch.setenv("VIDQA_ALLOW_PRIVATE_URLS", "1")
    assert private_policy() is True
    check_url("http://10.1.2.3/")
    # an explicit False beats the environment
    with pytest.raises(SourceNotAllowedError):
        check_url("http://10.1.2.3/", allow_private=False)
    monkeypatch.delenv("VIDQA_ALLOW_PRIVATE_URLS")
    # a list allows those networks only
    check_url("http://192.168.1.20/", allow_private=["192.168.1.0/24"])
    with pytest.raises(SourceNotAllowedError, match="metadata"):
        check_url("http://169.254.169.254/", allow_private=["192.168.1.0/24"])
    with pytest.raises(SourceNotAllowedError):
        check_url("http://2130706434/", allow_private=["127.0.0.1"])  # 127.0.0.2 is not 127.0.0.1


def test_metadata_is_named():
    assert blocked_reason("169.254.169.254") == "the cloud metadata service"
    assert blocked_reason("fd00:ec2::254") == "the cloud metadata service"


@pytest.mark.parametrize("url", ["http://169.254.169.254/", "http://2852039166/", "http://[::ffff:a9fe:a9fe]/",
                                 "http://[fd00:ec2::254]/", "http://[64:ff9b::a9fe:a9fe]/"])
def test_allow_private_never_unblocks_metadata(url, monkeypatch):
    with pytest.raises(SourceNotAllowedError, match="stays blocked even with allow_private=True"):
        check_url(url, allow_private=True)
    monkeypatch.setenv("VIDQA_ALLOW_PRIVATE_URLS", "1")
    with pytest.raises(SourceNotAllowedError, match="metadata"):
        check_url(url)
    with pytest.raises(SourceNotAllowedError, match="metadata"):
        check_url(url, allow_private=["169.254.0.0/16", "fd00::/8", "::/0"])  # a network is not "named exactly"


def test_metadata_named_exactly_is_fetched():
    check_url("http://169.254.169.254/", allow_private=["169.254.169.254"])
    check_url("http://[::ffff:169.254.169.254]/", allow_private=["169.254.169.254"])
    check_url("http://[fd00:ec2::254]/", allow_private=["fd00:ec2::254/128"])


def test_redact_url_hides_credentials_values_and_fragments():
    from vidqa.media.netguard import redact_url

    shown = redact_url("https://bob:hunter2@cdn.example.org/v.mp4?X-Amz-Signature=abc123&v=2&SECRETTOKEN#t=s3")
    assert shown == "https://***@cdn.example.org/v.mp4?X-Amz-Signature=…&v=…&…"
    assert redact_url("https://example.org/" + "a" * 300, limit=40).endswith("…") and len(
        redact_url("https://example.org/" + "a" * 300, limit=40)) == 40
    assert redact_url("https://example.org/clip.mp4") == "https://example.org/clip.mp4"


def test_messages_hide_query_strings(monkeypatch):
    monkeypatch.delenv("VIDQA_ALLOW_PRIVATE_URLS", raising=False)
    with pytest.raises(SourceNotAllowedError) as info:
        check_url("http://10.0.0.1/v.mp4?X-Amz-Signature=secret123")
    assert "secret123" not in str(info.value)


def test_local_paths_inside_allowed_roots(tmp_path, monkeypatch):
    inside = tmp_path / "ok"
    inside.mkdir()
    clip = inside / "a.mp4"
    clip.write_bytes(b"x")
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"y")
    link = inside / "sneaky.mp4"
    link.symlink_to(outside)
    monkeypatch.setenv("VIDQA_ALLOWED_ROOTS", str(inside))
    assert check_local_path(clip) == clip.resolve()
    with pytest.raises(SourceNotAllowedError, match="outside the allowed"):
        check_local_path(outside)
    with pytest.raises(SourceNotAllowedError, match="outside the allowed"):
        check_local_path(link)  # a symlink pointing out is judged by its target
    with pytest.raises(SourceNotAllowedError):
        check_local_path(inside / ".." / "secret.mp4")
    monkeypatch.delenv("VIDQA_ALLOWED_ROOTS")
    assert check_local_path(link) == outside.resolve()


def test_local_path_errors(tmp_path):
    with pytest.raises(IngestError, match="No such file"):
        check_local_path(tmp_path / "missing.mp4")
    with pytest.raises(IngestError, match="folder"):
        check_local_path(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(SourceNotAllowedError, match="regular file"):
            check_local_path("/dev/zero")
