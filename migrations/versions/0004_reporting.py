"""Reporting: meeting date and type copied onto dissents (backfilled from their
conference), working days taken stored on deadlines when met, and the indexes the reports
use (covering on PostgreSQL, so the summary and timeliness reports are index-only scans).
Deadlines met before this revision keep days_taken empty and are left out of the
median and 90th percentile.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.create_index("ix_conference_authority_id_meeting_date", ["authority_id", "meeting_date"], unique=False)

    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("days_taken", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_deadline_authority_id_due_date",
            ["authority_id", "due_date"],
            unique=False,
            postgresql_include=["kind", "days_taken", "met_at", "due_at", "cancelled_at"],
        )
        batch_op.create_index(
            "ix_deadline_overdue",
            ["authority_id", "due_at"],
            unique=False,
            sqlite_where=sa.text("met_at IS NULL AND cancelled_at IS NULL AND lapses = 0"),
            postgresql_where=sa.text("met_at IS NULL AND cancelled_at IS NULL AND NOT lapses"),
        )

    with op.batch_alter_table("dissent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("meeting_type", sa.String(length=60), nullable=True))
    op.execute(
        "UPDATE dissent SET "
        "meeting_date = (SELECT conference.meeting_date FROM conference WHERE conference.id = dissent.conference_id), "
        "meeting_type = (SELECT conference.meeting_type FROM conference WHERE conference.id = dissent.conference_id)"
    )
    with op.batch_alter_table("dissent", schema=None) as batch_op:
        batch_op.alter_column("meeting_date", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("meeting_type", existing_type=sa.String(length=60), nullable=False)
        batch_op.create_index(
            "ix_dissent_authority_id_meeting_date",
            ["authority_id", "meeting_date"],
            unique=False,
            postgresql_include=["meeting_type", "subject", "status", "outcome", "dissenter_agency"],
        )


def downgrade() -> None:
    with op.batch_alter_table("dissent", schema=None) as batch_op:
        batch_op.drop_index("ix_dissent_authority_id_meeting_date")
        batch_op.drop_column("meeting_type")
        batch_op.drop_column("meeting_date")
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_deadline_overdue",
            sqlite_where=sa.text("met_at IS NULL AND cancelled_at IS NULL AND lapses = 0"),
            postgresql_where=sa.text("met_at IS NULL AND cancelled_at IS NULL AND NOT lapses"),
        )
        batch_op.drop_index("ix_deadline_authority_id_due_date")
        batch_op.drop_column("days_taken")
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.drop_index("ix_conference_authority_id_meeting_date")
