"""Control characters in text (issue 16, item 1): NUL and the other C0 controls except tab,
line feed and carriage return are refused with 422 `validation_error` naming the field, in
every text field of every request body and every text query parameter. The fields are found
by walking the OpenAPI document (request body schemas and query parameters), not listed by
hand, so a new field is covered the day it appears. On PostgreSQL a NUL used to reach the
database and answer 500; on SQLite it was stored.

The valid bodies come from tests/api/test_limits.py (`CASES`), which checks that every route
with strings in its body has one."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import httpx
import pytest

from app.text import CONTROL_CHARACTERS_MESSAGE, NO_CONTROL_CHARACTERS
from tests.api.test_authz_matrix import AUTHZ, ENGLAND, REGISTRATION, SCENARIOS, build_world
from tests.api.test_limits import (
    CASES,
    PROBLEM,
    UNION_TAGS,
    Leaf,
    _get,
    _is_free_text,
    _route,
    _send,
    _set,
    _spec,
    _token,
    _url,
    body_routes,
    leaves,
)
from tests.support import expect

NUL = "Ann\x00"


def _bad_value(leaf: Leaf, original: str) -> str:
    """The field's valid value with a NUL in it, so that the refusal is for that alone."""
    name = leaf.field.name
    if name == "url":
        return f"https://example.org/{NUL}"
    if name == "event_types[]":
        return f"dissent.{NUL}"
    value = (NUL + original)[: leaf.schema.get("maxLength")]
    return value + "a" * max(0, leaf.schema.get("minLength", 0) - len(value))


def _service_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the service logged (the test client's own request log names the URL)."""
    return "\n".join(
        r.getMessage() + str(r.__dict__) for r in caplog.records if not r.name.startswith("httpx")
    )


def _refused_for_control(r: httpx.Response, loc: list[str], schema: dict[str, Any]) -> str | None:
    """None if `r` is a 422 naming exactly this field for its control character."""
    if r.status_code != 422 or not r.headers.get("content-type", "").startswith(PROBLEM):
        return f"{r.status_code} {r.text[:200]}"
    body = r.json()
    if body.get("code") != "validation_error":
        return f"code {body.get('code')}"
    hits = [e for e in body.get("errors", []) if [p for p in e["loc"] if p not in UNION_TAGS] == loc]
    if not hits:
        return f"no error at {loc}: {body.get('errors')}"
    if "\x00" in r.text:
        return "the refusal echoes the value"
    # A field with a stricter pattern of its own (codes) or a format (e-mail) is refused by
    # that; every other text field by the one shared rule, with its own message.
    if "pattern" not in schema or schema["pattern"] == NO_CONTROL_CHARACTERS:
        if not any(e["msg"] == CONTROL_CHARACTERS_MESSAGE for e in hits) and schema.get("format") is None:
            return f"refused as {[e['msg'] for e in hits]}"
    return None


def _text_leaves(method: str, path: str, body: Any) -> list[Leaf]:
    return [
        leaf
        for leaf in leaves(body_routes()[_route((method, path))], body)
        if leaf.schema.get("type") == "string" and _is_free_text(leaf.schema)
    ]


def test_every_text_field_of_every_body_is_found():
    """The walk finds the fields the probe used (and so every other one of their kind)."""
    found = {leaf.field for key, case in CASES.items() for leaf in _text_leaves(*key, case.body(_fake()))}
    names = {(f.owner, f.name) for f in found}
    for expected in (
        ("ChildCreate", "given_name"),
        ("ChildCreate", "external_ref"),
        ("ConferenceCreate", "chair_name"),
        ("AttendeeCreate", "name"),
        ("ComplaintCreate", "summary"),
        ("WebhookCreate", "url"),
        ("AuthorityCreate", "name"),
        ("ReviewMeetingIn", "members[]"),
    ):
        assert expected in names


def _fake() -> Any:
    from tests.api.test_limits import _fake_world

    return _fake_world()


def test_every_request_text_field_documents_the_rule():
    """Clients (and Schemathesis) see the rule in the OpenAPI document: every free-text string
    of a request body or query carries the shared pattern, or a stricter pattern of its own."""
    missing = []
    for key, case in CASES.items():
        for leaf in _text_leaves(*key, case.body(_fake())):
            if "pattern" not in leaf.schema and leaf.schema.get("format") != "email":
                missing.append(f"{leaf.field.owner}.{leaf.field.name}")
    for method, path, name, schema in text_query_parameters():
        if "pattern" not in schema:
            missing.append(f"{method} {path} ?{name}")
    assert missing == []


@pytest.mark.parametrize(("method", "path"), sorted(CASES), ids=[f"{m} {p}" for m, p in sorted(CASES)])
def test_nul_in_any_text_field_is_refused_naming_the_field(api, db, method, path, caplog):
    case = CASES[(method, path)]
    scenario = SCENARIOS.get(_route((method, path)))
    stage = case.stage or (scenario.stage if scenario else "full")
    profile = case.profile or (scenario.profile if scenario else REGISTRATION)
    world = build_world(api, profile, stage)
    if case.prepare:
        case.prepare(world)
    url, token = _url(_route((method, path))[1], world), _token(case.role, world.authority)
    body = case.body(world)
    failures = []
    caplog.set_level(logging.INFO)
    for leaf in _text_leaves(method, path, body):
        if any(isinstance(p, int) and p > 0 for p in leaf.path):
            continue  # one list item stands for the others
        sent = _set(body, leaf.path, _bad_value(leaf, _get(body, leaf.path)))
        problem = _refused_for_control(
            _send(world, method, url, token, sent), ["body", *map(str, leaf.path)], leaf.schema
        )
        if problem is not None:
            failures.append(f"{'.'.join(map(str, leaf.path))}: {problem}")
    assert not failures, "\n".join(failures)
    assert "Ann" not in _service_log(caplog), "a request value reached the log"


# ---- query parameters --------------------------------------------------------------------------


def text_query_parameters() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, name, string schema) of every free-text query parameter."""
    found = []
    for path, operations in _spec()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                schemas = [parameter["schema"], *parameter["schema"].get("anyOf", [])]
                for schema in schemas:
                    if _is_free_text(schema):
                        found.append((method.upper(), path, parameter["name"], schema))
    return found


def test_the_text_query_parameters_are_found():
    names = {(path, name) for _, path, name, _ in text_query_parameters()}
    assert {
        ("/v1/children", "external_ref"),
        ("/v1/audit", "actor"),
        ("/v1/reports/summary", "meeting_type"),
    } <= names


def test_nul_in_any_text_query_parameter_is_refused_naming_it(api, caplog):
    world = build_world(api, REGISTRATION, "full")
    world.ids["webhook_id"] = world.ids.get("webhook_id", str(uuid.uuid4()))
    caplog.set_level(logging.INFO)
    failures = []
    checked = 0
    for method, path, name, schema in text_query_parameters():
        roles = AUTHZ[(method, path)].roles
        role = next((r for r in ("admin", "reviewer", "record_system", "system_admin") if r in roles), None)
        assert role is not None, path
        headers = {"Authorization": f"Bearer {_token(role, world.authority)}"}
        params = {name: NUL}
        if path == "/v1/calendar/deadline":
            params = {"authority": world.authority, "from": "2026-01-05", "working_days": "1", **params}
        r = api.client.request(method, _url(path, world), params=params, headers=headers)
        problem = _refused_for_control(r, ["query", name], schema)
        if problem is not None:
            failures.append(f"{method} {path}?{name}: {problem}")
        checked += 1
    assert checked >= 5
    assert not failures, "\n".join(failures)
    assert "Ann" not in _service_log(caplog), "a request value reached the log"


# ---- which characters ------------------------------------------------------------------------


@pytest.mark.parametrize("code", [*range(0x00, 0x20), 0x7F])
def test_c0_controls_are_refused_but_tab_line_feed_and_carriage_return_are_kept(api, code):
    world = build_world(api, ENGLAND, "bare")
    record = api.as_("record-system", "record_system", authority=world.authority)
    body = {
        "external_ref": f"REF-{uuid.uuid4().hex[:8]}",
        "given_name": f"Ann{chr(code)}Lee",
        "family_name": "Example",
        "date_of_birth": "2019-05-14",
    }
    r = record.post("/v1/children", json=body)
    if chr(code) in "\t\n\r\x7f":
        child = expect(r, 201)
        assert child["given_name"] == body["given_name"]
        return
    problem = expect(r, 422, "validation_error")
    assert [e["loc"] for e in problem["errors"]] == [["body", "given_name"]]
    assert problem["errors"][0]["msg"] == CONTROL_CHARACTERS_MESSAGE


def test_a_nul_written_as_a_json_escape_or_raw_is_refused_the_same(api):
    world = build_world(api, ENGLAND, "bare")
    token = _token("record_system", world.authority)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = {"external_ref": "R-1", "given_name": NUL, "family_name": "Example", "date_of_birth": "2019-05-14"}
    escaped = json.dumps(body).encode()
    assert b"\\u0000" in escaped
    r = api.client.post("/v1/children", content=escaped, headers=headers)
    assert expect(r, 422, "validation_error")["errors"][0]["loc"] == ["body", "given_name"]
