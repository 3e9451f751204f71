from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from app.deps import CurrentUser, SessionDep
from app.models.base import IsoDate
from app.rules.calendar import MAX_DAYS
from app.services import calendar as service
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
    # The bound IsoDate declares is lost on a required Query field; the pattern enforces it.
    from_: IsoDate = Query(
        alias="from", description="The start date (YYYY-MM-DD)", json_schema_extra={"maxLength": 10}
    ),
    working_days: int | None = Query(default=None, ge=0, le=MAX_DAYS),
    calendar_days: int | None = Query(default=None, ge=0, le=MAX_DAYS),
) -> DeadlineComputationPublic:
    """Compute a deadline exactly as the service does: N working days (this authority's bank
    holidays and closures skipped) or N calendar days after `from`, ending at the end of the
    local day."""
    record, result = await service.compute_deadline(
        session,
        principal,
        request.app.state.authorities,
        authority_code=authority,
        start=from_,
        working_days=working_days,
        calendar_days=calendar_days,
    )
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
