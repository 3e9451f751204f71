"""Request ids (SPEC §11): echoed when supplied and safe, generated otherwise, on every answer
and in the audit entry of a write."""

from __future__ import annotations

from tests.support import (
    UUID_RE,
    child_body,
    expect,
    problem,
    rows,
)


def test_supplied_request_id_is_echoed(api, lite, db):
    r = lite.record.get(f"/v1/children/{lite.child_ids[0]}", headers={"X-Request-ID": "portal-123.abc:9"})
    expect(r, 200)
    assert r.headers["x-request-id"] == "portal-123.abc:9"
    # the read of personal data is audited under the same id
    audited = rows(db, "SELECT action, entity_id FROM audit_entry WHERE request_id = 'portal-123.abc:9'")
    assert [tuple(a) for a in audited] == [("child.read", lite.child_ids[0])]
    err = lite.record.get("/v1/nowhere", headers={"X-Request-ID": "portal-err-1"})
    assert err.headers["x-request-id"] == "portal-err-1"


def test_request_id_is_generated_when_absent_or_unsafe(api, lite):
    a = lite.record.get(f"/v1/children/{lite.child_ids[0]}").headers["x-request-id"]
    b = lite.record.get(f"/v1/children/{lite.child_ids[0]}").headers["x-request-id"]
    assert a and b and a != b
    for unsafe in ("has spaces in it", "x" * 500, "<script>", "a\tb"):
        got = lite.record.get(f"/v1/children/{lite.child_ids[0]}", headers={"X-Request-ID": unsafe}).headers[
            "x-request-id"
        ]
        assert got != unsafe
        assert UUID_RE.match(got), got


def test_request_id_is_on_413_answers(api, lite):
    r = lite.record.request(
        "POST",
        "/v1/children",
        content=b"{" + b" " * (65 * 1024) + b"}",
        headers={"Content-Type": "application/json", "X-Request-ID": "big-1"},
    )
    problem(r, 413, "payload_too_large")
    assert r.headers["x-request-id"] == "big-1"


def test_audit_entry_for_a_write_carries_the_request_id(api, meeting, db):
    r = meeting.record.post("/v1/children", json=child_body(), headers={"X-Request-ID": "req-child-42"})
    child_id = expect(r, 201)["id"]
    entries = rows(
        db,
        "SELECT action, request_id, authority_code, actor_sub FROM audit_entry WHERE entity_id = :id",
        id=child_id,
    )
    assert [(e[0], e[1], e[2], e[3]) for e in entries] == [
        ("child.created", "req-child-42", meeting.authority, "record-system")
    ]
    started = meeting.chair.post(f"{meeting.url}/start")
    expect(started, 200)
    generated = started.headers["x-request-id"]
    found = rows(
        db,
        "SELECT request_id FROM audit_entry WHERE entity_id = :id AND action = 'conference.started'",
        id=meeting.conference_id,
    )
    assert [f[0] for f in found] == [generated]
