"""Deadlines (SPEC §5-6), pure: when one starts and falls due under a profile's rule, its
status, and when a dissent or an appeal counts as overdue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from app.profiles.schema import DeadlineRule
from app.rules.calendar import DeadlineComputation, WorkingCalendar
from app.vocab import DeadlineAnchor, DeadlineStatusCode


def anchor(rule: DeadlineRule, *, meeting_date: date, received: date) -> date:
    """The date the rule counts from: its `counted_from` names which one."""
    return meeting_date if rule.counted_from == DeadlineAnchor.meeting_date else received


def compute(calendar: WorkingCalendar, rule: DeadlineRule, start: date) -> DeadlineComputation:
    if rule.working_days is not None:
        return calendar.add_working_days(start, rule.working_days)
    return calendar.add_calendar_days(start, rule.calendar_days or 0)


@dataclass(frozen=True, slots=True)
class Started:
    """A deadline as it starts: what the service stores."""

    start_date: date
    due_date: date
    due_at: datetime
    explanation: str
    approaching_at: datetime  # start of the working day before the due date


def start(calendar: WorkingCalendar, rule: DeadlineRule, *, meeting_date: date, received: date) -> Started:
    """Start a deadline under `rule`, from the anchor its `counted_from` names."""
    start_date = anchor(rule, meeting_date=meeting_date, received=received)
    computed = compute(calendar, rule, start_date)
    return Started(
        start_date=start_date,
        due_date=computed.due_date,
        due_at=computed.due_at,
        explanation=computed.explanation,
        approaching_at=calendar.start_of_day(calendar.previous_working_day(computed.due_date)),
    )


def deadline_status(
    *, due_at: datetime, met_at: datetime | None, cancelled_at: datetime | None, now: datetime
) -> DeadlineStatusCode:
    if met_at is not None:
        return "met" if met_at <= due_at else "missed"
    if cancelled_at is not None:
        return "cancelled"
    return "missed" if now > due_at else "pending"


class OpenOrNot(Protocol):
    @property
    def due_at(self) -> datetime: ...
    @property
    def met_at(self) -> datetime | None: ...
    @property
    def cancelled_at(self) -> datetime | None: ...


def past_due(deadline: OpenOrNot, now: datetime) -> bool:
    """Still open (neither met nor cancelled) after its due time."""
    return deadline.met_at is None and deadline.cancelled_at is None and deadline.due_at < now


def overdue(*, still_open: bool, deadlines: Iterable[OpenOrNot], now: datetime) -> bool:
    """A dissent or an appeal is overdue while it is open and one of its deadlines is past due."""
    return still_open and any(past_due(d, now) for d in deadlines)
