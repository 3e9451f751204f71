"""`next_deadline` for list pages and the `sort=due` order (issue 15), shared by dissents and
appeals. A page's next deadlines come from one query over the page's ids (the deadline's
(subject_id, kind) index), never one per row."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from app.context import Ctx
from app.db import UTCDateTime
from app.models.dissent import Deadline, NextDeadline
from app.pagination import cursor_datetime, cursor_uuid, decode_cursor, encode_cursor
from app.rules import deadline as deadline_rules
from app.rules.due import next_open
from app.vocab import DeadlineKind


def _is_open() -> list[sa.ColumnElement[bool]]:
    return [col(Deadline.met_at).is_(None), col(Deadline.cancelled_at).is_(None)]


def next_deadline(ctx: Ctx, deadlines: Sequence[Deadline]) -> NextDeadline | None:
    found = next_open(deadlines)
    if found is None:
        return None
    status = deadline_rules.deadline_status(due_at=found.due_at, met_at=None, cancelled_at=None, now=ctx.now)
    assert status in ("pending", "missed")  # an open deadline is one or the other
    return NextDeadline(
        kind=DeadlineKind(found.kind), due_at=found.due_at, due_date=found.due_date, status=status
    )


async def next_deadlines(ctx: Ctx, subject_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, NextDeadline]:
    """Each subject's next open deadline (subjects with none are left out), in one query."""
    if not subject_ids:
        return {}
    found = await ctx.session.exec(
        select(Deadline).where(col(Deadline.subject_id).in_(list(subject_ids)), *_is_open())
    )
    by_subject: dict[uuid.UUID, list[Deadline]] = {}
    for deadline in found.all():
        by_subject.setdefault(deadline.subject_id, []).append(deadline)
    return {
        subject: upcoming
        for subject, deadlines in by_subject.items()
        if (upcoming := next_deadline(ctx, deadlines)) is not None
    }


def next_due_at(subject_id: Any, *, when: sa.ColumnElement[bool]) -> sa.ColumnElement[datetime]:
    """The due time of a subject's next open deadline while `when` holds (else NULL), as a
    correlated subquery read through the aware-UTC column type on both databases."""
    earliest = (
        sa.select(sa.func.min(col(Deadline.due_at)))
        .where(col(Deadline.subject_id) == subject_id, *_is_open())
        .scalar_subquery()
    )
    return sa.type_coerce(sa.case((when, earliest)), UTCDateTime())


def due_cursor(due: datetime | None, item_id: uuid.UUID) -> list[Any]:
    return [due.isoformat() if due is not None else None, str(item_id)]


async def due_page(
    query: Any,
    *,
    id_column: Any,
    when: sa.ColumnElement[bool],
    fetch: Callable[[Any], Awaitable[Sequence[Any]]],
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """One page of `query` by next open deadline (soonest first, none last), then id, after
    the cursor's (due, id). `when` says which rows can have a next deadline at all."""
    after = decode_cursor(cursor, 2)
    due = next_due_at(id_column, when=when)
    query = query.add_columns(due.label("next_due"))
    if after is not None:
        last_id = cursor_uuid(after[1])
        if after[0] is None:
            query = query.where(due.is_(None), id_column > last_id)
        else:
            last_due = cursor_datetime(after[0])
            query = query.where(
                sa.or_(due > last_due, sa.and_(due == last_due, id_column > last_id), due.is_(None))
            )
    rows = list(await fetch(query.order_by(due.is_(None), due, id_column).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(due_cursor(last.next_due, last.id))
    return rows[:limit], next_cursor
