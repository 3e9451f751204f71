"""Revision 0008 on a database with audit chains already sealed (issue 16, item 2): the
existing heads are sealed with the configured key, entries from before keep no MAC of their
own but stay covered by the sealed head, new entries are sealed with the key, and keys rotate
by key id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from app.audit_keys import KeyRing
from app.config import Settings
from app.db import Database, configure_sqlite, is_sqlite_url, sync_url
from app.migrations_state import upgrade
from app.models.platform import AuditEntry
from app.rules.audit_chain import GENESIS, chain_content, entry_hash
from app.services.audit import seal_with
from app.services.audit_verify import Verification, verify_chain
from tests.test_migrations import scratch_url  # noqa: F401 - the fixture

K1 = KeyRing("k1", {"k1": b"1" * 32})
BOTH = KeyRing("k2", {"k1": b"1" * 32, "k2": b"2" * 32})
ONLY_K2 = KeyRing("k2", {"k2": b"2" * 32})
CHAIN = "la-legacy"


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    if is_sqlite_url(url):
        configure_sqlite(engine)
    return engine


def _entry(action: str) -> dict[str, object]:
    return {
        "authority_code": CHAIN,
        "actor_sub": "sysadmin",
        "actor_roles": ["system_admin"],
        "action": action,
        "entity_kind": "authority",
        "entity_id": None,
        "request_id": None,
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
        "detail": {},
        "chain_key": CHAIN,
    }


def _legacy_chain(conn: sa.Connection) -> None:
    """Two entries sealed the way revision 0005-0007 sealed them (no MAC), and their head."""
    table = AuditEntry.__table__
    prev = GENESIS
    for seq, action in enumerate(("authority.created", "child.created"), start=1):
        values = {**_entry(action), "seq": seq}
        link = entry_hash(prev, chain_content(values))
        conn.execute(sa.insert(table).values(**values, prev_hash=prev, hash=link))
        prev = link
    conn.execute(
        sa.text("INSERT INTO audit_chain_head (chain_key, last_seq, last_hash) VALUES (:c, 2, :h)"),
        {"c": CHAIN, "h": prev},
    )


def _verify(url: str, keys: KeyRing, *, full: bool = True) -> Verification:
    async def run() -> Verification:
        db = Database(Settings(environment="test", database_url=url))
        try:
            async with db.session() as session:
                return await verify_chain(session, CHAIN, keys=keys, full=full)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _append_and_seal(url: str, keys: KeyRing) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(AuditEntry.__table__).values(**_entry("child.read")))
        with engine.begin() as conn:
            assert seal_with(conn, CHAIN, keys=keys) == 1
    finally:
        engine.dispose()


def test_existing_chains_are_sealed_by_the_upgrade_and_keys_rotate(scratch_url):  # noqa: F811
    upgrade(scratch_url, "0007")
    engine = _engine(scratch_url)
    try:
        with engine.begin() as conn:
            _legacy_chain(conn)
    finally:
        engine.dispose()
    upgrade(scratch_url, audit_keys=K1)
    engine = _engine(scratch_url)
    try:
        with engine.connect() as conn:
            head = conn.execute(sa.text("SELECT * FROM audit_chain_head")).one()
    finally:
        engine.dispose()
    assert (head.last_seq, head.signed_from, head.key_id) == (2, 3, "k1")
    assert _verify(scratch_url, K1).ok
    assert not _verify(scratch_url, ONLY_K2).ok  # the head was sealed with k1

    _append_and_seal(scratch_url, K1)  # entry 3, sealed with k1
    _append_and_seal(scratch_url, BOTH)  # entry 4, sealed with k2 after the rotation
    result = _verify(scratch_url, BOTH)
    assert (result.ok, result.checked, result.chain_length) == (True, 4, 4)
    engine = _engine(scratch_url)
    try:
        with engine.connect() as conn:
            macs = conn.execute(sa.text("SELECT seq, key_id FROM audit_entry ORDER BY seq")).all()
    finally:
        engine.dispose()
    assert [tuple(m) for m in macs] == [(1, None), (2, None), (3, "k1"), (4, "k2")]
    retired = _verify(scratch_url, ONLY_K2)  # k1 dropped too early: its entries cannot be checked
    assert not retired.ok and retired.first_broken is not None
    assert retired.first_broken.seq == 3 and "not configured" in retired.first_broken.reason
