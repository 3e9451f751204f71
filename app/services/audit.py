"""The audit log: writing entries, sealing them onto their hash chains and reading the log.
Verification and checkpoints are in `audit_verify`.

`journal.audit()` only queues an entry on the session; just before the transaction commits
the queued entries are inserted, unsealed, in the same transaction as the change they record.
`seal()` later links committed entries onto their chain in the order it finds them (entry id
order), under the chain head's row lock, and seals each link and the head with the audit key
(HMAC, `app.rules.audit_mac`). The worker seals on every pass, and the audit endpoints seal
before they read, so a reader always sees a complete chain. Keeping the chain lock out of the
request path is what lets audited requests of one authority run side by side.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit_keys import KeyRing
from app.models.base import table_of
from app.models.platform import AuditChainHead, AuditEntry
from app.pagination import Key, Keyset, cursor_int, keyset_page
from app.rules.audit_chain import GENESIS, chain_content, entry_hash
from app.rules.audit_mac import Seal, entry_mac, head_mac, head_problem

log = logging.getLogger("app.audit")
PENDING = "pending_audit"
SYSTEM_CHAIN = "-"
# Every authority's chain begins with the authority's creation.
CHAIN_START = "authority.created"
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


def _may_start(connection: sa.Connection, key: str) -> bool:
    """Whether a chain without a head may begin now. An authority's chain begins with the
    authority's creation; one that has no head but other entries has been emptied (or its
    head deleted), and is not started again over the top of that."""
    if key == SYSTEM_CHAIN:
        return True
    first = connection.execute(
        sa.select(_ENTRIES.c.action)
        .where(_ENTRIES.c.chain_key == key, _ENTRIES.c.seq.is_(None))
        .order_by(_ENTRIES.c.id)
        .limit(1)
    ).scalar()
    return first == CHAIN_START


def _lock_head(connection: sa.Connection, key: str, ring: KeyRing) -> tuple[int, str, int] | None:
    """Lock a chain's head until commit (creating it on the chain's first entry) and return
    its last sequence number, last hash and `signed_from`; None, with an error logged, when
    the head is missing or its seal does not hold (nothing is sealed onto a forged head)."""
    locked = sa.select(_HEADS).where(_HEADS.c.chain_key == key).with_for_update()
    row = connection.execute(locked).first()
    if row is None:
        if not _may_start(connection, key):
            log.error(
                "audit chain has no head and does not begin with its authority: not sealed",
                extra=_fields(key),
            )
            return None
        kid, secret = ring.current
        values = {
            "chain_key": key,
            "last_seq": 0,
            "last_hash": GENESIS,
            "signed_from": 1,
            "key_id": kid,
            "mac": head_mac(secret, key, 0, GENESIS, 1),
        }
        connection.execute(insert_ignoring_conflicts(connection.dialect.name, _HEADS, values))
        row = connection.execute(locked).one()
    head = Seal(key, int(row.last_seq), str(row.last_hash), row.key_id, row.mac)
    problem = head_problem(ring, head, int(row.signed_from))
    if problem is not None:
        log.error("audit chain head failed its check: not sealed", extra=_fields(key, problem))
        return None
    return head.seq, head.hash, int(row.signed_from)


def _fields(key: str, reason: str | None = None) -> dict[str, Any]:
    return {"fields": {"chain": key, **({"reason": reason} if reason else {})}}


def insert_ignoring_conflicts(dialect: str, table: sa.Table, values: dict[str, Any]) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(**values).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).values(**values).on_conflict_do_nothing()


_SEAL_ENTRY = (
    sa.update(_ENTRIES)
    .where(_ENTRIES.c.id == sa.bindparam("entry_id"))
    .values(
        seq=sa.bindparam("new_seq"),
        prev_hash=sa.bindparam("new_prev"),
        hash=sa.bindparam("new_hash"),
        mac=sa.bindparam("new_mac"),
        key_id=sa.bindparam("new_key_id"),
    )
)


def _seal_chain(connection: sa.Connection, key: str, ring: KeyRing) -> int:
    """Seal one chain's unsealed entries under its head's lock; returns how many."""
    locked = _lock_head(connection, key, ring)
    if locked is None:
        return 0
    seq, prev, signed_from = locked
    start = seq
    kid, secret = ring.current
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
            links.append(
                {
                    "entry_id": row["id"],
                    "new_seq": seq,
                    "new_prev": prev,
                    "new_hash": link,
                    "new_mac": entry_mac(secret, key, seq, link),
                    "new_key_id": kid,
                }
            )
            prev = link
        if links:
            connection.execute(_SEAL_ENTRY, links)
        if len(links) < SEAL_BATCH:
            break
    if seq != start:
        connection.execute(
            sa.update(_HEADS)
            .where(_HEADS.c.chain_key == key)
            .values(
                last_seq=seq, last_hash=prev, key_id=kid, mac=head_mac(secret, key, seq, prev, signed_from)
            )
        )
    return seq - start


def seal_with(connection: sa.Connection, chain_key: str | None = None, *, keys: KeyRing) -> int:
    """Link every committed, unsealed entry (of one chain, or of all) onto its chain, in entry
    id order, within the connection's transaction, each with its MAC and the head resealed;
    returns how many were sealed. Safe to run in several processes at once: each chain is
    sealed under its head's row lock, and a sealer that waited for the lock reads the
    unsealed entries again after taking it."""
    unsealed = sa.select(_ENTRIES.c.chain_key).where(_ENTRIES.c.seq.is_(None))
    if chain_key is not None:
        unsealed = unsealed.where(_ENTRIES.c.chain_key == chain_key)
    keys_ = sorted(connection.execute(unsealed.distinct()).scalars().all())
    # sorted: a fixed lock order, so two sealers never deadlock
    return sum(_seal_chain(connection, key, keys) for key in keys_)


async def seal(session: AsyncSession, chain_key: str | None = None, *, keys: KeyRing) -> int:
    """`seal_with` in the session's transaction."""
    connection = await session.connection()
    return await connection.run_sync(lambda sync: seal_with(sync, chain_key, keys=keys))


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
    keys: KeyRing,
) -> tuple[list[AuditEntry], str | None]:
    """The chain's sealed entries, newest first, filtered."""
    after = _PAGE.parse(cursor)
    await seal(session, chain_key, keys=keys)
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
