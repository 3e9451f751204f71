"""Attachments: PDFs (conference reports, minutes) attached to a meeting by the record
system or its chair, listed on the meeting, downloaded, and merged into the review bundle.

An attachment is checked by its content (`app/documents/pdf.py`) before anything is
written; its bytes go to the blob store under their SHA-256, so a deployment can move them
to object storage without the API changing. At most `MAX_ATTACHMENTS_PER_CONFERENCE` per
meeting: counted under the meeting's row lock, and held by the table's `position` CHECK and
unique constraint too. Who may read them: whoever may read the meeting, as for documents
(the `reporting` role never). Nothing that names the file (its title) is logged or audited.
"""

from __future__ import annotations

import uuid
from functools import partial

import anyio.to_thread
from sqlalchemy import func
from sqlmodel import col, select

from app.context import Ctx
from app.documents.pdf import PdfFacts, inspect_pdf
from app.errors import DomainError, Forbidden, NotFound
from app.models.attachment import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS_PER_CONFERENCE,
    Attachment,
    AttachmentPublic,
)
from app.pagination import Key, Keyset, cursor_int
from app.rules import access
from app.rules import documents as document_rules
from app.services.conferences import load_conference
from app.services.journal import audit, record_change
from app.services.scope import page_of
from app.storage import blob_store

PDF = "application/pdf"
_BY_POSITION: Keyset[Attachment] = Keyset(
    (
        Key(
            col(Attachment.position),
            lambda v: cursor_int(v, MAX_ATTACHMENTS_PER_CONFERENCE),
            lambda r: r.position,
        ),
    ),
    descending=False,
)


def too_large() -> DomainError:
    return DomainError(
        f"an attachment may be at most {MAX_ATTACHMENT_BYTES} bytes (10 MiB)",
        code="attachment_too_large",
        status=413,
    )


def _require_reader(ctx: Ctx) -> None:
    if not document_rules.may_read_documents(ctx.actor):
        raise Forbidden("this role does not read attachments")


def to_public(attachment: Attachment) -> AttachmentPublic:
    return AttachmentPublic.model_validate(attachment, from_attributes=True)


async def add_attachment(ctx: Ctx, conference_id: uuid.UUID, *, data: bytes, title: str | None) -> Attachment:
    """Attach a PDF to a meeting (the record system or the meeting's chair)."""
    conference = await load_conference(ctx, conference_id)
    access.require_attachment_adder(ctx.actor, conference.chair_id)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise too_large()
    # Parsing a large PDF takes a while: off the event loop, and before the lock is taken.
    facts: PdfFacts = await anyio.to_thread.run_sync(partial(inspect_pdf, data))
    await load_conference(ctx, conference_id, for_update=True)  # serialises the count
    count = (
        await ctx.session.exec(
            select(func.count()).select_from(Attachment).where(Attachment.conference_id == conference_id)
        )
    ).one()
    if count >= MAX_ATTACHMENTS_PER_CONFERENCE:
        raise DomainError(
            f"a meeting may have at most {MAX_ATTACHMENTS_PER_CONFERENCE} attachments",
            code="attachment_limit_reached",
            status=409,
        )
    stored = await blob_store().put(ctx.session, data, media_type=PDF)
    attachment = Attachment(
        authority_id=ctx.authority.id,
        conference_id=conference_id,
        position=count + 1,
        title=title,
        media_type=PDF,
        size=stored.size,
        sha256=stored.key,
        pages=facts.pages,
        added_at=ctx.now,
        added_by=ctx.actor.sub,
    )
    ctx.session.add(attachment)
    data_logged = {
        "conference_id": str(conference_id),
        "position": attachment.position,
        "size": stored.size,
        "sha256": stored.key,
        "pages": facts.pages,
    }
    await record_change(
        ctx,
        event_type="attachment.added",
        entity_kind="attachment",
        entity_id=attachment.id,
        data=data_logged,
    )
    return attachment


async def list_attachments(
    ctx: Ctx, conference_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[AttachmentPublic], str | None]:
    """A meeting's attachments, in the order they were added."""
    _require_reader(ctx)
    await load_conference(ctx, conference_id)
    query = select(Attachment).where(
        Attachment.conference_id == conference_id, Attachment.authority_id == ctx.authority.id
    )
    rows, next_cursor = await page_of(ctx, _BY_POSITION, query, cursor=cursor, limit=limit)
    audit(ctx, "attachment.listed", "conference", conference_id, {"ids": [str(r.id) for r in rows]})
    return [to_public(r) for r in rows], next_cursor


async def attachments_of(ctx: Ctx, conference_id: uuid.UUID) -> list[Attachment]:
    """All of a meeting's attachments, in order (the caller has checked it may read the meeting)."""
    rows = await ctx.session.exec(
        select(Attachment)
        .where(Attachment.conference_id == conference_id, Attachment.authority_id == ctx.authority.id)
        .order_by(col(Attachment.position))
    )
    return list(rows.all())


async def attachment_bytes(ctx: Ctx, attachment: Attachment) -> bytes:
    data = await blob_store().get(ctx.session, attachment.sha256)
    if data is None:  # the foreign key holds the bytes; an external store could lose them
        raise RuntimeError("an attachment's bytes are missing from the blob store")
    return data


async def get_attachment(ctx: Ctx, attachment_id: uuid.UUID) -> tuple[Attachment, bytes]:
    """One attachment and its bytes, if the caller may read its meeting (404 otherwise)."""
    _require_reader(ctx)
    attachment = (
        await ctx.session.exec(
            select(Attachment).where(
                Attachment.id == attachment_id, Attachment.authority_id == ctx.authority.id
            )
        )
    ).first()
    if attachment is None:
        raise NotFound("no such attachment")
    try:
        await load_conference(ctx, attachment.conference_id)
    except NotFound:
        raise NotFound("no such attachment") from None
    audit(
        ctx, "attachment.read", "attachment", attachment.id, {"conference_id": str(attachment.conference_id)}
    )
    return attachment, await attachment_bytes(ctx, attachment)
