"""Audit entries and outbox events, written in the caller's transaction beside the change."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from app.context import Ctx
from app.db import new_id
from app.models.authority import Authority
from app.models.base import table_of
from app.models.platform import Event
from app.principal import Principal
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


PENDING_EVENTS = "pending_events"
_EVENTS = table_of(Event)
_AUTHORITIES = table_of(Authority)


async def emit(
    ctx: Ctx,
    type_: str,
    subject_kind: str,
    subject_id: uuid.UUID | str,
    data: dict[str, Any] | None = None,
) -> None:
    """Add an event to the authority's gap-free feed. It is numbered and inserted when the
    transaction commits (`_publish_pending`), so the authority's counter is locked only for
    the last statements of the transaction, not from here to the end of the request."""
    ctx.session.info.setdefault(PENDING_EVENTS, []).append(
        {
            "id": new_id(),
            "authority_id": ctx.authority.id,
            "type": type_,
            "occurred_at": ctx.now,
            "subject_kind": subject_kind,
            "subject_id": str(subject_id),
            "data": data or {},
        }
    )


def pending_events(
    session: AsyncSession, subject_kind: str, subject_id: uuid.UUID | str
) -> list[dict[str, Any]]:
    """Events this transaction has emitted about a subject and not yet written."""
    queued: list[dict[str, Any]] = session.info.get(PENDING_EVENTS, [])
    return [e for e in queued if e["subject_kind"] == subject_kind and e["subject_id"] == str(subject_id)]


def _publish_pending(session: Session) -> None:
    """Number the queued events and insert them: per authority, one UPDATE that takes the
    next numbers and locks the counter until commit (so commits happen in number order and
    the feed has no gaps), and one INSERT."""
    queued: list[dict[str, Any]] = session.info.pop(PENDING_EVENTS, [])
    by_authority: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for event in queued:
        by_authority.setdefault(event["authority_id"], []).append(event)
    for authority_id in sorted(by_authority):  # a fixed lock order, so two commits never deadlock
        events = by_authority[authority_id]
        last = session.execute(
            sa.update(_AUTHORITIES)
            .where(_AUTHORITIES.c.id == authority_id)
            .values(event_seq=_AUTHORITIES.c.event_seq + len(events))
            .returning(_AUTHORITIES.c.event_seq)
        ).scalar_one()
        for offset, event in enumerate(events):
            event["seq"] = last - len(events) + offset + 1
        session.execute(sa.insert(_EVENTS), events)


@orm_event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _publish_pending(session)


@orm_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_EVENTS, None)


async def record_change(
    ctx: Ctx,
    *,
    event_type: str,
    entity_kind: str,
    entity_id: uuid.UUID,
    data: dict[str, Any] | None = None,
    audit_detail: dict[str, Any] | None = None,
) -> None:
    """The usual pair for a state change: an event for integrators and an audit entry."""
    audit(ctx, event_type, entity_kind, entity_id, audit_detail if audit_detail is not None else data)
    await emit(ctx, event_type, entity_kind, entity_id, data)
    await ctx.session.flush()


def audit_list(
    ctx: Ctx,
    entity_kind: str,
    ids: Sequence[object],
    filters: Mapping[str, object] | None = None,
    *,
    action: str | None = None,
) -> None:
    """Record a list read: which records it disclosed (their ids, or seqs) and the filter
    that found them, so a search like `?external_ref=` can be traced to what it showed."""
    detail = {
        "count": len(ids),
        "ids": [i if isinstance(i, int) else str(i) for i in ids],
        "filter": {k: _plain(v) for k, v in (filters or {}).items() if v is not None},
    }
    audit(ctx, action or f"{entity_kind}.list", entity_kind, None, detail)


def _plain(value: object) -> object:
    if isinstance(value, bool | int | str):
        return value.value if isinstance(value, StrEnum) else value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
