"""The event feed's public shape, shared by GET /v1/events and webhook deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import col, select

from app.deps import Ctx
from app.models.platform import Event


class EventSubject(BaseModel):
    kind: str
    id: str


class EventPublic(BaseModel):
    seq: int
    id: uuid.UUID
    type: str
    occurred_at: datetime
    authority: str
    subject: EventSubject
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventPublic]
    next_after: int = Field(description="Pass as `after` to continue; equal to `after` when nothing new")


def event_public(authority_code: str, event: Event) -> EventPublic:
    return EventPublic(
        seq=event.seq,
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        authority=authority_code,
        subject=EventSubject(kind=event.subject_kind, id=event.subject_id),
        data=event.data,
    )


async def list_events(ctx: Ctx, *, after: int, limit: int) -> list[EventPublic]:
    rows = await ctx.session.exec(
        select(Event)
        .where(Event.authority_id == ctx.authority.id, col(Event.seq) > after)
        .order_by(col(Event.seq))
        .limit(limit)
    )
    return [event_public(ctx.authority.code, e) for e in rows.all()]
