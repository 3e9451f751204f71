"""Reports for managers and reporting tools (SPEC §10). Every figure is an SQL aggregate over
indexed columns; Python only shapes the handful of aggregate rows that come back. No names,
dates of birth, reasons or letters are ever selected."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import col, func, select

from app.context import Ctx
from app.models.appeal import Appeal
from app.models.conference import Conference
from app.models.dissent import Deadline, Dissent
from app.pagination import Key, Keyset, cursor_datetime, cursor_uuid
from app.rules.access import small_counts_withheld
from app.rules.reporting import Cell, check_period, percentage, percentile_from_histogram, suppress
from app.services.deadlines import past_due_sql
from app.services.scope import page_of
from app.vocab import OPEN_STATUSES, ConferenceStatus, DeadlineKind

# The overdue list: oldest due first; its rows are (deadline, dissent's meeting, appeal's meeting).
_OVERDUE_PAGE: Keyset[Any] = Keyset(
    (
        Key(col(Deadline.due_at), cursor_datetime, lambda r: r[0].due_at),
        Key(col(Deadline.id), cursor_uuid, lambda r: r[0].id),
    ),
    descending=False,
)


# ---- response shapes -------------------------------------------------------------------------


class CountCell(BaseModel):
    key: str | None
    count: int | None
    suppressed: bool


class SummaryReport(BaseModel):
    period_from: date | None
    period_to: date | None
    meeting_type: str | None
    suppression_threshold: int | None
    conferences_held: CountCell
    dissents_total: CountCell
    dissents_by_subject: list[CountCell]
    dissents_by_status: list[CountCell]
    dissents_by_outcome: list[CountCell]
    dissents_by_agency: list[CountCell]
    appeals_total: CountCell
    appeals_by_outcome: list[CountCell]


class TimelinessRow(BaseModel):
    kind: DeadlineKind
    total: int | None
    met: int | None
    missed: int | None
    pending: int | None
    cancelled: int | None
    percentage_met: float | None
    median_working_days_taken: float | None
    p90_working_days_taken: float | None
    suppressed: bool


class TimelinessReport(BaseModel):
    period_from: date | None
    period_to: date | None
    suppression_threshold: int | None
    kinds: list[TimelinessRow]


class OverdueItem(BaseModel):
    kind: DeadlineKind
    subject_kind: str
    subject_id: uuid.UUID
    conference_id: uuid.UUID
    due_date: date
    due_at: datetime
    days_overdue: int
    responsible_role: str
    procedure_code: str = Field(description="The procedure the step's conference runs under")
    procedure_version: int = Field(description="Its version: the deadline rules the step follows")


# ---- helpers ---------------------------------------------------------------------------------


def _threshold(ctx: Ctx, threshold: int) -> tuple[bool, int | None]:
    """Suppression applies to the `reporting` role unless it also holds a managing role."""
    applies = small_counts_withheld(ctx.actor)
    return applies, threshold if applies else None


def _cell(key: str | None, count: int, threshold: int, apply: bool) -> CountCell:
    c: Cell = suppress(count, threshold=threshold, apply=apply)
    return CountCell(key=key, count=c.value, suppressed=c.suppressed)


def _cells(counts: dict[str | None, int], threshold: int, apply: bool) -> list[CountCell]:
    return [
        _cell(k, v, threshold, apply)
        for k, v in sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    ]


# ---- summary ---------------------------------------------------------------------------------


async def summary(
    ctx: Ctx, *, period_from: date | None, period_to: date | None, meeting_type: str | None, threshold: int
) -> SummaryReport:
    check_period(period_from, period_to)
    apply, shown = _threshold(ctx, threshold)
    held = select(func.count()).where(
        Conference.authority_id == ctx.authority.id, Conference.status == ConferenceStatus.ended
    )
    # One pass over the dissents, grouped by every dimension at once; the rows that come back
    # are aggregates (a few dozen at most), which we roll up per dimension.
    # sqlmodel's select() is typed for at most four columns, hence the ignore.
    grouped = select(  # type: ignore[call-overload]
        Dissent.subject, Dissent.status, Dissent.outcome, Dissent.dissenter_agency, func.count()
    ).where(Dissent.authority_id == ctx.authority.id)
    appeals = (
        select(Appeal.status, Appeal.outcome, func.count())
        .join(Conference, col(Conference.id) == Appeal.conference_id)
        .where(Appeal.authority_id == ctx.authority.id)
    )
    if period_from is not None:
        held = held.where(col(Conference.meeting_date) >= period_from)
        grouped = grouped.where(col(Dissent.meeting_date) >= period_from)
        appeals = appeals.where(col(Conference.meeting_date) >= period_from)
    if period_to is not None:
        held = held.where(col(Conference.meeting_date) <= period_to)
        grouped = grouped.where(col(Dissent.meeting_date) <= period_to)
        appeals = appeals.where(col(Conference.meeting_date) <= period_to)
    if meeting_type is not None:
        held = held.where(Conference.meeting_type == meeting_type)
        grouped = grouped.where(Dissent.meeting_type == meeting_type)
        appeals = appeals.where(Conference.meeting_type == meeting_type)
    grouped = grouped.group_by(Dissent.subject, Dissent.status, Dissent.outcome, Dissent.dissenter_agency)
    appeals = appeals.group_by(Appeal.status, col(Appeal.outcome))

    conferences_held = int((await ctx.session.exec(held)).one())
    by: dict[str, dict[str | None, int]] = {
        d: defaultdict(int) for d in ("subject", "status", "outcome", "agency")
    }
    total = 0
    for subject, status, outcome, agency, count in (await ctx.session.exec(grouped)).all():
        total += count
        by["subject"][subject] += count
        by["status"][status] += count
        by["agency"][agency] += count
        if outcome is not None:
            by["outcome"][outcome] += count
    appeal_outcomes: dict[str | None, int] = defaultdict(int)
    appeals_total = 0
    for status, outcome, count in (await ctx.session.exec(appeals)).all():
        appeals_total += count
        appeal_outcomes[outcome if outcome is not None else f"pending_{status}"] += count
    return SummaryReport(
        period_from=period_from,
        period_to=period_to,
        meeting_type=meeting_type,
        suppression_threshold=shown,
        conferences_held=_cell(None, conferences_held, threshold, apply),
        dissents_total=_cell(None, total, threshold, apply),
        dissents_by_subject=_cells(by["subject"], threshold, apply),
        dissents_by_status=_cells(by["status"], threshold, apply),
        dissents_by_outcome=_cells(by["outcome"], threshold, apply),
        dissents_by_agency=_cells(by["agency"], threshold, apply),
        appeals_total=_cell(None, appeals_total, threshold, apply),
        appeals_by_outcome=_cells(appeal_outcomes, threshold, apply),
    )


# ---- timeliness ------------------------------------------------------------------------------


def _deadline_filters(ctx: Ctx, period_from: date | None, period_to: date | None) -> list[Any]:
    filters: list[Any] = [Deadline.authority_id == ctx.authority.id]
    if period_from is not None:
        filters.append(col(Deadline.due_date) >= period_from)
    if period_to is not None:
        filters.append(col(Deadline.due_date) <= period_to)
    return filters


async def timeliness(
    ctx: Ctx, *, period_from: date | None, period_to: date | None, threshold: int
) -> TimelinessReport:
    """Per deadline kind (by due date in the period): met on time, missed (late or not done
    and past due), pending, cancelled (the matter ended otherwise); percentage met of those
    decided (met + missed); median and 90th percentile working days taken by steps done
    (interpolated like percentile_cont, from per-value counts the database aggregates)."""
    check_period(period_from, period_to)
    apply, shown = _threshold(ctx, threshold)
    filters = _deadline_filters(ctx, period_from, period_to)
    met_on_time = sa.and_(col(Deadline.met_at).is_not(None), col(Deadline.met_at) <= col(Deadline.due_at))
    missed = sa.or_(
        sa.and_(col(Deadline.met_at).is_not(None), col(Deadline.met_at) > col(Deadline.due_at)),
        sa.and_(
            col(Deadline.met_at).is_(None),
            col(Deadline.cancelled_at).is_(None),
            col(Deadline.due_at) < ctx.now,
        ),
    )
    pending = sa.and_(
        col(Deadline.met_at).is_(None), col(Deadline.cancelled_at).is_(None), col(Deadline.due_at) >= ctx.now
    )
    cancelled = sa.and_(col(Deadline.met_at).is_(None), col(Deadline.cancelled_at).is_not(None))

    def n(condition: Any) -> Any:
        return func.sum(sa.case((condition, 1), else_=0))

    # One pass: conditional counts per kind and working days taken, so the same grouped rows
    # give the counts and a histogram of days taken (a few hundred rows at most).
    grouped = (
        await ctx.session.exec(
            select(  # type: ignore[call-overload]  # sqlmodel's select() is typed for <= 4 columns
                Deadline.kind,
                Deadline.days_taken,
                n(met_on_time),
                n(missed),
                n(pending),
                n(cancelled),
                func.count(),
            )
            .where(*filters)
            .group_by(Deadline.kind, Deadline.days_taken)
        )
    ).all()
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    histograms: dict[str, dict[int, int]] = defaultdict(dict)
    for kind_code, days, met_c, missed_c, pending_c, cancelled_c, rows_c in grouped:
        totals = stats[kind_code]
        for i, value in enumerate((met_c, missed_c, pending_c, cancelled_c)):
            totals[i] += int(value or 0)
        if days is not None:
            histograms[kind_code][int(days)] = int(rows_c)
    rows = []
    for kind in DeadlineKind:
        met_n, missed_n, pending_n, cancelled_n = stats.get(kind.value, [0, 0, 0, 0])
        total = met_n + missed_n + pending_n
        hide = apply and 0 < total < threshold
        histogram = histograms.get(kind.value, {})
        median, p90 = (_rounded(percentile_from_histogram(histogram, p)) for p in (0.5, 0.9))

        def shown_count(v: int, hide: bool = hide) -> int | None:
            return None if hide else suppress(v, threshold=threshold, apply=apply).value

        rows.append(
            TimelinessRow(
                kind=kind,
                total=None if hide else total,
                met=shown_count(met_n),
                missed=shown_count(missed_n),
                pending=shown_count(pending_n),
                cancelled=shown_count(cancelled_n),
                percentage_met=None if hide else percentage(met_n, met_n + missed_n),
                median_working_days_taken=None if hide else median,
                p90_working_days_taken=None if hide else p90,
                suppressed=hide
                or any(apply and 0 < v < threshold for v in (met_n, missed_n, pending_n, cancelled_n)),
            )
        )
    return TimelinessReport(
        period_from=period_from, period_to=period_to, suppression_threshold=shown, kinds=rows
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# ---- overdue ---------------------------------------------------------------------------------


async def overdue(ctx: Ctx, *, limit: int, cursor: str | None) -> tuple[list[OverdueItem], str | None]:
    """Open steps past their due time, oldest first. Steps that lapse when missed (the
    dissenter's own written step) are not overdue: the dissent lapses instead."""
    open_dissent = sa.and_(
        col(Deadline.subject_kind) == "dissent", col(Dissent.status).in_([s.value for s in OPEN_STATUSES])
    )
    open_appeal = sa.and_(col(Deadline.subject_kind) == "appeal", col(Appeal.status) == "lodged")
    conference_id = func.coalesce(Dissent.conference_id, Appeal.conference_id)
    query = (
        select(Deadline, conference_id, Conference.procedure_code, Conference.procedure_version)
        .outerjoin(Dissent, col(Dissent.id) == Deadline.subject_id)
        .outerjoin(Appeal, col(Appeal.id) == Deadline.subject_id)
        .join(Conference, col(Conference.id) == conference_id)
        .where(
            Deadline.authority_id == ctx.authority.id,
            *past_due_sql(ctx.now),
            sa.not_(col(Deadline.lapses)),
            sa.or_(open_dissent, open_appeal),
        )
    )
    rows, next_cursor = await page_of(ctx, _OVERDUE_PAGE, query, cursor=cursor, limit=limit)
    today = ctx.calendar.local_date(ctx.now)
    items = [
        OverdueItem(
            kind=DeadlineKind(d.kind),
            subject_kind=d.subject_kind,
            subject_id=d.subject_id,
            conference_id=conference,
            due_date=d.due_date,
            due_at=d.due_at,
            days_overdue=(today - d.due_date).days,
            responsible_role=d.responsible_role,
            procedure_code=procedure_code,
            procedure_version=procedure_version,
        )
        for d, conference, procedure_code, procedure_version in rows
    ]
    return items, next_cursor
