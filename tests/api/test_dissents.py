"""Professional dissents over HTTP (SPEC §2, §3, §5 "Dissents"): raising, resolving,
withdrawing, the end of the meeting, the written step, the review and its outcomes,
listing and visibility. Each rule is checked both ways, with the stored rows, the audit
entry and the outbox events where they matter."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from app.models.authority import Authority
from app.models.conference import Conference, Decision
from app.models.dissent import ChildRecordEntry, Deadline, Dissent
from tests.support import (
    CATEGORY,
    PROFILES,
    Api,
    Caller,
    Meeting,
    as_utc,
    audits,
    begin,
    create_child,
    decide,
    events,
    expect,
    fetch,
    make_meeting,
    review_decision_body,
    submission,
)

ENGLAND = "england-cp-conference"
CARM = "scotland-cppm-carm"
REGISTRATION = "scotland-cppm-registration"
DEADLINE_KEYS = {"kind", "due_at", "due_date", "status", "met_at", "explanation"}

# ---- helpers ------------------------------------------------------------------------------


def finish(m: Meeting, outcome: str = "register") -> dict[str, Any]:
    m.decide_all(outcome)
    m.confirm_all()
    return m.end()


def unresolved(
    api: Api, profile: str, *, day: str = "2025-12-18", children: int = 1, subject: str = "registration"
) -> tuple[Meeting, dict[str, Any]]:
    """A meeting that ended with one unresolved dissent by prof-1."""
    m = begin(api, profile, day=day, children=children)
    raised = m.raise_dissent(subject)
    finish(m)
    return m, show(m.reviewer, raised["id"])


def show(caller: Caller, dissent_id: str) -> dict[str, Any]:
    return expect(caller.get(f"/v1/dissents/{dissent_id}"), 200)


def dissent_url(dissent_id: str, step: str = "") -> str:
    return f"/v1/dissents/{dissent_id}" + (f"/{step}" if step else "")


def deadline(d: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [x for x in d["deadlines"] if x["kind"] == kind]
    assert len(found) == 1, d["deadlines"]
    return found[0]


def submit(m: Meeting, dissent_id: str, **changes: Any) -> dict[str, Any]:
    return expect(
        m.professional.post(
            dissent_url(dissent_id, "written-submission"),
            json=submission(m.profile, m.extras["day"], **changes),
        ),
        200,
    )


def refer(m: Meeting, dissent_id: str) -> dict[str, Any]:
    return expect(
        m.chair.post(dissent_url(dissent_id, "referral"), json={"note": "Referred in writing"}), 200
    )


def hold_review_meeting(m: Meeting, dissent_id: str, held_on: str) -> dict[str, Any]:
    body = {"held_on": held_on, "members": ["IRO Service Manager", "Head of Service"]}
    return expect(m.reviewer.post(dissent_url(dissent_id, "review-meeting"), json=body), 200)


def ready_for_decision(m: Meeting, dissent_id: str) -> dict[str, Any]:
    """Take an unresolved dissent through the profile's written step (and england's meeting)."""
    if m.profile == REGISTRATION:
        return refer(m, dissent_id)
    submit(m, dissent_id)
    if m.profile == ENGLAND:
        return hold_review_meeting(m, dissent_id, m.extras["day"])
    return show(m.reviewer, dissent_id)


def dissent_row(db: sa.Connection, dissent_id: str) -> Any:
    t = Dissent.__table__
    return fetch(db, sa.select(t).where(t.c.id == uuid.UUID(dissent_id)))[0]


def deadline_rows(db: sa.Connection, dissent_id: str) -> dict[str, Any]:
    t = Deadline.__table__
    return {r.kind: r for r in fetch(db, sa.select(t).where(t.c.subject_id == uuid.UUID(dissent_id)))}


def dissent_event_types(db: sa.Connection, authority: str, dissent_id: str) -> list[str]:
    return [r.type for r in events(db, authority) if r.subject_id == dissent_id]


def count_dissents(db: sa.Connection, authority: str) -> int:
    d, a = Dissent.__table__, Authority.__table__
    stmt = sa.select(sa.func.count()).select_from(d.join(a, a.c.id == d.c.authority_id))
    return int(fetch(db, stmt.where(a.c.code == authority))[0][0])


def listed(caller: Caller, query: str = "") -> list[str]:
    body = expect(caller.get(f"/v1/dissents{query}"), 200)
    return [item["id"] for item in body["items"]]


# ---- raising --------------------------------------------------------------------------------


def test_attending_professional_raises_a_dissent(api, db):
    m = begin(api, ENGLAND)
    r = m.professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "The plan is too thin"})
    body = expect(r, 201)
    assert body["status"] == "raised"
    assert body["subject"] == "plan"
    assert body["dissenter"]["person_id"] == "prof-1"
    assert body["raised_by"] == "prof-1"
    assert body["child_ids"] == m.child_ids
    assert body["deadlines"] == []
    assert r.headers["ETag"] == f'"{body["version"]}"'
    row = dissent_row(db, body["id"])
    assert (row.status, row.dissenter_id, row.subject) == ("raised", "prof-1", "plan")
    assert row.reasons == "The plan is too thin"
    raised = events(db, m.authority, "dissent.raised")
    assert len(raised) == 1 and raised[0].subject_id == body["id"]
    assert raised[0].data["on_behalf"] is False
    audit = audits(db, m.authority, "dissent.raised")
    assert [(a.actor_sub, a.entity_id) for a in audit] == [("prof-1", body["id"])]


def test_chair_raises_on_behalf_of_an_attendee(api, db):
    m = begin(api, ENGLAND)
    body = expect(
        m.chair.post(
            f"{m.url}/dissents",
            json={"subject": "category", "reasons": "Said in the room", "attendee_person_id": "prof-2"},
        ),
        201,
    )
    assert body["dissenter"]["person_id"] == "prof-2"
    assert body["raised_by"] == "chair-1"
    row = dissent_row(db, body["id"])
    assert (row.dissenter_id, row.raised_by) == ("prof-2", "chair-1")
    event = events(db, m.authority, "dissent.raised")[0]
    assert event.data["on_behalf"] is True
    assert [a.actor_sub for a in audits(db, m.authority, "dissent.raised")] == ["chair-1"]


def test_professional_cannot_raise_on_someone_elses_behalf(api, db):
    m = begin(api, ENGLAND)
    r = m.professional.post(
        f"{m.url}/dissents", json={"subject": "plan", "reasons": "x", "attendee_person_id": "prof-2"}
    )
    expect(r, 403, "forbidden")
    assert count_dissents(db, m.authority) == 0


def test_dissent_refused_before_the_meeting_starts(api, db):
    api.set_clock("2025-12-18T09:00:00Z")
    m = make_meeting(api, ENGLAND)
    r = m.professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"})
    expect(r, 409, "conference_not_in_progress")
    assert count_dissents(db, m.authority) == 0
    assert events(db, m.authority, "dissent.raised") == []


@pytest.mark.parametrize("profile", PROFILES)
def test_dissent_after_the_end_names_the_professional_challenge_route(api, db, profile):
    m = begin(api, profile)
    finish(m)
    r = m.professional.post(f"{m.url}/dissents", json={"subject": "registration", "reasons": "x"})
    body = expect(r, 409, "conference_not_in_progress")
    assert "professional challenge" in body["detail"]
    assert "escalation" in body["detail"]
    assert count_dissents(db, m.authority) == 0


def test_dissent_refused_on_a_cancelled_meeting(api):
    m = make_meeting(api, ENGLAND)
    expect(m.record.post(f"{m.url}/cancel"), 200)
    r = m.professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"})
    expect(r, 409, "conference_not_in_progress")


def test_only_attending_professionals_can_dissent(api, db):
    m = begin(api, ENGLAND)
    # The chair cannot raise one for someone who is not a recorded, attending professional.
    for person_id in ("prof-absent", "parent-1", "nobody"):  # attended false, family, no record
        r = m.chair.post(
            f"{m.url}/dissents", json={"subject": "plan", "reasons": "x", "attendee_person_id": person_id}
        )
        expect(r, 403, "not_attendee")
    # Nor can those people raise one themselves: a family member who attended is refused...
    parent = api.as_("parent-1", "professional", authority=m.authority)
    expect(parent.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"}), 403, "not_attendee")
    # ...and an invited professional who did not attend is told why (issue 13), though they
    # still cannot read the meeting.
    absent = api.as_("prof-absent", "professional", authority=m.authority)
    expect(absent.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"}), 403, "not_attendee")
    expect(absent.get(m.url), 404, "not_found")
    # A professional not recorded at the meeting cannot even see it (SPEC §4: a professional
    # sees the conferences they attend), so it answers 404 like an unknown id.
    outsider = api.as_("prof-outsider", "professional", authority=m.authority)
    expect(outsider.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"}), 404, "not_found")
    assert count_dissents(db, m.authority) == 0
    assert events(db, m.authority, "dissent.raised") == []


def test_chair_cannot_be_the_dissenter(api, db):
    m = begin(api, ENGLAND)
    chair_and_professional = api.as_("chair-1", "chair", "professional", authority=m.authority)
    r = chair_and_professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"})
    expect(r, 403, "not_attendee")
    # Even when the record system lists the chair as an attending professional.
    expect(
        m.record.post(
            f"{m.url}/attendees",
            json={
                "person_id": "chair-1",
                "name": "Sam Chair",
                "role_title": "Reviewing Officer",
                "agency": "LA",
                "kind": "professional",
                "attended": True,
            },
        ),
        201,
    )
    as_professional = api.as_("chair-1", "professional", authority=m.authority)
    r = as_professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"})
    expect(r, 403, "not_attendee")
    assert count_dissents(db, m.authority) == 0


def test_chair_naming_themselves_as_the_dissenter_is_not_an_attendee(api, db):
    m = begin(api, ENGLAND)
    r = m.chair.post(
        f"{m.url}/dissents", json={"subject": "plan", "reasons": "x", "attendee_person_id": "chair-1"}
    )
    expect(r, 403, "not_attendee")
    assert count_dissents(db, m.authority) == 0


def test_registration_profile_only_allows_registration_dissents(api, db):
    m = begin(api, REGISTRATION)
    for subject in ("plan", "category"):
        r = m.professional.post(f"{m.url}/dissents", json={"subject": subject, "reasons": "x"})
        expect(r, 422, "subject_not_allowed")
    assert count_dissents(db, m.authority) == 0
    assert m.raise_dissent("registration")["status"] == "raised"


@pytest.mark.parametrize("profile", [ENGLAND, CARM])
def test_other_profiles_allow_every_subject(api, db, profile):
    m = begin(api, profile)
    for subject in ("plan", "category", "registration"):
        assert m.raise_dissent(subject)["subject"] == subject
    assert count_dissents(db, m.authority) == 3


def test_unknown_subject_is_a_validation_error(api):
    m = begin(api, ENGLAND)
    expect(
        m.professional.post(f"{m.url}/dissents", json={"subject": "complaint", "reasons": "x"}),
        422,
        "validation_error",
    )


def test_one_open_dissent_per_person_and_subject(api, db):
    m = begin(api, ENGLAND)
    first = m.raise_dissent("plan")
    r = m.professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "again"})
    expect(r, 409, "dissent_exists")
    # The chair cannot get round it by raising it on the same person's behalf.
    r = m.chair.post(
        f"{m.url}/dissents", json={"subject": "plan", "reasons": "again", "attendee_person_id": "prof-1"}
    )
    expect(r, 409, "dissent_exists")
    # A different subject, or another person on the same subject, is fine.
    assert m.raise_dissent("category")["subject"] == "category"
    other = m.other_professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "me too"})
    expect(other, 201)
    assert count_dissents(db, m.authority) == 3
    # Once the first is withdrawn, the same person may raise the same subject again.
    expect(m.professional.post(dissent_url(first["id"], "withdrawal"), json={"reason": "Rethought"}), 200)
    again = m.raise_dissent("plan")
    assert again["id"] != first["id"]
    assert count_dissents(db, m.authority) == 4


def test_new_dissent_allowed_after_the_first_is_resolved(api):
    m = begin(api, ENGLAND)
    first = m.raise_dissent("plan")
    expect(m.chair.post(dissent_url(first["id"], "resolution"), json={"summary": "Agreed a change"}), 200)
    assert m.raise_dissent("plan")["status"] == "raised"


def test_dissent_about_some_of_the_meetings_children(api, db):
    m = begin(api, ENGLAND, children=2)
    body = expect(
        m.professional.post(
            f"{m.url}/dissents", json={"subject": "plan", "reasons": "x", "child_ids": [m.child_ids[1]]}
        ),
        201,
    )
    assert body["child_ids"] == [m.child_ids[1]]
    assert dissent_row(db, body["id"]).child_ids == [m.child_ids[1]]


def test_dissent_defaults_to_every_child(api):
    m = begin(api, ENGLAND, children=2)
    assert m.raise_dissent("plan")["child_ids"] == m.child_ids


def test_child_ids_must_belong_to_the_meeting(api, db):
    m = begin(api, ENGLAND)
    for child_ids in (
        [create_child(api, m.authority)],  # a child of the authority, not of this meeting
        [str(uuid.uuid4())],
        [m.child_ids[0], m.child_ids[0]],
    ):
        r = m.professional.post(
            f"{m.url}/dissents", json={"subject": "plan", "reasons": "x", "child_ids": child_ids}
        )
        expect(r, 422, "child_not_in_conference")
    assert count_dissents(db, m.authority) == 0


# ---- resolving in the meeting -------------------------------------------------------------


def test_chair_resolves_a_dissent_in_the_meeting(api, db):
    m = begin(api, ENGLAND)
    d = m.raise_dissent("plan")
    body = expect(m.chair.post(dissent_url(d["id"], "resolution"), json={"summary": "Plan amended"}), 200)
    assert body["status"] == "resolved"
    assert body["resolution_summary"] == "Plan amended"
    assert body["resolved_at"] is not None
    assert dissent_row(db, d["id"]).status == "resolved"
    assert dissent_event_types(db, m.authority, d["id"]) == ["dissent.raised", "dissent.resolved"]
    assert [a.entity_id for a in audits(db, m.authority, "dissent.resolved")] == [d["id"]]
    # A resolved dissent does not move on when the meeting ends.
    finish(m)
    assert show(m.reviewer, d["id"])["status"] == "resolved"
    assert deadline_rows(db, d["id"]) == {}


def test_professional_cannot_resolve(api, db):
    m = begin(api, ENGLAND)
    d = m.raise_dissent("plan")
    expect(m.professional.post(dissent_url(d["id"], "resolution"), json={"summary": "x"}), 403, "forbidden")
    assert dissent_row(db, d["id"]).status == "raised"


def test_resolution_refused_after_the_meeting_ends(api, db):
    m, d = unresolved(api, ENGLAND)
    r = m.chair.post(dissent_url(d["id"], "resolution"), json={"summary": "Too late"})
    expect(r, 409, "conference_not_in_progress")
    assert dissent_row(db, d["id"]).status == "awaiting_submission"


def test_resolving_twice_is_an_invalid_transition(api):
    m = begin(api, ENGLAND)
    d = m.raise_dissent("plan")
    expect(m.chair.post(dissent_url(d["id"], "resolution"), json={"summary": "ok"}), 200)
    expect(
        m.chair.post(dissent_url(d["id"], "resolution"), json={"summary": "ok"}), 409, "invalid_transition"
    )


# ---- withdrawing --------------------------------------------------------------------------


def test_dissenter_withdraws_during_the_meeting(api, db):
    m = begin(api, ENGLAND)
    d = m.raise_dissent("plan")
    body = expect(m.professional.post(dissent_url(d["id"], "withdrawal"), json={"reason": "Persuaded"}), 200)
    assert body["status"] == "withdrawn"
    assert body["withdrawal_reason"] == "Persuaded"
    assert dissent_row(db, d["id"]).status == "withdrawn"
    assert dissent_event_types(db, m.authority, d["id"]) == ["dissent.raised", "dissent.withdrawn"]
    finish(m)
    assert show(m.reviewer, d["id"])["status"] == "withdrawn"
    assert deadline_rows(db, d["id"]) == {}


@pytest.mark.parametrize(
    ("profile", "stage", "cancelled"),
    [
        (ENGLAND, "awaiting_submission", {"written_submission"}),
        (ENGLAND, "submitted", {"review_meeting"}),
        (ENGLAND, "under_review", set()),
        (CARM, "awaiting_submission", {"written_submission"}),
        (CARM, "submitted", set()),
        (REGISTRATION, "awaiting_referral", {"referral", "review_response"}),
        (REGISTRATION, "referred", {"review_response"}),
    ],
)
def test_dissenter_withdraws_later_and_open_deadlines_are_cancelled(api, db, profile, stage, cancelled):
    m, d = unresolved(api, profile)
    if stage in ("submitted", "under_review"):
        submit(m, d["id"])
    if stage == "under_review":
        hold_review_meeting(m, d["id"], m.extras["day"])
    if stage == "referred":
        refer(m, d["id"])
    before = {k: r.met_at for k, r in deadline_rows(db, d["id"]).items()}
    assert show(m.reviewer, d["id"])["status"] == stage
    body = expect(m.professional.post(dissent_url(d["id"], "withdrawal"), json={"reason": "Resolved"}), 200)
    assert body["status"] == "withdrawn"
    statuses = {x["kind"]: x["status"] for x in body["deadlines"]}
    assert {k for k, s in statuses.items() if s == "cancelled"} == cancelled
    # Deadlines already met stay met.
    assert {k for k, s in statuses.items() if s == "met"} == {k for k, v in before.items() if v is not None}
    rows_now = deadline_rows(db, d["id"])
    assert {k for k, r in rows_now.items() if r.cancelled_at is not None} == cancelled
    assert dissent_event_types(db, m.authority, d["id"])[-1] == "dissent.withdrawn"
    assert body["overdue"] is False


def test_someone_else_cannot_withdraw(api, db):
    m, d = unresolved(api, ENGLAND)
    # The chair can see the dissent but it is not theirs (and the meeting is over).
    expect(m.chair.post(dissent_url(d["id"], "withdrawal"), json={"reason": "x"}), 403, "forbidden")
    # Another professional may not even see it.
    expect(
        m.other_professional.post(dissent_url(d["id"], "withdrawal"), json={"reason": "x"}), 404, "not_found"
    )
    # A reviewer has no business withdrawing it.
    expect(m.reviewer.post(dissent_url(d["id"], "withdrawal"), json={"reason": "x"}), 403, "forbidden")
    assert dissent_row(db, d["id"]).status == "awaiting_submission"
    assert deadline_rows(db, d["id"])["written_submission"].cancelled_at is None


def test_withdrawal_refused_once_decided(api, db):
    m, d = unresolved(api, CARM)
    ready_for_decision(m, d["id"])
    decide(m, d["id"])
    r = m.professional.post(dissent_url(d["id"], "withdrawal"), json={"reason": "x"})
    expect(r, 409, "invalid_transition")
    assert dissent_row(db, d["id"]).status == "decided"


def test_withdrawal_refused_once_resolved(api):
    m = begin(api, ENGLAND)
    d = m.raise_dissent("plan")
    expect(m.chair.post(dissent_url(d["id"], "resolution"), json={"summary": "ok"}), 200)
    r = m.professional.post(dissent_url(d["id"], "withdrawal"), json={"reason": "x"})
    expect(r, 409, "invalid_transition")


def test_withdraw_with_stale_if_match_is_refused(api, db):
    m, d = unresolved(api, ENGLAND)
    r = m.professional.post(
        dissent_url(d["id"], "withdrawal"), json={"reason": "x"}, headers={"If-Match": '"999"'}
    )
    expect(r, 412, "precondition_failed")
    assert dissent_row(db, d["id"]).status == "awaiting_submission"
    r = m.professional.post(
        dissent_url(d["id"], "withdrawal"), json={"reason": "x"}, headers={"If-Match": f'"{d["version"]}"'}
    )
    assert expect(r, 200)["status"] == "withdrawn"


# ---- the end of the meeting ---------------------------------------------------------------


def test_england_meeting_end_starts_the_written_submission_deadline(api, db):
    m, d = unresolved(api, ENGLAND, day="2025-12-18")
    assert d["status"] == "awaiting_submission"
    assert d["next_step"]
    dl = deadline(d, "written_submission")
    assert DEADLINE_KEYS <= set(dl)
    assert dl["due_date"] == "2025-12-29"
    assert as_utc(dl["due_at"]) == datetime(2025, 12, 29, 23, 59, 59, 999999, tzinfo=UTC)
    assert dl["due_at"].endswith("Z")
    assert dl["status"] == "pending"
    assert dl["met_at"] is None
    assert "skipped 2025-12-25 Christmas Day, 2025-12-26 Boxing Day" in dl["explanation"]
    assert d["overdue"] is False
    row = deadline_rows(db, d["id"])["written_submission"]
    assert row.due_date == date(2025, 12, 29)
    assert row.start_date == date(2025, 12, 18)
    assert row.due_at == datetime(2025, 12, 29, 23, 59, 59, 999999, tzinfo=UTC)
    assert row.lapses is True
    assert dissent_row(db, d["id"]).status == "awaiting_submission"
    unresolved_events = events(db, m.authority, "dissent.unresolved")
    assert [e.subject_id for e in unresolved_events] == [d["id"]]
    assert unresolved_events[0].data["status"] == "awaiting_submission"
    assert [a.entity_id for a in audits(db, m.authority, "dissent.unresolved")] == [d["id"]]


def test_scotland_carm_meeting_end_written_deadline_skips_st_andrews_day(api, db):
    m, d = unresolved(api, CARM, day="2025-11-27")
    assert d["status"] == "awaiting_submission"
    dl = deadline(d, "written_submission")
    assert dl["due_date"] == "2025-12-05"
    assert "2025-12-01" in dl["explanation"]
    assert deadline_rows(db, d["id"])["written_submission"].due_date == date(2025, 12, 5)
    assert [e.data["status"] for e in events(db, m.authority, "dissent.unresolved")] == [
        "awaiting_submission"
    ]


@pytest.mark.parametrize(
    ("day", "due", "skipped"),
    [
        ("2025-11-27", "2025-11-28", None),
        ("2025-12-19", "2025-12-22", None),  # Friday: the next working day is Monday
        ("2025-12-24", "2025-12-29", "skipped 2025-12-25 Christmas Day, 2025-12-26 Boxing Day"),
    ],
)
def test_registration_meeting_end_starts_the_referral_deadline(api, db, day, due, skipped):
    m, d = unresolved(api, REGISTRATION, day=day)
    assert d["status"] == "awaiting_referral"
    # the written response runs from the meeting date too, so it shows from the end (issue 13)
    assert [x["kind"] for x in d["deadlines"]] == ["referral", "review_response"]
    dl = deadline(d, "referral")
    assert dl["due_date"] == due
    assert dl["status"] == "pending"
    if skipped:
        assert skipped in dl["explanation"]
    row = deadline_rows(db, d["id"])["referral"]
    assert row.lapses is False
    assert row.responsible_role == "chair"
    assert [e.data["status"] for e in events(db, m.authority, "dissent.unresolved")] == ["awaiting_referral"]


def test_meeting_end_moves_every_raised_dissent(api, db):
    m = begin(api, ENGLAND)
    a = m.raise_dissent("plan")
    b = expect(
        m.other_professional.post(f"{m.url}/dissents", json={"subject": "category", "reasons": "x"}), 201
    )
    finish(m)
    assert dissent_row(db, a["id"]).status == "awaiting_submission"
    assert dissent_row(db, b["id"]).status == "awaiting_submission"
    assert sorted(e.subject_id for e in events(db, m.authority, "dissent.unresolved")) == sorted(
        [a["id"], b["id"]]
    )


# ---- the written submission -----------------------------------------------------------------


def test_dissenter_submits_the_written_dissent(api, db):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-22T10:00:00Z")
    body = submit(m, d["id"])
    assert body["status"] == "submitted"
    assert body["submission"]["rationale"] == "The evidence does not show the threshold is met."
    assert body["submission"]["conference_date"] == "2025-12-18"
    written = deadline(body, "written_submission")
    assert written["status"] == "met"
    assert as_utc(written["met_at"]) == datetime(2025, 12, 22, 10, tzinfo=UTC)
    review = deadline(body, "review_meeting")
    # 5 working days after receipt (Mon 22 Dec): 23, 24, 29, 30, 31 December.
    assert review["due_date"] == "2025-12-31"
    assert "skipped 2025-12-25 Christmas Day, 2025-12-26 Boxing Day" in review["explanation"]
    assert review["status"] == "pending"
    row = dissent_row(db, d["id"])
    assert row.status == "submitted"
    assert row.submission["professional"]["email"] == "pat.prof@example.org"
    assert deadline_rows(db, d["id"])["review_meeting"].start_date == date(2025, 12, 22)
    assert dissent_event_types(db, m.authority, d["id"])[-1] == "dissent.submitted"
    assert [a.actor_sub for a in audits(db, m.authority, "dissent.submitted")] == ["prof-1"]


def test_only_the_dissenter_submits(api, db):
    m, d = unresolved(api, ENGLAND)
    chair_and_professional = api.as_("chair-1", "chair", "professional", authority=m.authority)
    r = chair_and_professional.post(
        dissent_url(d["id"], "written-submission"), json=submission(m.profile, m.extras["day"])
    )
    expect(r, 403, "forbidden")
    expect(
        m.chair.post(dissent_url(d["id"], "written-submission"), json=submission(m.profile, m.extras["day"])),
        403,
        "forbidden",
    )
    r = m.other_professional.post(
        dissent_url(d["id"], "written-submission"), json=submission(m.profile, m.extras["day"])
    )
    expect(r, 404, "not_found")
    assert dissent_row(db, d["id"]).status == "awaiting_submission"


def test_england_requires_the_line_manager_discussion(api, db):
    m, d = unresolved(api, ENGLAND)
    r = m.professional.post(
        dissent_url(d["id"], "written-submission"),
        json=submission(m.profile, m.extras["day"], discussed_with_line_manager_and_safeguarding_lead=False),
    )
    expect(r, 422, "line_manager_discussion_required")
    assert dissent_row(db, d["id"]).status == "awaiting_submission"
    assert deadline_rows(db, d["id"])["written_submission"].met_at is None


def test_scotland_carm_accepts_no_line_manager_discussion(api, db):
    m, d = unresolved(api, CARM, day="2025-11-27")
    body = submit(m, d["id"], discussed_with_line_manager_and_safeguarding_lead=False)
    assert body["status"] == "submitted"
    # No review step deadline in this procedure.
    assert [x["kind"] for x in body["deadlines"]] == ["written_submission"]
    assert dissent_row(db, d["id"]).status == "submitted"


def test_written_submission_must_name_the_meeting_date(api, db):
    m, d = unresolved(api, ENGLAND)
    r = m.professional.post(
        dissent_url(d["id"], "written-submission"),
        json=submission(m.profile, m.extras["day"], conference_date="2025-12-17"),
    )
    expect(r, 422, "conference_date_mismatch")
    assert dissent_row(db, d["id"]).status == "awaiting_submission"


def test_incomplete_written_submission_is_a_validation_error(api, db):
    m, d = unresolved(api, ENGLAND)
    for change in (
        {"professional": {"name": "x"}},
        {"children": []},
        {"rationale": ""},
        {"unexpected": True},
    ):
        r = m.professional.post(
            dissent_url(d["id"], "written-submission"), json=submission(m.profile, m.extras["day"], **change)
        )
        expect(r, 422, "validation_error")
    assert dissent_row(db, d["id"]).status == "awaiting_submission"


def test_written_submission_refused_during_the_meeting(api):
    m = begin(api, ENGLAND)
    d = m.raise_dissent("plan")
    r = m.professional.post(
        dissent_url(d["id"], "written-submission"), json=submission(m.profile, m.extras["day"])
    )
    expect(r, 409, "invalid_transition")


def test_written_submission_refused_in_the_referral_profile(api):
    m, d = unresolved(api, REGISTRATION)
    r = m.professional.post(
        dissent_url(d["id"], "written-submission"), json=submission(m.profile, m.extras["day"])
    )
    expect(r, 409, "invalid_transition")


def test_written_submission_on_the_last_moment_of_the_due_day_is_in_time(api, db):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-29T23:59:59Z")
    body = submit(m, d["id"])
    assert body["status"] == "submitted"
    assert deadline(body, "written_submission")["status"] == "met"


def test_late_written_submission_is_refused_and_the_dissent_lapses(api, db):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-30T00:00:01Z")
    r = m.professional.post(
        dissent_url(d["id"], "written-submission"), json=submission(m.profile, m.extras["day"])
    )
    expect(r, 409, "deadline_passed")
    # The lapse the answer reports is stored, with its event, whatever the caller does next.
    row = dissent_row(db, d["id"])
    assert row.status == "lapsed"
    assert row.lapsed_at is not None
    assert dissent_event_types(db, m.authority, d["id"])[-1] == "dissent.lapsed"
    shown = show(m.professional, d["id"])
    assert shown["status"] == "lapsed"
    assert deadline(shown, "written_submission")["status"] == "missed"
    assert shown["overdue"] is False


def test_reading_an_overdue_dissent_lapses_it(api, db):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-30T09:00:00Z")
    assert dissent_row(db, d["id"]).status == "awaiting_submission"
    body = show(m.professional, d["id"])
    assert body["status"] == "lapsed"
    assert as_utc(body["lapsed_at"]) == datetime(2025, 12, 30, 9, tzinfo=UTC)
    assert deadline(body, "written_submission")["status"] == "missed"
    assert body["history"][-1]["type"] == "dissent.lapsed"
    row = dissent_row(db, d["id"])
    assert row.status == "lapsed"
    assert len(events(db, m.authority, "dissent.lapsed")) == 1
    # Reading again does not lapse it twice; a late submission is refused.
    show(m.professional, d["id"])
    assert len(events(db, m.authority, "dissent.lapsed")) == 1
    r = m.professional.post(
        dissent_url(d["id"], "written-submission"), json=submission(m.profile, m.extras["day"])
    )
    expect(r, 409, "deadline_passed")


def test_listing_lapses_overdue_dissents(api, db):
    m = begin(api, ENGLAND)
    a = m.raise_dissent("plan")
    b = m.raise_dissent("category")
    finish(m)
    assert set(listed(m.reviewer, "?status=awaiting_submission")) == {a["id"], b["id"]}
    api.set_clock("2025-12-29T23:00:00Z")
    assert set(listed(m.reviewer, "?status=awaiting_submission")) == {a["id"], b["id"]}
    api.set_clock("2025-12-30T09:00:00Z")
    assert listed(m.reviewer, "?status=awaiting_submission") == []
    assert set(listed(m.reviewer, "?status=lapsed")) == {a["id"], b["id"]}
    assert dissent_row(db, a["id"]).status == "lapsed"
    assert len(events(db, m.authority, "dissent.lapsed")) == 2


def test_the_lapse_time_is_kept_on_the_dissent_only_while_it_can_lapse(api, db):
    def lapse_due(dissent_id: str) -> datetime | None:
        value = dissent_row(db, dissent_id).lapse_due_at
        return None if value is None else value.replace(tzinfo=value.tzinfo or UTC)

    m = begin(api, ENGLAND)
    a = m.raise_dissent("plan")
    b = m.raise_dissent("category")
    assert lapse_due(a["id"]) is None  # raised in the meeting: nothing can lapse yet
    finish(m)
    written = deadline_rows(db, a["id"])["written_submission"].due_at
    assert lapse_due(a["id"]) == written.replace(tzinfo=written.tzinfo or UTC)
    submit(m, a["id"])
    assert lapse_due(a["id"]) is None  # submitted: the step is done
    api.set_clock("2025-12-30T09:00:00Z")
    assert listed(m.reviewer, "?status=lapsed") == [b["id"]]
    assert lapse_due(b["id"]) is None  # lapsed: nothing more to lapse


def test_a_profile_whose_written_step_never_lapses_keeps_no_lapse_time(api, db):
    m = begin(api, "scotland-cppm-registration")
    raised = m.raise_dissent()
    finish(m)
    assert dissent_row(db, raised["id"]).status == "awaiting_referral"
    assert dissent_row(db, raised["id"]).lapse_due_at is None


def test_lapsed_dissent_cannot_be_withdrawn(api, db):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-30T09:00:00Z")
    show(m.professional, d["id"])
    r = m.professional.post(dissent_url(d["id"], "withdrawal"), json={"reason": "x"})
    expect(r, 409, "invalid_transition")
    assert dissent_row(db, d["id"]).status == "lapsed"


# ---- the chair's referral (scotland-cppm-registration) ------------------------------------


def test_chair_refers_in_time(api, db):
    m, d = unresolved(api, REGISTRATION, day="2025-11-27")
    api.set_clock("2025-11-27T15:00:00Z")
    body = refer(m, d["id"])
    assert body["status"] == "referred"
    assert body["referral_note"] == "Referred in writing"
    assert deadline(body, "referral")["status"] == "met"
    response = deadline(body, "review_response")
    # 28 calendar days after the meeting date, not after the referral.
    assert response["due_date"] == "2025-12-25"
    assert response["status"] == "pending"
    row = deadline_rows(db, d["id"])["review_response"]
    assert row.start_date == date(2025, 11, 27)
    assert row.responsible_role == "reviewer"
    assert dissent_row(db, d["id"]).status == "referred"
    assert dissent_event_types(db, m.authority, d["id"])[-1] == "dissent.referred"
    assert [a.actor_sub for a in audits(db, m.authority, "dissent.referred")] == ["chair-1"]


def test_only_the_chair_refers(api, db):
    m, d = unresolved(api, REGISTRATION)
    expect(m.professional.post(dissent_url(d["id"], "referral"), json={"note": "x"}), 403, "forbidden")
    expect(m.reviewer.post(dissent_url(d["id"], "referral"), json={"note": "x"}), 403, "forbidden")
    other_chair = api.as_("chair-2", "chair", authority=m.authority)
    # Another chair cannot see a dissent about a meeting they did not chair.
    expect(other_chair.post(dissent_url(d["id"], "referral"), json={"note": "x"}), 404, "not_found")
    assert dissent_row(db, d["id"]).status == "awaiting_referral"


def test_referral_refused_where_the_dissenter_writes(api):
    m, d = unresolved(api, ENGLAND)
    expect(m.chair.post(dissent_url(d["id"], "referral"), json={"note": "x"}), 409, "invalid_transition")


def test_late_referral_is_accepted_but_its_deadline_is_missed(api, db):
    m, d = unresolved(api, REGISTRATION, day="2025-11-27")
    api.set_clock("2025-12-02T09:00:00Z")
    late = show(m.reviewer, d["id"])
    assert late["status"] == "awaiting_referral"  # the service's own step never lapses
    assert late["overdue"] is True
    assert deadline(late, "referral")["status"] == "missed"
    assert listed(m.reviewer, "?overdue=true") == [d["id"]]
    assert listed(m.reviewer, "?overdue=false") == []
    assert dissent_row(db, d["id"]).status == "awaiting_referral"
    body = refer(m, d["id"])
    assert body["status"] == "referred"
    referral = deadline(body, "referral")
    assert referral["status"] == "missed"
    assert as_utc(referral["met_at"]) == datetime(2025, 12, 2, 9, tzinfo=UTC)
    assert body["overdue"] is False
    assert listed(m.reviewer, "?overdue=true") == []
    assert listed(m.reviewer, "?overdue=false") == [d["id"]]


# ---- the review meeting -------------------------------------------------------------------


def test_england_requires_a_review_meeting_before_the_decision(api, db):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-22T10:00:00Z")
    submit(m, d["id"])
    r = m.reviewer.post(dissent_url(d["id"], "review-decision"), json=review_decision_body(m))
    expect(r, 409, "invalid_transition")
    assert dissent_row(db, d["id"]).status == "submitted"
    api.set_clock("2025-12-24T10:00:00Z")
    body = hold_review_meeting(m, d["id"], "2025-12-23")
    assert body["status"] == "under_review"
    assert body["review_meeting_held_on"] == "2025-12-23"
    assert body["review_meeting_members"] == ["IRO Service Manager", "Head of Service"]
    meeting = deadline(body, "review_meeting")
    assert meeting["status"] == "met"
    assert meeting["due_date"] == "2025-12-31"
    assert dissent_event_types(db, m.authority, d["id"])[-1] == "dissent.review_meeting_held"
    assert decide(m, d["id"])["status"] == "decided"


def test_late_review_meeting_is_missed_and_overdue_until_held(api, db):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-22T10:00:00Z")
    submit(m, d["id"])
    api.set_clock("2026-01-02T10:00:00Z")
    late = show(m.reviewer, d["id"])
    assert late["status"] == "submitted"
    assert late["overdue"] is True
    assert deadline(late, "review_meeting")["status"] == "missed"
    assert listed(m.reviewer, "?overdue=true") == [d["id"]]
    body = hold_review_meeting(m, d["id"], "2026-01-02")
    assert deadline(body, "review_meeting")["status"] == "missed"
    assert deadline(body, "review_meeting")["met_at"] is not None
    assert body["overdue"] is False


def test_review_meeting_needs_a_reviewer_who_did_not_chair(api, db):
    m, d = unresolved(api, ENGLAND)
    submit(m, d["id"])
    body = {"held_on": "2025-12-18", "members": ["x"]}
    expect(m.professional.post(dissent_url(d["id"], "review-meeting"), json=body), 403, "forbidden")
    expect(m.chair.post(dissent_url(d["id"], "review-meeting"), json=body), 403, "forbidden")
    conflicted = api.as_("chair-1", "reviewer", authority=m.authority)
    expect(conflicted.post(dissent_url(d["id"], "review-meeting"), json=body), 403, "reviewer_conflict")
    assert dissent_row(db, d["id"]).status == "submitted"


def test_review_meeting_refused_before_the_written_step(api):
    m, d = unresolved(api, ENGLAND)
    r = m.reviewer.post(
        dissent_url(d["id"], "review-meeting"), json={"held_on": "2025-12-18", "members": ["x"]}
    )
    expect(r, 409, "invalid_transition")


def test_review_meeting_cannot_be_in_the_future(api):
    m, d = unresolved(api, ENGLAND)
    submit(m, d["id"])
    r = m.reviewer.post(
        dissent_url(d["id"], "review-meeting"), json={"held_on": "2025-12-19", "members": ["x"]}
    )
    expect(r, 422, "validation_error")


def test_scotland_carm_decides_straight_from_submitted(api, db):
    m, d = unresolved(api, CARM)
    submit(m, d["id"])
    body = decide(m, d["id"])
    assert body["status"] == "decided"
    assert body["outcome"] == "uphold"
    assert dissent_row(db, d["id"]).status == "decided"


def test_registration_decides_straight_from_referred(api, db):
    m, d = unresolved(api, REGISTRATION)
    refer(m, d["id"])
    body = decide(m, d["id"])
    assert body["status"] == "decided"
    assert deadline(body, "review_response")["status"] == "met"


# ---- the review decision --------------------------------------------------------------------


@pytest.mark.parametrize("profile", [ENGLAND, REGISTRATION])
def test_review_decision_content_refused_outside_carm(api, db, profile):
    """change_category, practice improvements and a family informant belong to
    scotland-cppm-carm only."""
    m, d = unresolved(api, profile)
    ready_for_decision(m, d["id"])
    url = dissent_url(d["id"], "review-decision")
    r = m.reviewer.post(
        url, json=review_decision_body(m, "change_category", new_categories=[CATEGORY[profile]])
    )
    expect(r, 422, "outcome_not_allowed")
    r = m.reviewer.post(url, json=review_decision_body(m, practice_improvements="Share reports earlier"))
    expect(r, 422, "practice_improvements_not_allowed")
    r = m.reviewer.post(
        url, json=review_decision_body(m, family_informant={"name": "Lee", "role": "Social worker"})
    )
    expect(r, 422, "family_informant_not_allowed")
    assert dissent_row(db, d["id"]).status != "decided"
    assert events(db, m.authority, "decision.amended") == []
    assert events(db, m.authority, "dissent.decided") == []
    # The same decision without them is accepted.
    assert decide(m, d["id"])["status"] == "decided"


@pytest.mark.parametrize("profile", PROFILES)
def test_reviewer_who_chaired_the_meeting_cannot_decide(api, db, profile):
    m, d = unresolved(api, profile)
    ready_for_decision(m, d["id"])
    conflicted = api.as_("chair-1", "reviewer", authority=m.authority)
    r = conflicted.post(dissent_url(d["id"], "review-decision"), json=review_decision_body(m))
    expect(r, 403, "reviewer_conflict")
    assert dissent_row(db, d["id"]).status != "decided"
    assert events(db, m.authority, "dissent.decided") == []


def test_only_a_reviewer_decides(api, db):
    m, d = unresolved(api, CARM)
    submit(m, d["id"])
    expect(
        m.chair.post(dissent_url(d["id"], "review-decision"), json=review_decision_body(m)), 403, "forbidden"
    )
    expect(
        m.professional.post(dissent_url(d["id"], "review-decision"), json=review_decision_body(m)),
        403,
        "forbidden",
    )
    assert dissent_row(db, d["id"]).status == "submitted"


def test_carm_records_practice_improvements(api, db):
    m, d = unresolved(api, CARM)
    submit(m, d["id"])
    body = decide(m, d["id"], practice_improvements="Share reports earlier")
    assert body["practice_improvements"] == "Share reports earlier"
    assert dissent_row(db, d["id"]).practice_improvements == "Share reports earlier"


def test_carm_requires_a_family_informant(api, db):
    m, d = unresolved(api, CARM)
    submit(m, d["id"])
    r = m.reviewer.post(
        dissent_url(d["id"], "review-decision"), json={"outcome": "uphold", "written_note": "Upheld"}
    )
    expect(r, 422, "family_informant_required")
    assert dissent_row(db, d["id"]).status == "submitted"
    body = decide(m, d["id"])
    assert body["family_informant"] == {"name": "Lee Social Worker", "role": "Lead social worker"}


def decision_rows(db: sa.Connection, conference_id: str) -> list[Any]:
    t = Decision.__table__
    return fetch(
        db, sa.select(t).where(t.c.conference_id == uuid.UUID(conference_id)).order_by(t.c.recorded_at)
    )


def test_change_category_amends_each_childs_decision(api, db):
    m, d = unresolved(api, CARM, children=2)
    submit(m, d["id"])
    originals = {r.child_id: r for r in decision_rows(db, m.conference_id)}
    assert len(originals) == 2
    api.set_clock("2025-12-20T10:00:00Z")
    body = decide(m, d["id"], "change_category", new_categories=["domestic_abuse", "parental_substance_use"])
    assert body["status"] == "decided"
    assert body["new_categories"] == ["domestic_abuse", "parental_substance_use"]
    stored = decision_rows(db, m.conference_id)
    assert len(stored) == 4
    for child_id, old in originals.items():
        old_now = next(r for r in stored if r.id == old.id)
        assert old_now.superseded_at == datetime(2025, 12, 20, 10, tzinfo=UTC)
        assert old_now.categories == ["neglect"]
        new = next(r for r in stored if r.amends_id == old.id)
        assert new.child_id == child_id
        assert new.superseded_at is None
        assert new.outcome == old.outcome == "register"  # the registration outcome never changes
        assert new.categories == ["domestic_abuse", "parental_substance_use"]
    amended = events(db, m.authority, "decision.amended")
    assert sorted(e.data["child_id"] for e in amended) == sorted(str(c) for c in originals)
    assert all(e.data["previous_categories"] == ["neglect"] for e in amended)
    conference = expect(m.reviewer.get(m.url), 200)
    assert conference["status"] == "ended"
    assert len(conference["decisions"]) == 2
    for decision in conference["decisions"]:
        assert decision["categories"] == ["domestic_abuse", "parental_substance_use"]
        assert decision["amended"] is True
        assert decision["outcome"] == "register"
    t = ChildRecordEntry.__table__
    amended_entries = fetch(db, sa.select(t).where(t.c.kind == "amended_decision"))
    assert sorted(e.child_id for e in amended_entries) == sorted(originals)


def test_change_category_needs_new_categories_from_the_vocabulary(api, db):
    m, d = unresolved(api, CARM)
    submit(m, d["id"])
    r = m.reviewer.post(
        dissent_url(d["id"], "review-decision"), json=review_decision_body(m, "change_category")
    )
    expect(r, 422, "validation_error")
    r = m.reviewer.post(
        dissent_url(d["id"], "review-decision"),
        json=review_decision_body(m, "change_category", new_categories=["NEG"]),
    )
    expect(r, 422, "unknown_category")
    assert all(r.superseded_at is None for r in decision_rows(db, m.conference_id))
    assert dissent_row(db, d["id"]).status == "submitted"


@pytest.mark.parametrize("profile", PROFILES)
def test_uphold_keeps_the_conference_decision_in_force(api, db, profile):
    m, d = unresolved(api, profile)
    before = [(r.id, r.outcome, r.categories, r.superseded_at) for r in decision_rows(db, m.conference_id)]
    ready_for_decision(m, d["id"])
    body = decide(m, d["id"], "uphold")
    assert body["status"] == "decided"
    assert body["reconvened_conference_id"] is None
    after = [(r.id, r.outcome, r.categories, r.superseded_at) for r in decision_rows(db, m.conference_id)]
    assert after == before
    conference = expect(m.reviewer.get(m.url), 200)
    assert [x["amended"] for x in conference["decisions"]] == [False]
    assert events(db, m.authority, "decision.amended") == []
    assert events(db, m.authority, "conference.reconvene_requested") == []


def reconvene_body(m: Meeting, chair_id: str) -> dict[str, Any]:
    return review_decision_body(
        m,
        "reconvene",
        reconvene={
            "scheduled_start": "2026-01-08T10:00:00Z",
            "chair_id": chair_id,
            "chair_name": "New Chair",
        },
    )


@pytest.mark.parametrize(
    ("profile", "chair_id"), [(ENGLAND, "chair-2"), (CARM, "chair-1"), (REGISTRATION, "chair-1")]
)
def test_reconvene_schedules_a_linked_conference(api, db, profile, chair_id):
    m, d = unresolved(api, profile)
    ready_for_decision(m, d["id"])
    body = expect(
        m.reviewer.post(dissent_url(d["id"], "review-decision"), json=reconvene_body(m, chair_id)), 200
    )
    assert body["status"] == "decided"
    new_id = body["reconvened_conference_id"]
    assert new_id is not None
    new = expect(m.reviewer.get(f"/v1/conferences/{new_id}"), 200)
    assert new["status"] == "scheduled"
    assert new["reconvened_from"] == m.conference_id
    assert new["chair_id"] == chair_id
    assert new["child_ids"] == m.child_ids
    requested = events(db, m.authority, "conference.reconvene_requested")
    assert len(requested) == 1
    assert requested[0].data["reconvened_conference_id"] == new_id
    assert requested[0].data["dissent_id"] == d["id"]
    # The original decision stays in force; the original meeting stays ended.
    original = expect(m.reviewer.get(m.url), 200)
    assert original["status"] == "ended"
    assert [x["amended"] for x in original["decisions"]] == [False]


def test_england_reconvene_refuses_the_same_chair_and_changes_nothing(api, db):
    m, d = unresolved(api, ENGLAND)
    ready_for_decision(m, d["id"])
    seq_before = len(events(db, m.authority))
    r = m.reviewer.post(dissent_url(d["id"], "review-decision"), json=reconvene_body(m, "chair-1"))
    expect(r, 422, "same_chair_not_allowed")
    row = dissent_row(db, d["id"])
    assert row.status == "under_review"
    assert row.outcome is None and row.reconvened_conference_id is None
    c, a = Conference.__table__, Authority.__table__
    conferences = fetch(
        db, sa.select(c.c.id).join(a, a.c.id == c.c.authority_id).where(a.c.code == m.authority)
    )
    assert len(conferences) == 1
    assert len(events(db, m.authority)) == seq_before
    t = ChildRecordEntry.__table__
    assert fetch(db, sa.select(t).where(t.c.kind == "review_note")) == []


def test_reconvene_needs_its_details_and_only_reconvene_takes_them(api):
    m, d = unresolved(api, CARM)
    submit(m, d["id"])
    expect(
        m.reviewer.post(dissent_url(d["id"], "review-decision"), json=review_decision_body(m, "reconvene")),
        422,
        "validation_error",
    )
    body = reconvene_body(m, "chair-2")
    body["outcome"] = "uphold"
    expect(m.reviewer.post(dissent_url(d["id"], "review-decision"), json=body), 422, "validation_error")


def test_written_note_goes_on_each_childs_record_and_to_everyone_involved(api, db):
    m, d = unresolved(api, ENGLAND, children=2)
    ready_for_decision(m, d["id"])
    body = decide(m, d["id"], "uphold", written_note="We looked again and the decision stands.")
    assert body["written_note"] == "We looked again and the decision stands."
    t = ChildRecordEntry.__table__
    notes = fetch(db, sa.select(t).where(t.c.kind == "review_note"))
    assert sorted(n.child_id for n in notes) == sorted(uuid.UUID(c) for c in m.child_ids)
    assert all(n.text == "We looked again and the decision stands." for n in notes)
    assert all(n.source_id == uuid.UUID(d["id"]) for n in notes)
    assert all(n.conference_id == uuid.UUID(m.conference_id) for n in notes)
    shared = events(db, m.authority, "review_note.shared")
    # Exactly the recipients England's procedure names for the outcome (issue 13): the
    # dissenter and their agency, the professionals who attended (not prof-absent), the
    # family, the chair, the Quality, Learning and Practice group and the child's record.
    by_kind = sorted((e.data["recipient_kind"], e.data["recipient_person_id"] or "") for e in shared)
    assert by_kind == [
        ("attending_professionals", "prof-1"),
        ("attending_professionals", "prof-2"),
        ("chair", "chair-1"),
        ("child_record", ""),
        ("dissenter", "prof-1"),
        ("dissenter_agency", ""),
        ("family", "parent-1"),
        ("review_group", ""),
    ]
    assert all(e.subject_id == d["id"] for e in shared)
    assert {tuple(e.data["recipient_kinds"]) for e in shared} == {
        (
            "attending_professionals",
            "chair",
            "child_record",
            "dissenter",
            "dissenter_agency",
            "family",
            "review_group",
        )
    }


@pytest.mark.parametrize(
    ("profile", "kinds"),
    [
        (CARM, {"attending_professionals", "chair", "child_record", "dissenter", "dissenter_agency"}),
        (REGISTRATION, {"dissenter", "dissenter_agency"}),
    ],
)
def test_written_note_goes_to_exactly_the_procedures_recipients(api, db, profile, kinds):
    """Registration: the senior manager responds "to the dissenting person and agency" only;
    CARM: everyone involved and the child's record, the family told by the named person."""
    m, d = unresolved(api, profile)
    ready_for_decision(m, d["id"])
    decide(m, d["id"])
    shared = events(db, m.authority, "review_note.shared")
    assert {e.data["recipient_kind"] for e in shared} == kinds
    people = {e.data["recipient_person_id"] for e in shared} - {None}
    assert "parent-1" not in people  # never the family unless the procedure says so
    if profile == REGISTRATION:
        assert people == {"prof-1"}


def test_decision_twice_is_an_invalid_transition(api, db):
    m, d = unresolved(api, CARM)
    submit(m, d["id"])
    decide(m, d["id"])
    r = m.reviewer.post(dissent_url(d["id"], "review-decision"), json=review_decision_body(m))
    expect(r, 409, "invalid_transition")
    assert len(events(db, m.authority, "dissent.decided")) == 1


def test_decision_refused_before_the_written_step(api):
    m, d = unresolved(api, CARM)
    r = m.reviewer.post(dissent_url(d["id"], "review-decision"), json=review_decision_body(m))
    expect(r, 409, "invalid_transition")


# ---- family informed ----------------------------------------------------------------------


@pytest.mark.parametrize("profile", [ENGLAND, CARM])
def test_family_informed_recorded_once_after_the_decision(api, db, profile):
    m, d = unresolved(api, profile)
    ready_for_decision(m, d["id"])
    body = {"informed_by": "Lee Social Worker", "informed_on": "2025-12-18"}
    expect(m.reviewer.post(dissent_url(d["id"], "family-informed"), json=body), 409, "invalid_transition")
    decide(m, d["id"])
    shown = expect(m.reviewer.post(dissent_url(d["id"], "family-informed"), json=body), 200)
    assert shown["family_informed_by"] == "Lee Social Worker"
    assert shown["family_informed_on"] == "2025-12-18"
    row = dissent_row(db, d["id"])
    assert (row.family_informed_by, row.family_informed_on) == ("Lee Social Worker", date(2025, 12, 18))
    assert len(events(db, m.authority, "dissent.family_informed")) == 1
    again = m.reviewer.post(dissent_url(d["id"], "family-informed"), json={**body, "informed_by": "Someone"})
    expect(again, 409, "already_recorded")
    assert dissent_row(db, d["id"]).family_informed_by == "Lee Social Worker"


def test_family_informed_not_in_the_registration_procedure(api, db):
    m, d = unresolved(api, REGISTRATION)
    refer(m, d["id"])
    decide(m, d["id"])
    r = m.reviewer.post(
        dissent_url(d["id"], "family-informed"), json={"informed_by": "x", "informed_on": "2025-12-18"}
    )
    expect(r, 422, "not_in_procedure")
    assert dissent_row(db, d["id"]).family_informed_on is None


def test_family_informed_date_cannot_be_in_the_future(api):
    m, d = unresolved(api, CARM)
    submit(m, d["id"])
    decide(m, d["id"])
    r = m.reviewer.post(
        dissent_url(d["id"], "family-informed"), json={"informed_by": "x", "informed_on": "2025-12-19"}
    )
    expect(r, 422, "validation_error")


# ---- reading and listing ------------------------------------------------------------------


def two_meetings(api: Api) -> dict[str, Any]:
    """Conference A chaired by chair-1 (dissents by prof-1 and prof-2) and conference B in the
    same authority chaired by chair-2 (a dissent by prof-1)."""
    a = begin(api, ENGLAND)
    by_1 = a.raise_dissent("plan")
    by_2 = expect(
        a.other_professional.post(f"{a.url}/dissents", json={"subject": "plan", "reasons": "x"}), 201
    )
    child = create_child(api, a.authority)
    b = expect(
        a.record.post(
            "/v1/conferences",
            json={
                "meeting_type": "review_conference",
                "scheduled_start": "2025-12-18T10:00:00Z",
                "chair_id": "chair-2",
                "chair_name": "Other Chair",
                "child_ids": [child],
            },
        ),
        201,
    )
    b_url = f"/v1/conferences/{b['id']}"
    expect(
        a.record.post(
            f"{b_url}/attendees",
            json={
                "person_id": "prof-1",
                "name": "Prof-1",
                "role_title": "Worker",
                "agency": "Agency",
                "kind": "professional",
                "attended": True,
            },
        ),
        201,
    )
    chair_2 = api.as_("chair-2", "chair", authority=a.authority)
    expect(chair_2.post(f"{b_url}/start"), 200)
    in_b = expect(a.professional.post(f"{b_url}/dissents", json={"subject": "category", "reasons": "x"}), 201)
    return {"m": a, "a1": by_1["id"], "a2": by_2["id"], "b1": in_b["id"], "b": b["id"], "chair_2": chair_2}


def test_visibility_of_dissents(api):
    s = two_meetings(api)
    m: Meeting = s["m"]
    everything = {s["a1"], s["a2"], s["b1"]}
    assert set(listed(m.professional)) == {s["a1"], s["b1"]}
    assert set(listed(m.other_professional)) == {s["a2"]}
    stranger = api.as_("prof-3", "professional", authority=m.authority)
    assert listed(stranger) == []
    assert set(listed(m.chair)) == {s["a1"], s["a2"]}
    assert set(listed(s["chair_2"])) == {s["b1"]}
    assert set(listed(m.reviewer)) == everything
    assert set(listed(m.admin)) == everything
    # Reading one follows the same rules.
    show(m.professional, s["a1"])
    expect(m.other_professional.get(dissent_url(s["a1"])), 404, "not_found")
    expect(stranger.get(dissent_url(s["a1"])), 404, "not_found")
    show(m.chair, s["a2"])
    expect(m.chair.get(dissent_url(s["b1"])), 404, "not_found")
    expect(s["chair_2"].get(dissent_url(s["a1"])), 404, "not_found")
    show(m.reviewer, s["b1"])
    # The conference shows only the dissents the caller may see.
    assert expect(m.other_professional.get(m.url), 200)["dissent_ids"] == [s["a2"]]
    assert set(expect(m.reviewer.get(m.url), 200)["dissent_ids"]) == {s["a1"], s["a2"]}


def test_another_authoritys_reviewer_sees_nothing(api):
    s = two_meetings(api)
    other = make_meeting(api, ENGLAND)
    outsider = api.as_("reviewer-1", "reviewer", authority=other.authority)
    assert listed(outsider) == []
    expect(outsider.get(dissent_url(s["a1"])), 404, "not_found")
    expect(
        outsider.post(
            dissent_url(s["a1"], "review-meeting"), json={"held_on": "2025-12-18", "members": ["x"]}
        ),
        404,
        "not_found",
    )


def test_reporting_role_cannot_read_dissents(api):
    s = two_meetings(api)
    reporting = api.as_("reports", "reporting", authority=s["m"].authority)
    expect(reporting.get("/v1/dissents"), 403, "forbidden")
    expect(reporting.get(dissent_url(s["a1"])), 403, "forbidden")


def test_unknown_dissent_is_404(api):
    m = begin(api, ENGLAND)
    expect(m.reviewer.get(dissent_url(str(uuid.uuid4()))), 404, "not_found")


def test_list_filters(api):
    s = two_meetings(api)
    m: Meeting = s["m"]
    expect(m.chair.post(dissent_url(s["a2"], "resolution"), json={"summary": "ok"}), 200)
    finish(m)
    assert set(listed(m.reviewer, f"?conference_id={m.conference_id}")) == {s["a1"], s["a2"]}
    assert listed(m.reviewer, f"?conference_id={s['b']}") == [s["b1"]]
    assert listed(m.reviewer, "?status=awaiting_submission") == [s["a1"]]
    assert listed(m.reviewer, "?status=resolved") == [s["a2"]]
    assert listed(m.reviewer, "?status=raised") == [s["b1"]]
    assert listed(m.reviewer, f"?status=raised&conference_id={m.conference_id}") == []
    assert listed(m.reviewer, "?overdue=true") == []
    expect(m.reviewer.get("/v1/dissents?status=nonsense"), 422, "validation_error")
    page = expect(m.reviewer.get("/v1/dissents?limit=2"), 200)
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = expect(m.reviewer.get(f"/v1/dissents?limit=2&cursor={page['next_cursor']}"), 200)
    assert {i["id"] for i in page["items"] + rest["items"]} == {s["a1"], s["a2"], s["b1"]}
    assert rest["next_cursor"] is None


def test_list_items_show_status_and_overdue(api):
    m, d = unresolved(api, REGISTRATION, day="2025-11-27")
    item = expect(m.reviewer.get("/v1/dissents"), 200)["items"][0]
    assert item["id"] == d["id"]
    assert item["status"] == "awaiting_referral"
    assert item["overdue"] is False
    assert item["dissenter"]["person_id"] == "prof-1"
    api.set_clock("2025-12-01T09:00:00Z")
    assert expect(m.reviewer.get("/v1/dissents"), 200)["items"][0]["overdue"] is True


def test_dissent_detail_has_deadlines_and_history(api, db):
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-22T10:00:00Z")
    submit(m, d["id"])
    r = m.professional.get(dissent_url(d["id"]))
    body = expect(r, 200)
    assert r.headers["ETag"] == f'"{body["version"]}"'
    assert [x["kind"] for x in body["deadlines"]] == ["written_submission", "review_meeting"]
    for item in body["deadlines"]:
        assert DEADLINE_KEYS <= set(item)
    assert [h["type"] for h in body["history"]] == [
        "dissent.raised",
        "dissent.unresolved",
        "dissent.submitted",
    ]
    assert all(h["occurred_at"].endswith("Z") for h in body["history"])
    # Reading a dissent is audited (personal data).
    reads = audits(db, m.authority, "dissent.read")
    assert any(a.entity_id == d["id"] and a.actor_sub == "prof-1" for a in reads)


def test_a_written_dissent_stored_in_an_earlier_shape_still_reads(api, db):
    """A Dissent Form stored before the form gained the professional's details, the manager,
    the children and the signature date (an upgraded deployment's rows) reads with those
    fields null, never a 500."""
    m, d = unresolved(api, ENGLAND)
    submit(m, d["id"])
    earlier = {
        "signed_name": "Pat Prof",
        "conference_date": "2025-12-18",
        "child_subject_to_plan": True,
        "discussed_with_line_manager_and_safeguarding_lead": True,
        "rationale": "The evidence does not show the threshold is met.",
    }
    table = SQLModel.metadata.tables["dissent"]
    db.execute(sa.update(table).where(table.c.id == uuid.UUID(d["id"])).values(submission=earlier))
    db.commit()
    shown = show(m.reviewer, d["id"])["submission"]
    assert shown["form"] == "dissent_form" and shown["rationale"] == earlier["rationale"]
    assert shown["professional"] is None and shown["signed_on"] is None
