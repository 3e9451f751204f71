"""The audit log (SPEC §8): every write and every read of personal data recorded with actor,
roles, authority, action, entity, request id and time; entries hash-chained per authority;
UPDATE and DELETE refused by the database; `GET /v1/audit` (admin) with filters and cursor
paging; `GET /v1/audit/verify` finds a changed, re-hashed or deleted entry."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from app import worker
from app.config import Settings
from app.db import sync_url
from app.models.platform import AuditChainHead, AuditEntry, Event
from app.services.audit import seal_with
from tests.support import Api, Caller, as_utc, create_authority, create_child, expect, fetch, make_meeting

ENGLAND = "england-cp-conference"
GENESIS = "0" * 64
SQLITE_TRIGGER_NAMES = ("audit_entry_no_update", "audit_entry_no_delete")
KEYS = Settings(environment="test").audit_keys  # what the test app seals with


# ---- helpers ------------------------------------------------------------------------------------


def chain(db: sa.Connection, key: str) -> list[Any]:
    """The authority's chain, after sealing what the requests so far have written."""
    db.rollback()
    seal_with(db, key, keys=KEYS)
    db.commit()
    t = AuditEntry.__table__
    return fetch(db, sa.select(t).where(t.c.chain_key == key).order_by(t.c.seq))


def unsealed(db: sa.Connection, key: str) -> list[Any]:
    t = AuditEntry.__table__
    return fetch(db, sa.select(t).where(t.c.chain_key == key, t.c.seq.is_(None)).order_by(t.c.id))


def head(db: sa.Connection, key: str) -> Any:
    t = AuditChainHead.__table__
    return fetch(db, sa.select(t).where(t.c.chain_key == key))[0]


def entries(db: sa.Connection, key: str, action: str) -> list[Any]:
    return [e for e in chain(db, key) if e.action == action]


def event_count(db: sa.Connection) -> int:
    return int(fetch(db, sa.select(sa.func.count()).select_from(Event.__table__))[0][0])


def admin_of(api: Api, authority: str) -> Caller:
    return api.as_("admin-1", "admin", authority=authority)


def record_of(api: Api, authority: str) -> Caller:
    return api.as_("record-system", "record_system", authority=authority)


def recomputed_hash(prev_hash: str, row: Any) -> str:
    """The chain's hash, computed here from the stored columns: SHA-256 over the previous
    hash, a newline and the entry's canonical JSON."""
    content = {
        "chain": row.chain_key,
        "seq": row.seq,
        "authority": row.authority_code,
        "actor": row.actor_sub,
        "roles": row.actor_roles,
        "action": row.action,
        "entity_kind": row.entity_kind,
        "entity_id": row.entity_id,
        "request_id": row.request_id,
        "occurred_at": as_utc(row.occurred_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "detail": row.detail,
    }
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev_hash.encode() + b"\n" + body.encode()).hexdigest()


def busy_authority(api: Api, *, children: int = 3) -> tuple[str, list[str]]:
    authority = create_authority(api, ENGLAND)
    child_ids = [create_child(api, authority) for _ in range(children)]
    for child_id in child_ids:
        expect(record_of(api, authority).get(f"/v1/children/{child_id}"), 200)
    return authority, child_ids


@contextmanager
def triggers_off(db: sa.Connection, backend: str) -> Iterator[None]:
    """What an attacker with database access would do: switch the append-only guard off."""
    db.rollback()
    saved: list[str] = []
    if backend == "postgresql":
        db.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
    else:
        for name in SQLITE_TRIGGER_NAMES:
            sql = db.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"), {"n": name}
            )
            saved.append(sql.scalar_one())
            db.execute(sa.text(f"DROP TRIGGER {name}"))
    try:
        yield
    finally:
        if backend == "postgresql":
            db.execute(sa.text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only"))
        else:
            for sql in saved:
                db.execute(sa.text(sql))
        db.commit()


def tamper(db: sa.Connection, backend: str, sql: str, **params: Any) -> None:
    db.rollback()
    seal_with(db, keys=KEYS)  # tampering targets entries already on the chain
    db.commit()
    with triggers_off(db, backend):
        result = db.execute(sa.text(sql), params)
        assert result.rowcount == 1


def verify(api: Api, authority: str) -> dict[str, Any]:
    return expect(admin_of(api, authority).get("/v1/audit/verify"), 200)


def intact(length: int, *, checked: int | None = None, verified_from: int = 0) -> dict[str, Any]:
    return {
        "ok": True,
        "checked": length - verified_from if checked is None else checked,
        "chain_length": length,
        "verified_from": verified_from,
        "first_broken": None,
    }


def all_audit(caller: Caller, query: str = "", *, reads: bool = False) -> list[dict[str, Any]]:
    """Every entry the filter finds, newest first; without the log's own `audit.list` reads
    (each page read adds one) unless `reads`."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        url = f"/v1/audit?limit=200{query}" + (f"&cursor={cursor}" if cursor else "")
        page = expect(caller.get(url), 200)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return [i for i in items if reads or i["action"] != "audit.list"]


# ---- the chain -----------------------------------------------------------------------------------


def test_entries_are_hash_chained_per_authority(api, db):
    first, _ = busy_authority(api)
    second, _ = busy_authority(api, children=1)
    for key in (first, second):
        rows = chain(db, key)
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
        prev = GENESIS
        for row in rows:
            assert row.prev_hash == prev
            assert row.hash == recomputed_hash(prev, row)
            assert row.authority_code == key
            prev = row.hash
        top = head(db, key)
        assert (top.last_seq, top.last_hash) == (rows[-1].seq, rows[-1].hash)
    assert len(chain(db, first)) == 7  # authority, 3 children created, 3 read
    assert len(chain(db, second)) == 3


def test_concurrent_writers_keep_one_unbroken_chain(api, db):
    authority = create_authority(api, ENGLAND)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(n):
                create_child(api, authority)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(4,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    rows = chain(db, authority)
    assert [r.seq for r in rows] == list(range(1, 22))  # authority + 20 children
    assert len(entries(db, authority, "child.created")) == 20
    prev = GENESIS
    for row in rows:
        assert (row.prev_hash, row.hash) == (prev, recomputed_hash(prev, row))
        prev = row.hash
    assert verify(api, authority) == intact(21)
    seqs = [e.seq for e in fetch(db, sa.select(Event.__table__).order_by(Event.__table__.c.seq))]
    assert seqs == list(range(1, 22))  # the event feed stays gap-free too


def test_update_and_delete_are_refused_by_the_database(db, api):
    authority, _ = busy_authority(api, children=1)
    before = [(r.seq, r.actor_sub, r.hash) for r in chain(db, authority)]
    statements = [
        "UPDATE audit_entry SET actor_sub = 'mallory' WHERE chain_key = :key AND seq = 2",
        "UPDATE audit_entry SET hash = prev_hash WHERE chain_key = :key",
        "DELETE FROM audit_entry WHERE chain_key = :key AND seq = 3",
        "DELETE FROM audit_entry",
    ]
    for sql in statements:
        db.rollback()
        with pytest.raises(sa.exc.DBAPIError) as refused:
            db.execute(sa.text(sql), {"key": authority})
        assert "append-only" in str(refused.value)
        db.rollback()
    assert [(r.seq, r.actor_sub, r.hash) for r in chain(db, authority)] == before
    # Appending is still allowed, through the service.
    create_child(api, authority)
    assert len(chain(db, authority)) == len(before) + 1


# ---- what is recorded -----------------------------------------------------------------------------


def test_a_write_is_recorded_with_actor_roles_request_id_and_time(api, db):
    api.set_clock("2025-12-18T09:15:00Z")
    authority = create_authority(api, ENGLAND)
    r = api.as_("record-system", "record_system", "admin", authority=authority).post(
        "/v1/children",
        json={
            "external_ref": "REF-1",
            "given_name": "Riley",
            "family_name": "Example",
            "date_of_birth": "2019-05-14",
        },
        headers={"X-Request-ID": "req-abc-123"},
    )
    child = expect(r, 201)
    (entry,) = entries(db, authority, "child.created")
    assert entry.actor_sub == "record-system"
    assert entry.actor_roles == ["admin", "record_system"]
    assert entry.authority_code == authority
    assert (entry.entity_kind, entry.entity_id) == ("child", child["id"])
    assert entry.request_id == "req-abc-123" == r.headers["X-Request-ID"]
    assert as_utc(entry.occurred_at) == datetime(2025, 12, 18, 9, 15, tzinfo=UTC)


def test_reads_of_personal_data_are_recorded(api, db):
    api.set_clock("2025-12-18T10:00:00Z")
    m = make_meeting(api, ENGLAND, scheduled_start="2025-12-18T10:00:00Z")
    m.start()
    dissent = m.raise_dissent()
    child_id = m.child_ids[0]
    before, events = len(chain(db, m.authority)), event_count(db)
    r = m.record.get(f"/v1/children/{child_id}", headers={"X-Request-ID": "read-1"})
    expect(r, 200)
    expect(m.chair.get(f"/v1/children/{child_id}/record"), 200)
    expect(m.reviewer.get(f"/v1/dissents/{dissent['id']}"), 200)
    expect(m.record.get("/v1/children"), 200)
    added = chain(db, m.authority)[before:]
    assert [(e.action, e.actor_sub, e.entity_id) for e in added] == [
        ("child.read", "record-system", child_id),
        ("child.record_read", "chair-1", child_id),
        ("dissent.read", "reviewer-1", dissent["id"]),
        ("child.list", "record-system", None),
    ]
    assert added[0].request_id == "read-1"
    assert added[0].actor_roles == ["record_system"]
    assert event_count(db) == events  # a read is not a change: no events


def test_a_read_that_is_refused_or_not_found_records_no_read(api, db):
    authority, (child_id,) = busy_authority(api, children=1)
    other = create_authority(api, ENGLAND)
    before_mine, before_theirs = len(chain(db, authority)), len(chain(db, other))
    expect(record_of(api, other).get(f"/v1/children/{child_id}"), 404, "not_found")
    expect(record_of(api, authority).get(f"/v1/children/{uuid.uuid4()}"), 404, "not_found")
    assert len(chain(db, authority)) == before_mine
    assert len(chain(db, other)) == before_theirs


def test_a_refused_write_leaves_no_audit_entry_or_event(api, db):
    api.set_clock("2025-12-18T10:00:00Z")
    m = make_meeting(api, ENGLAND, scheduled_start="2025-12-18T10:00:00Z")
    before, events = len(chain(db, m.authority)), event_count(db)
    expect(m.chair.post(f"{m.url}/end"), 409)
    expect(m.professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"}), 409)
    assert len(chain(db, m.authority)) == before
    assert event_count(db) == events


# ---- reading the log ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["record_system", "chair", "professional", "reviewer", "reporting"])
def test_audit_log_is_for_admins_only(api, role):
    authority = create_authority(api, ENGLAND)
    caller = api.as_("someone", role, authority=authority)
    expect(caller.get("/v1/audit"), 403, "forbidden")
    expect(caller.get("/v1/audit/verify"), 403, "forbidden")


def test_audit_log_needs_a_token_and_an_authority(api):
    create_authority(api, ENGLAND)
    expect(api.anonymous().get("/v1/audit"), 401)
    expect(api.anonymous().get("/v1/audit/verify"), 401)
    expect(api.system_admin().get("/v1/audit"), 403, "forbidden")


def test_audit_log_pages_newest_first(api, db):
    authority, _ = busy_authority(api, children=4)
    admin = admin_of(api, authority)
    rows = chain(db, authority)
    seen: list[int] = []
    page = expect(admin.get("/v1/audit?limit=4"), 200)
    pages = 1
    seen.extend(i["seq"] for i in page["items"])
    while page["next_cursor"]:
        page = expect(admin.get(f"/v1/audit?limit=4&cursor={page['next_cursor']}"), 200)
        seen.extend(i["seq"] for i in page["items"])
        pages += 1
    assert seen == [r.seq for r in reversed(rows)]
    assert pages == 3  # 9 entries in pages of 4
    newest = all_audit(admin)[0]
    top = rows[-1]
    assert newest == {
        "seq": top.seq,
        "actor": top.actor_sub,
        "actor_roles": top.actor_roles,
        "action": top.action,
        "entity_kind": top.entity_kind,
        "entity_id": top.entity_id,
        "request_id": top.request_id,
        "occurred_at": newest["occurred_at"],
        "detail": top.detail,
        "hash": top.hash,
    }
    assert as_utc(newest["occurred_at"]) == as_utc(top.occurred_at)
    expect(admin.get("/v1/audit?limit=0"), 422, "validation_error")
    expect(admin.get("/v1/audit?limit=201"), 422, "validation_error")
    expect(admin.get("/v1/audit?cursor=not-a-cursor"), 422)


def test_audit_log_filters_by_entity_actor_and_time(api, db):
    api.set_clock("2025-12-18T09:00:00Z")
    authority = create_authority(api, ENGLAND)
    record = record_of(api, authority)
    first = create_child(api, authority)
    api.set_clock("2025-12-18T10:00:00Z")
    second = create_child(api, authority)
    expect(admin_of(api, authority).get(f"/v1/children/{first}"), 200)
    api.set_clock("2025-12-18T11:00:00Z")
    expect(record.get(f"/v1/children/{first}"), 200)
    admin = admin_of(api, authority)

    by_entity = all_audit(admin, f"&entity_id={first}")
    assert [(i["action"], i["actor"]) for i in by_entity] == [
        ("child.read", "record-system"),
        ("child.read", "admin-1"),
        ("child.created", "record-system"),
    ]
    assert all_audit(admin, f"&entity_id={uuid.uuid4()}") == []
    by_actor = all_audit(admin, "&actor=admin-1")
    assert [(i["action"], i["entity_id"]) for i in by_actor] == [("child.read", first)]
    by_kind = all_audit(admin, "&entity_kind=authority")
    assert [i["action"] for i in by_kind] == ["authority.created"]

    # from is inclusive, to exclusive.
    window = all_audit(admin, "&from=2025-12-18T10:00:00Z&to=2025-12-18T11:00:00Z")
    assert [(i["action"], i["entity_id"]) for i in window] == [
        ("child.read", first),
        ("child.created", second),
    ]
    since = all_audit(admin, "&from=2025-12-18T10:30:00Z")
    assert [(i["action"], i["actor"]) for i in since] == [("child.read", "record-system")]
    until = all_audit(admin, "&to=2025-12-18T10:00:00Z")
    assert [i["action"] for i in until] == ["child.created", "authority.created"]
    combined = all_audit(admin, f"&entity_id={first}&actor=record-system&from=2025-12-18T10:00:00Z")
    assert [(i["action"], i["occurred_at"]) for i in combined] == [("child.read", "2025-12-18T11:00:00Z")]
    expect(admin.get("/v1/audit?from=yesterday"), 422, "validation_error")


@pytest.mark.parametrize("param", ["from", "to"])
def test_audit_time_filter_without_a_zone_is_not_a_server_error(api, param):
    """SPEC §6: never a 500 for bad input. A time without an offset is either read as UTC or
    refused as a validation error."""
    api.set_clock("2025-12-18T09:00:00Z")
    authority = create_authority(api, ENGLAND)
    r = admin_of(api, authority).get(f"/v1/audit?{param}=2025-12-18T10:00:00")
    assert r.status_code in (200, 422), f"{r.status_code}: {r.text}"
    if r.status_code == 422:
        expect(r, 422, "validation_error")
    else:
        wanted = ["authority.created"] if param == "to" else []
        assert [i["action"] for i in r.json()["items"]] == wanted


def test_audit_log_shows_only_the_callers_authority(api, db):
    mine, my_children = busy_authority(api, children=1)
    theirs, their_children = busy_authority(api, children=1)
    listed = all_audit(admin_of(api, mine))
    assert [i["seq"] for i in listed] == [
        r.seq for r in reversed(chain(db, mine)) if r.action != "audit.list"
    ]
    assert my_children[0] in {i["entity_id"] for i in listed}
    assert their_children[0] not in {i["entity_id"] for i in listed}
    assert all_audit(admin_of(api, mine), f"&entity_id={their_children[0]}") == []
    assert len(all_audit(admin_of(api, theirs), f"&entity_id={their_children[0]}")) == 2


# ---- verification ---------------------------------------------------------------------------------


def test_verify_reports_an_intact_chain(api, db):
    authority, _ = busy_authority(api)
    length = len(chain(db, authority))
    assert verify(api, authority) == intact(length)
    # Verifying is not a write: it adds nothing to the chain.
    assert len(chain(db, authority)) == length


def test_verify_finds_a_changed_entry(api, db, backend):
    authority, _ = busy_authority(api)
    original = chain(db, authority)[3]
    assert original.seq == 4
    sql = "UPDATE audit_entry SET actor_sub = :actor WHERE chain_key = :key AND seq = 4"
    tamper(db, backend, sql, actor="mallory", key=authority)
    result = verify(api, authority)
    assert result["ok"] is False
    assert result["first_broken"]["seq"] == 4
    assert "hash" in result["first_broken"]["reason"]
    assert result["checked"] == 3
    # Put back exactly as it was, the chain is whole again: verification reads the content.
    tamper(db, backend, sql, actor=original.actor_sub, key=authority)
    assert verify(api, authority)["ok"] is True


def test_verify_finds_an_entry_rewritten_with_a_fresh_hash(api, db, backend):
    authority, _ = busy_authority(api)
    rows = chain(db, authority)
    target = rows[2]
    forged = SimpleNamespace(**{**target._mapping, "action": "child.deleted"})
    tamper(
        db,
        backend,
        "UPDATE audit_entry SET action = :action, hash = :hash WHERE chain_key = :key AND seq = :seq",
        action="child.deleted",
        hash=recomputed_hash(target.prev_hash, forged),
        key=authority,
        seq=target.seq,
    )
    result = verify(api, authority)
    assert result["ok"] is False
    # The fresh hash links on, but the entry's seal (MAC) was made over the old one.
    assert result["first_broken"]["seq"] == target.seq
    assert "MAC" in result["first_broken"]["reason"]
    assert result["checked"] == target.seq - 1


def test_verify_finds_a_deleted_entry(api, db, backend):
    authority, _ = busy_authority(api)
    tamper(db, backend, "DELETE FROM audit_entry WHERE chain_key = :key AND seq = 5", key=authority)
    result = verify(api, authority)
    assert result["ok"] is False
    assert result["first_broken"]["seq"] == 5
    assert "missing" in result["first_broken"]["reason"]
    assert result["checked"] == 4


def test_verify_finds_the_last_entry_deleted(api, db, backend):
    authority, _ = busy_authority(api)
    last = len(chain(db, authority))
    tamper(
        db, backend, "DELETE FROM audit_entry WHERE chain_key = :key AND seq = :seq", key=authority, seq=last
    )
    result = verify(api, authority)
    assert result["ok"] is False
    assert result["first_broken"]["seq"] == last
    assert result["chain_length"] == last
    assert result["checked"] == last - 1


def test_tampering_in_another_authority_does_not_affect_this_one(api, db, backend):
    mine, _ = busy_authority(api)
    theirs, _ = busy_authority(api)
    sql = "UPDATE audit_entry SET entity_id = :entity WHERE chain_key = :key AND seq = 2"
    tamper(db, backend, sql, entity=str(uuid.uuid4()), key=theirs)
    assert verify(api, theirs)["ok"] is False
    assert verify(api, theirs)["first_broken"]["seq"] == 2
    mine_result = verify(api, mine)
    assert mine_result["ok"] is True and mine_result["first_broken"] is None
    # The intact chain keeps growing and stays intact.
    create_child(api, mine)
    assert verify(api, mine)["ok"] is True
    assert verify(api, mine)["chain_length"] == len(chain(db, mine))


# ---- sealing: entries join the chain after their request commits ---------------------------------


def test_a_request_writes_its_entry_unsealed_and_readers_see_it_sealed(api, db):
    authority, _ = busy_authority(api, children=1)
    pending = unsealed(db, authority)
    assert [e.action for e in pending] == ["authority.created", "child.created", "child.read"]
    assert all(e.prev_hash is None and e.hash is None for e in pending)
    # The audit endpoints seal before they read: the log is complete and the chain verifies.
    listed = all_audit(admin_of(api, authority))
    assert sorted(i["seq"] for i in listed) == [1, 2, 3]
    assert verify(api, authority) == intact(4)  # and the listing's own read, sealed


def test_the_worker_seals_every_chain(api, db, settings):
    first, _ = busy_authority(api, children=1)
    second, _ = busy_authority(api, children=2)
    assert unsealed(db, first) and unsealed(db, second)
    result = asyncio.run(worker.run(settings, once=True))
    assert result.sealed >= 3 + 5
    assert unsealed(db, first) == [] and unsealed(db, second) == []
    assert [r.seq for r in chain(db, second)] == [1, 2, 3, 4, 5]


def test_the_database_allows_one_seal_with_the_content_unchanged(db, api, backend):
    authority, _ = busy_authority(api, children=1)
    entry = unsealed(db, authority)[0]
    seal = "UPDATE audit_entry SET seq = 99, prev_hash = :h, hash = :h, mac = :h, key_id = 'k'"
    refused = [
        f"{seal}, actor_sub = 'mallory' WHERE id = :id",  # sealing may not change the content
        "UPDATE audit_entry SET seq = 99 WHERE id = :id",  # a seal sets all five
        "UPDATE audit_entry SET seq = 99, prev_hash = :h, hash = :h WHERE id = :id",  # with its MAC
        "DELETE FROM audit_entry WHERE id = :id",
    ]
    for sql in refused:
        db.rollback()
        with pytest.raises(sa.exc.DBAPIError) as error:
            db.execute(sa.text(sql), {"id": entry.id, "h": GENESIS})
        assert "append-only" in str(error.value)
        db.rollback()
    db.execute(sa.text(f"{seal} WHERE id = :id"), {"id": entry.id, "h": GENESIS})  # the sealer's update
    db.commit()
    with pytest.raises(sa.exc.DBAPIError):  # and only once
        db.execute(sa.text("UPDATE audit_entry SET seq = 100 WHERE id = :id"), {"id": entry.id})
    db.rollback()


def test_sealers_running_at_once_build_one_unbroken_chain(api, db, database_url):
    authority, _ = busy_authority(api, children=6)
    engine = sa.create_engine(sync_url(database_url))
    barrier = threading.Barrier(4)
    counts: list[int] = []

    def sealer() -> None:
        with engine.connect() as conn:
            barrier.wait()
            counts.append(seal_with(conn, authority, keys=KEYS))
            conn.commit()

    threads = [threading.Thread(target=sealer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert sorted(counts) == [0, 0, 0, 13]  # one sealer took them all; the others found none
    assert verify(api, authority)["ok"] is True
    assert [r.seq for r in chain(db, authority)] == list(range(1, 14))
