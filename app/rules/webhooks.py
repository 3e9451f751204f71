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
        ip = ipaddress.ip_address(address)
        if not ip.is_global or ip.is_multicast:
            raise RuleViolation(
                "webhook URLs may not point at loopback, private, link-local or reserved addresses",
                code="webhook_url_not_allowed",
            )


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex>[,v1=<hex>]` — one v1 per valid secret during rotation."""
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets)])


def backoff_seconds(failures: int, *, base: float, cap: float) -> float:
    """Exponential: base, 2 * base, 4 * base, ... up to the cap."""
    return float(min(cap, base * (2 ** max(0, failures - 1))))
