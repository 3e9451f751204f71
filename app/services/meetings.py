"""The end of a meeting (SPEC §3.4, §5.2), orchestrated in one place above conferences,
decisions and dissents: the conference ends (and the family's time to appeal starts), dissents
still raised move to the written step, and each child's decision joins their record."""

from __future__ import annotations

import uuid

from app.context import Ctx
from app.errors import Conflict
from app.models.conference import Conference
from app.rules import conference as rules
from app.rules import deadline as deadline_rules
from app.services import documents
from app.services.conferences import child_ids_of, load_for_chair, touch
from app.services.decisions import current_decisions, record_meeting_decisions
from app.services.dissents import close_meeting_dissents, has_unresolved_dissent
from app.services.journal import record_change
from app.services.procedures import procedure_of


async def _check_can_end(ctx: Ctx, conference: Conference) -> None:
    decided = {str(d.child_id) for d in await current_decisions(ctx, conference.id)}
    blockers = rules.end_blockers(
        await procedure_of(ctx, conference),
        child_ids=[str(c) for c in await child_ids_of(ctx, conference.id)],
        decided_child_ids=decided,
        dissent_invited=conference.dissent_invited_at is not None,
        appeal_rights_explained=conference.appeal_rights_explained_at is not None,
        participants_advised=conference.participants_advised_at is not None,
        unresolved_dissent=await has_unresolved_dissent(ctx, conference.id),
    )
    if blockers:
        raise Conflict(
            "; ".join(b.detail for b in blockers),
            code=blockers[0].code,
            errors=[{"code": b.code, "detail": b.detail} for b in blockers],
        )


async def _start_appeal_window(ctx: Ctx, conference: Conference) -> None:
    """The family's last day to appeal, counted from the anchor the profile's rule names."""
    appeals = (await procedure_of(ctx, conference)).appeals
    rule = appeals.lodge_deadline
    if appeals.enabled and rule is not None:
        started = deadline_rules.start(
            ctx.calendar,
            rule,
            meeting_date=conference.meeting_date,
            received=ctx.calendar.local_date(ctx.now),
        )
        conference.appeal_due_at, conference.appeal_due_explanation = started.due_at, started.explanation


async def end_conference(ctx: Ctx, conference_id: uuid.UUID) -> Conference:
    conference = await load_for_chair(ctx, conference_id)
    target = rules.next_status(conference.status, "end")
    await _check_can_end(ctx, conference)
    conference.status = target
    conference.ended_at = ctx.now
    await _start_appeal_window(ctx, conference)
    touch(ctx, conference)
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
    await record_meeting_decisions(ctx, conference)
    await documents.issue_for_step(ctx, "meeting_end", conference=conference)
    await ctx.session.flush()
    return conference
