"""Conferences: scheduling, attendance, the meeting itself (start, decisions, confirmations,
end) and cancellation. The chair's actions need the chair role and to be this meeting's chair."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import and_, exists, or_
from sqlmodel import col, select

from app.deps import Ctx
from app.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.models.child import Child
from app.models.conference import (
    AppealDeadline,
    Attendee,
    AttendeeCreate,
    AttendeePublic,
    Conference,
    ConferenceChild,
    ConferenceCreate,
    ConferencePublic,
    ConferenceStatus,
    ConferenceSummary,
    Decision,
    DecisionCreate,
    DecisionOutcome,
    DecisionPublic,
)
from app.models.dissent import ReconveneIn
from app.pagination import cursor_datetime, cursor_uuid, decode_cursor, encode_cursor
from app.profiles.schema import DecisionOutcomeCode
from app.rules import conference as rules
from app.rules.access import (
    Scope,
    can_manage_attendees,
    can_see_conference,
    conference_scope,
    is_conference_chair,
)
from app.rules.dissent import compute as compute_deadline
from app.services import documents
from app.services.journal import audit, record_change
from app.services.scope import row_filter

# ---- loading and visibility ----------------------------------------------------------------


def _visibility_filter(ctx: Ctx) -> Any:
    return row_filter(
        ctx,
        professional=exists().where(
            col(Attendee.conference_id) == Conference.id,
            col(Attendee.person_id) == ctx.actor.sub,
            col(Attendee.attended).is_(True),
        ),
        chair=Conference.chair_id == ctx.actor.sub,
    )


async def attendee_ids(ctx: Ctx, conference_id: uuid.UUID) -> set[str]:
    """People recorded as attending (an invitee who did not come sees nothing)."""
    rows = await ctx.session.exec(
        select(Attendee.person_id).where(
            Attendee.conference_id == conference_id, col(Attendee.attended).is_(True)
        )
    )
    return set(rows.all())


async def load_conference(ctx: Ctx, conference_id: uuid.UUID, *, for_update: bool = False) -> Conference:
    """The conference if the caller may see it; 404 otherwise, whatever the reason."""
    query = select(Conference).where(
        Conference.id == conference_id, Conference.authority_id == ctx.authority.id
    )
    if for_update:
        query = query.with_for_update()
    conference = (await ctx.session.exec(query)).first()
    if conference is None:
        raise NotFound("no such conference")
    if conference_scope(ctx.actor) is not Scope.all and not can_see_conference(
        ctx.actor, chair_id=conference.chair_id, attendee_ids=await attendee_ids(ctx, conference.id)
    ):
        raise NotFound("no such conference")
    if for_update:
        ctx.check_version(conference.version)
    return conference


async def get_conference(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_conference(ctx, conference_id)
    audit(ctx, "conference.read", "conference", conference.id)
    return conference


async def load_for_chair(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_conference(ctx, conference_id, for_update=True)
    if not is_conference_chair(ctx.actor, conference.chair_id):
        raise Forbidden("only this meeting's chair can do that")
    return conference


async def child_ids_of(ctx: Ctx, conference_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await ctx.session.exec(
        select(ConferenceChild.child_id)
        .where(ConferenceChild.conference_id == conference_id)
        .order_by(col(ConferenceChild.position))
    )
    return list(rows.all())


async def current_decisions(ctx: Ctx, conference_id: uuid.UUID) -> list[Decision]:
    rows = await ctx.session.exec(
        select(Decision).where(Decision.conference_id == conference_id, col(Decision.superseded_at).is_(None))
    )
    return list(rows.all())


# ---- presentation ----------------------------------------------------------------------------


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


def decision_public(ctx: Ctx, decision: Decision) -> DecisionPublic:
    return DecisionPublic(
        id=decision.id,
        child_id=decision.child_id,
        outcome=DecisionOutcome(decision.outcome),
        # The column's check constraint holds it to the four codes the profile labels.
        outcome_label=ctx.profile.decision_outcome_labels[cast(DecisionOutcomeCode, decision.outcome)],
        categories=decision.categories,
        plan_summary=decision.plan_summary,
        recorded_at=decision.recorded_at,
        amended=decision.amends_id is not None,
    )


async def to_public(ctx: Ctx, conference: Conference) -> ConferencePublic:
    from app.services.dissents import visible_dissent_ids

    child_ids = await child_ids_of(ctx, conference.id)
    attendees = (
        await ctx.session.exec(
            select(Attendee).where(Attendee.conference_id == conference.id).order_by(col(Attendee.created_at))
        )
    ).all()
    decisions = await current_decisions(ctx, conference.id)
    base = summary(conference, child_ids).model_dump()
    return ConferencePublic(
        **base,
        started_at=conference.started_at,
        ended_at=conference.ended_at,
        cancelled_at=conference.cancelled_at,
        dissent_invited_at=conference.dissent_invited_at,
        appeal_rights_explained_at=conference.appeal_rights_explained_at,
        appeal_deadline=appeal_deadline(ctx, conference),
        attendees=[AttendeePublic.model_validate(a, from_attributes=True) for a in attendees],
        decisions=[decision_public(ctx, d) for d in decisions],
        dissent_ids=await visible_dissent_ids(ctx, conference.id),
        created_at=conference.created_at,
    )


# ---- commands --------------------------------------------------------------------------------


def _touch(ctx: Ctx, conference: Conference) -> None:
    conference.updated_at = ctx.now
    ctx.session.add(conference)


async def create_conference(ctx: Ctx, *, data: ConferenceCreate) -> Conference:
    profile = ctx.profile
    if profile.meeting_type_label(data.meeting_type) is None:
        codes = ", ".join(m.code for m in profile.meeting_types)
        raise RuleViolation(
            f"meeting_type must be one of this procedure's: {codes}", code="unknown_meeting_type"
        )
    if data.scheduled_start.tzinfo is None:
        raise RuleViolation("scheduled_start needs a time zone offset or Z", code="validation_error")
    if len(set(data.child_ids)) != len(data.child_ids):
        raise RuleViolation("a child is listed twice", code="validation_error")
    found = set(
        (
            await ctx.session.exec(
                select(Child.id).where(
                    Child.authority_id == ctx.authority.id, col(Child.id).in_(data.child_ids)
                )
            )
        ).all()
    )
    missing = [str(c) for c in data.child_ids if c not in found]
    if missing:
        raise RuleViolation(f"no such child: {', '.join(missing)}", code="child_not_found")
    original_chair = None
    if data.reconvened_from is not None:
        original = (
            await ctx.session.exec(
                select(Conference).where(
                    Conference.id == data.reconvened_from, Conference.authority_id == ctx.authority.id
                )
            )
        ).first()
        if original is None:
            raise RuleViolation(
                "reconvened_from is not a conference of this authority", code="conference_not_found"
            )
        original_chair = original.chair_id
    rules.check_different_chair(profile, original_chair_id=original_chair, chair_id=data.chair_id)
    conference = Conference(
        authority_id=ctx.authority.id,
        meeting_type=data.meeting_type,
        scheduled_start=data.scheduled_start,
        meeting_date=ctx.calendar.local_date(data.scheduled_start),
        chair_id=data.chair_id,
        chair_name=data.chair_name,
        reconvened_from_id=data.reconvened_from,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(conference)
    await ctx.session.flush()
    for position, child_id in enumerate(data.child_ids):
        ctx.session.add(ConferenceChild(conference_id=conference.id, child_id=child_id, position=position))
    await record_change(
        ctx,
        event_type="conference.scheduled",
        entity_kind="conference",
        entity_id=conference.id,
        data={
            "meeting_type": conference.meeting_type,
            "scheduled_start": conference.scheduled_start.isoformat(),
            "child_ids": [str(c) for c in data.child_ids],
            "reconvened_from": str(data.reconvened_from) if data.reconvened_from else None,
        },
    )
    return conference


async def reconvene_conference(
    ctx: Ctx, original: Conference, *, when: ReconveneIn, cause: dict[str, str]
) -> Conference:
    """A new meeting for the same children, linked to the original (after a dissent review or
    an appeal); the profile's different-chair rule applies at creation."""
    new = await create_conference(
        ctx,
        data=ConferenceCreate(
            meeting_type=original.meeting_type,
            scheduled_start=when.scheduled_start,
            chair_id=when.chair_id,
            chair_name=when.chair_name,
            child_ids=await child_ids_of(ctx, original.id),
            reconvened_from=original.id,
        ),
    )
    await record_change(
        ctx,
        event_type="conference.reconvene_requested",
        entity_kind="conference",
        entity_id=original.id,
        data={"reconvened_conference_id": str(new.id), **cause},
    )
    return new


async def record_attendee(
    ctx: Ctx, conference_id: uuid.UUID, *, data: AttendeeCreate
) -> tuple[Attendee, bool]:
    """Add someone to the meeting's attendance, or update their entry. Returns (row, created)."""
    conference = await load_conference(ctx, conference_id, for_update=True)
    if not can_manage_attendees(ctx.actor, conference.chair_id):
        raise Forbidden("only the record system or this meeting's chair can record attendance")
    rules.require_open(conference.status, "attendance can be recorded")
    attendee = (
        await ctx.session.exec(
            select(Attendee).where(
                Attendee.conference_id == conference.id, Attendee.person_id == data.person_id
            )
        )
    ).first()
    created = attendee is None
    if attendee is None:
        attendee = Attendee(
            authority_id=ctx.authority.id,
            conference_id=conference.id,
            created_at=ctx.now,
            **data.model_dump(),
        )
    else:
        for field, value in data.model_dump().items():
            setattr(attendee, field, value)
    ctx.session.add(attendee)
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="conference.attendee_recorded",
        entity_kind="conference",
        entity_id=conference.id,
        data={
            "attendee_id": str(attendee.id),
            "person_id": attendee.person_id,
            "kind": attendee.kind,
            "attended": attendee.attended,
        },
    )
    return attendee, created


async def start_conference(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_for_chair(ctx, conference_id)
    conference.status = rules.next_status(conference.status, "start")
    if conference.reconvened_from_id is not None:
        original = await ctx.session.get(Conference, conference.reconvened_from_id)
        rules.check_different_chair(
            ctx.profile,
            original_chair_id=original.chair_id if original else None,
            chair_id=conference.chair_id,
        )
    conference.started_at = ctx.now
    conference.meeting_date = ctx.calendar.local_date(ctx.now)
    _touch(ctx, conference)
    await record_change(
        ctx,
        event_type="conference.started",
        entity_kind="conference",
        entity_id=conference.id,
        data={"meeting_date": conference.meeting_date.isoformat()},
    )
    return conference


async def record_decision(ctx: Ctx, conference_id: uuid.UUID, *, data: DecisionCreate) -> Decision:
    conference = await load_for_chair(ctx, conference_id)
    rules.require_in_progress(conference.status, "decisions can be recorded")
    if data.child_id not in await child_ids_of(ctx, conference.id):
        raise RuleViolation("that child is not part of this meeting", code="child_not_in_conference")
    rules.check_decision(
        ctx.profile,
        outcome=data.outcome.value,
        categories=data.categories,
        extra_category_codes=[c["code"] for c in ctx.authority.extra_categories],
    )
    decision = (
        await ctx.session.exec(
            select(Decision).where(
                Decision.conference_id == conference.id,
                Decision.child_id == data.child_id,
                col(Decision.superseded_at).is_(None),
            )
        )
    ).first()
    replaced = decision is not None
    if decision is None:
        decision = Decision(
            authority_id=ctx.authority.id,
            conference_id=conference.id,
            child_id=data.child_id,
            outcome=data.outcome.value,
            recorded_by=ctx.actor.sub,
            recorded_at=ctx.now,
        )
    # Replaceable while the meeting runs: only the final one is the meeting's decision.
    decision.outcome = data.outcome.value
    decision.categories = data.categories
    decision.plan_summary = data.plan_summary
    decision.recorded_at = ctx.now
    ctx.session.add(decision)
    _touch(ctx, conference)
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="conference.decision_recorded",
        entity_kind="conference",
        entity_id=conference.id,
        data={
            "child_id": str(data.child_id),
            "outcome": decision.outcome,
            "categories": decision.categories,
            "replaced": replaced,
        },
    )
    return decision


async def record_dissent_invitation(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_for_chair(ctx, conference_id)
    rules.require_in_progress(conference.status, "the dissent invitation can be recorded")
    if conference.dissent_invited_at is None:
        conference.dissent_invited_at = ctx.now
        _touch(ctx, conference)
        await record_change(
            ctx, event_type="conference.dissent_invited", entity_kind="conference", entity_id=conference.id
        )
    return conference


async def record_appeal_rights_explained(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_for_chair(ctx, conference_id)
    if not ctx.profile.appeals.enabled:
        raise RuleViolation(
            ctx.profile.appeals.unavailable_detail or "this procedure has no family appeal",
            code="appeals_not_available",
        )
    rules.require_in_progress(conference.status, "the explanation of appeal rights can be recorded")
    if conference.appeal_rights_explained_at is None:
        conference.appeal_rights_explained_at = ctx.now
        _touch(ctx, conference)
        await record_change(
            ctx,
            event_type="conference.appeal_rights_explained",
            entity_kind="conference",
            entity_id=conference.id,
        )
    return conference


async def end_conference(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    from app.services.dissents import close_meeting_dissents

    conference = await load_for_chair(ctx, conference_id)
    target = rules.next_status(conference.status, "end")
    decided = {str(d.child_id) for d in await current_decisions(ctx, conference.id)}
    blockers = rules.end_blockers(
        ctx.profile,
        child_ids=[str(c) for c in await child_ids_of(ctx, conference.id)],
        decided_child_ids=decided,
        dissent_invited=conference.dissent_invited_at is not None,
        appeal_rights_explained=conference.appeal_rights_explained_at is not None,
    )
    if blockers:
        raise Conflict(
            "; ".join(b.detail for b in blockers),
            code=blockers[0].code,
            errors=[{"code": b.code, "detail": b.detail} for b in blockers],
        )
    conference.status = target
    conference.ended_at = ctx.now
    rule = ctx.profile.appeals.lodge_deadline
    if ctx.profile.appeals.enabled and rule is not None:
        computed = compute_deadline(ctx.calendar, rule, conference.meeting_date)
        conference.appeal_due_at, conference.appeal_due_explanation = computed.due_at, computed.explanation
    _touch(ctx, conference)
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="conference.ended",
        entity_kind="conference",
        entity_id=conference.id,
        data={
            "meeting_date": conference.meeting_date.isoformat(),
            "appeal_due_at": conference.appeal_due_at.isoformat() if conference.appeal_due_at else None,
        },
    )
    await close_meeting_dissents(ctx, conference)
    await documents.issue_for_step(ctx, "meeting_end", conference=conference)
    return conference


async def cancel_conference(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_conference(ctx, conference_id, for_update=True)
    if not (ctx.actor.has_any("record_system") or is_conference_chair(ctx.actor, conference.chair_id)):
        raise Forbidden("only the record system or this meeting's chair can cancel it")
    conference.status = rules.next_status(conference.status, "cancel")
    conference.cancelled_at = ctx.now
    _touch(ctx, conference)
    await record_change(
        ctx, event_type="conference.cancelled", entity_kind="conference", entity_id=conference.id
    )
    return conference


async def list_conferences(
    ctx: Ctx, *, status: ConferenceStatus | None, child_id: uuid.UUID | None, limit: int, cursor: str | None
) -> tuple[list[ConferenceSummary], str | None]:
    query = select(Conference).where(Conference.authority_id == ctx.authority.id)
    visibility = _visibility_filter(ctx)
    if visibility is False:
        raise Forbidden("this role cannot list conferences")
    if visibility is not None:
        query = query.where(visibility)
    if status is not None:
        query = query.where(Conference.status == status.value)
    if child_id is not None:
        query = query.where(
            exists().where(
                col(ConferenceChild.conference_id) == Conference.id,
                col(ConferenceChild.child_id) == child_id,
            )
        )
    after = decode_cursor(cursor, 2)
    if after is not None:
        start, last_id = cursor_datetime(after[0]), cursor_uuid(after[1])
        query = query.where(
            or_(
                col(Conference.scheduled_start) < start,
                and_(col(Conference.scheduled_start) == start, col(Conference.id) < last_id),
            )
        )
    query = query.order_by(col(Conference.scheduled_start).desc(), col(Conference.id).desc()).limit(limit + 1)
    rows = list((await ctx.session.exec(query)).all())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([last.scheduled_start.isoformat(), str(last.id)])
        rows = rows[:limit]
    children: dict[uuid.UUID, list[uuid.UUID]] = {r.id: [] for r in rows}
    if rows:
        links = await ctx.session.exec(
            select(ConferenceChild)
            .where(col(ConferenceChild.conference_id).in_(list(children)))
            .order_by(col(ConferenceChild.position))
        )
        for link in links.all():
            children[link.conference_id].append(link.child_id)
    audit(ctx, "conference.list", "conference", None, {"count": len(rows)})
    return [summary(r, children[r.id]) for r in rows], next_cursor
