"""Each child's decision at a meeting: recorded (and replaceable) while it runs, written to
the child's record when it ends, and amended (a new row; the original kept) when a dissent
review changes the categories."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlmodel import col, select

from app.context import Ctx
from app.errors import RuleViolation
from app.models.conference import Conference, Decision, DecisionCreate, DecisionPublic
from app.models.dissent import Dissent
from app.profiles import Profile
from app.rules import conference as rules
from app.services.child_record import add_record_entry
from app.services.conferences import child_ids_of, load_for_chair, touch
from app.services.journal import audit, emit, record_change
from app.services.procedures import procedure_of, procedure_of_id
from app.vocab import DecisionOutcome, DecisionOutcomeCode, DissentStatus, RecordEntryKind


async def current_decisions(ctx: Ctx, conference_id: uuid.UUID) -> list[Decision]:
    rows = await ctx.session.exec(
        select(Decision).where(Decision.conference_id == conference_id, col(Decision.superseded_at).is_(None))
    )
    return list(rows.all())


def _label(profile: Profile, outcome: str) -> str:
    # The column's check constraint holds it to the four codes the profile labels.
    return profile.decision_outcome_labels[cast(DecisionOutcomeCode, outcome)]


def decision_public(profile: Profile, decision: Decision) -> DecisionPublic:
    """A decision, labelled in its conference's procedure."""
    return DecisionPublic(
        id=decision.id,
        child_id=decision.child_id,
        outcome=DecisionOutcome(decision.outcome),
        outcome_label=_label(profile, decision.outcome),
        categories=decision.categories,
        plan_summary=decision.plan_summary,
        recorded_at=decision.recorded_at,
        amended=decision.amends_id is not None,
    )


def _extra_category_codes(ctx: Ctx) -> list[str]:
    return [c["code"] for c in ctx.authority.extra_categories]


async def record_decision(ctx: Ctx, conference_id: uuid.UUID, *, data: DecisionCreate) -> Decision:
    conference = await load_for_chair(ctx, conference_id)
    rules.require_in_progress(conference.status, "decisions can be recorded")
    if data.child_id not in await child_ids_of(ctx, conference.id):
        raise RuleViolation("that child is not part of this meeting", code="child_not_in_conference")
    rules.check_decision(
        await procedure_of(ctx, conference),
        outcome=data.outcome.value,
        categories=data.categories,
        extra_category_codes=_extra_category_codes(ctx),
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
    previous = decision.snapshot() if decision is not None else None
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
    touch(ctx, conference)
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
    if previous is not None and previous != decision.snapshot():
        await _tell_open_dissents(ctx, conference, decision, previous)
    return decision


async def _tell_open_dissents(
    ctx: Ctx, conference: Conference, decision: Decision, previous: dict[str, Any]
) -> None:
    """A decision was replaced in the meeting: each open dissent about that child keeps the
    decision it was raised against, and an event tells the chair that its decision changed."""
    child_id = str(decision.child_id)
    open_dissents = await ctx.session.exec(
        select(Dissent).where(Dissent.conference_id == conference.id, Dissent.status == DissentStatus.raised)
    )
    for dissent in open_dissents.all():
        if child_id not in dissent.child_ids:
            continue
        raised_against = next((d for d in dissent.raised_against if d["child_id"] == child_id), None)
        await emit(
            ctx,
            "dissent.decision_changed",
            "dissent",
            dissent.id,
            {
                "conference_id": str(conference.id),
                "child_id": child_id,
                "raised_against": raised_against,
                "previous": previous,
                "current": decision.snapshot(),
            },
        )


async def record_meeting_decisions(ctx: Ctx, conference: Conference) -> None:
    """At the end of the meeting each child's decision joins their record."""
    profile = await procedure_of(ctx, conference)
    for decision in await current_decisions(ctx, conference.id):
        add_record_entry(
            ctx,
            child_id=decision.child_id,
            kind=RecordEntryKind.decision,
            conference_id=conference.id,
            source_id=decision.id,
            summary=_label(profile, decision.outcome),
            data={
                "outcome": decision.outcome,
                "categories": decision.categories,
                "plan_summary": decision.plan_summary,
            },
        )


async def amend_categories(
    ctx: Ctx,
    *,
    conference_id: uuid.UUID,
    child_ids: list[uuid.UUID],
    categories: list[str],
    dissent_id: uuid.UUID,
) -> None:
    """Change the categories of each child's decision; the registration outcome never
    changes, and the original decision stays in the history."""
    current = (
        await ctx.session.exec(
            select(Decision).where(
                Decision.conference_id == conference_id,
                col(Decision.child_id).in_(child_ids),
                col(Decision.superseded_at).is_(None),
            )
        )
    ).all()
    profile = await procedure_of_id(ctx, conference_id)
    applicable = [d for d in current if d.outcome in profile.categories_required_for]
    if not applicable:
        raise RuleViolation(
            "none of these children has a decision that carries categories to change",
            code="categories_not_applicable",
        )
    for old in applicable:
        rules.check_decision(
            profile,
            outcome=old.outcome,
            categories=categories,
            extra_category_codes=_extra_category_codes(ctx),
        )
    for old in applicable:
        old.superseded_at = ctx.now
        ctx.session.add(old)
    await ctx.session.flush()  # the old row leaves the "current" index before the new one enters
    for old in applicable:
        await _amend(ctx, old, categories, dissent_id, categories_term=profile.categories_term)


async def _amend(
    ctx: Ctx, old: Decision, categories: list[str], dissent_id: uuid.UUID, *, categories_term: str
) -> None:
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
    add_record_entry(
        ctx,
        child_id=old.child_id,
        kind=RecordEntryKind.amended_decision,
        conference_id=old.conference_id,
        source_id=new.id,
        summary=f"Changed on review of a dissent: {categories_term}",
        data={
            "outcome": new.outcome,
            "categories": categories,
            "previous_categories": old.categories,
            "plan_summary": new.plan_summary,
        },
    )
    audit(ctx, "decision.amended", "decision", new.id, {"amends": str(old.id), "dissent_id": str(dissent_id)})
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
            "dissent_id": str(dissent_id),
        },
    )
