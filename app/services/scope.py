"""Row filters for what a caller may see (SPEC §4), shared by the services' queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_

from app.context import Ctx
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
