"""Audit entries are sealed onto their hash chain after they commit, not inside the request.

Requests now insert entries with `seq`, `prev_hash` and `hash` empty; a sealer (the worker,
and the audit endpoints before they read) links them onto their chain in commit order. The
chain head's row lock is then held by the sealer for a moment, instead of by every audited
request until its commit, which had made concurrent requests of one authority queue behind
each other.

The append-only guard stays: an entry can never be deleted, and updated only once, from
unsealed to sealed, with every other column unchanged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns a seal may not touch (everything but seq, prev_hash and hash).
_CONTENT = (
    "id",
    "authority_code",
    "actor_sub",
    "actor_roles",
    "action",
    "entity_kind",
    "entity_id",
    "request_id",
    "occurred_at",
    "detail",
    "chain_key",
)


def _pg_content_unchanged() -> str:
    # json has no equality operator; compare its text.
    def same(c: str) -> str:
        cast = "::text" if c in ("actor_roles", "detail") else ""
        return f"NEW.{c}{cast} IS NOT DISTINCT FROM OLD.{c}{cast}"

    return " AND ".join(same(c) for c in _CONTENT)


def _sqlite_content_changed() -> str:
    return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _CONTENT)


def _create_guard(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
                 AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
                 AND {_pg_content_unchanged()} THEN
                RETURN NEW;  -- the one update allowed: sealing
              END IF;
              RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
            "WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR NEW.prev_hash IS NULL OR NEW.hash IS NULL "
            f"OR {_sqlite_content_changed()} "
            "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: UPDATE refused'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
            "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: DELETE refused'); END"
        )


def _create_strict_guard(dialect: str) -> None:
    """Revision 0003's guard: no update at all."""
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
                f"BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: {verb} refused'); END"
            )


def _drop_guard(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_guard(dialect)  # SQLite's table rebuild below would drop them anyway
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_index(
            "ix_audit_entry_unsealed",
            ["chain_key", "id"],
            unique=False,
            postgresql_where=sa.text("seq IS NULL"),
            sqlite_where=sa.text("seq IS NULL"),
        )
    _create_guard(dialect)


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    unsealed = bind.execute(sa.text("SELECT count(*) FROM audit_entry WHERE seq IS NULL")).scalar_one()
    if unsealed:
        raise RuntimeError(
            f"{unsealed} audit entries are not sealed yet: run `dissent worker --once`, then downgrade"
        )
    _drop_guard(dialect)
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_unsealed", postgresql_where=sa.text("seq IS NULL"))
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
    _create_strict_guard(dialect)
