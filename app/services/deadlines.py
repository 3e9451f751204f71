"""Stored deadlines (SPEC §5-6): started from a profile rule when their step starts, met or
cancelled when it ends, shown with their status. Dissents and appeals both use these."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from app.context import Ctx
from app.models.dissent import Deadline, DeadlinePublic
from app.profiles.schema import DeadlineRule
from app.rules import deadline as rules
from app.vocab import DeadlineKind


async def start_deadline(
    ctx: Ctx,
    *,
    subject_kind: str,
    subject_id: uuid.UUID,
    rule: DeadlineRule,
    meeting_date: date,
    responsible_role: str,
    lapses: bool = False,
) -> Deadline:
    """Start the deadline `rule` describes, counted from the date its `counted_from` names
    (the meeting date, or the day it is received: today)."""
    started = rules.start(
        ctx.calendar, rule, meeting_date=meeting_date, received=ctx.calendar.local_date(ctx.now)
    )
    deadline = Deadline(
        authority_id=ctx.authority.id,
        subject_kind=subject_kind,
        subject_id=subject_id,
        kind=rule.kind,
        responsible_role=responsible_role,
        lapses=lapses,
        start_date=started.start_date,
        due_date=started.due_date,
        due_at=started.due_at,
        explanation=started.explanation,
        approaching_at=started.approaching_at,
        created_at=ctx.now,
    )
    ctx.session.add(deadline)
    return deadline


async def deadlines_of(ctx: Ctx, subject_id: uuid.UUID) -> list[Deadline]:
    rows = await ctx.session.exec(
        select(Deadline).where(Deadline.subject_id == subject_id).order_by(col(Deadline.due_at))
    )
    return list(rows.all())


async def deadlines_by_subject(ctx: Ctx, subject_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Deadline]]:
    found: dict[uuid.UUID, list[Deadline]] = {s: [] for s in subject_ids}
    if subject_ids:
        rows = await ctx.session.exec(select(Deadline).where(col(Deadline.subject_id).in_(subject_ids)))
        for d in rows.all():
            found[d.subject_id].append(d)
    return found


async def meet_deadline(ctx: Ctx, subject_id: uuid.UUID, kind: DeadlineKind) -> None:
    deadline = (
        await ctx.session.exec(
            select(Deadline).where(Deadline.subject_id == subject_id, Deadline.kind == kind.value)
        )
    ).first()
    if deadline is not None and deadline.met_at is None and deadline.cancelled_at is None:
        deadline.met_at = ctx.now
        deadline.days_taken = ctx.calendar.working_days_between(
            deadline.start_date, ctx.calendar.local_date(ctx.now)
        )
        ctx.session.add(deadline)


async def cancel_open_deadlines(ctx: Ctx, subject_id: uuid.UUID) -> None:
    for deadline in await deadlines_of(ctx, subject_id):
        if deadline.met_at is None and deadline.cancelled_at is None:
            deadline.cancelled_at = ctx.now
            ctx.session.add(deadline)


def deadline_public(ctx: Ctx, deadline: Deadline) -> DeadlinePublic:
    return DeadlinePublic(
        kind=DeadlineKind(deadline.kind),
        due_at=deadline.due_at,
        due_date=deadline.due_date,
        status=rules.deadline_status(
            due_at=deadline.due_at, met_at=deadline.met_at, cancelled_at=deadline.cancelled_at, now=ctx.now
        ),
        met_at=deadline.met_at,
        explanation=deadline.explanation,
        responsible_role=deadline.responsible_role,
    )


def past_due_sql(now: datetime) -> list[ColumnElement[bool]]:
    """`rules.deadline.past_due` in SQL: a deadline still open after its due time."""
    return [col(Deadline.met_at).is_(None), col(Deadline.cancelled_at).is_(None), col(Deadline.due_at) < now]
