"""One end-to-end scenario per procedure profile: from the meeting to the outcome, with the
test clock, checking the dissent's status, its deadlines and the events at every step."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from app.models.dissent import ChildRecordEntry
from tests.api.test_dissents import (
    CARM,
    ENGLAND,
    REGISTRATION,
    deadline,
    decision_rows,
    dissent_url,
    show,
)
from tests.support import as_utc, begin, events, expect, fetch, submission


def history(body: dict) -> list[str]:
    return [h["type"] for h in body["history"]]


def kinds_and_statuses(body: dict) -> dict[str, str]:
    return {d["kind"]: d["status"] for d in body["deadlines"]}


def new_event_types(db: sa.Connection, authority: str, after: int) -> list[str]:
    """The procedure's own events since `after`; the documents its steps issue (and their
    events) are checked in tests/api/test_documents.py."""
    return [e.type for e in events(db, authority) if e.seq > after and not e.type.startswith("document.")]


def last_seq(db: sa.Connection, authority: str) -> int:
    feed = events(db, authority)
    return feed[-1].seq if feed else 0


def review_notes(db: sa.Connection) -> list:
    t = ChildRecordEntry.__table__
    return fetch(db, sa.select(t).where(t.c.kind == "review_note"))


def test_england_dissent_from_conference_to_reconvened_conference(api, db):
    # Thursday 18 December 2025: the conference.
    m = begin(api, ENGLAND, day="2025-12-18")
    d = m.raise_dissent("registration", "The threshold for a plan is not met")
    assert d["status"] == "raised"
    assert d["deadlines"] == []
    # Another professional's dissent is resolved in the room; it plays no further part.
    other = expect(
        m.other_professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "Too vague"}), 201
    )
    expect(m.chair.post(dissent_url(other["id"], "resolution"), json={"summary": "Plan reworded"}), 200)

    m.decide_all()
    m.confirm_all()
    seq = last_seq(db, m.authority)
    m.end()
    assert new_event_types(db, m.authority, seq) == ["conference.ended", "dissent.unresolved"]
    body = show(m.professional, d["id"])
    assert body["status"] == "awaiting_submission"
    written = deadline(body, "written_submission")
    assert (written["due_date"], written["status"]) == ("2025-12-29", "pending")
    assert "skipped 2025-12-25 Christmas Day, 2025-12-26 Boxing Day" in written["explanation"]
    assert show(m.reviewer, other["id"])["status"] == "resolved"

    # Monday 22 December: a first attempt without the line-manager discussion is refused.
    api.set_clock("2025-12-22T11:00:00Z")
    url = dissent_url(d["id"], "written-submission")
    r = m.professional.post(
        url,
        json=submission(m.profile, m.extras["day"], discussed_with_line_manager_and_safeguarding_lead=False),
    )
    expect(r, 422, "line_manager_discussion_required")
    seq = last_seq(db, m.authority)
    body = expect(m.professional.post(url, json=submission(m.profile, m.extras["day"])), 200)
    assert new_event_types(db, m.authority, seq) == ["dissent.submitted"]
    assert body["status"] == "submitted"
    assert kinds_and_statuses(body) == {"written_submission": "met", "review_meeting": "pending"}
    assert deadline(body, "review_meeting")["due_date"] == "2025-12-31"
    # The review meeting must come first.
    decision = {"outcome": "reconvene", "written_note": "The conference will be reconvened."}
    decision["reconvene"] = {
        "scheduled_start": "2026-01-08T10:00:00Z",
        "chair_id": "chair-2",
        "chair_name": "Alex Other",
    }
    expect(m.reviewer.post(dissent_url(d["id"], "review-decision"), json=decision), 409, "invalid_transition")

    # Tuesday 30 December: the review meeting, in time.
    api.set_clock("2025-12-30T15:00:00Z")
    seq = last_seq(db, m.authority)
    body = expect(
        m.reviewer.post(
            dissent_url(d["id"], "review-meeting"),
            json={"held_on": "2025-12-30", "members": ["IRO Service Manager", "Head of Service"]},
        ),
        200,
    )
    assert new_event_types(db, m.authority, seq) == ["dissent.review_meeting_held"]
    assert body["status"] == "under_review"
    assert kinds_and_statuses(body) == {"written_submission": "met", "review_meeting": "met"}

    # Friday 2 January 2026: the decision. The same chair is refused for the new meeting.
    api.set_clock("2026-01-02T10:00:00Z")
    same_chair = {**decision, "reconvene": {**decision["reconvene"], "chair_id": "chair-1"}}
    r = m.reviewer.post(dissent_url(d["id"], "review-decision"), json=same_chair)
    expect(r, 422, "same_chair_not_allowed")
    assert show(m.reviewer, d["id"])["status"] == "under_review"
    seq = last_seq(db, m.authority)
    body = expect(m.reviewer.post(dissent_url(d["id"], "review-decision"), json=decision), 200)
    assert body["status"] == "decided"
    assert body["outcome"] == "reconvene"
    assert as_utc(body["decided_at"]) == datetime(2026, 1, 2, 10, tzinfo=UTC)
    assert new_event_types(db, m.authority, seq) == [
        "conference.scheduled",
        "conference.reconvene_requested",
        "dissent.decided",
        # one per recipient England's procedure names (issue 13): dissenter, agency, the two
        # attending professionals, family, chair, review group, child's record
        *["review_note.shared"] * 8,
    ]
    new = expect(m.reviewer.get(f"/v1/conferences/{body['reconvened_conference_id']}"), 200)
    assert (new["status"], new["reconvened_from"], new["chair_id"]) == (
        "scheduled",
        m.conference_id,
        "chair-2",
    )
    # The decision stays in force until the reconvened conference decides otherwise.
    original = expect(m.reviewer.get(m.url), 200)
    assert [(x["outcome"], x["amended"]) for x in original["decisions"]] == [("register", False)]
    assert [n.text for n in review_notes(db)] == ["The conference will be reconvened."]

    # The family is told, once.
    informed = {"informed_by": "Sam Chair", "informed_on": "2026-01-02"}
    body = expect(m.reviewer.post(dissent_url(d["id"], "family-informed"), json=informed), 200)
    assert body["family_informed_on"] == "2026-01-02"
    expect(m.reviewer.post(dissent_url(d["id"], "family-informed"), json=informed), 409, "already_recorded")
    expect(
        m.professional.post(dissent_url(d["id"], "withdrawal"), json={"reason": "x"}),
        409,
        "invalid_transition",
    )

    body = show(m.professional, d["id"])
    assert history(body) == [
        "dissent.raised",
        "dissent.unresolved",
        "dissent.submitted",
        "dissent.review_meeting_held",
        "dissent.decided",
        *["review_note.shared"] * 8,
        "dissent.family_informed",
    ]
    assert body["overdue"] is False
    assert expect(m.reviewer.get("/v1/dissents?status=decided"), 200)["items"][0]["id"] == d["id"]


def test_scotland_carm_dissent_from_meeting_to_changed_areas_of_concern(api, db):
    # Thursday 27 November 2025: the CPPM, two children.
    m = begin(api, CARM, day="2025-11-27", children=2)
    d = m.raise_dissent("category", "Domestic abuse is the main concern, not neglect")
    # The dissenter's second dissent, about the plan, is withdrawn during the meeting.
    plan = m.raise_dissent("plan", "The plan is thin")
    expect(m.professional.post(dissent_url(plan["id"], "withdrawal"), json={"reason": "Talked it over"}), 200)

    m.decide_all()
    m.confirm_all()
    seq = last_seq(db, m.authority)
    m.end()
    assert new_event_types(db, m.authority, seq) == ["conference.ended", "dissent.unresolved"]
    body = show(m.professional, d["id"])
    assert body["status"] == "awaiting_submission"
    written = deadline(body, "written_submission")
    # St Andrew's Day (observed Monday 1 December) is skipped in Scotland.
    assert (written["due_date"], written["status"]) == ("2025-12-05", "pending")
    assert "2025-12-01" in written["explanation"]

    # Friday 5 December, late afternoon: the written dissent, on the last day, without a
    # line-manager discussion (not required here).
    api.set_clock("2025-12-05T16:30:00Z")
    seq = last_seq(db, m.authority)
    body = expect(
        m.professional.post(
            dissent_url(d["id"], "written-submission"),
            json=submission(
                m.profile, m.extras["day"], discussed_with_line_manager_and_safeguarding_lead=False
            ),
        ),
        200,
    )
    assert new_event_types(db, m.authority, seq) == ["dissent.submitted"]
    assert body["status"] == "submitted"
    assert kinds_and_statuses(body) == {"written_submission": "met"}

    # Much later: no review deadline in this procedure, so nothing is overdue.
    api.set_clock("2026-01-20T10:00:00Z")
    body = show(m.reviewer, d["id"])
    assert body["status"] == "submitted"
    assert body["overdue"] is False
    expect(
        m.reviewer.post(
            dissent_url(d["id"], "review-decision"),
            json={"outcome": "change_category", "new_categories": ["domestic_abuse"], "written_note": "x"},
        ),
        422,
        "family_informant_required",
    )
    seq = last_seq(db, m.authority)
    body = expect(
        m.reviewer.post(
            dissent_url(d["id"], "review-decision"),
            json={
                "outcome": "change_category",
                "new_categories": ["domestic_abuse"],
                "practice_improvements": "Share the domestic abuse assessment before the meeting.",
                "written_note": "The areas of concern are changed to domestic abuse.",
                "family_informant": {"name": "Lee Social Worker", "role": "Lead social worker"},
            },
        ),
        200,
    )
    assert body["status"] == "decided"
    assert new_event_types(db, m.authority, seq) == [
        "decision.amended",
        "decision.amended",
        "dissent.decided",
        *["review_note.shared"] * 6,
    ]
    stored = decision_rows(db, m.conference_id)
    assert len(stored) == 4
    assert sorted(r.categories for r in stored if r.superseded_at is not None) == [["neglect"], ["neglect"]]
    current = [r for r in stored if r.superseded_at is None]
    assert all(
        r.categories == ["domestic_abuse"] and r.amends_id and r.outcome == "register" for r in current
    )
    conference = expect(m.reviewer.get(m.url), 200)
    assert [(x["categories"], x["amended"]) for x in conference["decisions"]] == [
        (["domestic_abuse"], True)
    ] * 2
    assert sorted(n.child_id for n in review_notes(db)) == sorted(uuid.UUID(c) for c in m.child_ids)

    informed = {"informed_by": "Lee Social Worker", "informed_on": "2026-01-20"}
    expect(m.reviewer.post(dissent_url(d["id"], "family-informed"), json=informed), 200)
    body = show(m.professional, d["id"])
    assert history(body) == [
        "dissent.raised",
        "dissent.unresolved",
        "dissent.submitted",
        "dissent.decided",
        *["review_note.shared"] * 6,
        "dissent.family_informed",
    ]
    assert show(m.professional, plan["id"])["status"] == "withdrawn"


def test_scotland_registration_dissent_from_meeting_to_upheld_registration(api, db):
    # Wednesday 24 December 2025: the CPPM.
    m = begin(api, REGISTRATION, day="2025-12-24")
    expect(
        m.professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"}),
        422,
        "subject_not_allowed",
    )
    d = m.raise_dissent("registration", "Registration is not needed with the support in place")

    m.decide_all()
    m.confirm_all()
    seq = last_seq(db, m.authority)
    m.end()
    assert new_event_types(db, m.authority, seq) == ["conference.ended", "dissent.unresolved"]
    body = show(m.chair, d["id"])
    assert body["status"] == "awaiting_referral"
    referral = deadline(body, "referral")
    # One working day after Wednesday 24 December: Christmas and Boxing Day are skipped.
    assert (referral["due_date"], referral["status"]) == ("2025-12-29", "pending")
    assert "skipped 2025-12-25 Christmas Day, 2025-12-26 Boxing Day" in referral["explanation"]
    # The dissenter has no written step of their own in this procedure.
    expect(
        m.professional.post(
            dissent_url(d["id"], "written-submission"), json=submission(m.profile, m.extras["day"])
        ),
        409,
        "invalid_transition",
    )

    # Tuesday 30 December: the chair is late; the referral is missed and overdue, not lapsed.
    api.set_clock("2025-12-30T09:00:00Z")
    body = show(m.reviewer, d["id"])
    assert body["status"] == "awaiting_referral"
    assert body["overdue"] is True
    # the 28-day written response runs from the meeting date, so it shows already (issue 13)
    assert kinds_and_statuses(body) == {"referral": "missed", "review_response": "pending"}
    overdue = expect(m.reviewer.get("/v1/dissents?overdue=true"), 200)["items"]
    assert [i["id"] for i in overdue] == [d["id"]]
    seq = last_seq(db, m.authority)
    body = expect(m.chair.post(dissent_url(d["id"], "referral"), json={"note": "Referred, late"}), 200)
    assert new_event_types(db, m.authority, seq) == ["dissent.referred"]
    assert body["status"] == "referred"
    assert body["overdue"] is False
    assert kinds_and_statuses(body) == {"referral": "missed", "review_response": "pending"}
    response = deadline(body, "review_response")
    assert response["due_date"] == "2026-01-21"  # 28 calendar days after the meeting date
    assert expect(m.reviewer.get("/v1/dissents?overdue=true"), 200)["items"] == []

    # Wednesday 14 January 2026: the reviewer upholds the registration, in time.
    api.set_clock("2026-01-14T10:00:00Z")
    expect(
        m.reviewer.post(
            dissent_url(d["id"], "review-decision"),
            json={"outcome": "change_category", "new_categories": ["neglect"], "written_note": "x"},
        ),
        422,
        "outcome_not_allowed",
    )
    seq = last_seq(db, m.authority)
    body = expect(
        m.reviewer.post(
            dissent_url(d["id"], "review-decision"),
            json={"outcome": "uphold", "written_note": "The registration decision is upheld."},
        ),
        200,
    )
    assert body["status"] == "decided"
    assert new_event_types(db, m.authority, seq) == ["dissent.decided", *["review_note.shared"] * 2]
    assert kinds_and_statuses(body) == {"referral": "missed", "review_response": "met"}
    conference = expect(m.reviewer.get(m.url), 200)
    assert [(x["outcome"], x["amended"]) for x in conference["decisions"]] == [("register", False)]
    assert [n.text for n in review_notes(db)] == ["The registration decision is upheld."]
    expect(
        m.reviewer.post(
            dissent_url(d["id"], "family-informed"), json={"informed_by": "x", "informed_on": "2026-01-14"}
        ),
        422,
        "not_in_procedure",
    )
    body = show(m.professional, d["id"])
    assert history(body) == [
        "dissent.raised",
        "dissent.unresolved",
        "dissent.referred",
        "dissent.decided",
        *["review_note.shared"] * 2,
    ]
