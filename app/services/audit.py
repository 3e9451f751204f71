"""The audit log: writing entries, sealing them onto their hash chains, verifying the
chains and reading the log.

`journal.audit()` only queues an entry on the session; just before the transaction commits
the queued entries are inserted, unsealed, in the same transaction as the change they record.
`seal()` later links committed entries onto their chain in the order it finds them (entry id
order), under the chain head's row lock. The worker seals on every pass, and the audit
endpoints seal before they read, so a reader always sees a complete chain. Keeping the chain
lock out of the request path is what lets audited requests of one authority run side by side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.base import table_of
from app.models.platform import AuditChainHead, AuditEntry
from app.pagination import Key, Keyset, cursor_int, keyset_page
from app.rules.audit_chain import GENESIS, ChainBreak, chain_content, entry_hash, verify

PENDING = "pending_audit"
SYSTEM_CHAIN = "-"
VERIFY_BATCH = 1000
SEAL_BATCH = 2000

_ENTRIES = table_of(AuditEntry)
_HEADS = table_of(AuditChainHead)


def queue(session_info: dict[str, Any], entry: dict[str, Any]) -> None:
    """Queue an entry's column values (all but chain_key, seq and the hashes) for commit."""
    session_info.setdefault(PENDING, []).append(entry)


def _append_pending(session: Session) -> None:
    """Insert the queued entries, unsealed: one plain INSERT, no lock."""
    pending: list[dict[str, Any]] = session.info.pop(PENDING, [])
    if not pending:
        return
    for entry in pending:
        entry["chain_key"] = entry["authority_code"] or SYSTEM_CHAIN
    session.execute(sa.insert(_ENTRIES), pending)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    _append_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def _seq(entry: AuditEntry) -> int:
    return chain_link(entry)[0]


def chain_link(entry: AuditEntry) -> tuple[int, str, str]:
    """A sealed entry's (seq, prev_hash, hash)."""
    if entry.seq is None or entry.prev_hash is None or entry.hash is None:
        raise RuntimeError(f"audit entry {entry.id} is not sealed")
    return entry.seq, entry.prev_hash, entry.hash


def _lock_head(connection: sa.Connection, key: str) -> tuple[int, str]:
    """Lock a chain's head until commit (creating it on first use) and return its last
    sequence number and hash."""
    locked = (
        sa.select(_HEADS.c.last_seq, _HEADS.c.last_hash).where(_HEADS.c.chain_key == key).with_for_update()
    )
    row = connection.execute(locked).first()
    if row is None:
        values = {"chain_key": key, "last_seq": 0, "last_hash": GENESIS}
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            connection.execute(pg_insert(_HEADS).values(**values).on_conflict_do_nothing())
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            connection.execute(sqlite_insert(_HEADS).values(**values).on_conflict_do_nothing())
        row = connection.execute(locked).one()
    return int(row.last_seq), str(row.last_hash)


def seal_with(connection: sa.Connection, chain_key: str | None = None) -> int:
    """Link every committed, unsealed entry (of one chain, or of all) onto its chain, in entry
    id order, within the connection's transaction; returns how many were sealed. Safe to run
    in several processes at once: each chain is sealed under its head's row lock, and a
    sealer that waited for the lock reads the unsealed entries again after taking it."""
    if chain_key is None:
        unsealed = sa.select(_ENTRIES.c.chain_key).where(_ENTRIES.c.seq.is_(None)).distinct()
        keys = sorted(connection.execute(unsealed).scalars().all())
    else:
        keys = [chain_key]
    sealed = 0
    for key in keys:  # sorted: a fixed lock order, so two sealers never deadlock
        seq, prev = _lock_head(connection, key)
        start = seq
        while True:
            rows = connection.execute(
                sa.select(_ENTRIES)
                .where(_ENTRIES.c.chain_key == key, _ENTRIES.c.seq.is_(None))
                .order_by(_ENTRIES.c.id)
                .limit(SEAL_BATCH)
            ).mappings()
            links = []
            for row in rows:
                seq += 1
                link = entry_hash(prev, chain_content({**row, "seq": seq}))
                links.append({"entry_id": row["id"], "new_seq": seq, "new_prev": prev, "new_hash": link})
                prev = link
            if links:
                connection.execute(
                    sa.update(_ENTRIES)
                    .where(_ENTRIES.c.id == sa.bindparam("entry_id"))
                    .values(
                        seq=sa.bindparam("new_seq"),
                        prev_hash=sa.bindparam("new_prev"),
                        hash=sa.bindparam("new_hash"),
                    ),
                    links,
                )
            if len(links) < SEAL_BATCH:
                break
        if seq != start:
            connection.execute(
                sa.update(_HEADS).where(_HEADS.c.chain_key == key).values(last_seq=seq, last_hash=prev)
            )
            sealed += seq - start
    return sealed


async def seal(session: AsyncSession, chain_key: str | None = None) -> int:
    """`seal_with` in the session's transaction."""
    connection = await session.connection()
    return await connection.run_sync(seal_with, chain_key)


async def verify_chain(session: AsyncSession, chain_key: str) -> tuple[int, ChainBreak | None, int]:
    """Seal what is pending, then recompute the chain in batches. Returns (checked, first
    break, length recorded on the head)."""
    await seal(session, chain_key)
    connection = await session.connection()
    head = (
        await connection.execute(
            sa.select(_HEADS.c.last_seq, _HEADS.c.last_hash).where(_HEADS.c.chain_key == chain_key)
        )
    ).first()
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
            ((e.id, *chain_link(e), chain_content(e.__dict__)) for e in batch),
            start_seq=next_seq,
            start_hash=prev_hash,
        )
        checked += count
        if broken is not None:
            return checked, broken, recorded
        last_seq, _, prev_hash = chain_link(batch[-1])
        next_seq = last_seq + 1
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
    limit: int,
    cursor: str | None,
) -> tuple[list[AuditEntry], str | None]:
    """The chain's sealed entries, newest first, filtered."""
    after = _PAGE.parse(cursor)
    await seal(session, chain_key)
    query = select(AuditEntry).where(AuditEntry.chain_key == chain_key, col(AuditEntry.seq).is_not(None))
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

    async def fetch(q: Any) -> list[AuditEntry]:
        return list((await session.exec(q)).all())

    return await keyset_page(_PAGE, query, fetch, after=after, limit=limit)


_PAGE: Keyset[AuditEntry] = Keyset((Key(col(AuditEntry.seq), cursor_int, _seq),))
