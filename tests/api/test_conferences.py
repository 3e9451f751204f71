"""API tests for conferences: scheduling, attendance, the meeting (start, decisions,
confirmations, end), cancellation, reconvened meetings and the appeal deadline (SPEC §3-§5)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import (
    CATEGORY,
    PROFILES,
    Meeting,
    create_authority,
    create_child,
    expect,
    make_meeting,
    rows,
)

MEETING_TYPE = {
    "england-cp-conference": "initial_conference",
    "scotland-cppm-carm": "carm",
    "scotland-cppm-registration": "review_cppm",
}

# ---- helpers ------------------------------------------------------------------------------------


def by_id(db: sa.Connection, sql: str, id_: str | uuid.UUID) -> list[Any]:
    """Rows of `sql` whose `:id` (a UUID column) equals id_."""
    db.rollback()
    stmt = sa.text(sql).bindparams(sa.bindparam("id", type_=sa.Uuid()))
    return list(db.execute(stmt, {"id": uuid.UUID(str(id_))}).all())


def conference_row(db: sa.Connection, conference_id: str) -> Any:
    found = by_id(db, "SELECT * FROM conference WHERE id = :id", conference_id)
    assert len(found) == 1
    return found[0]


def current_decisions(db: sa.Connection, conference_id: str) -> list[Any]:
    return by_id(
        db,
        "SELECT child_id, outcome, categories FROM decision"
        " WHERE conference_id = :id AND superseded_at IS NULL",
        conference_id,
    )


def event_types(db: sa.Connection, subject_id: str) -> list[str]:
    return [
        r.type for r in rows(db, "SELECT type FROM event WHERE subject_id = :s ORDER BY seq", s=subject_id)
    ]


def audit_rows(db: sa.Connection, entity_id: str) -> list[Any]:
    return rows(
        db,
        "SELECT action, actor_sub, authority_code FROM audit_entry WHERE entity_id = :e ORDER BY id",
        e=entity_id,
    )


def record(api, authority: str):  # type: ignore[no-untyped-def]
    return api.as_("record-system", "record_system", authority=authority)


def conference_body(child_ids: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "meeting_type": "initial_conference",
        "scheduled_start": "2025-12-18T10:00:00Z",
        "chair_id": "chair-1",
        "chair_name": "Sam Chair",
        "child_ids": child_ids,
    } | fields


def attendee(
    person_id: str, kind: str = "professional", attended: bool = True, **fields: Any
) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "name": person_id.title(),
        "role_title": "Worker",
        "agency": "Agency",
        "kind": kind,
        "attended": attended,
    } | fields


def conference_decision(m: Meeting, child_id: str, outcome: str, categories: list[str]):  # type: ignore[no-untyped-def]
    return m.chair.post(
        f"{m.url}/decisions", json={"child_id": child_id, "outcome": outcome, "categories": categories}
    )


def ended_meeting(api, profile: str, **kw: Any) -> Meeting:  # type: ignore[no-untyped-def]
    m = make_meeting(api, profile, **kw)
    m.start()
    m.decide_all()
    m.confirm_all()
    m.end()
    return m


# ---- creating conferences -----------------------------------------------------------------------


def test_record_system_schedules_a_conference(api, db) -> None:
    code = create_authority(api, "england-cp-conference")
    children = [create_child(api, code), create_child(api, code)]
    r = record(api, code).post("/v1/conferences", json=conference_body(children))
    data = expect(r, 201)
    assert r.headers["Location"] == f"/v1/conferences/{data['id']}"
    assert r.headers["ETag"] == f'"{data["version"]}"'
    assert data["status"] == "scheduled"
    assert data["child_ids"] == children
    assert data["meeting_type"] == "initial_conference"
    assert data["meeting_date"] == "2025-12-18"
    assert data["chair_id"] == "chair-1"
    assert data["reconvened_from"] is None
    assert data["appeal_deadline"] is None
    assert data["decisions"] == [] and data["attendees"] == []
    row = conference_row(db, data["id"])
    assert row.status == "scheduled" and row.chair_id == "chair-1"
    links = by_id(
        db, "SELECT child_id FROM conference_child WHERE conference_id = :id ORDER BY position", data["id"]
    )
    assert [str(uuid.UUID(str(r.child_id))) for r in links] == children
    assert event_types(db, data["id"]) == ["conference.scheduled"]
    assert [(a.action, a.actor_sub, a.authority_code) for a in audit_rows(db, data["id"])] == [
        ("conference.scheduled", "record-system", code)
    ]


def test_meeting_date_is_the_authority_local_date(api) -> None:
    code = create_authority(api, "england-cp-conference")
    child = create_child(api, code)
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST)
    body = conference_body([child], scheduled_start="2025-06-30T23:30:00Z")
    assert expect(record(api, code).post("/v1/conferences", json=body), 201)["meeting_date"] == "2025-07-01"


@pytest.mark.parametrize("role", ["chair", "professional", "admin", "reviewer", "reporting"])
def test_only_the_record_system_schedules(api, db, role: str) -> None:
    code = create_authority(api, "england-cp-conference")
    child = create_child(api, code)
    caller = api.as_("chair-1", role, authority=code)
    expect(caller.post("/v1/conferences", json=conference_body([child])), 403, "forbidden")
    assert rows(db, "SELECT id FROM conference") == []


@pytest.mark.parametrize(
    ("profile", "meeting_type"),
    [
        ("england-cp-conference", "carm"),
        ("england-cp-conference", "initial_cppm"),
        ("scotland-cppm-registration", "carm"),
        ("scotland-cppm-carm", "initial_conference"),
    ],
)
def test_unknown_meeting_type_is_refused(api, db, profile: str, meeting_type: str) -> None:
    code = create_authority(api, profile)
    child = create_child(api, code)
    body = conference_body([child], meeting_type=meeting_type)
    expect(record(api, code).post("/v1/conferences", json=body), 422, "unknown_meeting_type")
    assert rows(db, "SELECT id FROM conference") == []


@pytest.mark.parametrize("profile", PROFILES)
def test_every_meeting_type_of_the_profile_is_accepted(api, profile: str) -> None:
    code = create_authority(api, profile)
    child = create_child(api, code)
    unborn = create_child(api, code, date_of_birth=None, expected_date_of_birth="2026-03-01")
    types = expect(api.system_admin().get(f"/v1/profiles/{profile}"), 200)["meeting_types"]
    for kind in types:
        meeting_type = kind["code"]
        body = conference_body([unborn] if kind["pre_birth"] else [child], meeting_type=meeting_type)
        assert (
            expect(record(api, code).post("/v1/conferences", json=body), 201)["meeting_type"] == meeting_type
        )


def test_unknown_child_is_refused(api, db) -> None:
    code = create_authority(api, "england-cp-conference")
    known = create_child(api, code)
    elsewhere = create_authority(api, "england-cp-conference")
    foreign = create_child(api, elsewhere)
    for missing in (str(uuid.uuid4()), foreign):
        body = conference_body([known, missing])
        expect(record(api, code).post("/v1/conferences", json=body), 422, "child_not_found")
    assert rows(db, "SELECT id FROM conference") == []


def test_naive_scheduled_start_is_refused(api, db) -> None:
    code = create_authority(api, "england-cp-conference")
    body = conference_body([create_child(api, code)], scheduled_start="2025-12-18T10:00:00")
    expect(record(api, code).post("/v1/conferences", json=body), 422, "validation_error")
    assert rows(db, "SELECT id FROM conference") == []


def test_more_than_twenty_children_is_refused(api, db) -> None:
    code = create_authority(api, "england-cp-conference")
    body = conference_body([str(uuid.uuid4()) for _ in range(21)])
    expect(record(api, code).post("/v1/conferences", json=body), 422, "validation_error")
    expect(record(api, code).post("/v1/conferences", json=conference_body([])), 422, "validation_error")
    assert rows(db, "SELECT id FROM conference") == []


def test_twenty_children_are_accepted(api) -> None:
    code = create_authority(api, "scotland-cppm-carm")
    children = [create_child(api, code) for _ in range(20)]
    body = conference_body(children, meeting_type="initial_cppm")
    assert len(expect(record(api, code).post("/v1/conferences", json=body), 201)["child_ids"]) == 20


def test_child_listed_twice_is_refused(api) -> None:
    code = create_authority(api, "england-cp-conference")
    child = create_child(api, code)
    expect(
        record(api, code).post("/v1/conferences", json=conference_body([child, child])),
        422,
        "validation_error",
    )


# ---- attendees ----------------------------------------------------------------------------------


def test_record_system_and_chair_record_attendees(api, db) -> None:
    m = make_meeting(api, attendees=False)
    r = m.record.post(f"{m.url}/attendees", json=attendee("prof-1"))
    data = expect(r, 201)
    assert data["person_id"] == "prof-1" and data["kind"] == "professional" and data["attended"] is True
    expect(m.chair.post(f"{m.url}/attendees", json=attendee("parent-1", kind="family")), 201)
    people = by_id(
        db,
        "SELECT person_id, kind FROM attendee WHERE conference_id = :id ORDER BY person_id",
        m.conference_id,
    )
    assert [tuple(p) for p in people] == [("parent-1", "family"), ("prof-1", "professional")]
    assert event_types(db, m.conference_id).count("conference.attendee_recorded") == 2
    body = expect(m.record.get(m.url), 200)
    assert {a["person_id"] for a in body["attendees"]} == {"prof-1", "parent-1"}


def test_posting_the_same_person_again_updates_them(api, db) -> None:
    m = make_meeting(api, attendees=False)
    first = expect(m.record.post(f"{m.url}/attendees", json=attendee("prof-1", attended=False)), 201)
    r = m.record.post(
        f"{m.url}/attendees", json=attendee("prof-1", attended=True, role_title="Health visitor")
    )
    second = expect(r, 200)
    assert second["id"] == first["id"]
    assert second["attended"] is True and second["role_title"] == "Health visitor"
    people = by_id(
        db, "SELECT person_id, attended, role_title FROM attendee WHERE conference_id = :id", m.conference_id
    )
    assert len(people) == 1 and bool(people[0].attended) is True and people[0].role_title == "Health visitor"


@pytest.mark.parametrize(
    ("sub", "role"), [("prof-1", "professional"), ("admin-1", "admin"), ("reviewer-1", "reviewer")]
)
def test_others_cannot_record_attendees(api, db, sub: str, role: str) -> None:
    m = make_meeting(api)
    caller = api.as_(sub, role, authority=m.authority)
    expect(caller.post(f"{m.url}/attendees", json=attendee("someone-new")), 403, "forbidden")
    assert (
        by_id(
            db,
            "SELECT id FROM attendee WHERE conference_id = :id AND person_id = 'someone-new'",
            m.conference_id,
        )
        == []
    )


def test_another_chair_cannot_record_attendees(api, db) -> None:
    m = make_meeting(api)
    other = api.as_("chair-2", "chair", authority=m.authority)
    expect(other.post(f"{m.url}/attendees", json=attendee("someone-new")), 404, "not_found")
    assert (
        by_id(
            db,
            "SELECT id FROM attendee WHERE conference_id = :id AND person_id = 'someone-new'",
            m.conference_id,
        )
        == []
    )


def test_attendees_can_be_recorded_during_the_meeting(api) -> None:
    m = make_meeting(api)
    m.start()
    expect(m.chair.post(f"{m.url}/attendees", json=attendee("late-arrival")), 201)


def test_attendees_refused_after_the_meeting_ended(api, db) -> None:
    m = ended_meeting(api, "england-cp-conference")
    expect(m.record.post(f"{m.url}/attendees", json=attendee("after-1")), 409, "conference_closed")
    expect(
        m.chair.post(f"{m.url}/attendees", json=attendee("prof-1", attended=False)), 409, "conference_closed"
    )
    stored = by_id(db, "SELECT person_id, attended FROM attendee WHERE conference_id = :id", m.conference_id)
    assert "after-1" not in {p.person_id for p in stored}
    assert bool(next(p for p in stored if p.person_id == "prof-1").attended) is True


def test_attendees_refused_after_cancellation(api) -> None:
    m = make_meeting(api, attendees=False)
    expect(m.record.post(f"{m.url}/cancel"), 200)
    expect(m.record.post(f"{m.url}/attendees", json=attendee("prof-1")), 409, "conference_closed")


def test_attendee_kind_must_be_known(api) -> None:
    m = make_meeting(api, attendees=False)
    expect(m.record.post(f"{m.url}/attendees", json=attendee("x", kind="friend")), 422, "validation_error")


# ---- chair-only actions -------------------------------------------------------------------------

CHAIR_ACTIONS = ("start", "dissent-invitation", "end")


@pytest.mark.parametrize("action", CHAIR_ACTIONS)
def test_another_chair_cannot_see_the_meeting(api, db, action: str) -> None:
    m = make_meeting(api)
    if action != "start":
        m.start()
    other = api.as_("chair-2", "chair", authority=m.authority)
    expect(other.post(f"{m.url}/{action}"), 404, "not_found")
    expect(other.get(m.url), 404, "not_found")
    assert conference_row(db, m.conference_id).status == ("scheduled" if action == "start" else "in_progress")


@pytest.mark.parametrize("action", CHAIR_ACTIONS)
def test_a_professional_attendee_cannot_act_as_chair(api, db, action: str) -> None:
    m = make_meeting(api)
    if action != "start":
        m.start()
    expect(m.professional.post(f"{m.url}/{action}"), 403, "forbidden")
    # even holding the chair role, an attendee who is not this meeting's chair is refused
    both = api.as_("prof-2", "chair", "professional", authority=m.authority)
    expect(both.post(f"{m.url}/{action}"), 403, "forbidden")
    row = conference_row(db, m.conference_id)
    assert row.status == ("scheduled" if action == "start" else "in_progress")
    assert row.dissent_invited_at is None


@pytest.mark.parametrize("role", ["record_system", "admin", "reviewer"])
def test_whole_authority_roles_cannot_chair(api, role: str) -> None:
    m = make_meeting(api)
    caller = api.as_("chair-1", role, authority=m.authority)
    expect(caller.post(f"{m.url}/start"), 403, "forbidden")


def test_decisions_only_by_this_chair(api, db) -> None:
    m = make_meeting(api)
    m.start()
    body = {"child_id": m.child_ids[0], "outcome": "register", "categories": ["NEG"]}
    expect(
        api.as_("chair-2", "chair", authority=m.authority).post(f"{m.url}/decisions", json=body),
        404,
        "not_found",
    )
    expect(m.professional.post(f"{m.url}/decisions", json=body), 403, "forbidden")
    expect(m.record.post(f"{m.url}/decisions", json=body), 403, "forbidden")
    assert current_decisions(db, m.conference_id) == []


def test_appeal_rights_only_by_this_chair(api) -> None:
    m = make_meeting(api, "scotland-cppm-registration")
    m.start()
    expect(api.as_("chair-2", "chair", authority=m.authority).post(f"{m.url}/appeal-rights-explained"), 404)
    expect(m.professional.post(f"{m.url}/appeal-rights-explained"), 403, "forbidden")
    assert expect(m.chair.get(m.url), 200)["appeal_rights_explained_at"] is None


def test_start(api, db) -> None:
    api.set_clock("2025-12-18T10:05:00Z")
    m = make_meeting(api)
    r = m.chair.post(f"{m.url}/start")
    data = expect(r, 200)
    assert data["status"] == "in_progress"
    assert data["started_at"] == "2025-12-18T10:05:00Z"
    assert r.headers["ETag"] == f'"{data["version"]}"' and data["version"] > 1
    assert conference_row(db, m.conference_id).status == "in_progress"
    assert "conference.started" in event_types(db, m.conference_id)
    assert ("conference.started", "chair-1") in [
        (a.action, a.actor_sub) for a in audit_rows(db, m.conference_id)
    ]


def test_start_twice_is_refused(api) -> None:
    m = make_meeting(api)
    m.start()
    expect(m.chair.post(f"{m.url}/start"), 409, "invalid_transition")


def test_end_before_start_is_refused(api) -> None:
    m = make_meeting(api)
    expect(m.chair.post(f"{m.url}/end"), 409, "invalid_transition")


def test_end_twice_and_start_after_end_are_refused(api) -> None:
    m = ended_meeting(api, "england-cp-conference")
    expect(m.chair.post(f"{m.url}/end"), 409, "invalid_transition")
    expect(m.chair.post(f"{m.url}/start"), 409, "invalid_transition")


# ---- decisions ----------------------------------------------------------------------------------


def test_decisions_only_while_in_progress(api, db) -> None:
    m = make_meeting(api)
    expect(conference_decision(m, m.child_ids[0], "register", ["NEG"]), 409, "conference_not_in_progress")
    assert current_decisions(db, m.conference_id) == []
    m2 = ended_meeting(api, "england-cp-conference")
    expect(conference_decision(m2, m2.child_ids[0], "not_register", []), 409, "conference_not_in_progress")
    assert [d.outcome for d in current_decisions(db, m2.conference_id)] == ["register"]


def test_decision_for_a_child_not_in_the_meeting_is_refused(api, db) -> None:
    m = make_meeting(api)
    m.start()
    outsider = create_child(api, m.authority)
    expect(conference_decision(m, outsider, "register", ["NEG"]), 422, "child_not_in_conference")
    expect(conference_decision(m, str(uuid.uuid4()), "register", ["NEG"]), 422, "child_not_in_conference")
    assert current_decisions(db, m.conference_id) == []


@pytest.mark.parametrize(
    ("profile", "outcome", "categories", "code"),
    [
        ("england-cp-conference", "register", ["neglect"], "unknown_category"),
        ("scotland-cppm-carm", "register", ["NEG"], "unknown_category"),
        ("england-cp-conference", "register", [], "categories_required"),
        ("scotland-cppm-carm", "continue", [], "categories_required"),
        ("scotland-cppm-registration", "register", [], "categories_required"),
        ("england-cp-conference", "not_register", ["NEG"], "categories_not_allowed"),
        ("scotland-cppm-registration", "deregister", ["neglect"], "categories_not_allowed"),
        ("england-cp-conference", "register", ["NEG", "EMO"], "too_many_categories"),
    ],
)
def test_decision_category_rules(
    api, db, profile: str, outcome: str, categories: list[str], code: str
) -> None:
    m = make_meeting(api, profile)
    m.start()
    expect(conference_decision(m, m.child_ids[0], outcome, categories), 422, code)
    assert current_decisions(db, m.conference_id) == []


def test_scotland_records_several_areas_of_concern(api) -> None:
    m = make_meeting(api, "scotland-cppm-carm")
    m.start()
    data = expect(conference_decision(m, m.child_ids[0], "register", ["neglect", "domestic_abuse"]), 200)
    assert data["decisions"][0]["categories"] == ["neglect", "domestic_abuse"]


def test_unknown_outcome_is_refused(api) -> None:
    m = make_meeting(api)
    m.start()
    expect(conference_decision(m, m.child_ids[0], "overturn", []), 422, "validation_error")


def test_decision_is_replaceable_while_in_progress(api, db) -> None:
    m = make_meeting(api, "england-cp-conference", children=2)
    m.start()
    first = expect(conference_decision(m, m.child_ids[0], "register", ["NEG"]), 200)
    assert [d["outcome"] for d in first["decisions"]] == ["register"]
    assert first["decisions"][0]["outcome_label"] == "Child Protection Plan started"
    second = expect(conference_decision(m, m.child_ids[0], "not_register", []), 200)
    assert [(d["child_id"], d["outcome"], d["categories"]) for d in second["decisions"]] == [
        (m.child_ids[0], "not_register", [])
    ]
    expect(conference_decision(m, m.child_ids[1], "register", ["EMO"]), 200)
    stored = current_decisions(db, m.conference_id)
    per_child: dict[str, list[str]] = {}
    for d in stored:
        per_child.setdefault(str(uuid.UUID(str(d.child_id))), []).append(d.outcome)
    assert per_child == {m.child_ids[0]: ["not_register"], m.child_ids[1]: ["register"]}
    assert event_types(db, m.conference_id).count("conference.decision_recorded") == 3


# ---- confirmations and ending -------------------------------------------------------------------


def test_end_refused_while_a_child_lacks_a_decision(api, db) -> None:
    m = make_meeting(api, "england-cp-conference", children=2)
    m.start()
    expect(m.chair.post(f"{m.url}/dissent-invitation"), 200)
    body = expect(m.chair.post(f"{m.url}/end"), 409, "decisions_missing")
    assert m.child_ids[0] in body["detail"] and m.child_ids[1] in body["detail"]
    expect(conference_decision(m, m.child_ids[0], "register", ["NEG"]), 200)
    body = expect(m.chair.post(f"{m.url}/end"), 409, "decisions_missing")
    assert m.child_ids[1] in body["detail"] and m.child_ids[0] not in body["detail"]
    assert conference_row(db, m.conference_id).status == "in_progress"
    assert "conference.ended" not in event_types(db, m.conference_id)


@pytest.mark.parametrize("profile", PROFILES)
def test_end_refused_until_the_chair_invites_dissent(api, db, profile: str) -> None:
    m = make_meeting(api, profile)
    m.start()
    m.decide_all()
    if profile == "scotland-cppm-registration":
        expect(m.chair.post(f"{m.url}/appeal-rights-explained"), 200)
    expect(m.chair.post(f"{m.url}/end"), 409, "dissent_invitation_required")
    assert conference_row(db, m.conference_id).status == "in_progress"
    data = expect(m.chair.post(f"{m.url}/dissent-invitation"), 200)
    assert data["dissent_invited_at"] is not None
    assert conference_row(db, m.conference_id).dissent_invited_at is not None
    assert "conference.dissent_invited" in event_types(db, m.conference_id)
    assert m.end()["status"] == "ended"


def test_registration_profile_needs_appeal_rights_explained(api, db) -> None:
    m = make_meeting(api, "scotland-cppm-registration")
    m.start()
    m.decide_all()
    expect(m.chair.post(f"{m.url}/dissent-invitation"), 200)
    expect(m.chair.post(f"{m.url}/end"), 409, "appeal_rights_explanation_required")
    assert conference_row(db, m.conference_id).status == "in_progress"
    data = expect(m.chair.post(f"{m.url}/appeal-rights-explained"), 200)
    assert data["appeal_rights_explained_at"] is not None
    assert "conference.appeal_rights_explained" in event_types(db, m.conference_id)
    assert m.end()["status"] == "ended"


def test_end_blockers_are_all_listed_first_one_as_code(api) -> None:
    m = make_meeting(api, "scotland-cppm-registration")
    m.start()
    body = expect(m.chair.post(f"{m.url}/end"), 409, "decisions_missing")
    assert [e["code"] for e in body["errors"]] == [
        "decisions_missing",
        "dissent_invitation_required",
        "appeal_rights_explanation_required",
    ]


@pytest.mark.parametrize("profile", ["england-cp-conference", "scotland-cppm-carm"])
def test_appeal_rights_not_available_without_appeals(api, db, profile: str) -> None:
    m = make_meeting(api, profile)
    m.start()
    expect(m.chair.post(f"{m.url}/appeal-rights-explained"), 422, "appeals_not_available")
    assert conference_row(db, m.conference_id).appeal_rights_explained_at is None


def test_confirmations_only_while_in_progress(api) -> None:
    m = make_meeting(api, "scotland-cppm-registration")
    expect(m.chair.post(f"{m.url}/dissent-invitation"), 409, "conference_not_in_progress")
    expect(m.chair.post(f"{m.url}/appeal-rights-explained"), 409, "conference_not_in_progress")


def test_appeal_deadline_after_a_scottish_registration_meeting(api, db) -> None:
    api.set_clock("2025-11-27T10:00:00Z")
    m = make_meeting(api, "scotland-cppm-registration", scheduled_start="2025-11-27T10:00:00Z")
    assert expect(m.chair.get(m.url), 200)["appeal_deadline"] is None
    m.start()
    m.decide_all()
    m.confirm_all()
    assert expect(m.chair.get(m.url), 200)["appeal_deadline"] is None
    ended = m.end()
    assert ended["status"] == "ended"
    assert ended["ended_at"] == "2025-11-27T10:00:00Z"
    deadline = ended["appeal_deadline"]
    assert deadline["due_date"] == "2025-12-05"
    assert deadline["due_at"] == "2025-12-05T23:59:59.999999Z"
    assert "2025-12-01" in deadline["explanation"]
    assert expect(m.professional.get(m.url), 200)["appeal_deadline"] == deadline
    row = conference_row(db, m.conference_id)
    assert str(row.appeal_due_at).startswith("2025-12-05 23:59:59.999999")


def test_appeal_deadline_counts_from_the_day_the_meeting_actually_started(api) -> None:
    api.set_clock("2025-11-27T09:30:00Z")
    m = make_meeting(api, "scotland-cppm-registration", scheduled_start="2025-11-20T10:00:00Z")
    assert m.start()["meeting_date"] == "2025-11-27"
    m.decide_all()
    m.confirm_all()
    assert m.end()["appeal_deadline"]["due_date"] == "2025-12-05"


@pytest.mark.parametrize("profile", ["england-cp-conference", "scotland-cppm-carm"])
def test_no_appeal_deadline_without_appeals(api, db, profile: str) -> None:
    api.set_clock("2025-11-27T10:00:00Z")
    m = ended_meeting(api, profile, scheduled_start="2025-11-27T10:00:00Z")
    assert expect(m.chair.get(m.url), 200)["appeal_deadline"] is None
    assert conference_row(db, m.conference_id).appeal_due_at is None


# ---- cancellation -------------------------------------------------------------------------------


def test_cancel_a_scheduled_meeting(api, db) -> None:
    m = make_meeting(api)
    data = expect(m.record.post(f"{m.url}/cancel"), 200)
    assert data["status"] == "cancelled" and data["cancelled_at"] is not None
    assert conference_row(db, m.conference_id).status == "cancelled"
    assert "conference.cancelled" in event_types(db, m.conference_id)
    expect(m.chair.post(f"{m.url}/start"), 409, "invalid_transition")
    expect(m.record.post(f"{m.url}/cancel"), 409, "invalid_transition")


def test_the_chair_may_cancel_a_scheduled_meeting(api) -> None:
    m = make_meeting(api)
    assert expect(m.chair.post(f"{m.url}/cancel"), 200)["status"] == "cancelled"


def test_cancel_refused_once_started(api, db) -> None:
    m = make_meeting(api)
    m.start()
    expect(m.record.post(f"{m.url}/cancel"), 409, "invalid_transition")
    expect(m.chair.post(f"{m.url}/cancel"), 409, "invalid_transition")
    assert conference_row(db, m.conference_id).status == "in_progress"
    m2 = ended_meeting(api, "scotland-cppm-carm")
    expect(m2.record.post(f"{m2.url}/cancel"), 409, "invalid_transition")


def test_others_cannot_cancel(api, db) -> None:
    m = make_meeting(api)
    expect(m.professional.post(f"{m.url}/cancel"), 403, "forbidden")
    expect(api.as_("chair-2", "chair", authority=m.authority).post(f"{m.url}/cancel"), 404, "not_found")
    assert conference_row(db, m.conference_id).status == "scheduled"


# ---- reconvened meetings ------------------------------------------------------------------------


def reconvene(m: Meeting, chair_id: str):  # type: ignore[no-untyped-def]
    body = conference_body(
        m.child_ids,
        meeting_type=MEETING_TYPE[m.profile] if m.profile != "england-cp-conference" else "review_conference",
        chair_id=chair_id,
        chair_name=chair_id.title(),
        reconvened_from=m.conference_id,
        scheduled_start="2026-01-10T10:00:00Z",
    )
    return m.record.post("/v1/conferences", json=body)


def test_england_reconvened_meeting_refuses_the_same_chair(api, db) -> None:
    m = ended_meeting(api, "england-cp-conference")
    expect(reconvene(m, "chair-1"), 422, "same_chair_not_allowed")
    assert len(rows(db, "SELECT id FROM conference")) == 1
    data = expect(reconvene(m, "chair-2"), 201)
    assert data["reconvened_from"] == m.conference_id
    assert data["chair_id"] == "chair-2" and data["status"] == "scheduled"
    row = conference_row(db, data["id"])
    assert str(uuid.UUID(str(row.reconvened_from_id))) == m.conference_id
    # the new chair can run it
    new_chair = api.as_("chair-2", "chair", authority=m.authority)
    assert expect(new_chair.post(f"/v1/conferences/{data['id']}/start"), 200)["status"] == "in_progress"


@pytest.mark.parametrize("profile", ["scotland-cppm-carm", "scotland-cppm-registration"])
def test_scotland_reconvened_meeting_may_keep_the_chair(api, profile: str) -> None:
    m = ended_meeting(api, profile)
    data = expect(reconvene(m, "chair-1"), 201)
    assert data["reconvened_from"] == m.conference_id and data["chair_id"] == "chair-1"
    assert expect(m.chair.post(f"/v1/conferences/{data['id']}/start"), 200)["status"] == "in_progress"


# ---- visibility ---------------------------------------------------------------------------------


def test_conference_visibility(api) -> None:
    m = make_meeting(api)
    for caller in (m.record, m.admin, m.reviewer, m.chair, m.professional, m.other_professional):
        assert expect(caller.get(m.url), 200)["id"] == m.conference_id
    expect(api.as_("prof-stranger", "professional", authority=m.authority).get(m.url), 404, "not_found")
    elsewhere = create_authority(api, "england-cp-conference")
    expect(record(api, elsewhere).get(m.url), 404, "not_found")
    expect(m.record.get(f"/v1/conferences/{uuid.uuid4()}"), 404, "not_found")


# ---- events and audit ---------------------------------------------------------------------------


def test_lifecycle_events_and_audit(api, db) -> None:
    api.set_clock("2025-12-18T09:00:00Z")
    m = ended_meeting(api, "england-cp-conference")
    types = event_types(db, m.conference_id)
    assert types[0] == "conference.scheduled"
    assert (
        types.index("conference.scheduled")
        < types.index("conference.started")
        < types.index("conference.ended")
    )
    for t in ("conference.scheduled", "conference.started", "conference.ended"):
        assert types.count(t) == 1, t
    ended = rows(
        db,
        "SELECT data, occurred_at FROM event WHERE subject_id = :s AND type = 'conference.ended'",
        s=m.conference_id,
    )
    assert "2025-12-18" in str(ended[0].data)
    seqs = [
        r.seq
        for r in rows(
            db,
            "SELECT e.seq FROM event e JOIN authority a ON a.id = e.authority_id"
            " WHERE a.code = :c ORDER BY e.seq",
            c=m.authority,
        )
    ]
    assert seqs == list(range(1, len(seqs) + 1))
    actions = [(a.action, a.actor_sub) for a in audit_rows(db, m.conference_id)]
    assert ("conference.scheduled", "record-system") in actions
    assert ("conference.started", "chair-1") in actions
    assert ("conference.ended", "chair-1") in actions
    expect(m.professional.get(m.url), 200)
    reads = [a for a in audit_rows(db, m.conference_id) if a.action == "conference.read"]
    assert [(a.actor_sub, a.authority_code) for a in reads] == [("prof-1", m.authority)]


def test_refused_action_leaves_no_event_or_audit(api, db) -> None:
    m = make_meeting(api)
    m.start()
    before_events = event_types(db, m.conference_id)
    before_audit = len(audit_rows(db, m.conference_id))
    expect(m.chair.post(f"{m.url}/end"), 409, "decisions_missing")
    expect(m.chair.post(f"{m.url}/start"), 409, "invalid_transition")
    assert event_types(db, m.conference_id) == before_events
    assert len(audit_rows(db, m.conference_id)) == before_audit


# ---- one full meeting per profile ---------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_full_meeting_through_the_api(api, db, profile: str) -> None:
    api.set_clock("2025-12-29T10:00:00Z")
    code = create_authority(api, profile)
    rec = record(api, code)
    chair = api.as_("chair-9", "chair", authority=code)
    children = [
        create_child(api, code),
        create_child(api, code, expected_date_of_birth="2026-04-01", date_of_birth=None),
    ]
    created = expect(
        rec.post(
            "/v1/conferences",
            json=conference_body(
                children,
                meeting_type=MEETING_TYPE[profile],
                chair_id="chair-9",
                scheduled_start="2025-12-29T10:00:00Z",
            ),
        ),
        201,
    )
    url = f"/v1/conferences/{created['id']}"
    expect(rec.post(f"{url}/attendees", json=attendee("prof-1")), 201)
    expect(chair.post(f"{url}/attendees", json=attendee("parent-1", kind="family")), 201)
    assert expect(chair.post(f"{url}/start"), 200)["status"] == "in_progress"
    labels = expect(api.system_admin().get(f"/v1/profiles/{profile}"), 200)["decision_outcome_labels"]
    expect(
        chair.post(
            f"{url}/decisions",
            json={
                "child_id": children[0],
                "outcome": "register",
                "categories": [CATEGORY[profile]],
                "plan_summary": "Weekly visits",
            },
        ),
        200,
    )
    decided = expect(
        chair.post(
            f"{url}/decisions", json={"child_id": children[1], "outcome": "not_register", "categories": []}
        ),
        200,
    )
    by_child = {d["child_id"]: d for d in decided["decisions"]}
    assert by_child[children[0]]["outcome_label"] == labels["register"]
    assert by_child[children[0]]["plan_summary"] == "Weekly visits"
    assert by_child[children[1]]["outcome_label"] == labels["not_register"]
    expect(chair.post(f"{url}/dissent-invitation"), 200)
    if profile == "scotland-cppm-registration":
        expect(chair.post(f"{url}/appeal-rights-explained"), 200)
    ended = expect(chair.post(f"{url}/end"), 200)
    assert ended["status"] == "ended" and ended["ended_at"] == "2025-12-29T10:00:00Z"
    assert ended["meeting_date"] == "2025-12-29"
    if profile == "scotland-cppm-registration":
        assert ended["appeal_deadline"]["due_date"] == "2026-01-07"
        assert "2026-01-02" in ended["appeal_deadline"]["explanation"]
    else:
        assert ended["appeal_deadline"] is None
    row = conference_row(db, created["id"])
    assert row.status == "ended" and row.dissent_invited_at is not None
    assert len(current_decisions(db, created["id"])) == 2
    listed = expect(rec.get("/v1/conferences", params={"status": "ended"}), 200)
    assert [c["id"] for c in listed["items"]] == [created["id"]]


# ---- stored deadlines, concurrency and odd input ------------------------------------------------


def test_appeal_deadline_is_fixed_when_the_meeting_ends(api, db) -> None:
    """SPEC §3: a deadline is stored when it starts; a later closure date does not move it, and the
    response's due_date always agrees with its due_at."""
    api.set_clock("2025-11-27T10:00:00Z")
    m = ended_meeting(api, "scotland-cppm-registration", scheduled_start="2025-11-27T10:00:00Z")
    expect(m.admin.patch(f"/v1/authorities/{m.authority}", json={"closure_dates": ["2025-12-02"]}), 200)
    deadline = expect(m.chair.get(m.url), 200)["appeal_deadline"]
    assert deadline["due_at"] == "2025-12-05T23:59:59.999999Z"
    assert deadline["due_date"] == "2025-12-05"
    assert str(conference_row(db, m.conference_id).appeal_due_at).startswith("2025-12-05 23:59:59.999999")


def test_chair_actions_honour_if_match(api, db) -> None:
    m = make_meeting(api)
    current = m.chair.get(m.url).headers["ETag"]
    expect(m.chair.post(f"{m.url}/start", headers={"If-Match": '"999"'}), 412, "precondition_failed")
    assert conference_row(db, m.conference_id).status == "scheduled"
    r = m.chair.post(f"{m.url}/start", headers={"If-Match": current})
    assert expect(r, 200)["status"] == "in_progress"
    assert r.headers["ETag"] != current


@pytest.mark.parametrize("scheduled_start", ["9999-12-31T23:30:00-05:00", "0001-01-01T00:30:00+05:00"])
def test_scheduled_start_out_of_range_is_refused_not_a_500(api, db, scheduled_start: str) -> None:
    """SPEC §6: never a 500 for bad input."""
    code = create_authority(api, "england-cp-conference")
    body = conference_body([create_child(api, code)], scheduled_start=scheduled_start)
    expect(record(api, code).post("/v1/conferences", json=body), 422, "validation_error")
    assert rows(db, "SELECT id FROM conference") == []


def test_an_invited_professional_who_did_not_attend_sees_the_meeting_nowhere(api):
    m = make_meeting(api)
    absent = api.as_("prof-absent", "professional", authority=m.authority)
    assert expect(absent.get("/v1/conferences"), 200)["items"] == []
    expect(absent.get(m.url), 404, "not_found")
    expect(absent.get(f"/v1/children/{m.child_ids[0]}"), 404, "not_found")
    attending = api.as_("prof-1", "professional", authority=m.authority)
    assert [c["id"] for c in expect(attending.get("/v1/conferences"), 200)["items"]] == [m.conference_id]
