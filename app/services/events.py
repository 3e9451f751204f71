"""The event feed's public shape, shared by GET /v1/events and webhook deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field

from app.context import Ctx
from app.models.base import table_of
from app.models.platform import Event
from app.pagination import cursor_int, decode_cursor, encode_cursor
from app.services.journal import audit_list


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
    next_cursor: str = Field(
        description="Pass back as `cursor` to continue, as with every list. A feed has no last "
        "page: it is never null, and stays the same while nothing new has happened"
    )
    next_after: int = Field(
        deprecated=True,
        description="Deprecated (kept for one release): use `next_cursor`. Pass as `after` to "
        "continue; equal to `after` when nothing new",
    )


def feed_cursor(seq: int) -> str:
    """The feed's position as an opaque cursor, like every list's."""
    return encode_cursor([seq])


def feed_position(cursor: str) -> int:
    values = decode_cursor(cursor, 1)
    assert values is not None
    return cursor_int(values[0])


def event_public(authority_code: str, event: Event | sa.Row[Any]) -> EventPublic:
    return EventPublic(
        seq=event.seq,
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        authority=authority_code,
        subject=EventSubject(kind=event.subject_kind, id=event.subject_id),
        data=event.data,
    )


_EVENTS = table_of(Event)
_FEED_COLUMNS = [
    _EVENTS.c[name] for name in ("seq", "id", "type", "occurred_at", "subject_kind", "subject_id", "data")
]


async def list_events(ctx: Ctx, *, after: int, limit: int) -> list[EventPublic]:
    # Plain rows, not ORM objects: a feed page is read-only and polled all day.
    connection = await ctx.session.connection()
    rows = await connection.execute(
        sa.select(*_FEED_COLUMNS)
        .where(_EVENTS.c.authority_id == ctx.authority.id, _EVENTS.c.seq > after)
        .order_by(_EVENTS.c.seq)
        .limit(limit)
    )
    items = [event_public(ctx.authority.code, row) for row in rows]
    if items:  # a poll that finds nothing new discloses nothing (and pollers poll all day)
        audit_list(ctx, "event", [e.seq for e in items], {"after": after})
    return items
