"""What a caller may see (SPEC §4), shared by the services' queries: the row filter for
their role, and the scoped load of one row (optionally locked for a change)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import or_
from sqlalchemy.orm import aliased
from sqlmodel import select

from app.context import Ctx
from app.errors import NotFound
from app.pagination import Keyset, keyset_page
from app.rules.access import Scope, conference_scope


def row_filter(ctx: Ctx, *, professional: Any, chair: Any) -> Any:
    """None: the whole authority. False: nothing. Otherwise the SQL condition for the rows a
    professional (their own) or a chair (their meetings') may see, OR-ed for callers with both."""
    scope = conference_scope(ctx.actor)
    if scope is Scope.all:
        return None
    if scope is Scope.none:
        return False
    conditions = []
    if ctx.actor.has_any("professional"):
        conditions.append(professional)
    if ctx.actor.has_any("chair"):
        conditions.append(chair)
    return or_(*conditions)


class Versioned(Protocol):
    id: uuid.UUID
    version: int


T = TypeVar("T", bound=Versioned)
R = TypeVar("R")


async def in_authority(ctx: Ctx, model: type[T], row_id: uuid.UUID) -> T | None:
    """The caller's authority's row `row_id` whatever their role, or None (for a reference in
    a request body, which each caller refuses in its own words)."""
    table: Any = model
    query = select(model).where(table.id == row_id, table.authority_id == ctx.authority.id)
    return (await ctx.session.exec(query)).first()


def hold(ctx: Ctx, row: Any) -> None:
    """Keep `row` in the session's identity map for the rest of the request. The map holds
    rows weakly: a row nothing else refers to is dropped, and the next `session.get` of it
    would read it from the database again."""
    ctx.session.sync_session.info.setdefault("held", []).append(row)


async def load_scoped(
    ctx: Ctx,
    model: type[T],
    row_id: uuid.UUID,
    *,
    visibility: Any = None,
    for_update: bool = False,
    missing: str,
    with_parent: tuple[type[Any], Any] | None = None,
) -> T:
    """The authority's row `row_id` if `visibility` (a `row_filter`) lets the caller see it,
    404 `missing` otherwise, whatever the reason. `for_update` locks it (it alone) and honours
    If-Match. `with_parent` (a model and the row's foreign key to it) loads the parent row in
    the same statement, so a later `session.get` of it is answered from the session."""
    if visibility is False:
        raise NotFound(missing)
    table: Any = model
    # An alias: the visibility filter's own subqueries on the parent's table stay uncorrelated.
    parent: Any = aliased(with_parent[0]) if with_parent else None
    query: Any = select(model, parent) if parent is not None else select(model)
    query = query.where(table.id == row_id, table.authority_id == ctx.authority.id)
    if with_parent is not None:
        query = query.join(parent, parent.id == with_parent[1])
    if visibility is not None:
        query = query.where(visibility)
    if for_update:
        query = query.with_for_update(of=table)
    found = (await ctx.session.exec(query)).first()
    if found is None:
        raise NotFound(missing)
    row: T = found[0] if parent is not None else found
    if parent is not None:
        hold(ctx, found[1])
    if for_update:
        ctx.check_version(row.version)
    return row


def fetch_all(ctx: Ctx) -> Callable[[Any], Awaitable[list[Any]]]:
    """Run a query in the caller's session and return its rows (the fetch of `keyset_page`)."""

    async def fetch(query: Any) -> list[Any]:
        return list((await ctx.session.exec(query)).all())

    return fetch


async def page_of(
    ctx: Ctx, keyset: Keyset[R], query: Any, *, cursor: str | None, limit: int
) -> tuple[list[R], str | None]:
    """One page of `query` in the caller's session (`keyset_page` with its cursor parsed now)."""
    return await keyset_page(keyset, query, fetch_all(ctx), after=keyset.parse(cursor), limit=limit)
