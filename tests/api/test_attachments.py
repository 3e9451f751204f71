"""Attachments over HTTP: the record system or the chair attaches PDFs to a meeting
(multipart), checked by their content; every refusal has its code and stores nothing; the
limits (10 MiB each, 20 a meeting) hold; who may add and who may read."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from app.config import Settings
from app.main import create_app
from app.models.attachment import MAX_ATTACHMENT_BYTES, MAX_UPLOAD_BODY_BYTES
from tests.pdf_samples import make_pdf
from tests.support import Caller, Meeting, audits, counts, events, expect, make_meeting

TABLES = ("attachment", "blob", "event", "audit_entry")


def attach(
    caller: Caller,
    m: Meeting,
    data: bytes,
    *,
    title: str | None = "Conference report",
    name: str = "report.pdf",
) -> httpx.Response:
    form = {"title": title} if title is not None else {}
    return caller.request(
        "POST", f"{m.url}/attachments", files={"file": (name, data, "application/pdf")}, data=form
    )


def stored(db: Any) -> dict[str, int]:
    return counts(db, "attachment", "blob", "event")


# ---- allowed ------------------------------------------------------------------------------


def test_the_record_system_attaches_a_pdf_and_it_is_listed_and_served(meeting: Meeting, db: Any) -> None:
    pdf = make_pdf(3)
    response = attach(meeting.record, meeting, pdf, title="Social work report")
    body = expect(response, 201)
    assert response.headers["location"] == f"/v1/attachments/{body['id']}"
    assert body["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert (body["size"], body["pages"], body["media_type"]) == (len(pdf), 3, "application/pdf")
    assert (body["title"], body["added_by"], body["conference_id"]) == (
        "Social work report",
        "record-system",
        meeting.conference_id,
    )

    listed = expect(meeting.professional.get(f"{meeting.url}/attachments"), 200)
    assert listed == {"items": [body], "next_cursor": None}
    download = meeting.professional.get(f"/v1/attachments/{body['id']}")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["etag"] == f'"{body["sha256"]}"'
    assert download.content == pdf
    assert len(PdfReader(io.BytesIO(download.content)).pages) == 3

    (event,) = events(db, meeting.authority, "attachment.added")
    assert event.subject_kind == "attachment" and event.subject_id == body["id"]
    assert event.data["sha256"] == body["sha256"] and event.data["pages"] == 3
    (entry,) = audits(db, meeting.authority, "attachment.added")
    # No file name or title in the event, the audit trail or the logs.
    for recorded in (json.dumps(event.data), json.dumps(entry.detail)):
        assert "Social work report" not in recorded and "report.pdf" not in recorded
    assert audits(db, meeting.authority, "attachment.read")


def test_an_upload_sent_again_with_its_idempotency_key_is_stored_once(meeting: Meeting, db: Any) -> None:
    pdf = make_pdf(2)
    key = {"Idempotency-Key": "upload-once"}
    files = {"file": ("report.pdf", pdf, "application/pdf")}
    url = f"{meeting.url}/attachments"
    first = meeting.record.request("POST", url, files=files, data={"title": "Report"}, headers=key)
    again = meeting.record.request("POST", url, files=files, data={"title": "Report"}, headers=key)
    assert expect(first, 201) == expect(again, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert stored(db)["attachment"] == 1


def test_the_chair_attaches_without_a_title(meeting: Meeting) -> None:
    body = expect(attach(meeting.chair, meeting, make_pdf(1), title=None), 201)
    assert body["title"] is None and body["added_by"] == meeting.chair_id


def test_the_list_pages_in_the_order_attached(meeting: Meeting) -> None:
    ids = [expect(attach(meeting.record, meeting, make_pdf(n)), 201)["id"] for n in (1, 2, 3)]
    first = expect(meeting.chair.get(f"{meeting.url}/attachments?limit=2"), 200)
    assert [a["id"] for a in first["items"]] == ids[:2] and first["next_cursor"]
    rest = expect(meeting.chair.get(f"{meeting.url}/attachments?limit=2&cursor={first['next_cursor']}"), 200)
    assert [a["id"] for a in rest["items"]] == ids[2:] and rest["next_cursor"] is None


def test_a_file_of_exactly_the_limit_is_accepted(meeting: Meeting) -> None:
    pdf = make_pdf(1, padding=MAX_ATTACHMENT_BYTES)
    assert len(pdf) == MAX_ATTACHMENT_BYTES
    assert expect(attach(meeting.record, meeting, pdf), 201)["size"] == MAX_ATTACHMENT_BYTES


# ---- refused, with nothing stored -----------------------------------------------------------


REFUSALS = {
    "text named .pdf": (b"Minutes of the meeting\n" * 10, 415, "attachment_not_pdf"),
    "PNG named .pdf": (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 415, "attachment_not_pdf"),
    "empty file": (b"", 415, "attachment_not_pdf"),
    "truncated PDF": (make_pdf(2)[:300], 422, "attachment_unreadable"),
    "PDF header, no PDF": (b"%PDF-1.7\n" + b"garbage " * 50, 422, "attachment_unreadable"),
    "encrypted": (make_pdf(1, encrypted=True), 422, "attachment_encrypted"),
    "JavaScript names tree": (make_pdf(1, javascript="names"), 422, "attachment_has_javascript"),
    "JavaScript open action": (make_pdf(1, javascript="open_action"), 422, "attachment_has_javascript"),
    "JavaScript link annotation": (make_pdf(1, javascript="annotation"), 422, "attachment_has_javascript"),
    "JavaScript page action": (make_pdf(1, javascript="page"), 422, "attachment_has_javascript"),
    "10 MiB + 1": (make_pdf(1, padding=MAX_ATTACHMENT_BYTES + 1), 413, "attachment_too_large"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_file_stores_nothing(meeting: Meeting, db: Any, case: str) -> None:
    data, status, code = REFUSALS[case]
    before = stored(db)
    expect(attach(meeting.record, meeting, data), status, code)
    assert stored(db) == before
    assert not audits(db, meeting.authority, "attachment.added")


def test_a_body_over_the_upload_limit_is_refused_before_the_route(meeting: Meeting, db: Any) -> None:
    before = stored(db)
    data = b"%PDF-1.7\n" + b"x" * MAX_UPLOAD_BODY_BYTES
    expect(attach(meeting.record, meeting, data), 413, "attachment_too_large")
    assert stored(db) == before


def test_a_declared_content_length_over_the_limit_is_refused_unread(settings: Settings) -> None:
    """Content-Length alone decides: the body is never read."""
    app = create_app(settings)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/conferences/00000000-0000-0000-0000-000000000000/attachments",
        "raw_path": b"/v1/conferences/00000000-0000-0000-0000-000000000000/attachments",
        "query_string": b"",
        "headers": [
            (b"content-type", b"multipart/form-data; boundary=x"),
            (b"content-length", str(MAX_UPLOAD_BODY_BYTES + 1).encode()),
        ],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "attachment_too_large"


def test_the_twenty_first_is_refused(meeting: Meeting, db: Any) -> None:
    for n in range(20):
        expect(attach(meeting.record, meeting, make_pdf(1 + n % 3), title=f"Report {n}"), 201)
    before = stored(db)
    expect(attach(meeting.chair, meeting, make_pdf(4)), 409, "attachment_limit_reached")
    assert stored(db) == before
    listed = expect(meeting.record.get(f"{meeting.url}/attachments?limit=50"), 200)
    assert len(listed["items"]) == 20


def test_a_title_of_exactly_the_bound_is_stored(meeting: Meeting) -> None:
    assert expect(attach(meeting.record, meeting, make_pdf(), title="t" * 200), 201)["title"] == "t" * 200


def test_the_title_is_checked(meeting: Meeting, db: Any) -> None:
    before = stored(db)
    refused = expect(
        attach(meeting.record, meeting, make_pdf(), title="Bad\x00title"), 422, "validation_error"
    )
    assert [e["loc"] for e in refused["errors"]] == [["body", "title"]]
    expect(attach(meeting.record, meeting, make_pdf(), title="x" * 201), 422, "validation_error")
    assert stored(db) == before


def test_a_missing_file_part_is_a_validation_error(meeting: Meeting) -> None:
    files = {"document": ("x.pdf", make_pdf(), "application/pdf")}  # multipart, but no `file`
    response = meeting.record.request("POST", f"{meeting.url}/attachments", files=files)
    expect(response, 422, "validation_error")


def test_the_upload_takes_multipart_only(meeting: Meeting) -> None:
    url = f"{meeting.url}/attachments"
    expect(meeting.record.request("POST", url, data={"title": "x"}), 415, "unsupported_media_type")
    expect(meeting.record.post(url, json={"file": "JVBERi0="}), 415, "unsupported_media_type")


def test_multipart_bodies_are_refused_on_every_other_route(meeting: Meeting) -> None:
    files = {"file": ("x.pdf", make_pdf(), "application/pdf")}
    response = meeting.chair.request("POST", f"{meeting.url}/start", files=files)
    expect(response, 415, "unsupported_media_type")


# ---- who may add, who may read ------------------------------------------------------------


def test_who_may_add(meeting: Meeting, db: Any) -> None:
    api, authority = meeting.api, meeting.authority
    before = stored(db)
    cases = [
        (meeting.professional, 403, "forbidden"),  # an attending professional: wrong role
        (meeting.reviewer, 403, "forbidden"),
        (meeting.admin, 403, "forbidden"),
        (api.as_("rep", "reporting", authority=authority), 403, "forbidden"),
        (api.as_("chair-2", "chair", authority=authority), 404, "not_found"),  # not this meeting's chair
    ]
    for caller, status, code in cases:
        expect(attach(caller, meeting, make_pdf()), status, code)
    assert stored(db) == before


def test_another_authority_sees_nothing(meeting: Meeting, db: Any) -> None:
    added = expect(attach(meeting.record, meeting, make_pdf()), 201)
    other = make_meeting(meeting.api, attendees=False)
    before = stored(db)
    expect(attach(other.record, meeting, make_pdf()), 404, "not_found")
    assert stored(db) == before
    expect(other.record.get(f"{meeting.url}/attachments"), 404, "not_found")
    expect(other.record.get(f"/v1/attachments/{added['id']}"), 404, "not_found")


def test_who_may_read(meeting: Meeting) -> None:
    api, authority = meeting.api, meeting.authority
    added = expect(attach(meeting.record, meeting, make_pdf()), 201)
    lists, one = f"{meeting.url}/attachments", f"/v1/attachments/{added['id']}"
    for caller in (meeting.record, meeting.chair, meeting.reviewer, meeting.admin, meeting.professional):
        expect(caller.get(lists), 200)
        assert caller.get(one).status_code == 200
    reporting = api.as_("rep", "reporting", authority=authority)
    expect(reporting.get(lists), 403, "forbidden")
    expect(reporting.get(one), 403, "forbidden")
    for outsider in (
        api.as_("prof-absent", "professional", authority=authority),  # invited, did not attend
        api.as_("prof-9", "professional", authority=authority),
        api.as_("chair-2", "chair", authority=authority),
    ):
        expect(outsider.get(lists), 404, "not_found")
        expect(outsider.get(one), 404, "not_found")
    expect(meeting.record.get("/v1/attachments/00000000-0000-0000-0000-000000000000"), 404, "not_found")
