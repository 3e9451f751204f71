"""Webhook rules (pure): URL safety against server-side request forgery, signatures, back-off."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from app.errors import RuleViolation


def check_url(url: str, *, allowed_hosts: frozenset[str], resolved: Iterable[str]) -> None:
    """https only and public addresses only, unless the host is explicitly allowed."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise RuleViolation("the webhook URL is not valid", code="webhook_url_not_allowed") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise RuleViolation(
            "the webhook URL must be an http(s) URL with a host", code="webhook_url_not_allowed"
        )
    if host in allowed_hosts:
        return
    if parts.scheme != "https":
        raise RuleViolation("webhook URLs must use https", code="webhook_url_not_allowed")
    addresses = list(resolved)
    if not addresses:
        raise RuleViolation("the webhook host does not resolve", code="webhook_url_not_allowed")
    for address in addresses:
        if not is_public_address(address):
            raise RuleViolation(
                "webhook URLs may not point at loopback, private, link-local or reserved addresses",
                code="webhook_url_not_allowed",
            )


# IPv6 forms that carry an IPv4 address a gateway may turn back into IPv4: NAT64's
# well-known prefix (RFC 6052) and the deprecated IPv4-compatible addresses (::a.b.c.d).
# (IPv4-mapped, 6to4 and Teredo have their own accessors on IPv6Address.)
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # local networks only: never public
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, in every form that can reach them."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found += list(ip.teredo)  # the Teredo server and the client
    if ip in _NAT64_WELL_KNOWN or ip in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    return found


def is_public_address(address: str) -> bool:
    """A global unicast address, and so is every IPv4 address it embeds."""
    ip = ipaddress.ip_address(address)
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL_USE:
            return False
        candidates += embedded_ipv4(ip)
    return all(c.is_global and not c.is_multicast for c in candidates)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex>[,v1=<hex>]` — one v1 per valid secret during rotation."""
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets)])


def backoff_seconds(failures: int, *, base: float, cap: float) -> float:
    """Exponential: base, 2 * base, 4 * base, ... up to the cap."""
    return float(min(cap, base * (2 ** max(0, failures - 1))))
