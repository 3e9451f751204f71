"""Family members, children and others attend with no agency.

`attendee.agency` becomes nullable; a CHECK keeps it required for professionals (the dissent
rules copy a professional's agency onto their dissent).

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-06 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attendee", schema=None) as batch_op:
        batch_op.alter_column("agency", existing_type=sa.String(length=200), nullable=True)
        batch_op.create_check_constraint(op.f("ck_attendee_professional_agency"), "kind <> 'professional' OR agency IS NOT NULL")


def downgrade() -> None:
    op.execute("UPDATE attendee SET agency = '' WHERE agency IS NULL")
    with op.batch_alter_table("attendee", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attendee_professional_agency"), type_="check")
        batch_op.alter_column("agency", existing_type=sa.String(length=200), nullable=False)
