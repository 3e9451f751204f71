import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response

from app.context import Ctx
from app.deps import CtxDep, require_roles
from app.models.dissent import (
    Dissent,
    DissentPublic,
    DissentSummary,
    FamilyInformedIn,
    ResolutionIn,
    ReviewDecisionIn,
    ReviewMeetingIn,
    WithdrawalIn,
)
from app.models.written_step import (
    ReferralIn,
    WrittenSubmissionDraft,
    WrittenSubmissionIn,
)
from app.pagination import DEFAULT_LIMIT, Page
from app.principal import Principal
from app.routers.common import Cursor, Limit, with_etag
from app.services import dissent_review as review
from app.services import dissent_views as views
from app.services import dissents as service
from app.vocab import DissentStatus

router = APIRouter(prefix="/v1/dissents", tags=["dissents"])
READERS = ("record_system", "admin", "reviewer", "chair", "professional")


async def _respond(ctx: Ctx, response: Response, dissent: Dissent) -> DissentPublic:
    with_etag(response, dissent.version)
    return await views.to_public(ctx, dissent)


@router.get("", response_model=Page[DissentSummary])
async def list_dissents(
    ctx: CtxDep,
    status: DissentStatus | None = None,
    conference_id: uuid.UUID | None = None,
    overdue: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*READERS),
) -> Page[DissentSummary]:
    """Dissents the caller may see, newest first; `overdue=true` for those past a deadline."""
    items, next_cursor = await views.list_dissents(
        ctx, status=status, conference_id=conference_id, overdue=overdue, limit=limit, cursor=cursor
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{dissent_id}", response_model=DissentPublic)
async def get_dissent(
    dissent_id: uuid.UUID, response: Response, ctx: CtxDep, _: Principal = require_roles(*READERS)
) -> DissentPublic:
    """A dissent with its deadlines and history."""
    return await _respond(ctx, response, await views.get_dissent(ctx, dissent_id))


@router.get("/{dissent_id}/written-submission/draft", response_model=WrittenSubmissionDraft)
async def get_written_submission_draft(
    dissent_id: uuid.UUID, ctx: CtxDep, _: Principal = require_roles(*READERS)
) -> Any:
    """The written dissent this procedure takes (England's form, CARM's letter), filled with
    what the service knows; the dissenter completes the empty fields and submits it."""
    return await views.written_submission_draft(ctx, dissent_id)


def _command(
    path: str, body: Any, action: Callable[..., Awaitable[Dissent]], roles: tuple[str, ...], doc: str
) -> None:
    async def handler(
        dissent_id: uuid.UUID,
        # FastAPI reads this annotation at run time to parse and document the body; a class
        # chosen at run time is not a static type, so mypy cannot check it.
        data: body,
        response: Response,
        ctx: CtxDep,
        _: Principal = require_roles(*roles),
    ) -> DissentPublic:
        return await _respond(ctx, response, await action(ctx, dissent_id, data=data))

    handler.__doc__ = doc
    name = action.__name__
    router.post(f"/{{dissent_id}}/{path}", response_model=DissentPublic, name=name)(handler)


_command(
    "resolution",
    ResolutionIn,
    service.resolve_dissent,
    ("chair",),
    "The chair records that the dissent was resolved in the meeting.",
)
_command(
    "withdrawal",
    WithdrawalIn,
    service.withdraw_dissent,
    ("professional", "chair"),
    "The dissenter withdraws (or the chair, for them, during the meeting); allowed until a decision.",
)
_command(
    "written-submission",
    WrittenSubmissionIn,
    service.submit_written,
    ("professional",),
    "The dissenter's written dissent, before its deadline: the document the procedure names "
    "(`form`: `dissent_form` for England's Dissent Form, `dissent_letter` for a letter to the "
    "reviewer); checked against the meeting, its children and the decision.",
)
_command(
    "referral",
    ReferralIn,
    service.refer_dissent,
    ("chair",),
    "The chair's written referral to the reviewer: the note, the precise nature of the agency's "
    "dissent and the course of action agreed with the senior manager.",
)
_command(
    "review-meeting",
    ReviewMeetingIn,
    review.record_review_meeting,
    ("reviewer",),
    "The reviewer records the review meeting.",
)
_command(
    "review-decision",
    ReviewDecisionIn,
    review.decide_dissent,
    ("reviewer",),
    "The reviewer's decision, with the written note shared with everyone involved.",
)
_command(
    "family-informed",
    FamilyInformedIn,
    review.record_family_informed,
    ("reviewer", "chair"),
    "Record when and by whom the family was told of the outcome.",
)
