"""Races (SPEC §5, §7, §11): 50 truly concurrent, identical attempts at one transition — end
a meeting, submit the written dissent, decide a review, answer an appeal, raise a dissent,
replay an Idempotency-Key, change a row under one If-Match — and exactly one wins. The
others are refused with a stable problem code (409 or 412, never a 500), and the stored
row, the audit log and the event feed show one change; the audit chain still verifies.

The set-up runs through the usual synchronous `api` helpers; the race itself goes through a
second instance of the app, with its own lifespan and a pool as large as the race, driven by
`httpx.AsyncClient` over `ASGITransport` so the requests really interleave on one event loop.
On SQLite the process queues its writers (`Database.write_lock`), so the same tests check
that queueing; on PostgreSQL they check the row locks and version checks."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.main import create_app
from tests.api.test_appeals import ended as ended_meeting
from tests.api.test_appeals import lodge, respond_body
from tests.api.test_dissents import ENGLAND, dissent_url, hold_review_meeting, submit, unresolved
from tests.api.test_procedures import example
from tests.support import Caller, Meeting, begin, expect, fetch, review_decision_body, submission

N = 50
POOL = 20  # connections per racing app


# ---- the race harness -----------------------------------------------------------------------


class InFlight:
    """Counts requests inside the app at once, so a test can tell the attempts overlapped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.now = 0
        self.peak = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


@pytest.fixture
def race_settings(settings: Settings) -> Settings:
    # 20 transactions at once on one row is a real race, and it leaves room on the server's
    # 100 connections for the other test workers running their own races beside this one.
    return settings.model_copy(update={"database_pool_size": POOL})


def race(
    settings: Settings,
    caller: Caller,
    method: str,
    path: str,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> list[httpx.Response]:
    """N identical requests at once against a fresh app (lifespan run here, in this loop)."""

    async def main() -> tuple[list[httpx.Response], int]:
        app = create_app(settings)
        counted = InFlight(app)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=counted, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://race") as client:
                sent = {"Authorization": f"Bearer {caller.token}", **(headers or {})}
                responses = await asyncio.gather(
                    *(client.request(method, path, json=json, headers=sent) for _ in range(N))
                )
        return list(responses), counted.peak

    responses, peak = asyncio.run(main())
    assert peak >= N // 2, f"the attempts did not overlap (at most {peak} at once)"
    return responses


def outcome(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    """(status, problem code) for each response; 2xx count under code None."""
    seen: Counter[tuple[int, str | None]] = Counter()
    for r in responses:
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text
            seen[(r.status_code, r.json()["code"])] += 1
        else:
            seen[(r.status_code, None)] += 1
    return seen


def one_winner(responses: list[httpx.Response], status: int, refusal: tuple[int, str]) -> httpx.Response:
    """Exactly one `status` answer; every other one is the same stable refusal."""
    assert outcome(responses) == {(status, None): 1, refusal: N - 1}, outcome(responses)
    return next(r for r in responses if r.status_code == status)


# ---- what was stored -------------------------------------------------------------------------


def stored(db: sa.Connection, table: str, *columns: str, **where: Any) -> list[Any]:
    """Committed rows of `table` (columns as named) matching every `column=value`."""
    t = SQLModel.metadata.tables[table]
    stmt = sa.select(*(t.c[c] for c in columns)).where(*(t.c[k] == v for k, v in where.items()))
    return fetch(db, stmt)


def authority_id(db: sa.Connection, code: str) -> uuid.UUID:
    return stored(db, "authority", "id", code=code)[0][0]


def one_change(db: sa.Connection, authority: str, action: str, entity_id: str) -> None:
    """One audit entry and one event for the change (audit actions are the event types)."""
    audited = stored(db, "audit_entry", "id", authority_code=authority, action=action, entity_id=entity_id)
    assert len(audited) == 1, f"{len(audited)} audit entries {action} for {entity_id}"
    emitted = stored(
        db, "event", "seq", authority_id=authority_id(db, authority), type=action, subject_id=entity_id
    )
    assert len(emitted) == 1, f"{len(emitted)} events {action} for {entity_id}"


def chain_verifies(m: Meeting, db: sa.Connection) -> None:
    body = expect(m.admin.get("/v1/audit/verify"), 200)
    assert body["ok"] is True, body
    assert body["checked"] == body["chain_length"]
    seqs = sorted(r[0] for r in stored(db, "event", "seq", authority_id=authority_id(db, m.authority)))
    assert seqs == list(range(1, len(seqs) + 1)), "the event feed has a gap"


# ---- transitions -------------------------------------------------------------------------------


def test_fifty_chairs_end_the_meeting_once(api, db, race_settings):
    m = begin(api, ENGLAND)
    raised = m.raise_dissent()
    m.decide_all()
    m.confirm_all()

    responses = race(race_settings, m.chair, "POST", f"{m.url}/end")

    won = one_winner(responses, 200, (409, "invalid_transition"))
    assert won.json()["status"] == "ended"
    conference_id, dissent_id = uuid.UUID(m.conference_id), uuid.UUID(raised["id"])
    [(status, version, ended_at)] = stored(
        db, "conference", "status", "version", "ended_at", id=conference_id
    )
    assert (status, version) == ("ended", won.json()["version"])
    assert ended_at is not None
    one_change(db, m.authority, "conference.ended", m.conference_id)
    # What the end set off happened once too.
    one_change(db, m.authority, "dissent.unresolved", raised["id"])
    assert stored(db, "dissent", "status", id=dissent_id) == [("awaiting_submission",)]
    assert len(stored(db, "deadline", "id", subject_id=dissent_id)) == 1
    entries = stored(db, "child_record_entry", "id", conference_id=conference_id, kind="decision")
    assert len(entries) == len(m.child_ids)
    chain_verifies(m, db)


def test_fifty_written_submissions_are_taken_once(api, db, race_settings):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-22T11:00:00Z")
    url = dissent_url(d["id"], "written-submission")

    responses = race(race_settings, m.professional, "POST", url, json=submission(m.profile, m.extras["day"]))

    won = one_winner(responses, 200, (409, "invalid_transition"))
    assert won.json()["status"] == "submitted"
    dissent_id = uuid.UUID(d["id"])
    assert stored(db, "dissent", "status", "version", id=dissent_id) == [("submitted", won.json()["version"])]
    one_change(db, m.authority, "dissent.submitted", d["id"])
    # The written deadline was met once; the review meeting's started once.
    deadlines = dict(stored(db, "deadline", "kind", "met_at", subject_id=dissent_id))
    assert sorted(deadlines) == ["review_meeting", "written_submission"]
    assert deadlines["written_submission"] is not None and deadlines["review_meeting"] is None
    chain_verifies(m, db)


def test_fifty_review_decisions_reconvene_once(api, db, race_settings):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-22T11:00:00Z")
    submit(m, d["id"])
    hold_review_meeting(m, d["id"], "2025-12-22")
    new_meeting = {"scheduled_start": "2026-01-08T10:00:00Z", "chair_id": "chair-2", "chair_name": "Alex"}
    body = review_decision_body(m, "reconvene", reconvene=new_meeting)

    responses = race(race_settings, m.reviewer, "POST", dissent_url(d["id"], "review-decision"), json=body)

    won = one_winner(responses, 200, (409, "invalid_transition"))
    assert won.json()["status"] == "decided"
    dissent_id = uuid.UUID(d["id"])
    assert stored(db, "dissent", "status", "version", id=dissent_id) == [("decided", won.json()["version"])]
    one_change(db, m.authority, "dissent.decided", d["id"])
    # One reconvened meeting, one request for it, one review note per child.
    reconvened = stored(db, "conference", "id", reconvened_from_id=uuid.UUID(m.conference_id))
    assert [str(r[0]) for r in reconvened] == [won.json()["reconvened_conference_id"]]
    one_change(db, m.authority, "conference.reconvene_requested", m.conference_id)
    notes = stored(db, "child_record_entry", "id", source_id=dissent_id, kind="review_note")
    assert len(notes) == len(m.child_ids)
    chain_verifies(m, db)


def test_fifty_appeal_responses_are_recorded_once(api, db, race_settings):
    # Appeals exist only in scotland-cppm-registration, where the chair's role answers them.
    m = ended_meeting(api)
    appeal = lodge(m)
    url = f"/v1/appeals/{appeal['id']}/response"

    responses = race(race_settings, m.chair, "POST", url, json=respond_body())

    won = one_winner(responses, 200, (409, "invalid_transition"))
    assert won.json()["status"] == "responded"
    appeal_id = uuid.UUID(appeal["id"])
    assert stored(db, "appeal", "status", "version", id=appeal_id) == [("responded", won.json()["version"])]
    one_change(db, m.authority, "appeal.responded", appeal["id"])
    assert len(stored(db, "child_record_entry", "id", source_id=appeal_id, kind="appeal_response")) == 1
    [(met_at,)] = stored(db, "deadline", "met_at", subject_id=appeal_id)
    assert met_at is not None
    chain_verifies(m, db)


def test_fifty_dissents_raised_at_once_open_one(api, db, race_settings):
    m = begin(api, ENGLAND)
    body = {"subject": "plan", "reasons": "The plan is too vague"}

    responses = race(race_settings, m.professional, "POST", f"{m.url}/dissents", json=body)

    won = one_winner(responses, 201, (409, "dissent_exists"))
    raised = stored(db, "dissent", "id", conference_id=uuid.UUID(m.conference_id))
    assert [str(r[0]) for r in raised] == [won.json()["id"]]
    one_change(db, m.authority, "dissent.raised", won.json()["id"])
    chain_verifies(m, db)


# ---- Idempotency-Key and If-Match --------------------------------------------------------------


def test_fifty_posts_with_one_idempotency_key_are_processed_once(api, db, race_settings):
    m = begin(api, ENGLAND)
    body = {"subject": "registration", "reasons": "The threshold is not met"}
    key = {"Idempotency-Key": "raise-once"}

    responses = race(race_settings, m.professional, "POST", f"{m.url}/dissents", json=body, headers=key)

    # One is processed; the others replay its answer, or came while it was still in flight.
    seen = outcome(responses)
    assert set(seen) <= {(201, None), (409, "idempotency_key_in_progress")}, seen
    created = [r for r in responses if r.status_code == 201]
    originals = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1, seen
    dissent_id = originals[0].json()["id"]
    assert {r.json()["id"] for r in created} == {dissent_id}
    raised = stored(db, "dissent", "id", conference_id=uuid.UUID(m.conference_id))
    assert [str(r[0]) for r in raised] == [dissent_id]
    one_change(db, m.authority, "dissent.raised", dissent_id)
    assert stored(db, "idempotency_record", "status_code", key="raise-once") == [(201,)]
    chain_verifies(m, db)


def test_fifty_patches_under_one_etag_change_the_authority_once(api, db, race_settings):
    m = begin(api, ENGLAND)
    current = expect(m.admin.get(f"/v1/authorities/{m.authority}"), 200)
    match = {"If-Match": f'"{current["version"]}"'}
    body = {"closure_dates": ["2026-01-05"]}

    responses = race(
        race_settings, m.admin, "PATCH", f"/v1/authorities/{m.authority}", json=body, headers=match
    )

    won = one_winner(responses, 200, (412, "precondition_failed"))
    assert won.json()["version"] == current["version"] + 1
    assert stored(db, "authority", "version", code=m.authority) == [(current["version"] + 1,)]
    one_change(db, m.authority, "authority.updated", str(authority_id(db, m.authority)))
    chain_verifies(m, db)


def test_fifty_withdrawals_under_one_etag_withdraw_once(api, db, race_settings):
    m = begin(api, ENGLAND)
    d = m.raise_dissent()
    match = {"If-Match": f'"{d["version"]}"'}
    body = {"reason": "Settled outside the meeting"}

    responses = race(
        race_settings, m.professional, "POST", dissent_url(d["id"], "withdrawal"), json=body, headers=match
    )

    won = one_winner(responses, 200, (412, "precondition_failed"))
    assert won.json()["status"] == "withdrawn"
    stored_now = stored(db, "dissent", "status", "version", id=uuid.UUID(d["id"]))
    assert stored_now == [("withdrawn", d["version"] + 1)]
    one_change(db, m.authority, "dissent.withdrawn", d["id"])
    chain_verifies(m, db)


def test_fifty_adoptions_under_one_etag_adopt_one_procedure_version(api, db, race_settings):
    m = begin(api, ENGLAND)
    definition = example("pan-sussex")
    match = {"If-Match": '"1"'}  # the built-in profile is version 1

    responses = race(
        race_settings,
        m.admin,
        "PUT",
        f"/v1/authorities/{m.authority}/procedure",
        json=definition,
        headers=match,
    )

    won = one_winner(responses, 201, (412, "precondition_failed"))
    assert won.json()["version"] == 2
    versions = stored(db, "procedure_version", "id", "version", authority_id=authority_id(db, m.authority))
    assert [version for _, version in versions] == [2]
    one_change(db, m.authority, "procedure.adopted", str(versions[0][0]))
    chain_verifies(m, db)
