"""The audit chain against someone holding the database's owner login (issue 16, items 2
and 3): what the outside probe did — switch the guard triggers off, delete an entry, renumber
and re-hash the rest with the service's own functions, update the head; or empty the tables —
must show as broken, because the seals (HMAC) need a key the database never holds. Also: the
triggers that refuse TRUNCATE and keep heads and checkpoints moving forward, verification from
the worker's checkpoint, signed checkpoints kept outside, and key rotation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import worker
from app.config import Settings
from app.models.platform import AuditEntry
from app.rules.audit_chain import chain_content, entry_hash
from app.services import audit_verify
from app.services.audit import seal_with
from tests.support import Api, create_authority, create_child, expect

ENGLAND = "england-cp-conference"
KEYS = Settings(environment="test").audit_keys
GUARDED = ("audit_entry", "audit_chain_head", "audit_checkpoint")


def admin(api: Api, authority: str) -> Any:
    return api.as_("admin-1", "admin", authority=authority)


def verify(api: Api, authority: str, kept: dict[str, Any] | None = None) -> dict[str, Any]:
    query = f"?checkpoint_seq={kept['seq']}&checkpoint_hash={kept['hash']}" if kept else ""
    return expect(admin(api, authority).get(f"/v1/audit/verify{query}"), 200)


def authority_with_entries(api: Api, children: int = 3) -> str:
    authority = create_authority(api, ENGLAND)
    for _ in range(children):
        child = create_child(api, authority)
        expect(api.as_("rs", "record_system", authority=authority).get(f"/v1/children/{child}"), 200)
    return authority


def sealed(db: sa.Connection) -> None:
    db.rollback()
    seal_with(db, keys=KEYS)
    db.commit()


def rows(db: sa.Connection, chain: str, *, fresh: bool = True) -> list[Any]:
    """The chain's sealed entries, read through the table's own column types (`fresh`: in
    a new transaction, to see the latest commits)."""
    if fresh:
        db.rollback()
    t = AuditEntry.__table__
    return list(
        db.execute(sa.select(t).where(t.c.chain_key == chain, t.c.seq.is_not(None)).order_by(t.c.seq))
    )


def run_worker(settings: Settings) -> worker.PassResult:
    return asyncio.run(worker.run(settings, once=True))


@contextmanager
def as_owner_without_triggers(db: sa.Connection, backend: str) -> Iterator[None]:
    """What the database owner can do: switch every guard trigger off (PostgreSQL), or drop
    them (SQLite), and put them back afterwards."""
    db.rollback()
    saved: list[str] = []
    if backend == "postgresql":
        for table in GUARDED:
            db.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        found = db.execute(
            sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN :t"
            ).bindparams(sa.bindparam("t", expanding=True)),
            {"t": list(GUARDED)},
        ).all()
        for name, sql in found:
            saved.append(sql)
            db.execute(sa.text(f"DROP TRIGGER {name}"))
    try:
        yield
        db.commit()
    finally:
        db.rollback()
        if backend == "postgresql":
            for table in GUARDED:
                db.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        else:
            for sql in saved:
                db.execute(sa.text(sql))
        db.commit()


def rewrite_without(db: sa.Connection, chain: str, doomed: int, *, clear_macs: bool = False) -> None:
    """Delete entry `doomed`, renumber the rest and re-hash them with the service's own
    functions, then move the head to the new end: the probe's rewrite."""
    entries = rows(db, chain, fresh=False)  # inside the owner's transaction
    prev = entries[doomed - 2].hash if doomed > 1 else "0" * 64
    db.execute(
        sa.text("DELETE FROM audit_entry WHERE chain_key = :c AND seq = :s"), {"c": chain, "s": doomed}
    )
    for row in entries[doomed:]:
        values = {**row._mapping, "seq": row.seq - 1}
        new_hash = entry_hash(prev, chain_content(values))
        db.execute(
            sa.text(
                "UPDATE audit_entry SET seq = :s, prev_hash = :p, hash = :h"
                + (", mac = NULL, key_id = NULL" if clear_macs else "")
                + " WHERE id = :id"
            ),
            {"s": row.seq - 1, "p": prev, "h": new_hash, "id": row.id},
        )
        prev = new_hash
    db.execute(
        sa.text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE chain_key = :c"),
        {"s": len(entries) - 1, "h": prev, "c": chain},
    )


# ---- the probe's attacks -------------------------------------------------------------------------


@pytest.mark.parametrize("clear_macs", [False, True], ids=["macs-kept", "macs-cleared"])
def test_a_chain_rewritten_with_the_services_own_hash_functions_is_broken(api, db, backend, clear_macs):
    authority = authority_with_entries(api)
    sealed(db)
    assert verify(api, authority)["ok"] is True
    with as_owner_without_triggers(db, backend):
        rewrite_without(db, authority, 3, clear_macs=clear_macs)
    entries = rows(db, authority)
    assert [r.seq for r in entries] == list(range(1, len(entries) + 1))  # a tidy, re-hashed chain
    result = verify(api, authority)
    assert result["ok"] is False
    assert result["first_broken"]["seq"] == 3  # the first renumbered entry: its seal does not match
    assert "MAC" in result["first_broken"]["reason"]


def test_a_rewritten_head_alone_is_broken(api, db, backend):
    """Dropping the last entries and pointing the head at the new end, without the key."""
    authority = authority_with_entries(api)
    sealed(db)
    entries = rows(db, authority)
    with as_owner_without_triggers(db, backend):
        db.execute(sa.text("DELETE FROM audit_entry WHERE chain_key = :c AND seq >= 6"), {"c": authority})
        db.execute(
            sa.text("UPDATE audit_chain_head SET last_seq = 5, last_hash = :h WHERE chain_key = :c"),
            {"h": entries[4].hash, "c": authority},
        )
    result = verify(api, authority)
    assert result["ok"] is False
    assert "chain head" in result["first_broken"]["reason"]


@pytest.mark.parametrize("with_checkpoint", [False, True], ids=["no-checkpoint", "checkpoint-emptied-too"])
def test_an_emptied_chain_is_broken_and_stays_broken(api, db, backend, settings, with_checkpoint):
    authority = authority_with_entries(api)
    if with_checkpoint:
        assert run_worker(settings).checkpointed >= 1
    sealed(db)
    with as_owner_without_triggers(db, backend):
        if backend == "postgresql":
            db.execute(sa.text("TRUNCATE audit_entry, audit_chain_head, audit_checkpoint"))
        else:
            for table in GUARDED:
                db.execute(sa.text(f"DELETE FROM {table}"))
    result = verify(api, authority)
    assert result["ok"] is False
    assert result["first_broken"] == {
        "seq": 1,
        "reason": "the chain is empty: its entries and its head were removed",
    }
    # The service carries on, but does not start the chain again over the gap.
    create_child(api, authority)
    run_worker(settings)
    result = verify(api, authority)
    assert result["ok"] is False
    assert result["first_broken"]["reason"] == "the chain head is missing"


def test_the_database_refuses_truncate_and_backward_heads_and_checkpoints(api, db, backend, settings):
    authority = authority_with_entries(api, children=1)
    run_worker(settings)  # sealed, with a checkpoint
    db.rollback()
    refused = [
        ("DELETE FROM audit_chain_head", "moves forward only"),
        ("DELETE FROM audit_checkpoint", "moves forward only"),
        ("UPDATE audit_chain_head SET last_seq = last_seq - 1", "moves forward only"),
        ("UPDATE audit_chain_head SET signed_from = 2, last_seq = last_seq + 1", "moves forward only"),
        ("UPDATE audit_checkpoint SET seq = seq - 1", "moves forward only"),
        ("DELETE FROM audit_entry", "append-only"),
    ]
    if backend == "postgresql":
        refused += [(f"TRUNCATE {table}", "TRUNCATE refused") for table in GUARDED]
        refused.append(("TRUNCATE audit_entry, audit_chain_head, audit_checkpoint", "TRUNCATE refused"))
    for sql, message in refused:
        with pytest.raises(sa.exc.DBAPIError) as error:
            db.execute(sa.text(sql))
        assert message in str(error.value), sql
        db.rollback()
    assert verify(api, authority)["ok"] is True


# ---- checkpoints: incremental verification, export, rollback --------------------------------------


def test_verification_starts_from_the_workers_checkpoint(api, db, settings):
    authority = authority_with_entries(api)
    result = run_worker(settings)
    assert result.checkpointed >= 1
    length = len(rows(db, authority))
    assert verify(api, authority) == {
        "ok": True,
        "checked": 0,
        "chain_length": length,
        "verified_from": length,
        "first_broken": None,
    }
    create_child(api, authority)  # one more entry after the checkpoint
    after = verify(api, authority)
    assert (after["ok"], after["checked"], after["verified_from"], after["chain_length"]) == (
        True,
        1,
        length,
        length + 1,
    )
    run_worker(settings)
    assert verify(api, authority)["verified_from"] == length + 1


def test_verification_runs_off_the_event_loop(api, monkeypatch):
    authority = authority_with_entries(api, children=1)
    threads: list[bool] = []
    original = audit_verify._walk_batch

    def walk_batch(*args: Any) -> None:
        try:
            asyncio.get_running_loop()
            threads.append(False)  # on the event loop
        except RuntimeError:
            threads.append(True)  # in a worker thread
        original(*args)

    monkeypatch.setattr(audit_verify, "_walk_batch", walk_batch)
    assert verify(api, authority)["ok"] is True
    assert threads and all(threads)


def test_a_rewrite_before_the_checkpoint_is_found_from_the_checkpoint(api, db, backend, settings):
    authority = authority_with_entries(api)
    run_worker(settings)
    with as_owner_without_triggers(db, backend):
        rewrite_without(db, authority, 2)
    result = verify(api, authority)
    assert result["ok"] is False
    assert "stored checkpoint" in result["first_broken"]["reason"]


def test_a_changed_entry_before_the_checkpoint_needs_the_full_check(
    api, db, backend, settings, tmp_path, monkeypatch
):
    """From the checkpoint on, only newer entries are re-hashed; `dissent audit verify --full`
    re-hashes them all and finds an entry changed in place."""
    from typer.testing import CliRunner

    from app.cli import app as cli

    authority = authority_with_entries(api)
    run_worker(settings)
    with as_owner_without_triggers(db, backend):
        db.execute(
            sa.text("UPDATE audit_entry SET actor_sub = 'mallory' WHERE chain_key = :c AND seq = 2"),
            {"c": authority},
        )
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "ENVIRONMENT": "test",
        "AUTH_JWT_SECRET": settings.auth_jwt_secret or "",
    }.items():
        monkeypatch.setenv(name, value)
    from app.config import get_settings

    get_settings.cache_clear()
    try:
        quick = CliRunner().invoke(cli, ["audit", "verify", "--authority", authority])
        full = CliRunner().invoke(cli, ["audit", "verify", "--authority", authority, "--full"])
    finally:
        get_settings.cache_clear()
    assert quick.exit_code == 0, quick.output
    assert full.exit_code == 1, full.output
    report = json.loads(full.output.strip().splitlines()[-1])
    assert report["first_broken"] == {"seq": 2, "reason": "content does not match its hash"}


def test_exported_checkpoint_shows_a_rollback_the_database_cannot(api, db, backend):
    """Deleting the newest entries and putting back the head and checkpoint as they were
    earlier (values the owner could have copied) leaves a chain that checks out inside the
    database; a checkpoint kept outside shows what is gone."""
    authority = authority_with_entries(api, children=1)
    sealed(db)
    db.rollback()
    old_head = db.execute(
        sa.text("SELECT * FROM audit_chain_head WHERE chain_key = :c"), {"c": authority}
    ).one()
    create_child(api, authority)
    create_child(api, authority)
    exported = expect(admin(api, authority).get("/v1/audit/checkpoint"), 200)
    assert exported["chain"] == authority and exported["key_id"] == "dev"
    assert verify(api, authority, exported)["ok"] is True
    sealed(db)
    with as_owner_without_triggers(db, backend):
        db.execute(
            sa.text("DELETE FROM audit_entry WHERE chain_key = :c AND seq > :s"),
            {"c": authority, "s": old_head.last_seq},
        )
        db.execute(sa.text("DELETE FROM audit_chain_head WHERE chain_key = :c"), {"c": authority})
        db.execute(sa.text("DELETE FROM audit_checkpoint WHERE chain_key = :c"), {"c": authority})
        db.execute(
            sa.text(
                "INSERT INTO audit_chain_head (chain_key, last_seq, last_hash, signed_from, key_id, mac) "
                "VALUES (:chain_key, :last_seq, :last_hash, :signed_from, :key_id, :mac)"
            ),
            dict(old_head._mapping),
        )
    assert verify(api, authority)["ok"] is True  # consistent inside the database
    result = verify(api, authority, exported)
    assert result["ok"] is False
    assert result["first_broken"]["seq"] == exported["seq"]
    assert "missing" in result["first_broken"]["reason"]


def test_verify_against_a_kept_checkpoint(api):
    authority = authority_with_entries(api, children=1)
    exported = expect(admin(api, authority).get("/v1/audit/checkpoint"), 200)
    assert verify(api, authority, exported)["ok"] is True
    other = verify(api, authority, {**exported, "hash": "f" * 64})
    assert other["ok"] is False
    assert other["first_broken"] == {
        "seq": exported["seq"],
        "reason": "the entry no longer matches the exported checkpoint",
    }
    beyond = verify(api, authority, {**exported, "seq": exported["seq"] + 50})
    assert beyond["ok"] is False and "missing" in beyond["first_broken"]["reason"]
    caller = admin(api, authority)
    expect(caller.get(f"/v1/audit/verify?checkpoint_seq={exported['seq']}"), 422, "validation_error")
    expect(caller.get("/v1/audit/verify?checkpoint_seq=1&checkpoint_hash=xyz"), 422, "validation_error")
    for role in ("record_system", "reviewer", "reporting"):
        expect(api.as_("x", role, authority=authority).get("/v1/audit/checkpoint"), 403, "forbidden")


def test_no_checkpoint_is_exported_for_a_broken_chain(api, db, backend):
    authority = authority_with_entries(api)
    sealed(db)
    with as_owner_without_triggers(db, backend):
        rewrite_without(db, authority, 2)
    expect(admin(api, authority).get("/v1/audit/checkpoint"), 409, "audit_chain_broken")


def test_cli_exports_checkpoints_and_verifies_against_them(api, db, settings, tmp_path, monkeypatch, backend):
    from typer.testing import CliRunner

    from app.cli import app as cli
    from app.config import get_settings

    first = authority_with_entries(api, children=1)
    second = authority_with_entries(api, children=1)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    target = tmp_path / "checkpoints.json"
    try:
        made = CliRunner().invoke(cli, ["audit", "checkpoint", "--output", str(target)])
        assert made.exit_code == 0, made.output
        saved = json.loads(target.read_text())
        assert {c["chain"] for c in saved} >= {first, second}
        assert all({"seq", "hash", "at", "key_id", "mac"} <= set(c) for c in saved)
        ok = CliRunner().invoke(cli, ["audit", "verify", "--checkpoint", str(target)])
        assert ok.exit_code == 0, ok.output
        with as_owner_without_triggers(db, backend):
            rewrite_without(db, first, 1)
        broken = CliRunner().invoke(cli, ["audit", "verify", "--checkpoint", str(target)])
        assert broken.exit_code == 1
        by_chain = {r["chain"]: r for r in map(json.loads, broken.output.strip().splitlines())}
        assert by_chain[first]["ok"] is False and by_chain[second]["ok"] is True
        bad = Path(tmp_path / "bad.json")
        bad.write_text(json.dumps([{**saved[0], "mac": "0" * 64}]))
        refused = CliRunner().invoke(cli, ["audit", "verify", "--checkpoint", str(bad)])
        assert refused.exit_code == 2
    finally:
        get_settings.cache_clear()


def test_an_older_head_put_back_is_broken(api, db, backend):
    """A head copied earlier (a valid seal) put back over the current one: the entries after
    it are still there, past the head."""
    authority = authority_with_entries(api, children=1)
    sealed(db)
    db.rollback()
    old_head = db.execute(
        sa.text("SELECT * FROM audit_chain_head WHERE chain_key = :c"), {"c": authority}
    ).one()
    create_child(api, authority)
    sealed(db)
    with as_owner_without_triggers(db, backend):
        db.execute(sa.text("DELETE FROM audit_chain_head WHERE chain_key = :c"), {"c": authority})
        db.execute(
            sa.text(
                "INSERT INTO audit_chain_head (chain_key, last_seq, last_hash, signed_from, key_id, mac) "
                "VALUES (:chain_key, :last_seq, :last_hash, :signed_from, :key_id, :mac)"
            ),
            dict(old_head._mapping),
        )
    result = verify(api, authority)
    assert result["ok"] is False
    assert result["first_broken"] == {
        "seq": old_head.last_seq + 1,
        "reason": "the chain runs past its sealed head",
    }
