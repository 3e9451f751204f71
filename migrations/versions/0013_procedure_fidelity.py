"""Procedure fidelity: what the three procedures say, held in the data.

* `attendee.agency` becomes nullable (family members, children and others attend with no
  agency); a CHECK keeps it required for professionals, whose agency a dissent copies.
* `attendee.attended` becomes nullable: a reconvened meeting's invitees, attendance not yet
  recorded.
* `conference.participants_advised_at`: the chair advised the participants that an unresolved
  dissent will be considered by the reviewer (registration procedure).
* `dissent.referral`: the rest of the chair's written referral (the precise nature of the
  dissent, the course of action agreed with the senior manager).
* `dissent.raised_against`: the decisions a dissent was raised against, as they stood then
  (existing dissents get an empty list: what they were raised against was not kept).
* `dissent.family_informed_other_reason`: why someone other than the person the reviewer
  named told the family.

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
        batch_op.alter_column("attended", existing_type=sa.Boolean(), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_attendee_professional_agency"), "kind <> 'professional' OR agency IS NOT NULL"
        )
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("participants_advised_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("dissent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referral", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("raised_against", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("family_informed_other_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dissent", schema=None) as batch_op:
        batch_op.drop_column("family_informed_other_reason")
        batch_op.drop_column("raised_against")
        batch_op.drop_column("referral")
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.drop_column("participants_advised_at")
    op.execute("UPDATE attendee SET agency = '' WHERE agency IS NULL")
    op.execute("UPDATE attendee SET attended = FALSE WHERE attended IS NULL")
    with op.batch_alter_table("attendee", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attendee_professional_agency"), type_="check")
        batch_op.alter_column("attended", existing_type=sa.Boolean(), nullable=False)
        batch_op.alter_column("agency", existing_type=sa.String(length=200), nullable=False)
