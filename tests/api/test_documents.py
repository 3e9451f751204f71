"""Issued documents over HTTP: each procedure's written steps issue their documents (PDF/UA
and HTML from the profile's templates), the minutes extract lists exactly the meeting's
dissents and is re-issued when one changes, the bytes and hash never change and the audit
chain covers them, and only those who may read a document's subject, or its recipients,
can read it."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from app.config import Settings
from app.db import Database
from app.services.document_renditions import render_pending
from tests.api.test_appeals import lodge
from tests.support import (
    FORM_PROFESSIONAL,
    Api,
    Caller,
    Meeting,
    begin,
    decide,
    dissent_form,
    dissent_letter,
    expect,
    make_meeting,
    rows,
)

ENGLAND = "england-cp-conference"
CARM = "scotland-cppm-carm"
REGISTRATION = "scotland-cppm-registration"
DAY = "2025-12-18"

RATIONALE = "The evidence does not show that the threshold for a plan is met."
NOTE = "The reviewer read the dissent form, the minutes and the plan."


# ---- helpers ------------------------------------------------------------------------------


def end(m: Meeting) -> None:
    m.decide_all("register")
    m.confirm_all()
    m.end()


def northshire_form() -> dict[str, Any]:
    return dissent_form(
        DAY, professional=FORM_PROFESSIONAL | {"agency": "NHS Northshire"}, rationale=RATIONALE
    )


def written_step(m: Meeting, dissent_id: str) -> None:
    if m.profile == REGISTRATION:
        expect(
            m.chair.post(f"/v1/dissents/{dissent_id}/referral", json={"note": "Referred in writing."}), 200
        )
        return
    body = dissent_letter(DAY, reasons=RATIONALE) if m.profile == CARM else northshire_form()
    expect(m.professional.post(f"/v1/dissents/{dissent_id}/written-submission", json=body), 200)
    if m.profile == ENGLAND:
        body = {"held_on": DAY, "members": ["IRO Service Manager"]}
        expect(m.reviewer.post(f"/v1/dissents/{dissent_id}/review-meeting", json=body), 200)


def through_review(api: Api, profile: str) -> tuple[Meeting, str]:
    """A meeting that ended with one unresolved dissent by prof-1, taken to a decision."""
    m = begin(api, profile)
    dissent_id = m.raise_dissent("registration", reasons="The risk to Riley is not shown.")["id"]
    end(m)
    written_step(m, dissent_id)
    decide(m, dissent_id, written_note=NOTE, informant="Lee Worker")
    return m, dissent_id


def render_pdfs(settings: Settings) -> int:
    """One worker pass over the documents whose PDF is still to be rendered."""

    async def run() -> int:
        db = Database(settings)
        try:
            return await render_pending(db, settings, batch=100, budget_seconds=float("inf"))
        finally:
            await db.dispose()

    return asyncio.run(run())


def listing(caller: Caller, path: str) -> list[dict[str, Any]]:
    return list(expect(caller.get(path), 200)["items"])


def by_kind(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["kind"]: i for i in items if i.get("replaced_by") is None}


def pdf_of(caller: Caller, document_id: str) -> tuple[bytes, PdfReader]:
    r = caller.get(f"/v1/documents/{document_id}", headers={"Accept": "application/pdf"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    return r.content, PdfReader(io.BytesIO(r.content))


def text_of(reader: PdfReader) -> str:
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def assert_accessible_pdf(reader: PdfReader, title: str) -> None:
    root: Any = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en-GB"
    assert reader.metadata is not None and reader.metadata.title == title


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.headings: list[int] = []
        self.scripts = 0
        self.th_without_scope = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        elif len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))
        elif tag == "script":
            self.scripts += 1
        elif tag == "th" and "scope" not in dict(attrs):
            self.th_without_scope += 1


def assert_accessible_html(html: str) -> None:
    outline = _Outline()
    outline.feed(html)
    assert outline.lang == "en-GB"
    assert outline.headings and outline.headings[0] == 1 and outline.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(outline.headings, outline.headings[1:], strict=False))
    assert outline.scripts == 0
    assert outline.th_without_scope == 0


# ---- each procedure's documents ---------------------------------------------------------------


EXPECTED_KINDS = {
    ENGLAND: ("dissent_form", "review_outcome"),
    CARM: ("dissent_letter", "review_outcome"),
    REGISTRATION: ("referral", "review_outcome"),
}


@pytest.mark.parametrize("profile", [ENGLAND, CARM, REGISTRATION])
def test_each_written_step_issues_its_document(
    api: Api, profile: str, db: sa.Connection, settings: Settings
) -> None:
    m, dissent_id = through_review(api, profile)
    assert render_pdfs(settings) >= 3
    items = listing(m.reviewer, f"/v1/dissents/{dissent_id}/documents")
    assert [i["kind"] for i in items] == list(EXPECTED_KINDS[profile])
    for item in items:
        assert set(item) >= {
            "id",
            "kind",
            "title",
            "issued_at",
            "sha256",
            "template_version",
            "recipients",
            "replaces",
        }
        data, reader = pdf_of(m.reviewer, item["id"])
        assert hashlib.sha256(data).hexdigest() == item["sha256"]
        assert_accessible_pdf(reader, item["title"])
        r = m.reviewer.get(f"/v1/documents/{item['id']}", headers={"Accept": "text/html"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert_accessible_html(r.text)
    written, outcome = (by_kind(items)[k] for k in EXPECTED_KINDS[profile])
    written_text = text_of(pdf_of(m.reviewer, written["id"])[1])
    if profile == REGISTRATION:
        assert "Referred in writing." in written_text and "Sam Chair" in written_text
    else:
        assert "Pat Prof" in written_text and RATIONALE in written_text
    outcome_text = text_of(pdf_of(m.reviewer, outcome["id"])[1])
    assert NOTE in outcome_text
    labels = expect(m.reviewer.get(f"/v1/profiles/{profile}"), 200)["review_outcomes"]
    outcome_label = next(o["label"] for o in labels if o["code"] == "uphold")
    assert f"Outcome: {outcome_label}" in outcome_text
    events = rows(
        db,
        "SELECT e.type, e.data FROM event e JOIN authority a ON a.id = e.authority_id "
        "WHERE a.code = :c AND e.type = 'document.issued' ORDER BY e.seq",
        c=m.authority,
    )
    assert len(events) >= 3  # the minutes extract, the written step's document, the outcome


def test_the_dissent_form_carries_what_the_professional_wrote(api: Api) -> None:
    m, dissent_id = through_review(api, ENGLAND)
    form = by_kind(listing(m.reviewer, f"/v1/dissents/{dissent_id}/documents"))["dissent_form"]
    assert form["title"] == "Dissent Form"
    text = text_of(pdf_of(m.reviewer, form["id"])[1])
    for field in (
        "Pat Prof",
        "Health visitor",
        "NHS Northshire",
        "Morgan Manager",
        "Riley Example",
        RATIONALE,
    ):
        assert field in text, field
    content = expect(m.reviewer.get(f"/v1/documents/{form['id']}"), 200)
    assert content["content"]["submission"]["rationale"] == RATIONALE
    assert content["content"]["authority"]["name"] == f"Authority {m.authority}"
    kinds = {r["kind"] for r in content["recipients"]}
    assert kinds == {"reviewer", "dissenter", "dissenter_agency", "chair"}


def test_appeal_and_its_response_issue_documents(api: Api) -> None:
    m = begin(api, REGISTRATION)
    end(m)
    api.set_clock(f"{DAY}T15:00:00Z")
    appeal = lodge(m, name="Jo Parent", grounds="We do not agree that the risk is high enough.")
    response = {"outcome": "decision_confirmed", "response_text": "We looked again at the decision."}
    expect(m.chair.post(f"/v1/appeals/{appeal['id']}/response", json=response), 200)
    items = listing(m.chair, f"/v1/appeals/{appeal['id']}/documents")
    assert [i["kind"] for i in items] == ["appeal", "appeal_response"]
    lodged, answered = (text_of(pdf_of(m.chair, i["id"])[1]) for i in items)
    assert "Jo Parent" in lodged and "We do not agree that the risk is high enough." in lodged
    assert "We looked again at the decision." in answered and "Dear Jo Parent" in answered


# ---- integrity ------------------------------------------------------------------------------


def test_an_issued_document_is_the_same_on_every_read_and_its_hash_is_in_the_audit_chain(
    api: Api, db: sa.Connection, settings: Settings
) -> None:
    m, dissent_id = through_review(api, ENGLAND)
    render_pdfs(settings)
    form = by_kind(listing(m.reviewer, f"/v1/dissents/{dissent_id}/documents"))["dissent_form"]
    first, _ = pdf_of(m.reviewer, form["id"])
    second, _ = pdf_of(m.record, form["id"])
    assert first == second and hashlib.sha256(first).hexdigest() == form["sha256"]
    html = [m.reviewer.get(f"/v1/documents/{form['id']}", headers={"Accept": "text/html"}) for _ in range(2)]
    assert html[0].content == html[1].content
    assert html[0].headers["etag"] == f'"{hashlib.sha256(html[0].content).hexdigest()}"'
    for action, field in (("document.issued", "html_sha256"), ("document.rendered", "sha256")):
        entries = rows(
            db,
            "SELECT detail FROM audit_entry WHERE action = :a AND entity_id = :i",
            a=action,
            i=form["id"],
        )
        assert len(entries) == 1, action
        detail = entries[0][0] if isinstance(entries[0][0], dict) else json.loads(entries[0][0])
        assert detail[field] == form[field]
    admin = api.as_("admin-1", "admin", authority=m.authority)
    assert expect(admin.get("/v1/audit/verify"), 200)["ok"] is True


def test_the_pdf_is_rendered_once_after_the_step_by_the_worker_or_the_first_read(
    api: Api, db: sa.Connection, settings: Settings
) -> None:
    m = begin(api, ENGLAND)
    dissent_id = m.raise_dissent("registration")["id"]
    end(m)
    expect(m.professional.post(f"/v1/dissents/{dissent_id}/written-submission", json=northshire_form()), 200)
    # The step's request issued the documents (HTML, hash, audit, event) and rendered no PDF.
    assert rows(db, "SELECT count(*) FROM document_rendition")[0][0] == 0
    queued = rows(db, "SELECT count(*) FROM document_render_queue")[0][0]
    assert queued == rows(db, "SELECT count(*) FROM document")[0][0] == 3  # extract, form, new extract
    (form,) = listing(m.professional, f"/v1/dissents/{dissent_id}/documents")
    assert form["sha256"] is None and form["html_sha256"]
    first, _ = pdf_of(m.professional, form["id"])  # the first read renders it
    second, _ = pdf_of(m.professional, form["id"])
    assert first == second
    assert listing(m.professional, f"/v1/dissents/{dissent_id}/documents")[0]["sha256"] == (
        hashlib.sha256(first).hexdigest()
    )
    assert render_pdfs(settings) == 2  # the worker renders the rest, not that one again
    assert render_pdfs(settings) == 0
    assert rows(db, "SELECT count(*) FROM document_rendition")[0][0] == 3
    assert rows(db, "SELECT count(*) FROM document_render_queue")[0][0] == 0


def test_an_issued_document_never_changes_in_the_database(api: Api, db: sa.Connection) -> None:
    m, dissent_id = through_review(api, ENGLAND)
    form = by_kind(listing(m.reviewer, f"/v1/dissents/{dissent_id}/documents"))["dissent_form"]
    for statement in ("UPDATE document SET title = 'x' WHERE id = :i", "DELETE FROM document WHERE id = :i"):
        db.rollback()
        with pytest.raises(sa.exc.DatabaseError):
            with db.begin():
                params = {"i": form["id"] if db.dialect.name == "postgresql" else uuid.UUID(form["id"]).hex}
                db.execute(sa.text(statement), params)


# ---- who may read -----------------------------------------------------------------------------


def test_who_may_read_a_dissent_form(api: Api) -> None:
    m, dissent_id = through_review(api, ENGLAND)
    form_id = by_kind(listing(m.reviewer, f"/v1/dissents/{dissent_id}/documents"))["dissent_form"]["id"]
    url = f"/v1/documents/{form_id}"
    for caller in (m.reviewer, m.record, m.admin, m.chair, m.professional):
        expect(caller.get(url), 200)
    expect(api.as_("rep", "reporting", authority=m.authority).get(url), 403, "forbidden")
    expect(api.anonymous().get(url), 401)
    refused = (
        api.as_("prof-absent", "professional", authority=m.authority),  # invited, did not attend
        api.as_("chair-9", "chair", authority=m.authority),
        api.as_("stranger", "professional", authority=m.authority),
    )
    for caller in (m.other_professional, *refused):
        expect(caller.get(url), 404, "not_found")
        expect(caller.get(url, headers={"Accept": "application/pdf"}), 404, "not_found")
    for caller in refused:
        expect(caller.get(f"/v1/dissents/{dissent_id}/documents"), 404, "not_found")
    # An attending colleague is sent the review outcome (England), and sees only that.
    shared = listing(m.other_professional, f"/v1/dissents/{dissent_id}/documents")
    assert [i["kind"] for i in shared] == ["review_outcome"]
    other = make_meeting(api, ENGLAND)
    expect(other.reviewer.get(url), 404, "not_found")
    expect(other.record.get(f"/v1/dissents/{dissent_id}/documents"), 404, "not_found")


def test_a_recipient_reads_what_was_sent_to_them_and_nothing_else_of_the_dissent(api: Api) -> None:
    m, dissent_id = through_review(api, CARM)
    kinds = by_kind(listing(m.reviewer, f"/v1/dissents/{dissent_id}/documents"))
    colleague = m.other_professional  # attended; CARM shares the written note with them
    expect(colleague.get(f"/v1/dissents/{dissent_id}"), 404, "not_found")
    expect(colleague.get(f"/v1/documents/{kinds['review_outcome']['id']}"), 200)
    expect(colleague.get(f"/v1/documents/{kinds['dissent_letter']['id']}"), 404, "not_found")
    listed = listing(colleague, f"/v1/dissents/{dissent_id}/documents")
    assert [i["kind"] for i in listed] == ["review_outcome"]


def test_the_meeting_list_shows_each_caller_only_what_they_may_read(api: Api) -> None:
    m = begin(api, ENGLAND)
    mine = m.raise_dissent("registration")["id"]
    other = expect(
        m.other_professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "Not agreed"}), 201
    )["id"]
    end(m)
    for caller, dissent_id in ((m.professional, mine), (m.other_professional, other)):
        expect(caller.post(f"/v1/dissents/{dissent_id}/written-submission", json=northshire_form()), 200)
    everything = listing(m.chair, f"{m.url}/documents")
    assert sorted(i["kind"] for i in everything if i["replaced_by"] is None) == [
        "dissent_form",
        "dissent_form",
        "minutes_extract",
    ]
    own = listing(m.professional, f"{m.url}/documents")
    forms = [i for i in own if i["kind"] == "dissent_form"]
    assert [f["subject"]["id"] for f in forms] == [mine]
    expect(api.as_("rep", "reporting", authority=m.authority).get(f"{m.url}/documents"), 403, "forbidden")
    expect(api.as_("stranger", "professional", authority=m.authority).get(f"{m.url}/documents"), 404)


# ---- the minutes extract ------------------------------------------------------------------------


def test_the_minutes_extract_lists_exactly_the_meetings_dissents(api: Api) -> None:
    m = begin(api, ENGLAND)
    unresolved = m.raise_dissent("registration", reasons="Registration is not justified by the evidence.")
    resolved = expect(
        m.other_professional.post(
            f"{m.url}/dissents", json={"subject": "plan", "reasons": "The plan lacks detail."}
        ),
        201,
    )
    expect(m.chair.post(f"/v1/dissents/{resolved['id']}/resolution", json={"summary": "Plan amended."}), 200)
    elsewhere = begin(api, ENGLAND)
    elsewhere.raise_dissent("registration", reasons="A dissent in another meeting.")
    end(m)
    items = listing(m.chair, f"{m.url}/documents")
    assert [i["kind"] for i in items] == ["minutes_extract"]
    extract = expect(m.chair.get(f"/v1/documents/{items[0]['id']}"), 200)
    listed = extract["content"]["dissents"]
    assert sorted(d["id"] for d in listed) == sorted([unresolved["id"], resolved["id"]])
    by_id = {d["id"]: d for d in listed}
    assert by_id[resolved["id"]]["resolved_in_meeting"] is True
    assert by_id[unresolved["id"]]["resolved_in_meeting"] is False
    assert by_id[unresolved["id"]]["dissenter"] == {"name": "Prof-1", "role": "Worker", "agency": "Agency"}
    text = text_of(pdf_of(m.chair, items[0]["id"])[1])
    assert "Registration is not justified by the evidence." in text and "The plan lacks detail." in text
    assert "A dissent in another meeting." not in text
    assert "Monday 29 December 2025" in text  # the written step's deadline, in words
    assert_accessible_pdf(pdf_of(m.chair, items[0]["id"])[1], items[0]["title"])
    html = m.chair.get(f"/v1/documents/{items[0]['id']}", headers={"Accept": "text/html"})
    assert_accessible_html(html.text)


def test_a_meeting_without_dissent_says_so(api: Api) -> None:
    m = begin(api, CARM)
    end(m)
    (item,) = listing(m.chair, f"{m.url}/documents")
    assert "No professional dissented from the decision." in text_of(pdf_of(m.chair, item["id"])[1])


def test_the_minutes_extract_is_issued_again_when_a_listed_dissent_changes(api: Api) -> None:
    m = begin(api, ENGLAND)
    dissent_id = m.raise_dissent("registration")["id"]
    end(m)
    (first,) = listing(m.chair, f"{m.url}/documents")
    reason = {"reason": "Discussed with my manager; I accept the decision."}
    expect(m.professional.post(f"/v1/dissents/{dissent_id}/withdrawal", json=reason), 200)
    extracts = [i for i in listing(m.chair, f"{m.url}/documents") if i["kind"] == "minutes_extract"]
    assert [e["id"] for e in extracts] == [first["id"], extracts[1]["id"]]
    assert extracts[1]["replaces"] == first["id"] and extracts[0]["replaced_by"] == extracts[1]["id"]
    text = text_of(pdf_of(m.chair, extracts[1]["id"])[1])
    assert "Withdrawn by the professional" in text and first["id"] in text
    old = text_of(pdf_of(m.chair, first["id"])[1])
    assert "Withdrawn" not in old  # the first version never changes


# ---- content negotiation --------------------------------------------------------------------------


NEGOTIATION = [
    (None, "application/json"),
    ("*/*", "application/json"),
    ("application/pdf", "application/pdf"),
    ("text/html", "text/html; charset=utf-8"),
    ("text/*", "text/html; charset=utf-8"),
    ("text/html;q=0.5, application/pdf", "application/pdf"),
    ("application/json;q=0.1, text/html;q=0.9", "text/html; charset=utf-8"),
]


def test_content_negotiation(api: Api) -> None:
    m = begin(api, CARM)
    end(m)
    (item,) = listing(m.chair, f"{m.url}/documents")
    for accept, media in NEGOTIATION:
        headers = {"Accept": accept} if accept else {}
        r = m.chair.get(f"/v1/documents/{item['id']}", headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == media, accept
    for refused in ("image/png", "application/pdf;q=0, text/plain"):
        expect(m.chair.get(f"/v1/documents/{item['id']}", headers={"Accept": refused}), 406, "not_acceptable")
