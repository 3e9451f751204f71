"""What a service acts within: the caller, their authority (with its working calendar), the
session and the time. The procedure a service follows is the conference's own
(`app.services.procedures.procedure_of`), not the authority's current one. No FastAPI here:
the routers (through `app.deps`), the worker and the CLI build a `Ctx` the same way and call
the same services."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Forbidden
from app.etag import check_version
from app.models.authority import Authority
from app.principal import Principal
from app.rules.calendar import WorkingCalendar


@dataclass
class Ctx:
    """What a service needs to act for a caller within their authority."""

    session: AsyncSession
    actor: Principal
    authority: Authority
    now: datetime
    request_id: str | None
    if_match: str | None = None
    authorities: AuthorityCache | None = None

    def check_version(self, version: int) -> None:
        """Honour the request's If-Match against the row about to change (412 on mismatch)."""
        check_version(self.if_match, version)

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return calendar_of(self.authority)


def calendar_of(authority: Authority) -> WorkingCalendar:
    """An authority's working calendar: its jurisdiction's bank holidays and its closures."""
    return WorkingCalendar(
        authority.jurisdiction, authority.timezone, [date.fromisoformat(d) for d in authority.closure_dates]
    )


class AuthorityCache:
    """Authorities by code, reused for a few seconds: every authenticated request needs its
    authority's settings, and they change rarely. Entries are detached rows that requests
    only read; a change through this process forgets its entry (`forget`), and unregistered
    codes are never cached."""

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Authority]] = {}

    def get(self, code: str) -> Authority | None:
        entry = self._entries.get(code)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, authority: Authority) -> None:
        if self._ttl > 0:
            self._entries[authority.code] = (time.monotonic() + self._ttl, authority)

    def forget(self, code: str) -> None:
        self._entries.pop(code, None)


async def find_authority(
    session: AsyncSession, code: str, cache: AuthorityCache | None = None
) -> Authority | None:
    """An authority by code, from the cache when it holds a fresh copy."""
    authority = cache.get(code) if cache is not None else None
    if authority is not None:
        return authority
    authority = (await session.exec(select(Authority).where(Authority.code == code))).first()
    if authority is not None and cache is not None:
        session.expunge(authority)  # shared between requests: no session may own it
        cache.put(authority)
    return authority


async def load_authority(
    session: AsyncSession, code: str | None, cache: AuthorityCache | None = None
) -> Authority:
    """The caller's own authority."""
    if code is None:
        raise Forbidden("this token is not for a local authority")
    authority = await find_authority(session, code, cache)
    if authority is None:
        raise Forbidden("the token's authority is not registered with this service")
    return authority
