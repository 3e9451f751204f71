"""Reports: JSON by default, CSV with a header row for `Accept: text/csv`."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from app.deps import CtxDep, SettingsDep, require_roles
from app.models.base import IsoDate
from app.pagination import DEFAULT_LIMIT, Page
from app.principal import Principal
from app.routers.common import Cursor, Limit
from app.rules.reporting import csv_cell
from app.services import reports as service
from app.services.journal import audit
from app.text import SafeText

router = APIRouter(prefix="/v1/reports", tags=["reports"])
ROLES = ("reporting", "reviewer", "admin")
CSV = {"text/csv": {"schema": {"type": "string"}}}


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


def _csv(rows: list[dict[str, Any]], header: list[str], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/summary", response_model=service.SummaryReport, responses={200: {"content": CSV}})
async def summary_report(
    request: Request,
    ctx: CtxDep,
    settings: SettingsDep,
    period_from: IsoDate | None = Query(
        default=None, alias="from", description="First meeting date (inclusive)"
    ),
    period_to: IsoDate | None = Query(default=None, alias="to", description="Last meeting date (inclusive)"),
    meeting_type: SafeText | None = Query(default=None, max_length=60),
    _: Principal = require_roles(*ROLES),
) -> Any:
    """Conferences held; dissents by subject, status, outcome and dissenting agency; appeals by
    outcome — for meetings in the period. Small counts are withheld from the reporting role."""
    report = await service.summary(
        ctx,
        period_from=period_from,
        period_to=period_to,
        meeting_type=meeting_type,
        threshold=settings.report_suppression_threshold,
    )
    audit(ctx, "report.summary", "report", None, {"from": str(period_from), "to": str(period_to)})
    if not _wants_csv(request):
        return report
    rows: list[dict[str, Any]] = [
        {"measure": "conferences_held", "key": "", **report.conferences_held.model_dump(exclude={"key"})},
        {"measure": "dissents_total", "key": "", **report.dissents_total.model_dump(exclude={"key"})},
        {"measure": "appeals_total", "key": "", **report.appeals_total.model_dump(exclude={"key"})},
    ]
    for measure in (
        "dissents_by_subject",
        "dissents_by_status",
        "dissents_by_outcome",
        "dissents_by_agency",
        "appeals_by_outcome",
    ):
        rows += [{"measure": measure, **cell.model_dump()} for cell in getattr(report, measure)]
    return _csv(rows, ["measure", "key", "count", "suppressed"], "summary.csv")


@router.get("/timeliness", response_model=service.TimelinessReport, responses={200: {"content": CSV}})
async def timeliness_report(
    request: Request,
    ctx: CtxDep,
    settings: SettingsDep,
    period_from: IsoDate | None = Query(default=None, alias="from", description="First due date (inclusive)"),
    period_to: IsoDate | None = Query(default=None, alias="to", description="Last due date (inclusive)"),
    _: Principal = require_roles(*ROLES),
) -> Any:
    """Per deadline kind: total, met, missed, pending, percentage met (of met + missed), and
    the median and 90th percentile working days taken by steps that were done."""
    report = await service.timeliness(
        ctx, period_from=period_from, period_to=period_to, threshold=settings.report_suppression_threshold
    )
    audit(ctx, "report.timeliness", "report", None, {"from": str(period_from), "to": str(period_to)})
    if not _wants_csv(request):
        return report
    header = list(service.TimelinessRow.model_fields)
    return _csv([r.model_dump(mode="json") for r in report.kinds], header, "timeliness.csv")


class OverduePage(Page[service.OverdueItem]):
    pass


@router.get("/overdue", response_model=OverduePage, responses={200: {"content": CSV}})
async def overdue_report(
    request: Request,
    ctx: CtxDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*ROLES),
) -> Any:
    """Open steps past due, oldest first: kind, ids, due date, days overdue and who must act.
    No personal data."""
    items, next_cursor = await service.overdue(ctx, limit=limit, cursor=cursor)
    audit(ctx, "report.overdue", "report", None, {"count": len(items)})
    if not _wants_csv(request):
        return OverduePage(items=items, next_cursor=next_cursor)
    header = list(service.OverdueItem.model_fields)
    response = _csv([i.model_dump(mode="json") for i in items], header, "overdue.csv")
    if next_cursor:
        response.headers["X-Next-Cursor"] = next_cursor
    return response
