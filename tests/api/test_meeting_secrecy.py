"""No existence oracle across meetings a caller cannot see (issue 15, security).

* A complaint naming a conference answers the same for a meeting the caller may not see as
  for one that does not exist.
* Only someone who may see the meeting (its record system, its chair, an attending lead
  social worker) lodges an appeal for the family; anyone else is answered as for an unknown
  meeting, and nothing is stored.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from app.models.appeal import Appeal, Complaint
from tests.api.test_appeals import body, complaint, count, ended
from tests.support import events, expect

# What a refusal may differ in between two calls: nothing but the request's own identifiers.
_PER_REQUEST = {"instance", "request_id"}


def _same_refusal(a: httpx.Response, b: httpx.Response) -> None:
    assert a.status_code == b.status_code, (a.text, b.text)
    assert {k: v for k, v in a.json().items() if k not in _PER_REQUEST} == {
        k: v for k, v in b.json().items() if k not in _PER_REQUEST
    }


def _strangers(m: Any) -> list[Any]:
    """Same authority, not part of this meeting: a professional who did not come, one never
    invited, and the chair of another meeting."""
    return [
        m.api.as_("prof-absent", "professional", authority=m.authority),
        m.api.as_("prof-stranger", "professional", authority=m.authority),
        m.api.as_("chair-2", "chair", authority=m.authority),
    ]


def test_complaint_about_a_meeting_you_cannot_see_answers_as_an_unknown_one(api, db):
    m = ended(api)
    for caller in _strangers(m):
        unknown = caller.post("/v1/complaints", json=complaint(conference_id=str(uuid.uuid4())))
        hidden = caller.post("/v1/complaints", json=complaint(conference_id=m.conference_id))
        expect(unknown, 422, "conference_not_found")
        _same_refusal(hidden, unknown)
    assert count(db, Complaint, m.authority) == 0
    assert events(db, m.authority, "complaint.recorded") == []


def test_complaint_about_a_meeting_you_can_see_is_recorded(api, db):
    m = ended(api)
    for caller in (m.professional, m.chair, m.record, m.admin, m.reviewer):
        expect(caller.post("/v1/complaints", json=complaint(conference_id=m.conference_id)), 201)
    assert count(db, Complaint, m.authority) == 5


def test_professional_who_did_not_attend_cannot_lodge_as_lead_social_worker(api, db):
    m = ended(api)
    for sub in ("prof-absent", "prof-stranger"):
        caller = api.as_(sub, "professional", authority=m.authority, agency="Social Work")
        unknown = caller.post(
            "/v1/appeals", json=body(m, lead="Lee Social Worker", conference_id=str(uuid.uuid4()))
        )
        hidden = caller.post("/v1/appeals", json=body(m, lead="Lee Social Worker"))
        expect(unknown, 404, "not_found")
        _same_refusal(hidden, unknown)
    assert count(db, Appeal, m.authority) == 0
    assert events(db, m.authority, "appeal.lodged") == []


def test_attending_lead_social_worker_and_the_record_system_may_lodge(api, db):
    m = ended(api)
    expect(m.other_professional.post("/v1/appeals", json=body(m, lead="Lee Social Worker")), 201)
    expect(m.record.post("/v1/appeals", json=body(m, name="Sam Carer", relationship="carer")), 201)
    assert count(db, Appeal, m.authority) == 2
