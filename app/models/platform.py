"""Cross-cutting tables: audit log, event outbox, idempotency records, the test clock."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.base import id_field, json_field, partial_index, utc


class AuditEntry(SQLModel, table=True):
    """Append-only record of every write and every read of personal data, hash-chained per
    authority (`chain_key`; "-" for actions outside any authority). Entries are written in
    the request's transaction and sealed onto the chain (seq, prev_hash, hash) just after;
    database triggers refuse DELETE and any UPDATE but that one seal."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.UniqueConstraint("chain_key", "seq"),
        sa.Index("ix_audit_entry_entity_id", "entity_id"),
        sa.Index("ix_audit_entry_chain_key_actor_sub", "chain_key", "actor_sub"),
        sa.Index("ix_audit_entry_chain_key_occurred_at", "chain_key", "occurred_at"),
        # What the sealer has still to link, in insertion order.
        partial_index("ix_audit_entry_unsealed", "chain_key", "id", where="seq IS NULL"),
    )

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    authority_code: str | None = Field(default=None, max_length=40)
    actor_sub: str = Field(max_length=200)
    actor_roles: list[str] = json_field()
    action: str = Field(max_length=80)
    entity_kind: str = Field(max_length=40)
    entity_id: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=100)
    occurred_at: datetime = utc(nullable=False)
    detail: dict[str, Any] = json_field(default_factory=dict)
    chain_key: str = Field(max_length=40)
    # Empty until the entry is sealed onto its chain (app.services.audit.seal).
    seq: int | None = None
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)
    # HMAC-SHA256 over the seal with the audit key named by key_id (app.rules.audit_mac);
    # empty on entries sealed before MACs existed (below the head's signed_from).
    mac: str | None = Field(default=None, max_length=64)
    key_id: str | None = Field(default=None, max_length=40)


class AuditChainHead(SQLModel, table=True):
    """The last link of each audit chain, sealed with the audit key; locked while a sealer
    appends to it. Database triggers refuse DELETE, TRUNCATE and any update that does not
    move it forward."""

    __tablename__ = "audit_chain_head"

    chain_key: str = Field(primary_key=True, max_length=40)
    last_seq: int = 0
    last_hash: str = Field(max_length=64)
    # The first seq whose entry carries a MAC (1, or the next one after the chain's
    # pre-MAC entries); covered by the head's own MAC.
    signed_from: int = 1
    key_id: str = Field(max_length=40)
    mac: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """The latest verified position of each audit chain, sealed with the audit key: the
    worker advances it after checking the entries since the last one, and verification
    starts from it. Database triggers keep it moving forward only."""

    __tablename__ = "audit_checkpoint"

    chain_key: str = Field(primary_key=True, max_length=40)
    seq: int
    hash: str = Field(max_length=64)
    created_at: datetime = utc(nullable=False)
    key_id: str = Field(max_length=40)
    mac: str = Field(max_length=64)


class Event(SQLModel, table=True):
    """Transactional outbox: written in the same transaction as the change it describes."""

    __tablename__ = "event"
    __table_args__ = (
        sa.UniqueConstraint("authority_id", "seq"),
        # A subject's history in order (a dissent's detail reads it on every request).
        sa.Index("ix_event_subject_id_seq", "subject_id", "seq"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("authority.id"), nullable=False)
    )
    seq: int
    type: str = Field(max_length=80)
    occurred_at: datetime = utc(nullable=False)
    subject_kind: str = Field(max_length=40)
    subject_id: str = Field(max_length=64)
    data: dict[str, Any] = json_field(default_factory=dict)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("scope", "key"),)

    id: uuid.UUID = id_field()
    # authority code and caller, so one caller's key never replays another's response
    scope: str = Field(max_length=300)
    key: str = Field(max_length=200)
    method: str = Field(max_length=10)
    path: str = Field(max_length=500)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None
    response_body: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    response_headers: dict[str, str] = json_field(default_factory=dict)
    created_at: datetime = utc(nullable=False, index=True)


class TestClock(SQLModel, table=True):
    """The server's frozen time while the test clock is enabled (one row)."""

    __tablename__ = "test_clock"
    __test__ = False  # not a pytest class

    id: int = Field(default=1, primary_key=True)
    frozen_at: datetime = utc(nullable=False)
