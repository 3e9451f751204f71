"""Conferences (SPEC §3): scheduling, attendance, starting the meeting, the chair's
confirmations and cancellation. A chair's action needs the chair role and to be this
meeting's chair. Decisions are `decisions`; the end of a meeting is `meetings`; what a caller
sees is `conference_views`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select

from app.context import Ctx
from app.errors import RuleViolation
from app.models.child import Child
from app.models.conference import (
    Attendee,
    AttendeeCreate,
    Conference,
    ConferenceChild,
    ConferenceCreate,
)
from app.models.dissent import ReconveneIn
from app.rules import access
from app.rules import appeal as appeal_rules
from app.rules import conference as rules
from app.services.journal import record_change
from app.services.procedures import current_procedure, procedure_of
from app.services.scope import in_authority, load_scoped, row_filter

# ---- loading and visibility ----------------------------------------------------------------


def visibility(ctx: Ctx, *, invited: bool = False) -> Any:
    """A professional sees the meetings they attended; a chair those they chair. With
    `invited`, a professional on the attendee list who did not attend counts too."""
    on_the_list = [col(Attendee.conference_id) == Conference.id, col(Attendee.person_id) == ctx.actor.sub]
    if not invited:
        on_the_list.append(col(Attendee.attended).is_(True))
    return row_filter(
        ctx,
        professional=exists().where(*on_the_list),
        chair=Conference.chair_id == ctx.actor.sub,
    )


async def load_conference(
    ctx: Ctx, conference_id: uuid.UUID, *, for_update: bool = False, invited: bool = False
) -> Conference:
    """The conference if the caller may see it; 404 otherwise, whatever the reason. With
    `invited` (raising a dissent), an invited professional who did not attend gets it too, so
    the refusal can say why instead of pretending the meeting does not exist."""
    return await load_scoped(
        ctx,
        Conference,
        conference_id,
        visibility=visibility(ctx, invited=invited),
        for_update=for_update,
        missing="no such conference",
    )


async def load_for_chair(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_conference(ctx, conference_id, for_update=True)
    access.require_chair(ctx.actor, conference.chair_id)
    return conference


async def child_ids_of(ctx: Ctx, conference_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await ctx.session.exec(
        select(ConferenceChild.child_id)
        .where(ConferenceChild.conference_id == conference_id)
        .order_by(col(ConferenceChild.position))
    )
    return list(rows.all())


# ---- commands --------------------------------------------------------------------------------


def touch(ctx: Ctx, conference: Conference) -> None:
    """Every change to a conference moves its version (its ETag), even when the clock has not
    moved since the last one (a frozen test clock, two changes in one instant)."""
    conference.updated_at = ctx.now
    flag_modified(conference, "updated_at")
    ctx.session.add(conference)


async def create_conference(ctx: Ctx, *, data: ConferenceCreate) -> Conference:
    # The version in force today; the conference keeps it, whatever is adopted later.
    procedure = await current_procedure(ctx)
    profile = procedure.profile
    if profile.meeting_type_label(data.meeting_type) is None:
        codes = ", ".join(m.code for m in profile.meeting_types)
        raise RuleViolation(
            f"meeting_type must be one of this procedure's: {codes}", code="unknown_meeting_type"
        )
    if data.scheduled_start.tzinfo is None:
        raise RuleViolation("scheduled_start needs a time zone offset or Z", code="validation_error")
    if len(set(data.child_ids)) != len(data.child_ids):
        raise RuleViolation("a child is listed twice", code="validation_error")
    born = dict(
        (
            await ctx.session.exec(
                select(Child.id, col(Child.date_of_birth).is_not(None)).where(
                    Child.authority_id == ctx.authority.id, col(Child.id).in_(data.child_ids)
                )
            )
        ).all()
    )
    missing = [str(c) for c in data.child_ids if c not in born]
    if missing:
        raise RuleViolation(f"no such child: {', '.join(missing)}", code="child_not_found")
    rules.check_meeting_children(
        profile, meeting_type=data.meeting_type, unborn=sum(not b for b in born.values())
    )
    original_chair = None
    if data.reconvened_from is not None:
        original = await in_authority(ctx, Conference, data.reconvened_from)
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
        procedure_code=procedure.code,
        procedure_version=procedure.version,
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
            "procedure": {"code": procedure.code, "version": procedure.version},
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
    await _invite_attendees_of(ctx, original, new)
    await record_change(
        ctx,
        event_type="conference.reconvene_requested",
        entity_kind="conference",
        entity_id=original.id,
        data={"reconvened_conference_id": str(new.id), **cause},
    )
    return new


async def _invite_attendees_of(ctx: Ctx, original: Conference, new: Conference) -> None:
    """A reconvened meeting starts with the original meeting's attendees invited; whether
    each attends is unknown until recorded."""
    people = (
        await ctx.session.exec(
            select(Attendee).where(Attendee.conference_id == original.id).order_by(col(Attendee.created_at))
        )
    ).all()
    for person in people:
        ctx.session.add(
            Attendee(
                authority_id=ctx.authority.id,
                conference_id=new.id,
                person_id=person.person_id,
                name=person.name,
                role_title=person.role_title,
                agency=person.agency,
                kind=person.kind,
                attended=None,
                created_at=ctx.now,
            )
        )
    await ctx.session.flush()


async def record_attendee(
    ctx: Ctx, conference_id: uuid.UUID, *, data: AttendeeCreate
) -> tuple[Attendee, bool]:
    """Add someone to the meeting's attendance, or update their entry. Returns (row, created)."""
    conference = await load_conference(ctx, conference_id, for_update=True)
    access.require_attendance_manager(ctx.actor, conference.chair_id)
    rules.require_open(conference.status, "attendance can be recorded")
    rules.check_attendee(kind=data.kind, agency=data.agency)
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
            await procedure_of(ctx, conference),
            original_chair_id=original.chair_id if original else None,
            chair_id=conference.chair_id,
        )
    conference.started_at = ctx.now
    conference.meeting_date = ctx.calendar.local_date(ctx.now)
    touch(ctx, conference)
    await record_change(
        ctx,
        event_type="conference.started",
        entity_kind="conference",
        entity_id=conference.id,
        data={"meeting_date": conference.meeting_date.isoformat()},
    )
    return conference


async def record_dissent_invitation(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_for_chair(ctx, conference_id)
    rules.require_in_progress(conference.status, "the dissent invitation can be recorded")
    if conference.dissent_invited_at is None:
        conference.dissent_invited_at = ctx.now
        touch(ctx, conference)
        await record_change(
            ctx, event_type="conference.dissent_invited", entity_kind="conference", entity_id=conference.id
        )
    return conference


async def record_appeal_rights_explained(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_for_chair(ctx, conference_id)
    appeal_rules.check_available((await procedure_of(ctx, conference)).appeals)
    rules.require_in_progress(conference.status, "the explanation of appeal rights can be recorded")
    return await _confirm_once(ctx, conference, "appeal_rights_explained")


async def record_participants_advised(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    """The chair advised the participants that an unresolved dissent goes to the reviewer."""
    conference = await load_for_chair(ctx, conference_id)
    profile = await procedure_of(ctx, conference)
    if "participants_advised" not in profile.end_confirmations_with_unresolved_dissent:
        raise RuleViolation(
            "this procedure does not ask the chair to record that participants were advised",
            code="not_in_procedure",
        )
    rules.require_in_progress(conference.status, "the advice to participants can be recorded")
    return await _confirm_once(ctx, conference, "participants_advised")


async def _confirm_once(ctx: Ctx, conference: Conference, confirmation: str) -> Conference:
    """Record the chair's confirmation (its `<confirmation>_at` column and event) the first
    time; sent again, it changes nothing."""
    if getattr(conference, f"{confirmation}_at") is None:
        setattr(conference, f"{confirmation}_at", ctx.now)
        touch(ctx, conference)
        await record_change(
            ctx, event_type=f"conference.{confirmation}", entity_kind="conference", entity_id=conference.id
        )
    return conference


async def cancel_conference(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_conference(ctx, conference_id, for_update=True)
    access.require_canceller(ctx.actor, conference.chair_id)
    conference.status = rules.next_status(conference.status, "cancel")
    conference.cancelled_at = ctx.now
    touch(ctx, conference)
    await record_change(
        ctx, event_type="conference.cancelled", entity_kind="conference", entity_id=conference.id
    )
    return conference
