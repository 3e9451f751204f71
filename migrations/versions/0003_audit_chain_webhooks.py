"""Tamper-evident audit (hash chain per authority, append-only triggers), webhook
subscriptions and their delivery log, the `approaching_at` instant on deadlines, and the
appeal deadline's explanation fixed on the conference when it ends.

Existing audit entries are chained in id order during the upgrade, with a copy of the hash
function frozen here (a migration must not change when the application does). Existing
deadlines get `approaching_at` one calendar day before `due_at` (the application computes
the working day before for new ones).

Note for later revisions: on SQLite a batch operation that rebuilds `audit_entry` drops its
triggers; such a revision must create them again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 04:25:10.166242
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

_audit = sa.table(
    "audit_entry",
    sa.column("id", sa.Integer()),
    sa.column("authority_code", sa.String()),
    sa.column("actor_sub", sa.String()),
    sa.column("actor_roles", sa.JSON()),
    sa.column("action", sa.String()),
    sa.column("entity_kind", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("request_id", sa.String()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("detail", sa.JSON()),
    sa.column("chain_key", sa.String()),
    sa.column("seq", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
_head = sa.table(
    "audit_chain_head", sa.column("chain_key", sa.String()), sa.column("last_seq", sa.Integer()),
    sa.column("last_hash", sa.String()),
)
_deadline = sa.table(
    "deadline", sa.column("id", sa.Uuid()), sa.column("due_at", sa.DateTime(timezone=True)),
    sa.column("approaching_at", sa.DateTime(timezone=True)),
)


def _hash(prev: str, content: dict) -> str:
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(prev.encode() + b"\n" + body.encode()).hexdigest()


def _utc(value):
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _backfill_audit(bind) -> None:
    heads: dict[str, tuple[int, str]] = {}
    for row in bind.execute(sa.select(_audit).order_by(_audit.c.id)).mappings():
        key = row["authority_code"] or "-"
        seq, prev = heads.get(key, (0, GENESIS))
        seq += 1
        content = {
            "chain": key,
            "seq": seq,
            "authority": row["authority_code"],
            "actor": row["actor_sub"],
            "roles": row["actor_roles"],
            "action": row["action"],
            "entity_kind": row["entity_kind"],
            "entity_id": row["entity_id"],
            "request_id": row["request_id"],
            "occurred_at": _utc(row["occurred_at"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "detail": row["detail"],
        }
        digest = _hash(prev, content)
        bind.execute(
            sa.update(_audit)
            .where(_audit.c.id == row["id"])
            .values(chain_key=key, seq=seq, prev_hash=prev, hash=digest)
        )
        heads[key] = (seq, digest)
    for key, (seq, digest) in heads.items():
        bind.execute(sa.insert(_head).values(chain_key=key, last_seq=seq, last_hash=digest))


def _backfill_deadlines(bind) -> None:
    for row in bind.execute(sa.select(_deadline.c.id, _deadline.c.due_at)).mappings():
        bind.execute(
            sa.update(_deadline)
            .where(_deadline.c.id == row["id"])
            .values(approaching_at=_utc(row["due_at"]) - timedelta(days=1))
        )


def _create_triggers(dialect: str) -> None:
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


def _drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "audit_chain_head",
        sa.Column("chain_key", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain_key", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("previous_secret", sa.String(length=200), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("cursor_seq", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authority.id"], name=op.f("fk_webhook_subscription_authority_id_authority")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_subscription_active_next_attempt_at", ["active", "next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_webhook_subscription_authority_id"), ["authority_id"], unique=False)
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscription.id"],
            name=op.f("fk_webhook_delivery_subscription_id_webhook_subscription"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_delivery_subscription_id_id", ["subscription_id", "id"], unique=False)

    # Audit chain: add nullable, chain what is there, then require.
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_key", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _backfill_audit(bind)
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        for name, length in (("chain_key", 40), ("prev_hash", 64), ("hash", 64)):
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=False)
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index("ix_audit_entry_authority_code_id")
        batch_op.create_index("ix_audit_entry_chain_key_actor_sub", ["chain_key", "actor_sub"], unique=False)
        batch_op.create_index("ix_audit_entry_chain_key_occurred_at", ["chain_key", "occurred_at"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entry_chain_key_seq"), ["chain_key", "seq"])
    _create_triggers(bind.dialect.name)

    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appeal_due_explanation", sa.String(length=1000), nullable=True))

    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approaching_at", sa.DateTime(timezone=True), nullable=True))
    _backfill_deadlines(bind)
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.alter_column("approaching_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.drop_column("approaching_at")
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.drop_column("appeal_due_explanation")
    _drop_triggers(bind.dialect.name)
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_entry_chain_key_seq"), type_="unique")
        batch_op.drop_index("ix_audit_entry_chain_key_occurred_at")
        batch_op.drop_index("ix_audit_entry_chain_key_actor_sub")
        batch_op.create_index("ix_audit_entry_authority_code_id", ["authority_code", "id"], unique=False)
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
        batch_op.drop_column("chain_key")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_delivery_subscription_id_id")
    op.drop_table("webhook_delivery")
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscription_authority_id"))
        batch_op.drop_index("ix_webhook_subscription_active_next_attempt_at")
    op.drop_table("webhook_subscription")
    op.drop_table("audit_chain_head")
