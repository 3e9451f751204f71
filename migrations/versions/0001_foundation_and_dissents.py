"""Foundation (authorities, children, conferences, audit, outbox, idempotency, test clock)
and professional dissent (dissents, deadlines, child record entries).

Revision ID: 0001
Revises:
Create Date: 2026-11-24 04:12:08.310653
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('audit_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('authority_code', sa.String(length=40), nullable=True),
    sa.Column('actor_sub', sa.String(length=200), nullable=False),
    sa.Column('actor_roles', sa.JSON(), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('entity_kind', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=100), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entry_authority_code_id', ['authority_code', 'id'], unique=False)
        batch_op.create_index('ix_audit_entry_entity_id', ['entity_id'], unique=False)

    op.create_table('authority',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('profile', sa.String(length=60), nullable=False),
    sa.Column('jurisdiction', sa.String(length=20), nullable=False),
    sa.Column('timezone', sa.String(length=60), nullable=False),
    sa.Column('closure_dates', sa.JSON(), nullable=False),
    sa.Column('extra_categories', sa.JSON(), nullable=False),
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("jurisdiction IN ('england', 'wales', 'scotland', 'northern_ireland')", name=op.f('ck_authority_jurisdiction')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authority')),
    sa.UniqueConstraint('code', name=op.f('uq_authority_code'))
    )
    op.create_table('idempotency_record',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('scope', sa.String(length=300), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('response_headers', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_record')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_record_scope_key'))
    )
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_record_created_at'), ['created_at'], unique=False)

    op.create_table('test_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_clock'))
    )
    op.create_table('child',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('external_ref', sa.String(length=100), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('expected_date_of_birth', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(date_of_birth IS NULL) <> (expected_date_of_birth IS NULL)', name=op.f('ck_child_one_birth_date')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_child_authority_id_authority')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child')),
    sa.UniqueConstraint('authority_id', 'external_ref', name=op.f('uq_child_authority_id_external_ref'))
    )
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_authority_id'), ['authority_id'], unique=False)

    op.create_table('conference',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('meeting_type', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('scheduled_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meeting_date', sa.Date(), nullable=False),
    sa.Column('chair_id', sa.String(length=200), nullable=False),
    sa.Column('chair_name', sa.String(length=200), nullable=False),
    sa.Column('reconvened_from_id', sa.Uuid(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dissent_invited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appeal_rights_explained_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appeal_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('scheduled', 'in_progress', 'ended', 'cancelled')", name=op.f('ck_conference_status')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_conference_authority_id_authority')),
    sa.ForeignKeyConstraint(['reconvened_from_id'], ['conference.id'], name=op.f('fk_conference_reconvened_from_id_conference')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conference'))
    )
    with op.batch_alter_table('conference', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conference_appeal_due_at'), ['appeal_due_at'], unique=False)
        batch_op.create_index('ix_conference_authority_id_chair_id', ['authority_id', 'chair_id'], unique=False)
        batch_op.create_index('ix_conference_authority_id_status', ['authority_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_conference_reconvened_from_id'), ['reconvened_from_id'], unique=False)

    op.create_table('deadline',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('responsible_role', sa.String(length=30), nullable=False),
    sa.Column('lapses', sa.Boolean(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('explanation', sa.String(length=1000), nullable=False),
    sa.Column('met_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approaching_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missed_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('written_submission', 'referral', 'review_meeting', 'review_response', 'appeal_response')", name=op.f('ck_deadline_kind')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_deadline_authority_id_authority')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline')),
    sa.UniqueConstraint('subject_id', 'kind', name=op.f('uq_deadline_subject_id_kind'))
    )
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.create_index('ix_deadline_authority_id_kind_due_at', ['authority_id', 'kind', 'due_at'], unique=False)
        batch_op.create_index('ix_deadline_open_due_at', ['due_at'], unique=False, postgresql_where=sa.text('met_at IS NULL AND cancelled_at IS NULL'))

    op.create_table('event',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=80), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subject_kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_event_authority_id_authority')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    sa.UniqueConstraint('authority_id', 'seq', name=op.f('uq_event_authority_id_seq'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_subject_id', ['subject_id'], unique=False)

    op.create_table('attendee',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('conference_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role_title', sa.String(length=200), nullable=False),
    sa.Column('agency', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('attended', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('professional', 'family', 'child', 'other')", name=op.f('ck_attendee_kind')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_attendee_authority_id_authority')),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], name=op.f('fk_attendee_conference_id_conference'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendee')),
    sa.UniqueConstraint('conference_id', 'person_id', name=op.f('uq_attendee_conference_id_person_id'))
    )
    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.create_index('ix_attendee_authority_id_person_id', ['authority_id', 'person_id'], unique=False)

    op.create_table('child_record_entry',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('conference_id', sa.Uuid(), nullable=True),
    sa.Column('source_id', sa.Uuid(), nullable=True),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('decision', 'amended_decision', 'review_note', 'appeal_response')", name=op.f('ck_child_record_entry_kind')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_child_record_entry_authority_id_authority')),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_child_record_entry_child_id_child')),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], name=op.f('fk_child_record_entry_conference_id_conference')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_record_entry'))
    )
    with op.batch_alter_table('child_record_entry', schema=None) as batch_op:
        batch_op.create_index('ix_child_record_entry_child_id_occurred_at', ['child_id', 'occurred_at'], unique=False)

    op.create_table('conference_child',
    sa.Column('conference_id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_conference_child_child_id_child')),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], name=op.f('fk_conference_child_conference_id_conference'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conference_id', 'child_id', name=op.f('pk_conference_child'))
    )
    with op.batch_alter_table('conference_child', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conference_child_child_id'), ['child_id'], unique=False)

    op.create_table('decision',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('conference_id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('plan_summary', sa.String(length=4000), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('amends_id', sa.Uuid(), nullable=True),
    sa.Column('amendment_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("outcome IN ('register', 'continue', 'deregister', 'not_register')", name=op.f('ck_decision_outcome')),
    sa.ForeignKeyConstraint(['amends_id'], ['decision.id'], name=op.f('fk_decision_amends_id_decision')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_decision_authority_id_authority')),
    sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_decision_child_id_child')),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], name=op.f('fk_decision_conference_id_conference'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision'))
    )
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.create_index('ix_decision_child_id', ['child_id'], unique=False)
        batch_op.create_index('uq_decision_current', ['conference_id', 'child_id'], unique=True, sqlite_where=sa.text('superseded_at IS NULL'), postgresql_where=sa.text('superseded_at IS NULL'))

    op.create_table('dissent',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('conference_id', sa.Uuid(), nullable=False),
    sa.Column('child_ids', sa.JSON(), nullable=False),
    sa.Column('subject', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('dissenter_id', sa.String(length=200), nullable=False),
    sa.Column('dissenter_name', sa.String(length=200), nullable=False),
    sa.Column('dissenter_role_title', sa.String(length=200), nullable=False),
    sa.Column('dissenter_agency', sa.String(length=200), nullable=False),
    sa.Column('raised_by', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_summary', sa.Text(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('unresolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submission', sa.JSON(), nullable=True),
    sa.Column('referred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('referral_note', sa.Text(), nullable=True),
    sa.Column('lapsed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_meeting_held_on', sa.Date(), nullable=True),
    sa.Column('review_meeting_members', sa.JSON(), nullable=True),
    sa.Column('review_meeting_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('new_categories', sa.JSON(), nullable=True),
    sa.Column('practice_improvements', sa.Text(), nullable=True),
    sa.Column('written_note', sa.Text(), nullable=True),
    sa.Column('family_informant', sa.JSON(), nullable=True),
    sa.Column('family_informed_by', sa.String(length=200), nullable=True),
    sa.Column('family_informed_on', sa.Date(), nullable=True),
    sa.Column('reconvened_conference_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('raised', 'resolved', 'withdrawn', 'awaiting_submission', 'awaiting_referral', 'submitted', 'referred', 'under_review', 'decided', 'lapsed')", name=op.f('ck_dissent_status')),
    sa.CheckConstraint("subject IN ('plan', 'category', 'registration')", name=op.f('ck_dissent_subject')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_dissent_authority_id_authority')),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], name=op.f('fk_dissent_conference_id_conference')),
    sa.ForeignKeyConstraint(['reconvened_conference_id'], ['conference.id'], name=op.f('fk_dissent_reconvened_conference_id_conference')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dissent'))
    )
    with op.batch_alter_table('dissent', schema=None) as batch_op:
        batch_op.create_index('ix_dissent_authority_id_dissenter_id', ['authority_id', 'dissenter_id'], unique=False)
        batch_op.create_index('ix_dissent_authority_id_status', ['authority_id', 'status'], unique=False)
        batch_op.create_index('ix_dissent_conference_id', ['conference_id'], unique=False)
        batch_op.create_index('uq_dissent_open_per_subject', ['conference_id', 'dissenter_id', 'subject'], unique=True, sqlite_where=sa.text("status IN ('raised', 'awaiting_submission', 'awaiting_referral', 'submitted', 'referred', 'under_review')"), postgresql_where=sa.text("status IN ('raised', 'awaiting_submission', 'awaiting_referral', 'submitted', 'referred', 'under_review')"))




def downgrade() -> None:

    with op.batch_alter_table('dissent', schema=None) as batch_op:
        batch_op.drop_index('uq_dissent_open_per_subject', sqlite_where=sa.text("status IN ('raised', 'awaiting_submission', 'awaiting_referral', 'submitted', 'referred', 'under_review')"), postgresql_where=sa.text("status IN ('raised', 'awaiting_submission', 'awaiting_referral', 'submitted', 'referred', 'under_review')"))
        batch_op.drop_index('ix_dissent_conference_id')
        batch_op.drop_index('ix_dissent_authority_id_status')
        batch_op.drop_index('ix_dissent_authority_id_dissenter_id')

    op.drop_table('dissent')
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_index('uq_decision_current', sqlite_where=sa.text('superseded_at IS NULL'), postgresql_where=sa.text('superseded_at IS NULL'))
        batch_op.drop_index('ix_decision_child_id')

    op.drop_table('decision')
    with op.batch_alter_table('conference_child', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conference_child_child_id'))

    op.drop_table('conference_child')
    with op.batch_alter_table('child_record_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_child_record_entry_child_id_occurred_at')

    op.drop_table('child_record_entry')
    with op.batch_alter_table('attendee', schema=None) as batch_op:
        batch_op.drop_index('ix_attendee_authority_id_person_id')

    op.drop_table('attendee')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_subject_id')

    op.drop_table('event')
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_open_due_at', postgresql_where=sa.text('met_at IS NULL AND cancelled_at IS NULL'))
        batch_op.drop_index('ix_deadline_authority_id_kind_due_at')

    op.drop_table('deadline')
    with op.batch_alter_table('conference', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conference_reconvened_from_id'))
        batch_op.drop_index('ix_conference_authority_id_status')
        batch_op.drop_index('ix_conference_authority_id_chair_id')
        batch_op.drop_index(batch_op.f('ix_conference_appeal_due_at'))

    op.drop_table('conference')
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_authority_id'))

    op.drop_table('child')
    op.drop_table('test_clock')
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_record_created_at'))

    op.drop_table('idempotency_record')
    op.drop_table('authority')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_entity_id')
        batch_op.drop_index('ix_audit_entry_authority_code_id')

    op.drop_table('audit_entry')

