"""Integration endpoints: the event feed, webhooks and the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from app.deps import CtxDep, SettingsDep, require_roles
from app.errors import RuleViolation
from app.models.webhook import WebhookCreate, WebhookDeliveryPublic, WebhookPublic, WebhookUpdate
from app.pagination import DEFAULT_LIMIT, MAX_SEQ, Page
from app.principal import Principal
from app.routers.common import Cursor, Limit, with_etag
from app.routers.params import Id
from app.services import events
from app.services import webhooks as service
from app.services.events import EventPage

events_router = APIRouter(prefix="/v1/events", tags=["events"])
webhooks_router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

# Sequence numbers are 32-bit integer columns and delivery ids 64-bit ones: a larger number
# in a query would make the database fail the request instead of refusing it.


@events_router.get("", response_model=EventPage)
async def list_events(
    ctx: CtxDep,
    after: int | None = Query(
        default=None, ge=0, le=MAX_SEQ, description="Events with seq greater than this (or `cursor`)"
    ),
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    _: Principal = require_roles("record_system", "admin"),
) -> EventPage:
    """The authority's events in order, gap-free: poll with `cursor` = the last page's
    `next_cursor` (or `after` = the last seq you saw; not both). The first call takes
    neither."""
    if after is not None and cursor is not None:
        raise RuleViolation("give `after` or `cursor`, not both", code="validation_error")
    position = events.feed_position(cursor) if cursor is not None else after or 0
    items = await events.list_events(ctx, after=position, limit=limit)
    last = items[-1].seq if items else position
    return EventPage(items=items, next_cursor=events.feed_cursor(last), next_after=last)


@webhooks_router.post("", status_code=201, response_model=WebhookPublic)
async def create_webhook(
    data: WebhookCreate,
    response: Response,
    ctx: CtxDep,
    settings: SettingsDep,
    _: Principal = require_roles("admin"),
) -> WebhookPublic:
    """Subscribe a URL to event types. Deliveries are signed (`Webhook-Signature:
    t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`), at least once, in order."""
    sub = await service.create_webhook(ctx, settings, data=data)
    response.headers["Location"] = f"/v1/webhooks/{sub.id}"
    with_etag(response, sub.version)
    return service.to_public(ctx, sub)


@webhooks_router.get("", response_model=Page[WebhookPublic])
async def list_webhooks(
    ctx: CtxDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None, _: Principal = require_roles("admin")
) -> Page[WebhookPublic]:
    rows, next_cursor = await service.list_webhooks(ctx, limit=limit, cursor=cursor)
    return Page(items=[service.to_public(ctx, s) for s in rows], next_cursor=next_cursor)


@webhooks_router.get("/{webhook_id}", response_model=WebhookPublic)
async def get_webhook(
    webhook_id: Id, response: Response, ctx: CtxDep, _: Principal = require_roles("admin")
) -> WebhookPublic:
    sub = await service.load_webhook(ctx, webhook_id)
    with_etag(response, sub.version)
    return service.to_public(ctx, sub)


@webhooks_router.patch("/{webhook_id}", response_model=WebhookPublic)
async def update_webhook(
    webhook_id: Id,
    data: WebhookUpdate,
    response: Response,
    ctx: CtxDep,
    settings: SettingsDep,
    _: Principal = require_roles("admin"),
) -> WebhookPublic:
    """Change a subscription. A new secret starts a 24-hour rotation in which both sign."""
    sub = await service.update_webhook(ctx, settings, webhook_id, data=data)
    with_etag(response, sub.version)
    return service.to_public(ctx, sub)


@webhooks_router.delete("/{webhook_id}", status_code=204, response_class=Response)
async def delete_webhook(webhook_id: Id, ctx: CtxDep, _: Principal = require_roles("admin")) -> Response:
    await service.delete_webhook(ctx, webhook_id)
    return Response(status_code=204)


@webhooks_router.get("/{webhook_id}/deliveries", response_model=Page[WebhookDeliveryPublic])
async def list_deliveries(
    webhook_id: Id,
    ctx: CtxDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles("admin"),
) -> Page[WebhookDeliveryPublic]:
    """The delivery log, newest first."""
    rows, next_cursor = await service.list_deliveries(ctx, webhook_id, limit=limit, cursor=cursor)
    return Page(
        items=[WebhookDeliveryPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )
