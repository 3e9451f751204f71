"""Indexes that keep list pages and a dissent's history the same cost at any table size.

* Dissent list pages are read newest first (by id) within the authority, a status or a
  dissenter: the indexes now end in `id`, so a page is read in index order instead of by
  walking the primary key and filtering.
* A dissent's history is its events in `seq` order: `(subject_id, seq)` replaces the
  `subject_id` index, so no planner (SQLite has no statistics unless ANALYZE is run) is
  tempted to scan the authority's whole feed in order instead.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 08:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_dissent_authority_id_id", "dissent", ["authority_id", "id"])
    op.create_index("ix_dissent_authority_id_status_id", "dissent", ["authority_id", "status", "id"])
    op.create_index(
        "ix_dissent_authority_id_dissenter_id_id", "dissent", ["authority_id", "dissenter_id", "id"]
    )
    op.drop_index("ix_dissent_authority_id_status", table_name="dissent")
    op.drop_index("ix_dissent_authority_id_dissenter_id", table_name="dissent")
    op.create_index("ix_event_subject_id_seq", "event", ["subject_id", "seq"])
    op.drop_index("ix_event_subject_id", table_name="event")


def downgrade() -> None:
    op.create_index("ix_event_subject_id", "event", ["subject_id"])
    op.drop_index("ix_event_subject_id_seq", table_name="event")
    op.create_index("ix_dissent_authority_id_dissenter_id", "dissent", ["authority_id", "dissenter_id"])
    op.create_index("ix_dissent_authority_id_status", "dissent", ["authority_id", "status"])
    op.drop_index("ix_dissent_authority_id_dissenter_id_id", table_name="dissent")
    op.drop_index("ix_dissent_authority_id_status_id", table_name="dissent")
    op.drop_index("ix_dissent_authority_id_id", table_name="dissent")
