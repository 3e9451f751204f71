"""The child's record (SPEC §5 "Children": `GET /v1/children/{id}/record`): the timeline of
decisions, amended decisions, review notes and appeal responses, newest first, paginated,
visible only to those who may see the child, and every read audited (SPEC §8)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from app.models.dissent import ChildRecordEntry
from tests.api.test_appeals import lodge
from tests.support import (
    CATEGORY,
    Api,
    Caller,
    Meeting,
    as_utc,
    audits,
    begin,
    create_child,
    decide,
    expect,
    fetch,
    make_meeting,
    submission,
)

ENGLAND = "england-cp-conference"
CARM = "scotland-cppm-carm"
REGISTRATION = "scotland-cppm-registration"
DAY = "2025-12-18"
ENTRY_KEYS = {"id", "kind", "occurred_at", "conference_id", "source_id", "summary", "text", "data"}


# ---- helpers ------------------------------------------------------------------------------


def finish(m: Meeting, outcome: str = "register", at: str | None = None) -> None:
    m.decide_all(outcome)
    m.confirm_all()
    if at:
        m.api.set_clock(at)
    m.end()


def record(caller: Caller, child_id: str, **params: Any) -> dict[str, Any]:
    return expect(caller.get(f"/v1/children/{child_id}/record", params=params), 200)


def kinds(caller: Caller, child_id: str) -> list[str]:
    return [e["kind"] for e in record(caller, child_id)["items"]]


def take_to_review(m: Meeting, dissent_id: str) -> None:
    """The profile's written step (and england's review meeting) for an unresolved dissent."""
    url = f"/v1/dissents/{dissent_id}"
    if m.profile == REGISTRATION:
        expect(m.chair.post(f"{url}/referral", json={"note": "Referred in writing"}), 200)
        return
    submitted = expect(
        m.professional.post(f"{url}/written-submission", json=submission(m.profile, m.extras["day"])), 200
    )
    if m.profile == ENGLAND:  # held once the written dissent has arrived
        body = {"held_on": submitted["submitted_at"][:10], "members": ["IRO Service Manager"]}
        expect(m.reviewer.post(f"{url}/review-meeting", json=body), 200)


def stored_entries(db: sa.Connection, child_id: str) -> list[Any]:
    t = ChildRecordEntry.__table__
    return fetch(db, sa.select(t).where(t.c.child_id == uuid.UUID(child_id)))


def change_category_record(api: Api) -> tuple[Meeting, dict[str, Any]]:
    """scotland-cppm-carm: a category dissent left unresolved, submitted and decided with
    change_category a day later. The record then holds decision, amended_decision, review_note."""
    m = begin(api, CARM)
    raised = expect(
        m.professional.post(f"{m.url}/dissents", json={"subject": "category", "reasons": "Wrong area"}), 201
    )
    finish(m, at=f"{DAY}T12:00:00Z")
    api.set_clock("2025-12-19T09:00:00Z")
    take_to_review(m, raised["id"])
    api.set_clock("2025-12-22T15:00:00Z")
    decided = decide(
        m,
        raised["id"],
        "change_category",
        written_note="Review note: change_category.",
        new_categories=["domestic_abuse", "neglect"],
    )
    return m, decided


def assert_newest_first(items: list[dict[str, Any]]) -> None:
    times = [as_utc(e["occurred_at"]) for e in items]
    assert times == sorted(times, reverse=True), times


# ---- what goes on the record ---------------------------------------------------------------


def test_record_is_empty_until_the_meeting_ends(api, db):
    m = begin(api, ENGLAND)
    m.decide_all("register")
    page = record(m.record, m.child_ids[0])
    assert page == {"items": [], "next_cursor": None}
    assert stored_entries(db, m.child_ids[0]) == []


def test_meeting_end_puts_each_childs_decision_on_their_record(api, db):
    m = begin(api, ENGLAND, children=2)
    first, second = m.child_ids
    expect(
        m.chair.post(
            f"{m.url}/decisions", json={"child_id": first, "outcome": "register", "categories": ["NEG"]}
        ),
        200,
    )
    expect(
        m.chair.post(
            f"{m.url}/decisions", json={"child_id": second, "outcome": "not_register", "categories": []}
        ),
        200,
    )
    m.confirm_all()
    api.set_clock(f"{DAY}T12:30:00Z")
    m.end()
    decisions = {d["child_id"]: d for d in expect(m.record.get(m.url), 200)["decisions"]}

    [entry] = record(m.record, first)["items"]
    assert set(entry) == ENTRY_KEYS
    assert entry["kind"] == "decision"
    assert entry["conference_id"] == m.conference_id
    assert entry["source_id"] == decisions[first]["id"]
    assert entry["summary"] == decisions[first]["outcome_label"]
    assert entry["data"] == {"outcome": "register", "categories": ["NEG"], "plan_summary": None}
    assert as_utc(entry["occurred_at"]) == datetime(2025, 12, 18, 12, 30, tzinfo=UTC)

    [other] = record(m.record, second)["items"]
    assert other["kind"] == "decision" and other["source_id"] == decisions[second]["id"]
    assert other["data"] == {"outcome": "not_register", "categories": [], "plan_summary": None}
    assert len(stored_entries(db, first)) == 1 and len(stored_entries(db, second)) == 1


def test_a_replaced_decision_goes_on_the_record_once_as_finally_made(api):
    m = begin(api, REGISTRATION)
    child = m.child_ids[0]
    expect(
        m.chair.post(
            f"{m.url}/decisions", json={"child_id": child, "outcome": "not_register", "categories": []}
        ),
        200,
    )
    expect(
        m.chair.post(
            f"{m.url}/decisions", json={"child_id": child, "outcome": "register", "categories": ["neglect"]}
        ),
        200,
    )
    m.confirm_all()
    m.end()
    [entry] = record(m.record, child)["items"]
    assert entry["data"]["outcome"] == "register"


def test_change_category_adds_an_amended_decision_and_a_review_note(api, db):
    m, decided = change_category_record(api)
    items = record(m.record, m.child_ids[0])["items"]
    assert_newest_first(items)
    assert len(items) == 3
    assert {e["kind"] for e in items[:2]} == {"amended_decision", "review_note"}
    assert items[2]["kind"] == "decision"
    by_kind = {e["kind"]: e for e in items}

    original = by_kind["decision"]
    assert original["data"] == {"outcome": "register", "categories": [CATEGORY[CARM]], "plan_summary": None}
    assert as_utc(original["occurred_at"]) == datetime(2025, 12, 18, 12, 0, tzinfo=UTC)

    amended = by_kind["amended_decision"]
    current = expect(m.record.get(m.url), 200)["decisions"]
    assert [d["id"] for d in current] == [amended["source_id"]]
    assert current[0]["amended"] is True
    assert amended["source_id"] != original["source_id"]  # the original stays in history
    assert amended["data"]["outcome"] == "register"
    assert amended["data"]["categories"] == ["domestic_abuse", "neglect"]
    assert amended["data"]["previous_categories"] == [CATEGORY[CARM]]
    assert as_utc(amended["occurred_at"]) == datetime(2025, 12, 22, 15, 0, tzinfo=UTC)

    note = by_kind["review_note"]
    assert note["source_id"] == decided["id"] and note["conference_id"] == m.conference_id
    assert note["text"] == "Review note: change_category."
    assert note["data"] == {"outcome": "change_category"}
    assert sorted(r.kind for r in stored_entries(db, m.child_ids[0])) == [
        "amended_decision",
        "decision",
        "review_note",
    ]


@pytest.mark.parametrize("profile", [ENGLAND, CARM, REGISTRATION])
def test_any_dissent_decision_adds_a_review_note_only_to_the_children_it_concerns(api, db, profile):
    m = begin(api, profile, children=2)
    raised = expect(
        m.professional.post(
            f"{m.url}/dissents",
            json={"subject": "registration", "reasons": "Not needed", "child_ids": [m.child_ids[1]]},
        ),
        201,
    )
    finish(m)
    api.set_clock("2025-12-19T09:00:00Z")
    take_to_review(m, raised["id"])
    api.set_clock("2025-12-19T15:00:00Z")
    decide(m, raised["id"], "uphold", written_note="Review note: uphold.")
    items = record(m.record, m.child_ids[1])["items"]
    assert [e["kind"] for e in items] == ["review_note", "decision"]
    assert items[0]["source_id"] == raised["id"] and items[0]["text"] == "Review note: uphold."
    assert items[0]["data"] == {"outcome": "uphold"}
    assert kinds(m.record, m.child_ids[0]) == ["decision"]
    assert [r.kind for r in stored_entries(db, m.child_ids[0])] == ["decision"]


def test_resolved_or_withdrawn_dissents_leave_no_review_note(api):
    m = begin(api, ENGLAND)
    raised = m.raise_dissent("plan")
    expect(m.chair.post(f"/v1/dissents/{raised['id']}/resolution", json={"summary": "Agreed a change"}), 200)
    finish(m)
    assert kinds(m.record, m.child_ids[0]) == ["decision"]


def test_appeal_response_goes_on_the_record_newest_first(api, db):
    m = begin(api, REGISTRATION)
    raised = m.raise_dissent("registration")
    finish(m, at=f"{DAY}T12:00:00Z")
    api.set_clock("2025-12-19T09:00:00Z")
    take_to_review(m, raised["id"])
    appeal = lodge(m)
    api.set_clock("2025-12-23T10:00:00Z")
    decide(m, raised["id"], "uphold", written_note="Review note: uphold.")
    assert kinds(m.record, m.child_ids[0]) == ["review_note", "decision"]  # lodging adds nothing
    api.set_clock("2026-01-05T10:00:00Z")
    expect(
        m.chair.post(
            f"/v1/appeals/{appeal['id']}/response",
            json={"outcome": "decision_confirmed", "response_text": "The registration stands."},
        ),
        200,
    )
    items = record(m.record, m.child_ids[0])["items"]
    assert [e["kind"] for e in items] == ["appeal_response", "review_note", "decision"]
    assert_newest_first(items)
    response = items[0]
    assert response["source_id"] == appeal["id"] and response["conference_id"] == m.conference_id
    assert response["text"] == "The registration stands."
    assert response["data"] == {"outcome": "decision_confirmed"}
    assert as_utc(response["occurred_at"]) == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_record_spans_every_meeting_about_the_child(api):
    m = begin(api, ENGLAND)
    finish(m, at=f"{DAY}T12:00:00Z")
    child = m.child_ids[0]
    api.set_clock("2026-03-02T10:00:00Z")
    review = expect(
        m.record.post(
            "/v1/conferences",
            json={
                "meeting_type": "review_conference",
                "scheduled_start": "2026-03-02T10:00:00Z",
                "chair_id": "chair-1",
                "chair_name": "Sam Chair",
                "child_ids": [child],
            },
        ),
        201,
    )
    later = Meeting(api, m.authority, ENGLAND, review["id"], [child])
    later.start()
    finish(later, "deregister")
    items = record(m.record, child)["items"]
    assert [(e["kind"], e["conference_id"], e["data"]["outcome"]) for e in items] == [
        ("decision", review["id"], "deregister"),
        ("decision", m.conference_id, "register"),
    ]


# ---- pages ----------------------------------------------------------------------------------


def walk(caller: Caller, child_id: str, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = record(caller, child_id, **params)
        assert len(page["items"]) <= limit
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


def test_pages_walk_every_entry_once_in_order(api):
    m, _ = change_category_record(api)
    child = m.child_ids[0]
    # A later meeting adds a fourth entry.
    api.set_clock("2026-03-02T10:00:00Z")
    review = expect(
        m.record.post(
            "/v1/conferences",
            json={
                "meeting_type": "review_cppm",
                "scheduled_start": "2026-03-02T10:00:00Z",
                "chair_id": "chair-1",
                "chair_name": "Sam Chair",
                "child_ids": [child],
            },
        ),
        201,
    )
    later = Meeting(api, m.authority, CARM, review["id"], [child])
    later.start()
    finish(later, "continue")
    full = [e["id"] for e in record(m.record, child, limit=200)["items"]]
    assert len(full) == len(set(full)) == 4
    for limit in (1, 2, 3):
        assert walk(m.record, child, limit) == full
    first = record(m.record, child, limit=4)
    assert first["next_cursor"] is None


def test_default_page_and_limits(api):
    m = begin(api, ENGLAND)
    finish(m)
    assert record(m.record, m.child_ids[0])["next_cursor"] is None
    for limit in (0, 201, -1):
        r = m.record.get(f"/v1/children/{m.child_ids[0]}/record", params={"limit": limit})
        expect(r, 422, "validation_error")


def test_a_bad_cursor_is_refused(api):
    m = begin(api, ENGLAND)
    finish(m)
    for cursor in ("not-a-cursor", "WyJ4Il0", "e30", "WyJ4IiwieSJd"):
        r = m.record.get(f"/v1/children/{m.child_ids[0]}/record", params={"cursor": cursor})
        expect(r, 422, "invalid_cursor")


# ---- who may read it ------------------------------------------------------------------------


def test_whole_authority_roles_read_any_record(api):
    m = begin(api, ENGLAND)
    finish(m)
    for role in ("record_system", "admin", "reviewer"):
        caller = api.as_(f"{role}-x", role, authority=m.authority)
        assert kinds(caller, m.child_ids[0]) == ["decision"]


def test_the_chair_and_attendees_read_the_record(api):
    m = begin(api, ENGLAND)
    finish(m)
    assert kinds(m.chair, m.child_ids[0]) == ["decision"]
    assert kinds(m.professional, m.child_ids[0]) == ["decision"]
    assert kinds(m.other_professional, m.child_ids[0]) == ["decision"]


def test_a_professional_who_was_not_at_any_meeting_of_the_child_is_told_not_found(api, db):
    m = begin(api, ENGLAND)
    finish(m)
    stranger = api.as_("prof-9", "professional", authority=m.authority)
    expect(stranger.get(f"/v1/children/{m.child_ids[0]}/record"), 404, "not_found")
    assert audits(db, m.authority, "child.record_read") == []


def test_a_chair_of_another_meeting_is_told_not_found(api):
    m = begin(api, ENGLAND)
    finish(m)
    other_chair = api.as_("chair-9", "chair", authority=m.authority)
    expect(other_chair.get(f"/v1/children/{m.child_ids[0]}/record"), 404, "not_found")


def test_a_child_in_no_meeting_is_hidden_from_professionals(api):
    m = begin(api, ENGLAND)
    finish(m)
    lone = create_child(api, m.authority)
    expect(m.professional.get(f"/v1/children/{lone}/record"), 404, "not_found")
    assert record(m.record, lone) == {"items": [], "next_cursor": None}


def test_reporting_may_not_read_records(api, db):
    m = begin(api, ENGLAND)
    finish(m)
    reporting = api.as_("rep-1", "reporting", authority=m.authority)
    expect(reporting.get(f"/v1/children/{m.child_ids[0]}/record"), 403, "forbidden")
    assert audits(db, m.authority, "child.record_read") == []


def test_reading_needs_a_token(api):
    m = begin(api, ENGLAND)
    finish(m)
    r = api.anonymous().get(f"/v1/children/{m.child_ids[0]}/record")
    expect(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_another_authoritys_child_is_not_found(api):
    m = begin(api, ENGLAND)
    finish(m)
    other = make_meeting(api, ENGLAND)
    expect(other.record.get(f"/v1/children/{m.child_ids[0]}/record"), 404, "not_found")
    expect(m.record.get(f"/v1/children/{uuid.uuid4()}/record"), 404, "not_found")
    expect(m.record.get("/v1/children/not-a-uuid/record"), 422, "validation_error")


# ---- audit --------------------------------------------------------------------------------


def test_reading_the_record_is_audited(api, db):
    m = begin(api, ENGLAND)
    finish(m)
    child = m.child_ids[0]
    assert audits(db, m.authority, "child.record_read") == []
    record(m.professional, child)
    record(m.admin, child, limit=1)
    entries = audits(db, m.authority, "child.record_read")
    assert [(e.actor_sub, e.entity_kind, e.entity_id) for e in entries] == [
        ("prof-1", "child", child),
        ("admin-1", "child", child),
    ]
    assert entries[0].actor_roles == ["professional"]
    assert entries[0].request_id
    assert entries[0].detail["count"] == 1
