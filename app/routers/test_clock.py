from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import AfterValidator, BaseModel, ConfigDict

from app.clock import current_time, reset_test_clock, set_test_clock
from app.deps import SessionDep, SettingsDep, require_roles
from app.errors import NotFound
from app.models.base import IsoDateTime, in_service_range
from app.models.platform import TestClock
from app.principal import Principal

router = APIRouter(prefix="/v1/test-clock", tags=["test-clock"])


class TestClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: Annotated[IsoDateTime, AfterValidator(in_service_range)]


class TestClockOut(BaseModel):
    now: datetime
    frozen: bool


def _enabled(settings: SettingsDep) -> None:
    if not settings.test_clock_enabled:
        raise NotFound("no such resource")


@router.get("", response_model=TestClockOut)
async def get_test_clock(
    session: SessionDep, settings: SettingsDep, _: Principal = require_roles("system_admin")
) -> TestClockOut:
    _enabled(settings)
    row = await session.get(TestClock, 1)
    return TestClockOut(now=await current_time(session, settings), frozen=row is not None)


@router.put("", response_model=TestClockOut)
async def set_clock(
    data: TestClockIn,
    session: SessionDep,
    settings: SettingsDep,
    _: Principal = require_roles("system_admin"),
) -> TestClockOut:
    """Freeze the server's clock at `now` (only when TEST_CLOCK_ENABLED=true)."""
    _enabled(settings)
    await set_test_clock(session, data.now)
    return TestClockOut(now=data.now, frozen=True)


@router.delete("", status_code=204, response_class=Response)
async def reset_clock(
    session: SessionDep, settings: SettingsDep, _: Principal = require_roles("system_admin")
) -> Response:
    """Return to real time."""
    _enabled(settings)
    await reset_test_clock(session)
    return Response(status_code=204)
