"""Attachments: the PDFs (conference reports, minutes) attached to a meeting.

* `attachment`: one row per PDF, its bytes a `blob` by SHA-256. `position` numbers a
  meeting's attachments from 1, unique per meeting and at most 20 (CHECK), so the limit
  holds in the database whatever the application does; the size is at most 10 MiB (CHECK).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("conference_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("position BETWEEN 1 AND 20", name=op.f("ck_attachment_position")),
        sa.CheckConstraint("size BETWEEN 1 AND 10485760", name=op.f("ck_attachment_size")),
        sa.CheckConstraint("pages >= 1", name=op.f("ck_attachment_pages")),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authority.id"], name=op.f("fk_attachment_authority_id_authority")
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"], ["conference.id"], name=op.f("fk_attachment_conference_id_conference")
        ),
        sa.ForeignKeyConstraint(["sha256"], ["blob.sha256"], name=op.f("fk_attachment_sha256_blob")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
        sa.UniqueConstraint("conference_id", "position", name=op.f("uq_attachment_conference_id_position")),
    )


def downgrade() -> None:
    op.drop_table("attachment")
