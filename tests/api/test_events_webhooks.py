"""The event feed and signed webhooks over HTTP (SPEC §7): the gap-free feed per authority,
webhook subscriptions (admin only, SSRF-safe URLs, event-type filters, secret rotation) and
deliveries to a real HTTP receiver on loopback, run by the worker in-process: signed with
HMAC-SHA256 over `timestamp.body`, in order, at least once, with back-off and a delivery log."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app import worker
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.models.authority import Authority
from app.models.platform import AuditEntry, Event
from app.models.webhook import WebhookDelivery, WebhookSubscription
from tests.api.test_appeals import lodge
from tests.support import (
    Api,
    Caller,
    Meeting,
    as_utc,
    begin,
    create_authority,
    create_child,
    expect,
    fetch,
    make_meeting,
    submission,
)

ENGLAND = "england-cp-conference"
CARM = "scotland-cppm-carm"
REGISTRATION = "scotland-cppm-registration"
SECRET = "whsec-first-0123456789abcdefghij"
NEW_SECRET = "whsec-second-0123456789abcdefghij"
OTHER_ROLES = ("record_system", "chair", "professional", "reviewer", "reporting")
T = TypeVar("T")


# ---- a real webhook receiver on loopback ----------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    @property
    def seq(self) -> int:
        return int(self.json["seq"])

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 (port 0) in a thread, recording every request in arrival
    order. It answers `fail_status` to the first `fail_first` requests, then 200; `delay`
    seconds are spent before answering (recorded on arrival, so an in-flight request counts)."""

    fail_first: int = 0
    fail_status: int = 500
    delay: float = 0.0
    location: str | None = None  # sent with failures (for redirects)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    status = receiver.fail_status if len(receiver.requests) < receiver.fail_first else 200
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append(Received(self.path, headers, body, status))
                    delay = receiver.delay
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    if status != 200 and receiver.location:
                        self.send_header("Location", receiver.location)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the worker went away (killed mid-request)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def snapshot(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.snapshot()) >= count:
                return self.snapshot()
            time.sleep(0.02)
        raise AssertionError(f"receiver got {len(self.snapshot())} requests, expected {count}")


def signature_parts(received: Received) -> tuple[int, list[str]]:
    pairs = [part.split("=", 1) for part in received.headers["webhook-signature"].split(",")]
    stamps = [int(v) for k, v in pairs if k == "t"]
    assert len(stamps) == 1, received.headers["webhook-signature"]
    return stamps[0], [v for k, v in pairs if k == "v1"]


def hand_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_with(received: Received, secret: str) -> bool:
    """What a receiver does: recompute the HMAC over `t.body` and compare with each v1."""
    timestamp, candidates = signature_parts(received)
    expected = hand_signature(secret, timestamp, received.body)
    return any(hmac.compare_digest(expected, c) for c in candidates)


# ---- running the worker in-process ------------------------------------------------------------


def run_async(settings: Settings, work: Callable[[Database, httpx.AsyncClient], Awaitable[T]]) -> T:
    async def main() -> T:
        db = Database(settings)
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                return await work(db, client)
        finally:
            await db.dispose()

    return asyncio.run(main())


def deliver_once(settings: Settings, owner: str = "test-worker") -> worker.PassResult:
    return run_async(settings, lambda db, client: worker.deliver(db, settings, client, owner))


def sweep_once(settings: Settings) -> worker.PassResult:
    return run_async(settings, lambda db, client: worker.sweep(db, settings))


def deliver_until(settings: Settings, done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "deliveries did not finish in time"
        deliver_once(settings)
        time.sleep(0.01)


# ---- API and database helpers -----------------------------------------------------------------


def admin_of(api: Api, authority: str) -> Caller:
    return api.as_("admin-1", "admin", authority=authority)


def full_feed(caller: Caller) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = expect(caller.get(f"/v1/events?after={after}&limit=200"), 200)
        if not page["items"]:
            return items
        items.extend(page["items"])
        after = page["next_after"]


def last_seq(db: sa.Connection, authority: str) -> int:
    a = Authority.__table__
    return int(fetch(db, sa.select(a.c.event_seq).where(a.c.code == authority))[0][0])


def event_rows(db: sa.Connection, authority: str, type_: str | None = None) -> list[Any]:
    e, a = Event.__table__, Authority.__table__
    stmt = sa.select(e).join(a, a.c.id == e.c.authority_id).where(a.c.code == authority).order_by(e.c.seq)
    if type_ is not None:
        stmt = stmt.where(e.c.type == type_)
    return fetch(db, stmt)


def audit_rows(db: sa.Connection, authority: str, action: str) -> list[Any]:
    t = AuditEntry.__table__
    return fetch(db, sa.select(t).where(t.c.chain_key == authority, t.c.action == action).order_by(t.c.seq))


def subscription_row(db: sa.Connection, webhook_id: str) -> Any:
    t = WebhookSubscription.__table__
    found = fetch(db, sa.select(t).where(t.c.id == uuid.UUID(webhook_id)))
    assert len(found) == 1
    return found[0]


def delivery_rows(db: sa.Connection, webhook_id: str) -> list[Any]:
    t = WebhookDelivery.__table__
    return fetch(db, sa.select(t).where(t.c.subscription_id == uuid.UUID(webhook_id)).order_by(t.c.id))


def subscribe(
    caller: Caller, url: str, event_types: list[str] | None = None, secret: str = SECRET
) -> dict[str, Any]:
    body = {"url": url, "event_types": event_types or ["*"], "secret": secret}
    return expect(caller.post("/v1/webhooks", json=body), 201)


def make_events(api: Api, authority: str, count: int) -> None:
    """`count` events: one child.created per child."""
    for _ in range(count):
        create_child(api, authority)


# ---- the event feed ----------------------------------------------------------------------------


def test_feed_pages_are_ordered_and_gap_free(api, db):
    authority = create_authority(api, ENGLAND)
    make_events(api, authority, 9)
    admin = admin_of(api, authority)
    total = last_seq(db, authority)
    assert total == 10  # authority.created + 9 children

    seen: list[int] = []
    after, pages = 0, 0
    while True:
        page = expect(admin.get(f"/v1/events?after={after}&limit=3"), 200)
        if not page["items"]:
            assert page["next_after"] == after
            break
        seqs = [item["seq"] for item in page["items"]]
        assert seqs == list(range(after + 1, after + 1 + len(seqs)))
        assert len(seqs) <= 3
        assert page["next_after"] == seqs[-1]
        seen.extend(seqs)
        after, pages = page["next_after"], pages + 1
    assert seen == list(range(1, total + 1))
    assert pages == 4
    # Polling again from the end gives nothing new until something happens.
    end = expect(admin.get(f"/v1/events?after={total}"), 200)
    assert end["items"] == [] and end["next_after"] == total
    create_child(api, authority)
    page = expect(admin.get(f"/v1/events?after={total}"), 200)
    assert [(i["seq"], i["type"]) for i in page["items"]] == [(total + 1, "child.created")]
    # The cursor left at the end is the same position.
    page = expect(admin.get("/v1/events", params={"cursor": end["next_cursor"]}), 200)
    assert [i["seq"] for i in page["items"]] == [total + 1]


def test_the_feed_pages_by_cursor_like_every_list(api, db):
    authority = create_authority(api, ENGLAND)
    make_events(api, authority, 4)
    admin = admin_of(api, authority)
    total = last_seq(db, authority)
    seen: list[int] = []
    page = expect(admin.get("/v1/events?limit=2"), 200)
    while page["items"]:
        seen.extend(item["seq"] for item in page["items"])
        assert page["next_after"] == seen[-1]  # the deprecated field still answers, the same position
        cursor = page["next_cursor"]
        page = expect(admin.get("/v1/events", params={"cursor": cursor, "limit": 2}), 200)
    assert seen == list(range(1, total + 1))
    assert page["next_cursor"] == cursor  # nothing new: the position does not move
    expect(admin.get("/v1/events", params={"cursor": cursor, "after": 1}), 422, "validation_error")
    expect(admin.get("/v1/events", params={"cursor": "not-a-cursor"}), 422, "invalid_cursor")


def test_the_contract_marks_next_after_deprecated(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["EventPage"]
    assert schema["properties"]["next_after"]["deprecated"] is True
    assert "next_after" in schema["required"] and "next_cursor" in schema["required"]


def test_feed_items_match_the_outbox_rows(api, db):
    api.set_clock("2025-12-18T09:30:00Z")
    authority = create_authority(api, ENGLAND)
    child_id = create_child(api, authority)
    items = expect(admin_of(api, authority).get("/v1/events"), 200)["items"]
    rows = event_rows(db, authority)
    assert len(items) == len(rows) == 2
    for item, row in zip(items, rows, strict=True):
        assert set(item) == {"seq", "id", "type", "occurred_at", "authority", "subject", "data"}
        assert item["seq"] == row.seq
        assert item["id"] == str(row.id)
        assert item["type"] == row.type
        assert item["authority"] == authority
        assert item["subject"] == {"kind": row.subject_kind, "id": row.subject_id}
        assert item["data"] == row.data
        assert item["occurred_at"] == "2025-12-18T09:30:00Z"
    assert items[1]["type"] == "child.created"
    assert items[1]["subject"] == {"kind": "child", "id": child_id}


def test_feed_limit_and_after_are_validated(api):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    expect(admin.get("/v1/events?limit=0"), 422, "validation_error")
    expect(admin.get("/v1/events?limit=201"), 422, "validation_error")
    expect(admin.get("/v1/events?after=-1"), 422, "validation_error")
    expect(admin.get("/v1/events?after=abc"), 422, "validation_error")
    assert len(expect(admin.get("/v1/events?limit=200"), 200)["items"]) == 1


def test_feed_shows_only_the_callers_authority(api, db):
    first = create_authority(api, ENGLAND)
    second = create_authority(api, CARM)
    make_events(api, first, 3)
    make_events(api, second, 5)
    one = full_feed(admin_of(api, first))
    two = full_feed(api.as_("rs", "record_system", authority=second))
    assert [e["seq"] for e in one] == [1, 2, 3, 4]
    assert [e["seq"] for e in two] == [1, 2, 3, 4, 5, 6]
    assert {e["authority"] for e in one} == {first}
    assert {e["authority"] for e in two} == {second}
    assert not {e["id"] for e in one} & {e["id"] for e in two}
    # `after` never reaches into the other authority's numbering.
    assert expect(admin_of(api, first).get("/v1/events?after=4"), 200)["items"] == []


@pytest.mark.parametrize("role", ["record_system", "admin"])
def test_feed_is_for_record_systems_and_admins(api, role):
    authority = create_authority(api, ENGLAND)
    page = expect(api.as_("caller", role, authority=authority).get("/v1/events"), 200)
    assert [e["type"] for e in page["items"]] == ["authority.created"]


@pytest.mark.parametrize("role", ["chair", "professional", "reviewer", "reporting"])
def test_feed_refused_for_other_roles(api, role):
    authority = create_authority(api, ENGLAND)
    expect(api.as_("caller", role, authority=authority).get("/v1/events"), 403, "forbidden")


def test_feed_needs_a_token_and_an_authority(api):
    create_authority(api, ENGLAND)
    r = api.anonymous().get("/v1/events")
    expect(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    expect(api.system_admin().get("/v1/events"), 403, "forbidden")


# ---- every event type of a full flow ----------------------------------------------------------


def _dissent(caller: Caller, m: Meeting, subject: str) -> str:
    body = expect(caller.post(f"{m.url}/dissents", json={"subject": subject, "reasons": "I disagree"}), 201)
    return str(body["id"])


def england_flow(api: Api, settings: Settings, receiver: Receiver) -> Meeting:
    m = begin(api, ENGLAND)
    admin = m.admin
    hook = subscribe(admin, receiver.url())
    expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"description": "record system"}), 200)
    expect(admin.delete(f"/v1/webhooks/{hook['id']}"), 204)
    expect(admin.patch(f"/v1/authorities/{m.authority}", json={"closure_dates": ["2026-03-02"]}), 200)
    spare = expect(
        m.record.post(
            "/v1/conferences",
            json={
                "meeting_type": "review_conference",
                "scheduled_start": "2026-02-01T10:00:00Z",
                "chair_id": "chair-1",
                "chair_name": "Sam Chair",
                "child_ids": m.child_ids,
            },
        ),
        201,
    )
    expect(m.record.post(f"/v1/conferences/{spare['id']}/cancel"), 200)
    expect(
        m.professional.post(
            "/v1/complaints", json={"about": "practitioner", "agency": "NHS", "summary": "x"}
        ),
        201,
    )
    kept = _dissent(m.professional, m, "registration")
    lapsing = _dissent(m.professional, m, "category")
    resolved = _dissent(m.other_professional, m, "plan")
    withdrawn = _dissent(m.other_professional, m, "category")
    expect(m.chair.post(f"/v1/dissents/{resolved}/resolution", json={"summary": "Plan reworded"}), 200)
    expect(m.other_professional.post(f"/v1/dissents/{withdrawn}/withdrawal", json={"reason": "Agreed"}), 200)
    m.decide_all()
    m.confirm_all()
    m.end()
    api.set_clock("2025-12-22T11:00:00Z")
    expect(
        m.professional.post(
            f"/v1/dissents/{kept}/written-submission", json=submission(m.profile, "2025-12-18")
        ),
        200,
    )
    api.set_clock("2025-12-24T09:00:00Z")  # the working day before the written step's due date
    sweep_once(settings)
    api.set_clock("2025-12-30T09:00:00Z")  # after it: missed, and the unsubmitted dissent lapses
    sweep_once(settings)
    assert expect(m.reviewer.get(f"/v1/dissents/{lapsing}"), 200)["status"] == "lapsed"
    body = {"held_on": "2025-12-30", "members": ["IRO Service Manager"]}
    expect(m.reviewer.post(f"/v1/dissents/{kept}/review-meeting", json=body), 200)
    api.set_clock("2026-01-02T10:00:00Z")
    decision = {
        "outcome": "reconvene",
        "written_note": "The conference will be reconvened.",
        "reconvene": {"scheduled_start": "2026-01-08T10:00:00Z", "chair_id": "chair-2", "chair_name": "Alex"},
    }
    expect(m.reviewer.post(f"/v1/dissents/{kept}/review-decision", json=decision), 200)
    return m


def carm_flow(api: Api) -> Meeting:
    m = begin(api, CARM)
    dissent = _dissent(m.professional, m, "category")
    m.decide_all()
    m.confirm_all()
    m.end()
    expect(
        m.professional.post(
            f"/v1/dissents/{dissent}/written-submission", json=submission(m.profile, "2025-12-18")
        ),
        200,
    )
    decision = {
        "outcome": "change_category",
        "new_categories": ["domestic_abuse"],
        "written_note": "The category changes.",
        "family_informant": {"name": "Lee", "role": "Lead social worker"},
    }
    expect(m.reviewer.post(f"/v1/dissents/{dissent}/review-decision", json=decision), 200)
    body = {"informed_by": "Lee", "informed_on": "2025-12-18"}
    expect(m.reviewer.post(f"/v1/dissents/{dissent}/family-informed", json=body), 200)
    return m


def registration_flow(api: Api) -> Meeting:
    m = begin(api, REGISTRATION)
    dissent = _dissent(m.professional, m, "registration")
    m.decide_all()
    m.confirm_all()
    m.end()
    expect(m.chair.post(f"/v1/dissents/{dissent}/referral", json={"note": "Referred in writing"}), 200)
    decision = {"outcome": "uphold", "written_note": "The decision stands."}
    expect(m.reviewer.post(f"/v1/dissents/{dissent}/review-decision", json=decision), 200)
    appeal = lodge(m)
    body = {"outcome": "decision_confirmed", "response_text": "We looked again."}
    expect(m.chair.post(f"/v1/appeals/{appeal['id']}/response", json=body), 200)
    return m


COMMON_TYPES = {
    "authority.created",
    "child.created",
    "conference.scheduled",
    "conference.attendee_recorded",
    "conference.started",
    "dissent.raised",
    "conference.decision_recorded",
    "conference.dissent_invited",
    "conference.ended",
    "dissent.unresolved",
    "dissent.decided",
    "review_note.shared",
    "document.issued",  # the written steps' documents and the minutes extract
}
ENGLAND_TYPES = COMMON_TYPES | {
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "authority.updated",
    "conference.cancelled",
    "complaint.recorded",
    "dissent.resolved",
    "dissent.withdrawn",
    "dissent.submitted",
    "deadline.approaching",
    "deadline.missed",
    "dissent.lapsed",
    "dissent.review_meeting_held",
    "conference.reconvene_requested",
}
CARM_TYPES = COMMON_TYPES | {"dissent.submitted", "decision.amended", "dissent.family_informed"}
REGISTRATION_TYPES = COMMON_TYPES | {
    "conference.appeal_rights_explained",
    "conference.participants_advised",
    "dissent.referred",
    "appeal.lodged",
    "appeal.responded",
}


def _check_feed(db: sa.Connection, m: Meeting, expected: set[str]) -> list[dict[str, Any]]:
    feed = full_feed(m.record)
    assert [e["seq"] for e in feed] == list(range(1, len(feed) + 1))
    assert {e["authority"] for e in feed} == {m.authority}
    types = {e["type"] for e in feed}
    assert types == expected, types ^ expected
    # The feed is the outbox, row for row.
    assert [(e["seq"], e["type"]) for e in feed] == [(r.seq, r.type) for r in event_rows(db, m.authority)]
    return feed


def test_england_flow_puts_every_event_type_on_the_feed(api, db, settings):
    with Receiver() as receiver:
        m = england_flow(api, settings, receiver)
    feed = _check_feed(db, m, ENGLAND_TYPES)
    sweep_types = [
        e["type"] for e in feed if e["type"].startswith("deadline.") or e["type"] == "dissent.lapsed"
    ]
    assert sweep_types == [
        "deadline.approaching",
        "deadline.approaching",
        "deadline.missed",
        "dissent.lapsed",
    ]
    sweep = [e for e in feed if e["type"].startswith("deadline.")]
    assert [(e["data"]["kind"], e["data"]["due_date"], e["occurred_at"]) for e in sweep] == [
        ("written_submission", "2025-12-29", "2025-12-24T09:00:00Z"),
        ("review_meeting", "2025-12-31", "2025-12-30T09:00:00Z"),
        ("written_submission", "2025-12-29", "2025-12-30T09:00:00Z"),
    ]
    assert {e["subject"]["kind"] for e in sweep} == {"dissent"}
    (reconvene,) = [e for e in feed if e["type"] == "conference.reconvene_requested"]
    scheduled = [e["subject"]["id"] for e in feed if e["type"] == "conference.scheduled"]
    assert reconvene["data"]["reconvened_conference_id"] in scheduled


def test_carm_flow_puts_every_event_type_on_the_feed(api, db):
    feed = _check_feed(db, carm_flow(api), CARM_TYPES)
    amended = [e for e in feed if e["type"] == "decision.amended"]
    assert len(amended) == 1 and amended[0]["data"]["categories"] == ["domestic_abuse"]


def test_registration_flow_puts_every_event_type_on_the_feed(api, db):
    feed = _check_feed(db, registration_flow(api), REGISTRATION_TYPES)
    assert [e["type"] for e in feed if e["type"].startswith("appeal.")] == [
        "appeal.lodged",
        "appeal.responded",
    ]


# ---- webhook subscriptions -------------------------------------------------------------------


def test_admin_manages_a_webhook(api, db):
    api.set_clock("2025-12-18T10:00:00Z")
    authority = create_authority(api, ENGLAND)
    make_events(api, authority, 2)
    admin = admin_of(api, authority)
    r = admin.post(
        "/v1/webhooks",
        json={
            "url": "http://127.0.0.1:9/hook",
            "event_types": ["dissent.raised", "conference.ended", "dissent.raised"],
            "secret": SECRET,
            "description": "case system",
        },
    )
    created = expect(r, 201)
    assert r.headers["Location"] == f"/v1/webhooks/{created['id']}"
    assert r.headers["ETag"] == '"1"'
    assert created["url"] == "http://127.0.0.1:9/hook"
    assert created["event_types"] == ["conference.ended", "dissent.raised"]
    assert created["active"] is True
    assert created["cursor_seq"] == 3  # only what happens from now on
    assert created["consecutive_failures"] == 0
    assert created["secret_rotation_ends_at"] is None
    assert "secret" not in created and SECRET not in r.text
    row = subscription_row(db, created["id"])
    assert (row.secret, row.url, row.cursor_seq) == (SECRET, "http://127.0.0.1:9/hook", 3)
    assert [e.type for e in event_rows(db, authority)][-1] == "webhook.created"
    assert [a.actor_sub for a in audit_rows(db, authority, "webhook.created")] == ["admin-1"]

    listed = expect(admin.get("/v1/webhooks"), 200)
    assert [w["id"] for w in listed["items"]] == [created["id"]]
    assert SECRET not in admin.get("/v1/webhooks").text
    r = admin.get(f"/v1/webhooks/{created['id']}")
    assert expect(r, 200)["description"] == "case system"
    assert r.headers["ETag"] == '"1"'

    r = admin.patch(
        f"/v1/webhooks/{created['id']}",
        json={"event_types": ["*"], "description": "all events"},
        headers={"If-Match": '"1"'},
    )
    updated = expect(r, 200)
    assert updated["event_types"] == ["*"]
    assert updated["version"] == 2 and r.headers["ETag"] == '"2"'
    assert subscription_row(db, created["id"]).event_types == ["*"]
    changed = event_rows(db, authority, "webhook.updated")
    assert [e.data["changed"] for e in changed] == [["event_types", "description"]]

    expect(admin.delete(f"/v1/webhooks/{created['id']}"), 204)
    expect(admin.get(f"/v1/webhooks/{created['id']}"), 404, "not_found")
    assert expect(admin.get("/v1/webhooks"), 200)["items"] == []
    t = WebhookSubscription.__table__
    assert fetch(db, sa.select(t)) == []
    assert [e.subject_id for e in event_rows(db, authority, "webhook.deleted")] == [created["id"]]
    assert len(audit_rows(db, authority, "webhook.deleted")) == 1
    # The shared secret is never written to the feed or the audit log.
    t = AuditEntry.__table__
    stored = [*event_rows(db, authority), *fetch(db, sa.select(t).where(t.c.chain_key == authority))]
    assert stored and not any(SECRET in json.dumps(list(map(str, row))) for row in stored)


def test_stale_if_match_refuses_a_webhook_change(api, db):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    hook = subscribe(admin, "http://127.0.0.1:9/hook")
    expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"description": "one"}), 200)
    r = admin.patch(f"/v1/webhooks/{hook['id']}", json={"description": "two"}, headers={"If-Match": '"1"'})
    expect(r, 412, "precondition_failed")
    assert subscription_row(db, hook["id"]).description == "one"


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_webhooks_are_for_admins_only(api, db, role):
    authority = create_authority(api, ENGLAND)
    hook = subscribe(admin_of(api, authority), "http://127.0.0.1:9/hook")
    caller = api.as_("someone", role, authority=authority)
    body = {"url": "http://127.0.0.1:9/other", "event_types": ["*"], "secret": SECRET}
    expect(caller.post("/v1/webhooks", json=body), 403, "forbidden")
    expect(caller.get("/v1/webhooks"), 403, "forbidden")
    expect(caller.get(f"/v1/webhooks/{hook['id']}"), 403, "forbidden")
    expect(caller.patch(f"/v1/webhooks/{hook['id']}", json={"active": False}), 403, "forbidden")
    expect(caller.delete(f"/v1/webhooks/{hook['id']}"), 403, "forbidden")
    expect(caller.get(f"/v1/webhooks/{hook['id']}/deliveries"), 403, "forbidden")
    rows = fetch(db, sa.select(WebhookSubscription.__table__))
    assert [(str(r.id), r.active, r.url) for r in rows] == [(hook["id"], True, "http://127.0.0.1:9/hook")]
    expect(api.anonymous().get("/v1/webhooks"), 401)


def test_another_authoritys_webhook_is_not_found(api, db):
    mine = create_authority(api, ENGLAND)
    theirs = create_authority(api, ENGLAND)
    hook = subscribe(admin_of(api, theirs), "http://127.0.0.1:9/hook")
    admin = admin_of(api, mine)
    assert expect(admin.get("/v1/webhooks"), 200)["items"] == []
    expect(admin.get(f"/v1/webhooks/{hook['id']}"), 404, "not_found")
    expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"active": False}), 404, "not_found")
    expect(admin.delete(f"/v1/webhooks/{hook['id']}"), 404, "not_found")
    expect(admin.get(f"/v1/webhooks/{hook['id']}/deliveries"), 404, "not_found")
    expect(admin.get(f"/v1/webhooks/{uuid.uuid4()}"), 404, "not_found")
    assert subscription_row(db, hook["id"]).active is True


@pytest.mark.parametrize(
    "changes",
    [
        {"event_types": ["no.such_thing"]},
        {"event_types": []},
        {"secret": "too-short"},
        {"url": "not a web address"},
        {"unknown_field": 1},
    ],
)
def test_webhook_content_is_validated(api, db, changes):
    authority = create_authority(api, ENGLAND)
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "secret": SECRET, **changes}
    code = "webhook_url_not_allowed" if "url" in changes else "validation_error"
    expect(admin_of(api, authority).post("/v1/webhooks", json=body), 422, code)
    assert fetch(db, sa.select(WebhookSubscription.__table__)) == []


@pytest.fixture
def strict_api(settings: Settings) -> Iterator[Api]:
    """The API with no allow-listed webhook hosts, as in production."""
    strict = settings.model_copy(update={"webhook_allowed_hosts": ""})
    with TestClient(create_app(strict), raise_server_exceptions=False) as client:
        yield Api(client, str(settings.auth_jwt_secret))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.2/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
        "http://1.1.1.1/hook",
        "http://127.0.0.1:8080/hook",
        "ftp://1.1.1.1/hook",
        "https://user:pw@1.1.1.1/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_unsafe_webhook_urls_are_refused(strict_api, db, url):
    authority = create_authority(strict_api, ENGLAND)
    body = {"url": url, "event_types": ["*"], "secret": SECRET}
    expect(admin_of(strict_api, authority).post("/v1/webhooks", json=body), 422, "webhook_url_not_allowed")
    assert fetch(db, sa.select(WebhookSubscription.__table__)) == []
    assert event_rows(db, authority, "webhook.created") == []


def test_public_https_url_is_accepted_and_unsafe_change_refused(strict_api, db):
    authority = create_authority(strict_api, ENGLAND)
    admin = admin_of(strict_api, authority)
    hook = subscribe(admin, "https://1.1.1.1/hooks/dissent")
    r = admin.patch(f"/v1/webhooks/{hook['id']}", json={"url": "https://169.254.169.254/"})
    expect(r, 422, "webhook_url_not_allowed")
    row = subscription_row(db, hook["id"])
    assert (row.url, row.version) == ("https://1.1.1.1/hooks/dissent", 1)
    assert event_rows(db, authority, "webhook.updated") == []


def test_webhook_list_is_cursor_paginated(api):
    """SPEC §5: lists answer `{"items": [...], "next_cursor": ...}` with `limit` and `cursor`."""
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    ids = [subscribe(admin, f"http://127.0.0.1:9/hook{i}")["id"] for i in range(3)]
    page = expect(admin.get("/v1/webhooks?limit=2"), 200)
    assert isinstance(page, dict), page
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = expect(admin.get(f"/v1/webhooks?limit=2&cursor={page['next_cursor']}"), 200)
    assert rest["next_cursor"] is None
    assert sorted(w["id"] for w in page["items"] + rest["items"]) == sorted(ids)


def test_allow_listed_hosts_may_use_plain_http(api, db):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    subscribe(admin, "http://127.0.0.1:9/hook")
    subscribe(admin, "http://LOCALHOST:9/hook")
    # Only the hosts named: another loopback address is still refused.
    body = {"url": "http://127.0.0.2:9/hook", "event_types": ["*"], "secret": SECRET}
    expect(admin.post("/v1/webhooks", json=body), 422, "webhook_url_not_allowed")
    body["url"] = "https://10.1.2.3/hook"
    expect(admin.post("/v1/webhooks", json=body), 422, "webhook_url_not_allowed")
    assert len(fetch(db, sa.select(WebhookSubscription.__table__))) == 2


# ---- deliveries ---------------------------------------------------------------------------------


def test_deliveries_are_signed_in_order_with_the_event_id(api, db, settings):
    authority = create_authority(api, ENGLAND)
    make_events(api, authority, 2)  # before the subscription: not delivered
    admin = admin_of(api, authority)
    with Receiver() as receiver:
        hook = subscribe(admin, receiver.url())
        make_events(api, authority, 4)
        total = last_seq(db, authority)
        result = deliver_once(settings)
        got = receiver.snapshot()
    assert (result.delivered, result.failed) == (5, 0)
    feed = {e["seq"]: e for e in full_feed(admin)}
    assert [r.seq for r in got] == list(range(4, total + 1))  # webhook.created, then 4 children
    assert got[0].json["type"] == "webhook.created"
    before = int(time.time())
    for r in got:
        assert r.path == "/hook"
        assert r.headers["content-type"] == "application/json"
        assert r.event_id == feed[r.seq]["id"]
        assert r.json == feed[r.seq]  # the same shape as the feed
        timestamp, candidates = signature_parts(r)
        assert r.headers["webhook-timestamp"] == str(timestamp)
        assert abs(timestamp - before) <= 60
        assert candidates == [hand_signature(SECRET, timestamp, r.body)]
        assert signed_with(r, SECRET)
        assert not signed_with(r, NEW_SECRET)
    # A tampered body no longer verifies.
    forged = Received("/hook", got[1].headers, got[1].body.replace(b"child.created", b"child.deleted"), 200)
    assert not signed_with(forged, SECRET)
    row = subscription_row(db, hook["id"])
    assert (row.cursor_seq, row.consecutive_failures, row.lease_owner) == (total, 0, None)
    deliveries = delivery_rows(db, hook["id"])
    assert [(d.event_seq, d.succeeded, d.status_code, d.attempt) for d in deliveries] == [
        (seq, True, 200, 1) for seq in range(4, total + 1)
    ]
    assert [str(d.event_id) for d in deliveries] == [r.event_id for r in got]
    # Nothing new: nothing sent again.
    with Receiver() as again:
        expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"url": again.url()}), 200)
        deliver_once(settings)
        assert [r.json["type"] for r in again.snapshot()] == ["webhook.updated"]


def test_each_subscription_gets_only_its_authoritys_events(api, db, settings):
    first = create_authority(api, ENGLAND)
    second = create_authority(api, CARM)
    with Receiver() as receiver:
        subscribe(admin_of(api, first), receiver.url("/first"))
        subscribe(admin_of(api, second), receiver.url("/second"))
        make_events(api, first, 2)
        make_events(api, second, 3)
        make_events(api, first, 1)
        deliver_until(settings, lambda: len(receiver.snapshot()) >= 8)
        deliver_once(settings)
        got = {p: receiver.snapshot(p) for p in ("/first", "/second")}
    assert [r.seq for r in got["/first"]] == [2, 3, 4, 5]
    assert [r.seq for r in got["/second"]] == [2, 3, 4, 5]
    assert {r.json["authority"] for r in got["/first"]} == {first}
    assert {r.json["authority"] for r in got["/second"]} == {second}
    first_ids = {e["id"] for e in full_feed(admin_of(api, first))}
    assert {r.event_id for r in got["/first"]} <= first_ids
    assert not {r.event_id for r in got["/second"]} & first_ids


def test_event_type_filter_and_wildcard(api, db, settings):
    api.set_clock("2025-12-18T10:00:00Z")
    m = make_meeting(api, ENGLAND, scheduled_start="2025-12-18T10:00:00Z")
    admin = m.admin
    with Receiver() as receiver:
        raised_only = subscribe(admin, receiver.url("/raised"), ["dissent.raised"])
        ends = subscribe(admin, receiver.url("/ends"), ["conference.ended", "dissent.unresolved"])
        everything = subscribe(admin, receiver.url("/all"), ["*"])
        first = last_seq(db, m.authority)
        m.start()
        m.raise_dissent("registration")
        expect(m.other_professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"}), 201)
        m.decide_all()
        m.confirm_all()
        m.end()
        total = last_seq(db, m.authority)
        deliver_until(settings, lambda: len(receiver.snapshot("/all")) > total - first)
        deliver_once(settings)
        got = {path: receiver.snapshot(path) for path in ("/raised", "/ends", "/all")}
    feed = full_feed(admin)
    raised = [e["seq"] for e in feed if e["type"] == "dissent.raised"]
    assert len(raised) == 2
    assert [r.seq for r in got["/raised"]] == raised
    assert {r.json["type"] for r in got["/raised"]} == {"dissent.raised"}
    assert [r.json["type"] for r in got["/ends"]] == [
        "conference.ended",
        "dissent.unresolved",
        "dissent.unresolved",
    ]
    assert [r.seq for r in got["/all"]] == list(range(first, total + 1))  # from its own webhook.created
    assert subscription_row(db, raised_only["id"]).cursor_seq == raised[-1]
    assert subscription_row(db, ends["id"]).cursor_seq == got["/ends"][-1].seq
    assert subscription_row(db, everything["id"]).cursor_seq == total
    # Changing the filter applies from the cursor on.
    expect(admin.patch(f"/v1/webhooks/{raised_only['id']}", json={"event_types": ["child.created"]}), 200)
    with Receiver() as receiver:
        for hook in (raised_only, ends, everything):
            expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"url": receiver.url()}), 200)
        child = create_child(api, m.authority)
        deliver_until(settings, lambda: len(receiver.snapshot()) >= 1 + 5)
        deliver_once(settings)
        got_now = receiver.snapshot()
    by_hook = [
        (r.json["type"], r.json["subject"]["id"]) for r in got_now if r.json["type"] == "child.created"
    ]
    assert by_hook == [("child.created", child), ("child.created", child)]  # raised_only and everything
    assert len([r for r in got_now if r.json["type"] == "webhook.updated"]) == 4  # everything only


def test_secret_rotation_signs_with_both_secrets_for_a_day(api, db, settings):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    with Receiver() as receiver:
        hook = subscribe(admin, receiver.url(), secret=SECRET)
        deliver_once(settings)
        before_rotation = receiver.snapshot()
        started = datetime.now(UTC)
        rotated = expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"secret": NEW_SECRET}), 200)
        ends = as_utc(rotated["secret_rotation_ends_at"])
        assert timedelta(hours=24) - timedelta(minutes=1) <= ends - started <= timedelta(hours=24, minutes=1)
        row = subscription_row(db, hook["id"])
        assert (row.secret, row.previous_secret) == (NEW_SECRET, SECRET)
        create_child(api, authority)
        deliver_once(settings)
        during = receiver.snapshot()[len(before_rotation) :]

        # The overlap ends: the old secret no longer signs.
        t = WebhookSubscription.__table__
        db.execute(
            sa.update(t)
            .where(t.c.id == uuid.UUID(hook["id"]))
            .values(previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.commit()
        assert expect(admin.get(f"/v1/webhooks/{hook['id']}"), 200)["secret_rotation_ends_at"] is None
        create_child(api, authority)
        deliver_once(settings)
        after = receiver.snapshot()[len(before_rotation) + len(during) :]

    assert [r.json["type"] for r in before_rotation] == ["webhook.created"]
    assert len(signature_parts(before_rotation[0])[1]) == 1
    assert signed_with(before_rotation[0], SECRET)
    assert [r.json["type"] for r in during] == ["webhook.updated", "child.created"]
    for r in during:
        timestamp, candidates = signature_parts(r)
        assert candidates == [
            hand_signature(NEW_SECRET, timestamp, r.body),
            hand_signature(SECRET, timestamp, r.body),
        ]
    assert [r.json["type"] for r in after] == ["child.created"]
    timestamp, candidates = signature_parts(after[0])
    assert candidates == [hand_signature(NEW_SECRET, timestamp, after[0].body)]
    assert signed_with(after[0], NEW_SECRET)
    assert not signed_with(after[0], SECRET)


def test_rotation_window_follows_the_service_clock(api, db, settings):
    """With the test clock set, a rotation lasts 24 hours of the service's clock (SPEC §3: time
    is read from one clock) — the window the API reports in `secret_rotation_ends_at`."""
    api.set_clock("2025-12-18T10:00:00Z")
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    with Receiver() as receiver:
        hook = subscribe(admin, receiver.url(), secret=SECRET)
        rotated = expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"secret": NEW_SECRET}), 200)
        assert rotated["secret_rotation_ends_at"] == "2025-12-19T10:00:00Z"
        api.set_clock("2025-12-19T09:59:59Z")
        assert expect(admin.get(f"/v1/webhooks/{hook['id']}"), 200)["secret_rotation_ends_at"]
        deliver_once(settings)
        during = receiver.snapshot()
        api.set_clock("2025-12-19T10:00:01Z")
        assert expect(admin.get(f"/v1/webhooks/{hook['id']}"), 200)["secret_rotation_ends_at"] is None
        create_child(api, authority)
        deliver_once(settings)
        after = receiver.snapshot()[len(during) :]
    assert [r.json["type"] for r in during] == ["webhook.created", "webhook.updated"]
    for r in during:
        assert len(signature_parts(r)[1]) == 2, "both secrets sign while the rotation lasts"
        assert signed_with(r, NEW_SECRET) and signed_with(r, SECRET)
    assert [r.json["type"] for r in after] == ["child.created"]
    assert len(signature_parts(after[0])[1]) == 1
    assert signed_with(after[0], NEW_SECRET) and not signed_with(after[0], SECRET)


def test_redirects_are_not_followed(api, db, settings):
    authority = create_authority(api, ENGLAND)
    with Receiver(fail_first=1, fail_status=307, location="http://169.254.169.254/latest") as receiver:
        hook = subscribe(admin_of(api, authority), receiver.url())
        result = deliver_once(settings)
        assert (result.delivered, result.failed) == (0, 1)
        assert len(receiver.snapshot()) == 1
    (log,) = delivery_rows(db, hook["id"])
    assert (log.succeeded, log.status_code) == (False, 307)
    assert subscription_row(db, hook["id"]).cursor_seq == 1


def test_failing_receiver_backs_off_and_loses_nothing(api, db, settings):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    api.set_clock("2026-01-05T09:00:00Z")  # the worker's clock: back-off is measured on it
    clock = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with Receiver(fail_first=3) as receiver:
        hook = subscribe(admin, receiver.url())
        make_events(api, authority, 4)
        first, total = 2, last_seq(db, authority)  # webhook.created is seq 2

        waits = []
        for failure in (1, 2, 3):
            result = deliver_once(settings)
            assert (result.delivered, result.failed) == (0, 1)
            row = subscription_row(db, hook["id"])
            last = delivery_rows(db, hook["id"])[-1]
            assert (row.consecutive_failures, row.cursor_seq) == (failure, first - 1)
            assert (last.event_seq, last.succeeded, last.status_code, last.attempt) == (
                first,
                False,
                500,
                failure,
            )
            assert last.error == "receiver answered 500"
            waits.append(as_utc(row.next_attempt_at) - as_utc(last.attempted_at))
            # Not retried before its time.
            assert deliver_once(settings).failed == 0
            assert len(receiver.snapshot()) == failure
            view = expect(admin.get(f"/v1/webhooks/{hook['id']}"), 200)
            assert view["consecutive_failures"] == failure
            assert as_utc(view["next_attempt_at"]) == as_utc(row.next_attempt_at)
            clock += timedelta(seconds=1)
            api.set_clock(clock.isoformat().replace("+00:00", "Z"))
        assert waits == [timedelta(seconds=0.05), timedelta(seconds=0.1), timedelta(seconds=0.2)]

        result = deliver_once(settings)
        got = receiver.snapshot()
    assert (result.delivered, result.failed) == (total - first + 1, 0)
    assert [r.seq for r in got] == [first, first, first, *range(first, total + 1)]
    assert [r.status for r in got] == [500, 500, 500] + [200] * (total - first + 1)
    assert len({r.event_id for r in got[:4]}) == 1  # every retry is the same event
    delivered = [r.seq for r in got if r.status == 200]
    assert delivered == list(range(first, total + 1))
    row = subscription_row(db, hook["id"])
    assert (row.cursor_seq, row.consecutive_failures, row.next_attempt_at) == (total, 0, None)
    log = delivery_rows(db, hook["id"])
    assert [(d.event_seq, d.attempt, d.succeeded) for d in log] == [
        (first, 1, False),
        (first, 2, False),
        (first, 3, False),
        (first, 4, True),
        *((seq, 1, True) for seq in range(first + 1, total + 1)),
    ]

    # The delivery log over HTTP: newest first, paged.
    page = expect(admin.get(f"/v1/webhooks/{hook['id']}/deliveries?limit=3"), 200)
    assert [d["id"] for d in page["items"]] == [d.id for d in reversed(log)][:3]
    assert page["next_cursor"]
    items = list(page["items"])
    while page["next_cursor"]:
        page = expect(
            admin.get(f"/v1/webhooks/{hook['id']}/deliveries?limit=3&cursor={page['next_cursor']}"), 200
        )
        items.extend(page["items"])
    assert [d["id"] for d in items] == [d.id for d in reversed(log)]
    oldest = items[-1]
    assert oldest["event_seq"] == first and oldest["succeeded"] is False and oldest["status_code"] == 500
    assert oldest["event_type"] == "webhook.created" and oldest["attempt"] == 1
    assert oldest["event_id"] == got[0].event_id
    assert set(oldest) == {
        "id",
        "event_id",
        "event_seq",
        "event_type",
        "attempt",
        "succeeded",
        "status_code",
        "error",
        "attempted_at",
        "duration_ms",
    }
    expect(admin.get(f"/v1/webhooks/{hook['id']}/deliveries?cursor=garbage"), 422)


def test_unreachable_receiver_is_recorded_and_backs_off_to_the_cap(api, db, settings):
    authority = create_authority(api, ENGLAND)
    api.set_clock("2026-01-05T09:00:00Z")
    with Receiver() as receiver:
        url = receiver.url()
    # The receiver is gone: connections are refused.
    hook = subscribe(admin_of(api, authority), url)
    clock = datetime(2026, 1, 5, 9, tzinfo=UTC)
    waits = []
    for _ in range(6):
        assert deliver_once(settings).failed == 1
        row = subscription_row(db, hook["id"])
        last = delivery_rows(db, hook["id"])[-1]
        waits.append((as_utc(row.next_attempt_at) - as_utc(last.attempted_at)).total_seconds())
        assert last.status_code is None and last.succeeded is False
        assert "ConnectError" in last.error
        clock += timedelta(seconds=1)
        api.set_clock(clock.isoformat().replace("+00:00", "Z"))
    assert waits == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    assert subscription_row(db, hook["id"]).cursor_seq == 1  # still waiting for webhook.created (seq 2)
    # Switching the endpoint off and on again clears the back-off: it is tried straight away.
    admin = admin_of(api, authority)
    expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"active": False}), 200)
    view = expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"active": True}), 200)
    assert (view["consecutive_failures"], view["next_attempt_at"]) == (0, None)
    assert deliver_once(settings).failed == 1
    assert len(delivery_rows(db, hook["id"])) == 7


def test_inactive_webhook_waits_and_resumes_in_order(api, db, settings):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    with Receiver() as receiver:
        hook = subscribe(admin, receiver.url())
        paused = expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"active": False}), 200)
        assert paused["active"] is False
        make_events(api, authority, 3)
        assert deliver_once(settings).delivered == 0
        assert receiver.snapshot() == []
        expect(admin.patch(f"/v1/webhooks/{hook['id']}", json={"active": True}), 200)
        total = last_seq(db, authority)
        deliver_once(settings)
        got = receiver.snapshot()
    assert [r.seq for r in got] == list(range(2, total + 1))
    assert [r.json["type"] for r in got][:2] == ["webhook.created", "webhook.updated"]


def test_url_is_checked_again_at_delivery(api, db, settings):
    authority = create_authority(api, ENGLAND)
    with Receiver() as receiver:
        hook = subscribe(admin_of(api, authority), receiver.url())
        strict = settings.model_copy(update={"webhook_allowed_hosts": ""})
        result = deliver_once(strict)
        assert (result.delivered, result.failed) == (0, 1)
        assert receiver.snapshot() == []
    log = delivery_rows(db, hook["id"])
    assert [(d.succeeded, d.status_code) for d in log] == [(False, None)]
    assert "https" in log[0].error
    assert subscription_row(db, hook["id"]).consecutive_failures == 1


def test_deleted_webhook_is_not_delivered(api, db, settings):
    authority = create_authority(api, ENGLAND)
    admin = admin_of(api, authority)
    with Receiver() as receiver:
        hook = subscribe(admin, receiver.url())
        deliver_once(settings)
        expect(admin.delete(f"/v1/webhooks/{hook['id']}"), 204)
        make_events(api, authority, 2)
        assert deliver_once(settings).delivered == 0
        assert [r.json["type"] for r in receiver.snapshot()] == ["webhook.created"]
    assert fetch(db, sa.select(WebhookDelivery.__table__)) == []  # the log goes with it
