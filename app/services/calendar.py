"""The deadline calculator: count working or calendar days in an authority's calendar,
exactly as the service counts its own deadlines."""

from __future__ import annotations

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from app.context import AuthorityCache, calendar_of, find_authority
from app.errors import NotFound
from app.models.authority import Authority
from app.principal import Principal
from app.rules.access import can_read_authority
from app.rules.calendar import DeadlineComputation, check_one_unit, count_days


async def compute_deadline(
    session: AsyncSession,
    principal: Principal,
    cache: AuthorityCache | None,
    *,
    authority_code: str,
    start: date,
    working_days: int | None,
    calendar_days: int | None,
) -> tuple[Authority, DeadlineComputation]:
    check_one_unit(working_days, calendar_days)
    if not can_read_authority(principal, authority_code):
        raise NotFound("no such authority")
    authority = await find_authority(session, authority_code, cache)
    if authority is None:
        raise NotFound("no such authority")
    computed = count_days(
        calendar_of(authority), start, working_days=working_days, calendar_days=calendar_days
    )
    return authority, computed
