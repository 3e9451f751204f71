"""The worker (SPEC §7, §11): webhook delivery that survives a crash (`dissent worker` killed
mid-batch and restarted), several workers at once, and the deadline sweep — `approaching`
from the start of the working day before the due date, `missed` after it, lapse of the
dissenter's written step — each exactly once however often, and however concurrently, it runs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from app import worker
from app.config import Settings
from app.db import Database
from app.models.dissent import Deadline, Dissent
from app.models.platform import AuditEntry
from tests.api.test_events_webhooks import (
    SECRET,
    Receiver,
    admin_of,
    deliver_once,
    deliver_until,
    delivery_rows,
    event_rows,
    full_feed,
    last_seq,
    make_events,
    signed_with,
    subscribe,
    subscription_row,
    sweep_once,
)
from tests.support import Api, Meeting, as_utc, create_authority, dissent_letter, expect, fetch, make_meeting

ROOT = Path(__file__).resolve().parents[2]
ENGLAND = "england-cp-conference"
CARM = "scotland-cppm-carm"
REGISTRATION = "scotland-cppm-registration"


# ---- helpers ------------------------------------------------------------------------------------


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "WEBHOOK_", "DATABASE_"))}
    env.update(
        DATABASE_URL=settings.database_url,
        AUTH_JWT_SECRET=str(settings.auth_jwt_secret),
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        WEBHOOK_BACKOFF_BASE_SECONDS="0.05",
        WEBHOOK_BACKOFF_MAX_SECONDS="0.5",
        WORKER_INTERVAL_SECONDS="0.1",
        ENVIRONMENT="test",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def start_worker(settings: Settings, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    """`dissent worker` as its own process (python -m app.cli worker)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env=worker_env(settings, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def meeting_with_unresolved(
    api: Api, profile: str = ENGLAND, *, dissenters: int = 1
) -> tuple[Meeting, list[str]]:
    """A meeting on Thu 2025-12-18 that ended with unresolved registration dissents."""
    api.set_clock("2025-12-18T10:00:00Z")
    m = make_meeting(api, profile, scheduled_start="2025-12-18T10:00:00Z")
    m.start()
    callers = [m.professional, m.other_professional][:dissenters]
    ids = [
        str(expect(c.post(f"{m.url}/dissents", json={"subject": "registration", "reasons": "No"}), 201)["id"])
        for c in callers
    ]
    m.decide_all()
    m.confirm_all()
    m.end()
    return m, ids


def types_for(db: sa.Connection, authority: str, subject_id: str) -> list[str]:
    return [e.type for e in event_rows(db, authority) if e.subject_id == subject_id]


def deadline_row(db: sa.Connection, dissent_id: str, kind: str) -> Any:
    t = Deadline.__table__
    found = fetch(db, sa.select(t).where(t.c.subject_id == uuid.UUID(dissent_id), t.c.kind == kind))
    assert len(found) == 1
    return found[0]


def dissent_status(db: sa.Connection, dissent_id: str) -> str:
    t = Dissent.__table__
    return str(fetch(db, sa.select(t.c.status).where(t.c.id == uuid.UUID(dissent_id)))[0][0])


def sweep_types(db: sa.Connection, authority: str) -> list[str]:
    return [
        e.type
        for e in event_rows(db, authority)
        if e.type.startswith("deadline.") or e.type == "dissent.lapsed"
    ]


# ---- the CLI -------------------------------------------------------------------------------------


def test_cli_worker_once_sweeps_then_delivers(api, db, settings, tmp_path):
    m, (dissent,) = meeting_with_unresolved(api)
    with Receiver() as receiver:
        hook = subscribe(m.admin, receiver.url())
        first = subscription_row(db, hook["id"]).cursor_seq + 1
        api.set_clock("2025-12-30T09:00:00Z")  # the day after the written step was due
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "worker", "--once"],
            cwd=ROOT,
            env=worker_env(settings, TEST_CLOCK_ENABLED="true"),
            capture_output=True,
            timeout=180,  # the pass also renders the PDFs of the documents the flow issued
            check=False,
        )
        got = receiver.snapshot()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    total = last_seq(db, m.authority)
    # The pass also sealed every audit entry written so far onto its chain.
    assert result.pop("sealed") > 0
    assert result.pop("checkpointed") > 0  # the chains verified since the last pass
    result.pop("rendered")  # the PDFs of the documents the flow issued (tests/api/test_documents.py)
    db.rollback()
    assert db.execute(sa.text("SELECT count(*) FROM audit_entry WHERE seq IS NULL")).scalar_one() == 0
    assert result == {
        "approaching": 0,
        "missed": 1,
        "lapsed": 1,
        "delivered": total - first + 1,
        "failed": 0,
    }
    assert [r.seq for r in got] == list(range(first, total + 1))
    # (the pass then rendered the PDFs of the documents the flow issued: document.* events)
    swept = [r.json["type"] for r in got if not r.json["type"].startswith("document.")]
    assert swept[-2:] == ["deadline.missed", "dissent.lapsed"]
    assert all(signed_with(r, SECRET) for r in got)
    assert dissent_status(db, dissent) == "lapsed"
    assert subscription_row(db, hook["id"]).lease_owner is None


# ---- crash and restart ---------------------------------------------------------------------------


def test_worker_killed_mid_batch_resumes_in_order_without_loss(api, db, settings, tmp_path):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    proc = None
    with Receiver(delay=0.3) as receiver:
        hook = subscribe(admin, receiver.url())
        make_events(api, authority, 9)
        first, total = 2, last_seq(db, authority)
        assert total - first + 1 == 10
        try:
            proc = start_worker(settings, tmp_path / "worker.log")
            receiver.wait_for(3, timeout=60)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc is not None:
                stop(proc)
        assert proc.returncode == -signal.SIGKILL
        receiver.delay = 0.0
        before = receiver.snapshot()
        assert 3 <= len(before) < 10, "the worker should have died mid-batch"
        row = subscription_row(db, hook["id"])
        assert row.lease_owner is not None and as_utc(row.lease_expires_at) > datetime.now(UTC)
        assert row.cursor_seq in (before[-1].seq - 1, before[-1].seq)

        # While the dead worker's lease lasts, another worker leaves the subscription alone.
        assert deliver_once(settings).delivered == 0
        assert len(receiver.snapshot()) == len(before)
        # Once it has run out (the test clock moves past it) a new worker takes over.
        api.set_clock(iso(datetime.now(UTC) + timedelta(minutes=5)))
        deliver_until(settings, lambda: subscription_row(db, hook["id"]).cursor_seq == total)
        deliver_once(settings)
        got = receiver.snapshot()

    seqs = [r.seq for r in got]
    assert seqs == sorted(seqs), "out of order"
    assert set(seqs) == set(range(first, total + 1)), "lost events"
    repeated = {seq: n for seq, n in Counter(seqs).items() if n > 1}
    assert len(repeated) <= 1 and set(repeated.values()) <= {2}, repeated
    if repeated:
        # Only the event in flight when the worker died, sent again with the same id and body.
        (seq,) = repeated
        k = len(before)
        assert got[k - 1].seq == got[k].seq == seq
        assert got[k - 1].event_id == got[k].event_id
        assert got[k - 1].body == got[k].body
    feed = {e["seq"]: e["id"] for e in full_feed(admin)}
    assert all(r.event_id == feed[r.seq] for r in got)
    assert all(signed_with(r, SECRET) for r in got)
    # The log has one success per event: the attempt in flight was never acknowledged.
    log = delivery_rows(db, hook["id"])
    assert [d.event_seq for d in log if d.succeeded] == list(range(first, total + 1))
    row = subscription_row(db, hook["id"])
    assert (row.cursor_seq, row.consecutive_failures, row.lease_owner) == (total, 0, None)


def test_worker_stops_cleanly_on_sigterm(api, db, settings, tmp_path):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    proc = None
    with Receiver() as receiver:
        hook = subscribe(admin, receiver.url())
        make_events(api, authority, 2)
        try:
            proc = start_worker(settings, tmp_path / "worker.log")
            receiver.wait_for(3, timeout=60)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0, (tmp_path / "worker.log").read_text()[-2000:]
        finally:
            if proc is not None:
                stop(proc)
        got = receiver.snapshot()
    assert [r.seq for r in got] == [2, 3, 4]
    row = subscription_row(db, hook["id"])
    assert (row.cursor_seq, row.lease_owner) == (4, None)


# ---- several workers at once ----------------------------------------------------------------------


def test_two_workers_never_deliver_an_event_twice(api, db, settings):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    with Receiver(delay=0.01) as receiver:
        hooks = [subscribe(admin, receiver.url(f"/h{i}")) for i in range(3)]
        make_events(api, authority, 6)
        total = last_seq(db, authority)
        starts = {f"/h{i}": subscription_row(db, h["id"]).cursor_seq + 1 for i, h in enumerate(hooks)}
        expected = {path: list(range(start, total + 1)) for path, start in starts.items()}

        def finished() -> bool:
            return all(len(receiver.snapshot(p)) >= len(seqs) for p, seqs in expected.items())

        async def main() -> list[int]:
            machines = [Database(settings), Database(settings)]
            try:
                async with httpx.AsyncClient(timeout=5) as client:

                    async def run(db_: Database, owner: str) -> int:
                        delivered = 0
                        deadline = time.monotonic() + 20
                        while not finished() and time.monotonic() < deadline:
                            delivered += (await worker.deliver(db_, settings, client, owner)).delivered
                            await asyncio.sleep(0.005)
                        # One more pass each once everything is out: nothing is sent again.
                        delivered += (await worker.deliver(db_, settings, client, owner)).delivered
                        return delivered

                    return list(
                        await asyncio.gather(run(machines[0], "worker-a"), run(machines[1], "worker-b"))
                    )
            finally:
                for machine in machines:
                    await machine.dispose()

        counts = asyncio.run(main())
        got = {path: [r.seq for r in receiver.snapshot(path)] for path in expected}
    assert got == expected  # each event once per subscription, in order
    assert sum(counts) == sum(len(s) for s in expected.values())
    for hook in hooks:
        log = delivery_rows(db, hook["id"])
        assert all(d.succeeded for d in log)
        assert [d.event_seq for d in log] == sorted({d.event_seq for d in log})
        row = subscription_row(db, hook["id"])
        assert (row.cursor_seq, row.lease_owner) == (total, None)


# ---- the deadline sweep --------------------------------------------------------------------------


def test_approaching_from_the_start_of_the_working_day_before_once(api, db, settings):
    # Written step due Mon 2025-12-29 (25, 26 Dec and the weekend skipped): the working day
    # before it is Wed 24 December.
    m, (dissent,) = meeting_with_unresolved(api)
    row = deadline_row(db, dissent, "written_submission")
    assert as_utc(row.approaching_at) == datetime(2025, 12, 24, tzinfo=UTC)
    api.set_clock("2025-12-23T23:59:59Z")
    for _ in range(3):
        assert sweep_once(settings).approaching == 0
    assert sweep_types(db, m.authority) == []
    api.set_clock("2025-12-24T00:00:00Z")
    results = [sweep_once(settings) for _ in range(3)]
    assert [r.approaching for r in results] == [1, 0, 0]
    api.set_clock("2025-12-29T23:59:59Z")  # the last moment of the due day: not missed yet
    assert sweep_once(settings).missed == 0
    assert sweep_types(db, m.authority) == ["deadline.approaching"]
    (event,) = event_rows(db, m.authority, "deadline.approaching")
    assert (event.subject_kind, event.subject_id) == ("dissent", dissent)
    assert event.data["kind"] == "written_submission"
    assert event.data["due_date"] == "2025-12-29"
    assert event.data["responsible_role"] == "professional"
    assert as_utc(event.occurred_at) == datetime(2025, 12, 24, tzinfo=UTC)
    row = deadline_row(db, dissent, "written_submission")
    assert as_utc(row.approaching_notified_at) == datetime(2025, 12, 24, tzinfo=UTC)
    assert row.missed_notified_at is None
    assert dissent_status(db, dissent) == "awaiting_submission"


def test_approaching_starts_at_local_midnight_in_summer_time(api, db, settings):
    # Thu 2026-06-18, England: due Thu 25 June; the working day before starts at 00:00 BST on
    # Wed 24 June, which is 23:00 UTC on the 23rd.
    api.set_clock("2026-06-18T10:00:00Z")
    m = make_meeting(api, ENGLAND, scheduled_start="2026-06-18T10:00:00Z")
    m.start()
    m.raise_dissent()
    m.decide_all()
    m.confirm_all()
    m.end()
    api.set_clock("2026-06-23T22:59:59Z")
    assert sweep_once(settings).approaching == 0
    api.set_clock("2026-06-23T23:00:00Z")
    assert sweep_once(settings).approaching == 1
    (event,) = event_rows(db, m.authority, "deadline.approaching")
    assert event.data["due_date"] == "2026-06-25"
    assert event.data["due_at"].startswith("2026-06-25T22:59:59")  # end of the day, BST


def test_missed_and_lapsed_exactly_once(api, db, settings):
    m, (dissent,) = meeting_with_unresolved(api)
    api.set_clock("2025-12-24T09:00:00Z")
    sweep_once(settings)
    api.set_clock("2025-12-30T00:00:00Z")
    results = [sweep_once(settings) for _ in range(3)]
    assert [(r.missed, r.lapsed) for r in results] == [(1, 1), (0, 0), (0, 0)]
    assert sweep_types(db, m.authority) == ["deadline.approaching", "deadline.missed", "dissent.lapsed"]
    assert types_for(db, m.authority, dissent)[-3:] == [
        "deadline.approaching",
        "deadline.missed",
        "dissent.lapsed",
    ]
    assert dissent_status(db, dissent) == "lapsed"
    row = deadline_row(db, dissent, "written_submission")
    assert as_utc(row.missed_notified_at) == datetime(2025, 12, 30, tzinfo=UTC)
    body = expect(m.professional.get(f"/v1/dissents/{dissent}"), 200)
    assert body["status"] == "lapsed"
    assert [d["status"] for d in body["deadlines"]] == ["missed"]
    # Reading it afterwards lapses nothing more.
    assert sweep_types(db, m.authority) == ["deadline.approaching", "deadline.missed", "dissent.lapsed"]
    # The worker's change is audited like anyone's, and the chain stays whole.
    t = AuditEntry.__table__
    lapsed = fetch(db, sa.select(t).where(t.c.chain_key == m.authority, t.c.action == "dissent.lapsed"))
    assert [(a.actor_sub, a.entity_id) for a in lapsed] == [("worker", dissent)]
    assert expect(m.admin.get("/v1/audit/verify"), 200)["ok"] is True
    seqs = [e.seq for e in event_rows(db, m.authority)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_sweep_after_the_due_date_does_not_announce_approaching(api, db, settings):
    m, (dissent,) = meeting_with_unresolved(api)
    api.set_clock("2026-01-05T09:00:00Z")  # the worker was down over the holidays
    sweep_once(settings)
    sweep_once(settings)
    assert sweep_types(db, m.authority) == ["deadline.missed", "dissent.lapsed"]
    assert deadline_row(db, dissent, "written_submission").approaching_notified_at is None


def test_lapse_on_read_and_the_sweep_do_not_both_lapse(api, db, settings):
    m, (dissent,) = meeting_with_unresolved(api)
    api.set_clock("2025-12-30T09:00:00Z")
    assert expect(m.professional.get(f"/v1/dissents/{dissent}"), 200)["status"] == "lapsed"
    result = sweep_once(settings)
    assert (result.missed, result.lapsed) == (1, 0)
    assert sweep_types(db, m.authority) == ["dissent.lapsed", "deadline.missed"]


def test_service_step_deadline_is_missed_but_never_lapses(api, db, settings):
    # scotland-cppm-registration: the chair refers within 1 working day (due Fri 19 December).
    m, (dissent,) = meeting_with_unresolved(api, REGISTRATION)
    row = deadline_row(db, dissent, "referral")
    assert as_utc(row.approaching_at) == datetime(2025, 12, 18, tzinfo=UTC)
    api.set_clock("2025-12-18T12:00:00Z")
    assert [sweep_once(settings).approaching for _ in range(3)] == [1, 0, 0]
    api.set_clock("2025-12-22T09:00:00Z")
    results = [sweep_once(settings) for _ in range(3)]
    assert [(r.missed, r.lapsed) for r in results] == [(1, 0), (0, 0), (0, 0)]
    assert sweep_types(db, m.authority) == ["deadline.approaching", "deadline.missed"]
    assert event_rows(db, m.authority, "deadline.missed")[0].data["responsible_role"] == "chair"
    body = expect(m.reviewer.get(f"/v1/dissents/{dissent}"), 200)
    assert body["status"] == "awaiting_referral"
    assert body["overdue"] is True
    # The late referral is still accepted; the missed deadline is not announced again.
    expect(m.chair.post(f"/v1/dissents/{dissent}/referral", json={"note": "Referred late"}), 200)
    sweep_once(settings)
    assert sweep_types(db, m.authority) == ["deadline.approaching", "deadline.missed"]


def test_met_and_cancelled_deadlines_are_left_alone(api, db, settings):
    m, (kept, withdrawn) = meeting_with_unresolved(api, CARM, dissenters=2)
    api.set_clock("2025-12-19T10:00:00Z")
    submission = dissent_letter("2025-12-19")  # CARM's written step is a letter
    expect(m.professional.post(f"/v1/dissents/{kept}/written-submission", json=submission), 200)
    r = m.other_professional.post(f"/v1/dissents/{withdrawn}/withdrawal", json={"reason": "Agreed now"})
    expect(r, 200)
    api.set_clock("2026-02-20T09:00:00Z")  # long after every written step
    result = sweep_once(settings)
    assert (result.approaching, result.missed, result.lapsed) == (0, 0, 0)
    assert sweep_types(db, m.authority) == []
    assert dissent_status(db, kept) == "submitted"
    assert dissent_status(db, withdrawn) == "withdrawn"


def test_concurrent_sweeps_emit_each_event_once(api, db, settings):
    m, dissents = meeting_with_unresolved(api, dissenters=2)
    other, (other_dissent,) = meeting_with_unresolved(api, CARM)

    def both() -> list[worker.PassResult]:
        async def main() -> list[worker.PassResult]:
            machines = [Database(settings), Database(settings)]
            try:
                return list(await asyncio.gather(*(worker.sweep(d, settings) for d in machines)))
            finally:
                for machine in machines:
                    await machine.dispose()

        return asyncio.run(main())

    api.set_clock("2025-12-24T09:00:00Z")
    results = both() + both()
    assert sum(r.approaching for r in results) == 3
    api.set_clock("2026-01-08T09:00:00Z")
    results = both() + both()
    assert sum(r.missed for r in results) == 3
    assert sum(r.lapsed for r in results) == 3
    for authority, ids in ((m.authority, dissents), (other.authority, [other_dissent])):
        for dissent in ids:
            assert types_for(db, authority, dissent)[-3:] == [
                "deadline.approaching",
                "deadline.missed",
                "dissent.lapsed",
            ]
            assert Counter(types_for(db, authority, dissent))["dissent.lapsed"] == 1
            assert dissent_status(db, dissent) == "lapsed"
        seqs = [e.seq for e in event_rows(db, authority)]
        assert seqs == list(range(1, len(seqs) + 1))
    assert expect(m.admin.get("/v1/audit/verify"), 200)["ok"] is True
    assert Counter(sweep_types(db, m.authority)) == {
        "deadline.approaching": 2,
        "deadline.missed": 2,
        "dissent.lapsed": 2,
    }
