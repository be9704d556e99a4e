"""Which addresses ingestion may fetch from: public ones, and the networks staff allow.

A source's URL is typed by any staff member who may edit sources, and the worker that
fetches it sits inside the deployment: next to the database, Redis, the mail relay and,
in a cloud, the instance's metadata service (169.254.169.254, which hands out
credentials). Fetching whatever a URL names would let that staff member probe and
reach those through the worker (server-side request forgery), a redirect from any
public feed included. So only globally routable addresses are fetched, unless
INGEST_ALLOWED_NETWORKS names the private network (a feed mirror on the LAN).

The host is checked before each request (the first and every redirect) and the address
actually connected to is checked again before the body is read, so a name that
resolves differently the second time (DNS rebinding) is refused too.
"""

from __future__ import annotations

import functools
import ipaddress
import socket

from django.conf import settings

from digest.sources.base import IngestError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _allowed_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "INGEST_ALLOWED_NETWORKS", ())))


def is_fetchable(address: Address) -> bool:
    """A public address, or one in INGEST_ALLOWED_NETWORKS."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks()):
        return True
    return address.is_global and not address.is_multicast


def host_addresses(host: str) -> list[Address]:
    """The addresses `host` names: itself if it is one, else what it resolves to (none
    when it does not resolve: the connection then fails and says so)."""
    host = host.strip("[]")
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


def refusal(url: str, address: Address) -> str:
    return (
        f"refused to fetch {url}: {address} is not a public address. Sources are fetched "
        "from the internet only; to fetch from this network, add it to "
        "INGEST_ALLOWED_NETWORKS."
    )


def check_host(host: str, url: str) -> None:
    """IngestError (permanent) unless every address `host` (of `url`) names may be
    fetched."""
    for address in host_addresses(host):
        if not is_fetchable(address):
            raise IngestError(refusal(url, address), permanent=True)


def check_peer(peer: object, url: str) -> None:
    """IngestError (permanent) unless the address connected to for `url` (a socket's
    (ip, port)) may be fetched."""
    if not isinstance(peer, tuple) or not peer:
        return  # no socket address to judge (a Unix socket, a test transport)
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    except ValueError:
        return
    if not is_fetchable(address):
        raise IngestError(refusal(url, address), permanent=True)
