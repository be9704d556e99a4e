"""The client's address, as the rate limits, the admin lockout and the logs count it.

Behind nginx every request comes from nginx's address, so nginx passes the client's in
`X-Real-IP` (set from `$remote_addr`, deploy/nginx/). Anyone can send that header, so it
is believed only when the request comes from a proxy named in settings.TRUSTED_PROXIES;
otherwise, or when the header is missing or malformed, the peer's own address counts.
This never fails: a request always has an address to count against.
"""

from __future__ import annotations

import functools
import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

log = logging.getLogger(__name__)

# The peer of a Unix socket has no address; such requests share one bucket.
UNKNOWN = "0.0.0.0"  # noqa: S104 - a placeholder address, never bound

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def parse_networks(value: tuple[str, ...]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES entries (`127.0.0.1`, `10.0.0.0/8`, `::1`) as networks."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value if item.strip())


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def is_trusted_proxy(peer: str) -> bool:
    address = _address(peer)
    if address is None:
        return False
    networks = parse_networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The address to count this request against (settings.RATELIMIT_IP_META_KEY)."""
    peer = request.META.get("REMOTE_ADDR") or ""
    if is_trusted_proxy(peer):
        forwarded = request.META.get(settings.CLIENT_IP_META_KEY, "")
        address = _address(forwarded)
        if address is not None:
            return str(address)
        if forwarded:
            log.warning("ignoring a malformed client address from the proxy: %.60r", forwarded)
    address = _address(peer)
    return str(address) if address is not None else UNKNOWN
