"""Audit entries and outbox events, written in the caller's transaction beside the change."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from app.deps import Ctx
from app.models.authority import Authority
from app.models.platform import Event
from app.security import Principal
from app.services.audit import queue


def audit(
    ctx: Ctx,
    action: str,
    entity_kind: str,
    entity_id: uuid.UUID | str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    add_audit(
        ctx.session.info,
        actor=ctx.actor,
        authority_code=ctx.authority.code,
        action=action,
        entity_kind=entity_kind,
        entity_id=entity_id,
        request_id=ctx.request_id,
        now=ctx.now,
        detail=detail,
    )


def add_audit(
    session_info: dict[str, Any],
    *,
    actor: Principal,
    authority_code: str | None,
    action: str,
    entity_kind: str,
    entity_id: uuid.UUID | str | None,
    request_id: str | None,
    now: Any,
    detail: dict[str, Any] | None = None,
) -> None:
    queue(
        session_info,
        {
            "authority_code": authority_code,
            "actor_sub": actor.sub,
            "actor_roles": sorted(actor.roles),
            "action": action,
            "entity_kind": entity_kind,
            "entity_id": None if entity_id is None else str(entity_id),
            "request_id": request_id,
            "occurred_at": now,
            "detail": detail or {},
        },
    )


async def emit(
    ctx: Ctx,
    type_: str,
    subject_kind: str,
    subject_id: uuid.UUID | str,
    data: dict[str, Any] | None = None,
) -> Event:
    """Append an event to the authority's gap-free feed. Taking the next number locks the
    authority's row until commit, which is what keeps the sequence free of gaps."""
    connection = await ctx.session.connection()
    result = await connection.execute(
        update(Authority)
        .where(col(Authority.id) == ctx.authority.id)
        .values(event_seq=col(Authority.event_seq) + 1)
        .returning(col(Authority.event_seq))
    )
    seq = int(result.scalar_one())
    event = Event(
        authority_id=ctx.authority.id,
        seq=seq,
        type=type_,
        occurred_at=ctx.now,
        subject_kind=subject_kind,
        subject_id=str(subject_id),
        data=data or {},
    )
    ctx.session.add(event)
    return event


async def record_change(
    ctx: Ctx,
    *,
    event_type: str,
    entity_kind: str,
    entity_id: uuid.UUID,
    data: dict[str, Any] | None = None,
    audit_detail: dict[str, Any] | None = None,
) -> Event:
    """The usual pair for a state change: an event for integrators and an audit entry."""
    audit(ctx, event_type, entity_kind, entity_id, audit_detail if audit_detail is not None else data)
    event = await emit(ctx, event_type, entity_kind, entity_id, data)
    await ctx.session.flush()
    return event
