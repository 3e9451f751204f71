from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.deps import CtxDep, Now, SessionDep, require_roles
from app.models.authority import AuthorityCreate, AuthorityPublic, AuthorityUpdate
from app.principal import Principal
from app.routers.common import with_etag
from app.services import authorities as service

router = APIRouter(prefix="/v1/authorities", tags=["authorities"])


@router.post("", status_code=201, response_model=AuthorityPublic)
async def create_authority(
    data: AuthorityCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    now: Now,
    actor: Principal = require_roles("system_admin"),
) -> AuthorityPublic:
    """Register a local authority (tenant) with its procedure profile and jurisdiction."""
    authority = await service.create_authority(
        session, actor=actor, data=data, now=now, request_id=request.state.request_id
    )
    response.headers["Location"] = f"/v1/authorities/{authority.code}"
    with_etag(response, authority.version)
    return service.to_public(authority)


@router.get("/{code}", response_model=AuthorityPublic)
async def get_authority(
    code: str,
    response: Response,
    session: SessionDep,
    actor: Principal = require_roles(
        "system_admin", "admin", "record_system", "reviewer", "chair", "professional", "reporting"
    ),
) -> AuthorityPublic:
    authority = await service.get_authority(session, actor=actor, code=code)
    with_etag(response, authority.version)
    return service.to_public(authority)


@router.patch("/{code}", response_model=AuthorityPublic)
async def update_authority(
    code: str,
    data: AuthorityUpdate,
    response: Response,
    ctx: CtxDep,
    _: Principal = require_roles("admin"),
) -> AuthorityPublic:
    """Change the authority's name, local closure dates or extra categories (admin)."""
    await service.get_authority(ctx.session, actor=ctx.actor, code=code)
    authority = await service.update_authority(ctx, data=data)
    with_etag(response, authority.version)
    return service.to_public(authority)
