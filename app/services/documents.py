"""Issuing documents: when a written step completes, its document is issued in the same
transaction: its content gathered, its HTML rendered from the profile's template and stored
with its SHA-256, and the document recorded with its template, recipients, audit entry
(carrying the hash) and `document.issued` event.

The PDF is rendered from that stored HTML after the commit (`document_renditions`): by the
worker on its next pass, or by the first request for the PDF if that comes sooner. Rendering
a PDF costs a CPU-bound 0.1-0.3 s; in the request it would hold the step's locks (on SQLite,
every writer) that long, and a submission that also re-issues the minutes extract would pay
it twice. The words are fixed at issue either way: the PDF is made from the issued HTML.

The profile says which documents each step issues (`documents.kinds`, each kind bound to
its step by `STEP_OF_DOCUMENT`), with which template and to which kinds of recipient. A
service completing a step makes one call: `await issue_for_step(ctx, step, ...)`.

The minutes extract is issued when the meeting ends and issued again, replacing the
previous version, when a dissent it lists is later withdrawn, submitted, referred or
lapses (`refresh_minutes`): the extract says what happens next, and those change it. A
review decision does not: it has its own document.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import col, select

from app.context import Ctx
from app.db import new_id
from app.documents.render import render_html, template_version
from app.models.appeal import Appeal
from app.models.base import table_of
from app.models.conference import Conference
from app.models.dissent import Dissent
from app.models.document import Document, DocumentReader, DocumentRenderQueue, DocumentSubject
from app.profiles import Profile
from app.profiles.schema import DocumentKind, DocumentRule, DocumentStep
from app.rules import documents as rules
from app.services import document_content
from app.services.journal import audit, emit
from app.services.procedures import procedure_of
from app.storage import blob_store

HTML_MEDIA_TYPE = "text/html; charset=utf-8"


async def issue_document(
    ctx: Ctx,
    *,
    kind: DocumentKind,
    rule: DocumentRule,
    subject_kind: DocumentSubject,
    subject_id: uuid.UUID,
    conference_id: uuid.UUID,
    gathered: document_content.Gathered,
    profile: Profile,
    replaces: uuid.UUID | None = None,
) -> Document:
    """Render the HTML, store it and record the document, with its audit entry (carrying the
    hash, so the audit chain covers the document) and its `document.issued` event."""
    document_id = new_id()
    lang = profile.documents.language
    recipients = rules.recipients(profile, rule.recipients, gathered.facts)
    content = {
        **gathered.content,
        "kind": kind,
        "title": rule.title,
        "lang": lang,
        "reference": str(document_id),
        "issued_at": ctx.now.isoformat(),
        "replaces": str(replaces) if replaces else None,
        "recipients": recipients,
    }
    html = render_html(rule.template, content)
    html_blob = await blob_store().put(ctx.session, html.encode("utf-8"), media_type=HTML_MEDIA_TYPE)
    document = Document(
        id=document_id,
        authority_id=ctx.authority.id,
        kind=kind,
        subject_kind=subject_kind.value,
        subject_id=subject_id,
        conference_id=conference_id,
        title=rule.title,
        lang=lang,
        template=rule.template,
        template_version=template_version(rule.template),
        html_sha256=html_blob.key,
        content=content,
        recipients=recipients,
        issued_at=ctx.now,
        issued_by=ctx.actor.sub,
        replaces=replaces,
    )
    ctx.session.add(document)
    await ctx.session.flush()
    ctx.session.add(DocumentRenderQueue(document_id=document.id))
    for person_id in sorted(rules.reader_ids(recipients)):
        ctx.session.add(DocumentReader(document_id=document.id, person_id=person_id))
    facts = {
        "kind": kind,
        "subject": {"kind": subject_kind.value, "id": str(subject_id)},
        "conference_id": str(conference_id),
        "html_sha256": html_blob.key,
        "template": rule.template,
        "template_version": document.template_version,
        "replaces": str(replaces) if replaces else None,
    }
    audit(ctx, "document.issued", "document", document.id, facts)
    await emit(
        ctx,
        "document.issued",
        "document",
        document.id,
        {**facts, "recipient_kinds": list(rule.recipients)},
    )
    await ctx.session.flush()
    return document


async def issue_for_step(
    ctx: Ctx,
    step: DocumentStep,
    *,
    conference: Conference | None = None,
    dissent: Dissent | None = None,
    appeal: Appeal | None = None,
) -> list[Document]:
    """Issue the documents the profile has this step issue (none if it lists none), about
    the meeting, a dissent or an appeal. For a dissent's step, the meeting's minutes extract
    is brought up to date too."""
    if conference is None:
        subject = dissent or appeal
        assert subject is not None, "a step issues documents about a meeting, a dissent or an appeal"
        conference = await ctx.session.get(Conference, subject.conference_id)
        assert conference is not None  # foreign key
    await ctx.session.flush()  # the step's own changes (deadlines started) are part of the content
    issued: list[Document] = []
    profile = await procedure_of(ctx, conference)
    for kind, rule in profile.documents.for_step(step):
        if step == "meeting_end":
            issued.append(await _issue_minutes(ctx, conference, kind, rule, replaces=None))
            continue
        if dissent is not None:
            gathered = await document_content.for_dissent(ctx, dissent, conference)
            subject_kind, subject_id = DocumentSubject.dissent, dissent.id
        elif appeal is not None:
            gathered = await document_content.for_appeal(ctx, appeal, conference)
            subject_kind, subject_id = DocumentSubject.appeal, appeal.id
        else:  # a programming error: every step but the meeting's end has a subject
            raise ValueError(f"step {step} issues documents about a dissent or an appeal")
        issued.append(
            await issue_document(
                ctx,
                kind=kind,
                rule=rule,
                subject_kind=subject_kind,
                subject_id=subject_id,
                conference_id=conference.id,
                gathered=gathered,
                profile=profile,
            )
        )
    if dissent is not None:
        await refresh_minutes(ctx, dissent, conference=conference)
    return issued


async def _issue_minutes(
    ctx: Ctx, conference: Conference, kind: DocumentKind, rule: DocumentRule, *, replaces: uuid.UUID | None
) -> Document:
    return await issue_document(
        ctx,
        kind=kind,
        rule=rule,
        subject_kind=DocumentSubject.conference,
        subject_id=conference.id,
        conference_id=conference.id,
        gathered=await document_content.for_meeting(ctx, conference),
        profile=await procedure_of(ctx, conference),
        replaces=replaces,
    )


async def current_version(ctx: Ctx, conference_id: uuid.UUID, kind: str) -> Document | None:
    """The latest version of a conference's document of this kind (the one nothing replaces)."""
    successor = table_of(Document).alias("successor")
    query = select(Document).where(
        Document.conference_id == conference_id,
        Document.subject_kind == DocumentSubject.conference.value,
        Document.kind == kind,
        ~sa.exists().where(successor.c.replaces == col(Document.id)),
    )
    return (await ctx.session.exec(query)).first()


async def refresh_minutes(ctx: Ctx, dissent: Dissent, *, conference: Conference | None = None) -> None:
    """Issue the meeting's minutes extract again, replacing the current one, when a dissent
    it lists has reached a status that changes what the extract says happens next."""
    if dissent.status not in rules.MINUTES_CHANGING_STATUSES:
        return
    meeting = conference or await ctx.session.get(Conference, dissent.conference_id)
    assert meeting is not None  # foreign key
    for kind, rule in (await procedure_of(ctx, meeting)).documents.for_step("meeting_end"):
        current = await current_version(ctx, dissent.conference_id, kind)
        if current is None:  # the meeting has not ended: there is nothing to bring up to date
            continue
        await _issue_minutes(ctx, meeting, kind, rule, replaces=current.id)
