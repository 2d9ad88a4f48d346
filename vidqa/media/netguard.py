"""What vidqa may read: an SSRF guard for URLs and a root check for local paths.

A notebook server that ingests any URL a user pastes must not become a way to read the cloud metadata service or
an internal admin page. So, by default:

- only ``http`` and ``https`` URLs are fetched;
- the host is resolved once and *every* address must be public: loopback, private (RFC 1918, ULA), link-local
  (incl. the metadata services 169.254.169.254 and fd00:ec2::254), shared (100.64/10), unspecified, multicast and
  reserved addresses are refused, whatever spelling the URL uses (``http://2130706433/``, ``http://0x7f.1/``,
  ``http://017700000001/``, ``http://[::ffff:127.0.0.1]/``, 6to4 / NAT64 forms ...);
- the connection then goes to the address that was checked (no DNS-rebinding window), and redirects are followed
  by the caller one hop at a time, each hop checked again (see :mod:`vidqa.media.download`).

``allow_private=True`` (or ``VIDQA_ALLOW_PRIVATE_URLS=1``) lifts the address check for tests and LAN servers;
``allow_private=["192.168.1.0/24"]`` lifts it for those networks only. Neither ever unblocks the cloud metadata
services (:data:`METADATA_ADDRESSES`: 169.254.169.254 in any spelling, fd00:ec2::254, ...): those are fetched only
when the exact address is named, ``allow_private=["169.254.169.254"]``.

URLs are shown and stored only through :func:`redact_url` (no ``user:password@``, no query values, no fragment).

Local paths must resolve (symlinks followed) inside ``settings().allowed_roots`` (``$VIDQA_ALLOWED_ROOTS``) when
that is set.

Example::

    from vidqa.media.netguard import check_url
    target = check_url("https://example.org/clip.mp4")   # raises SourceNotAllowedError for private hosts
    print(target.addresses)
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from vidqa.config import settings
from vidqa.errors import DownloadError, IngestError, SourceNotAllowedError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PrivatePolicy = bool | Iterable[str] | None

ALLOWED_SCHEMES = ("http", "https")
ENV_ALLOW_PRIVATE = "VIDQA_ALLOW_PRIVATE_URLS"

METADATA_ADDRESSES: dict[IPAddress, str] = {
    ipaddress.ip_address(a): "the cloud metadata service"
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean ... (IMDS)
        "169.254.170.2",    # AWS ECS task metadata / credentials
        "169.254.170.23",   # AWS EKS pod identity
        "fd00:ec2::254",    # AWS IMDS over IPv6
        "fd00:ec2::23",     # AWS EKS pod identity over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",      # Oracle Cloud
        "168.63.129.16",    # Azure WireServer
    )
}
"""Addresses refused even with ``allow_private=True`` (they hand out cloud credentials); name one exactly to fetch it."""
_METADATA = METADATA_ADDRESSES
_PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-\[\]]{0,39}$")
"""A query parameter name shown as is; anything else (a bare token, an odd name) is hidden like a value."""
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


@dataclass
class CheckedURL:
    """A URL that passed :func:`check_url`, with the addresses its host resolved to (connect to these)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: list[IPAddress] = field(default_factory=list)


def private_policy(allow_private: PrivatePolicy = None) -> bool | list[Network]:
    """Resolve ``allow_private``: ``None`` reads ``settings().allow_private_urls``; an iterable names networks."""
    if allow_private is None:
        return settings().allow_private_urls
    if isinstance(allow_private, bool):
        return allow_private
    if isinstance(allow_private, str):
        allow_private = [allow_private]
    nets: list[Network] = []
    for item in allow_private:
        try:
            nets.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError as err:
            raise IngestError(f"allow_private: {item!r} is not an IP address or network.") from err
    return nets


def blocked_reason(ip: IPAddress | str) -> str | None:
    """Why ``ip`` is not a public address (``None`` when it is public).

    >>> blocked_reason("127.0.0.1")
    'a loopback address'
    >>> blocked_reason("::ffff:169.254.169.254")
    'the cloud metadata service'
    >>> blocked_reason("93.184.216.34") is None
    True
    """
    ip = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return blocked_reason(embedded)
    if ip in _METADATA:
        return _METADATA[ip]
    checks = [
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private-network address"),
    ]
    for attr, reason in checks:
        if getattr(ip, attr, False):
            return reason
    if ip.version == 4 and ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.version == 6 and getattr(ip, "is_site_local", False):
        return "a site-local address"
    if not ip.is_global:
        return "a non-public address"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (numeric spellings like ``2130706433`` or ``0x7f.1`` included)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise DownloadError(f"Cannot resolve the host {host!r}: {err}. Check the URL and your network.") from err
    out: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if ip not in out:
            out.append(ip)
    if not out:
        raise DownloadError(f"The host {host!r} has no IPv4/IPv6 address.")
    return out


def check_url(url: str, *, allow_private: PrivatePolicy = None) -> CheckedURL:
    """Refuse ``url`` unless it is http(s) and its host resolves only to allowed addresses.

    Raises :class:`SourceNotAllowedError` (bad scheme, private address) or :class:`DownloadError` (the host
    does not resolve). The returned :class:`CheckedURL` lists the checked addresses; connect to one of them.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parses the port: raises when it is not a number
    except ValueError as err:
        raise SourceNotAllowedError(f"Refusing {_short(url)}: not a valid URL ({err}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise SourceNotAllowedError(
            f"Refusing {_short(url)}: only http:// and https:// URLs can be ingested"
            f" (got {scheme + '://' if scheme else 'no scheme'}). Give a local path for files on this machine."
        )
    try:
        host = parts.hostname
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as err:
        raise SourceNotAllowedError(f"Refusing {_short(url)}: malformed host or port ({err}).") from err
    if not host:
        raise SourceNotAllowedError(f"Refusing {_short(url)}: the URL has no host.")
    addresses = resolve(host, port)
    policy = private_policy(allow_private)
    allowed_nets = policy if isinstance(policy, list) else []
    for ip in addresses:
        reason = blocked_reason(ip)
        if not reason:
            continue
        shown = host if host == str(ip) else f"{host} ({ip})"
        if metadata_address(ip) is not None:
            if any(_names(n, ip) for n in allowed_nets):
                continue
            raise SourceNotAllowedError(
                f"Refusing {_short(url)}: {shown} is {reason}, which hands out cloud credentials. It stays blocked"
                " even with allow_private=True / --allow-private; only allow_private=[\"<that exact address>\"]"
                " fetches from it."
            )
        if policy is True or any(_in_net(ip, n) for n in allowed_nets):
            continue
        raise SourceNotAllowedError(
            f"Refusing {_short(url)}: {shown} is {reason}. vidqa only fetches public addresses by default;"
            f" pass allow_private=True (--allow-private) or set {ENV_ALLOW_PRIVATE}=1 to fetch from your own"
            " network."
        )
    return CheckedURL(url=url, scheme=scheme, host=host, port=port, addresses=addresses)


def check_local_path(path: str | os.PathLike[str]) -> Path:
    """The real path of a local media file, refused unless it is a regular file inside the allowed roots.

    Raises :class:`SourceNotAllowedError` (outside ``$VIDQA_ALLOWED_ROOTS``, not a regular file) or
    :class:`IngestError` (missing).
    """
    p = Path(os.path.expanduser(os.fspath(path)))
    real = Path(os.path.realpath(p))
    roots = settings().allowed_roots
    if roots is not None and not any(real == r or r in real.parents for r in roots):
        raise SourceNotAllowedError(
            f"Refusing {p}: it resolves to {real}, outside the allowed folders"
            f" ({os.pathsep.join(str(r) for r in roots)}, from VIDQA_ALLOWED_ROOTS)."
        )
    try:
        st = real.stat()
    except FileNotFoundError as err:
        raise IngestError(f"No such file: {p}. Check the path (relative paths start at {Path.cwd()}).") from err
    except OSError as err:
        raise IngestError(f"Cannot read {p}: {err.strerror or err}.") from err
    if stat.S_ISDIR(st.st_mode):
        raise IngestError(f"{p} is a folder: give the video files themselves (e.g. {p}/*.mp4).")
    if not stat.S_ISREG(st.st_mode):
        raise SourceNotAllowedError(f"Refusing {p}: it is not a regular file (device, pipe or socket).")
    if not os.access(real, os.R_OK):
        raise IngestError(f"Cannot read {p}: permission denied.")
    return real


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv4-mapped, IPv4-compatible, 6to4, Teredo or NAT64 IPv6 address."""
    if ip.version != 6:
        return None
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    packed = int(ip)
    if packed >> 32 == 0 and packed > 1:  # deprecated IPv4-compatible ::a.b.c.d (not :: or ::1)
        return ipaddress.IPv4Address(packed)
    return None


def metadata_address(ip: IPAddress | str) -> IPAddress | None:
    """The cloud metadata address ``ip`` is (in any spelling: IPv4-mapped, 6to4, NAT64 ...), or ``None``.

    >>> str(metadata_address("::ffff:a9fe:a9fe"))
    '169.254.169.254'
    """
    ip = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if ip in METADATA_ADDRESSES:
        return ip
    embedded = _embedded_ipv4(ip)
    return embedded if embedded is not None and embedded in METADATA_ADDRESSES else None


def _names(net: Network, ip: IPAddress) -> bool:
    """Whether the allow-list entry ``net`` names the metadata address ``ip`` exactly (a single address)."""
    target = metadata_address(ip)
    return net.num_addresses == 1 and target is not None and target.version == net.version and target in net


def _in_net(ip: IPAddress, net: Network) -> bool:
    embedded = _embedded_ipv4(ip)
    return (ip.version == net.version and ip in net) or (
        embedded is not None and net.version == 4 and embedded in net
    )


def redact_url(url: str, limit: int | None = 120) -> str:
    """``url`` fit to show or store: no ``user:password@`` (shown as ``***@``), every query *value* hidden (signed URLs
    carry tokens there; the names stay), no fragment; cut to ``limit`` characters (``None``: never cut).

    >>> redact_url("https://bob:pw@cdn.example.org/v.mp4?X-Amz-Signature=abc&v=2#t=3")
    'https://***@cdn.example.org/v.mp4?X-Amz-Signature=…&v=…'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or not parts.scheme or not parts.netloc:  # malformed: redact by hand
        m = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*://)?([^/?#]*)(.*)$", url, re.S)
        scheme, netloc, rest = (m.group(1) or "", m.group(2), m.group(3)) if m else ("", "", url)
        if "@" in netloc:
            netloc = "***@" + netloc.rsplit("@", 1)[1]
        shown = scheme + netloc + rest.split("?", 1)[0].split("#", 1)[0] + ("?…" if "?" in rest else "")
    else:
        netloc = parts.netloc
        if "@" in netloc:
            netloc = "***@" + netloc.rsplit("@", 1)[1]
        shown = f"{parts.scheme}://{netloc}{parts.path}"
        if parts.query:
            names = [q.split("=", 1)[0] if "=" in q and _PARAM_NAME.match(q.split("=", 1)[0]) else ""
                     for q in parts.query.split("&") if q]
            shown += "?" + "&".join(f"{n}=…" if n else "…" for n in names[:20]) + ("&…" if len(names) > 20 else "")
        elif url.split("#", 1)[0].endswith("?"):
            shown += "?"
    shown = "".join(ch if ch.isprintable() else "?" for ch in shown)
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown


_short = redact_url


__all__ = [
    "CheckedURL",
    "METADATA_ADDRESSES",
    "blocked_reason",
    "check_local_path",
    "check_url",
    "metadata_address",
    "private_policy",
    "redact_url",
    "resolve",
]
