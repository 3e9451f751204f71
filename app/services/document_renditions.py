"""A document's PDF, rendered once from its issued HTML after the step has committed.

The worker renders every document that has no PDF yet on each pass (`render_pending`); a
request for a PDF that is not there yet renders it on the spot (`ensure_pdf`). Either way
the PDF is made from the stored HTML, stored in the blob store, and recorded once
(`document_rendition`'s primary key; a second renderer's insert is ignored and it uses the
first one's), with an audit entry carrying the PDF's hash and a `document.rendered` event.

The worker renders outside any transaction: on SQLite every transaction holds the one write
lock, which no writer should wait on for a render.
"""

from __future__ import annotations

import logging
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from app.clock import current_time
from app.config import Settings
from app.context import Ctx
from app.db import Database
from app.documents.render import render_pdf
from app.models.authority import Authority
from app.models.base import table_of
from app.models.document import Document, DocumentRenderQueue, DocumentRendition
from app.principal import Principal
from app.services.journal import audit, emit
from app.storage import blob_store

log = logging.getLogger(__name__)
RENDER_BATCH = 20
# A pass stops starting renders after this long, so a backlog never holds up the webhook
# deliveries and the sweep that follow; the rest waits for the next pass.
RENDER_BUDGET_SECONDS = 5.0
PDF = "application/pdf"
_RENDITIONS = table_of(DocumentRendition)
_QUEUE = table_of(DocumentRenderQueue)


async def rendition_of(ctx: Ctx, document_id: uuid.UUID) -> DocumentRendition | None:
    return await ctx.session.get(DocumentRendition, document_id)


async def record_pdf(ctx: Ctx, document: Document, pdf: bytes) -> DocumentRendition:
    """Store a rendered PDF and record it as the document's, unless one is recorded already
    (then that one stands, and is returned)."""
    stored = await blob_store().put(ctx.session, pdf, media_type=PDF)
    connection = await ctx.session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    values = {"document_id": document.id, "sha256": stored.key, "size": stored.size, "rendered_at": ctx.now}
    inserted = await connection.execute(
        insert(_RENDITIONS).values(**values).on_conflict_do_nothing(index_elements=["document_id"])
    )
    await connection.execute(sa.delete(_QUEUE).where(_QUEUE.c.document_id == document.id))
    if inserted.rowcount:
        facts = {"sha256": stored.key, "size": stored.size, "html_sha256": document.html_sha256}
        audit(ctx, "document.rendered", "document", document.id, facts)
        await emit(ctx, "document.rendered", "document", document.id, {"kind": document.kind, **facts})
    rendition = await ctx.session.get(DocumentRendition, document.id, populate_existing=True)
    assert rendition is not None  # inserted now or before
    return rendition


async def _html(ctx: Ctx, document: Document) -> str:
    data = await blob_store().get(ctx.session, document.html_sha256)
    if data is None:  # the foreign key holds the bytes; an external store could lose them
        raise RuntimeError("an issued document's HTML is missing from the blob store")
    return data.decode("utf-8")


async def ensure_pdf(ctx: Ctx, document: Document) -> DocumentRendition:
    """The document's PDF, rendered now if the worker has not rendered it yet."""
    existing = await rendition_of(ctx, document.id)
    if existing is not None:
        return existing
    pdf = await render_pdf(await _html(ctx, document), title=document.title, lang=document.lang)
    return await record_pdf(ctx, document, pdf)


def _worker(authority: Authority) -> Principal:
    return Principal(sub="worker", name="Worker", roles=frozenset(), agency=None, authority=authority.code)


async def render_pending(
    db: Database,
    settings: Settings,
    *,
    batch: int = RENDER_BATCH,
    budget_seconds: float = RENDER_BUDGET_SECONDS,
) -> int:
    """Render the PDFs of documents that have none yet, oldest first (one pass, `batch` at
    most). A failed render is logged and tried again on the next pass."""
    async with db.session() as session:
        pending = (
            await session.exec(
                select(Document.id, Document.html_sha256, Document.title, Document.lang)
                .join(DocumentRenderQueue, col(DocumentRenderQueue.document_id) == col(Document.id))
                .order_by(col(Document.id))
                .limit(batch)
            )
        ).all()
        html = {h: await blob_store().get(session, h) for _, h, _, _ in pending}
    rendered = 0
    started = time.monotonic()
    for document_id, html_key, title, lang in pending:
        if time.monotonic() - started > budget_seconds:
            break
        data = html.get(html_key)
        if data is None:
            continue
        try:
            pdf = await render_pdf(data.decode("utf-8"), title=title, lang=lang)
        except Exception:  # one bad document must not stop the others; the next pass retries
            log.exception("rendering a document failed", extra={"document_id": str(document_id)})
            continue
        async with db.session() as session:
            document = await session.get(Document, document_id)
            assert document is not None  # documents are never deleted
            authority = await session.get(Authority, document.authority_id)
            assert authority is not None
            now = await current_time(session, settings)
            ctx = Ctx(
                session=session, actor=_worker(authority), authority=authority, now=now, request_id="worker"
            )
            await record_pdf(ctx, document, pdf)
            await session.commit()
        rendered += 1
    return rendered
