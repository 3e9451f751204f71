"""The one clock. Everything reads time through `current_time`, so the test clock can
freeze it for integrators testing deadline flows (SPEC §3)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db import utcnow
from app.models.platform import TestClock


async def current_time(session: AsyncSession, settings: Settings) -> datetime:
    if not settings.test_clock_enabled:
        return utcnow()
    row = await session.get(TestClock, 1)
    return row.frozen_at if row is not None else utcnow()


async def set_test_clock(session: AsyncSession, when: datetime) -> None:
    row = await session.get(TestClock, 1)
    if row is None:
        session.add(TestClock(id=1, frozen_at=when))
    else:
        row.frozen_at = when
        session.add(row)
    await session.flush()


async def reset_test_clock(session: AsyncSession) -> None:
    row = await session.get(TestClock, 1)
    if row is not None:
        await session.delete(row)
        await session.flush()
