"""The review bundle of a dissent, as JSON or as one PDF with the meeting's attachments."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.deps import CtxDep, require_roles
from app.models.review_bundle import ReviewBundle
from app.principal import Principal
from app.routers.common import Problem
from app.routers.documents import JSON, PDF, READERS, negotiate
from app.routers.params import Id
from app.services import review_bundle as service

router = APIRouter(tags=["dissents"])


@router.get(
    "/v1/dissents/{dissent_id}/bundle",
    response_model=ReviewBundle,
    responses={
        200: {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}}},
        406: {"description": "Neither JSON nor PDF is acceptable", "model": Problem},
    },
)
async def get_review_bundle(
    dissent_id: Id, request: Request, ctx: CtxDep, _: Principal = require_roles(*READERS)
) -> ReviewBundle | Response:
    """Everything the reviewer reads about a dissent: the meeting (type, date, chair, who was
    invited and who attended), each child's decision with its categories and plan summary,
    the dissent as raised, the written form, letter or referral, the deadlines and the
    meeting's attachments. `application/json` (the default) or `application/pdf`: a PDF/UA
    summary rendered on request, followed by every attachment's pages. For whoever may read
    the dissent (never the `reporting` role)."""
    media = negotiate(request.headers.get("accept"), (JSON, PDF))
    bundle = await service.gather_bundle(ctx, dissent_id, as_format=media)
    if media == JSON:
        return bundle.content
    data = await service.bundle_pdf(ctx, bundle)
    headers = {
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="review-bundle-{dissent_id}.pdf"',
    }
    return Response(data, media_type=PDF, headers=headers)
