"""Problem details (SPEC §6): unknown routes and methods, malformed and oversized bodies,
validation errors that never echo what was sent, and refusals that never name the child."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from tests.support import (
    UUID_RE,
    Api,
    Meeting,
    child_body,
    count,
    expect,
    problem,
)

SECRET_NAME = "Zebediahquux"  # a child's name that must never come back in an error


def count_children(api: Api, meeting: Meeting) -> int:
    return len(expect(meeting.record.get("/v1/children"), 200)["items"])


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
