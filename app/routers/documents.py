"""Issued documents: lists per dissent, appeal and meeting, and one document by content
negotiation (PDF, HTML, or the JSON content it was rendered from)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from app.deps import CtxDep, require_roles
from app.errors import DomainError
from app.models.document import DocumentPublic, DocumentSubject, DocumentSummary
from app.pagination import DEFAULT_LIMIT, Page
from app.principal import Principal
from app.routers.common import Cursor, Limit, Problem
from app.routers.params import Id
from app.services import document_reads as service

router = APIRouter(tags=["documents"])
# Reporting reads aggregates only, never a document.
READERS = ("record_system", "admin", "reviewer", "chair", "professional")

PDF, HTML, JSON = "application/pdf", "text/html", "application/json"
_OFFERED = (JSON, PDF, HTML)
DOCUMENT_CONTENT = {
    PDF: {"schema": {"type": "string", "format": "binary"}},
    HTML: {"schema": {"type": "string"}},
}


def negotiate(accept: str | None, offered: tuple[str, ...] = _OFFERED) -> str:
    """The offered media type the Accept header prefers (JSON when it has no preference)."""
    if not accept:
        return JSON
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        for kind in offered:
            if quality > 0 and media in (kind, kind.split("/")[0] + "/*", "*/*"):
                ranked.append((-quality, position if media != "*/*" else 1000 + position, kind))
                break
    if not ranked:
        raise DomainError(
            f"available as {' or '.join(sorted(offered))}",
            status=406,
            code="not_acceptable",
        )
    return min(ranked)[2]


async def _list(
    ctx: CtxDep, subject: DocumentSubject, subject_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[DocumentSummary]:
    items, next_cursor = await service.list_documents(ctx, subject, subject_id, limit=limit, cursor=cursor)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/v1/dissents/{dissent_id}/documents", response_model=Page[DocumentSummary])
async def list_dissent_documents(
    dissent_id: Id,
    ctx: CtxDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*READERS),
) -> Page[DocumentSummary]:
    """The documents issued about a dissent (form or letter, referral, review outcome), in
    the order they were issued."""
    return await _list(ctx, DocumentSubject.dissent, dissent_id, limit, cursor)


@router.get("/v1/appeals/{appeal_id}/documents", response_model=Page[DocumentSummary])
async def list_appeal_documents(
    appeal_id: Id,
    ctx: CtxDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*READERS),
) -> Page[DocumentSummary]:
    """The documents issued about an appeal (the appeal as lodged, the response)."""
    return await _list(ctx, DocumentSubject.appeal, appeal_id, limit, cursor)


@router.get("/v1/conferences/{conference_id}/documents", response_model=Page[DocumentSummary])
async def list_conference_documents(
    conference_id: Id,
    ctx: CtxDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles(*READERS),
) -> Page[DocumentSummary]:
    """A meeting's documents that the caller may read: its minutes extract (every version)
    and the documents of its dissents and appeals."""
    return await _list(ctx, DocumentSubject.conference, conference_id, limit, cursor)


@router.get(
    "/v1/documents/{document_id}",
    response_model=DocumentPublic,
    responses={
        200: {"content": DOCUMENT_CONTENT},
        406: {"description": "None of the offered media types is acceptable", "model": Problem},
    },
)
async def get_document(
    document_id: Id, request: Request, ctx: CtxDep, _: Principal = require_roles(*READERS)
) -> DocumentPublic | Response:
    """One issued document, by content negotiation: `application/pdf` (the PDF/UA, rendered
    once from the issued HTML, by the worker or by the first request for it), `text/html`
    (the issued HTML) or `application/json` (the document's record and the structured
    content it was rendered from; the default). The bytes never change: `ETag` is their
    SHA-256."""
    media = negotiate(request.headers.get("accept"))
    document = await service.get_document(ctx, document_id, as_format=media)
    if media == JSON:
        return await service.document_public(ctx, document)
    key = await service.pdf_key(ctx, document) if media == PDF else document.html_sha256
    data = await service.document_bytes(ctx, key)
    filename = f"{document.kind}-{document.id}.{'pdf' if media == PDF else 'html'}"
    headers = {
        "ETag": f'"{key}"',
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    return Response(data, media_type=PDF if media == PDF else "text/html; charset=utf-8", headers=headers)
