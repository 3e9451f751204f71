"""The review of a professional dissent (SPEC §5.4): the review meeting, the reviewer's
decision (which may change categories or reconvene the meeting), the written note shared
with everyone involved, and when the family was told."""

from __future__ import annotations

import uuid

from sqlmodel import col, select

from app.context import Ctx
from app.models.conference import Attendee, Conference
from app.models.dissent import Dissent, FamilyInformedIn, ReviewDecisionIn, ReviewMeetingIn
from app.models.document import Document
from app.rules import access, written_step
from app.rules import conference as conference_rules
from app.rules import dissent as rules
from app.rules.dissent import Action
from app.services import conferences, decisions, documents
from app.services.child_record import add_record_entry
from app.services.deadlines import meet_deadline
from app.services.dissents import conference_of, load_dissent, move, procedure_of_dissent
from app.services.journal import emit, record_change
from app.services.procedures import procedure_of
from app.vocab import DeadlineKind, RecordEntryKind, ReviewOutcome


async def _load_for_reviewer(ctx: Ctx, dissent_id: uuid.UUID) -> tuple[Dissent, Conference]:
    access.require_reviewer(ctx.actor)
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    conference = await conference_of(ctx, dissent)
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
    received = dissent.submitted_at or dissent.referred_at
    rules.check_held_on(
        data.held_on,
        ctx.calendar.local_date(ctx.now),
        received_on=ctx.calendar.local_date(received) if received else None,
    )
    dissent.review_meeting_held_on = data.held_on
    dissent.review_meeting_members = data.members
    dissent.review_meeting_recorded_at = ctx.now
    await move(
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
    profile = await procedure_of(ctx, conference)
    rules.next_status(profile, dissent.status, Action.decide)  # refuse early, before checks
    rules.check_decision(
        profile,
        outcome=data.outcome,
        new_categories=data.new_categories,
        practice_improvements=data.practice_improvements,
        family_informant=data.family_informant,
    )
    conference_rules.check_reconvene(data.outcome, reconvene_given=data.reconvene is not None)
    dissent.outcome = data.outcome
    dissent.new_categories = data.new_categories
    dissent.practice_improvements = data.practice_improvements
    dissent.written_note = data.written_note
    dissent.family_informant = data.family_informant.model_dump() if data.family_informant else None
    dissent.decided_at = ctx.now
    dissent.decided_by = ctx.actor.sub
    if data.outcome == ReviewOutcome.change_category:
        await decisions.amend_categories(
            ctx,
            conference_id=dissent.conference_id,
            child_ids=[uuid.UUID(c) for c in dissent.child_ids],
            categories=data.new_categories or [],
            dissent_id=dissent.id,
        )
    if data.reconvene is not None:
        new = await conferences.reconvene_conference(
            ctx, conference, when=data.reconvene, cause={"dissent_id": str(dissent.id)}
        )
        dissent.reconvened_conference_id = new.id
    await move(ctx, dissent, Action.decide, "dissent.decided", {"outcome": data.outcome})
    await meet_deadline(ctx, dissent.id, DeadlineKind.review_response)
    issued = await documents.issue_for_step(ctx, "review_decision", conference=conference, dissent=dissent)
    await _share_review_note(ctx, dissent, conference, issued)
    return dissent


async def _share_review_note(
    ctx: Ctx, dissent: Dissent, conference: Conference, issued: list[Document]
) -> None:
    """The written note goes on each child's record and to exactly the recipients the
    procedure names for it (its `review_outcome` document's recipient kinds: the people among
    them may read that document, and nothing else of the dissent)."""
    outcomes = (await procedure_of(ctx, conference)).dissent.review.outcomes
    label = next(o.label for o in outcomes if o.code == dissent.outcome)
    for child_id in dissent.child_ids:
        add_record_entry(
            ctx,
            child_id=uuid.UUID(child_id),
            kind=RecordEntryKind.review_note,
            conference_id=conference.id,
            source_id=dissent.id,
            summary=f"Review of a professional dissent: {label}",
            text=dissent.written_note,
            data={"outcome": dissent.outcome},
        )
    note = next((d for d in issued if d.kind == "review_outcome"), None)
    if note is None:  # a procedure whose review issues no written note shares it with no one
        return
    kinds = sorted({r["kind"] for r in note.recipients})
    for recipient in note.recipients:
        await emit(
            ctx,
            "review_note.shared",
            "dissent",
            dissent.id,
            {
                "recipient_kind": recipient["kind"],
                "recipient_person_id": recipient["person_id"],
                "recipient_kinds": kinds,
                "document_id": str(note.id),
                "conference_id": str(conference.id),
            },
        )
    await ctx.session.flush()


async def record_family_informed(ctx: Ctx, dissent_id: uuid.UUID, *, data: FamilyInformedIn) -> Dissent:
    access.require_role(
        ctx.actor,
        "reviewer",
        "chair",
        detail="a reviewer or the meeting's chair records when the family was told",
    )
    dissent = await load_dissent(ctx, dissent_id, for_update=True)
    rules.check_family_informed(
        await procedure_of_dissent(ctx, dissent),
        status=dissent.status,
        already_informed=dissent.family_informed_on is not None,
        informed_on=data.informed_on,
        decided_on=ctx.calendar.local_date(dissent.decided_at) if dissent.decided_at else None,
        today=ctx.calendar.local_date(ctx.now),
    )
    written_step.check_family_informant(
        dissent.family_informant["name"] if dissent.family_informant else None,
        data.informed_by,
        other_reason=data.other_informant_reason,
    )
    dissent.family_informed_by = data.informed_by
    dissent.family_informed_on = data.informed_on
    dissent.family_informed_other_reason = data.other_informant_reason
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
