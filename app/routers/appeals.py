from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.deps import CtxDep, require_roles
from app.models.appeal import (
    AppealCreate,
    AppealPublic,
    AppealResponseIn,
    AppealSummary,
    ComplaintCreate,
    ComplaintPublic,
)
from app.pagination import DEFAULT_LIMIT, Page
from app.principal import Principal
from app.routers.common import Cursor, Limit, with_etag
from app.services import appeals as service
from app.vocab import AppealStatus

router = APIRouter(prefix="/v1/appeals", tags=["appeals"])
complaints_router = APIRouter(prefix="/v1/complaints", tags=["complaints"])
READERS = ("record_system", "admin", "reviewer", "chair", "professional")


@router.post("", status_code=201, response_model=AppealPublic)
async def lodge_appeal(
    data: AppealCreate,
    response: Response,
    ctx: CtxDep,
    _: Principal = require_roles("record_system", "professional"),
) -> AppealPublic:
    """Lodge a family's appeal against a registration decision, after the meeting and within
    the appeal deadline (profiles with appeals only). The decision stays in force meanwhile."""
    appeal = await service.lodge_appeal(ctx, data=data)
    response.headers["Location"] = f"/v1/appeals/{appeal.id}"
    with_etag(response, appeal.version)
    return await service.to_public(ctx, appeal)


@router.get("", response_model=Page[AppealSummary])
async def list_appeals(
    ctx: CtxDep,
    status: AppealStatus | None = None,
    conference_id: uuid.UUID | None = None,
    child_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*READERS),
) -> Page[AppealSummary]:
    items, next_cursor = await service.list_appeals(
        ctx, status=status, conference_id=conference_id, child_id=child_id, limit=limit, cursor=cursor
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{appeal_id}", response_model=AppealPublic)
async def get_appeal(
    appeal_id: uuid.UUID, response: Response, ctx: CtxDep, _: Principal = require_roles(*READERS)
) -> AppealPublic:
    appeal = await service.get_appeal(ctx, appeal_id)
    with_etag(response, appeal.version)
    return await service.to_public(ctx, appeal)


@router.post("/{appeal_id}/response", response_model=AppealPublic)
async def respond_to_appeal(
    appeal_id: uuid.UUID,
    data: AppealResponseIn,
    response: Response,
    ctx: CtxDep,
    _: Principal = require_roles("chair", "reviewer", "admin"),
) -> AppealPublic:
    """The written answer, by the role the profile names."""
    appeal = await service.respond_to_appeal(ctx, appeal_id, data=data)
    with_etag(response, appeal.version)
    return await service.to_public(ctx, appeal)


@complaints_router.post("", status_code=201, response_model=ComplaintPublic)
async def record_complaint(
    data: ComplaintCreate,
    ctx: CtxDep,
    _: Principal = require_roles("record_system", "professional", "chair", "reviewer", "admin"),
) -> ComplaintPublic:
    """Record a complaint and answer where it goes: the named agency's complaints procedure.
    A complaint never becomes a dissent or an appeal."""
    return service.complaint_public(await service.record_complaint(ctx, data=data))


@complaints_router.get("", response_model=Page[ComplaintPublic])
async def list_complaints(
    ctx: CtxDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None, _: Principal = require_roles("admin")
) -> Page[ComplaintPublic]:
    rows, next_cursor = await service.list_complaints(ctx, limit=limit, cursor=cursor)
    return Page(items=[service.complaint_public(c) for c in rows], next_cursor=next_cursor)
