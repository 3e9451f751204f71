"""The dissents that can lapse, found without reading every open deadline.

`dissent.lapse_due_at` copies the due time of the written step's deadline while a dissent
waits on a step that lapses when missed, and is empty otherwise; a partial index holds only
those dissents. The lapse check runs before every dissent list and on every worker pass, and
used to probe the deadline of every dissent waiting on the written step. Existing dissents
waiting on that step get the due time of their open lapsing deadline.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LAPSE_DUE = sa.text("lapse_due_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("dissent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lapse_due_at", sa.DateTime(timezone=True), nullable=True))
    # The written step's statuses; only their deadlines are created with lapses set.
    op.execute(
        """
        UPDATE dissent SET lapse_due_at = (
            SELECT deadline.due_at FROM deadline
            WHERE deadline.subject_id = dissent.id AND deadline.lapses = TRUE
              AND deadline.met_at IS NULL AND deadline.cancelled_at IS NULL
        )
        WHERE status IN ('awaiting_submission', 'awaiting_referral')
        """
    )
    op.create_index(
        "ix_dissent_lapse_due",
        "dissent",
        ["authority_id", "lapse_due_at"],
        postgresql_where=_LAPSE_DUE,
        sqlite_where=_LAPSE_DUE,
    )


def downgrade() -> None:
    op.drop_index("ix_dissent_lapse_due", table_name="dissent", postgresql_where=_LAPSE_DUE)
    with op.batch_alter_table("dissent", schema=None) as batch_op:
        batch_op.drop_column("lapse_due_at")
