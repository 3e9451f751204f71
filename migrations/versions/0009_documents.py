"""Issued documents and the bytes they are made of.

* `blob`: bytes addressed by their SHA-256 (`app/storage.py`), written in the request's
  transaction; a row never changes (trigger). Shared by documents and attachments.
* `document`: an issued form, letter or minutes extract; append-only (triggers refuse
  UPDATE and DELETE); a correction is a new row naming the one it `replaces` (unique, so
  corrections form a chain).
* `document_rendition`: a document's PDF, rendered once from its stored HTML after the
  step commits (by the worker, or by the first read that needs it); append-only.
* `document_render_queue`: documents whose PDF is still to be rendered (a work queue).
* `document_reader`: the people named among a document's recipients, who may read it.

Revision ID: 0009
Revises: 0013
Create Date: 2026-12-06 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "'dissent_form', 'dissent_letter', 'referral', 'review_outcome', 'appeal', 'appeal_response', 'minutes_extract'"


def _create_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION issued_record_immutable() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION '% rows never change: % refused', TG_TABLE_NAME, TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER document_immutable BEFORE UPDATE OR DELETE ON document "
            "FOR EACH ROW EXECUTE FUNCTION issued_record_immutable()"
        )
        op.execute(
            "CREATE TRIGGER document_rendition_immutable BEFORE UPDATE OR DELETE ON document_rendition "
            "FOR EACH ROW EXECUTE FUNCTION issued_record_immutable()"
        )
        op.execute(
            "CREATE TRIGGER blob_immutable BEFORE UPDATE ON blob "
            "FOR EACH ROW EXECUTE FUNCTION issued_record_immutable()"
        )
    else:
        tables = (("document", ("UPDATE", "DELETE")), ("document_rendition", ("UPDATE", "DELETE")), ("blob", ("UPDATE",)))
        for table, verbs in tables:
            for verb in verbs:
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows never change: {verb} refused'); END"
                )


def _drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS document_immutable ON document")
        op.execute("DROP TRIGGER IF EXISTS document_rendition_immutable ON document_rendition")
        op.execute("DROP TRIGGER IF EXISTS blob_immutable ON blob")
        op.execute("DROP FUNCTION IF EXISTS issued_record_immutable()")
    else:
        names = ("document_no_update", "document_no_delete", "document_rendition_no_update",
                 "document_rendition_no_delete", "blob_no_update")
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    op.create_table('blob',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('bytes', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(sha256) = 64', name=op.f('ck_blob_sha256_hex')),
    sa.CheckConstraint('size >= 0', name=op.f('ck_blob_size')),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blob'))
    )
    op.create_table('document',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('authority_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('conference_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('lang', sa.String(length=35), nullable=False),
    sa.Column('template', sa.String(length=200), nullable=False),
    sa.Column('template_version', sa.String(length=64), nullable=False),
    sa.Column('html_sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=200), nullable=False),
    sa.Column('replaces', sa.Uuid(), nullable=True),
    sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f('ck_document_kind')),
    sa.CheckConstraint("subject_kind IN ('dissent', 'appeal', 'conference')", name=op.f('ck_document_subject_kind')),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'], name=op.f('fk_document_authority_id_authority')),
    sa.ForeignKeyConstraint(['conference_id'], ['conference.id'], name=op.f('fk_document_conference_id_conference')),
    sa.ForeignKeyConstraint(['html_sha256'], ['blob.sha256'], name=op.f('fk_document_html_sha256_blob')),
    sa.ForeignKeyConstraint(['replaces'], ['document.id'], name=op.f('fk_document_replaces_document')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document')),
    sa.UniqueConstraint('replaces', name=op.f('uq_document_replaces'))
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index('ix_document_conference_id_id', ['conference_id', 'id'], unique=False)
        batch_op.create_index('ix_document_subject_id_id', ['subject_id', 'id'], unique=False)

    op.create_table('document_rendition',
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('rendered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_document_rendition_document_id_document')),
    sa.ForeignKeyConstraint(['sha256'], ['blob.sha256'], name=op.f('fk_document_rendition_sha256_blob')),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_document_rendition'))
    )
    op.create_table('document_render_queue',
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_document_render_queue_document_id_document')),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_document_render_queue'))
    )
    op.create_table('document_reader',
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_document_reader_document_id_document')),
    sa.PrimaryKeyConstraint('document_id', 'person_id', name=op.f('pk_document_reader'))
    )
    with op.batch_alter_table('document_reader', schema=None) as batch_op:
        batch_op.create_index('ix_document_reader_person_id_document_id', ['person_id', 'document_id'], unique=False)

    _create_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    _drop_triggers(op.get_bind().dialect.name)
    with op.batch_alter_table('document_reader', schema=None) as batch_op:
        batch_op.drop_index('ix_document_reader_person_id_document_id')

    op.drop_table('document_reader')
    op.drop_table('document_render_queue')
    op.drop_table('document_rendition')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index('ix_document_subject_id_id')
        batch_op.drop_index('ix_document_conference_id_id')

    op.drop_table('document')
    op.drop_table('blob')
