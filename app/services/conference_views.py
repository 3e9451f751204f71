"""What a caller sees of conferences: one in full (attendees, current decisions, the
dissents they may see, the appeal deadline) and a page of summaries."""

from __future__ import annotations

import uuid

from sqlalchemy import exists
from sqlmodel import col, select

from app.context import Ctx
from app.models.conference import (
    AppealDeadline,
    Attendee,
    AttendeePublic,
    Conference,
    ConferenceChild,
    ConferencePublic,
    ConferenceSummary,
)
from app.models.procedure import ProcedureRef
from app.pagination import Key, Keyset, cursor_datetime, cursor_uuid
from app.rules import access
from app.services.conferences import child_ids_of, load_conference, visibility
from app.services.decisions import current_decisions, decision_public
from app.services.dissent_views import visible_dissent_ids
from app.services.journal import audit, audit_list
from app.services.procedures import procedure_of
from app.services.scope import page_of
from app.vocab import ConferenceStatus

_PAGE: Keyset[Conference] = Keyset(
    (
        Key(col(Conference.scheduled_start), cursor_datetime, lambda c: c.scheduled_start),
        Key(col(Conference.id), cursor_uuid, lambda c: c.id),
    )
)


def summary(conference: Conference, child_ids: list[uuid.UUID]) -> ConferenceSummary:
    return ConferenceSummary(
        id=conference.id,
        meeting_type=conference.meeting_type,
        status=ConferenceStatus(conference.status),
        scheduled_start=conference.scheduled_start,
        meeting_date=conference.meeting_date,
        chair_id=conference.chair_id,
        chair_name=conference.chair_name,
        child_ids=child_ids,
        reconvened_from=conference.reconvened_from_id,
        procedure=ProcedureRef(code=conference.procedure_code, version=conference.procedure_version),
        version=conference.version,
    )


def appeal_deadline(ctx: Ctx, conference: Conference) -> AppealDeadline | None:
    """The family's last day to appeal, fixed when the meeting ended."""
    if conference.appeal_due_at is None:
        return None
    return AppealDeadline(
        due_at=conference.appeal_due_at,
        due_date=ctx.calendar.local_date(conference.appeal_due_at),
        explanation=conference.appeal_due_explanation or "",
    )


async def to_public(ctx: Ctx, conference: Conference) -> ConferencePublic:
    child_ids = await child_ids_of(ctx, conference.id)
    attendees = (
        await ctx.session.exec(
            select(Attendee).where(Attendee.conference_id == conference.id).order_by(col(Attendee.created_at))
        )
    ).all()
    decisions = await current_decisions(ctx, conference.id)
    profile = await procedure_of(ctx, conference)
    base = summary(conference, child_ids).model_dump()
    return ConferencePublic(
        **base,
        started_at=conference.started_at,
        ended_at=conference.ended_at,
        cancelled_at=conference.cancelled_at,
        dissent_invited_at=conference.dissent_invited_at,
        appeal_rights_explained_at=conference.appeal_rights_explained_at,
        participants_advised_at=conference.participants_advised_at,
        appeal_deadline=appeal_deadline(ctx, conference),
        attendees=[AttendeePublic.model_validate(a, from_attributes=True) for a in attendees],
        decisions=[decision_public(profile, d) for d in decisions],
        dissent_ids=await visible_dissent_ids(ctx, conference.id),
        created_at=conference.created_at,
    )


async def get_conference(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_conference(ctx, conference_id)
    audit(ctx, "conference.read", "conference", conference.id)
    return conference


async def _children_of(ctx: Ctx, rows: list[Conference]) -> dict[uuid.UUID, list[uuid.UUID]]:
    children: dict[uuid.UUID, list[uuid.UUID]] = {r.id: [] for r in rows}
    if rows:
        links = await ctx.session.exec(
            select(ConferenceChild)
            .where(col(ConferenceChild.conference_id).in_(list(children)))
            .order_by(col(ConferenceChild.position))
        )
        for link in links.all():
            children[link.conference_id].append(link.child_id)
    return children


async def list_conferences(
    ctx: Ctx, *, status: ConferenceStatus | None, child_id: uuid.UUID | None, limit: int, cursor: str | None
) -> tuple[list[ConferenceSummary], str | None]:
    query = select(Conference).where(Conference.authority_id == ctx.authority.id)
    access.require_list_scope(ctx.actor, "conferences")
    scope = visibility(ctx)
    if scope is not None:
        query = query.where(scope)
    if status is not None:
        query = query.where(Conference.status == status.value)
    if child_id is not None:
        query = query.where(
            exists().where(
                col(ConferenceChild.conference_id) == Conference.id,
                col(ConferenceChild.child_id) == child_id,
            )
        )
    rows, next_cursor = await page_of(ctx, _PAGE, query, cursor=cursor, limit=limit)
    children = await _children_of(ctx, rows)
    audit_list(ctx, "conference", [r.id for r in rows], {"status": status, "child_id": child_id})
    return [summary(r, children[r.id]) for r in rows], next_cursor
