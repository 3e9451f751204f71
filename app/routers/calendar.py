from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from app.deps import CurrentUser, SessionDep, find_authority
from app.errors import NotFound, RuleViolation
from app.models.base import IsoDate
from app.rules.calendar import MAX_DAYS, WorkingCalendar
from app.text import SafeText

router = APIRouter(prefix="/v1/calendar", tags=["calendar"])


class SkippedDayPublic(BaseModel):
    date: date
    reason: str


class DeadlineComputationPublic(BaseModel):
    authority: str
    jurisdiction: str
    timezone: str
    from_date: date
    unit: str
    amount: int
    due_date: date
    due_at: datetime
    skipped: list[SkippedDayPublic]
    explanation: str


@router.get("/deadline", response_model=DeadlineComputationPublic)
async def compute_deadline(
    request: Request,
    principal: CurrentUser,
    session: SessionDep,
    authority: Annotated[SafeText, Query(max_length=40)],
    from_: IsoDate = Query(alias="from", description="The start date (YYYY-MM-DD)"),
    working_days: int | None = Query(default=None, ge=0, le=MAX_DAYS),
    calendar_days: int | None = Query(default=None, ge=0, le=MAX_DAYS),
) -> DeadlineComputationPublic:
    """Compute a deadline exactly as the service does: N working days (this authority's bank
    holidays and closures skipped) or N calendar days after `from`, ending at the end of the
    local day."""
    if (working_days is None) == (calendar_days is None):
        raise RuleViolation("give exactly one of working_days or calendar_days", code="validation_error")
    if not principal.has_any("system_admin") and principal.authority != authority:
        raise NotFound("no such authority")
    record = await find_authority(session, authority, request.app.state.authorities)
    if record is None:
        raise NotFound("no such authority")
    calendar = WorkingCalendar(
        record.jurisdiction, record.timezone, [date.fromisoformat(d) for d in record.closure_dates]
    )
    try:
        result = (
            calendar.add_working_days(from_, working_days)
            if working_days is not None
            else calendar.add_calendar_days(from_, calendar_days or 0)
        )
    except (ValueError, OverflowError) as exc:
        raise RuleViolation(
            "that date is outside the calendar this service can count", code="validation_error"
        ) from exc
    return DeadlineComputationPublic(
        authority=record.code,
        jurisdiction=record.jurisdiction,
        timezone=record.timezone,
        from_date=from_,
        unit=result.unit,
        amount=result.amount,
        due_date=result.due_date,
        due_at=result.due_at,
        skipped=[SkippedDayPublic(date=s.day, reason=s.reason) for s in result.skipped],
        explanation=result.explanation,
    )
