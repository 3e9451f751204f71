"""Request dependencies: the session, the caller, role checks and the request context."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import current_time
from app.config import Settings
from app.db import Database
from app.errors import Forbidden, Unauthorized
from app.etag import check_version
from app.models.authority import Authority
from app.profiles import Profile, get_profile
from app.ratelimit import check_auth_allowed, check_costly, record_auth_failure
from app.rules.calendar import WorkingCalendar
from app.security import AuthError, Principal, TokenVerifier

_bearer = HTTPBearer(auto_error=False, description="A JWT issued by the authority's identity provider")


async def get_settings_dep(request: Request) -> Settings:
    # async: a plain `def` dependency would cost a thread hand-off on every request
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_session(request: Request) -> AsyncSession:
    """The request's session, opened on first use; `RequestMiddleware` ends it."""
    state = request.state
    session: AsyncSession | None = getattr(state, "session", None)
    if session is None:
        db: Database = request.app.state.db
        if db.write_lock is not None:
            await db.write_lock.acquire()
            state.sqlite_lock = db.write_lock
        session = db.session()
        state.session = session
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    verifier: TokenVerifier = request.app.state.verifier
    check_auth_allowed(request)
    try:
        principal = verifier.verify(credentials.credentials)
    except AuthError as exc:
        record_auth_failure(request)
        raise Unauthorized(str(exc)) from exc
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(get_principal)]


async def limit_costly(request: Request, principal: CurrentUser) -> None:
    """Reports and the audit log are rate-limited per caller and per address (app/ratelimit.py)."""
    check_costly(request, principal)


def require_roles(*roles: str) -> Any:
    """A dependency that lets the caller through if they hold any of `roles` (used as a
    parameter default, hence `Any`, like FastAPI's own `Depends`)."""

    async def _check(request: Request, principal: CurrentUser) -> Principal:
        if not principal.has_any(*roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
        # Only now may an Idempotency-Key replay the first answer (app/idempotency.py).
        claim = getattr(request.state, "idempotency_claim", None)
        if claim is not None:
            request.state.idempotency_claim = None
            await claim()
        return principal

    return Depends(_check)


async def get_now(session: SessionDep, settings: SettingsDep) -> datetime:
    return await current_time(session, settings)


Now = Annotated[datetime, Depends(get_now)]


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
    def profile(self) -> Profile:
        profile = get_profile(self.authority.profile)
        if profile is None:  # authorities are only created with a known profile
            raise RuntimeError(f"authority {self.authority.code} has unknown profile")
        return profile

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            self.authority.jurisdiction,
            self.authority.timezone,
            [date.fromisoformat(d) for d in self.authority.closure_dates],
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


async def get_ctx(request: Request, session: SessionDep, principal: CurrentUser, now: Now) -> Ctx:
    cache: AuthorityCache = request.app.state.authorities
    authority = await load_authority(session, principal.authority, cache)
    return Ctx(
        session=session,
        actor=principal,
        authority=authority,
        now=now,
        request_id=getattr(request.state, "request_id", None),
        if_match=request.headers.get("if-match"),
        authorities=cache,
    )


CtxDep = Annotated[Ctx, Depends(get_ctx)]
