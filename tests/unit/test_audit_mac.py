"""The audit chain's keyed seals (pure rules) and the audit key settings (issue 16, item 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from app.audit_keys import KeyRing
from app.config import DEFAULT_DEV_AUDIT_KEY, Settings
from app.rules.audit_chain import GENESIS, canonical_time, entry_hash
from app.rules.audit_mac import (
    ChainWalk,
    Seal,
    checkpoint_mac,
    checkpoint_problem,
    entry_mac,
    head_mac,
    head_problem,
)

OLD, NEW = b"o" * 32, b"n" * 32
RING = KeyRing("k2", {"k1": OLD, "k2": NEW})


def chain(n: int, *, key_id: str = "k2", key: bytes = NEW, signed_from: int = 1) -> list[tuple]:
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        content = {"seq": seq, "action": f"a{seq}"}
        link = entry_hash(prev, content)
        mac = entry_mac(key, "c", seq, link) if seq >= signed_from else None
        out.append((seq, seq, prev, link, mac, key_id if mac else None, content))
        prev = link
    return out


def head_of(entries: list[tuple], *, key: bytes = NEW, key_id: str = "k2", signed_from: int = 1) -> Seal:
    seq, link = entries[-1][1], entries[-1][3]
    return Seal("c", seq, link, key_id, head_mac(key, "c", seq, link, signed_from))


def walk(entries: list[tuple], ring: KeyRing = RING, signed_from: int = 1) -> ChainWalk:
    w = ChainWalk(ring, "c", signed_from)
    w.feed(entries)
    return w


def test_an_intact_chain_walks_to_its_head():
    entries = chain(5)
    w = walk(entries)
    assert (w.broken, w.checked) == (None, 5)
    assert w.end_problem(head_of(entries)) is None
    assert head_problem(RING, head_of(entries), 1) is None


def test_a_rehashed_entry_without_the_key_is_refused():
    entries = chain(4)
    seq, _, prev, _, mac, kid, content = entries[2]
    forged = {**content, "action": "forged"}
    entries[2] = (seq, seq, prev, entry_hash(prev, forged), mac, kid, forged)
    w = walk(entries)
    assert w.broken is not None and w.broken.seq == 3 and "MAC" in w.broken.reason


def test_an_entry_from_the_signed_range_without_a_mac_is_refused():
    entries = chain(3)
    entries[1] = (*entries[1][:4], None, None, entries[1][6])
    assert walk(entries).broken.seq == 2


def test_entries_before_signed_from_need_no_mac_but_must_link():
    entries = chain(4, signed_from=3)
    assert walk(entries, signed_from=3).broken is None
    assert head_problem(RING, head_of(entries, signed_from=3), 3) is None
    # the head's MAC covers signed_from: moving it (to excuse more entries) breaks the head
    assert head_problem(RING, head_of(entries, signed_from=3), 5) is not None


def test_rotation_verifies_each_entry_by_its_own_key_id():
    old = chain(2, key_id="k1", key=OLD)
    assert walk(old).broken is None
    only_new = KeyRing("k2", {"k2": NEW})
    broken = walk(old, only_new).broken
    assert broken is not None and "'k1'" in broken.reason and "not configured" in broken.reason


def test_a_head_or_checkpoint_without_a_valid_seal_is_refused():
    entries = chain(3)
    head = head_of(entries)
    assert "not sealed" in head_problem(RING, Seal("c", head.seq, head.hash, None, None), 1)
    assert "does not match" in head_problem(RING, Seal("c", head.seq - 1, head.hash, "k2", head.mac), 1)
    assert "not configured" in head_problem(RING, Seal("c", head.seq, head.hash, "k9", head.mac), 1)
    at = canonical_time(datetime(2026, 1, 1, tzinfo=UTC))
    good = Seal("c", 3, head.hash, "k1", checkpoint_mac(OLD, "c", 3, head.hash, at))
    assert checkpoint_problem(RING, good, at) is None
    assert checkpoint_problem(RING, good, canonical_time(datetime(2026, 1, 2, tzinfo=UTC))) is not None
    # a MAC made for a head does not pass as a checkpoint's
    as_head = Seal("c", 3, head.hash, "k2", head_mac(NEW, "c", 3, head.hash, 1))
    assert checkpoint_problem(RING, as_head, at) is not None


def test_the_walk_must_end_at_the_head():
    entries = chain(4)
    assert "missing" in walk(entries[:3]).end_problem(head_of(entries)).reason
    assert "past its sealed head" in walk(entries).end_problem(head_of(entries[:3])).reason


def test_key_ring_refuses_a_current_id_without_a_key_and_hides_keys():
    with pytest.raises(ValueError):
        KeyRing("k3", {"k1": OLD})
    assert "ooo" not in repr(RING)


# ---- settings --------------------------------------------------------------------------------------


def test_development_gets_a_default_key_and_production_must_set_one():
    assert Settings(environment="development").audit_keys.current_id == "dev"
    with pytest.raises(ValidationError, match="AUDIT_MAC_KEY"):
        Settings(environment="production", auth_jwt_secret="p" * 40)
    with pytest.raises(ValidationError, match="development audit MAC key"):
        Settings(environment="production", auth_jwt_secret="p" * 40, audit_mac_key=DEFAULT_DEV_AUDIT_KEY)
    ok = Settings(
        environment="production", auth_jwt_secret="p" * 40, audit_mac_key="s" * 40, audit_mac_key_id="2026-12"
    )
    assert ok.audit_keys.current == ("2026-12", b"s" * 40)


def test_audit_keys_are_long_and_named_plainly(tmp_path):
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(audit_mac_key="short")
    with pytest.raises(ValidationError):
        Settings(audit_mac_key="s" * 40, audit_mac_key_id="bad id!")


def test_a_key_file_holds_several_keys_for_rotation(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"current": "k2", "keys": {"k1": "a" * 32, "k2": "b" * 32}}))
    ring = Settings(audit_mac_key_file=path).audit_keys
    assert ring.current == ("k2", b"b" * 32) and set(ring.keys) == {"k1", "k2"}
    with pytest.raises(ValidationError, match="not both"):
        Settings(audit_mac_key_file=path, audit_mac_key="c" * 40)
    path.write_text(json.dumps({"current": "k3", "keys": {"k1": "a" * 32}}))
    with pytest.raises(ValidationError, match="current"):
        Settings(audit_mac_key_file=path)
    path.write_text("not json")
    with pytest.raises(ValidationError, match="not a readable key file"):
        Settings(audit_mac_key_file=path)
    with pytest.raises(ValidationError, match="not a readable key file"):
        Settings(audit_mac_key_file=tmp_path / "missing.json")
