"""Reading issued documents: lists per dissent, appeal or meeting, and one document's
content, HTML or PDF bytes.

Who may read a document: whoever may read its subject (the dissent, the appeal or the
meeting, by the usual visibility rules), plus the people among its recipients; the
`reporting` role never. Anything else answers 404, exactly like a document that does not
exist. Every read is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, exists, or_
from sqlmodel import col, select

from app.context import Ctx
from app.errors import Forbidden, NotFound
from app.models.appeal import Appeal
from app.models.conference import Conference
from app.models.document import (
    Document,
    DocumentPublic,
    DocumentReader,
    DocumentRendition,
    DocumentSubject,
    DocumentSubjectRef,
    DocumentSummary,
    RecipientPublic,
)
from app.pagination import by_id
from app.rules import documents as rules
from app.services import appeals, conferences, dissent_views, dissents, document_renditions
from app.services.journal import audit
from app.services.scope import page_of, row_filter
from app.storage import blob_store


def _require_document_role(ctx: Ctx) -> None:
    if not rules.may_read_documents(ctx.actor):
        raise Forbidden("this role does not read documents")


async def _subject_readable(ctx: Ctx, subject_kind: str, subject_id: uuid.UUID) -> bool:
    try:
        if subject_kind == DocumentSubject.dissent:
            await dissents.load_dissent(ctx, subject_id)
        elif subject_kind == DocumentSubject.appeal:
            await appeals.load_appeal(ctx, subject_id)
        else:
            await conferences.load_conference(ctx, subject_id)
    except NotFound:
        return False
    return True


def _sent_to_caller(ctx: Ctx) -> Any:
    return exists().where(
        col(DocumentReader.document_id) == col(Document.id), col(DocumentReader.person_id) == ctx.actor.sub
    )


async def _meeting_condition(ctx: Ctx, conference_id: uuid.UUID) -> Any:
    """A meeting's documents the caller may read, given they may read the meeting: its own
    (the minutes extract), those of the dissents and appeals they may see, and those sent to them."""
    dissent_ids = await dissent_views.visible_dissent_ids(ctx, conference_id)
    appeal_query = select(Appeal.id).where(Appeal.conference_id == conference_id)
    appeal_filter = row_filter(
        ctx,
        professional=Appeal.lodged_by == ctx.actor.sub,
        chair=exists().where(
            col(Conference.id) == Appeal.conference_id, col(Conference.chair_id) == ctx.actor.sub
        ),
    )
    if appeal_filter is False:
        appeal_query = appeal_query.where(sa.false())
    elif appeal_filter is not None:
        appeal_query = appeal_query.where(appeal_filter)
    return or_(
        col(Document.subject_kind) == DocumentSubject.conference.value,
        and_(
            col(Document.subject_kind) == DocumentSubject.dissent.value,
            col(Document.subject_id).in_(dissent_ids),
        ),
        and_(
            col(Document.subject_kind) == DocumentSubject.appeal.value,
            col(Document.subject_id).in_(appeal_query.scalar_subquery()),
        ),
        _sent_to_caller(ctx),
    )


async def list_documents(
    ctx: Ctx, subject_kind: DocumentSubject, subject_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[DocumentSummary], str | None]:
    """Documents about a dissent, an appeal or a meeting (all of the meeting's: its own and its
    dissents' and appeals'), in the order they were issued."""
    _require_document_role(ctx)
    query = select(Document).where(Document.authority_id == ctx.authority.id)
    if subject_kind == DocumentSubject.conference:
        query = query.where(Document.conference_id == subject_id)
    else:
        query = query.where(Document.subject_id == subject_id, Document.subject_kind == subject_kind.value)
    readable = await _subject_readable(ctx, subject_kind, subject_id)
    if not readable:
        query = query.where(_sent_to_caller(ctx))
    elif subject_kind == DocumentSubject.conference:
        query = query.where(await _meeting_condition(ctx, subject_id))
    rows, next_cursor = await page_of(
        ctx, by_id(col(Document.id), descending=False), query, cursor=cursor, limit=limit
    )
    if not readable and not rows and cursor is None:
        raise NotFound(f"no such {subject_kind.value}")
    audit(ctx, "document.listed", subject_kind.value, subject_id, {"count": len(rows)})
    ids = [d.id for d in rows]
    successors = await _successors(ctx, ids)
    pdfs = await _renditions(ctx, ids)
    items = [summary(d, pdfs.get(d.id), successors.get(d.id)) for d in rows]
    return items, next_cursor


async def _successors(ctx: Ctx, ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    if not ids:
        return {}
    found = await ctx.session.exec(
        select(Document.replaces, Document.id).where(col(Document.replaces).in_(ids))
    )
    return {replaced: successor for replaced, successor in found.all() if replaced is not None}


async def _renditions(ctx: Ctx, ids: list[uuid.UUID]) -> dict[uuid.UUID, DocumentRendition]:
    if not ids:
        return {}
    found = await ctx.session.exec(
        select(DocumentRendition).where(col(DocumentRendition.document_id).in_(ids))
    )
    return {r.document_id: r for r in found.all()}


def summary(
    document: Document, pdf: DocumentRendition | None, replaced_by: uuid.UUID | None = None
) -> DocumentSummary:
    return DocumentSummary(
        id=document.id,
        kind=document.kind,
        title=document.title,
        subject=DocumentSubjectRef(kind=document.subject_kind, id=str(document.subject_id)),
        issued_at=document.issued_at,
        sha256=pdf.sha256 if pdf else None,
        size=pdf.size if pdf else None,
        html_sha256=document.html_sha256,
        template=document.template,
        template_version=document.template_version,
        recipients=[RecipientPublic.model_validate(r) for r in document.recipients],
        replaces=document.replaces,
        replaced_by=replaced_by,
    )


async def get_document(ctx: Ctx, document_id: uuid.UUID, *, as_format: str) -> Document:
    """One document, if the caller may read it (404 otherwise, whatever the reason)."""
    _require_document_role(ctx)
    document = (
        await ctx.session.exec(
            select(Document).where(Document.id == document_id, Document.authority_id == ctx.authority.id)
        )
    ).first()
    if document is None:
        raise NotFound("no such document")
    reader = (
        await ctx.session.exec(
            select(DocumentReader.person_id).where(
                DocumentReader.document_id == document.id, DocumentReader.person_id == ctx.actor.sub
            )
        )
    ).first()
    readable = reader is not None or await _subject_readable(ctx, document.subject_kind, document.subject_id)
    if not rules.may_read(ctx.actor, subject_readable=readable, is_recipient=reader is not None):
        raise NotFound("no such document")
    audit(ctx, "document.read", "document", document.id, {"format": as_format})
    return document


async def document_public(ctx: Ctx, document: Document) -> DocumentPublic:
    pdf = (await _renditions(ctx, [document.id])).get(document.id)
    successor = (await _successors(ctx, [document.id])).get(document.id)
    return DocumentPublic(
        **summary(document, pdf, successor).model_dump(), lang=document.lang, content=document.content
    )


async def pdf_key(ctx: Ctx, document: Document) -> str:
    """The PDF's blob key, rendering the PDF now if the worker has not yet."""
    return (await document_renditions.ensure_pdf(ctx, document)).sha256


async def document_bytes(ctx: Ctx, key: str) -> bytes:
    data = await blob_store().get(ctx.session, key)
    if data is None:  # the foreign key holds the bytes; an external store could lose them
        raise RuntimeError("an issued document's bytes are missing from the blob store")
    return data
