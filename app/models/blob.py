"""Stored bytes, addressed by their SHA-256 (see `app/storage.py`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import utc


class Blob(SQLModel, table=True):
    """The bytes of an issued document or an attachment. Content-addressed, so the same
    bytes are kept once; rows never change (a database trigger refuses updates)."""

    __tablename__ = "blob"
    __table_args__ = (
        sa.CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        sa.CheckConstraint("size >= 0", name="size"),
    )

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    media_type: str = Field(max_length=100)
    data: bytes = Field(sa_column=sa.Column("bytes", sa.LargeBinary(), nullable=False))
    created_at: datetime = utc(nullable=False, default_now=True)
