"""Professional dissents (SPEC §5): raised in the meeting, resolved or withdrawn, moved to
the written step when the meeting ends, submitted or referred, lapsed when the dissenter's
own step is missed. The reviewer's part is `dissent_review`; the views are `dissent_views`.

Every command loads the dissent the caller may see, asks the rules whether the step is
allowed in this profile, changes the row and records the audit entry and event(s) in the
same transaction."""

from __future__ import annotations

import uuid
from typing import Any, get_args

from sqlalchemy import exists
from sqlmodel import col, select

from app.context import Ctx
from app.models.conference import Attendee, Conference
from app.models.dissent import (
    Dissent,
    DissentCreate,
    ResolutionIn,
    WithdrawalIn,
)
from app.models.written_step import (
    DissentFormIn,
    ReferralIn,
    WrittenSubmissionIn,
)
from app.profiles import Profile
from app.rules import access, written_step
from app.rules import conference as conference_rules
from app.rules import dissent as rules
from app.rules.dissent import Action, RaiseFacts
from app.services import conferences, documents
from app.services.deadlines import cancel_open_deadlines, meet_deadline, start_deadline
from app.services.decisions import current_decisions
from app.services.journal import record_change
from app.services.procedures import procedure_of
from app.services.scope import hold, load_scoped, row_filter
from app.services.written_documents import check_dissent_form
from app.vocab import OPEN_STATUSES, ConferenceStatus, DeadlineKind, DissentStatus, WrittenStepStatus

LAPSE_BATCH = 500


# ---- visibility and loading ------------------------------------------------------------------


def visibility(ctx: Ctx) -> Any:
    """A professional sees their own dissents; a chair those from meetings they chair."""
    return row_filter(
        ctx,
        professional=Dissent.dissenter_id == ctx.actor.sub,
        chair=exists().where(
            col(Conference.id) == Dissent.conference_id, col(Conference.chair_id) == ctx.actor.sub
        ),
    )


async def load_dissent(ctx: Ctx, dissent_id: uuid.UUID, *, for_update: bool = False) -> Dissent:
    return await load_scoped(
        ctx,
        Dissent,
        dissent_id,
        visibility=visibility(ctx),
        for_update=for_update,
        missing="no such dissent",
        with_parent=(Conference, Dissent.conference_id),  # nearly every use needs its meeting
    )


async def conference_of(ctx: Ctx, dissent: Dissent) -> Conference:
    conference = await ctx.session.get(Conference, dissent.conference_id)
    assert conference is not None  # foreign key
    hold(ctx, conference)
    return conference


async def procedure_of_dissent(ctx: Ctx, dissent: Dissent) -> Profile:
    """The procedure of the dissent's conference (usually already in the session)."""
    return await procedure_of(ctx, await conference_of(ctx, dissent))


# ---- transitions ------------------------------------------------------------------------------


async def move(
    ctx: Ctx, dissent: Dissent, action: Action, event_type: str, data: dict[str, object] | None = None
) -> None:
    """Take the profile's transition for `action`, with its audit entry and event."""
    profile = await procedure_of_dissent(ctx, dissent)
    dissent.status = rules.next_status(profile, dissent.status, action)
    if dissent.status != profile.dissent.written_step.status:
        dissent.lapse_due_at = None  # only a dissent waiting on the written step can lapse
    dissent.updated_at = ctx.now
    ctx.session.add(dissent)
    await ctx.session.flush()
    payload = {"status": dissent.status, "conference_id": str(dissent.conference_id), **(data or {})}
    await record_change(ctx, event_type=event_type, entity_kind="dissent", entity_id=dissent.id, data=payload)


async def _raise_facts(
    ctx: Ctx, conference: Conference, dissenter_id: str, data: DissentCreate
) -> tuple[RaiseFacts, Attendee | None]:
    attendee = (
        await ctx.session.exec(
            select(Attendee).where(
                Attendee.conference_id == conference.id, Attendee.person_id == dissenter_id
            )
        )
    ).first()
    clash = (
        await ctx.session.exec(
            select(Dissent.id).where(
                Dissent.conference_id == conference.id,
                Dissent.dissenter_id == dissenter_id,
                Dissent.subject == data.subject,
                col(Dissent.status).in_([s.value for s in OPEN_STATUSES]),
            )
        )
    ).first()
    facts = RaiseFacts(
        dissenter_id=dissenter_id,
        chair_id=conference.chair_id,
        attended_as=attendee.kind if attendee is not None and attendee.attended else None,
        subject=data.subject,
        requested_child_ids=[str(c) for c in data.child_ids] if data.child_ids else None,
        meeting_child_ids=[str(c) for c in await conferences.child_ids_of(ctx, conference.id)],
        open_clash_id=clash,
    )
    return facts, attendee


async def raise_dissent(ctx: Ctx, conference_id: uuid.UUID, *, data: DissentCreate) -> Dissent:
    # Invited counts here: someone on the list who did not attend is told why they cannot
    # dissent (not_attendee); someone not on the list at all still gets 404.
    conference = await conferences.load_conference(ctx, conference_id, for_update=True, invited=True)
    profile = await procedure_of(ctx, conference)
    rules.check_meeting_open(profile, conference.status)
    dissenter_id = access.dissenter_for(
        ctx.actor, chair_id=conference.chair_id, named=data.attendee_person_id
    )
    facts, attendee = await _raise_facts(ctx, conference, dissenter_id, data)
    child_ids = rules.check_raise(profile, facts)
    assert attendee is not None  # check_raise refuses a dissenter who did not attend
    dissent = Dissent(
        authority_id=ctx.authority.id,
        conference_id=conference.id,
        meeting_date=conference.meeting_date,
        meeting_type=conference.meeting_type,
        child_ids=child_ids,
        subject=data.subject,
        reasons=data.reasons,
        dissenter_id=dissenter_id,
        dissenter_name=attendee.name,
        dissenter_role_title=attendee.role_title,
        # Only a professional dissents, and a professional's agency is required (CHECK).
        dissenter_agency=attendee.agency or "",
        # The decisions it is raised against, as they stand now (a later change keeps these).
        raised_against=[
            {"child_id": str(d.child_id), **d.snapshot()}
            for d in await current_decisions(ctx, conference.id)
            if str(d.child_id) in child_ids
        ],
        raised_by=ctx.actor.sub,
        status=DissentStatus.raised,
        raised_at=ctx.now,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(dissent)
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="dissent.raised",
        entity_kind="dissent",
        entity_id=dissent.id,
        data={
            "conference_id": str(conference.id),
            "subject": dissent.subject,
            "agency": dissent.dissenter_agency,
            "child_ids": child_ids,
            "on_behalf": dissent.raised_by != dissenter_id,
            "procedure": {"code": conference.procedure_code, "version": conference.procedure_version},
        },
    )
    return dissent


async def resolve_dissent(ctx: Ctx, dissent_id: uuid.UUID, *, data: ResolutionIn) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    conference = await conference_of(ctx, dissent)
    access.require_chair(
        ctx.actor, conference.chair_id, "only the meeting's chair can record that a dissent was resolved"
    )
    conference_rules.require_in_progress(conference.status, "a dissent can be resolved in the meeting")
    dissent.resolution_summary = data.summary
    dissent.resolved_at = ctx.now
    await move(ctx, dissent, Action.resolve, "dissent.resolved")
    return dissent


async def withdraw_dissent(ctx: Ctx, dissent_id: uuid.UUID, *, data: WithdrawalIn) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    conference = await conference_of(ctx, dissent)
    access.require_withdrawer(
        ctx.actor,
        dissenter_id=dissent.dissenter_id,
        chair_id=conference.chair_id,
        in_meeting=conference.status == ConferenceStatus.in_progress,
    )
    await lapse_if_due(ctx, dissent)
    dissent.withdrawal_reason = data.reason
    dissent.withdrawn_at = ctx.now
    await move(ctx, dissent, Action.withdraw, "dissent.withdrawn")
    await cancel_open_deadlines(ctx, dissent.id)
    await documents.refresh_minutes(ctx, dissent, conference=conference)
    return dissent


async def close_meeting_dissents(ctx: Ctx, conference: Conference) -> None:
    """At the end of the meeting: dissents still raised move to the profile's written step,
    whose deadline starts (from the anchor its rule names)."""
    step = (await procedure_of(ctx, conference)).dissent.written_step
    raised = await ctx.session.exec(
        select(Dissent).where(Dissent.conference_id == conference.id, Dissent.status == DissentStatus.raised)
    )
    for dissent in raised.all():
        dissent.unresolved_at = ctx.now
        deadline = await start_deadline(
            ctx,
            subject_kind="dissent",
            subject_id=dissent.id,
            rule=step.deadline,
            meeting_date=conference.meeting_date,
            responsible_role="professional" if step.actor == "dissenter" else "chair",
            lapses=step.lapses_when_missed,
        )
        dissent.lapse_due_at = deadline.due_at if step.lapses_when_missed else None
        # Review deadlines counted from the meeting date run from now (registration: the
        # written response is due 28 days after the meeting, whenever the referral is made).
        await _start_review_deadlines(ctx, dissent, conference, anchor="meeting_date")
        await move(ctx, dissent, Action.meeting_ends, "dissent.unresolved")


async def has_unresolved_dissent(ctx: Ctx, conference_id: uuid.UUID) -> bool:
    """A dissent raised in this meeting and not resolved or withdrawn."""
    found = await ctx.session.exec(
        select(Dissent.id).where(
            Dissent.conference_id == conference_id, Dissent.status == DissentStatus.raised
        )
    )
    return found.first() is not None


async def _start_review_deadlines(ctx: Ctx, dissent: Dissent, conference: Conference, *, anchor: str) -> None:
    """Start the review's deadlines counted from `anchor`: `meeting_date` ones when the
    meeting ends with the dissent unresolved, `received` ones when the written step arrives."""
    review = (await procedure_of(ctx, conference)).dissent.review
    for rule in (review.meeting_deadline, review.response_deadline):
        if rule is not None and rule.counted_from == anchor:
            await start_deadline(
                ctx,
                subject_kind="dissent",
                subject_id=dissent.id,
                rule=rule,
                meeting_date=conference.meeting_date,
                responsible_role="reviewer",
            )


async def submit_written(ctx: Ctx, dissent_id: uuid.UUID, *, data: WrittenSubmissionIn) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    access.require(
        ctx.actor.sub == dissent.dissenter_id,
        "only the dissenting professional can submit the written dissent",
    )
    if await lapse_if_due(ctx, dissent):
        raise rules.lapsed_on_submission()
    conference = await conference_of(ctx, dissent)
    profile = await procedure_of(ctx, conference)
    rules.next_status(profile, dissent.status, Action.submit)  # refuse early, before checks
    written_step.check_document(profile, data.form)
    written_step.check_signed_on(
        data.signed_on, meeting_date=conference.meeting_date, today=ctx.calendar.local_date(ctx.now)
    )
    if isinstance(data, DissentFormIn):
        await check_dissent_form(ctx, dissent, conference, data)
    dissent.submission = data.model_dump(mode="json", by_alias=True)
    dissent.submitted_at = ctx.now
    await meet_deadline(ctx, dissent.id, DeadlineKind.written_submission)
    await move(ctx, dissent, Action.submit, "dissent.submitted", {"form": data.form})
    await _start_review_deadlines(ctx, dissent, conference, anchor="received")
    await documents.issue_for_step(ctx, "written_submission", conference=conference, dissent=dissent)
    await ctx.session.flush()
    return dissent


async def refer_dissent(ctx: Ctx, dissent_id: uuid.UUID, *, data: ReferralIn) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    conference = await conference_of(ctx, dissent)
    access.require_chair(ctx.actor, conference.chair_id, "only the meeting's chair can refer the dissent")
    dissent.referral_note = data.note
    dissent.referral = data.model_dump(include={"nature_of_dissent", "course_of_action", "senior_manager"})
    dissent.referred_at = ctx.now
    await move(ctx, dissent, Action.refer, "dissent.referred")
    await meet_deadline(ctx, dissent.id, DeadlineKind.referral)
    await _start_review_deadlines(ctx, dissent, conference, anchor="received")
    await documents.issue_for_step(ctx, "referral", conference=conference, dissent=dissent)
    await ctx.session.flush()
    return dissent


# ---- lapsing --------------------------------------------------------------------------------


async def _lapse(ctx: Ctx, dissent: Dissent) -> None:
    dissent.lapsed_at = ctx.now
    await move(ctx, dissent, Action.lapse, "dissent.lapsed")
    await documents.refresh_minutes(ctx, dissent)


async def lapse_if_due(ctx: Ctx, dissent: Dissent) -> bool:
    """Lapse this dissent if its own written step's deadline has passed (lapse on read).
    `lapse_due_at` is that deadline's due time while the dissent waits on a step that lapses
    (set when the step starts, cleared when the dissent moves on), as the sweep reads it."""
    if dissent.lapse_due_at is None or dissent.lapse_due_at >= ctx.now:
        return dissent.status == DissentStatus.lapsed
    await _lapse(ctx, dissent)
    return True


async def lapse_due(ctx: Ctx) -> int:
    """Lapse every dissent in the authority whose own written step is past due. Only a
    dissent waiting on a step that lapses has `lapse_due_at` (its conference's procedure
    set it when the step started), so no procedure is consulted to find them."""
    due = await ctx.session.exec(
        select(Dissent)
        .where(
            col(Dissent.authority_id) == ctx.authority.id,
            col(Dissent.lapse_due_at).is_not(None),  # with the next: ix_dissent_lapse_due
            col(Dissent.lapse_due_at) < ctx.now,
            col(Dissent.status).in_(get_args(WrittenStepStatus)),
        )
        .limit(LAPSE_BATCH)
        .with_for_update(skip_locked=True)
    )
    count = 0
    for dissent in due.all():
        await _lapse(ctx, dissent)
        count += 1
    return count
