"""The written step's documents, checked against what the service knows: England's Dissent
Form against the meeting, its children and the decision; and the draft of the document the
procedure takes, filled with those facts for the dissenter to complete."""

from __future__ import annotations

import uuid

from sqlmodel import col, select

from app.context import Ctx
from app.models.child import Child
from app.models.conference import Conference
from app.models.dissent import (
    Dissent,
)
from app.models.written_step import (
    ChildDraft,
    DissentFormDraft,
    DissentFormIn,
    DissentLetterDraft,
    LetterSenderDraft,
    ProfessionalDraft,
)
from app.rules import dissent as rules
from app.rules import written_step
from app.services.conferences import child_ids_of
from app.services.decisions import current_decisions
from app.services.procedures import procedure_of


async def meeting_children(ctx: Ctx, conference_id: uuid.UUID) -> list[written_step.MeetingChild]:
    ids = await child_ids_of(ctx, conference_id)
    rows = await ctx.session.exec(select(Child).where(col(Child.id).in_(ids)))
    return [
        written_step.MeetingChild(
            str(c.id), f"{c.given_name} {c.family_name}", c.date_of_birth, c.expected_date_of_birth
        )
        for c in rows.all()
    ]


async def _outcomes_for(ctx: Ctx, dissent: Dissent) -> list[str]:
    """The current decision for each of the dissent's children."""
    return [
        d.outcome
        for d in await current_decisions(ctx, dissent.conference_id)
        if str(d.child_id) in dissent.child_ids
    ]


async def check_dissent_form(ctx: Ctx, dissent: Dissent, conference: Conference, data: DissentFormIn) -> None:
    """England's form against the meeting: its date, its children and the recorded decision."""
    rules.check_submission(
        await procedure_of(ctx, conference),
        discussed_with_line_manager=data.discussed_with_line_manager_and_safeguarding_lead,
        conference_date=data.conference_date,
        meeting_date=conference.meeting_date,
    )
    written_step.check_children(
        [
            written_step.ChildEntry(str(c.child_id) if c.child_id else None, c.name, c.date_of_birth)
            for c in data.children
        ],
        await meeting_children(ctx, conference.id),
    )
    written_step.check_subject_to_plan(data.child_subject_to_plan, await _outcomes_for(ctx, dissent))


async def draft_for(
    ctx: Ctx, dissent: Dissent, conference: Conference
) -> DissentFormDraft | DissentLetterDraft:
    """The document the procedure's written step takes, filled with what the service knows."""
    profile = await procedure_of(ctx, conference)
    written_step.check_has_draft(profile)
    if profile.dissent.written_step.document == "dissent_letter":
        return DissentLetterDraft(
            sender=LetterSenderDraft(
                name=dissent.dissenter_name,
                role=dissent.dissenter_role_title,
                agency=dissent.dissenter_agency,
            ),
            to=profile.dissent.review.reviewer_title,
            reasons=dissent.reasons,
            signed_name=dissent.dissenter_name,
        )
    children = [c for c in await meeting_children(ctx, conference.id) if c.id in dissent.child_ids]
    on_plan = {o in written_step.SUBJECT_TO_PLAN for o in await _outcomes_for(ctx, dissent)}
    return DissentFormDraft(
        professional=ProfessionalDraft(
            name=dissent.dissenter_name,
            role=dissent.dissenter_role_title,
            agency=dissent.dissenter_agency,
            agency_address=None,
            phone=None,
            email=None,
        ),
        children=[
            ChildDraft(
                child_id=uuid.UUID(c.id),
                name=c.name,
                date_of_birth=c.date_of_birth or c.expected_date_of_birth,
            )
            for c in children
        ],
        conference_date=conference.meeting_date,
        child_subject_to_plan=on_plan.pop() if len(on_plan) == 1 else None,
        rationale=dissent.reasons,
        signed_name=dissent.dissenter_name,
    )
