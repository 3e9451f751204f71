"""Issued documents: the forms, letters and minutes extracts each procedure's steps produce."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from app.models.base import fk, id_field, in_list, json_field, utc
from app.profiles.schema import DOCUMENT_KINDS, RECIPIENT_KINDS


class DocumentSubject(StrEnum):
    dissent = "dissent"
    appeal = "appeal"
    conference = "conference"


class Document(SQLModel, table=True):
    """One issued document. Never changes once written (database triggers refuse UPDATE
    and DELETE); a correction is a new row whose `replaces` names this one."""

    __tablename__ = "document"
    __table_args__ = (
        in_list("kind", DOCUMENT_KINDS, "kind"),
        in_list("subject_kind", [s.value for s in DocumentSubject], "subject_kind"),
        sa.UniqueConstraint("replaces"),  # one successor per document: corrections form a chain
        sa.Index("ix_document_subject_id_id", "subject_id", "id"),
        sa.Index("ix_document_conference_id_id", "conference_id", "id"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    kind: str = Field(max_length=30)
    subject_kind: str = Field(max_length=20)
    subject_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    conference_id: uuid.UUID = fk("conference.id", index=False)
    title: str = Field(max_length=300)
    lang: str = Field(max_length=35)
    template: str = Field(max_length=200)
    template_version: str = Field(max_length=64)
    # The issued words: the HTML, fixed at issue (its hash is in the issuing audit entry).
    html_sha256: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("blob.sha256"), nullable=False))
    # The structured content the document was rendered from (`application/json`).
    content: dict[str, Any] = json_field(default_factory=dict)
    # [{kind, person_id, name, agency, label}]: who the procedure says receives it.
    recipients: list[dict[str, Any]] = json_field()
    issued_at: datetime = utc(nullable=False)
    issued_by: str = Field(max_length=200)
    replaces: uuid.UUID | None = fk("document.id", nullable=True, index=False)


class DocumentRendition(SQLModel, table=True):
    """The PDF of a document, rendered once from its stored HTML: by the worker just after
    the step commits, or by the first read that needs it, whichever comes first (the primary
    key keeps exactly one). Never changes (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "document_rendition"

    document_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("document.id"), primary_key=True)
    )
    sha256: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("blob.sha256"), nullable=False))
    size: int
    rendered_at: datetime = utc(nullable=False)


class DocumentRenderQueue(SQLModel, table=True):
    """Documents whose PDF is still to be rendered: added when a document is issued, removed
    when its PDF is recorded. Keeps the worker's pass as small as the backlog."""

    __tablename__ = "document_render_queue"

    document_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("document.id"), primary_key=True)
    )


class DocumentReader(SQLModel, table=True):
    """A person named among a document's recipients, who may read it even when they may not
    read its subject (for example an attending professional sent a review outcome)."""

    __tablename__ = "document_reader"
    __table_args__ = (sa.Index("ix_document_reader_person_id_document_id", "person_id", "document_id"),)

    document_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("document.id"), primary_key=True)
    )
    person_id: str = Field(primary_key=True, max_length=200)


# ---- API schemas ---------------------------------------------------------------------------


class RecipientPublic(BaseModel):
    kind: str = Field(description="One of: " + ", ".join(RECIPIENT_KINDS))
    label: str
    person_id: str | None = None
    name: str | None = None
    agency: str | None = None


class DocumentSubjectRef(BaseModel):
    """What a document is about: a conference, a dissent or an appeal, by id."""

    kind: str = Field(description="conference, dissent or appeal")
    id: str


class DocumentSummary(BaseModel):
    id: uuid.UUID
    kind: str = Field(description="One of: " + ", ".join(DOCUMENT_KINDS))
    title: str
    subject: DocumentSubjectRef
    issued_at: datetime
    sha256: str | None = Field(
        description="SHA-256 of the PDF's bytes, as stored and served; null until the PDF is rendered "
        "(the worker renders it just after the step, and a request for the PDF renders it if not yet)"
    )
    size: int | None = Field(description="The PDF's size in bytes, once rendered")
    html_sha256: str = Field(description="SHA-256 of the issued HTML (the document's words), fixed at issue")
    template: str
    template_version: str
    recipients: list[RecipientPublic]
    replaces: uuid.UUID | None
    replaced_by: uuid.UUID | None = None


class DocumentPublic(DocumentSummary):
    lang: str
    content: dict[str, Any]
