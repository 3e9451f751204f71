"""Professional dissent, from the meeting to the reviewer's decision (SPEC §5).

Every command loads the dissent the caller may see, asks the pure rules whether the step is
allowed in this profile, changes the row, and records the audit entry and event(s) in the
same transaction. Deadlines start when their step starts and are stored on `deadline` rows.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Exists, exists
from sqlmodel import col, select

from app.deps import Ctx
from app.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.models.conference import (
    Attendee,
    AttendeeKind,
    Conference,
    ConferenceStatus,
    Decision,
)
from app.models.dissent import (
    OPEN_STATUSES,
    ChildRecordEntry,
    Deadline,
    DeadlineKind,
    DeadlinePublic,
    Dissent,
    DissentCreate,
    DissenterPublic,
    DissentHistoryItem,
    DissentPublic,
    DissentStatus,
    DissentSummary,
    FamilyInformedIn,
    RecordEntryKind,
    ReferralIn,
    ResolutionIn,
    ReviewDecisionIn,
    ReviewMeetingIn,
    WithdrawalIn,
    WrittenSubmissionIn,
)
from app.models.platform import Event
from app.pagination import cursor_uuid, decode_cursor, encode_cursor
from app.profiles.schema import DeadlineRule, DecisionOutcomeCode
from app.rules import conference as conference_rules
from app.rules import dissent as rules
from app.rules.access import is_conference_chair
from app.rules.dissent import Action
from app.services import conferences
from app.services.journal import audit, emit, pending_events, record_change
from app.services.scope import row_filter

LAPSE_BATCH = 500


# ---- visibility and loading ------------------------------------------------------------------


def _visibility(ctx: Ctx) -> Any:
    return row_filter(
        ctx,
        professional=Dissent.dissenter_id == ctx.actor.sub,
        chair=exists().where(
            col(Conference.id) == Dissent.conference_id, col(Conference.chair_id) == ctx.actor.sub
        ),
    )


async def visible_dissent_ids(ctx: Ctx, conference_id: uuid.UUID) -> list[uuid.UUID]:
    query = select(Dissent.id).where(Dissent.conference_id == conference_id)
    visibility = _visibility(ctx)
    if visibility is False:
        return []
    if visibility is not None:
        query = query.where(visibility)
    return list((await ctx.session.exec(query.order_by(col(Dissent.raised_at)))).all())


async def load_dissent(ctx: Ctx, dissent_id: uuid.UUID, *, for_update: bool = False) -> Dissent:
    query = select(Dissent).where(Dissent.id == dissent_id, Dissent.authority_id == ctx.authority.id)
    visibility = _visibility(ctx)
    if visibility is False:
        raise NotFound("no such dissent")
    if visibility is not None:
        query = query.where(visibility)
    if for_update:
        query = query.with_for_update()
    dissent = (await ctx.session.exec(query)).first()
    if dissent is None:
        raise NotFound("no such dissent")
    if for_update:
        ctx.check_version(dissent.version)
    return dissent


async def _conference_of(ctx: Ctx, dissent: Dissent) -> Conference:
    conference = await ctx.session.get(Conference, dissent.conference_id)
    assert conference is not None  # foreign key
    return conference


# ---- deadlines --------------------------------------------------------------------------------


async def start_deadline(
    ctx: Ctx,
    *,
    subject_kind: str,
    subject_id: uuid.UUID,
    rule: DeadlineRule,
    start: date,
    responsible_role: str,
    lapses: bool = False,
) -> Deadline:
    computed = rules.compute(ctx.calendar, rule, start)
    deadline = Deadline(
        authority_id=ctx.authority.id,
        subject_kind=subject_kind,
        subject_id=subject_id,
        kind=rule.kind,
        responsible_role=responsible_role,
        lapses=lapses,
        start_date=start,
        due_date=computed.due_date,
        due_at=computed.due_at,
        explanation=computed.explanation,
        approaching_at=ctx.calendar.start_of_day(ctx.calendar.previous_working_day(computed.due_date)),
        created_at=ctx.now,
    )
    ctx.session.add(deadline)
    return deadline


async def deadlines_of(ctx: Ctx, subject_id: uuid.UUID) -> list[Deadline]:
    rows = await ctx.session.exec(
        select(Deadline).where(Deadline.subject_id == subject_id).order_by(col(Deadline.due_at))
    )
    return list(rows.all())


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


def _past_due(now: datetime) -> list[ColumnElement[bool]]:
    """A deadline still open after its due time."""
    return [col(Deadline.met_at).is_(None), col(Deadline.cancelled_at).is_(None), col(Deadline.due_at) < now]


def _overdue_clause(now: datetime) -> Exists:
    return exists().where(col(Deadline.subject_id) == Dissent.id, *_past_due(now))


# ---- presentation ---------------------------------------------------------------------------


_SUMMARY_COLUMNS = [
    col(getattr(Dissent, name))
    for name in (
        "id",
        "conference_id",
        "subject",
        "status",
        "dissenter_id",
        "dissenter_name",
        "dissenter_role_title",
        "dissenter_agency",
        "raised_at",
        "version",
    )
]


def _dissenter(dissent: Dissent | sa.Row[Any, *tuple[Any, ...]]) -> DissenterPublic:
    return DissenterPublic(
        person_id=dissent.dissenter_id,
        name=dissent.dissenter_name,
        role_title=dissent.dissenter_role_title,
        agency=dissent.dissenter_agency,
    )


def _is_overdue(ctx: Ctx, dissent: Dissent, deadlines: list[Deadline]) -> bool:
    return dissent.status in OPEN_STATUSES and any(
        d.met_at is None and d.cancelled_at is None and d.due_at < ctx.now for d in deadlines
    )


async def to_public(ctx: Ctx, dissent: Dissent) -> DissentPublic:
    deadlines = await deadlines_of(ctx, dissent.id)
    events = await ctx.session.exec(
        # By subject alone (the dissent was loaded within the caller's scope): the planner then
        # has one index to use, (subject_id, seq), not the authority's whole feed in order.
        select(Event.type, Event.occurred_at)
        .where(Event.subject_kind == "dissent", Event.subject_id == str(dissent.id))
        .order_by(col(Event.seq))
    )
    return DissentPublic(
        id=dissent.id,
        conference_id=dissent.conference_id,
        subject=dissent.subject,
        status=DissentStatus(dissent.status),
        dissenter=_dissenter(dissent),
        raised_at=dissent.raised_at,
        overdue=_is_overdue(ctx, dissent, deadlines),
        version=dissent.version,
        child_ids=[uuid.UUID(c) for c in dissent.child_ids],
        reasons=dissent.reasons,
        raised_by=dissent.raised_by,
        next_step=rules.next_step(ctx.profile, dissent.status),
        resolution_summary=dissent.resolution_summary,
        resolved_at=dissent.resolved_at,
        withdrawal_reason=dissent.withdrawal_reason,
        withdrawn_at=dissent.withdrawn_at,
        submission=dissent.submission,
        submitted_at=dissent.submitted_at,
        referral_note=dissent.referral_note,
        referred_at=dissent.referred_at,
        lapsed_at=dissent.lapsed_at,
        review_meeting_held_on=dissent.review_meeting_held_on,
        review_meeting_members=dissent.review_meeting_members,
        outcome=dissent.outcome,
        new_categories=dissent.new_categories,
        practice_improvements=dissent.practice_improvements,
        written_note=dissent.written_note,
        decided_at=dissent.decided_at,
        family_informant=dissent.family_informant,
        family_informed_by=dissent.family_informed_by,
        family_informed_on=dissent.family_informed_on,
        reconvened_conference_id=dissent.reconvened_conference_id,
        deadlines=[deadline_public(ctx, d) for d in deadlines],
        history=[DissentHistoryItem(type=t, occurred_at=o) for t, o in events.all()]
        + [
            DissentHistoryItem(type=e["type"], occurred_at=e["occurred_at"])
            for e in pending_events(ctx.session, "dissent", dissent.id)
        ],
    )


# ---- transitions ------------------------------------------------------------------------------


async def _move(
    ctx: Ctx, dissent: Dissent, action: Action, event_type: str, data: dict[str, object] | None = None
) -> None:
    dissent.status = rules.next_status(ctx.profile, dissent.status, action)
    if dissent.status != ctx.profile.dissent.written_step.status:
        dissent.lapse_due_at = None  # only a dissent waiting on the written step can lapse
    dissent.updated_at = ctx.now
    ctx.session.add(dissent)
    await ctx.session.flush()
    payload = {"status": dissent.status, "conference_id": str(dissent.conference_id), **(data or {})}
    await record_change(ctx, event_type=event_type, entity_kind="dissent", entity_id=dissent.id, data=payload)


async def raise_dissent(ctx: Ctx, conference_id: uuid.UUID, *, data: DissentCreate) -> Dissent:
    conference = await conferences.load_conference(ctx, conference_id, for_update=True)
    if conference.status != ConferenceStatus.in_progress:
        detail = (
            ctx.profile.routes.professional_challenge
            if conference.status == ConferenceStatus.ended
            else f"a dissent can only be raised while the meeting is in progress (it is {conference.status})"
        )
        raise Conflict(detail, code="conference_not_in_progress")
    chair = is_conference_chair(ctx.actor, conference.chair_id)
    if data.attendee_person_id is not None and (chair or data.attendee_person_id != ctx.actor.sub):
        if not chair:
            raise Forbidden("only the chair can raise a dissent on someone else's behalf")
        dissenter_id = data.attendee_person_id
    elif ctx.actor.has_any("professional"):
        dissenter_id = ctx.actor.sub
    elif chair:
        raise RuleViolation(
            "the chair raises a dissent on an attendee's behalf: give attendee_person_id",
            code="validation_error",
        )
    else:
        raise Forbidden("a dissent is raised by an attending professional or by the chair for one")
    if dissenter_id == conference.chair_id:
        raise RuleViolation("the chair cannot dissent from their own meeting", code="not_attendee")
    attendee = (
        await ctx.session.exec(
            select(Attendee).where(
                Attendee.conference_id == conference.id, Attendee.person_id == dissenter_id
            )
        )
    ).first()
    if attendee is None or not attendee.attended or attendee.kind != AttendeeKind.professional:
        raise RuleViolation(
            "only a professional recorded as attending this meeting can dissent", code="not_attendee"
        )
    rules.check_subject(ctx.profile, data.subject)
    meeting_children = [str(c) for c in await conferences.child_ids_of(ctx, conference.id)]
    child_ids = [str(c) for c in data.child_ids] if data.child_ids else meeting_children
    strays = [c for c in child_ids if c not in meeting_children]
    if strays or len(set(child_ids)) != len(child_ids):
        raise RuleViolation(
            "child_ids must be children of this meeting, each once", code="child_not_in_conference"
        )
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
    if clash is not None:
        raise Conflict(
            f"this person already has an open dissent about {data.subject} at this meeting ({clash})",
            code="dissent_exists",
        )
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
        dissenter_agency=attendee.agency,
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
        },
    )
    return dissent


async def resolve_dissent(ctx: Ctx, dissent_id: uuid.UUID, *, data: ResolutionIn) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    conference = await _conference_of(ctx, dissent)
    if not is_conference_chair(ctx.actor, conference.chair_id):
        raise Forbidden("only the meeting's chair can record that a dissent was resolved")
    conference_rules.require_in_progress(conference.status, "a dissent can be resolved in the meeting")
    dissent.resolution_summary = data.summary
    dissent.resolved_at = ctx.now
    await _move(ctx, dissent, Action.resolve, "dissent.resolved")
    return dissent


async def withdraw_dissent(ctx: Ctx, dissent_id: uuid.UUID, *, data: WithdrawalIn) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    conference = await _conference_of(ctx, dissent)
    own = ctx.actor.sub == dissent.dissenter_id
    chair_in_meeting = (
        is_conference_chair(ctx.actor, conference.chair_id)
        and conference.status == ConferenceStatus.in_progress
    )
    if not (own or chair_in_meeting):
        raise Forbidden("only the dissenter can withdraw a dissent (or the chair, during the meeting)")
    await lapse_if_due(ctx, dissent)
    dissent.withdrawal_reason = data.reason
    dissent.withdrawn_at = ctx.now
    await _move(ctx, dissent, Action.withdraw, "dissent.withdrawn")
    await cancel_open_deadlines(ctx, dissent.id)
    return dissent


async def close_meeting_dissents(ctx: Ctx, conference: Conference) -> None:
    """At the end of the meeting: dissents still raised move to the profile's written step,
    whose deadline starts from the meeting date; each child's decision joins their record."""
    step = ctx.profile.dissent.written_step
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
            start=conference.meeting_date,
            responsible_role="professional" if step.actor == "dissenter" else "chair",
            lapses=step.lapses_when_missed,
        )
        dissent.lapse_due_at = deadline.due_at if step.lapses_when_missed else None
        await _move(ctx, dissent, Action.meeting_ends, "dissent.unresolved")
    decisions = await ctx.session.exec(
        select(Decision).where(Decision.conference_id == conference.id, col(Decision.superseded_at).is_(None))
    )
    for decision in decisions.all():
        ctx.session.add(
            ChildRecordEntry(
                authority_id=ctx.authority.id,
                child_id=decision.child_id,
                kind=RecordEntryKind.decision,
                occurred_at=ctx.now,
                conference_id=conference.id,
                source_id=decision.id,
                # The column's check constraint holds it to the four codes the profile labels.
                summary=ctx.profile.decision_outcome_labels[cast(DecisionOutcomeCode, decision.outcome)],
                data={"outcome": decision.outcome, "categories": decision.categories},
            )
        )
    await ctx.session.flush()


async def _start_review_deadlines(ctx: Ctx, dissent: Dissent, conference: Conference) -> None:
    review = ctx.profile.dissent.review
    received = ctx.calendar.local_date(ctx.now)
    for rule in (review.meeting_deadline, review.response_deadline):
        if rule is not None:
            start = conference.meeting_date if rule.counted_from == "meeting_date" else received
            await start_deadline(
                ctx,
                subject_kind="dissent",
                subject_id=dissent.id,
                rule=rule,
                start=start,
                responsible_role="reviewer",
            )


async def submit_written(ctx: Ctx, dissent_id: uuid.UUID, *, data: WrittenSubmissionIn) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    if ctx.actor.sub != dissent.dissenter_id:
        raise Forbidden("only the dissenting professional can submit the written dissent")
    if await lapse_if_due(ctx, dissent):
        raise Conflict(
            "the deadline for the written dissent has passed; the dissent has lapsed",
            code="deadline_passed",
            keep_changes=True,
        )
    rules.next_status(ctx.profile, dissent.status, Action.submit)  # refuse early, before checks
    step = ctx.profile.dissent.written_step
    if step.requires_line_manager_discussion and not data.discussed_with_line_manager_and_safeguarding_lead:
        raise RuleViolation(
            "discuss the dissent with your line manager and safeguarding lead before submitting it",
            code="line_manager_discussion_required",
        )
    conference = await _conference_of(ctx, dissent)
    if data.conference_date != conference.meeting_date:
        raise RuleViolation(
            f"conference_date should be the meeting date, {conference.meeting_date.isoformat()}",
            code="conference_date_mismatch",
        )
    dissent.submission = data.model_dump(mode="json")
    dissent.submitted_at = ctx.now
    await meet_deadline(ctx, dissent.id, DeadlineKind.written_submission)
    await _move(ctx, dissent, Action.submit, "dissent.submitted")
    await _start_review_deadlines(ctx, dissent, conference)
    await ctx.session.flush()
    return dissent


async def refer_dissent(ctx: Ctx, dissent_id: uuid.UUID, *, data: ReferralIn) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    conference = await _conference_of(ctx, dissent)
    if not is_conference_chair(ctx.actor, conference.chair_id):
        raise Forbidden("only the meeting's chair can refer the dissent")
    dissent.referral_note = data.note
    dissent.referred_at = ctx.now
    await _move(ctx, dissent, Action.refer, "dissent.referred")
    await meet_deadline(ctx, dissent.id, DeadlineKind.referral)
    await _start_review_deadlines(ctx, dissent, conference)
    await ctx.session.flush()
    return dissent


async def _load_for_reviewer(ctx: Ctx, dissent_id: uuid.UUID) -> tuple[Dissent, Conference]:
    if not ctx.actor.has_any("reviewer"):
        raise Forbidden("only a reviewer can do that")
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    conference = await _conference_of(ctx, dissent)
    took_part = await ctx.session.exec(
        select(Attendee.id).where(
            Attendee.conference_id == conference.id,
            Attendee.person_id == ctx.actor.sub,
            col(Attendee.attended).is_(True),
        )
    )
    rules.check_reviewer_independent(
        ctx.actor.sub,
        chair_id=conference.chair_id,
        dissenter_id=dissent.dissenter_id,
        attended=took_part.first() is not None,
    )
    return dissent, conference


async def record_review_meeting(ctx: Ctx, dissent_id: uuid.UUID, *, data: ReviewMeetingIn) -> Dissent:
    dissent, _ = await _load_for_reviewer(ctx, dissent_id)
    if data.held_on > ctx.calendar.local_date(ctx.now):
        raise RuleViolation("held_on cannot be in the future", code="validation_error")
    dissent.review_meeting_held_on = data.held_on
    dissent.review_meeting_members = data.members
    dissent.review_meeting_recorded_at = ctx.now
    await _move(
        ctx,
        dissent,
        Action.review_meeting,
        "dissent.review_meeting_held",
        {"held_on": data.held_on.isoformat()},
    )
    await meet_deadline(ctx, dissent.id, DeadlineKind.review_meeting)
    await ctx.session.flush()
    return dissent


async def decide_dissent(ctx: Ctx, dissent_id: uuid.UUID, *, data: ReviewDecisionIn) -> Dissent:
    dissent, conference = await _load_for_reviewer(ctx, dissent_id)
    rules.next_status(ctx.profile, dissent.status, Action.decide)  # refuse early, before checks
    rules.check_outcome(ctx.profile, data.outcome)
    rules.check_review_extras(
        ctx.profile, practice_improvements=data.practice_improvements, family_informant=data.family_informant
    )
    if data.outcome == "change_category" and not data.new_categories:
        raise RuleViolation("changing the category needs new_categories", code="validation_error")
    if data.outcome != "change_category" and data.new_categories:
        raise RuleViolation("new_categories go with the outcome change_category", code="validation_error")
    if (data.outcome == "reconvene") != (data.reconvene is not None):
        raise RuleViolation(
            "the outcome reconvene needs `reconvene` (time and chair of the new meeting), and only it does",
            code="validation_error",
        )
    dissent.outcome = data.outcome
    dissent.new_categories = data.new_categories
    dissent.practice_improvements = data.practice_improvements
    dissent.written_note = data.written_note
    dissent.family_informant = data.family_informant.model_dump() if data.family_informant else None
    dissent.decided_at = ctx.now
    dissent.decided_by = ctx.actor.sub
    if data.outcome == "change_category":
        await _amend_categories(ctx, dissent, data.new_categories or [])
    if data.reconvene is not None:
        new = await conferences.reconvene_conference(
            ctx, conference, when=data.reconvene, cause={"dissent_id": str(dissent.id)}
        )
        dissent.reconvened_conference_id = new.id
    await _move(ctx, dissent, Action.decide, "dissent.decided", {"outcome": data.outcome})
    await meet_deadline(ctx, dissent.id, DeadlineKind.review_response)
    await _share_review_note(ctx, dissent, conference)
    return dissent


async def _amend_categories(ctx: Ctx, dissent: Dissent, categories: list[str]) -> None:
    """Change the categories of each child's decision; the registration outcome never
    changes, and the original decision stays in the history."""
    child_ids = [uuid.UUID(c) for c in dissent.child_ids]
    current = (
        await ctx.session.exec(
            select(Decision).where(
                Decision.conference_id == dissent.conference_id,
                col(Decision.child_id).in_(child_ids),
                col(Decision.superseded_at).is_(None),
            )
        )
    ).all()
    applicable = [d for d in current if d.outcome in ctx.profile.categories_required_for]
    if not applicable:
        raise RuleViolation(
            "none of these children has a decision that carries categories to change",
            code="categories_not_applicable",
        )
    extra = [c["code"] for c in ctx.authority.extra_categories]
    for old in applicable:
        conference_rules.check_decision(
            ctx.profile, outcome=old.outcome, categories=categories, extra_category_codes=extra
        )
    for old in applicable:
        old.superseded_at = ctx.now
        ctx.session.add(old)
    await ctx.session.flush()  # the old row leaves the "current" index before the new one enters
    for old in applicable:
        new = Decision(
            authority_id=old.authority_id,
            conference_id=old.conference_id,
            child_id=old.child_id,
            outcome=old.outcome,
            categories=categories,
            plan_summary=old.plan_summary,
            recorded_by=ctx.actor.sub,
            recorded_at=ctx.now,
            amends_id=old.id,
            amendment_reason="changed on review of a professional dissent",
        )
        ctx.session.add(new)
        await ctx.session.flush()
        ctx.session.add(
            ChildRecordEntry(
                authority_id=ctx.authority.id,
                child_id=old.child_id,
                kind=RecordEntryKind.amended_decision,
                occurred_at=ctx.now,
                conference_id=old.conference_id,
                source_id=new.id,
                summary=f"Changed on review of a dissent: {ctx.profile.categories_term}",
                data={
                    "outcome": new.outcome,
                    "categories": categories,
                    "previous_categories": old.categories,
                },
            )
        )
        audit(
            ctx,
            "decision.amended",
            "decision",
            new.id,
            {"amends": str(old.id), "dissent_id": str(dissent.id)},
        )
        await emit(
            ctx,
            "decision.amended",
            "decision",
            new.id,
            {
                "child_id": str(old.child_id),
                "conference_id": str(old.conference_id),
                "amends": str(old.id),
                "categories": categories,
                "previous_categories": old.categories,
                "dissent_id": str(dissent.id),
            },
        )


async def _share_review_note(ctx: Ctx, dissent: Dissent, conference: Conference) -> None:
    """The written note goes on each child's record and to everyone involved."""
    label = next(o.label for o in ctx.profile.dissent.review.outcomes if o.code == dissent.outcome)
    for child_id in dissent.child_ids:
        ctx.session.add(
            ChildRecordEntry(
                authority_id=ctx.authority.id,
                child_id=uuid.UUID(child_id),
                kind=RecordEntryKind.review_note,
                occurred_at=ctx.now,
                conference_id=conference.id,
                source_id=dissent.id,
                summary=f"Review of a professional dissent: {label}",
                text=dissent.written_note,
                data={"outcome": dissent.outcome},
            )
        )
    attendees = (
        await ctx.session.exec(
            select(Attendee.person_id, Attendee.kind).where(
                Attendee.conference_id == conference.id, col(Attendee.attended).is_(True)
            )
        )
    ).all()
    recipients = {conference.chair_id: "chair", **{p: k for p, k in attendees}}
    for person_id, kind in sorted(recipients.items()):
        await emit(
            ctx,
            "review_note.shared",
            "dissent",
            dissent.id,
            {"recipient_person_id": person_id, "recipient_kind": kind, "conference_id": str(conference.id)},
        )
    await ctx.session.flush()


async def record_family_informed(ctx: Ctx, dissent_id: uuid.UUID, *, data: FamilyInformedIn) -> Dissent:
    if not ctx.actor.has_any("reviewer", "chair"):
        raise Forbidden("a reviewer or the meeting's chair records when the family was told")
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    if not ctx.profile.dissent.review.family_informed_recorded:
        raise RuleViolation(
            "this procedure does not record when the family was told", code="not_in_procedure"
        )
    if dissent.status != DissentStatus.decided:
        raise Conflict("the family is told once the review has decided", code="invalid_transition")
    if dissent.family_informed_on is not None:
        raise Conflict("the family has already been recorded as informed", code="already_recorded")
    if data.informed_on > ctx.calendar.local_date(ctx.now) or (
        dissent.decided_at and data.informed_on < ctx.calendar.local_date(dissent.decided_at)
    ):
        raise RuleViolation("informed_on must be between the decision and today", code="validation_error")
    dissent.family_informed_by = data.informed_by
    dissent.family_informed_on = data.informed_on
    dissent.updated_at = ctx.now
    ctx.session.add(dissent)
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="dissent.family_informed",
        entity_kind="dissent",
        entity_id=dissent.id,
        data={"informed_on": data.informed_on.isoformat()},
    )
    return dissent


# ---- lapsing --------------------------------------------------------------------------------


async def _lapse(ctx: Ctx, dissent: Dissent) -> None:
    dissent.lapsed_at = ctx.now
    await _move(ctx, dissent, Action.lapse, "dissent.lapsed")


async def lapse_if_due(ctx: Ctx, dissent: Dissent) -> bool:
    """Lapse this dissent if its own written step's deadline has passed (lapse on read)."""
    step = ctx.profile.dissent.written_step
    if not step.lapses_when_missed or dissent.status != step.status:
        return dissent.status == DissentStatus.lapsed
    deadline = (
        await ctx.session.exec(
            select(Deadline).where(Deadline.subject_id == dissent.id, Deadline.kind == step.deadline.kind)
        )
    ).first()
    if deadline is None or deadline.met_at is not None or deadline.due_at >= ctx.now:
        return False
    await _lapse(ctx, dissent)
    return True


async def lapse_due(ctx: Ctx) -> int:
    """Lapse every dissent in the authority whose own written step is past due."""
    step = ctx.profile.dissent.written_step
    if not step.lapses_when_missed:
        return 0
    due = await ctx.session.exec(
        select(Dissent)
        .where(
            col(Dissent.authority_id) == ctx.authority.id,
            col(Dissent.lapse_due_at).is_not(None),  # with the next two: ix_dissent_lapse_due
            col(Dissent.lapse_due_at) < ctx.now,
            col(Dissent.status) == step.status,
        )
        .limit(LAPSE_BATCH)
        .with_for_update(skip_locked=True)
    )
    count = 0
    for dissent in due.all():
        await _lapse(ctx, dissent)
        count += 1
    return count


# ---- queries --------------------------------------------------------------------------------


async def get_dissent(ctx: Ctx, dissent_id: uuid.UUID) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id)
    await lapse_if_due(ctx, dissent)
    audit(ctx, "dissent.read", "dissent", dissent.id)
    return dissent


async def list_dissents(
    ctx: Ctx,
    *,
    status: DissentStatus | None,
    conference_id: uuid.UUID | None,
    overdue: bool | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[DissentSummary], str | None]:
    visibility = _visibility(ctx)
    if visibility is False:
        raise Forbidden("this role cannot list dissents")
    await lapse_due(ctx)
    # Only the summary's columns, as plain rows: a page is read-only and polled often.
    query = sa.select(*_SUMMARY_COLUMNS).where(col(Dissent.authority_id) == ctx.authority.id)
    if visibility is not None:
        query = query.where(visibility)
    if status is not None:
        query = query.where(col(Dissent.status) == status.value)
    if conference_id is not None:
        query = query.where(col(Dissent.conference_id) == conference_id)
    open_values = [s.value for s in OPEN_STATUSES]
    if overdue is True:
        query = query.where(col(Dissent.status).in_(open_values), _overdue_clause(ctx.now))
    elif overdue is False:
        query = query.where(~_overdue_clause(ctx.now) | col(Dissent.status).not_in(open_values))
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(col(Dissent.id) < cursor_uuid(after[0]))
    connection = await ctx.session.connection()
    rows = list(await connection.execute(query.order_by(col(Dissent.id).desc()).limit(limit + 1)))
    next_cursor = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
    rows = rows[:limit]
    # Overdue for this page's open dissents only: one probe of the deadline index per row.
    open_ids = [d.id for d in rows if d.status in OPEN_STATUSES]
    overdue_ids: set[uuid.UUID] = set()
    if open_ids:
        late = await connection.execute(
            sa.select(col(Deadline.subject_id))
            .where(col(Deadline.subject_id).in_(open_ids), *_past_due(ctx.now))
            .distinct()
        )
        overdue_ids = set(late.scalars())
    items = [
        DissentSummary(
            id=d.id,
            conference_id=d.conference_id,
            subject=d.subject,
            status=DissentStatus(d.status),
            dissenter=_dissenter(d),
            raised_at=d.raised_at,
            overdue=d.id in overdue_ids,
            version=d.version,
        )
        for d in rows
    ]
    audit(ctx, "dissent.list", "dissent", None, {"count": len(items)})
    return items, next_cursor
