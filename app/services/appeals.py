"""Family appeals (where the profile has them) and complaints (recorded and routed)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists
from sqlmodel import col, select

from app.deps import Ctx
from app.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.models.appeal import (
    Appeal,
    AppealCreate,
    AppealPublic,
    AppealResponseIn,
    AppealStatus,
    AppealSummary,
    Appellant,
    Complaint,
    ComplaintCreate,
    ComplaintPublic,
    LeadSocialWorker,
    Relationship,
)
from app.models.conference import Conference, ConferenceChild, ConferenceStatus, Decision
from app.models.dissent import ChildRecordEntry, Deadline, DeadlineKind, RecordEntryKind
from app.pagination import cursor_uuid, decode_cursor, encode_cursor
from app.services import conferences, documents
from app.services.dissents import deadline_public, deadlines_of, meet_deadline, start_deadline
from app.services.journal import audit, record_change
from app.services.scope import row_filter


def _appellant_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _not_available(ctx: Ctx) -> RuleViolation:
    return RuleViolation(
        ctx.profile.appeals.unavailable_detail or "this procedure has no family appeal",
        code="appeals_not_available",
    )


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
    visibility = _visibility(ctx)
    if visibility is False:
        raise NotFound("no such appeal")
    query = select(Appeal).where(Appeal.id == appeal_id, Appeal.authority_id == ctx.authority.id)
    if visibility is not None:
        query = query.where(visibility)
    if for_update:
        query = query.with_for_update()
    appeal = (await ctx.session.exec(query)).first()
    if appeal is None:
        raise NotFound("no such appeal")
    if for_update:
        ctx.check_version(appeal.version)
    return appeal


# ---- presentation --------------------------------------------------------------------------


def _overdue(ctx: Ctx, appeal: Appeal, deadlines: list[Deadline]) -> bool:
    return appeal.status == AppealStatus.lodged and any(
        d.met_at is None and d.cancelled_at is None and d.due_at < ctx.now for d in deadlines
    )


async def to_public(ctx: Ctx, appeal: Appeal) -> AppealPublic:
    deadlines = await deadlines_of(ctx, appeal.id)
    labels = {o.code: o.label for o in ctx.profile.appeals.outcomes}
    return AppealPublic(
        id=appeal.id,
        conference_id=appeal.conference_id,
        child_id=appeal.child_id,
        status=AppealStatus(appeal.status),
        appellant_relationship=Relationship(appeal.appellant_relationship),
        lodged_at=appeal.lodged_at,
        overdue=_overdue(ctx, appeal, deadlines),
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


async def lodge_appeal(ctx: Ctx, *, data: AppealCreate) -> Appeal:
    rules = ctx.profile.appeals
    if not rules.enabled:
        raise _not_available(ctx)
    conference = (
        await ctx.session.exec(
            select(Conference).where(
                Conference.id == data.conference_id, Conference.authority_id == ctx.authority.id
            )
        )
    ).first()
    if conference is None:
        raise NotFound("no such conference")
    if conference.status != ConferenceStatus.ended:
        raise Conflict("an appeal can be made once the meeting has ended", code="conference_not_ended")
    in_meeting = (
        await ctx.session.exec(
            select(ConferenceChild.child_id).where(
                ConferenceChild.conference_id == conference.id, ConferenceChild.child_id == data.child_id
            )
        )
    ).first()
    if in_meeting is None:
        raise RuleViolation("that child was not part of this meeting", code="child_not_in_conference")
    if ctx.actor.has_any("professional") and not ctx.actor.has_any("record_system"):
        if data.lodged_by_lead_social_worker is None:
            raise RuleViolation(
                "a professional lodges an appeal as the family's lead social worker: "
                "give lodged_by_lead_social_worker",
                code="validation_error",
            )
    if data.lodged_by_lead_social_worker is not None and not rules.lead_social_worker_may_lodge:
        raise RuleViolation(
            "in this procedure the family lodges the appeal themselves", code="validation_error"
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
    if decision is None or decision.outcome not in rules.appealable_outcomes:
        raise RuleViolation(
            "only a decision to place or keep a child on the register can be appealed",
            code="not_appealable",
        )
    if conference.appeal_due_at is None or ctx.now > conference.appeal_due_at:
        raise Conflict(
            "the time to appeal this decision has passed"
            + (
                f" (the last day was {ctx.calendar.local_date(conference.appeal_due_at)})"
                if conference.appeal_due_at
                else ""
            ),
            code="deadline_passed",
        )
    key = _appellant_key(data.appellant.name)
    clash = (
        await ctx.session.exec(
            select(Appeal.id).where(
                Appeal.child_id == data.child_id,
                Appeal.appellant_key == key,
                Appeal.status == AppealStatus.lodged,
            )
        )
    ).first()
    if clash is not None:
        raise Conflict(
            f"this person already has an open appeal for this child ({clash})", code="appeal_exists"
        )
    received = ctx.calendar.local_date(ctx.now)
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
        received_date=received,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(appeal)
    await ctx.session.flush()
    assert rules.response_deadline is not None  # the schema insists when appeals are enabled
    await start_deadline(
        ctx,
        subject_kind="appeal",
        subject_id=appeal.id,
        rule=rules.response_deadline,
        start=received,
        responsible_role=rules.responder_roles[0],
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
        },
    )
    await documents.issue_for_step(ctx, "appeal_lodged", conference=conference, appeal=appeal)
    return appeal


async def respond_to_appeal(ctx: Ctx, appeal_id: uuid.UUID, *, data: AppealResponseIn) -> Appeal:
    rules = ctx.profile.appeals
    if not rules.enabled:
        raise _not_available(ctx)
    if not ctx.actor.has_any(*rules.responder_roles):
        raise Forbidden(f"in this procedure the {rules.responder_title or 'responder'} answers appeals")
    appeal = await load_appeal(ctx, appeal_id, for_update=True)
    if appeal.status != AppealStatus.lodged:
        raise Conflict("this appeal has already been answered", code="invalid_transition")
    if data.outcome not in {o.code for o in rules.outcomes}:
        raise RuleViolation("that outcome is not available for appeals here", code="outcome_not_allowed")
    if (data.outcome == "reconvene") != (data.reconvene is not None):
        raise RuleViolation(
            "the outcome reconvene needs `reconvene` (time and chair of the new meeting), and only it does",
            code="validation_error",
        )
    if data.reconvene is not None:
        original = await ctx.session.get(Conference, appeal.conference_id)
        assert original is not None  # foreign key
        new = await conferences.reconvene_conference(
            ctx, original, when=data.reconvene, cause={"appeal_id": str(appeal.id)}
        )
        appeal.reconvened_conference_id = new.id
    appeal.status = AppealStatus.responded
    appeal.outcome = data.outcome
    appeal.response_text = data.response_text
    appeal.responded_at = ctx.now
    appeal.responded_by = ctx.actor.sub
    appeal.updated_at = ctx.now
    ctx.session.add(appeal)
    await meet_deadline(ctx, appeal.id, DeadlineKind.appeal_response)
    label = next(o.label for o in rules.outcomes if o.code == data.outcome)
    ctx.session.add(
        ChildRecordEntry(
            authority_id=ctx.authority.id,
            child_id=appeal.child_id,
            kind=RecordEntryKind.appeal_response,
            occurred_at=ctx.now,
            conference_id=appeal.conference_id,
            source_id=appeal.id,
            summary=f"Response to the family's appeal: {label}",
            text=data.response_text,
            data={"outcome": data.outcome},
        )
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
    visibility = _visibility(ctx)
    if visibility is False:
        raise Forbidden("this role cannot list appeals")
    query = select(Appeal).where(Appeal.authority_id == ctx.authority.id)
    if visibility is not None:
        query = query.where(visibility)
    if status is not None:
        query = query.where(Appeal.status == status.value)
    if conference_id is not None:
        query = query.where(Appeal.conference_id == conference_id)
    if child_id is not None:
        query = query.where(Appeal.child_id == child_id)
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(col(Appeal.id) < cursor_uuid(after[0]))
    rows = list((await ctx.session.exec(query.order_by(col(Appeal.id).desc()).limit(limit + 1))).all())
    next_cursor = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
    rows = rows[:limit]
    deadlines: dict[uuid.UUID, list[Deadline]] = {r.id: [] for r in rows}
    if rows:
        for d in (
            await ctx.session.exec(select(Deadline).where(col(Deadline.subject_id).in_(list(deadlines))))
        ).all():
            deadlines[d.subject_id].append(d)
    items = [
        AppealSummary(
            id=a.id,
            conference_id=a.conference_id,
            child_id=a.child_id,
            status=AppealStatus(a.status),
            appellant_relationship=Relationship(a.appellant_relationship),
            lodged_at=a.lodged_at,
            overdue=_overdue(ctx, a, deadlines[a.id]),
            version=a.version,
        )
        for a in rows
    ]
    audit(ctx, "appeal.list", "appeal", None, {"count": len(items)})
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
        exists_ = (
            await ctx.session.exec(
                select(Conference.id).where(
                    Conference.id == data.conference_id, Conference.authority_id == ctx.authority.id
                )
            )
        ).first()
        if exists_ is None:
            raise RuleViolation(
                "conference_id is not a conference of this authority", code="conference_not_found"
            )
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
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(col(Complaint.id) < cursor_uuid(after[0]))
    rows = list((await ctx.session.exec(query.order_by(col(Complaint.id).desc()).limit(limit + 1))).all())
    next_cursor = encode_cursor([str(rows[limit - 1].id)]) if len(rows) > limit else None
    audit(ctx, "complaint.list", "complaint", None, {"count": min(len(rows), limit)})
    return rows[:limit], next_cursor
