"""Request dependencies: the session, the caller, role checks and the request context
(`Ctx` itself is in `app.context`, which knows nothing of FastAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import current_time
from app.config import Settings
from app.context import AuthorityCache, Ctx, load_authority
from app.db import Database
from app.errors import Forbidden, Unauthorized
from app.principal import Principal
from app.ratelimit import check_auth_allowed, check_costly, record_auth_failure
from app.security import AuthError, TokenVerifier

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
