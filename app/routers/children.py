from __future__ import annotations

from fastapi import APIRouter, Query, Response

from app.deps import CtxDep, require_roles
from app.models.child import ChildCreate, ChildPublic, RecordEntryPublic
from app.pagination import DEFAULT_LIMIT, Page
from app.principal import Principal
from app.routers.common import Cursor, Limit, with_etag
from app.routers.params import Id
from app.services import children as service
from app.text import SafeText

router = APIRouter(prefix="/v1/children", tags=["children"])
READERS = ("record_system", "admin", "reviewer", "chair", "professional")


@router.post("", status_code=201, response_model=ChildPublic)
async def create_child(
    data: ChildCreate, response: Response, ctx: CtxDep, _: Principal = require_roles("record_system")
) -> ChildPublic:
    """Create a child (or an unborn baby, with only an expected date of birth)."""
    child = await service.create_child(ctx, data=data)
    response.headers["Location"] = f"/v1/children/{child.id}"
    with_etag(response, child.version)
    return service.to_public(child)


@router.get("", response_model=Page[ChildPublic])
async def list_children(
    ctx: CtxDep,
    external_ref: SafeText | None = Query(default=None, max_length=100),
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*READERS),
) -> Page[ChildPublic]:
    rows, next_cursor = await service.list_children(
        ctx, external_ref=external_ref, limit=limit, cursor=cursor
    )
    return Page(items=[service.to_public(c) for c in rows], next_cursor=next_cursor)


@router.get("/{child_id}", response_model=ChildPublic)
async def get_child(
    child_id: Id, response: Response, ctx: CtxDep, _: Principal = require_roles(*READERS)
) -> ChildPublic:
    child = await service.get_child(ctx, child_id)
    with_etag(response, child.version)
    return service.to_public(child)


@router.get("/{child_id}/record", response_model=Page[RecordEntryPublic])
async def get_child_record(
    child_id: Id,
    ctx: CtxDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*READERS),
) -> Page[RecordEntryPublic]:
    """The child's timeline, newest first: decisions, amended decisions, review notes shared
    after a dissent, and responses to appeals."""
    rows, next_cursor = await service.child_record(ctx, child_id, limit=limit, cursor=cursor)
    return Page(
        items=[RecordEntryPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )
