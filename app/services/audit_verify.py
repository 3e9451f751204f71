"""Verifying the audit chains and their checkpoints.

A verification starts from the chain's stored checkpoint (the last position the worker
verified, sealed with the audit key) and checks only the entries after it, so its cost
follows what was added since, not the chain's length; `full` walks from the first entry.
Either way it checks that the stored checkpoint still matches its entry, and that the walk
ends exactly at the sealed chain head. The hashing runs in a worker thread, batch by batch,
never on the event loop.

Checkpoints can also be exported, signed, to be kept outside the database: verifying against
one shows whether the chain still holds the entry it named, which no one with only the
database login can fake, even by rebuilding the chain through the service itself.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit_keys import KeyRing
from app.errors import Conflict, RuleViolation
from app.models.base import table_of
from app.models.platform import AuditChainHead, AuditCheckpoint, AuditEntry
from app.rules.audit_chain import ChainBreak, canonical_time, chain_content
from app.rules.audit_mac import ChainWalk, Seal, checkpoint_mac, checkpoint_problem, head_problem
from app.services.audit import SYSTEM_CHAIN, insert_ignoring_conflicts, seal

log = logging.getLogger("app.audit")
VERIFY_BATCH = 2000
CHECKPOINT_FORMAT = "dissent-audit-checkpoint/1"

_ENTRIES = table_of(AuditEntry)
_HEADS = table_of(AuditChainHead)
_CHECKPOINTS = table_of(AuditCheckpoint)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int  # entries walked by this verification
    chain_length: int  # the sealed head's seq
    first_broken: ChainBreak | None
    verified_from: int  # the walk trusted entries up to this seq (a checkpoint), 0 = none
    head_hash: str | None = None


@dataclass(frozen=True)
class Checkpoint:
    """A signed position on a chain, as exported to keep outside the database."""

    chain: str
    seq: int
    hash: str
    at: str  # canonical UTC time
    key_id: str
    mac: str
    format: str = CHECKPOINT_FORMAT

    def as_seal(self) -> Seal:
        return Seal(self.chain, self.seq, self.hash, self.key_id, self.mac)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint:
        try:
            fields = {k: data[k] for k in ("chain", "seq", "hash", "at", "key_id", "mac")}
            checkpoint = cls(**fields, format=data.get("format", CHECKPOINT_FORMAT))
        except (KeyError, TypeError, AttributeError):
            raise RuleViolation("not an audit checkpoint", code="invalid_checkpoint") from None
        if checkpoint.format != CHECKPOINT_FORMAT or not isinstance(checkpoint.seq, int):
            raise RuleViolation("not an audit checkpoint", code="invalid_checkpoint")
        return checkpoint


def sign_checkpoint(ring: KeyRing, chain: str, seq: int, hash_: str, at: datetime) -> Checkpoint:
    kid, key = ring.current
    when = canonical_time(at)
    return Checkpoint(chain, seq, hash_, when, kid, checkpoint_mac(key, chain, seq, hash_, when))


def _broken(at: int, reason: str, *, length: int = 0, checked: int = 0, start: int = 0) -> Verification:
    return Verification(False, checked, length, ChainBreak(at, None, reason), start)


async def _entry_hash_at(connection: AsyncConnection, chain: str, seq: int) -> str | None:
    found = await connection.execute(
        sa.select(_ENTRIES.c.hash).where(_ENTRIES.c.chain_key == chain, _ENTRIES.c.seq == seq)
    )
    value = found.scalar()
    return None if value is None else str(value)


async def _stored_checkpoint(
    connection: AsyncConnection, chain: str, ring: KeyRing
) -> tuple[int, str] | ChainBreak | None:
    """The stored checkpoint as (seq, hash) if its seal holds and its entry still matches."""
    row = (await connection.execute(sa.select(_CHECKPOINTS).where(_CHECKPOINTS.c.chain_key == chain))).first()
    if row is None:
        return None
    stored = Seal(chain, int(row.seq), str(row.hash), row.key_id, row.mac)
    problem = checkpoint_problem(ring, stored, canonical_time(row.created_at))
    if problem is not None:
        return ChainBreak(stored.seq, None, f"stored checkpoint: {problem}")
    if await _entry_hash_at(connection, chain, stored.seq) != stored.hash:
        return ChainBreak(stored.seq, None, "the entry no longer matches the stored checkpoint")
    return stored.seq, stored.hash


def trusted(ring: KeyRing, checkpoint: Checkpoint) -> tuple[int, str]:
    """An exported checkpoint's position, once its own seal holds (otherwise it proves
    nothing and is refused)."""
    problem = checkpoint_problem(ring, checkpoint.as_seal(), checkpoint.at)
    if problem is not None:
        raise RuleViolation(f"the checkpoint cannot be trusted: {problem}", code="invalid_checkpoint")
    return checkpoint.seq, checkpoint.hash


async def _position_problem(
    connection: AsyncConnection, chain: str, seq: int, hash_: str
) -> ChainBreak | None:
    """Whether the chain still holds entry `seq` with the hash a kept checkpoint names."""
    found = await _entry_hash_at(connection, chain, seq)
    if found is None:
        return ChainBreak(seq, None, f"entry {seq} named by the checkpoint is missing")
    if found != hash_:
        return ChainBreak(seq, None, "the entry no longer matches the exported checkpoint")
    return None


def _walk_batch(walk: ChainWalk, rows: list[Any]) -> None:
    walk.feed(
        (r["id"], r["seq"], r["prev_hash"], r["hash"], r["mac"], r["key_id"], chain_content(r)) for r in rows
    )


async def _walk(connection: AsyncConnection, walk: ChainWalk, until: int) -> None:
    """Feed the chain from walk.next_seq to `until`, a batch at a time; the hashing in a
    thread. (Bounded by the head read before: a sealer may append more meanwhile.)"""
    while walk.broken is None and walk.next_seq <= until:
        rows = list(
            (
                await connection.execute(
                    sa.select(_ENTRIES)
                    .where(
                        _ENTRIES.c.chain_key == walk.chain,
                        _ENTRIES.c.seq >= walk.next_seq,
                        _ENTRIES.c.seq <= until,
                    )
                    .order_by(_ENTRIES.c.seq)
                    .limit(VERIFY_BATCH)
                )
            ).mappings()
        )
        if not rows:
            return
        await anyio.to_thread.run_sync(_walk_batch, walk, rows)
        if len(rows) < VERIFY_BATCH:
            return


async def _empty_chain(connection: AsyncConnection, chain: str) -> Verification:
    """A chain without a head: fine only for the system chain before its first entry."""
    any_entry = (
        await connection.execute(sa.select(_ENTRIES.c.id).where(_ENTRIES.c.chain_key == chain).limit(1))
    ).first()
    if chain == SYSTEM_CHAIN and any_entry is None:
        return Verification(True, 0, 0, None, 0)
    if any_entry is None:
        return _broken(1, "the chain is empty: its entries and its head were removed")
    return _broken(1, "the chain head is missing")


async def verify_chain(
    session: AsyncSession,
    chain: str,
    *,
    keys: KeyRing,
    full: bool = False,
    against: tuple[int, str] | None = None,
    seal_first: bool = True,
) -> Verification:
    """Seal what is pending, then check the chain: from its stored checkpoint (or, `full`,
    from the first entry) to its sealed head, and that it still holds the (seq, hash) of a
    checkpoint kept outside, if given."""
    if seal_first:
        await seal(session, chain, keys=keys)
    connection = await session.connection()
    if against is not None:
        exported = await _position_problem(connection, chain, *against)
        if exported is not None:
            return Verification(False, 0, 0, exported, 0)
    row = (await connection.execute(sa.select(_HEADS).where(_HEADS.c.chain_key == chain))).first()
    if row is None:
        return await _empty_chain(connection, chain)
    head = Seal(chain, int(row.last_seq), str(row.last_hash), row.key_id, row.mac)
    walk = ChainWalk(keys, chain, int(row.signed_from))
    stored = await _stored_checkpoint(connection, chain, keys)
    if isinstance(stored, ChainBreak):
        return Verification(False, 0, head.seq, stored, 0)
    if stored is not None and not full:
        walk.next_seq, walk.prev_hash = stored[0] + 1, stored[1]
    start = walk.next_seq - 1
    await _walk(connection, walk, head.seq)
    broken = walk.broken
    if broken is None:
        problem = head_problem(keys, head, int(row.signed_from))
        broken = ChainBreak(head.seq, None, problem) if problem else walk.end_problem(head)
    if broken is None and await _runs_past_head(connection, chain):
        broken = ChainBreak(head.seq + 1, None, "the chain runs past its sealed head")
    return Verification(broken is None, walk.checked, head.seq, broken, start, head.hash)


async def _runs_past_head(connection: AsyncConnection, chain: str) -> bool:
    """Sealed entries beyond the head (an older head put back), read in one statement so a
    sealer committing meanwhile (entries and head together) is never mistaken for it."""
    last_entry = sa.select(sa.func.max(_ENTRIES.c.seq)).where(_ENTRIES.c.chain_key == chain).scalar_subquery()
    last_head = sa.select(_HEADS.c.last_seq).where(_HEADS.c.chain_key == chain).scalar_subquery()
    return bool((await connection.execute(sa.select(last_entry > last_head))).scalar())


# ---- checkpoints ---------------------------------------------------------------------------------


async def export_checkpoint(session: AsyncSession, chain: str, *, keys: KeyRing, now: datetime) -> Checkpoint:
    """A signed checkpoint at the chain's current head, once the chain verifies (a checkpoint
    must never vouch for a chain that has been tampered with)."""
    result = await verify_chain(session, chain, keys=keys)
    if not result.ok or result.head_hash is None:
        raise Conflict("the audit chain does not verify; no checkpoint was made", code="audit_chain_broken")
    return sign_checkpoint(keys, chain, result.chain_length, result.head_hash, now)


async def chains_behind(session: AsyncSession) -> list[str]:
    """Chains whose head has moved past their stored checkpoint (or that have none)."""
    connection = await session.connection()
    query = (
        sa.select(_HEADS.c.chain_key)
        .select_from(_HEADS.outerjoin(_CHECKPOINTS, _CHECKPOINTS.c.chain_key == _HEADS.c.chain_key))
        .where(sa.or_(_CHECKPOINTS.c.seq.is_(None), _CHECKPOINTS.c.seq < _HEADS.c.last_seq))
        .order_by(_HEADS.c.chain_key)
    )
    return list((await connection.execute(query)).scalars().all())


async def advance_checkpoint(session: AsyncSession, chain: str, *, keys: KeyRing, now: datetime) -> bool:
    """Verify the chain from its stored checkpoint and, if it holds, move the checkpoint to
    the head. A broken chain keeps its checkpoint where it was (and is logged). Two workers
    may race: the update applies only over the checkpoint this one verified from."""
    result = await verify_chain(session, chain, keys=keys, seal_first=False)
    if not result.ok or result.head_hash is None:
        broken = result.first_broken
        log.error(
            "audit chain does not verify: checkpoint not advanced",
            extra={
                "fields": {
                    "chain": chain,
                    "seq": broken.seq if broken else None,
                    "reason": broken.reason if broken else None,
                }
            },
        )
        return False
    if result.chain_length <= result.verified_from:
        return False
    signed = sign_checkpoint(keys, chain, result.chain_length, result.head_hash, now)
    values = {
        "seq": signed.seq,
        "hash": signed.hash,
        "created_at": now,
        "key_id": signed.key_id,
        "mac": signed.mac,
    }
    connection = await session.connection()
    if result.verified_from == 0:
        statement = insert_ignoring_conflicts(
            connection.dialect.name, _CHECKPOINTS, {"chain_key": chain, **values}
        )
        moved = await connection.execute(statement)
    else:
        moved = await connection.execute(
            sa.update(_CHECKPOINTS)
            .where(_CHECKPOINTS.c.chain_key == chain, _CHECKPOINTS.c.seq == result.verified_from)
            .values(**values)
        )
    return bool(moved.rowcount)
