"""Local procedures: an authority's adopted versions, and the version each conference runs.

* `procedure_version`: immutable versions of an authority's own procedure (version 2 up;
  version 1 is the built-in profile and has no row), unique per (authority, version) so two
  racing adoptions cannot both take a number.
* `conference.procedure_code` / `procedure_version`: the procedure in force when the
  conference was created. Existing conferences ran their authority's built-in profile, so
  they are backfilled with it as version 1.

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "procedure_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("extends", sa.String(length=60), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("resolved", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("version >= 2", name=op.f("ck_procedure_version_version_after_builtin")),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authority.id"], name=op.f("fk_procedure_version_authority_id_authority")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_version")),
        sa.UniqueConstraint("authority_id", "version", name=op.f("uq_procedure_version_authority_id_version")),
    )
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("procedure_code", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("procedure_version", sa.Integer(), nullable=False, server_default="1"))
    op.execute(
        "UPDATE conference SET procedure_code = "
        "(SELECT authority.profile FROM authority WHERE authority.id = conference.authority_id)"
    )
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.alter_column("procedure_code", existing_type=sa.String(length=60), nullable=False)
        batch_op.alter_column("procedure_version", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.drop_column("procedure_version")
        batch_op.drop_column("procedure_code")
    op.drop_table("procedure_version")
