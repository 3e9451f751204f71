"""Attachments: PDFs attached to a meeting (multipart upload), listed on it, downloaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile

from app.deps import CtxDep, require_roles
from app.models.attachment import MAX_ATTACHMENT_BYTES, MAX_TITLE_LENGTH, AttachmentPublic
from app.pagination import DEFAULT_LIMIT, Page
from app.principal import Principal
from app.routers.common import Cursor, Limit, Problem
from app.routers.documents import READERS
from app.routers.params import Id
from app.services import attachments as service
from app.text import SafeText

router = APIRouter(tags=["attachments"])
UPLOAD_PATH = "/v1/conferences/{conference_id}/attachments"
PDF_CONTENT = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


def _problem(description: str) -> dict[str, object]:
    return {"description": description, "model": Problem}


@router.post(
    UPLOAD_PATH,
    status_code=201,
    response_model=AttachmentPublic,
    responses={
        409: _problem("`attachment_limit_reached`: the meeting has 20 attachments already"),
        413: _problem("`attachment_too_large`: the file is over 10 MiB"),
        415: _problem("`attachment_not_pdf`: the file is not a PDF by its content"),
        422: _problem("`attachment_encrypted`, `attachment_has_javascript`, `attachment_unreadable`"),
    },
)
async def add_attachment(
    conference_id: Id,
    file: Annotated[
        UploadFile,
        File(
            description="The PDF (at most 10 MiB; checked by its content)",
            json_schema_extra={"contentMediaType": "application/pdf", "minLength": 1},
        ),
    ],
    response: Response,
    ctx: CtxDep,
    title: Annotated[SafeText | None, Form(max_length=MAX_TITLE_LENGTH)] = None,
    _: Principal = require_roles("record_system", "chair"),
) -> AttachmentPublic:
    """Attach a PDF (a conference report, the minutes) to a meeting: the record system or
    the meeting's chair, as `multipart/form-data` with a `file` part and an optional `title`.
    PDF only, checked by its content: not encrypted, no JavaScript; at most 10 MiB each and
    20 per meeting. Stored by its SHA-256; merged into the review bundle's PDF."""
    data = await file.read(MAX_ATTACHMENT_BYTES + 1)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise service.too_large()
    attachment = await service.add_attachment(ctx, conference_id, data=data, title=title)
    response.headers["Location"] = f"/v1/attachments/{attachment.id}"
    return service.to_public(attachment)


@router.get(UPLOAD_PATH, response_model=Page[AttachmentPublic])
async def list_attachments(
    conference_id: Id,
    ctx: CtxDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*READERS),
) -> Page[AttachmentPublic]:
    """A meeting's attachments, in the order they were added."""
    items, next_cursor = await service.list_attachments(ctx, conference_id, limit=limit, cursor=cursor)
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"description": "The PDF's bytes", "content": PDF_CONTENT}},
)
async def get_attachment(attachment_id: Id, ctx: CtxDep, _: Principal = require_roles(*READERS)) -> Response:
    """An attachment's bytes (`application/pdf`), to whoever may read its meeting. They never
    change: `ETag` is their SHA-256."""
    attachment, data = await service.get_attachment(ctx, attachment_id)
    headers = {
        "ETag": f'"{attachment.sha256}"',
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="attachment-{attachment.id}.pdf"',
    }
    return Response(data, media_type="application/pdf", headers=headers)
