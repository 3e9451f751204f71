"""Webhook subscriptions: create, change (with secret rotation), remove, and the delivery log."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import col, select

from app.config import Settings
from app.context import Ctx
from app.errors import RuleViolation
from app.models.authority import Authority
from app.models.webhook import (
    WebhookCreate,
    WebhookDelivery,
    WebhookPublic,
    WebhookSubscription,
    WebhookUpdate,
)
from app.pagination import MAX_BIGINT, Key, Keyset, by_id, cursor_int, keyset_page
from app.rules.webhooks import check_url
from app.services.journal import record_change
from app.services.scope import fetch_all, load_scoped

_SUBSCRIPTIONS = by_id(col(WebhookSubscription.id), descending=False)
_DELIVERIES: Keyset[WebhookDelivery] = Keyset(
    (Key(col(WebhookDelivery.id), lambda v: cursor_int(v, MAX_BIGINT), lambda d: d.id),)
)


ROTATION_OVERLAP = timedelta(hours=24)
KNOWN_EVENT_PREFIXES = (
    "authority.",
    "child.",
    "conference.",
    "dissent.",
    "decision.",
    "deadline.",
    "review_note.",
    "appeal.",
    "complaint.",
    "webhook.",
)


async def resolve(host: str) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


async def validate_url(url: str, settings: Settings) -> None:
    host = (urlsplit(url).hostname or "").lower()
    allowed = settings.webhook_allowed_host_set
    check_url(
        url, allowed_hosts=allowed, resolved=await resolve(host) if host and host not in allowed else []
    )


def _check_event_types(types: list[str]) -> None:
    bad = [t for t in types if t != "*" and not t.startswith(KNOWN_EVENT_PREFIXES)]
    if bad:
        raise RuleViolation(f"unknown event types: {', '.join(bad)}", code="validation_error")


def to_public(ctx: Ctx, sub: WebhookSubscription) -> WebhookPublic:
    rotating = (
        sub.previous_secret_expires_at if sub.previous_secret and sub.previous_secret_expires_at else None
    )
    return WebhookPublic(
        id=sub.id,
        url=sub.url,
        description=sub.description,
        event_types=sub.event_types,
        active=sub.active,
        cursor_seq=sub.cursor_seq,
        consecutive_failures=sub.consecutive_failures,
        next_attempt_at=sub.next_attempt_at,
        secret_rotation_ends_at=rotating if rotating and rotating > ctx.now else None,
        version=sub.version,
        created_at=sub.created_at,
    )


async def _current_seq(ctx: Ctx) -> int:
    # Read, not taken from ctx.authority: that snapshot may be a moment old (deps.AuthorityCache).
    seq = await ctx.session.exec(select(Authority.event_seq).where(Authority.id == ctx.authority.id))
    return int(seq.one())


async def create_webhook(ctx: Ctx, settings: Settings, *, data: WebhookCreate) -> WebhookSubscription:
    _check_event_types(data.event_types)
    await validate_url(data.url, settings)
    sub = WebhookSubscription(
        authority_id=ctx.authority.id,
        url=data.url,
        description=data.description,
        event_types=sorted(set(data.event_types)),
        secret=data.secret,
        # A new subscription receives what happens from now on; the feed has the past.
        cursor_seq=await _current_seq(ctx),
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(sub)
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="webhook.created",
        entity_kind="webhook",
        entity_id=sub.id,
        data={"event_types": sub.event_types},
        audit_detail={"url": sub.url, "event_types": sub.event_types},
    )
    return sub


async def load_webhook(ctx: Ctx, webhook_id: uuid.UUID, *, for_update: bool = False) -> WebhookSubscription:
    return await load_scoped(
        ctx, WebhookSubscription, webhook_id, for_update=for_update, missing="no such webhook"
    )


async def list_webhooks(
    ctx: Ctx, *, limit: int, cursor: str | None
) -> tuple[list[WebhookSubscription], str | None]:
    after = _SUBSCRIPTIONS.parse(cursor)
    query = select(WebhookSubscription).where(WebhookSubscription.authority_id == ctx.authority.id)
    return await keyset_page(_SUBSCRIPTIONS, query, fetch_all(ctx), after=after, limit=limit)


async def update_webhook(
    ctx: Ctx, settings: Settings, webhook_id: uuid.UUID, *, data: WebhookUpdate
) -> WebhookSubscription:
    sub = await load_webhook(ctx, webhook_id, for_update=True)
    changed: list[str] = []
    if data.url is not None and data.url != sub.url:
        await validate_url(data.url, settings)
        sub.url = data.url
        changed.append("url")
    if data.event_types is not None:
        _check_event_types(data.event_types)
        sub.event_types = sorted(set(data.event_types))
        changed.append("event_types")
    if data.secret is not None and data.secret != sub.secret:
        sub.previous_secret, sub.previous_secret_expires_at = sub.secret, ctx.now + ROTATION_OVERLAP
        sub.secret = data.secret
        changed.append("secret")
    if data.active is not None and data.active != sub.active:
        sub.active = data.active
        if data.active:  # a re-enabled endpoint is tried straight away
            sub.consecutive_failures, sub.next_attempt_at = 0, None
        changed.append("active")
    if data.description is not None:
        sub.description = data.description
        changed.append("description")
    sub.updated_at = ctx.now
    ctx.session.add(sub)
    await ctx.session.flush()
    await record_change(
        ctx, event_type="webhook.updated", entity_kind="webhook", entity_id=sub.id, data={"changed": changed}
    )
    return sub


async def delete_webhook(ctx: Ctx, webhook_id: uuid.UUID) -> None:
    sub = await load_webhook(ctx, webhook_id, for_update=True)
    await ctx.session.delete(sub)
    await ctx.session.flush()
    await record_change(ctx, event_type="webhook.deleted", entity_kind="webhook", entity_id=webhook_id)


async def list_deliveries(
    ctx: Ctx, webhook_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[WebhookDelivery], str | None]:
    """The delivery log, newest first."""
    after = _DELIVERIES.parse(cursor)
    await load_webhook(ctx, webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == webhook_id)
    return await keyset_page(_DELIVERIES, query, fetch_all(ctx), after=after, limit=limit)
