from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response

from app.deps import CtxDep, require_roles
from app.models.conference import (
    AttendeeCreate,
    AttendeePublic,
    Conference,
    ConferenceCreate,
    ConferencePublic,
    ConferenceSummary,
    DecisionCreate,
)
from app.models.dissent import DissentCreate, DissentPublic
from app.pagination import DEFAULT_LIMIT, Page
from app.principal import Principal
from app.routers.common import Cursor, Limit, with_etag
from app.services import conference_views as views
from app.services import conferences as service
from app.services import decisions, dissent_views, meetings
from app.services import dissents as dissent_service
from app.vocab import ConferenceStatus

router = APIRouter(prefix="/v1/conferences", tags=["conferences"])
READERS = ("record_system", "admin", "reviewer", "chair", "professional")


async def _public(ctx: CtxDep, response: Response, conference_id: uuid.UUID) -> ConferencePublic:
    conference = await service.load_conference(ctx, conference_id)
    with_etag(response, conference.version)
    return await views.to_public(ctx, conference)


@router.post("", status_code=201, response_model=ConferencePublic)
async def create_conference(
    data: ConferenceCreate, response: Response, ctx: CtxDep, _: Principal = require_roles("record_system")
) -> ConferencePublic:
    """Schedule a conference for one or more children."""
    conference = await service.create_conference(ctx, data=data)
    response.headers["Location"] = f"/v1/conferences/{conference.id}"
    with_etag(response, conference.version)
    return await views.to_public(ctx, conference)


@router.get("", response_model=Page[ConferenceSummary])
async def list_conferences(
    ctx: CtxDep,
    status: ConferenceStatus | None = None,
    child_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*READERS),
) -> Page[ConferenceSummary]:
    """Conferences the caller may see, newest scheduled first."""
    items, next_cursor = await views.list_conferences(
        ctx, status=status, child_id=child_id, limit=limit, cursor=cursor
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{conference_id}", response_model=ConferencePublic)
async def get_conference(
    conference_id: uuid.UUID, response: Response, ctx: CtxDep, _: Principal = require_roles(*READERS)
) -> ConferencePublic:
    """A conference with its attendees, current decisions and the dissents the caller may see."""
    conference = await views.get_conference(ctx, conference_id)
    with_etag(response, conference.version)
    return await views.to_public(ctx, conference)


@router.post(
    "/{conference_id}/attendees",
    response_model=AttendeePublic,
    status_code=201,
    responses={200: {"model": AttendeePublic, "description": "Existing attendee updated"}},
)
async def record_attendee(
    conference_id: uuid.UUID,
    data: AttendeeCreate,
    response: Response,
    ctx: CtxDep,
    _: Principal = require_roles("record_system", "chair"),
) -> AttendeePublic:
    """Record someone's attendance (record system or the chair, until the meeting ends).
    Posting the same person again updates their entry."""
    attendee, created = await service.record_attendee(ctx, conference_id, data=data)
    if not created:
        response.status_code = 200
    return AttendeePublic.model_validate(attendee, from_attributes=True)


def _chair_action(
    action: Callable[..., Awaitable[Conference]], summary: str
) -> Callable[..., Awaitable[ConferencePublic]]:
    async def handler(
        conference_id: uuid.UUID, response: Response, ctx: CtxDep, _: Principal = require_roles("chair")
    ) -> ConferencePublic:
        conference = await action(ctx, conference_id)
        with_etag(response, conference.version)
        return await views.to_public(ctx, conference)

    handler.__doc__ = summary
    return handler


router.post("/{conference_id}/start", response_model=ConferencePublic, name="start_conference")(
    _chair_action(service.start_conference, "Start the meeting (chair).")
)
router.post(
    "/{conference_id}/dissent-invitation", response_model=ConferencePublic, name="record_dissent_invitation"
)(
    _chair_action(
        service.record_dissent_invitation, "Record that the chair asked whether anyone wishes to dissent."
    )
)
router.post(
    "/{conference_id}/appeal-rights-explained",
    response_model=ConferencePublic,
    name="record_appeal_rights_explained",
)(
    _chair_action(
        service.record_appeal_rights_explained, "Record that the family was told of their right of appeal."
    )
)
router.post(
    "/{conference_id}/participants-advised",
    response_model=ConferencePublic,
    name="record_participants_advised",
)(
    _chair_action(
        service.record_participants_advised,
        "Record that the participants were advised that an unresolved dissent will be considered "
        "by the reviewer (procedures that ask for it; needed to end a meeting with one).",
    )
)
router.post("/{conference_id}/end", response_model=ConferencePublic, name="end_conference")(
    _chair_action(
        meetings.end_conference,
        "End the meeting (chair). Refused while a child lacks a decision or a confirmation the "
        "procedure requires is missing. Dissents still open move to their written step.",
    )
)


@router.post("/{conference_id}/decisions", response_model=ConferencePublic)
async def record_decision(
    conference_id: uuid.UUID,
    data: DecisionCreate,
    response: Response,
    ctx: CtxDep,
    _: Principal = require_roles("chair"),
) -> ConferencePublic:
    """Record (or replace, while the meeting runs) a child's decision (chair)."""
    await decisions.record_decision(ctx, conference_id, data=data)
    return await _public(ctx, response, conference_id)


@router.post("/{conference_id}/cancel", response_model=ConferencePublic)
async def cancel_conference(
    conference_id: uuid.UUID,
    response: Response,
    ctx: CtxDep,
    _: Principal = require_roles("record_system", "chair"),
) -> ConferencePublic:
    """Cancel a meeting that has not started."""
    conference = await service.cancel_conference(ctx, conference_id)
    with_etag(response, conference.version)
    return await views.to_public(ctx, conference)


@router.post("/{conference_id}/dissents", status_code=201, response_model=DissentPublic, tags=["dissents"])
async def raise_dissent(
    conference_id: uuid.UUID,
    data: DissentCreate,
    response: Response,
    ctx: CtxDep,
    _: Principal = require_roles("professional", "chair"),
) -> DissentPublic:
    """Raise a dissent during the meeting: an attending professional for themselves, or the
    chair on an attendee's behalf."""
    dissent = await dissent_service.raise_dissent(ctx, conference_id, data=data)
    response.headers["Location"] = f"/v1/dissents/{dissent.id}"
    with_etag(response, dissent.version)
    return await dissent_views.to_public(ctx, dissent)
