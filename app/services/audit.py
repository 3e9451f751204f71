"""Writing the audit chain at commit, verifying it, and reading the log.

`journal.audit()` only queues an entry on the session. Just before the transaction commits,
`_append_pending` locks each affected chain head, links the queued entries onto it and
inserts them — so entries land in the same transaction as the change, and the chain lock is
held only for the last few statements of the transaction."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.platform import AuditChainHead, AuditEntry
from app.rules.audit_chain import GENESIS, ChainBreak, entry_hash, verify

PENDING = "pending_audit"
SYSTEM_CHAIN = "-"
VERIFY_BATCH = 1000


def queue(session_info: dict[str, Any], entry: AuditEntry) -> None:
    session_info.setdefault(PENDING, []).append(entry)


def _head_for_update(session: Session, key: str) -> AuditChainHead:
    head = session.execute(
        select(AuditChainHead).where(AuditChainHead.chain_key == key).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        # First entry of this chain: create the head, tolerating a concurrent creator.
        dialect = session.get_bind().dialect.name
        values = {"chain_key": key, "last_seq": 0, "last_hash": GENESIS}
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            session.execute(pg_insert(AuditChainHead).values(**values).on_conflict_do_nothing())
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            session.execute(sqlite_insert(AuditChainHead).values(**values).on_conflict_do_nothing())
        head = session.execute(
            select(AuditChainHead).where(AuditChainHead.chain_key == key).with_for_update()
        ).scalar_one()
    return head


def _append_pending(session: Session) -> None:
    pending: list[AuditEntry] = session.info.pop(PENDING, [])
    if not pending:
        return
    by_chain: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in pending:
        entry.chain_key = entry.authority_code or SYSTEM_CHAIN
        by_chain[entry.chain_key].append(entry)
    for key in sorted(by_chain):  # a fixed lock order, so two transactions never deadlock
        head = _head_for_update(session, key)
        seq, prev = head.last_seq, head.last_hash
        for entry in by_chain[key]:
            seq += 1
            entry.seq = seq
            entry.prev_hash = prev
            entry.hash = entry_hash(prev, entry.chain_content())
            prev = entry.hash
            session.add(entry)
        head.last_seq, head.last_hash = seq, prev
        session.add(head)
    session.flush()


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _append_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


async def verify_chain(session: AsyncSession, chain_key: str) -> tuple[int, ChainBreak | None, int]:
    """Recompute the chain in batches. Returns (checked, first break, length recorded on the head)."""
    head = await session.get(AuditChainHead, chain_key)
    recorded = head.last_seq if head else 0
    checked, prev_hash, next_seq = 0, GENESIS, 1
    while True:
        batch = (
            await session.exec(
                select(AuditEntry)
                .where(AuditEntry.chain_key == chain_key, col(AuditEntry.seq) >= next_seq)
                .order_by(col(AuditEntry.seq))
                .limit(VERIFY_BATCH)
            )
        ).all()
        if not batch:
            break
        count, broken = verify(
            ((e.id, e.seq, e.prev_hash, e.hash, e.chain_content()) for e in batch),
            start_seq=next_seq,
            start_hash=prev_hash,
        )
        checked += count
        if broken is not None:
            return checked, broken, recorded
        prev_hash, next_seq = batch[-1].hash, batch[-1].seq + 1
    if head is not None and (checked != recorded or prev_hash != head.last_hash):
        return checked, ChainBreak(checked + 1, None, "entries at the end of the chain are missing"), recorded
    return checked, None, recorded


async def list_entries(
    session: AsyncSession,
    *,
    chain_key: str,
    entity_kind: str | None,
    entity_id: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    before_seq: int | None,
    limit: int,
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.chain_key == chain_key)
    if entity_kind is not None:
        query = query.where(AuditEntry.entity_kind == entity_kind)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if actor is not None:
        query = query.where(AuditEntry.actor_sub == actor)
    if since is not None:
        query = query.where(col(AuditEntry.occurred_at) >= since)
    if until is not None:
        query = query.where(col(AuditEntry.occurred_at) < until)
    if before_seq is not None:
        query = query.where(col(AuditEntry.seq) < before_seq)
    rows = await session.exec(query.order_by(sa.desc(col(AuditEntry.seq))).limit(limit))
    return list(rows.all())
