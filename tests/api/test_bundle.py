"""The review bundle over HTTP: its JSON shape, and its PDF (opens, tagged with language and
title, carries the dissent's fields, and has the attachments' pages appended); who may read
it; the read is audited."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader

from tests.api.test_attachments import attach
from tests.api.test_documents import RATIONALE, assert_accessible_pdf, end, text_of, written_step
from tests.pdf_samples import make_pdf
from tests.support import CATEGORY, Meeting, audits, begin, expect, make_meeting

ENGLAND, REGISTRATION = "england-cp-conference", "scotland-cppm-registration"
REASONS = "The risk to Riley is not shown by the evidence presented."
PLAN = "Weekly visits by the lead social worker.\n\nA core group meeting within ten working days."
PDF = {"Accept": "application/pdf"}


def meeting_with_dissent(api: Any, profile: str) -> tuple[Meeting, str]:
    """A meeting that ended with prof-1's unresolved dissent, taken to its written step."""
    m = begin(api, profile)
    dissent_id = str(m.raise_dissent("registration", reasons=REASONS)["id"])
    for child_id in m.child_ids:
        body = {
            "child_id": child_id,
            "outcome": "register",
            "categories": [CATEGORY[profile]],
            "plan_summary": PLAN,
        }
        expect(m.chair.post(f"{m.url}/decisions", json=body), 200)
    m.confirm_all()
    m.end()
    written_step(m, dissent_id)
    return m, dissent_id


def pdf_bundle(m: Meeting, dissent_id: str) -> PdfReader:
    r = m.reviewer.get(f"/v1/dissents/{dissent_id}/bundle", headers=PDF)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    return PdfReader(io.BytesIO(r.content))


def test_the_bundle_as_json(api: Any, db: Any) -> None:
    m, dissent_id = meeting_with_dissent(api, ENGLAND)
    added = expect(attach(m.record, m, make_pdf(3), title="Social work report"), 201)
    bundle = expect(m.reviewer.get(f"/v1/dissents/{dissent_id}/bundle"), 200)
    assert set(bundle) == {
        "dissent_id",
        "generated_at",
        "authority",
        "procedure",
        "meeting",
        "children",
        "dissent",
        "written",
        "deadlines",
        "attachments",
    }
    meeting = bundle["meeting"]
    assert meeting["id"] == m.conference_id and meeting["date"] == "2025-12-18"
    assert (meeting["chair_name"], meeting["type"], meeting["status"]) == (
        "Sam Chair",
        "initial_conference",
        "ended",
    )
    attendance = {a["name"]: a["attended"] for a in meeting["attendees"]}
    assert attendance == {"Prof-1": True, "Prof-2": True, "Prof-Absent": False, "Parent-1": True}
    (child,) = bundle["children"]
    assert child["id"] == m.child_ids[0]
    assert child["decision"]["outcome"] == "register"
    assert (
        child["decision"]["categories"] == [CATEGORY[ENGLAND]] and child["decision"]["plan_summary"] == PLAN
    )
    assert bundle["dissent"]["reasons"] == REASONS and bundle["dissent"]["id"] == dissent_id
    assert bundle["dissent"]["dissenter"]["name"] == "Prof-1"
    assert bundle["written"]["kind"] == "written_submission"
    assert bundle["written"]["submission"]["rationale"] == RATIONALE
    assert bundle["deadlines"] and {"kind", "due_date", "met", "cancelled"} <= set(bundle["deadlines"][0])
    assert bundle["attachments"] == [added]
    (entry,) = audits(db, m.authority, "dissent.bundle_read")
    assert entry.entity_id == dissent_id and entry.detail == {"format": "application/json", "attachments": 1}


def test_the_bundle_as_pdf_has_the_attachments_pages(api: Any, db: Any) -> None:
    m, dissent_id = meeting_with_dissent(api, ENGLAND)
    alone = pdf_bundle(m, dissent_id)
    summary_pages = len(alone.pages)
    expect(attach(m.record, m, make_pdf(3), title="Social work report"), 201)
    expect(attach(m.chair, m, make_pdf(2), title="Minutes"), 201)
    reader = pdf_bundle(m, dissent_id)
    assert len(reader.pages) == summary_pages + 5
    title = "Review bundle: dissent from the initial child protection conference of Thursday 18 December 2025"
    assert_accessible_pdf(reader, title)
    text = text_of(reader)
    for expected in ("Prof-1", "Sam Chair", "Prof-Absent", "Social work report", "Minutes", "Weekly visits"):
        assert expected in text, expected
    assert " ".join(REASONS.split()) in text and " ".join(RATIONALE.split()) in text
    pdf_reads = [
        a for a in audits(db, m.authority, "dissent.bundle_read") if a.detail["format"] == "application/pdf"
    ]
    assert [a.detail["attachments"] for a in pdf_reads] == [0, 2]


def test_a_referred_dissent_bundles_the_referral(api: Any) -> None:
    m, dissent_id = meeting_with_dissent(api, REGISTRATION)
    bundle = expect(m.reviewer.get(f"/v1/dissents/{dissent_id}/bundle"), 200)
    assert bundle["written"]["kind"] == "referral" and bundle["written"]["referral"]["note"]
    assert bundle["attachments"] == []
    reader = pdf_bundle(m, dissent_id)
    assert "Referred in writing" in text_of(reader)


def test_who_may_read_the_bundle(api: Any) -> None:
    m, dissent_id = meeting_with_dissent(api, ENGLAND)
    url = f"/v1/dissents/{dissent_id}/bundle"
    for caller in (m.reviewer, m.admin, m.record, m.chair, m.professional):
        expect(caller.get(url), 200)
    expect(api.as_("rep", "reporting", authority=m.authority).get(url), 403, "forbidden")
    expect(api.as_("rep", "reporting", authority=m.authority).get(url, headers=PDF), 403, "forbidden")
    for outsider in (
        api.as_("prof-absent", "professional", authority=m.authority),
        api.as_("chair-2", "chair", authority=m.authority),
        make_meeting(api, attendees=False).reviewer,  # another authority
    ):
        expect(outsider.get(url), 404, "not_found")
    expect(m.reviewer.get(url, headers={"Accept": "text/html"}), 406, "not_acceptable")
    expect(m.reviewer.get("/v1/dissents/00000000-0000-0000-0000-000000000000/bundle"), 404, "not_found")


def test_the_bundle_needs_no_attachments_or_written_step(api: Any) -> None:
    m = begin(api, ENGLAND)
    dissent_id = str(m.raise_dissent("registration", reasons=REASONS)["id"])
    bundle = expect(m.reviewer.get(f"/v1/dissents/{dissent_id}/bundle"), 200)
    assert bundle["written"] == {"kind": "none", "submission": None, "referral": None}
    assert bundle["children"][0]["decision"] is None
    assert "Nothing has been received in writing yet" in text_of(pdf_bundle(m, dissent_id))
    end(m)
