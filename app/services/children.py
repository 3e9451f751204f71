"""Children: created by the record system, read by those who may see them."""

from __future__ import annotations

import uuid

from sqlalchemy import exists
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.context import Ctx
from app.errors import Conflict, NotFound
from app.models.child import Child, ChildCreate, ChildPublic
from app.models.conference import Attendee, Conference, ConferenceChild
from app.models.dissent import ChildRecordEntry
from app.pagination import Key, Keyset, by_id, cursor_datetime, cursor_uuid
from app.services.journal import audit, audit_list, record_change
from app.services.scope import page_of, row_filter

_CHILDREN = by_id(col(Child.id), descending=False)
_RECORD: Keyset[ChildRecordEntry] = Keyset(
    (
        Key(col(ChildRecordEntry.occurred_at), cursor_datetime, lambda e: e.occurred_at),
        Key(col(ChildRecordEntry.id), cursor_uuid, lambda e: e.id),
    )
)


def to_public(child: Child) -> ChildPublic:
    return ChildPublic(
        id=child.id,
        external_ref=child.external_ref,
        given_name=child.given_name,
        family_name=child.family_name,
        date_of_birth=child.date_of_birth,
        expected_date_of_birth=child.expected_date_of_birth,
        unborn=child.date_of_birth is None,
        version=child.version,
        created_at=child.created_at,
    )


async def create_child(ctx: Ctx, *, data: ChildCreate) -> Child:
    clash = (
        await ctx.session.exec(
            select(Child.id).where(
                Child.authority_id == ctx.authority.id, Child.external_ref == data.external_ref
            )
        )
    ).first()
    if clash is not None:
        raise Conflict("a child with this external_ref already exists", code="child_exists")
    child = Child(authority_id=ctx.authority.id, created_at=ctx.now, updated_at=ctx.now, **data.model_dump())
    ctx.session.add(child)
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="child.created",
        entity_kind="child",
        entity_id=child.id,
        data={"external_ref": child.external_ref, "unborn": child.date_of_birth is None},
    )
    return child


def _visible_children(ctx: Ctx) -> SelectOfScalar[Child]:
    """Children the caller may see: all in the authority, or those in meetings they chair
    or attended."""
    query = select(Child).where(Child.authority_id == ctx.authority.id)
    condition = row_filter(
        ctx,
        professional=exists().where(
            col(ConferenceChild.child_id) == Child.id,
            col(Attendee.conference_id) == ConferenceChild.conference_id,
            col(Attendee.person_id) == ctx.actor.sub,
            col(Attendee.attended).is_(True),
        ),
        chair=exists().where(
            col(ConferenceChild.child_id) == Child.id,
            col(ConferenceChild.conference_id) == Conference.id,
            col(Conference.chair_id) == ctx.actor.sub,
        ),
    )
    if condition is None:
        return query
    return query.where(condition)


async def get_child(ctx: Ctx, child_id: uuid.UUID, *, audited: bool = True) -> Child:
    child = (await ctx.session.exec(_visible_children(ctx).where(Child.id == child_id))).first()
    if child is None:
        raise NotFound("no such child")
    if audited:
        audit(ctx, "child.read", "child", child.id)
    return child


async def list_children(
    ctx: Ctx, *, external_ref: str | None, limit: int, cursor: str | None
) -> tuple[list[Child], str | None]:
    query = _visible_children(ctx)
    if external_ref is not None:
        query = query.where(Child.external_ref == external_ref)
    rows, next_cursor = await page_of(ctx, _CHILDREN, query, cursor=cursor, limit=limit)
    audit_list(ctx, "child", [r.id for r in rows], {"external_ref": external_ref})
    return rows, next_cursor


async def child_record(
    ctx: Ctx, child_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[ChildRecordEntry], str | None]:
    """The child's timeline, newest first: decisions, amendments, review notes, appeal
    responses. Only for callers who may see the child."""
    child = await get_child(ctx, child_id, audited=False)
    query = select(ChildRecordEntry).where(ChildRecordEntry.child_id == child.id)
    rows, next_cursor = await page_of(ctx, _RECORD, query, cursor=cursor, limit=limit)
    audit(ctx, "child.record_read", "child", child.id, {"count": len(rows)})
    return rows, next_cursor
