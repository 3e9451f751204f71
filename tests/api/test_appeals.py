"""Family appeals and complaints over HTTP (SPEC §2 "family appeals", §3 `appeal_response`,
§5 "Appeals" and "Complaints"). Appeals exist only where the profile enables them
(scotland-cppm-registration); complaints are recorded and routed, never entering the appeal
or dissent flow. Each rule is checked both ways, with stored rows, audit entries and events."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from app.models.appeal import Appeal, Complaint
from app.models.authority import Authority
from app.models.conference import Conference, Decision
from app.models.dissent import ChildRecordEntry, Deadline, Dissent
from app.profiles import get_profile
from tests.support import Api, Caller, Meeting, audits, create_child, events, expect, fetch, make_meeting

ENGLAND = "england-cp-conference"
CARM = "scotland-cppm-carm"
REGISTRATION = "scotland-cppm-registration"
RELATIONSHIPS = ("child", "young_person", "parent", "carer", "expectant_parent", "other_family")
INDEX = "uq_appeal_open_per_appellant"

# A meeting on Thu 2025-12-18 in Scotland: 5 working days skip 25 and 26 Dec → last day Mon 2025-12-29.
DAY = "2025-12-18"
LAST_DAY = "2025-12-29"
# An appeal received on Fri 2025-12-19 is due 28 calendar days later: Fri 2026-01-16.
RECEIVED = "2025-12-19"
RESPONSE_DUE = "2026-01-16"


# ---- helpers ------------------------------------------------------------------------------


def ended(
    api: Api,
    profile: str = REGISTRATION,
    *,
    outcome: str = "register",
    children: int = 1,
    authority: str | None = None,
    lodge_at: str | None = f"{RECEIVED}T09:00:00Z",
) -> Meeting:
    """A meeting held and ended on DAY; the clock then moves to `lodge_at`."""
    api.set_clock(f"{DAY}T10:00:00Z")
    m = make_meeting(api, profile, children=children, scheduled_start=f"{DAY}T10:00:00Z", authority=authority)
    m.start()
    m.decide_all(outcome)
    m.confirm_all()
    m.end()
    if lodge_at:
        api.set_clock(lodge_at)
    return m


def body(
    m: Meeting,
    *,
    child_id: str | None = None,
    name: str = "Jo Parent",
    relationship: str = "parent",
    lead: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "conference_id": m.conference_id,
        "child_id": child_id or m.child_ids[0],
        "appellant": {"name": name, "relationship": relationship},
        "grounds": "We do not agree that the risk is high enough for registration.",
    }
    if lead is not None:
        out["lodged_by_lead_social_worker"] = {"name": lead}
    out.update(changes)
    return out


def lodge(m: Meeting, caller: Caller | None = None, **kw: Any) -> dict[str, Any]:
    return expect((caller or m.record).post("/v1/appeals", json=body(m, **kw)), 201)


def respond_body(outcome: str = "decision_confirmed", **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"outcome": outcome, "response_text": "We looked again at the decision."}
    if outcome == "reconvene":
        out["reconvene"] = {
            "scheduled_start": "2026-01-08T10:00:00Z",
            "chair_id": "chair-2",
            "chair_name": "Alex Chair",
        }
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def respond(
    m: Meeting, appeal_id: str, outcome: str = "decision_confirmed", **changes: Any
) -> dict[str, Any]:
    return expect(
        m.chair.post(f"/v1/appeals/{appeal_id}/response", json=respond_body(outcome, **changes)), 200
    )


def appeal_rows(db: sa.Connection, authority: str) -> list[Any]:
    t, a = Appeal.__table__, Authority.__table__
    return fetch(
        db, sa.select(t).join(a, a.c.id == t.c.authority_id).where(a.c.code == authority).order_by(t.c.id)
    )


def appeal_row(db: sa.Connection, appeal_id: str) -> Any:
    t = Appeal.__table__
    found = fetch(db, sa.select(t).where(t.c.id == uuid.UUID(appeal_id)))
    assert len(found) == 1
    return found[0]


def deadline_rows(db: sa.Connection, subject_id: str) -> list[Any]:
    t = Deadline.__table__
    return fetch(db, sa.select(t).where(t.c.subject_id == uuid.UUID(subject_id)))


def count(db: sa.Connection, model: Any, authority: str) -> int:
    t, a = model.__table__, Authority.__table__
    stmt = sa.select(sa.func.count()).select_from(t.join(a, a.c.id == t.c.authority_id))
    return int(fetch(db, stmt.where(a.c.code == authority))[0][0])


def conferences(db: sa.Connection, authority: str) -> list[Any]:
    t, a = Conference.__table__, Authority.__table__
    return fetch(
        db, sa.select(t).join(a, a.c.id == t.c.authority_id).where(a.c.code == authority).order_by(t.c.id)
    )


def decision_rows(db: sa.Connection, conference_id: str) -> list[Any]:
    t = Decision.__table__
    return fetch(db, sa.select(t).where(t.c.conference_id == uuid.UUID(conference_id)))


def listed(caller: Caller, query: str = "") -> list[str]:
    page = expect(caller.get(f"/v1/appeals{query}"), 200)
    return [item["id"] for item in page["items"]]


def only_deadline(appeal: dict[str, Any]) -> dict[str, Any]:
    assert [d["kind"] for d in appeal["deadlines"]] == ["appeal_response"], appeal["deadlines"]
    return appeal["deadlines"][0]


# ---- lodging ------------------------------------------------------------------------------


def test_record_system_lodges_an_appeal(api, db):
    m = ended(api)
    r = m.record.post("/v1/appeals", json=body(m, name="Jo Parent", relationship="parent"))
    appeal = expect(r, 201)
    assert r.headers["location"] == f"/v1/appeals/{appeal['id']}"
    assert r.headers["etag"].strip('W/"') == str(appeal["version"])
    assert appeal["status"] == "lodged"
    assert appeal["conference_id"] == m.conference_id and appeal["child_id"] == m.child_ids[0]
    assert appeal["appellant"] == {"name": "Jo Parent", "relationship": "parent"}
    assert appeal["appellant_relationship"] == "parent"
    assert appeal["lodged_by_lead_social_worker"] is None
    assert appeal["received_date"] == RECEIVED
    assert appeal["lodged_at"].startswith(f"{RECEIVED}T09:00:00")
    assert appeal["outcome"] is None and appeal["response_text"] is None and appeal["responded_at"] is None
    assert appeal["decision_in_force"] is True
    assert appeal["overdue"] is False
    due = only_deadline(appeal)
    assert due["due_date"] == RESPONSE_DUE
    assert due["due_at"].startswith(f"{RESPONSE_DUE}T23:59:59")
    assert due["status"] == "pending" and due["met_at"] is None
    assert due["responsible_role"] == "chair"

    row = appeal_row(db, appeal["id"])
    assert row.status == "lodged"
    assert row.appellant_name == "Jo Parent" and row.appellant_key == "jo parent"
    assert row.lodged_by == "record-system" and row.lead_social_worker_name is None
    assert str(row.received_date) == RECEIVED
    [deadline] = deadline_rows(db, appeal["id"])
    assert deadline.kind == "appeal_response" and deadline.subject_kind == "appeal"
    assert str(deadline.due_date) == RESPONSE_DUE and deadline.met_at is None

    [event] = events(db, m.authority, "appeal.lodged")
    assert event.subject_kind == "appeal" and event.subject_id == appeal["id"]
    assert event.data["conference_id"] == m.conference_id
    assert event.data["child_id"] == m.child_ids[0]
    assert event.data["lodged_by_lead_social_worker"] is False
    [entry] = audits(db, m.authority, "appeal.lodged")
    assert entry.entity_id == appeal["id"] and entry.actor_sub == "record-system"


def test_conference_shows_the_appeal_deadline_once_ended(api):
    api.set_clock(f"{DAY}T10:00:00Z")
    m = make_meeting(api, REGISTRATION, scheduled_start=f"{DAY}T10:00:00Z")
    assert expect(m.record.get(m.url), 200)["appeal_deadline"] is None
    m.start()
    m.decide_all("register")
    m.confirm_all()
    assert expect(m.record.get(m.url), 200)["appeal_deadline"] is None
    m.end()
    shown = expect(m.record.get(m.url), 200)["appeal_deadline"]
    assert shown["due_date"] == LAST_DAY
    assert shown["due_at"].startswith(f"{LAST_DAY}T23:59:59")
    assert "2025-12-25" in shown["explanation"] and "2025-12-26" in shown["explanation"]


@pytest.mark.parametrize("profile", [ENGLAND, CARM])
def test_profiles_without_appeals_show_no_appeal_deadline(api, profile):
    m = ended(api, profile, lodge_at=None)
    assert expect(m.record.get(m.url), 200)["appeal_deadline"] is None


def test_every_family_relationship_may_appeal(api, db):
    m = ended(api)
    for n, relationship in enumerate(RELATIONSHIPS):
        appeal = lodge(m, relationship=relationship, name=f"Person {n}")
        assert appeal["appellant"]["relationship"] == relationship
        assert appeal_row(db, appeal["id"]).appellant_relationship == relationship


def test_other_relationships_are_refused(api, db):
    m = ended(api)
    for relationship in ("professional", "social_worker", "friend", "", "PARENT", None):
        r = m.record.post("/v1/appeals", json=body(m, relationship=relationship))
        expect(r, 422, "validation_error")
    assert appeal_rows(db, m.authority) == []


def test_incomplete_appeal_is_a_validation_error(api, db):
    m = ended(api)
    for change in (
        {"grounds": ""},
        {"appellant": {"name": "", "relationship": "parent"}},
        {"appellant": {"relationship": "parent"}},
        {"conference_id": "not-a-uuid"},
        {"lodged_by_lead_social_worker": {"name": ""}},
        {"unexpected": True},
    ):
        expect(m.record.post("/v1/appeals", json=body(m, **change)), 422, "validation_error")
    assert appeal_rows(db, m.authority) == []


@pytest.mark.parametrize("outcome", ["register", "continue", "deregister", "not_register"])
def test_every_registration_decision_is_appealable(api, outcome):
    """The registration procedure lets the family appeal "the decision to register, continue
    with registration, deregister or not register" (the profile lists all four)."""
    m = ended(api, outcome=outcome)
    assert lodge(m)["status"] == "lodged"


def test_lead_social_worker_lodges_for_the_family(api, db):
    m = ended(api)
    # prof-2 attended the meeting (one who did not: tests/api/test_meeting_secrecy.py).
    social_worker = api.as_("prof-2", "professional", authority=m.authority, agency="Social Work")
    appeal = lodge(m, social_worker, lead="Lee Social Worker", name="Jo Parent")
    assert appeal["lodged_by_lead_social_worker"] == {"name": "Lee Social Worker"}
    row = appeal_row(db, appeal["id"])
    assert row.lead_social_worker_name == "Lee Social Worker" and row.lodged_by == "prof-2"
    [event] = events(db, m.authority, "appeal.lodged")
    assert event.data["lodged_by_lead_social_worker"] is True
    [entry] = audits(db, m.authority, "appeal.lodged")
    assert entry.actor_sub == "prof-2"


def test_professional_must_lodge_as_the_lead_social_worker(api, db):
    m = ended(api)
    social_worker = api.as_("prof-2", "professional", authority=m.authority)
    expect(social_worker.post("/v1/appeals", json=body(m)), 422, "validation_error")
    assert appeal_rows(db, m.authority) == []


def test_other_roles_cannot_lodge(api, db):
    m = ended(api)
    for roles in (("chair",), ("reviewer",), ("reporting",), ("admin",)):
        caller = api.as_("someone", *roles, authority=m.authority)
        expect(caller.post("/v1/appeals", json=body(m, lead="Lee")), 403, "forbidden")
    assert appeal_rows(db, m.authority) == []


def test_lodging_needs_a_token(api, db):
    m = ended(api)
    r = api.anonymous().post("/v1/appeals", json=body(m))
    expect(r, 401, "unauthorized")
    assert appeal_rows(db, m.authority) == []


@pytest.mark.parametrize("profile", [ENGLAND, CARM])
def test_appeals_not_available_names_where_to_go(api, db, profile):
    m = ended(api, profile)
    problem = expect(m.record.post("/v1/appeals", json=body(m)), 422, "appeals_not_available")
    detail = get_profile(profile).appeals.unavailable_detail  # type: ignore[union-attr]
    assert detail and problem["detail"] == detail
    assert "complaints procedure" in problem["detail"]
    assert appeal_rows(db, m.authority) == []


def test_appeal_refused_before_the_meeting_ends(api, db):
    api.set_clock(f"{DAY}T10:00:00Z")
    m = make_meeting(api, REGISTRATION, scheduled_start=f"{DAY}T10:00:00Z")
    expect(m.record.post("/v1/appeals", json=body(m)), 409, "conference_not_ended")
    m.start()
    m.decide_all("register")
    m.confirm_all()
    expect(m.record.post("/v1/appeals", json=body(m)), 409, "conference_not_ended")
    assert appeal_rows(db, m.authority) == []
    m.end()
    lodge(m)


def test_appeal_on_the_last_moment_of_the_last_day_is_in_time(api):
    m = ended(api, lodge_at=f"{LAST_DAY}T23:59:59Z")
    assert lodge(m)["received_date"] == LAST_DAY


def test_appeal_after_the_deadline_is_refused(api, db):
    m = ended(api, lodge_at="2025-12-30T00:00:00Z")
    problem = expect(m.record.post("/v1/appeals", json=body(m)), 409, "deadline_passed")
    assert LAST_DAY in problem["detail"]
    assert appeal_rows(db, m.authority) == []
    assert events(db, m.authority, "appeal.lodged") == []


def summer_meeting(api: Api) -> Meeting:
    """Thu 2025-06-12 in Scotland (British Summer Time): 5 working days → Thu 2025-06-19,
    whose end is 22:59:59.999999Z."""
    api.set_clock("2025-06-12T10:00:00Z")
    m = make_meeting(api, REGISTRATION, scheduled_start="2025-06-12T10:00:00Z")
    m.start()
    m.decide_all("register")
    m.confirm_all()
    m.end()
    return m


def test_appeal_deadline_ends_at_local_midnight(api, db):
    m = summer_meeting(api)
    shown = expect(m.record.get(m.url), 200)["appeal_deadline"]
    assert shown["due_date"] == "2025-06-19"
    assert shown["due_at"].startswith("2025-06-19T22:59:59")
    api.set_clock("2025-06-19T22:59:00Z")
    lodge(m, name="Jo Parent")
    api.set_clock("2025-06-19T23:00:00Z")  # already 20 June in Scotland
    expect(m.record.post("/v1/appeals", json=body(m, name="Sam Parent")), 409, "deadline_passed")
    assert len(appeal_rows(db, m.authority)) == 1


def test_response_due_counts_from_the_local_date_of_receipt(api):
    m = summer_meeting(api)
    api.set_clock("2025-06-16T23:30:00Z")  # 00:30 on Tue 17 June in Scotland
    appeal = lodge(m)
    assert appeal["received_date"] == "2025-06-17"
    due = only_deadline(appeal)
    assert due["due_date"] == "2025-07-15"
    assert due["due_at"].startswith("2025-07-15T22:59:59")


def test_appeal_refused_on_a_cancelled_meeting(api, db):
    api.set_clock(f"{DAY}T09:00:00Z")
    m = make_meeting(api, REGISTRATION, scheduled_start=f"{DAY}T10:00:00Z")
    expect(m.record.post(f"{m.url}/cancel"), 200)
    expect(m.record.post("/v1/appeals", json=body(m)), 409, "conference_not_ended")
    assert appeal_rows(db, m.authority) == []


def test_child_not_in_the_meeting_is_refused(api, db):
    m = ended(api)
    stranger = create_child(api, m.authority)
    expect(m.record.post("/v1/appeals", json=body(m, child_id=stranger)), 422, "child_not_in_conference")
    assert appeal_rows(db, m.authority) == []


def test_unknown_or_foreign_conference_is_not_found(api, db):
    m = ended(api)
    other = ended(api, lodge_at=None)
    api.set_clock(f"{RECEIVED}T09:00:00Z")
    expect(m.record.post("/v1/appeals", json=body(m, conference_id=str(uuid.uuid4()))), 404, "not_found")
    foreign = body(other)
    expect(m.record.post("/v1/appeals", json=foreign), 404, "not_found")
    assert appeal_rows(db, m.authority) == [] and appeal_rows(db, other.authority) == []


def test_each_child_of_a_meeting_can_be_appealed(api):
    m = ended(api, children=2)
    first = lodge(m, child_id=m.child_ids[0])
    second = lodge(m, child_id=m.child_ids[1])
    assert {first["child_id"], second["child_id"]} == set(m.child_ids)


def test_a_retried_lodging_with_the_same_idempotency_key_lodges_once(api, db):
    m = ended(api)
    headers = {"Idempotency-Key": "appeal-retry-1"}
    first = expect(m.record.post("/v1/appeals", json=body(m), headers=headers), 201)
    again = expect(m.record.post("/v1/appeals", json=body(m), headers=headers), 201)
    assert again["id"] == first["id"]
    other = body(m, name="Sam Parent")
    expect(m.record.post("/v1/appeals", json=other, headers=headers), 422, "idempotency_key_reused")
    assert len(appeal_rows(db, m.authority)) == 1
    assert len(events(db, m.authority, "appeal.lodged")) == 1


# ---- one open appeal per appellant and child ---------------------------------------------


def test_one_open_appeal_per_appellant_and_child(api, db):
    m = ended(api)
    first = lodge(m, name="Jo Parent")
    problem = expect(
        m.record.post("/v1/appeals", json=body(m, name="  jo   PARENT ", relationship="carer")),
        409,
        "appeal_exists",
    )
    assert first["id"] in problem["detail"]
    assert len(appeal_rows(db, m.authority)) == 1
    assert len(events(db, m.authority, "appeal.lodged")) == 1


def test_a_different_appellant_may_appeal_the_same_decision(api, db):
    m = ended(api)
    lodge(m, name="Jo Parent")
    lodge(m, name="Sam Parent")
    lodge(m, name="Riley Example", relationship="young_person")
    assert len(appeal_rows(db, m.authority)) == 3


def test_same_appellant_may_appeal_again_after_a_response(api, db):
    m = ended(api)
    first = lodge(m, name="Jo Parent")
    respond(m, first["id"])
    second = lodge(m, name="Jo Parent")
    assert second["id"] != first["id"]
    assert sorted(r.status for r in appeal_rows(db, m.authority)) == ["lodged", "responded"]


def test_the_same_appellant_for_another_child_is_fine(api):
    m = ended(api, children=2)
    lodge(m, child_id=m.child_ids[0], name="Jo Parent")
    lodge(m, child_id=m.child_ids[1], name="Jo Parent")


def test_a_partial_unique_index_backs_one_open_appeal(api, db, backend):
    query = (
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"
        if backend == "sqlite"
        else "SELECT indexdef FROM pg_indexes WHERE indexname = :n"
    )
    [(sql,)] = [tuple(r) for r in fetch(db, sa.text(query).bindparams(n=INDEX))]
    text = " ".join(sql.split()).lower()
    assert "unique" in text
    assert "child_id" in text and "appellant_key" in text
    assert "where" in text and "lodged" in text

    # And the database itself refuses a second open row, whatever the service checks.
    m = ended(api)
    appeal = lodge(m, name="Jo Parent")
    t = Appeal.__table__
    original = dict(appeal_row(db, appeal["id"])._mapping)
    db.rollback()
    with pytest.raises(sa.exc.IntegrityError):
        db.execute(sa.insert(t).values(**{**original, "id": uuid.uuid4()}))
    db.rollback()
    # ... while an answered one beside it is allowed.
    db.execute(sa.insert(t).values(**{**original, "id": uuid.uuid4(), "status": "responded"}))
    db.rollback()


# ---- the decision stays in force -----------------------------------------------------------


def test_decision_stays_in_force_while_the_appeal_runs(api, db):
    m = ended(api)
    before = expect(m.record.get(m.url), 200)
    appeal = lodge(m)
    after = expect(m.record.get(m.url), 200)
    assert after["status"] == "ended"
    assert after["decisions"] == before["decisions"]
    assert [d["outcome"] for d in after["decisions"]] == ["register"]
    assert appeal["decision_in_force"] is True
    [decision] = decision_rows(db, m.conference_id)
    assert decision.superseded_at is None and decision.outcome == "register"


# ---- responding ---------------------------------------------------------------------------


def test_chair_confirms_the_decision(api, db):
    m = ended(api)
    appeal = lodge(m)
    api.set_clock("2026-01-05T12:00:00Z")
    r = m.chair.post(f"/v1/appeals/{appeal['id']}/response", json=respond_body("decision_confirmed"))
    answered = expect(r, 200)
    assert r.headers["etag"].strip('W/"') == str(answered["version"])
    assert answered["version"] > appeal["version"]
    assert answered["status"] == "responded"
    assert answered["outcome"] == "decision_confirmed"
    assert answered["outcome_label"] == "Registration decision confirmed"
    assert answered["response_text"] == "We looked again at the decision."
    assert answered["responded_at"].startswith("2026-01-05T12:00:00")
    assert answered["reconvened_conference_id"] is None
    assert answered["decision_in_force"] is True and answered["overdue"] is False
    due = only_deadline(answered)
    assert due["status"] == "met" and due["met_at"].startswith("2026-01-05T12:00:00")

    row = appeal_row(db, appeal["id"])
    assert row.status == "responded" and row.outcome == "decision_confirmed" and row.responded_by == "chair-1"
    [deadline] = deadline_rows(db, appeal["id"])
    assert deadline.met_at is not None
    [event] = events(db, m.authority, "appeal.responded")
    assert event.subject_id == appeal["id"] and event.data["outcome"] == "decision_confirmed"
    assert event.data["child_id"] == m.child_ids[0]
    [entry] = audits(db, m.authority, "appeal.responded")
    assert entry.entity_id == appeal["id"] and entry.actor_sub == "chair-1"
    assert events(db, m.authority, "conference.reconvene_requested") == []
    assert len(conferences(db, m.authority)) == 1
    [decision] = decision_rows(db, m.conference_id)
    assert decision.superseded_at is None and decision.outcome == "register"


def test_chair_reconvenes_the_meeting(api, db):
    m = ended(api)
    appeal = lodge(m)
    answered = respond(m, appeal["id"], "reconvene")
    assert answered["status"] == "responded" and answered["outcome"] == "reconvene"
    assert answered["outcome_label"] == "Meeting reconvened"
    new_id = answered["reconvened_conference_id"]
    assert new_id is not None and new_id != m.conference_id
    assert answered["decision_in_force"] is True

    new = expect(m.record.get(f"/v1/conferences/{new_id}"), 200)
    assert new["status"] == "scheduled"
    assert new["reconvened_from"] == m.conference_id
    assert new["chair_id"] == "chair-2"
    assert new["child_ids"] == m.child_ids
    assert new["scheduled_start"].startswith("2026-01-08T10:00:00")

    original = expect(m.record.get(m.url), 200)
    assert original["status"] == "ended"
    assert [d["outcome"] for d in original["decisions"]] == ["register"]
    assert appeal_row(db, appeal["id"]).reconvened_conference_id == uuid.UUID(new_id)
    [requested] = events(db, m.authority, "conference.reconvene_requested")
    assert requested.subject_kind == "conference" and requested.subject_id == m.conference_id
    assert requested.data["reconvened_conference_id"] == new_id
    assert requested.data["appeal_id"] == appeal["id"]
    # the last of the appeal's own events (the response's document follows: test_documents.py)
    appeal_types = [e.type for e in events(db, m.authority) if not e.type.startswith("document.")]
    assert appeal_types[-1] == "appeal.responded"
    [decision] = decision_rows(db, m.conference_id)
    assert decision.superseded_at is None


def test_reconvene_details_go_with_the_reconvene_outcome_only(api, db):
    m = ended(api)
    appeal = lodge(m)
    details = {"scheduled_start": "2026-01-08T10:00:00Z", "chair_id": "chair-2", "chair_name": "Chair Two"}
    for payload in (
        {"outcome": "reconvene", "response_text": "Answer"},
        {"outcome": "decision_confirmed", "response_text": "Answer", "reconvene": details},
    ):
        r = m.chair.post(f"/v1/appeals/{appeal['id']}/response", json=payload)
        expect(r, 422, "validation_error")
    assert appeal_row(db, appeal["id"]).status == "lodged"
    assert len(conferences(db, m.authority)) == 1
    assert events(db, m.authority, "appeal.responded") == []


def test_invalid_response_is_a_validation_error(api, db):
    m = ended(api)
    appeal = lodge(m)
    for change in (
        {"outcome": "uphold"},
        {"outcome": "change_category"},
        {"outcome": None},
        {"response_text": ""},
        {"reconvene": {"scheduled_start": "2026-01-08T10:00:00Z", "chair_id": "c"}, "outcome": "reconvene"},
    ):
        r = m.chair.post(f"/v1/appeals/{appeal['id']}/response", json=respond_body(**change))
        expect(r, 422, "validation_error")
    assert appeal_row(db, appeal["id"]).status == "lodged"


def test_a_second_response_is_an_invalid_transition(api, db):
    m = ended(api)
    appeal = lodge(m)
    respond(m, appeal["id"])
    r = m.chair.post(f"/v1/appeals/{appeal['id']}/response", json=respond_body("reconvene"))
    expect(r, 409, "invalid_transition")
    row = appeal_row(db, appeal["id"])
    assert row.outcome == "decision_confirmed" and row.reconvened_conference_id is None
    assert len(events(db, m.authority, "appeal.responded")) == 1
    assert len(conferences(db, m.authority)) == 1


def test_only_the_profiles_responder_role_answers(api, db):
    m = ended(api)
    appeal = lodge(m)
    for roles in (("professional",), ("reviewer",), ("admin",), ("record_system",), ("reporting",)):
        caller = api.as_("someone", *roles, authority=m.authority)
        r = caller.post(f"/v1/appeals/{appeal['id']}/response", json=respond_body())
        expect(r, 403, "forbidden")
    assert appeal_row(db, appeal["id"]).status == "lodged"
    assert events(db, m.authority, "appeal.responded") == []


def test_lead_social_worker_who_lodged_cannot_answer(api, db):
    m = ended(api)
    social_worker = api.as_("prof-2", "professional", authority=m.authority)
    appeal = lodge(m, social_worker, lead="Lee")
    expect(social_worker.post(f"/v1/appeals/{appeal['id']}/response", json=respond_body()), 403, "forbidden")
    assert appeal_row(db, appeal["id"]).status == "lodged"


def test_a_chair_of_another_meeting_cannot_answer(api, db):
    m = ended(api)
    appeal = lodge(m)
    other_chair = api.as_("chair-9", "chair", authority=m.authority)
    expect(other_chair.post(f"/v1/appeals/{appeal['id']}/response", json=respond_body()), 404, "not_found")
    assert appeal_row(db, appeal["id"]).status == "lodged"


def test_response_with_a_stale_if_match_is_refused(api, db):
    m = ended(api)
    appeal = lodge(m)
    stale = str(appeal["version"] + 1)
    r = m.chair.post(f"/v1/appeals/{appeal['id']}/response", json=respond_body(), headers={"If-Match": stale})
    expect(r, 412, "precondition_failed")
    assert appeal_row(db, appeal["id"]).status == "lodged"


# ---- overdue ------------------------------------------------------------------------------


def test_appeal_becomes_overdue_after_28_days_unanswered(api):
    m = ended(api)
    appeal = lodge(m)
    api.set_clock(f"{RESPONSE_DUE}T23:59:00Z")
    assert expect(m.record.get(f"/v1/appeals/{appeal['id']}"), 200)["overdue"] is False
    api.set_clock("2026-01-17T00:00:01Z")
    shown = expect(m.record.get(f"/v1/appeals/{appeal['id']}"), 200)
    assert shown["overdue"] is True
    assert only_deadline(shown)["status"] == "missed"
    [item] = expect(m.record.get("/v1/appeals"), 200)["items"]
    assert item["id"] == appeal["id"] and item["overdue"] is True
    # A late answer is still accepted; it clears the overdue flag but the deadline stays missed.
    answered = respond(m, appeal["id"])
    assert answered["overdue"] is False
    [item] = expect(m.record.get("/v1/appeals"), 200)["items"]
    assert item["overdue"] is False


# ---- reading and visibility ---------------------------------------------------------------


def test_whole_authority_roles_see_every_appeal(api, db):
    m = ended(api)
    appeal = lodge(m)
    for role in ("reviewer", "admin", "record_system"):
        caller = api.as_(f"{role}-x", role, authority=m.authority)
        assert listed(caller) == [appeal["id"]]
        assert expect(caller.get(f"/v1/appeals/{appeal['id']}"), 200)["grounds"]
    reads = audits(db, m.authority, "appeal.read")
    assert len(reads) == 3 and {r.entity_id for r in reads} == {appeal["id"]}
    assert len(audits(db, m.authority, "appeal.list")) == 3


def test_the_meetings_chair_sees_its_appeals_and_another_chair_does_not(api):
    m = ended(api)
    appeal = lodge(m)
    assert listed(m.chair) == [appeal["id"]]
    expect(m.chair.get(f"/v1/appeals/{appeal['id']}"), 200)
    other_chair = api.as_("chair-9", "chair", authority=m.authority)
    assert listed(other_chair) == []
    expect(other_chair.get(f"/v1/appeals/{appeal['id']}"), 404, "not_found")


def test_the_lodging_professional_sees_it_and_another_professional_does_not(api):
    m = ended(api)
    social_worker = api.as_("prof-2", "professional", authority=m.authority)
    mine = lodge(m, social_worker, lead="Lee", name="Jo Parent")
    family = lodge(m, name="Sam Parent")
    assert listed(social_worker) == [mine["id"]]
    expect(social_worker.get(f"/v1/appeals/{mine['id']}"), 200)
    expect(social_worker.get(f"/v1/appeals/{family['id']}"), 404, "not_found")
    # prof-1 attended the meeting but lodged nothing.
    assert listed(m.professional) == []
    expect(m.professional.get(f"/v1/appeals/{mine['id']}"), 404, "not_found")


def test_reporting_cannot_read_appeals(api):
    m = ended(api)
    appeal = lodge(m)
    reporting = api.as_("rep-1", "reporting", authority=m.authority)
    expect(reporting.get("/v1/appeals"), 403, "forbidden")
    expect(reporting.get(f"/v1/appeals/{appeal['id']}"), 403, "forbidden")


def test_appeal_of_another_authority_is_not_found(api):
    m = ended(api)
    appeal = lodge(m)
    other = ended(api, lodge_at=None)
    assert listed(other.record) == []
    expect(other.record.get(f"/v1/appeals/{appeal['id']}"), 404, "not_found")
    expect(other.chair.get(f"/v1/appeals/{appeal['id']}"), 404, "not_found")
    expect(other.chair.post(f"/v1/appeals/{appeal['id']}/response", json=respond_body()), 404, "not_found")
    expect(m.record.get(f"/v1/appeals/{uuid.uuid4()}"), 404, "not_found")


def test_list_filters(api):
    m1 = ended(api, children=2)
    m2 = ended(api, authority=m1.authority)
    a = lodge(m1, child_id=m1.child_ids[0])
    b = lodge(m1, child_id=m1.child_ids[1])
    c = lodge(m2)
    respond(m1, b["id"])
    assert sorted(listed(m1.record)) == sorted([a["id"], b["id"], c["id"]])
    assert sorted(listed(m1.record, "?status=lodged")) == sorted([a["id"], c["id"]])
    assert listed(m1.record, "?status=responded") == [b["id"]]
    assert sorted(listed(m1.record, f"?conference_id={m1.conference_id}")) == sorted([a["id"], b["id"]])
    assert listed(m1.record, f"?conference_id={m2.conference_id}") == [c["id"]]
    assert listed(m1.record, f"?child_id={m1.child_ids[1]}") == [b["id"]]
    assert listed(m1.record, f"?child_id={m1.child_ids[1]}&status=lodged") == []
    assert listed(m1.record, f"?conference_id={uuid.uuid4()}") == []
    expect(m1.record.get("/v1/appeals?status=open"), 422, "validation_error")


def test_list_pages_walk_every_appeal_once(api):
    m = ended(api)
    ids = {lodge(m, name=f"Person {n}")["id"] for n in range(5)}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = expect(
            m.record.get("/v1/appeals", params={"limit": 2, **({"cursor": cursor} if cursor else {})}), 200
        )
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5 and set(seen) == ids


# ---- whole scenarios, traced on the child's record ------------------------------------------


def record_of(m: Meeting, child_id: str) -> list[dict[str, Any]]:
    return expect(m.record.get(f"/v1/children/{child_id}/record"), 200)["items"]


def test_scenario_appeal_answered_with_decision_confirmed(api, db):
    m = ended(api)
    assert [e["kind"] for e in record_of(m, m.child_ids[0])] == ["decision"]
    appeal = lodge(m, name="Jo Parent", relationship="parent")
    api.set_clock("2026-01-06T11:00:00Z")
    respond(m, appeal["id"], "decision_confirmed", response_text="The registration stays.")
    entries = record_of(m, m.child_ids[0])
    assert [e["kind"] for e in entries] == ["appeal_response", "decision"]
    response = entries[0]
    assert response["source_id"] == appeal["id"] and response["conference_id"] == m.conference_id
    assert response["text"] == "The registration stays."
    assert response["data"]["outcome"] == "decision_confirmed"
    assert "Registration decision confirmed" in response["summary"]
    assert response["occurred_at"].startswith("2026-01-06T11:00:00")
    types = [e.type for e in events(db, m.authority)]
    assert types.index("conference.ended") < types.index("appeal.lodged") < types.index("appeal.responded")
    assert count(db, Dissent, m.authority) == 0
    t = ChildRecordEntry.__table__
    stored = fetch(db, sa.select(t.c.kind).where(t.c.child_id == uuid.UUID(m.child_ids[0])))
    assert sorted(r.kind for r in stored) == ["appeal_response", "decision"]


def test_scenario_appeal_answered_with_reconvene(api, db):
    m = ended(api, children=2)
    appeal = lodge(m, child_id=m.child_ids[1], name="Jo Parent", relationship="expectant_parent")
    api.set_clock("2026-01-06T11:00:00Z")
    answered = respond(m, appeal["id"], "reconvene", response_text="The meeting will meet again.")
    entries = record_of(m, m.child_ids[1])
    assert [e["kind"] for e in entries] == ["appeal_response", "decision"]
    assert (
        entries[0]["data"]["outcome"] == "reconvene" and entries[0]["text"] == "The meeting will meet again."
    )
    # The other child's record carries no appeal entry.
    assert [e["kind"] for e in record_of(m, m.child_ids[0])] == ["decision"]
    new = expect(m.record.get(f"/v1/conferences/{answered['reconvened_conference_id']}"), 200)
    assert new["status"] == "scheduled" and new["reconvened_from"] == m.conference_id
    assert sorted(new["child_ids"]) == sorted(m.child_ids)
    types = [e.type for e in events(db, m.authority) if not e.type.startswith("document.")]
    assert types.index("appeal.lodged") < types.index("conference.reconvene_requested")
    assert types[-1] == "appeal.responded"  # then the response's document (test_documents.py)
    # The original decisions still stand until the reconvened meeting decides.
    assert all(d.superseded_at is None for d in decision_rows(db, m.conference_id))


# ---- complaints ---------------------------------------------------------------------------


def complaint(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "about": "practitioner",
        "agency": "Northshire Health Board",
        "summary": "The health visitor was rude to us at the meeting.",
    }
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


@pytest.mark.parametrize("profile", [ENGLAND, CARM, REGISTRATION])
def test_complaint_is_recorded_and_routed_to_the_agency(api, db, profile):
    m = ended(api, profile)
    for n, about in enumerate(("practitioner", "service")):
        r = m.professional.post("/v1/complaints", json=complaint(about=about, conference_id=m.conference_id))
        out = expect(r, 201)
        assert out["about"] == about and out["agency"] == "Northshire Health Board"
        assert out["conference_id"] == m.conference_id
        assert out["is_dissent_or_appeal"] is False
        assert "Northshire Health Board" in out["route"] and "complaints procedure" in out["route"]
        t = Complaint.__table__
        [row] = fetch(db, sa.select(t).where(t.c.id == uuid.UUID(out["id"])))
        assert row.about == about and row.recorded_by == "prof-1" and row.route == out["route"]
        recorded = events(db, m.authority, "complaint.recorded")
        assert len(recorded) == n + 1
        assert recorded[-1].subject_kind == "complaint" and recorded[-1].subject_id == out["id"]
        assert audits(db, m.authority, "complaint.recorded")[-1].entity_id == out["id"]
    assert count(db, Dissent, m.authority) == 0
    assert count(db, Appeal, m.authority) == 0
    assert not [e for e in events(db, m.authority) if e.type.startswith(("appeal.", "dissent."))]


def test_complaint_without_a_conference(api, db):
    m = ended(api)
    out = expect(m.record.post("/v1/complaints", json=complaint(about="service")), 201)
    assert out["conference_id"] is None and out["is_dissent_or_appeal"] is False
    assert count(db, Complaint, m.authority) == 1


def test_complaint_about_an_unknown_or_foreign_conference_is_refused(api, db):
    m = ended(api)
    other = ended(api, lodge_at=None)
    for conference_id in (str(uuid.uuid4()), other.conference_id):
        r = m.record.post("/v1/complaints", json=complaint(conference_id=conference_id))
        expect(r, 422, "conference_not_found")
    assert count(db, Complaint, m.authority) == 0
    assert events(db, m.authority, "complaint.recorded") == []


def test_invalid_complaint_is_a_validation_error(api, db):
    m = ended(api)
    for change in (
        {"about": "decision"},
        {"about": "dissent"},
        {"about": None},
        {"agency": ""},
        {"summary": ""},
    ):
        expect(m.record.post("/v1/complaints", json=complaint(**change)), 422, "validation_error")
    assert count(db, Complaint, m.authority) == 0


def test_reporting_cannot_record_a_complaint(api, db):
    m = ended(api)
    reporting = api.as_("rep-1", "reporting", authority=m.authority)
    expect(reporting.post("/v1/complaints", json=complaint()), 403, "forbidden")
    assert count(db, Complaint, m.authority) == 0


def test_only_admin_lists_complaints(api, db):
    m = ended(api)
    first = expect(m.professional.post("/v1/complaints", json=complaint()), 201)
    other = ended(api, lodge_at=None)
    expect(other.professional.post("/v1/complaints", json=complaint()), 201)
    page = expect(m.admin.get("/v1/complaints"), 200)
    assert [c["id"] for c in page["items"]] == [first["id"]]
    assert page["items"][0]["route"] == first["route"]
    for roles in (("record_system",), ("professional",), ("chair",), ("reviewer",), ("reporting",)):
        caller = api.as_("someone", *roles, authority=m.authority)
        expect(caller.get("/v1/complaints"), 403, "forbidden")
