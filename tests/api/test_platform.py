"""Cross-cutting platform behaviour (SPEC §4, §5 intro, §6, §7 idempotency, §11): problem
details, identity, tenant and role scoping, Idempotency-Key, ETag/If-Match, cursor pages,
request ids, health and metrics, the test clock, and one transaction per request."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.pagination import encode_cursor
from app.security import mint_token
from tests.conftest import TEST_SECRET
from tests.support import Api, Caller, Meeting, create_authority, create_child, expect, make_meeting, rows

PROBLEM = "application/problem+json"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SECRET_NAME = "Zebediahquux"  # a child's name that must never come back in an error


# ---- helpers ---------------------------------------------------------------------------------


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A problem+json answer with the RFC 9457 members and no stack trace."""
    body = expect(response, status, code)
    assert response.headers["content-type"].startswith(PROBLEM)
    assert {"type", "title", "status", "detail", "code"} <= set(body), body
    assert body["status"] == status
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def count(db: Any, table: str) -> int:
    return int(rows(db, f"SELECT COUNT(*) FROM {table}")[0][0])


def counts(db: Any, *tables: str) -> dict[str, int]:
    return {t: count(db, t) for t in tables}


def seqs(db: Any, authority: str) -> list[int]:
    return [
        int(r[0])
        for r in rows(
            db,
            "SELECT e.seq FROM event e JOIN authority a ON a.id = e.authority_id WHERE a.code = :c "
            "ORDER BY e.seq",
            c=authority,
        )
    ]


def record_system(api: Api, authority: str, sub: str = "record-system") -> Caller:
    return api.as_(sub, "record_system", authority=authority)


def schedule(
    api: Api,
    authority: str,
    child_ids: list[str],
    *,
    chair_id: str = "chair-1",
    start: str = "2025-12-18T10:00:00Z",
    meeting_type: str = "initial_conference",
) -> str:
    body = {
        "meeting_type": meeting_type,
        "scheduled_start": start,
        "chair_id": chair_id,
        "chair_name": f"Chair {chair_id}",
        "child_ids": child_ids,
    }
    return str(expect(record_system(api, authority).post("/v1/conferences", json=body), 201)["id"])


def child_body(**extra: Any) -> dict[str, Any]:
    return {
        "external_ref": f"REF-{uuid.uuid4().hex[:8]}",
        "given_name": "Riley",
        "family_name": "Example",
        "date_of_birth": "2019-05-14",
        **extra,
    }


def walk(caller: Caller, path: str, limit: int = 2) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        body = expect(caller.get(path, params=params), 200)
        assert set(body) == {"items", "next_cursor"}, body
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("pagination never ended")


def b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def count_children(api: Api, meeting: Meeting) -> int:
    return len(expect(meeting.record.get("/v1/children"), 200)["items"])


@pytest.fixture
def meeting(api: Api) -> Meeting:
    api.set_clock("2025-12-18T09:00:00Z")
    return make_meeting(api)


@pytest.fixture
def lite(api: Api) -> Meeting:
    """An authority with one child and no meeting (cheaper than `meeting`): for the tests that
    need a tenant and its callers only. `.url` names a conference that does not exist."""
    api.set_clock("2025-12-18T09:00:00Z")
    authority = create_authority(api, "england-cp-conference")
    return Meeting(api, authority, "england-cp-conference", str(uuid.uuid4()), [create_child(api, authority)])


# ---- errors (§6) -----------------------------------------------------------------------------


def test_unknown_route_is_problem_not_found(api):
    body = problem(api.system_admin().get("/v1/no-such-thing"), 404, "not_found")
    assert body["type"]


def test_wrong_method_is_problem_method_not_allowed(api, lite):
    r = lite.record.delete("/v1/children")
    problem(r, 405, "method_not_allowed")
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert allowed and "DELETE" not in allowed, allowed
    problem(lite.record.put(lite.url, json={}), 405, "method_not_allowed")


def test_malformed_json_is_400_and_does_not_echo_the_body(api, lite):
    raw = '{"external_ref": "R1", "given_name": "' + SECRET_NAME + '", '
    r = lite.record.request("POST", "/v1/children", content=raw, headers={"Content-Type": "application/json"})
    problem(r, 400, "malformed_json")
    assert SECRET_NAME not in r.text
    assert count_children(api, lite) == 1


def test_well_formed_body_is_accepted(api, lite):
    body = expect(lite.record.post("/v1/children", json=child_body()), 201)
    assert UUID_RE.match(body["id"])


def test_body_over_64_kib_with_content_length_is_413(api, lite, db):
    before = count(db, "child")
    payload = json.dumps(child_body(given_name="x" * (64 * 1024 + 10))).encode()
    r = lite.record.request(
        "POST", "/v1/children", content=payload, headers={"Content-Type": "application/json"}
    )
    assert int(r.request.headers["content-length"]) > 64 * 1024
    problem(r, 413, "payload_too_large")
    assert count(db, "child") == before


def test_body_just_under_the_limit_is_not_413(api, lite):
    payload = json.dumps(child_body(given_name=SECRET_NAME + "x" * (60 * 1024))).encode()
    r = lite.record.request(
        "POST", "/v1/children", content=payload, headers={"Content-Type": "application/json"}
    )
    body = problem(r, 422, "validation_error")  # too long a name, but read and validated
    assert SECRET_NAME not in r.text
    assert any("given_name" in e["loc"] for e in body["errors"])


def test_chunked_body_over_64_kib_without_content_length_is_413(api, lite, db):
    before = count(db, "child")

    def chunks() -> Iterator[bytes]:
        yield b'{"external_ref": "R-chunked", "given_name": "'
        for _ in range(20):
            yield b"y" * 4096
        yield b'", "family_name": "F", "date_of_birth": "2019-05-14"}'

    r = lite.record.request(
        "POST", "/v1/children", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    problem(r, 413, "payload_too_large")
    assert count(db, "child") == before


def _raw_asgi_post(app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, bytes]:
    """Drive the ASGI app directly, delivering the body as several `http.request` messages."""
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/children",
        "raw_path": b"/v1/children",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), body


def test_streamed_body_over_64_kib_is_413_however_it_is_declared(client):
    """Several body messages, no Content-Length or an understated one: counted as it arrives."""
    for declared in (None, "100"):
        headers = [(b"content-type", b"application/json"), (b"authorization", b"Bearer x")]
        if declared is not None:
            headers.append((b"content-length", declared.encode()))
        status, body = _raw_asgi_post(client.app, headers, [b"z" * 8192] * 10)
        assert status == 413, declared
        assert json.loads(body)["code"] == "payload_too_large"


def test_unknown_body_field_is_422_validation_error_with_errors(api, lite, db):
    before = count(db, "child")
    r = lite.record.post("/v1/children", json=child_body(nickname=SECRET_NAME))
    body = problem(r, 422, "validation_error")
    assert body["errors"], body
    assert any(e["loc"][-1] == "nickname" for e in body["errors"]), body
    assert all({"loc", "msg", "type"} <= set(e) for e in body["errors"])
    assert SECRET_NAME not in r.text
    assert count(db, "child") == before


def test_wrong_types_are_422_and_never_echo_submitted_values(api, lite, db):
    cases = {
        "date": {"date_of_birth": SECRET_NAME},
        "int-for-string": {"given_name": 12345},
        "list-for-string": {"family_name": [SECRET_NAME]},
        "no-birth-date": {"date_of_birth": None, "expected_date_of_birth": None},
        "object-for-date": {"expected_date_of_birth": {"name": SECRET_NAME}, "date_of_birth": None},
    }
    for case, bad in cases.items():
        body = child_body(given_name=SECRET_NAME, family_name=SECRET_NAME + "fam")
        body.update(bad)
        r = lite.record.post("/v1/children", json=body)
        errors = problem(r, 422, "validation_error")["errors"]
        assert SECRET_NAME not in r.text, case
        assert all(set(e) <= {"loc", "msg", "type"} for e in errors), (case, errors)  # no "input"/"ctx"
    assert count(db, "child") == 1


def test_wrong_query_and_path_types_are_422_not_500(api, lite):
    problem(lite.record.get("/v1/children/not-a-uuid"), 422, "validation_error")
    problem(lite.record.get("/v1/conferences", params={"limit": "many"}), 422, "validation_error")
    problem(lite.record.get("/v1/conferences", params={"status": "sideways"}), 422, "validation_error")


def test_a_refusal_never_echoes_the_childs_identifiers(api, lite):
    """A duplicate child is refused; the answer must not repeat what was submitted."""
    body = child_body(given_name=SECRET_NAME)
    expect(lite.record.post("/v1/children", json=body), 201)
    r = lite.record.post("/v1/children", json=body)
    problem(r, 409, "child_exists")
    assert SECRET_NAME not in r.text
    assert body["external_ref"] not in r.text  # the record system's id for the child


# ---- identity (§4) ---------------------------------------------------------------------------


def _alg_none_token(authority: str) -> str:
    def seg(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "mallory", "roles": ["admin"], "authority": authority, "iat": now, "exp": now + 3600}
    return f"{seg({'alg': 'none', 'typ': 'JWT'})}.{seg(claims)}."


def _bad_tokens(authority: str) -> dict[str, str | None]:
    now = datetime.now(UTC)
    valid_sig = mint_token(TEST_SECRET, sub="mallory", roles=["admin"], authority=authority)
    return {
        "none": None,
        "garbage": "not.a.jwt",
        "random": "abc",
        "expired": mint_token(
            TEST_SECRET,
            sub="mallory",
            roles=["admin"],
            authority=authority,
            now=now - timedelta(hours=3),
            ttl=timedelta(hours=1),
        ),
        "wrong-secret": mint_token(
            "another-secret-0123456789abcdef0123456789", sub="mallory", roles=["admin"], authority=authority
        ),
        "alg-none": _alg_none_token(authority),
        "alg-none-with-signature": _alg_none_token(authority) + valid_sig.split(".")[2],
        "tampered": valid_sig[:-4] + ("AAAA" if not valid_sig.endswith("AAAA") else "BBBB"),
    }


def test_missing_or_invalid_token_is_401_with_www_authenticate(api, client, lite, db):
    before = count(db, "audit_entry")
    for kind, token in _bad_tokens(lite.authority).items():
        caller = Caller(client, token)
        for r in (caller.get("/v1/conferences"), caller.post("/v1/children", json=child_body())):
            assert r.status_code == 401, (kind, r.status_code, r.text)
            problem(r, 401, "unauthorized")
            assert r.headers["www-authenticate"].startswith("Bearer"), (kind, r.headers)
    assert count(db, "audit_entry") == before
    assert count(db, "child") == 1


def test_valid_token_is_accepted(api, lite):
    expect(lite.admin.get("/v1/conferences"), 200)


def test_token_for_unregistered_authority_is_403(api, lite, db):
    stranger = api.as_("record-system", "record_system", authority="no-such-la")
    problem(stranger.get("/v1/conferences"), 403, "forbidden")
    problem(stranger.post("/v1/children", json=child_body()), 403, "forbidden")
    problem(stranger.get(lite.url), 403, "forbidden")
    assert count(db, "child") == 1


# ---- scoping (§4) ----------------------------------------------------------------------------


@pytest.fixture
def two_authorities(api: Api) -> tuple[Meeting, Meeting, str]:
    """Two authorities, each with a meeting in progress and a dissent by prof-1 in A."""
    api.set_clock("2025-12-18T09:00:00Z")
    a = make_meeting(api)
    b = make_meeting(api)
    a.start()
    dissent_id = str(a.raise_dissent()["id"])
    return a, b, dissent_id


def _same_404(foreign: httpx.Response, missing: httpx.Response) -> None:
    problem(foreign, 404, "not_found")
    problem(missing, 404, "not_found")
    assert foreign.json() == missing.json()
    assert set(foreign.headers) - {"x-request-id", "content-length"} == set(missing.headers) - {
        "x-request-id",
        "content-length",
    }


def test_another_authoritys_ids_answer_404_like_a_random_uuid(api, two_authorities):
    a, b, dissent_id = two_authorities
    for role in ("record_system", "admin", "reviewer"):
        caller = api.as_("someone", role, authority=b.authority)
        missing = str(uuid.uuid4())
        _same_404(caller.get(a.url), caller.get(f"/v1/conferences/{missing}"))
        _same_404(caller.get(f"/v1/children/{a.child_ids[0]}"), caller.get(f"/v1/children/{missing}"))
        _same_404(caller.get(f"/v1/dissents/{dissent_id}"), caller.get(f"/v1/dissents/{missing}"))
        # and the same caller sees its own authority's records
        expect(caller.get(b.url), 200)
        expect(caller.get(f"/v1/children/{b.child_ids[0]}"), 200)


def test_another_authoritys_records_are_absent_from_lists(api, two_authorities):
    _a, b, _dissent_id = two_authorities
    caller = b.admin
    assert [c["id"] for c in expect(caller.get("/v1/conferences"), 200)["items"]] == [b.conference_id]
    assert [c["id"] for c in expect(caller.get("/v1/children"), 200)["items"]] == b.child_ids
    assert expect(caller.get("/v1/dissents"), 200)["items"] == []


def test_same_person_id_in_another_authority_cannot_act_on_its_records(api, two_authorities, db):
    a, b, dissent_id = two_authorities
    before = counts(db, "event", "audit_entry", "attendee")
    chair_b = api.as_("chair-1", "chair", authority=b.authority)  # same sub as A's chair
    _same_404(
        chair_b.post(f"{a.url}/dissent-invitation"), chair_b.post(f"/v1/conferences/{uuid.uuid4()}/end")
    )
    prof_b = api.as_("prof-1", "professional", authority=b.authority)
    _same_404(
        prof_b.post(f"/v1/dissents/{dissent_id}/withdrawal", json={"reason": "changed my mind"}),
        prof_b.post(f"/v1/dissents/{uuid.uuid4()}/withdrawal", json={"reason": "changed my mind"}),
    )
    rec_b = record_system(api, b.authority)
    attendee = {
        "person_id": "x",
        "name": "X",
        "role_title": "Worker",
        "agency": "A",
        "kind": "professional",
        "attended": True,
    }
    _same_404(
        rec_b.post(f"{a.url}/attendees", json=attendee),
        rec_b.post(f"/v1/conferences/{uuid.uuid4()}/attendees", json=attendee),
    )
    assert counts(db, "event", "audit_entry", "attendee") == before
    assert expect(a.chair.get(a.url), 200)["dissent_invited_at"] is None


def test_professional_sees_only_conferences_they_attend(api, meeting):
    other = schedule(api, meeting.authority, meeting.child_ids, start="2025-12-19T10:00:00Z")
    prof = meeting.professional
    listed = [c["id"] for c in expect(prof.get("/v1/conferences"), 200)["items"]]
    assert listed == [meeting.conference_id]
    expect(prof.get(meeting.url), 200)
    problem(prof.get(f"/v1/conferences/{other}"), 404, "not_found")
    # someone with no attendance at all sees nothing
    stranger = api.as_("prof-stranger", "professional", authority=meeting.authority)
    assert expect(stranger.get("/v1/conferences"), 200)["items"] == []
    problem(stranger.get(meeting.url), 404, "not_found")


def test_professional_sees_only_their_own_dissents(api, meeting):
    meeting.start()
    mine = str(meeting.raise_dissent()["id"])
    theirs = str(
        expect(
            meeting.other_professional.post(
                f"{meeting.url}/dissents", json={"subject": "plan", "reasons": "The plan is too thin"}
            ),
            201,
        )["id"]
    )
    prof = meeting.professional
    assert [d["id"] for d in expect(prof.get("/v1/dissents"), 200)["items"]] == [mine]
    expect(prof.get(f"/v1/dissents/{mine}"), 200)
    problem(prof.get(f"/v1/dissents/{theirs}"), 404, "not_found")
    assert expect(prof.get(meeting.url), 200)["dissent_ids"] == [mine]
    # the chair and the reviewer see both
    for caller in (meeting.chair, meeting.reviewer, meeting.admin, meeting.record):
        assert {d["id"] for d in expect(caller.get("/v1/dissents"), 200)["items"]} == {mine, theirs}
        assert set(expect(caller.get(meeting.url), 200)["dissent_ids"]) == {mine, theirs}


def test_chair_sees_only_conferences_they_chair(api, meeting):
    other = schedule(
        api, meeting.authority, meeting.child_ids, chair_id="chair-2", start="2025-12-19T10:00:00Z"
    )
    chair = meeting.chair
    assert [c["id"] for c in expect(chair.get("/v1/conferences"), 200)["items"]] == [meeting.conference_id]
    expect(chair.get(meeting.url), 200)
    problem(chair.get(f"/v1/conferences/{other}"), 404, "not_found")
    chair2 = api.as_("chair-2", "chair", authority=meeting.authority)
    assert [c["id"] for c in expect(chair2.get("/v1/conferences"), 200)["items"]] == [other]
    problem(chair2.get(meeting.url), 404, "not_found")


def test_whole_authority_roles_see_every_conference(api, meeting):
    other = schedule(
        api, meeting.authority, meeting.child_ids, chair_id="chair-2", start="2025-12-19T10:00:00Z"
    )
    for role in ("reviewer", "admin", "record_system"):
        caller = api.as_("whoever", role, authority=meeting.authority)
        listed = {c["id"] for c in expect(caller.get("/v1/conferences"), 200)["items"]}
        assert listed == {meeting.conference_id, other}, role
        expect(caller.get(meeting.url), 200)
        expect(caller.get(f"/v1/conferences/{other}"), 200)
        expect(caller.get(f"/v1/children/{meeting.child_ids[0]}"), 200)


def test_reporting_cannot_reach_children_conferences_or_dissents(api, meeting):
    meeting.start()
    dissent_id = meeting.raise_dissent()["id"]
    reporting = api.as_("bi-tool", "reporting", authority=meeting.authority)
    for path in (
        "/v1/children",
        f"/v1/children/{meeting.child_ids[0]}",
        "/v1/conferences",
        meeting.url,
        "/v1/dissents",
        f"/v1/dissents/{dissent_id}",
    ):
        r = reporting.get(path)
        assert r.status_code in (403, 404), (path, r.status_code, r.text)
        problem(r, r.status_code, "forbidden" if r.status_code == 403 else "not_found")
        assert "Riley" not in r.text and "Example" not in r.text


# ---- idempotency (§7) ------------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_response(api, lite, db):
    body = child_body()
    headers = {"Idempotency-Key": "create-child-1"}
    first = lite.record.post("/v1/children", json=body, headers=headers)
    expect(first, 201)
    assert "idempotent-replayed" not in first.headers
    after_first = counts(db, "child", "event", "audit_entry")
    second = lite.record.post("/v1/children", json=body, headers=headers)
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["content-type"].startswith("application/json")
    now = counts(db, "child", "event", "audit_entry")
    assert now["child"] == after_first["child"]
    assert now["event"] == after_first["event"]
    assert len(rows(db, "SELECT id FROM child WHERE external_ref = :r", r=body["external_ref"])) == 1


def test_replay_of_a_state_change_does_not_repeat_it(api, meeting, db):
    headers = {"Idempotency-Key": "start-1"}
    first = expect(meeting.chair.post(f"{meeting.url}/start", headers=headers), 200)
    events = seqs(db, meeting.authority)
    second = meeting.chair.post(f"{meeting.url}/start", headers=headers)
    assert second.status_code == 200, second.text
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first
    assert seqs(db, meeting.authority) == events
    assert expect(meeting.chair.get(meeting.url), 200)["version"] == first["version"]
    # without the key the repeated command is refused as a state error
    problem(meeting.chair.post(f"{meeting.url}/start"), 409, "invalid_transition")


def test_same_key_with_another_body_is_422_idempotency_key_reused(api, lite, db):
    headers = {"Idempotency-Key": "k-reused"}
    expect(lite.record.post("/v1/children", json=child_body(), headers=headers), 201)
    before = counts(db, "child", "event", "audit_entry", "idempotency_record")
    r = lite.record.post("/v1/children", json=child_body(), headers=headers)
    problem(r, 422, "idempotency_key_reused")
    assert "idempotent-replayed" not in r.headers
    assert counts(db, "child", "event", "audit_entry", "idempotency_record") == before


def test_same_key_on_another_path_is_a_different_request(api, meeting):
    headers = {"Idempotency-Key": "k-path"}
    expect(meeting.chair.post(f"{meeting.url}/start", headers=headers), 200)
    problem(
        meeting.chair.post(f"{meeting.url}/dissent-invitation", headers=headers),
        422,
        "idempotency_key_reused",
    )


def test_keys_are_per_caller(api, lite, db):
    headers = {"Idempotency-Key": "shared-key"}
    body = child_body()
    mine = expect(lite.record.post("/v1/children", json=body, headers=headers), 201)
    # another caller in the same authority: same key, another body → a fresh request, not a reuse error
    other = record_system(api, lite.authority, sub="record-system-2")
    theirs = other.post("/v1/children", json=child_body(), headers=headers)
    expect(theirs, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine["id"]
    # the same caller id in another authority: same key and same body → its own new child
    elsewhere = create_authority(api, "england-cp-conference")
    foreign = record_system(api, elsewhere).post("/v1/children", json=body, headers=headers)
    expect(foreign, 201)
    assert "idempotent-replayed" not in foreign.headers
    assert foreign.json()["id"] != mine["id"]
    assert len(rows(db, "SELECT id FROM child WHERE external_ref = :r", r=body["external_ref"])) == 2


def test_a_refused_request_does_not_consume_the_key(api, meeting, db):
    meeting.start()
    headers = {"Idempotency-Key": "end-1"}
    before = count(db, "idempotency_record")
    problem(meeting.chair.post(f"{meeting.url}/end", headers=headers), 409, "decisions_missing")
    assert count(db, "idempotency_record") == before
    meeting.decide_all()
    meeting.confirm_all()
    ended = meeting.chair.post(f"{meeting.url}/end", headers=headers)
    body = expect(ended, 200)
    assert body["status"] == "ended"
    assert "idempotent-replayed" not in ended.headers
    assert count(db, "idempotency_record") == before + 1


def test_a_validation_failure_does_not_consume_the_key(api, lite):
    headers = {"Idempotency-Key": "child-2"}
    problem(lite.record.post("/v1/children", json={"nope": 1}, headers=headers), 422, "validation_error")
    expect(lite.record.post("/v1/children", json=child_body(), headers=headers), 201)


def test_keys_are_remembered_for_24_hours(api, lite):
    headers = {"Idempotency-Key": "daily"}
    api.set_clock("2025-12-18T09:00:00Z")
    expect(lite.record.post("/v1/children", json=child_body(), headers=headers), 201)
    api.set_clock("2025-12-19T08:00:00Z")
    problem(
        lite.record.post("/v1/children", json=child_body(), headers=headers), 422, "idempotency_key_reused"
    )
    api.set_clock("2025-12-19T10:00:00Z")
    r = lite.record.post("/v1/children", json=child_body(), headers=headers)
    expect(r, 201)
    assert "idempotent-replayed" not in r.headers


# ---- ETag / If-Match (§5) --------------------------------------------------------------------


def test_get_returns_the_version_as_etag(api, meeting):
    r = meeting.chair.get(meeting.url)
    body = expect(r, 200)
    assert isinstance(body["version"], int)
    assert r.headers["etag"] == f'"{body["version"]}"'
    child = meeting.record.get(f"/v1/children/{meeting.child_ids[0]}")
    assert child.headers["etag"] == f'"{expect(child, 200)["version"]}"'
    authority = meeting.admin.get(f"/v1/authorities/{meeting.authority}")
    assert authority.headers["etag"] == f'"{expect(authority, 200)["version"]}"'


def test_stale_if_match_is_412_and_changes_nothing(api, meeting, db):
    current = expect(meeting.chair.get(meeting.url), 200)
    stale = f'"{current["version"] + 7}"'
    before = counts(db, "event", "audit_entry")
    problem(
        meeting.chair.post(f"{meeting.url}/start", headers={"If-Match": stale}), 412, "precondition_failed"
    )
    assert counts(db, "event", "audit_entry") == before
    after = expect(meeting.chair.get(meeting.url), 200)
    assert after["status"] == "scheduled"
    assert after["version"] == current["version"]


def test_matching_if_match_succeeds_and_the_version_increments(api, meeting):
    r = meeting.chair.get(meeting.url)
    version = expect(r, 200)["version"]
    started = meeting.chair.post(f"{meeting.url}/start", headers={"If-Match": r.headers["etag"]})
    body = expect(started, 200)
    assert body["status"] == "in_progress"
    assert body["version"] == version + 1
    assert started.headers["etag"] == f'"{version + 1}"'
    # the old ETag is now stale
    problem(
        meeting.chair.post(f"{meeting.url}/dissent-invitation", headers={"If-Match": r.headers["etag"]}),
        412,
        "precondition_failed",
    )
    invited = meeting.chair.post(
        f"{meeting.url}/dissent-invitation", headers={"If-Match": started.headers["etag"]}
    )
    assert expect(invited, 200)["version"] == version + 2


def test_stale_if_match_on_a_dissent_is_412(api, meeting):
    meeting.start()
    dissent = meeting.raise_dissent()
    url = f"/v1/dissents/{dissent['id']}"
    etag = meeting.professional.get(url).headers["etag"]
    assert etag == f'"{dissent["version"]}"'
    problem(
        meeting.chair.post(
            f"{url}/resolution", json={"summary": "agreed a change"}, headers={"If-Match": '"99"'}
        ),
        412,
        "precondition_failed",
    )
    assert expect(meeting.chair.get(url), 200)["status"] == "raised"
    resolved = meeting.chair.post(f"{url}/resolution", json={"summary": "agreed"}, headers={"If-Match": etag})
    assert expect(resolved, 200)["status"] == "resolved"
    assert resolved.json()["version"] == dissent["version"] + 1


def test_stale_if_match_on_an_authority_patch_is_412(api, meeting):
    url = f"/v1/authorities/{meeting.authority}"
    r = meeting.admin.get(url)
    version = expect(r, 200)["version"]
    problem(
        meeting.admin.patch(url, json={"name": "Renamed"}, headers={"If-Match": f'"{version + 1}"'}),
        412,
        "precondition_failed",
    )
    assert expect(meeting.admin.get(url), 200)["name"] != "Renamed"
    ok = meeting.admin.patch(url, json={"name": "Renamed"}, headers={"If-Match": r.headers["etag"]})
    assert expect(ok, 200)["version"] == version + 1
    assert ok.headers["etag"] == f'"{version + 1}"'


# ---- pagination (§5) -------------------------------------------------------------------------


def test_children_pages_return_every_item_once(api, meeting):
    ids = set(meeting.child_ids) | {create_child(api, meeting.authority) for _ in range(4)}
    pages = walk(meeting.record, "/v1/children")
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [c["id"] for p in pages for c in p]
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == ids


def test_conference_pages_return_every_item_once_even_with_equal_start_times(api, meeting):
    ids = {meeting.conference_id}
    ids |= {schedule(api, meeting.authority, meeting.child_ids) for _ in range(3)}  # same start
    ids.add(schedule(api, meeting.authority, meeting.child_ids, start="2025-12-20T10:00:00Z"))
    pages = walk(meeting.admin, "/v1/conferences")
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [c["id"] for p in pages for c in p]
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == ids
    starts = [c["scheduled_start"] for p in pages for c in p]
    assert starts == sorted(starts, reverse=True)


def test_dissent_pages_return_every_item_once(api, meeting):
    meeting.start()
    ids = set()
    for caller in (meeting.professional, meeting.other_professional):
        for subject in ("plan", "category", "registration"):
            r = caller.post(f"{meeting.url}/dissents", json={"subject": subject, "reasons": "I disagree"})
            ids.add(expect(r, 201)["id"])
    pages = walk(meeting.reviewer, "/v1/dissents")
    assert [len(p) for p in pages] == [2, 2, 2]
    seen = [d["id"] for p in pages for d in p]
    assert len(seen) == len(set(seen)) == 6
    assert set(seen) == ids


def test_limits_in_range_are_accepted(api, meeting):
    for params in ({}, {"limit": 1}, {"limit": 200}):
        for path in ("/v1/children", "/v1/conferences"):
            body = expect(meeting.admin.get(path, params=params), 200)
            assert set(body) == {"items", "next_cursor"}
            assert len(body["items"]) == 1
            assert body["next_cursor"] is None
        body = expect(meeting.admin.get("/v1/dissents", params=params), 200)
        assert body == {"items": [], "next_cursor": None}


def test_limit_out_of_range_is_422(api, lite):
    for path in ("/v1/children", "/v1/conferences", "/v1/dissents"):
        for limit in (0, 201, -1):
            body = problem(lite.admin.get(path, params={"limit": limit}), 422, "validation_error")
            assert any("limit" in e["loc"] for e in body["errors"]), (path, limit, body)


def test_garbage_cursor_is_422_invalid_cursor(api, lite):
    cursors = {
        "garbage": "garbage!!",
        "not-json": "bm90LWpzb24",  # base64 of "not-json"
        "object": b64({"a": 1}),  # JSON, but not a list
        "one-bad-value": encode_cursor(["not-a-uuid"]),
        "two-bad-values": encode_cursor(["not-a-date", "not-a-uuid"]),
        "wrong-arity": encode_cursor([1, 2, 3]),
    }
    wrong = []
    for path in ("/v1/children", "/v1/conferences", "/v1/dissents"):
        for case, cursor in cursors.items():
            r = lite.admin.get(path, params={"cursor": cursor})
            code = r.json().get("code") if r.headers["content-type"].startswith(PROBLEM) else None
            if (r.status_code, code) != (422, "invalid_cursor"):
                wrong.append((path, case, r.status_code, code))
    assert wrong == [], f"not 422 invalid_cursor: {wrong}"


# ---- request id (§11) ------------------------------------------------------------------------


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


# ---- health and metrics (§11) ----------------------------------------------------------------


def test_health_live(client):
    r = client.get("/health/live")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_health_ready_with_migrations_at_head(client):
    r = client.get("/health/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"


def test_health_ready_is_503_on_an_unmigrated_database(tmp_path):
    settings = Settings(
        environment="test", database_url=f"sqlite:///{tmp_path / 'empty.db'}", auth_jwt_secret=TEST_SECRET
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        r = client.get("/health/ready")
        assert r.status_code == 503
        assert r.json()["status"] != "ok"
        assert r.json()["checks"]["migrations"] != "ok"
        assert client.get("/health/live").status_code == 200


def test_metrics_use_route_templates_not_raw_ids(api, client, meeting):
    expect(meeting.chair.get(meeting.url), 200)
    stray = f"/v1/zzz-{uuid.uuid4()}"
    problem(meeting.chair.get(stray), 404, "not_found")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "# TYPE dissent_http_requests_total counter" in text
    pattern = re.compile(
        r'^dissent_http_requests_total\{[^}]*route="/v1/conferences/\{conference_id\}"[^}]*\} (\d+(\.\d+)?)$',
        re.MULTILINE,
    )
    matches = [
        m for m in pattern.finditer(text) if 'method="GET"' in m.group(0) and 'status="200"' in m.group(0)
    ]
    assert matches and float(matches[0].group(1)) >= 1
    assert meeting.conference_id not in text
    assert stray not in text
    assert "dissent_http_request_duration_seconds" in text


# ---- test clock (§3) -------------------------------------------------------------------------


def test_test_clock_set_read_and_reset_by_system_admin(api, lite):
    admin = api.system_admin()
    body = expect(admin.put("/v1/test-clock", json={"now": "2026-01-05T08:30:00Z"}), 200)
    assert body["frozen"] is True
    got = expect(admin.get("/v1/test-clock"), 200)
    assert got["frozen"] is True
    assert datetime.fromisoformat(got["now"].replace("Z", "+00:00")) == datetime(
        2026, 1, 5, 8, 30, tzinfo=UTC
    )
    created = expect(lite.record.post("/v1/children", json=child_body()), 201)
    assert created["created_at"] == "2026-01-05T08:30:00Z"
    r = admin.delete("/v1/test-clock")
    assert r.status_code == 204
    got = expect(admin.get("/v1/test-clock"), 200)
    assert got["frozen"] is False
    real = datetime.fromisoformat(got["now"].replace("Z", "+00:00"))
    assert abs(real - datetime.now(UTC)) < timedelta(minutes=5)


def test_test_clock_needs_a_time_zone(api):
    problem(
        api.system_admin().put("/v1/test-clock", json={"now": "2026-01-05T08:30:00"}), 422, "validation_error"
    )
    problem(api.system_admin().put("/v1/test-clock", json={"now": "soon"}), 422, "validation_error")


def test_test_clock_is_system_admin_only(api, lite, db):
    before = rows(db, "SELECT frozen_at FROM test_clock")
    for role in ("admin", "record_system", "reviewer", "chair", "professional", "reporting"):
        caller = api.as_("someone", role, authority=lite.authority)
        problem(caller.put("/v1/test-clock", json={"now": "2030-01-01T00:00:00Z"}), 403, "forbidden")
        problem(caller.get("/v1/test-clock"), 403, "forbidden")
        problem(caller.delete("/v1/test-clock"), 403, "forbidden")
    assert rows(db, "SELECT frozen_at FROM test_clock") == before
    problem(api.anonymous().put("/v1/test-clock", json={"now": "2030-01-01T00:00:00Z"}), 401, "unauthorized")


def test_test_clock_routes_answer_404_when_disabled(api, settings, lite, db):
    api.set_clock("2025-12-18T09:00:00Z")  # a frozen row left behind must be ignored
    disabled = Settings(
        environment="test",
        database_url=settings.database_url,
        auth_jwt_secret=TEST_SECRET,
        test_clock_enabled=False,
        database_pool_size=5,
    )
    with TestClient(create_app(disabled), raise_server_exceptions=False) as client:
        other = Api(client, TEST_SECRET)
        admin = other.system_admin()
        problem(admin.put("/v1/test-clock", json={"now": "2030-01-01T00:00:00Z"}), 404, "not_found")
        problem(admin.get("/v1/test-clock"), 404, "not_found")
        problem(admin.delete("/v1/test-clock"), 404, "not_found")
        created = expect(record_system(other, lite.authority).post("/v1/children", json=child_body()), 201)
        stamp = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00"))
        assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)
    assert len(rows(db, "SELECT frozen_at FROM test_clock")) == 1


# ---- transactions (§7, §11) ------------------------------------------------------------------

TABLES = ("audit_entry", "event", "conference", "decision", "dissent", "deadline", "idempotency_record")


def test_a_refused_end_of_meeting_changes_nothing(api, meeting, db):
    meeting.start()
    meeting.raise_dissent()
    seq_before = seqs(db, meeting.authority)
    event_seq = rows(db, "SELECT event_seq FROM authority WHERE code = :c", c=meeting.authority)[0][0]
    conference = expect(meeting.chair.get(meeting.url), 200)
    before = counts(db, *TABLES)  # the read above is audited; count after it
    r = meeting.chair.post(f"{meeting.url}/end", headers={"Idempotency-Key": "end-refused"})
    problem(r, 409, "decisions_missing")
    assert counts(db, *TABLES) == before
    assert seqs(db, meeting.authority) == seq_before
    assert rows(db, "SELECT event_seq FROM authority WHERE code = :c", c=meeting.authority)[0][0] == event_seq
    statuses = rows(db, "SELECT status FROM dissent")
    assert [s[0] for s in statuses] == ["raised"]
    after = expect(meeting.chair.get(meeting.url), 200)
    assert after["status"] == "in_progress"
    assert after["version"] == conference["version"]


def test_a_successful_write_has_one_audit_row_and_one_event_in_sequence(api, meeting, db):
    before = counts(db, "audit_entry", "event")
    seq_before = seqs(db, meeting.authority)
    assert seq_before == list(range(1, len(seq_before) + 1))
    r = meeting.chair.post(f"{meeting.url}/start", headers={"X-Request-ID": "req-start-7"})
    expect(r, 200)
    after = counts(db, "audit_entry", "event")
    assert after["audit_entry"] == before["audit_entry"] + 1
    assert after["event"] == before["event"] + 1
    audit_rows = rows(
        db, "SELECT action, authority_code, entity_id FROM audit_entry WHERE request_id = 'req-start-7'"
    )
    assert [tuple(a) for a in audit_rows] == [
        ("conference.started", meeting.authority, meeting.conference_id)
    ]
    event_rows = rows(
        db,
        "SELECT e.seq, e.type, e.subject_kind, e.subject_id, a.code FROM event e "
        "JOIN authority a ON a.id = e.authority_id ORDER BY e.seq DESC",
    )
    newest = next(e for e in event_rows if e[4] == meeting.authority)
    assert tuple(newest) == (
        len(seq_before) + 1,
        "conference.started",
        "conference",
        meeting.conference_id,
        meeting.authority,
    )
    all_seqs = seqs(db, meeting.authority)
    assert all_seqs == list(range(1, len(all_seqs) + 1))
    event_seq = rows(db, "SELECT event_seq FROM authority WHERE code = :c", c=meeting.authority)[0][0]
    assert event_seq == all_seqs[-1]


def test_event_sequences_are_per_authority_and_gap_free_after_refusals(api, db):
    api.set_clock("2025-12-18T09:00:00Z")
    a = make_meeting(api)
    b = make_meeting(api)
    a.start()
    problem(a.chair.post(f"{a.url}/end"), 409, "decisions_missing")
    problem(b.chair.post(f"{b.url}/end"), 409, "invalid_transition")
    a.decide_all()
    b.start()
    a.confirm_all()
    a.end()
    for m in (a, b):
        got = seqs(db, m.authority)
        assert got == list(range(1, len(got) + 1)), (m.authority, got)
    assert len(seqs(db, a.authority)) > len(seqs(db, b.authority))
