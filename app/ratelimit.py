"""In-process rate limits: token buckets per key, for failed authentication (per client
address) and for the costly reads (reports and the audit log; per caller and per address).

Each bucket holds up to `per_minute` tokens and refills continuously at `per_minute` a
minute; a request that finds its bucket empty is refused with 429 `rate_limited` and a
`Retry-After` of the seconds until the next token. The state lives in this process only (so
with N processes a caller gets up to N times the limit) and forgets the least recently used
keys past `max_keys`: it blunts bursts from one caller at this service; global limits and
shared state belong at the gateway (README, Security)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request

from app.config import Settings
from app.errors import DomainError
from app.principal import Principal

MAX_KEYS = 10_000


class TooManyRequests(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


class TokenBuckets:
    def __init__(
        self, per_minute: int, *, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def _level(self, key: str) -> float:
        tokens, at = self._buckets.get(key, (self.capacity, self.clock()))
        return min(self.capacity, tokens + (self.clock() - at) * self.rate)

    def wait(self, key: str) -> float:
        """Seconds until `key` may go again; 0 when it may go now. Takes nothing."""
        if not self.enabled:
            return 0.0
        level = self._level(key)
        return 0.0 if level >= 1 else (1 - level) / self.rate

    def take(self, key: str) -> float:
        """Spend one token for `key`: 0 when there was one, else the seconds to wait."""
        if not self.enabled:
            return 0.0
        level = self._level(key)
        if level < 1:
            return (1 - level) / self.rate
        self._buckets[key] = (level - 1, self.clock())
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return 0.0


class RateLimits:
    """The process's limits, built from the settings (0 turns a limit off)."""

    def __init__(self, settings: Settings) -> None:
        self.auth_failures = TokenBuckets(settings.rate_limit_auth_failures_per_minute)
        self.costly_per_caller = TokenBuckets(settings.rate_limit_costly_per_minute_per_caller)
        self.costly_per_address = TokenBuckets(settings.rate_limit_costly_per_minute_per_address)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limits_of(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


def check_auth_allowed(request: Request) -> None:
    """Before a token is verified: refuse an address that has used up its failures."""
    wait = limits_of(request).auth_failures.wait(client_address(request))
    if wait > 0:
        raise TooManyRequests("too many failed authentications from this address; retry later", wait)


def record_auth_failure(request: Request) -> None:
    limits_of(request).auth_failures.take(client_address(request))


def check_costly(request: Request, principal: Principal) -> None:
    """Reports and the audit log: per caller (authority and sub) and per address."""
    limits = limits_of(request)
    caller = f"{principal.authority or '-'}/{principal.sub}"
    wait = max(limits.costly_per_caller.take(caller), limits.costly_per_address.take(client_address(request)))
    if wait > 0:
        raise TooManyRequests("too many reports or audit reads; retry later", wait)
