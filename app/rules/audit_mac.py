"""Keyed seals over the audit chain (pure). The chain's SHA-256 links show that entries were
changed, removed or reordered only to someone who cannot recompute them; anyone holding the
database login can. An HMAC-SHA256 with a key the database never holds closes that: each
sealed entry, each chain head and each checkpoint carries a MAC and the id of the key that
made it, so keys can rotate while older seals stay checkable.

Every MAC covers a canonical JSON list: a label naming what is sealed, then its fields, so a
MAC made for one thing can never pass as another's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.audit_keys import KeyRing
from app.rules.audit_chain import GENESIS, ChainBreak, canonical, entry_hash


def _mac(key: bytes, *parts: object) -> str:
    return hmac.new(key, canonical(list(parts)), hashlib.sha256).hexdigest()


def entry_mac(key: bytes, chain: str, seq: int, hash_: str) -> str:
    return _mac(key, "audit-entry", chain, seq, hash_)


def head_mac(key: bytes, chain: str, seq: int, hash_: str, signed_from: int) -> str:
    """A chain head: its last link and the first sequence number that carries entry MACs
    (entries sealed before MACs existed have none)."""
    return _mac(key, "audit-head", chain, seq, hash_, signed_from)


def checkpoint_mac(key: bytes, chain: str, seq: int, hash_: str, at: str) -> str:
    return _mac(key, "audit-checkpoint", chain, seq, hash_, at)


def mac_matches(ring: KeyRing, key_id: str | None, mac: str | None, make: Callable[[bytes], str]) -> bool:
    """Whether `mac` is what the key named `key_id` gives; `make(key)` computes it."""
    if key_id is None or mac is None:
        return False
    key = ring.keys.get(key_id)
    if key is None:
        return False
    return hmac.compare_digest(make(key), mac)


# ---- walking a sealed chain ---------------------------------------------------------------------

# (entry id, seq, prev_hash, hash, mac, key_id, canonical content)
SealedEntry = tuple[int | None, int, str, str, str | None, str | None, dict[str, Any]]


@dataclass(frozen=True)
class Seal:
    """A chain head or a checkpoint: a position on the chain, sealed with a key."""

    chain: str
    seq: int
    hash: str
    key_id: str | None
    mac: str | None


def seal_problem(ring: KeyRing, what: str, seal: Seal, make: Callable[[bytes], str]) -> str | None:
    """Why a head's or checkpoint's MAC does not hold, or None."""
    if seal.mac is None or seal.key_id is None:
        return f"the {what} is not sealed with the audit key"
    if seal.key_id not in ring.keys:
        return f"the {what} is sealed with key id {seal.key_id!r}, which is not configured"
    if not mac_matches(ring, seal.key_id, seal.mac, make):
        return f"the {what}'s seal (MAC) does not match: it was written without the audit key"
    return None


def head_problem(ring: KeyRing, head: Seal, signed_from: int) -> str | None:
    return seal_problem(
        ring, "chain head", head, lambda k: head_mac(k, head.chain, head.seq, head.hash, signed_from)
    )


def checkpoint_problem(ring: KeyRing, checkpoint: Seal, at: str) -> str | None:
    return seal_problem(
        ring,
        "checkpoint",
        checkpoint,
        lambda k: checkpoint_mac(k, checkpoint.chain, checkpoint.seq, checkpoint.hash, at),
    )


@dataclass
class ChainWalk:
    """Checks a chain's entries batch by batch, in seq order, from a trusted position: the
    link to the entry before, the hash over the content and, from `signed_from` on, each
    entry's MAC. Stops at the first break."""

    ring: KeyRing
    chain: str
    signed_from: int
    next_seq: int = 1
    prev_hash: str = GENESIS
    checked: int = 0
    broken: ChainBreak | None = None

    def feed(self, entries: Iterable[SealedEntry]) -> None:
        for entry in entries:
            if self.broken is not None:
                return
            self.broken = self._check(entry)
            if self.broken is None:
                self.next_seq, self.prev_hash, self.checked = entry[1] + 1, entry[3], self.checked + 1

    def _check(self, entry: SealedEntry) -> ChainBreak | None:
        entry_id, seq, prev_hash, stored_hash, mac, key_id, content = entry
        if seq != self.next_seq:
            return ChainBreak(self.next_seq, entry_id, f"entry {self.next_seq} is missing")
        if prev_hash != self.prev_hash:
            return ChainBreak(seq, entry_id, "does not link to the entry before it")
        if entry_hash(prev_hash, content) != stored_hash:
            return ChainBreak(seq, entry_id, "content does not match its hash")
        if seq < self.signed_from:
            return None  # sealed before entry MACs existed; the signed head covers it
        if key_id is not None and key_id not in self.ring.keys:
            return ChainBreak(seq, entry_id, f"sealed with key id {key_id!r}, which is not configured")
        if not mac_matches(self.ring, key_id, mac, lambda k: entry_mac(k, self.chain, seq, stored_hash)):
            return ChainBreak(seq, entry_id, "its seal (MAC) does not match: rewritten without the audit key")
        return None

    def end_problem(self, head: Seal) -> ChainBreak | None:
        """Whether the walk ended where the (authentic) head says the chain ends."""
        last = self.next_seq - 1
        if last < head.seq:
            return ChainBreak(self.next_seq, None, "entries at the end of the chain are missing")
        if last > head.seq:
            return ChainBreak(head.seq + 1, None, "the chain runs past its sealed head")
        if self.prev_hash != head.hash:
            return ChainBreak(last, None, "the last entry does not match the sealed chain head")
        return None
