"""Family appeals (one open appeal per appellant and child) and complaints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 04:18:50.569787
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('appeal',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('conference_id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('appellant_name', sa.String(length=200), nullable=False),
    sa.Column('appellant_key', sa.String(length=200), nullable=False),
    sa.Column('appellant_relationship', sa.String(length=30), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('lodged_by', sa.String(length=200), nullable=False),
    sa.Column('lead_social_worker_name', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('lodged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_date', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('response_text', sa.Text(), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('responded_by', sa.String(length=200), nullable=True),
    sa.Column('reconvened_conference_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("appellant_relationship IN ('child', 'young_person', 'parent', 'carer', 'expectant_parent', 'other_family')", name=op.f('ck_appeal_appellant_relationship')),
    sa.CheckConstraint("status IN ('lodged', 'responded')", name=op.f('ck_appeal_status')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_appeal_authority_id_authority')),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_appeal_child_id_child')),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], name=op.f('fk_appeal_conference_id_conference')),
    sa.ForeignKeyConstraint(['reconvened_conference_id'], ['conference.id'], name=op.f('fk_appeal_reconvened_conference_id_conference')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal'))
    )
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.create_index('ix_appeal_authority_id_status', ['authority_id', 'status'], unique=False)
        batch_op.create_index('ix_appeal_conference_id', ['conference_id'], unique=False)
        batch_op.create_index('uq_appeal_open_per_appellant', ['child_id', 'appellant_key'], unique=True, sqlite_where=sa.text("status = 'lodged'"), postgresql_where=sa.text("status = 'lodged'"))

    op.create_table('complaint',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('about', sa.String(length=20), nullable=False),
    sa.Column('agency', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('conference_id', sa.Uuid(), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('route', sa.String(length=1000), nullable=False),
    sa.CheckConstraint("about IN ('practitioner', 'service')", name=op.f('ck_complaint_about')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_complaint_authority_id_authority')),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], name=op.f('fk_complaint_conference_id_conference')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint'))
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_authority_id_recorded_at', ['authority_id', 'recorded_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_authority_id_recorded_at')

    op.drop_table('complaint')
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.drop_index('uq_appeal_open_per_appellant', sqlite_where=sa.text("status = 'lodged'"), postgresql_where=sa.text("status = 'lodged'"))
        batch_op.drop_index('ix_appeal_conference_id')
        batch_op.drop_index('ix_appeal_authority_id_status')

    op.drop_table('appeal')

