"""The audit chain sealed with a key the database never holds, and guarded against its owner.

* `audit_entry.mac` / `key_id`: each entry sealed from now on carries an HMAC-SHA256 over
  its link, made with the audit key (settings) named by `key_id`. The seal (the one update an
  entry may get) must now set them.
* `audit_chain_head.signed_from` / `key_id` / `mac`: each head is sealed too. Existing heads
  are sealed here with the configured key (`dissent migrate` passes it; plain `alembic` reads
  the settings); `signed_from` is the head's next seq, so entries sealed before this revision
  are covered by the sealed head rather than by MACs of their own.
* `audit_checkpoint`: the latest verified position of each chain, sealed, advanced by the
  worker; verification starts from it.
* Triggers: no TRUNCATE of the three tables (PostgreSQL: BEFORE TRUNCATE; SQLite has no
  TRUNCATE and its DELETE triggers stop `DELETE FROM` without WHERE); heads and checkpoints
  can neither be deleted nor moved backwards.

The MAC below is a frozen copy of app.rules.audit_mac.head_mac (a migration must not change
when the application does).

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-06 05:30:00
"""

import hashlib
import hmac
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0008"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns a seal may not touch (everything but seq, prev_hash, hash, mac and key_id).
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
_GUARDED = ("audit_entry", "audit_chain_head", "audit_checkpoint")

_head = sa.table(
    "audit_chain_head",
    sa.column("chain_key", sa.String()),
    sa.column("last_seq", sa.Integer()),
    sa.column("last_hash", sa.String()),
    sa.column("signed_from", sa.Integer()),
    sa.column("key_id", sa.String()),
    sa.column("mac", sa.String()),
)


def _head_mac(key: bytes, chain: str, seq: int, hash_: str, signed_from: int) -> str:
    body = json.dumps(
        ["audit-head", chain, seq, hash_, signed_from],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _sealing_key() -> tuple[str, bytes]:
    keys = context.config.attributes.get("audit_keys")
    if keys is None:
        from app.config import get_settings

        keys = get_settings().audit_keys
    kid, key = keys.current
    return str(kid), bytes(key)


def _seal_existing_heads(bind: sa.Connection) -> None:
    rows = bind.execute(sa.select(_head.c.chain_key, _head.c.last_seq, _head.c.last_hash)).all()
    if not rows:
        return
    kid, key = _sealing_key()
    for chain, seq, hash_ in rows:
        signed_from = seq + 1
        bind.execute(
            sa.update(_head)
            .where(_head.c.chain_key == chain)
            .values(signed_from=signed_from, key_id=kid, mac=_head_mac(key, chain, seq, hash_, signed_from))
        )


# ---- triggers ------------------------------------------------------------------------------------


def _pg_content_unchanged() -> str:
    def same(c: str) -> str:
        cast = "::text" if c in ("actor_roles", "detail") else ""  # json has no equality
        return f"NEW.{c}{cast} IS NOT DISTINCT FROM OLD.{c}{cast}"

    return " AND ".join(same(c) for c in _CONTENT)


def _pg_entry_guard(require_mac: bool) -> str:
    mac = " AND NEW.mac IS NOT NULL AND NEW.key_id IS NOT NULL" if require_mac else ""
    return f"""
        CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
        BEGIN
          IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
             AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL{mac}
             AND {_pg_content_unchanged()} THEN
            RETURN NEW;  -- the one update allowed: sealing
          END IF;
          RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP;
        END;
        $$ LANGUAGE plpgsql
        """


def _sqlite_entry_guard(require_mac: bool) -> str:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _CONTENT)
    mac = "OR NEW.mac IS NULL OR NEW.key_id IS NULL " if require_mac else ""
    return (
        "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
        "WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR NEW.prev_hash IS NULL OR NEW.hash IS NULL "
        f"{mac}OR {changed} "
        "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: UPDATE refused'); END"
    )


# table -> its sequence column: updates must keep the key and move that column forward
_FORWARD_ONLY = {"audit_chain_head": "last_seq", "audit_checkpoint": "seq"}


def _pg_forward_only(table: str, seq: str) -> list[str]:
    same = "NEW.chain_key = OLD.chain_key"
    if table == "audit_chain_head":
        same += " AND NEW.signed_from = OLD.signed_from"
    return [
        f"""
        CREATE FUNCTION {table}_forward_only() RETURNS trigger AS $$
        BEGIN
          IF TG_OP = 'UPDATE' AND {same} AND NEW.{seq} > OLD.{seq} THEN
            RETURN NEW;
          END IF;
          RAISE EXCEPTION '{table} moves forward only: % refused', TG_OP;
        END;
        $$ LANGUAGE plpgsql
        """,
        f"CREATE TRIGGER {table}_forward_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_forward_only()",
    ]


def _sqlite_forward_only(table: str, seq: str) -> list[str]:
    changed = f"NEW.chain_key IS NOT OLD.chain_key OR NEW.{seq} <= OLD.{seq}"
    if table == "audit_chain_head":
        changed += " OR NEW.signed_from IS NOT OLD.signed_from"
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} WHEN {changed} "
        f"BEGIN SELECT RAISE(ABORT, '{table} moves forward only: UPDATE refused'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} moves forward only: DELETE refused'); END",
    ]


def _create_guards(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(_pg_entry_guard(require_mac=True))
        for table, seq in _FORWARD_ONLY.items():
            for sql in _pg_forward_only(table, seq):
                op.execute(sql)
        op.execute(
            """
            CREATE FUNCTION audit_no_truncate() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in _GUARDED:
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate()"
            )
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
        op.execute(_sqlite_entry_guard(require_mac=True))
        for table, seq in _FORWARD_ONLY.items():
            for sql in _sqlite_forward_only(table, seq):
                op.execute(sql)


def _drop_guards(dialect: str) -> None:
    if dialect == "postgresql":
        for table in _GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_no_truncate()")
        for table in _FORWARD_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_forward_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_forward_only()")
        op.execute(_pg_entry_guard(require_mac=False))  # revision 0005's guard
    else:
        for table in _FORWARD_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


# ---- upgrade / downgrade -------------------------------------------------------------------------


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("audit_entry", sa.Column("mac", sa.String(length=64), nullable=True))
    op.add_column("audit_entry", sa.Column("key_id", sa.String(length=40), nullable=True))
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_from", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("key_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    _seal_existing_heads(bind)
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.alter_column("signed_from", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("key_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column("mac", existing_type=sa.String(length=64), nullable=False)
    op.create_table(
        "audit_checkpoint",
        sa.Column("chain_key", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain_key", name=op.f("pk_audit_checkpoint")),
    )
    _create_guards(bind.dialect.name)


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    _drop_guards(dialect)
    op.drop_table("audit_checkpoint")
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_column("mac")
        batch_op.drop_column("key_id")
        batch_op.drop_column("signed_from")
    if dialect == "sqlite":
        # Dropping columns rebuilds the table on SQLite, which drops its triggers.
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_column("key_id")
        batch_op.drop_column("mac")
    if dialect == "sqlite":
        op.execute(_sqlite_entry_guard(require_mac=False))  # revision 0005's guard
        op.execute(
            "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
            "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: DELETE refused'); END"
        )
