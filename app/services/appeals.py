"""Family appeals (where the profile has them) and complaints (recorded and routed)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists
from sqlmodel import col, select

from app.context import Ctx
from app.errors import NotFound, RuleViolation
from app.models.appeal import (
    Appeal,
    AppealCreate,
    AppealPublic,
    AppealResponseIn,
    AppealSummary,
    Appellant,
    Complaint,
    ComplaintCreate,
    ComplaintPublic,
    LeadSocialWorker,
)
from app.models.conference import Conference, ConferenceChild, Decision
from app.models.dissent import Deadline
from app.models.procedure import ProcedureRef
from app.pagination import by_id
from app.rules import access
from app.rules import appeal as rules
from app.rules import deadline as deadline_rules
from app.rules.appeal import LodgeFacts
from app.services import conferences, documents, due
from app.services.child_record import add_record_entry
from app.services.deadlines import (
    deadline_public,
    deadlines_by_subject,
    deadlines_of,
    meet_deadline,
    start_deadline,
)
from app.services.journal import audit, audit_list, record_change
from app.services.procedures import procedure_of, procedure_of_id
from app.services.scope import load_scoped, page_of, row_filter
from app.vocab import AppealStatus, DeadlineKind, RecordEntryKind, Relationship

# ---- visibility ----------------------------------------------------------------------------


def _visibility(ctx: Ctx) -> Any:
    """Whole-authority roles see every appeal; a chair those from meetings they chaired; a
    professional those they lodged."""
    return row_filter(
        ctx,
        professional=Appeal.lodged_by == ctx.actor.sub,
        chair=exists().where(
            col(Conference.id) == Appeal.conference_id, col(Conference.chair_id) == ctx.actor.sub
        ),
    )


async def load_appeal(ctx: Ctx, appeal_id: uuid.UUID, *, for_update: bool = False) -> Appeal:
    return await load_scoped(
        ctx, Appeal, appeal_id, visibility=_visibility(ctx), for_update=for_update, missing="no such appeal"
    )


# ---- presentation --------------------------------------------------------------------------


def _overdue(ctx: Ctx, appeal: Appeal, deadlines: list[Deadline]) -> bool:
    return deadline_rules.overdue(
        still_open=appeal.status == AppealStatus.lodged, deadlines=deadlines, now=ctx.now
    )


async def to_public(ctx: Ctx, appeal: Appeal) -> AppealPublic:
    deadlines = await deadlines_of(ctx, appeal.id)
    conference = await ctx.session.get(Conference, appeal.conference_id)
    assert conference is not None  # foreign key
    labels = {o.code: o.label for o in (await procedure_of(ctx, conference)).appeals.outcomes}
    return AppealPublic(
        procedure=ProcedureRef(code=conference.procedure_code, version=conference.procedure_version),
        id=appeal.id,
        conference_id=appeal.conference_id,
        child_id=appeal.child_id,
        status=AppealStatus(appeal.status),
        appellant_relationship=Relationship(appeal.appellant_relationship),
        lodged_at=appeal.lodged_at,
        overdue=_overdue(ctx, appeal, deadlines),
        next_deadline=due.next_deadline(ctx, deadlines if appeal.status == AppealStatus.lodged else []),
        version=appeal.version,
        appellant=Appellant(
            name=appeal.appellant_name, relationship=Relationship(appeal.appellant_relationship)
        ),
        grounds=appeal.grounds,
        lodged_by_lead_social_worker=(
            LeadSocialWorker(name=appeal.lead_social_worker_name) if appeal.lead_social_worker_name else None
        ),
        received_date=appeal.received_date,
        outcome=appeal.outcome,
        outcome_label=labels.get(appeal.outcome) if appeal.outcome else None,
        response_text=appeal.response_text,
        responded_at=appeal.responded_at,
        reconvened_conference_id=appeal.reconvened_conference_id,
        # The conference decision stays in force while an appeal runs and after it is answered;
        # a reconvened meeting makes any new decision.
        decision_in_force=True,
        deadlines=[deadline_public(ctx, d) for d in deadlines],
    )


# ---- commands ------------------------------------------------------------------------------


async def _lodge_facts(ctx: Ctx, conference: Conference, data: AppealCreate) -> LodgeFacts:
    in_meeting = (
        await ctx.session.exec(
            select(ConferenceChild.child_id).where(
                ConferenceChild.conference_id == conference.id, ConferenceChild.child_id == data.child_id
            )
        )
    ).first()
    decision = (
        await ctx.session.exec(
            select(Decision.outcome).where(
                Decision.conference_id == conference.id,
                Decision.child_id == data.child_id,
                col(Decision.superseded_at).is_(None),
            )
        )
    ).first()
    due = conference.appeal_due_at
    return LodgeFacts(
        conference_status=conference.status,
        child_in_meeting=in_meeting is not None,
        lodged_as_professional=access.lodges_as_professional(ctx.actor),
        by_lead_social_worker=data.lodged_by_lead_social_worker is not None,
        decision_outcome=decision,
        appeal_due_at=due,
        last_day=ctx.calendar.local_date(due) if due else None,
        now=ctx.now,
    )


async def lodge_appeal(ctx: Ctx, *, data: AppealCreate) -> Appeal:
    # Only someone who may see the meeting lodges for it (its record system, its chair, an
    # attending lead social worker); anyone else is answered as for an unknown meeting.
    conference = await conferences.load_conference(ctx, data.conference_id)
    procedure = (await procedure_of(ctx, conference)).appeals
    rules.check_available(procedure)
    rules.check_lodge(procedure, await _lodge_facts(ctx, conference, data))
    key = rules.appellant_key(data.appellant.name)
    clash = (
        await ctx.session.exec(
            select(Appeal.id).where(
                Appeal.child_id == data.child_id,
                Appeal.appellant_key == key,
                Appeal.status == AppealStatus.lodged,
            )
        )
    ).first()
    rules.check_not_open_twice(clash)
    appeal = Appeal(
        authority_id=ctx.authority.id,
        conference_id=conference.id,
        child_id=data.child_id,
        appellant_name=data.appellant.name,
        appellant_key=key,
        appellant_relationship=data.appellant.relationship.value,
        grounds=data.grounds,
        lodged_by=ctx.actor.sub,
        lead_social_worker_name=data.lodged_by_lead_social_worker.name
        if data.lodged_by_lead_social_worker
        else None,
        lodged_at=ctx.now,
        received_date=ctx.calendar.local_date(ctx.now),
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(appeal)
    await ctx.session.flush()
    assert procedure.response_deadline is not None  # the schema insists when appeals are enabled
    await start_deadline(
        ctx,
        subject_kind="appeal",
        subject_id=appeal.id,
        rule=procedure.response_deadline,
        meeting_date=conference.meeting_date,
        responsible_role=procedure.responder_roles[0],
    )
    await record_change(
        ctx,
        event_type="appeal.lodged",
        entity_kind="appeal",
        entity_id=appeal.id,
        data={
            "conference_id": str(conference.id),
            "child_id": str(data.child_id),
            "relationship": appeal.appellant_relationship,
            "lodged_by_lead_social_worker": appeal.lead_social_worker_name is not None,
            "procedure": {"code": conference.procedure_code, "version": conference.procedure_version},
        },
    )
    await documents.issue_for_step(ctx, "appeal_lodged", conference=conference, appeal=appeal)
    return appeal


async def respond_to_appeal(ctx: Ctx, appeal_id: uuid.UUID, *, data: AppealResponseIn) -> Appeal:
    appeal = await load_appeal(ctx, appeal_id, for_update=True)
    procedure = (await procedure_of_id(ctx, appeal.conference_id)).appeals
    rules.check_available(procedure)
    access.require_appeal_responder(ctx.actor, procedure.responder_roles, procedure.responder_title)
    rules.check_response(
        procedure, status=appeal.status, outcome=data.outcome, reconvene_given=data.reconvene is not None
    )
    if data.reconvene is not None:
        original = await ctx.session.get(Conference, appeal.conference_id)
        assert original is not None  # foreign key
        new = await conferences.reconvene_conference(
            ctx, original, when=data.reconvene, cause={"appeal_id": str(appeal.id)}
        )
        appeal.reconvened_conference_id = new.id
    appeal.status = rules.next_status(appeal.status, "respond")
    appeal.outcome = data.outcome
    appeal.response_text = data.response_text
    appeal.responded_at = ctx.now
    appeal.responded_by = ctx.actor.sub
    appeal.updated_at = ctx.now
    ctx.session.add(appeal)
    await meet_deadline(ctx, appeal.id, DeadlineKind.appeal_response)
    label = next(o.label for o in procedure.outcomes if o.code == data.outcome)
    add_record_entry(
        ctx,
        child_id=appeal.child_id,
        kind=RecordEntryKind.appeal_response,
        conference_id=appeal.conference_id,
        source_id=appeal.id,
        summary=f"Response to the family's appeal: {label}",
        text=data.response_text,
        data={"outcome": data.outcome},
    )
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="appeal.responded",
        entity_kind="appeal",
        entity_id=appeal.id,
        data={
            "outcome": data.outcome,
            "child_id": str(appeal.child_id),
            "conference_id": str(appeal.conference_id),
        },
    )
    await documents.issue_for_step(ctx, "appeal_response", appeal=appeal)
    return appeal


async def get_appeal(ctx: Ctx, appeal_id: uuid.UUID) -> Appeal:
    appeal = await load_appeal(ctx, appeal_id)
    audit(ctx, "appeal.read", "appeal", appeal.id)
    return appeal


async def list_appeals(
    ctx: Ctx,
    *,
    status: AppealStatus | None,
    conference_id: uuid.UUID | None,
    child_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AppealSummary], str | None]:
    access.require_list_scope(ctx.actor, "appeals")
    visibility = _visibility(ctx)
    query = select(Appeal).where(Appeal.authority_id == ctx.authority.id)
    if visibility is not None:
        query = query.where(visibility)
    if status is not None:
        query = query.where(Appeal.status == status.value)
    if conference_id is not None:
        query = query.where(Appeal.conference_id == conference_id)
    if child_id is not None:
        query = query.where(Appeal.child_id == child_id)
    rows, next_cursor = await page_of(ctx, by_id(col(Appeal.id)), query, cursor=cursor, limit=limit)
    deadlines = await deadlines_by_subject(ctx, [r.id for r in rows])
    items = [
        AppealSummary(
            id=a.id,
            conference_id=a.conference_id,
            child_id=a.child_id,
            status=AppealStatus(a.status),
            appellant_relationship=Relationship(a.appellant_relationship),
            lodged_at=a.lodged_at,
            overdue=_overdue(ctx, a, deadlines[a.id]),
            next_deadline=due.next_deadline(ctx, deadlines[a.id] if a.status == AppealStatus.lodged else []),
            version=a.version,
        )
        for a in rows
    ]
    audit_list(
        ctx,
        "appeal",
        [a.id for a in items],
        {"status": status, "conference_id": conference_id, "child_id": child_id},
    )
    return items, next_cursor


# ---- complaints ----------------------------------------------------------------------------


def complaint_route(data: ComplaintCreate) -> str:
    what = "a practitioner" if data.about == "practitioner" else "a service"
    return (
        f"A complaint about {what} goes to {data.agency}'s own complaints procedure. It has been "
        "recorded here so it can be passed on; it is not a dissent or an appeal and does not change "
        "the conference decision."
    )


async def record_complaint(ctx: Ctx, *, data: ComplaintCreate) -> Complaint:
    if data.conference_id is not None:
        # A meeting the caller may not see answers exactly like one that does not exist.
        try:
            await conferences.load_conference(ctx, data.conference_id)
        except NotFound:
            raise RuleViolation(
                "conference_id is not a conference you can see", code="conference_not_found"
            ) from None
    complaint = Complaint(
        authority_id=ctx.authority.id,
        about=data.about,
        agency=data.agency,
        summary=data.summary,
        conference_id=data.conference_id,
        recorded_by=ctx.actor.sub,
        recorded_at=ctx.now,
        route=complaint_route(data),
    )
    ctx.session.add(complaint)
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="complaint.recorded",
        entity_kind="complaint",
        entity_id=complaint.id,
        data={"about": complaint.about, "agency": complaint.agency},
    )
    return complaint


def complaint_public(complaint: Complaint) -> ComplaintPublic:
    return ComplaintPublic(
        id=complaint.id,
        about=complaint.about,
        agency=complaint.agency,
        summary=complaint.summary,
        conference_id=complaint.conference_id,
        recorded_at=complaint.recorded_at,
        route=complaint.route,
    )


async def list_complaints(ctx: Ctx, *, limit: int, cursor: str | None) -> tuple[list[Complaint], str | None]:
    query = select(Complaint).where(Complaint.authority_id == ctx.authority.id)
    rows, next_cursor = await page_of(ctx, by_id(col(Complaint.id)), query, cursor=cursor, limit=limit)
    audit_list(ctx, "complaint", [r.id for r in rows])
    return rows, next_cursor
