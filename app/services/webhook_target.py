"""Where a webhook delivery connects: resolved once, checked, and pinned.

Checking a URL's host and then letting the HTTP client resolve it again leaves a window in
which DNS can answer differently (DNS rebinding: public for the check, 10.0.0.5 for the
connection). So a delivery resolves the host once, checks exactly those addresses
(`rules.webhooks.check_url`), and sends the request to the first of them by IP literal, with
the original `Host` header and, for https, the original name as TLS SNI (httpcore's
`sni_hostname` extension), so the certificate is still verified against the host name."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from app.config import Settings
from app.errors import RuleViolation
from app.rules.webhooks import check_url
from app.services import webhooks


@dataclass(frozen=True)
class PinnedTarget:
    url: str  # the subscription's URL with its host replaced by the checked address
    headers: dict[str, str]  # the original Host
    extensions: dict[str, str] = field(default_factory=dict)  # TLS SNI for https


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


async def pin(url: str, settings: Settings) -> PinnedTarget:
    """Resolve `url`'s host once, check the answer, and aim at that address (RuleViolation
    `webhook_url_not_allowed` when it may not be used)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    addresses = await webhooks.resolve(host) if host else []
    check_url(url, allowed_hosts=settings.webhook_allowed_host_set, resolved=addresses)
    if not addresses:  # an allowed host is not checked, but it must still resolve
        raise RuleViolation("the webhook host does not resolve", code="webhook_url_not_allowed")
    port = f":{parts.port}" if parts.port else ""
    pinned = urlunsplit((parts.scheme, _literal(addresses[0]) + port, parts.path or "/", parts.query, ""))
    sni = {"sni_hostname": host} if parts.scheme == "https" and not _is_ip(host) else {}
    return PinnedTarget(url=pinned, headers={"Host": _literal(host) + port}, extensions=sni)
