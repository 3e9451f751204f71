"""The audit log's hash chain (pure). Each entry's hash covers its canonical content and the
previous entry's hash, so changing, removing or reordering any entry breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_content(values: Mapping[str, Any]) -> dict[str, Any]:
    """What an entry's hash covers, from its column values (a row or the values about to be
    inserted)."""
    return {
        "chain": values["chain_key"],
        "seq": values["seq"],
        "authority": values["authority_code"],
        "actor": values["actor_sub"],
        "roles": values["actor_roles"],
        "action": values["action"],
        "entity_kind": values["entity_kind"],
        "entity_id": values["entity_id"],
        "request_id": values["request_id"],
        "occurred_at": canonical_time(values["occurred_at"]),
        "detail": values["detail"],
    }


def canonical(content: object) -> bytes:
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(content)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    entry_id: int | None
    reason: str


def verify(
    entries: Iterable[tuple[int | None, int, str, str, dict[str, Any]]],
    *,
    start_seq: int = 1,
    start_hash: str = GENESIS,
) -> tuple[int, ChainBreak | None]:
    """Walk `(id, seq, prev_hash, hash, content)` in seq order. Returns how many entries were
    checked and the first break, if any."""
    expected_seq, expected_prev, checked = start_seq, start_hash, 0
    for entry_id, seq, prev_hash, stored_hash, content in entries:
        if seq != expected_seq:
            return checked, ChainBreak(expected_seq, entry_id, f"entry {expected_seq} is missing")
        if prev_hash != expected_prev:
            return checked, ChainBreak(seq, entry_id, "does not link to the entry before it")
        if entry_hash(prev_hash, content) != stored_hash:
            return checked, ChainBreak(seq, entry_id, "content does not match its hash")
        expected_seq, expected_prev, checked = seq + 1, stored_hash, checked + 1
    return checked, None
