"""The review bundle: for one dissent, everything its reviewer reads, as JSON or as one PDF.

The meeting (type, date, chair, who was invited and who attended), each child's decision
with its categories and plan summary, the dissent as raised, the written form, letter or
referral, the deadlines, and the meeting's attachments. The PDF is rendered fresh on each
read from `_shared/review_bundle.html.j2` with the documents' renderer (PDF/UA, off the
event loop), with every attachment's pages appended. Who may read it: whoever may read the
dissent (the `reporting` role never); every read is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

import anyio.to_thread
from sqlmodel import col, select

from app.context import Ctx
from app.documents import render
from app.documents.pdf import append_pages
from app.errors import Forbidden
from app.models.attachment import Attachment
from app.models.conference import Attendee, Decision
from app.models.review_bundle import (
    BundleAttendee,
    BundleChild,
    BundleDecision,
    BundleMeeting,
    BundleWritten,
    ReviewBundle,
)
from app.rules import documents as document_rules
from app.services import attachments, document_content
from app.services.dissents import conference_of, load_dissent
from app.services.journal import audit
from app.services.procedures import procedure_of

TEMPLATE = "_shared/review_bundle.html.j2"


@dataclass(frozen=True)
class Bundle:
    content: ReviewBundle
    attachments: list[Attachment]
    lang: str  # the procedure's document language


async def _attendees(ctx: Ctx, conference_id: uuid.UUID) -> list[BundleAttendee]:
    rows = await ctx.session.exec(
        select(Attendee).where(Attendee.conference_id == conference_id).order_by(col(Attendee.name))
    )
    return [
        BundleAttendee(name=a.name, role=a.role_title, agency=a.agency, kind=a.kind, attended=a.attended)
        for a in rows.all()
    ]


async def _decisions(ctx: Ctx, conference_id: uuid.UUID) -> dict[str, Decision]:
    rows = await ctx.session.exec(
        select(Decision).where(Decision.conference_id == conference_id, col(Decision.superseded_at).is_(None))
    )
    return {str(d.child_id): d for d in rows.all()}


async def gather_bundle(ctx: Ctx, dissent_id: uuid.UUID, *, as_format: str) -> Bundle:
    """The bundle's content and the meeting's attachments, if the caller may read the dissent."""
    if not document_rules.may_read_documents(ctx.actor):
        raise Forbidden("this role does not read review bundles")
    dissent = await load_dissent(ctx, dissent_id)
    conference = await conference_of(ctx, dissent)
    profile = await procedure_of(ctx, conference)
    content = (await document_content.for_dissent(ctx, dissent, conference)).content
    decisions = await _decisions(ctx, conference.id)
    outcome_labels = {str(k): v for k, v in profile.decision_outcome_labels.items()}
    category_labels = {c.code: c.label for c in profile.categories}
    children = []
    for child in (await document_content.children_of(ctx, conference.id)).values():
        decision = decisions.get(child["id"])
        children.append(
            BundleChild(
                **child,
                decision=BundleDecision(
                    outcome=decision.outcome,
                    outcome_label=outcome_labels.get(decision.outcome, decision.outcome),
                    categories=list(decision.categories),
                    category_labels=[category_labels.get(c, c) for c in decision.categories],
                    plan_summary=decision.plan_summary,
                    recorded_at=decision.recorded_at,
                )
                if decision
                else None,
            )
        )
    meeting = content["meeting"]
    written_kind = (
        "written_submission" if dissent.submission else "referral" if content["referral"] else "none"
    )
    found = await attachments.attachments_of(ctx, conference.id)
    bundle = ReviewBundle(
        dissent_id=dissent.id,
        generated_at=ctx.now,
        authority=content["authority"],
        procedure=content["procedure"],
        meeting=BundleMeeting(
            id=conference.id,
            type=conference.meeting_type,
            type_label=meeting["type_label"],
            date=meeting["date"],
            chair_name=conference.chair_name,
            chair_title=profile.chair_title,
            status=conference.status,
            started_at=conference.started_at,
            ended_at=conference.ended_at,
            attendees=await _attendees(ctx, conference.id),
        ),
        children=children,
        dissent=content["dissent"],
        written=BundleWritten(kind=written_kind, submission=dissent.submission, referral=content["referral"]),
        deadlines=content["dissent"]["deadlines"],
        attachments=[attachments.to_public(a) for a in found],
    )
    detail = {"format": as_format, "attachments": len(found)}
    audit(ctx, "dissent.bundle_read", "dissent", dissent.id, detail)
    return Bundle(bundle, found, profile.documents.language)


def bundle_title(bundle: ReviewBundle) -> str:
    meeting = bundle.meeting
    return f"Review bundle: dissent from the {meeting.type_label.lower()} of {render.long_date(meeting.date)}"


async def bundle_pdf(ctx: Ctx, bundle: Bundle) -> bytes:
    """The bundle as one PDF: the rendered summary, then every attachment's pages in order."""
    title = bundle_title(bundle.content)
    context = {**bundle.content.model_dump(mode="json"), "title": title, "lang": bundle.lang}
    html = render.render_html(TEMPLATE, context)
    pdf = await render.render_pdf(html, title=title, lang=bundle.lang)
    datas = [await attachments.attachment_bytes(ctx, a) for a in bundle.attachments]
    merged: bytes = await anyio.to_thread.run_sync(partial(append_pages, pdf, datas))
    return merged
