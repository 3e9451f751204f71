"""The structured content of each document kind, gathered from the records it is about.

What is gathered here is what the template renders, what `GET /v1/documents/{id}` answers
as `application/json`, and what stays with the issued document: a later change to the
records does not change it. Reads models only (no other service), so every service can
issue documents without import cycles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from app.context import Ctx
from app.models.appeal import Appeal
from app.models.child import Child
from app.models.conference import Attendee, Conference, ConferenceChild, Decision
from app.models.dissent import Deadline, Dissent
from app.profiles import Profile
from app.rules.documents import Person, RecipientFacts
from app.services.procedures import procedure_of
from app.vocab import AttendeeKind


@dataclass
class Gathered:
    content: dict[str, Any]
    facts: RecipientFacts


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def subject_label(profile: Profile, subject: str) -> str:
    labels = {
        "plan": "The child protection plan",
        "category": f"The {profile.categories_term}",
        "registration": "The registration decision",
    }
    return labels.get(subject, subject)


def _envelope(ctx: Ctx, profile: Profile, conference: Conference) -> dict[str, Any]:
    return {
        "authority": {"code": ctx.authority.code, "name": ctx.authority.name},
        "procedure": {
            "code": profile.code,
            "version": conference.procedure_version,
            "title": profile.title,
            "chair_title": profile.chair_title,
            "reviewer_title": profile.dissent.review.reviewer_title,
            "categories_term": profile.categories_term,
            "appeal_responder_title": profile.appeals.responder_title,
            "review_group": profile.documents.review_group,
        },
        "meeting": {
            "id": str(conference.id),
            "type": conference.meeting_type,
            "type_label": profile.meeting_type_label(conference.meeting_type) or conference.meeting_type,
            "date": conference.meeting_date.isoformat(),
            "chair_name": conference.chair_name,
            "chair_title": profile.chair_title,
            "ended_at": _iso(conference.ended_at),
        },
    }


async def children_of(ctx: Ctx, conference_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """The meeting's children by id, in the meeting's order."""
    rows = await ctx.session.exec(
        select(Child)
        .join(ConferenceChild, col(ConferenceChild.child_id) == col(Child.id))
        .where(ConferenceChild.conference_id == conference_id)
        .order_by(col(ConferenceChild.position))
    )
    return {
        str(c.id): {
            "id": str(c.id),
            "name": f"{c.given_name} {c.family_name}",
            "date_of_birth": _iso(c.date_of_birth),
            "expected_date_of_birth": _iso(c.expected_date_of_birth),
        }
        for c in rows.all()
    }


async def _attendees(ctx: Ctx, conference_id: uuid.UUID) -> list[Attendee]:
    rows = await ctx.session.exec(
        select(Attendee)
        .where(Attendee.conference_id == conference_id, col(Attendee.attended).is_(True))
        .order_by(col(Attendee.name))
    )
    return list(rows.all())


async def _deadlines(ctx: Ctx, subject_ids: list[uuid.UUID]) -> dict[str, list[dict[str, Any]]]:
    rows = await ctx.session.exec(
        select(Deadline).where(col(Deadline.subject_id).in_(subject_ids)).order_by(col(Deadline.due_at))
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for d in rows.all():
        found.setdefault(str(d.subject_id), []).append(
            {
                "kind": d.kind,
                "due_date": d.due_date.isoformat(),
                "met": d.met_at is not None,
                "cancelled": d.cancelled_at is not None,
            }
        )
    return found


def _facts(conference: Conference, attendees: list[Attendee], **extra: Any) -> RecipientFacts:
    return RecipientFacts(
        chair=Person(conference.chair_id, conference.chair_name),
        attending_professionals=[
            Person(a.person_id, a.name, a.agency) for a in attendees if a.kind == AttendeeKind.professional
        ],
        family=[
            Person(a.person_id, a.name)
            for a in attendees
            if a.kind in (AttendeeKind.family, AttendeeKind.child)
        ],
        **extra,
    )


def _dissent_item(
    profile: Profile, dissent: Dissent, children: dict[str, dict[str, Any]], deadlines: list[dict[str, Any]]
) -> dict[str, Any]:
    step = profile.dissent.written_step
    return {
        "id": str(dissent.id),
        "dissenter": {
            "name": dissent.dissenter_name,
            "role": dissent.dissenter_role_title,
            "agency": dissent.dissenter_agency,
        },
        "raised_by_chair": dissent.raised_by != dissent.dissenter_id,
        "raised_at": _iso(dissent.raised_at),
        "subject": dissent.subject,
        "subject_label": subject_label(profile, dissent.subject),
        "children": [children[c] for c in dissent.child_ids if c in children],
        "reasons": dissent.reasons,
        "status": dissent.status,
        "resolved_in_meeting": dissent.resolved_at is not None,
        "resolution_summary": dissent.resolution_summary,
        "withdrawal_reason": dissent.withdrawal_reason,
        "withdrawn_at": _iso(dissent.withdrawn_at),
        "written_step": {
            "actor": step.actor,
            "description": step.description,
            "lapses": step.lapses_when_missed,
        },
        "submitted_at": _iso(dissent.submitted_at),
        "referred_at": _iso(dissent.referred_at),
        "lapsed_at": _iso(dissent.lapsed_at),
        "deadlines": deadlines,
    }


async def for_dissent(ctx: Ctx, dissent: Dissent, conference: Conference) -> Gathered:
    """A dissent's written submission, referral or review outcome."""
    children = await children_of(ctx, conference.id)
    attendees = await _attendees(ctx, conference.id)
    deadlines = (await _deadlines(ctx, [dissent.id])).get(str(dissent.id), [])
    profile = await procedure_of(ctx, conference)
    outcome_labels = {o.code: o.label for o in profile.dissent.review.outcomes}
    category_labels = {c.code: c.label for c in profile.categories}
    content = {
        **_envelope(ctx, profile, conference),
        "children": [children[c] for c in dissent.child_ids if c in children],
        "dissent": _dissent_item(profile, dissent, children, deadlines),
        "submission": dissent.submission,
        "referral": {
            "note": dissent.referral_note,
            "referred_at": _iso(dissent.referred_at),
            "nature_of_dissent": (dissent.referral or {}).get("nature_of_dissent"),
            "course_of_action": (dissent.referral or {}).get("course_of_action"),
            "senior_manager": (dissent.referral or {}).get("senior_manager"),
        }
        if dissent.referral_note
        else None,
        "review": {
            "outcome": dissent.outcome,
            "outcome_label": outcome_labels.get(dissent.outcome or "", dissent.outcome),
            "new_categories": [category_labels.get(c, c) for c in dissent.new_categories or []],
            "practice_improvements": dissent.practice_improvements,
            "written_note": dissent.written_note,
            "decided_at": _iso(dissent.decided_at),
            "reviewer_name": ctx.actor.name,
            "meeting_held_on": _iso(dissent.review_meeting_held_on),
            "meeting_members": dissent.review_meeting_members or [],
            "family_informant": dissent.family_informant,
            "reconvened": dissent.reconvened_conference_id is not None,
        }
        if dissent.outcome
        else None,
    }
    dissenter = Person(dissent.dissenter_id, dissent.dissenter_name, dissent.dissenter_agency)
    reviewer = Person(dissent.decided_by, ctx.actor.name) if dissent.decided_by else None
    return Gathered(content, _facts(conference, attendees, dissenter=dissenter, reviewer=reviewer))


async def for_appeal(ctx: Ctx, appeal: Appeal, conference: Conference) -> Gathered:
    """An appeal as lodged, or the response to it."""
    children = await children_of(ctx, conference.id)
    attendees = await _attendees(ctx, conference.id)
    deadlines = (await _deadlines(ctx, [appeal.id])).get(str(appeal.id), [])
    decision = (
        await ctx.session.exec(
            select(Decision).where(
                Decision.conference_id == conference.id,
                Decision.child_id == appeal.child_id,
                col(Decision.superseded_at).is_(None),
            )
        )
    ).first()
    profile = await procedure_of(ctx, conference)
    labels: dict[str, str] = {str(k): v for k, v in profile.decision_outcome_labels.items()}
    outcome_labels = {o.code: o.label for o in profile.appeals.outcomes}
    content = {
        **_envelope(ctx, profile, conference),
        "children": [children[str(appeal.child_id)]] if str(appeal.child_id) in children else [],
        "decision": {"outcome": decision.outcome, "label": labels.get(decision.outcome, decision.outcome)}
        if decision
        else None,
        "appeal": {
            "id": str(appeal.id),
            "appellant": {"name": appeal.appellant_name, "relationship": appeal.appellant_relationship},
            "grounds": appeal.grounds,
            "lead_social_worker_name": appeal.lead_social_worker_name,
            "lodged_at": _iso(appeal.lodged_at),
            "received_date": _iso(appeal.received_date),
            "deadlines": deadlines,
            "outcome": appeal.outcome,
            "outcome_label": outcome_labels.get(appeal.outcome or "", appeal.outcome),
            "response_text": appeal.response_text,
            "responded_at": _iso(appeal.responded_at),
            "responder_name": ctx.actor.name if appeal.responded_at else None,
        },
    }
    lead = (
        Person(appeal.lodged_by, appeal.lead_social_worker_name) if appeal.lead_social_worker_name else None
    )
    facts = _facts(
        conference, attendees, appellant=Person(None, appeal.appellant_name), lead_social_worker=lead
    )
    return Gathered(content, facts)


async def for_meeting(ctx: Ctx, conference: Conference) -> Gathered:
    """The minutes extract: every dissent raised in the meeting, as the record stands."""
    children = await children_of(ctx, conference.id)
    attendees = await _attendees(ctx, conference.id)
    dissents = list(
        (
            await ctx.session.exec(
                select(Dissent)
                .where(Dissent.conference_id == conference.id)
                .order_by(col(Dissent.raised_at), col(Dissent.id))
            )
        ).all()
    )
    deadlines = await _deadlines(ctx, [d.id for d in dissents])
    profile = await procedure_of(ctx, conference)
    content = {
        **_envelope(ctx, profile, conference),
        "children": list(children.values()),
        "dissent_invited": conference.dissent_invited_at is not None,
        "attendees": [
            {"name": a.name, "role": a.role_title, "agency": a.agency or None, "kind": a.kind}
            for a in attendees
        ],
        "dissents": [_dissent_item(profile, d, children, deadlines.get(str(d.id), [])) for d in dissents],
    }
    return Gathered(content, _facts(conference, attendees))
