"""Attachments: the conference reports and minutes the record system (or the chair) attaches
to a meeting, as PDFs, merged into the review bundle."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from app.models.base import fk, id_field, utc

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # 10 MiB, each
MAX_ATTACHMENTS_PER_CONFERENCE = 20
MAX_TITLE_LENGTH = 200
# The upload's whole body: the file plus the multipart framing and a title.
MAX_UPLOAD_BODY_BYTES = MAX_ATTACHMENT_BYTES + 64 * 1024


class Attachment(SQLModel, table=True):
    """One PDF attached to a meeting. Its bytes are a blob (`app/storage.py`), by SHA-256.
    `position` numbers a meeting's attachments from 1: unique per meeting and at most
    `MAX_ATTACHMENTS_PER_CONFERENCE`, so the database itself holds the limit."""

    __tablename__ = "attachment"
    __table_args__ = (
        sa.UniqueConstraint("conference_id", "position"),
        sa.CheckConstraint(f"position BETWEEN 1 AND {MAX_ATTACHMENTS_PER_CONFERENCE}", name="position"),
        sa.CheckConstraint(f"size BETWEEN 1 AND {MAX_ATTACHMENT_BYTES}", name="size"),
        sa.CheckConstraint("pages >= 1", name="pages"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    conference_id: uuid.UUID = fk("conference.id", index=False)  # the unique index leads with it
    position: int
    title: str | None = Field(default=None, max_length=MAX_TITLE_LENGTH)
    media_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("blob.sha256"), nullable=False))
    pages: int
    added_at: datetime = utc(nullable=False)
    added_by: str = Field(max_length=200)


class AttachmentPublic(BaseModel):
    id: uuid.UUID
    conference_id: uuid.UUID
    title: str | None
    media_type: str
    size: int = Field(description="Bytes")
    sha256: str = Field(description="SHA-256 of the bytes, lower-case hex (also the `ETag` of its download)")
    pages: int
    added_at: datetime
    added_by: str
