"""Where the http adapter may connect: one strict parse of a step's URL, the allow-list
(settings.EXEC_HTTP_ALLOWED_HOSTS) and the addresses a name may resolve to.

The contract with the adapter: it connects only to an address `check_addresses` accepted,
on the port of the `Destination` `check_url` returned, and sends that destination's
`target` with its host in `Host`/SNI. Nothing re-parses the step's URL after the check, so
the check and the request cannot disagree about where the request goes.

Allow-list entries are `host` (the scheme's default port only: 80 for http, 443 for https)
or `host:port`; an IPv6 address is written in brackets. A name must also resolve only to
public addresses: loopback, private, link-local, unspecified, multicast and every other
non-global address is refused unless an entry names that address itself (with the port).
Every refusal raises `Refused`, whose message says why.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
# Printable ASCII without space or backslash: no control character, tab, newline or
# non-ASCII for a parser to strip or normalise, no "\" for one to read as "/".
_URL_CHARS = re.compile(r"[!-\[\]-~]+")
_AUTHORITY = re.compile(
    r"(?:\[(?P<ip6>[0-9a-f:.]+)\]|(?P<name>[^:\[\]]+))(?::(?P<port>[0-9]{1,5}))?"
)
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
# A last label that WHATWG URL parsers (and inet_aton) read as a number turns the whole
# name into an IPv4 address: 2130706433, 0x7f.1, 127.1 all mean 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
# IPv6 ranges that carry an IPv4 address the packet may end up at.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")


class Refused(ValueError):
    """The URL, an allow-list entry or a resolved address is not allowed (never retryable)."""


@dataclass(frozen=True)
class Destination:
    """The checked parts of a URL; the adapter sends exactly these."""

    scheme: str  # "http" or "https"
    host: str  # a lower-case name, or an address in its canonical form
    port: int
    target: str  # path and query, as sent on the request line
    ip: IPAddress | None  # the address when the URL names one (then there is no lookup)

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.ip is not None and self.ip.version == 6 else self.host
        return f"{self.scheme}://{host}:{self.port}{self.target}"


@dataclass(frozen=True)
class Entry:
    host: str
    port: int | None  # None: the scheme's default port

    def admits(self, host: str, port: int, scheme: str) -> bool:
        return self.host == host and port == (self.port or DEFAULT_PORTS[scheme])


def check_url(url, allowed: Iterable[str]) -> Destination:
    """The destination of `url` if its scheme, host and port are allowed; else Refused."""
    if not isinstance(url, str):
        raise Refused("http param 'url' must be a string")
    if not _URL_CHARS.fullmatch(url):
        raise Refused(
            f"http url {url!r} must be printable ASCII without spaces or backslashes "
            "(percent-encode anything else)"
        )
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not url.lower().startswith(parts.scheme + "://"):
        raise Refused(f"http url {url!r} must be an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        raise Refused(f"http url {url!r} must not carry credentials (user@ before the host)")
    host, ip, port = _authority(parts.netloc, url)
    port = DEFAULT_PORTS[parts.scheme] if port is None else port
    if not any(entry.admits(host, port, parts.scheme) for entry in allow_list(allowed)):
        raise Refused(
            f"host {host!r} port {port} is not in the http allow-list "
            "(AIOPS_EXEC_HTTP_ALLOWED_HOSTS: `host` for the default port, `host:port` otherwise)"
        )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme=parts.scheme, host=host, port=port, target=target, ip=ip)


def check_addresses(dest: Destination, addresses: Iterable[IPAddress], allowed) -> None:
    """Refused unless every address `dest` resolved to is public or named by an entry."""
    entries = allow_list(allowed)
    for address in addresses:
        if _public(address):
            continue
        if any(entry.admits(str(address), dest.port, dest.scheme) for entry in entries):
            continue  # an operator named this internal address on purpose
        listed = f"[{address}]" if address.version == 6 else str(address)
        raise Refused(
            f"{dest.host} resolves to {address}, which is not a public address; only an "
            f"allow-list entry naming it ({listed}:{dest.port}) lets the adapter reach it"
        )


def allow_list(allowed: Iterable[str]) -> list[Entry]:
    """The parsed entries; a malformed one refuses every call rather than being skipped."""
    entries = []
    for text in allowed:
        host, _, port = _authority(text.strip(), f"allow-list entry {text!r}")
        entries.append(Entry(host=host, port=port))
    return entries


def _authority(netloc: str, what: str) -> tuple[str, IPAddress | None, int | None]:
    """(host, its address if it is one, port or None) of `host[:port]`, strictly."""
    match = _AUTHORITY.fullmatch(netloc.lower())
    if not match:
        raise Refused(f"{what}: cannot read host[:port] from {netloc!r}")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise Refused(f"{what}: port {port} is out of range")
    if match["ip6"]:
        try:
            ip = ipaddress.IPv6Address(match["ip6"])
        except ValueError:
            raise Refused(f"{what}: [{match['ip6']}] is not an IPv6 address") from None
        return str(ip), ip, port
    name = match["name"]
    try:
        ip = ipaddress.IPv4Address(name)  # dotted quad, four decimal parts, no leading zeros
        return str(ip), ip, port
    except ValueError:
        pass
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise Refused(f"{what}: {name!r} is not a host name (letters, digits, '-', '_', dots)")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise Refused(
            f"{what}: {name!r} would be read as a numeric IPv4 address; write an address as "
            "four decimal parts (a.b.c.d)"
        )
    return name, None, port


def _public(address: IPAddress) -> bool:
    """Globally routable unicast, judged on the IPv4 address an IPv6 one embeds, if any."""
    if address.is_multicast or not address.is_global:
        return False
    if address.version == 6:
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in _NAT64 or address in _COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _public(embedded)
    return True
