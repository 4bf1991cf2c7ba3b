"""Who a client is: an address (`client_key`; for IPv6 its /56 network): the peer's, or, when the peer is a
trusted proxy (DIGITNET_TRUSTED_PROXIES, see `Trust`), the address that proxy appended to X-Forwarded-For. An entry
that is not an address never makes a new client (the request counts as the proxy's own).

IPv6 is grouped because one customer holds many addresses: an ISP hands each customer a whole prefix, at least a
/56 to a home and a /48 to a business in RIPE-690 (the RIPE community's advice to ISPs), a /64 to a phone's mobile
connection (RFC 6459), so one client per address, or per /64, let one customer be thousands of clients. A client is
a /56: a home is one client however many addresses and /64s it uses; a /48 (a business, or a tunnel broker's
prefix) is at most 256 clients, and `network_of` (a /48) bounds the connections of one customer's whole prefix
(digitnet/server.py). IPv4 has no such prefixes: one address is one client, a NAT's many users included."""

from __future__ import annotations

import ipaddress

from digitnet.settings import TRUSTED_PROXIES

CLIENT = "digitnet.client"  # where the guard leaves the client's key in the scope (for digitnet/live.py)
IPV6_CLIENT_PREFIX = 56  # one client per /56: what an ISP gives one home (RIPE-690); a /64 is one of its 256 LANs
IPV6_NETWORK_PREFIX = 48  # one customer at most: what an ISP gives one business (RIPE-690), a tunnel broker anyone

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Trust:
    """The proxies whose X-Forwarded-For entries are believed: networks, from DIGITNET_TRUSTED_PROXIES.

    A comma-separated list of addresses or networks (`127.0.0.1`, `10.0.0.0/8`), `private` for every non-public
    address except loopback (how the Hugging Face Spaces proxy reaches the app), or `none` (no proxy: the peer is
    the client). Nothing is trusted unless named (the default, `Trust()`; the app's own default is `private` on a
    Space, see settings.trusted_proxies). Loopback is trusted only when named: from loopback any header could be
    written by anyone on the machine."""

    def __init__(self, spec: str = "none") -> None:
        self.private = False
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in (part.strip() for part in spec.split(",")):
            if item == "private":
                self.private = True
            elif item and item != "none":
                try:
                    self.networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError as e:
                    raise ValueError(
                        f"{TRUSTED_PROXIES}: {item!r} is not an address, a network, 'private' or 'none'"
                    ) from e

    def __contains__(self, address: Address | None) -> bool:
        if address is None:
            return False
        if self.private and not address.is_global and not address.is_loopback:
            return True
        return any(address in net for net in self.networks)


def parse_address(text: str) -> Address | None:
    """An address as proxies write them (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `::1`), or None."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_key(scope: dict, trust: Trust | None = None) -> str:
    """Who sent the request: the peer, or, when the peer is a trusted proxy, the address the trusted proxies saw:
    X-Forwarded-For read from the right, past the entries of trusted proxies. When an entry is not an address, or
    every entry is a trusted one, the request counts as the peer's: a header never makes a new client by itself."""
    trust = trust or Trust()
    peer = (scope.get("client") or ("unknown", 0))[0]
    hop = parse_address(peer)
    if hop not in trust:
        return peer if hop is None else client_of(hop)
    forwarded = [
        part
        for name, value in scope.get("headers", [])
        if name == b"x-forwarded-for"
        for part in value.decode("latin-1").split(",")
    ]
    for entry in reversed(forwarded):
        address = parse_address(entry)
        if address is None:
            return peer
        if address not in trust:
            return client_of(address)
    return peer


def client_of(address: Address) -> str:
    """The client an address belongs to: itself, or for IPv6 its /56 network."""
    return _grouped(address, IPV6_CLIENT_PREFIX)


def network_of(address: Address) -> str:
    """The most one customer holds: an IPv4 address itself, for IPv6 its /48 network (256 clients)."""
    return _grouped(address, IPV6_NETWORK_PREFIX)


def _grouped(address: Address, prefix: int) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return str(address)
