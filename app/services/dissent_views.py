"""What a caller sees of dissents: one dissent in full (with its deadlines and history), a
page of summaries, the dissents of a meeting. Reading may lapse a dissent whose own written
step is past due (lapse on read)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Exists, exists
from sqlmodel import col, select

from app.context import Ctx
from app.models.dissent import (
    Deadline,
    DecisionSnapshot,
    Dissent,
    DissentDecision,
    DissenterPublic,
    DissentHistoryItem,
    DissentPublic,
    DissentSummary,
)
from app.models.platform import Event
from app.models.procedure import ProcedureRef
from app.models.written_step import (
    DissentFormDraft,
    DissentLetterDraft,
)
from app.pagination import by_id, keyset_page
from app.rules import access
from app.rules import deadline as deadline_rules
from app.rules import dissent as rules
from app.services import due
from app.services.deadlines import deadline_public, deadlines_of, past_due_sql
from app.services.decisions import current_decisions
from app.services.dissents import conference_of, lapse_due, lapse_if_due, load_dissent, visibility
from app.services.journal import audit, audit_list, pending_events
from app.services.procedures import procedure_of
from app.services.written_documents import draft_for
from app.vocab import OPEN_STATUSES, DissentStatus

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
_PAGE = by_id(col(Dissent.id))


async def visible_dissent_ids(ctx: Ctx, conference_id: uuid.UUID) -> list[uuid.UUID]:
    query = select(Dissent.id).where(Dissent.conference_id == conference_id)
    scope = visibility(ctx)
    if scope is False:
        return []
    if scope is not None:
        query = query.where(scope)
    return list((await ctx.session.exec(query.order_by(col(Dissent.raised_at)))).all())


def _dissenter(dissent: Dissent | sa.Row[Any, *tuple[Any, ...]]) -> DissenterPublic:
    return DissenterPublic(
        person_id=dissent.dissenter_id,
        name=dissent.dissenter_name,
        role_title=dissent.dissenter_role_title,
        agency=dissent.dissenter_agency,
    )


# The fields a dissent shows as stored, copied to its public view by name.
_STORED_FIELDS = [
    name
    for name in DissentPublic.model_fields
    if name not in DissentSummary.model_fields and name in Dissent.model_fields and name != "child_ids"
]


async def _history(ctx: Ctx, dissent: Dissent) -> list[DissentHistoryItem]:
    events = await ctx.session.exec(
        # By subject alone (the dissent was loaded within the caller's scope): the planner then
        # has one index to use, (subject_id, seq), not the authority's whole feed in order.
        select(Event.type, Event.occurred_at)
        .where(Event.subject_kind == "dissent", Event.subject_id == str(dissent.id))
        .order_by(col(Event.seq))
    )
    return [DissentHistoryItem(type=t, occurred_at=o) for t, o in events.all()] + [
        DissentHistoryItem(type=e["type"], occurred_at=e["occurred_at"])
        for e in pending_events(ctx.session, "dissent", dissent.id)
    ]


async def _decisions_beside(ctx: Ctx, dissent: Dissent) -> list[DissentDecision]:
    """For each child: the decision the dissent was raised against, beside the current one."""
    then = {d["child_id"]: {k: v for k, v in d.items() if k != "child_id"} for d in dissent.raised_against}
    now = {str(d.child_id): d.snapshot() for d in await current_decisions(ctx, dissent.conference_id)}
    out = []
    for child_id in dissent.child_ids:
        before, current = then.get(child_id), now.get(child_id)
        out.append(
            DissentDecision(
                child_id=uuid.UUID(child_id),
                raised_against=DecisionSnapshot.model_validate(before) if before else None,
                current=DecisionSnapshot.model_validate(current) if current else None,
                changed=before is not None and current is not None and before != current,
            )
        )
    return out


async def to_public(ctx: Ctx, dissent: Dissent) -> DissentPublic:
    deadlines = await deadlines_of(ctx, dissent.id)
    conference = await conference_of(ctx, dissent)
    return DissentPublic(
        procedure=ProcedureRef(code=conference.procedure_code, version=conference.procedure_version),
        id=dissent.id,
        conference_id=dissent.conference_id,
        subject=dissent.subject,
        status=DissentStatus(dissent.status),
        dissenter=_dissenter(dissent),
        raised_at=dissent.raised_at,
        overdue=deadline_rules.overdue(
            still_open=dissent.status in OPEN_STATUSES, deadlines=deadlines, now=ctx.now
        ),
        next_deadline=due.next_deadline(ctx, deadlines if dissent.status in OPEN_STATUSES else []),
        version=dissent.version,
        child_ids=[uuid.UUID(c) for c in dissent.child_ids],
        next_step=rules.next_step(await procedure_of(ctx, conference), dissent.status),
        deadlines=[deadline_public(ctx, d) for d in deadlines],
        history=await _history(ctx, dissent),
        decisions=await _decisions_beside(ctx, dissent),
        **{name: getattr(dissent, name) for name in _STORED_FIELDS},
    )


async def written_submission_draft(ctx: Ctx, dissent_id: uuid.UUID) -> DissentFormDraft | DissentLetterDraft:
    """The written document this procedure's step takes (England's form, CARM's letter),
    filled with what the service knows, so the dissenter adds only what only they know."""
    dissent = await load_dissent(ctx, dissent_id)
    draft = await draft_for(ctx, dissent, await conference_of(ctx, dissent))
    audit(ctx, "dissent.draft_read", "dissent", dissent.id)
    return draft


async def get_dissent(ctx: Ctx, dissent_id: uuid.UUID) -> Dissent:
    dissent = await load_dissent(ctx, dissent_id)
    await lapse_if_due(ctx, dissent)
    audit(ctx, "dissent.read", "dissent", dissent.id)
    return dissent


def _overdue_clause(ctx: Ctx) -> Exists:
    return exists().where(col(Deadline.subject_id) == Dissent.id, *past_due_sql(ctx.now))


def _filtered(
    ctx: Ctx,
    scope: Any,
    *,
    status: DissentStatus | None,
    conference_id: uuid.UUID | None,
    overdue: bool | None,
) -> Any:
    # Only the summary's columns, as plain rows: a page is read-only and polled often.
    query = sa.select(*_SUMMARY_COLUMNS).where(col(Dissent.authority_id) == ctx.authority.id)
    if scope is not None:
        query = query.where(scope)
    if status is not None:
        query = query.where(col(Dissent.status) == status.value)
    if conference_id is not None:
        query = query.where(col(Dissent.conference_id) == conference_id)
    open_values = [s.value for s in OPEN_STATUSES]
    if overdue is True:
        query = query.where(col(Dissent.status).in_(open_values), _overdue_clause(ctx))
    elif overdue is False:
        query = query.where(~_overdue_clause(ctx) | col(Dissent.status).not_in(open_values))
    return query


async def list_dissents(
    ctx: Ctx,
    *,
    status: DissentStatus | None,
    conference_id: uuid.UUID | None,
    overdue: bool | None,
    limit: int,
    cursor: str | None,
    sort_due: bool = False,
) -> tuple[list[DissentSummary], str | None]:
    access.require_list_scope(ctx.actor, "dissents")
    after = None if sort_due else _PAGE.parse(cursor)
    await lapse_due(ctx)
    query = _filtered(ctx, visibility(ctx), status=status, conference_id=conference_id, overdue=overdue)
    connection = await ctx.session.connection()

    async def fetch(q: Any) -> list[Any]:
        return list(await connection.execute(q))

    if sort_due:  # the work queue: next open deadline first, none last (issue 15)
        open_ = col(Dissent.status).in_([s.value for s in OPEN_STATUSES])
        rows, next_cursor = await due.due_page(
            query, id_column=col(Dissent.id), when=open_, fetch=fetch, cursor=cursor, limit=limit
        )
    else:
        rows, next_cursor = await keyset_page(_PAGE, query, fetch, after=after, limit=limit)
    # Next deadline (and so overdue) for this page's open dissents only, in one query.
    upcoming = await due.next_deadlines(ctx, [d.id for d in rows if d.status in OPEN_STATUSES])
    items = [
        DissentSummary(
            id=d.id,
            conference_id=d.conference_id,
            subject=d.subject,
            status=DissentStatus(d.status),
            dissenter=_dissenter(d),
            raised_at=d.raised_at,
            overdue=d.id in upcoming and upcoming[d.id].status == "missed",
            next_deadline=upcoming.get(d.id),
            version=d.version,
        )
        for d in rows
    ]
    audit_list(
        ctx,
        "dissent",
        [d.id for d in items],
        {"status": status, "conference_id": conference_id, "overdue": overdue},
    )
    return items, next_cursor
