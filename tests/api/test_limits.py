"""Input limits: every string and array in a request body is bounded, refused one over its
bound and accepted exactly at it (all the way into the database); page sizes; children per
conference; body size.

Body size is also covered in tests/api/test_problem_details.py
(`test_body_over_64_kib_with_content_length_is_413`, `test_body_just_under_the_limit_is_not_413`,
`test_chunked_body_over_64_kib_without_content_length_is_413`,
`test_streamed_body_over_64_kib_is_413_however_it_is_declared`) and the out-of-range `limit` on
three lists in `test_limit_out_of_range_is_422`; here: the exact byte boundary, every route
that takes a body, and every paginated list generated from the app's routes.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any, NamedTuple

import httpx
import pytest
from fastapi.routing import APIRoute

from app.config import Settings
from app.main import create_app
from app.models.conference import MAX_CHILDREN_PER_CONFERENCE
from app.pagination import MAX_LIMIT, encode_cursor
from app.security import mint_token
from tests.api.test_authz_matrix import (
    AUTHZ,
    CARM,
    DAY,
    ENGLAND,
    REGISTRATION,
    SCENARIOS,
    SUBS,
    World,
    _db_counts,
    appeal_body,
    build_world,
    complaint_body,
    conference_body,
    minimal_submission,
    route_entries,
)
from tests.conftest import TEST_SECRET
from tests.support import create_child, dissent_letter, expect

PROBLEM = "application/problem+json"
NOT_FREE_TEXT = {"date", "date-time", "uuid", "binary"}


@cache
def _app() -> Any:
    return create_app(Settings(environment="test", auth_jwt_secret=TEST_SECRET))


@cache
def _spec() -> dict[str, Any]:
    return _app().openapi()


def _resolve(schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The schema behind a $ref, and the component's name."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _spec()["components"]["schemas"][name], name
    return schema, None


def _is_free_text(schema: dict[str, Any]) -> bool:
    return (
        schema.get("type") == "string"
        and "enum" not in schema
        and "const" not in schema
        and schema.get("format") not in NOT_FREE_TEXT
        and "contentMediaType" not in schema  # a file's bytes (the attachment upload)
    )


# ---- every string and array in a request is bounded -------------------------------------------


class Field(NamedTuple):
    """A string or array in a request schema: (component, property, "[]" per list level)."""

    owner: str
    name: str


def _schema_fields(
    schema: dict[str, Any], owner: str, name: str, seen: frozenset[str]
) -> list[tuple[Field, dict[str, Any]]]:
    schema, component = _resolve(schema)
    if component is not None:
        if component in seen:
            return []
        owner, name, seen = component, "", seen | {component}
    found: list[tuple[Field, dict[str, Any]]] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            found += _schema_fields(branch, owner, name, seen)
    if _is_free_text(schema) or schema.get("type") == "array":
        found.append((Field(owner, name), schema))
    if schema.get("type") == "array":
        found += _schema_fields(schema.get("items", {}), owner, f"{name}[]", seen)
    for prop, sub in schema.get("properties", {}).items():
        found += _schema_fields(sub, owner, prop, seen)
    return found


JSON_BODY, MULTIPART_BODY = "application/json", "multipart/form-data"


def request_schema(method: str, path: str, media: str = JSON_BODY) -> dict[str, Any] | None:
    body = _spec()["paths"][path][method.lower()].get("requestBody")
    return body["content"].get(media, {}).get("schema") if body else None


def body_routes(media: str = JSON_BODY) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): schema
        for path, operations in _spec()["paths"].items()
        for method in operations
        if (schema := request_schema(method, path, media)) is not None
    }


def bounded_fields(media: str = JSON_BODY) -> dict[Field, dict[str, Any]]:
    return {
        f: s for schema in body_routes(media).values() for f, s in _schema_fields(schema, "", "", frozenset())
    }


def test_the_multipart_upload_is_declared_and_bounded():
    """The one multipart body (the attachment upload): its title is bounded like any string
    (its one-over and at-the-bound cases are in tests/api/test_attachments.py); the file is
    binary, bounded by the upload's own body limit."""
    routes = body_routes(MULTIPART_BODY)
    assert set(routes) == {("POST", "/v1/conferences/{conference_id}/attachments")}
    fields = bounded_fields(MULTIPART_BODY)
    assert {f.name: s.get("maxLength") for f, s in fields.items()} == {"title": 200}
    assert all("pattern" in s for s in fields.values())  # SafeText: no control characters


def test_every_request_string_and_array_has_a_bound():
    """Request bodies: every free-text string and every array."""
    unbounded = []
    for field, schema in bounded_fields().items():
        key = "maxItems" if schema.get("type") == "array" else "maxLength"
        if key not in schema:
            unbounded.append(f"{field.owner}.{field.name} ({key})")
    assert unbounded == []


def _parameter_unbounded(schema: dict[str, Any]) -> bool:
    """A string that is not one of a fixed set of values without maxLength (ids, dates and
    codes included: a format is no declared bound), or an integer without maximum."""
    schema, _ = _resolve(schema)
    if any(_parameter_unbounded(s) for s in schema.get("anyOf", [])):
        return True
    if schema.get("type") == "string" and "enum" not in schema and "const" not in schema:
        return "maxLength" not in schema
    return schema.get("type") == "integer" and "maximum" not in schema


def parameters(place: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, parameter) for every parameter in `place` ("path" or "query")."""
    return [
        (method.upper(), path, parameter)
        for path, operations in _spec()["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == place
    ]


def test_every_path_and_query_parameter_has_a_bound():
    """Path segments ({code}, {profile}, ids) and query strings alike (issue 15)."""
    unbounded = [
        f"{method} {path} {parameter['in']}:{parameter['name']}"
        for place in ("path", "query")
        for method, path, parameter in parameters(place)
        if _parameter_unbounded(parameter["schema"])
    ]
    assert parameters("path") and parameters("query")
    assert unbounded == []


def _path_bound(parameter: dict[str, Any]) -> tuple[int, str]:
    """The declared maxLength, and a value exactly that long that names nothing."""
    schema = parameter["schema"]
    bound = int(schema["maxLength"])
    if schema.get("format") == "uuid":
        return bound, str(uuid.uuid4())
    return bound, "x" * bound


def test_one_over_each_path_parameter_bound_is_refused_and_at_it_is_looked_up(api):
    """Every GET with a path parameter: one character over the bound is a validation error
    naming the parameter; exactly at it the request is looked up (and not found)."""
    world = build_world(api, REGISTRATION, "bare")
    admin = api.as_("admin-1", "admin", authority=world.authority)
    failures = []
    routes = sorted({(path, p["name"]) for m, path, p in parameters("path") if m == "GET"})
    assert {("/v1/authorities/{code}", "code"), ("/v1/guidance/{profile}", "profile")} <= set(routes)
    for path, name in routes:
        parameter = next(p for m, pth, p in parameters("path") if pth == path and p["name"] == name)
        bound, at = _path_bound(parameter)
        filled = {p["name"]: str(uuid.uuid4()) for m, pth, p in parameters("path") if pth == path}
        for value, expected in ((at, 404), (at + "0", 422), ("9" * 10_000, 422)):
            assert expected == 404 or len(value) > bound
            url = path.format(**{**filled, name: value})
            r = admin.get(url)
            errors = [e["loc"] for e in r.json().get("errors", [])] if r.status_code == 422 else []
            if r.status_code != expected or (expected == 422 and ["path", name] not in errors):
                failures.append(f"{path} {name}={value[:40]!r}: {r.status_code} {r.text[:150]}")
    assert not failures, "\n".join(failures)


# ---- one over is refused, exactly at the limit is stored --------------------------------------


def text(n: int, index: int | None = None, prefix: str = "") -> str:
    """n characters; list items get their index in so that codes stay distinct."""
    head = prefix + ("a" if index is None else f"a{index}x")
    return (head + "a" * n)[:n]


def email(n: int) -> str:
    """A valid address of exactly n characters (64-character local part, labels of ≤ 63)."""
    local, tld = "a" * 64, ".org"
    labels, left = [], n - len(local) - 1 - len(tld)
    while left > 0:
        size = min(63, left if not labels else left - 1)
        if labels:
            left -= 1
        labels.append("b" * size)
        left -= size
    address = f"{local}@{'.'.join(labels)}{tld}"
    assert len(address) == n, (n, len(address))
    return address


def category_codes(count: int = 20) -> list[str]:
    return [text(60, i) for i in range(count)]


# Strings whose value must name something real (a profile, a time zone, an attendee): only
# their "one over" is checked.
KEEP = {
    Field("AuthorityCreate", "profile"),
    Field("AuthorityCreate", "jurisdiction"),
    Field("AuthorityCreate", "timezone"),
    Field("ConferenceCreate", "meeting_type"),
    Field("DissentCreate", "attendee_person_id"),
}
# Arrays whose full length needs that many children in a meeting: see
# test_children_per_conference_are_bounded.
AT_LIMIT_ELSEWHERE = {Field("ConferenceCreate", "child_ids"), Field("DissentCreate", "child_ids")}


def _fill(field: Field, schema: dict[str, Any], index: int | None) -> str:
    n = schema["maxLength"]
    if schema.get("format") == "email":
        return email(n)
    if field.name == "url":
        return "http://127.0.0.1:9/" + "a" * (n - len("http://127.0.0.1:9/"))
    if field.name == "event_types[]":
        return text(n, index, prefix="dissent.")
    return text(n, index)


class Leaf(NamedTuple):
    field: Field
    schema: dict[str, Any]
    path: tuple[str | int, ...]
    index: int | None  # position in the innermost list, to keep codes in a list distinct


def _branch(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    wanted = {dict: "object", list: "array", str: "string"}.get(type(value))
    branches = schema.get("anyOf", []) + schema.get("oneOf", [])
    if isinstance(value, dict):  # of a union of objects, the one that has every key given
        for branch in branches:
            if set(value) <= set(_resolve(branch)[0].get("properties", {})):
                return branch
    for branch in branches:
        resolved, _ = _resolve(branch)
        if resolved.get("type") == wanted or (wanted == "object" and "properties" in resolved):
            return branch
    return schema


def leaves(
    schema: dict[str, Any], value: Any, owner: str = "", name: str = "", path: tuple[Any, ...] = ()
) -> list[Leaf]:
    """The strings and arrays in a body, each with its schema."""
    schema, component = _resolve(_branch(schema, value))
    if component is not None:
        owner, name = component, ""
    index = next((p for p in reversed(path) if isinstance(p, int)), None)
    if isinstance(value, dict):
        return [
            leaf
            for key, item in value.items()
            for leaf in leaves(schema["properties"][key], item, owner, key, (*path, key))
        ]
    if isinstance(value, list):
        here = [Leaf(Field(owner, name), schema, path, index)]
        return here + [
            leaf
            for i, item in enumerate(value)
            for leaf in leaves(schema["items"], item, owner, f"{name}[]", (*path, i))
        ]
    if isinstance(value, str) and _is_free_text(schema):
        return [Leaf(Field(owner, name), schema, path, index)]
    return []


def _get(body: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        body = body[key]
    return body


def _set(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(body)
    _get(out, path[:-1])[path[-1]] = value
    return out


def maximise(body: Any, found: list[Leaf]) -> Any:
    out = copy.deepcopy(body)
    for leaf in found:
        if "maxLength" in leaf.schema and leaf.field not in KEEP:
            _get(out, leaf.path[:-1])[leaf.path[-1]] = _fill(leaf.field, leaf.schema, leaf.index)
    return out


def over(body: Any, leaf: Leaf) -> Any:
    """The body with this one string or array one longer than allowed."""
    if leaf.schema.get("type") == "array":
        items = list(_get(body, leaf.path))
        longer = items + [copy.deepcopy(items[-1])] * (leaf.schema["maxItems"] + 1 - len(items))
        return _set(body, leaf.path, longer)
    return _set(body, leaf.path, text(leaf.schema["maxLength"] + 1, leaf.index))


@dataclass(frozen=True)
class Case:
    role: str
    body: Callable[[World], dict[str, Any]]
    stage: str | None = None  # default: the authorisation matrix's scenario for the route
    profile: str | None = None
    prepare: Callable[[World], None] | None = None


def _add_categories(world: World) -> None:
    """Give the authority 20 extra categories with 60-character codes."""
    admin = world.api.as_("admin-1", "admin", authority=world.authority)
    extra = [{"code": c, "label": "Local area of concern"} for c in category_codes()]
    expect(admin.patch(f"/v1/authorities/{world.authority}", json={"extra_categories": extra}), 200)


def _dates(n: int) -> list[str]:
    return [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(n)]


def _categories(n: int) -> list[dict[str, str]]:
    return [{"code": f"c{i}", "label": "Local"} for i in range(n)]


def _reconvene() -> dict[str, str]:
    return {"scheduled_start": "2026-01-08T10:00:00Z", "chair_id": "chair-9", "chair_name": "Alex Chair"}


def _webhook(**extra: Any) -> dict[str, Any]:
    body = {"url": "u", "event_types": ["dissent.x"] * 50, "secret": "s" * 32, "description": "d"}
    return {**body, **extra}


# A valid body per route with every optional string present and every array at its maximum
# length; `maximise` then sets every string to its maximum length.
CASES: dict[tuple[str, str], Case] = {
    ("POST", "/v1/authorities"): Case(
        "system_admin",
        lambda w: {
            "code": "x",
            "name": "x",
            "profile": ENGLAND,
            "jurisdiction": "england",
            "timezone": "Europe/London",
            "closure_dates": _dates(366),
            "extra_categories": _categories(50),
        },
    ),
    ("PATCH", "/v1/authorities/{code}"): Case(
        "admin",
        lambda w: {"name": "x", "closure_dates": _dates(366), "extra_categories": _categories(50)},
    ),
    ("POST", "/v1/children"): Case(
        "record_system",
        lambda w: {"external_ref": "r", "given_name": "g", "family_name": "f", "date_of_birth": "2020-01-01"},
        stage="bare",
        profile=ENGLAND,
    ),
    ("POST", "/v1/conferences"): Case("record_system", lambda w: conference_body(w)),
    ("POST", "/v1/conferences/{conference_id}/attendees"): Case(
        "record_system",
        lambda w: {
            "person_id": "p",
            "name": "n",
            "role_title": "r",
            "agency": "a",
            "kind": "professional",
            "attended": True,
        },
    ),
    ("POST", "/v1/conferences/{conference_id}/decisions"): Case(
        "chair",
        lambda w: {
            "child_id": w.ids["child_id"],
            "outcome": "register",
            "categories": category_codes(),
            "plan_summary": "p",
        },
        prepare=_add_categories,
    ),
    ("POST", "/v1/conferences/{conference_id}/dissents"): Case(
        "professional",
        lambda w: {
            "subject": "registration",
            "reasons": "r",
            "child_ids": [w.ids["child_id"]],
            "attendee_person_id": "prof-1",
        },
    ),
    ("POST", "/v1/dissents/{dissent_id}/resolution"): Case("chair", lambda w: {"summary": "s"}),
    ("POST", "/v1/dissents/{dissent_id}/withdrawal"): Case("professional", lambda w: {"reason": "r"}),
    ("POST", "/v1/dissents/{dissent_id}/written-submission"): Case(
        # twenty entries, each the meeting's child by id (the form is checked against the meeting)
        "professional",
        lambda w: {**minimal_submission(), "children": [{"child_id": w.ids["child_id"], "name": "n"}] * 20},
    ),
    # The written step's other document: a second body for the same route ("#" and a name).
    ("POST", "/v1/dissents/{dissent_id}/written-submission#letter"): Case(
        "professional", lambda w: dissent_letter(DAY), stage="ended", profile=CARM
    ),
    ("POST", "/v1/dissents/{dissent_id}/referral"): Case(
        "chair",
        lambda w: {"note": "n", "nature_of_dissent": "n", "course_of_action": "c", "senior_manager": "s"},
    ),
    ("POST", "/v1/dissents/{dissent_id}/review-meeting"): Case(
        "reviewer", lambda w: {"held_on": DAY, "members": ["m"] * 30}
    ),
    ("POST", "/v1/dissents/{dissent_id}/review-decision"): Case(
        "reviewer",
        lambda w: {
            "outcome": "change_category",
            "new_categories": category_codes(),
            "practice_improvements": "p",
            "written_note": "w",
            "family_informant": {"name": "n", "role": "r"},
        },
        stage="written",
        profile=CARM,
        prepare=_add_categories,
    ),
    ("POST", "/v1/dissents/{dissent_id}/family-informed"): Case(
        "reviewer", lambda w: {"informed_by": "i", "informed_on": DAY, "other_informant_reason": "r"}
    ),
    ("POST", "/v1/appeals"): Case("professional", lambda w: appeal_body(w)),
    ("POST", "/v1/appeals/{appeal_id}/response"): Case(
        "chair", lambda w: {"outcome": "reconvene", "response_text": "r", "reconvene": _reconvene()}
    ),
    ("POST", "/v1/complaints"): Case("record_system", lambda w: complaint_body(w)),
    ("POST", "/v1/webhooks"): Case("admin", lambda w: _webhook()),
    ("PATCH", "/v1/webhooks/{webhook_id}"): Case("admin", lambda w: _webhook(active=True)),
}


def _fake_world() -> World:
    ids = {
        k: str(uuid.uuid4()) for k in ("conference_id", "child_id", "dissent_id", "appeal_id", "webhook_id")
    }
    return World(api=None, profile=REGISTRATION, authority="la-x", other="la-y", ids=ids)  # type: ignore[arg-type]


def _route(key: tuple[str, str]) -> tuple[str, str]:
    """The route a case is for (a second body for one route is named after a "#")."""
    return key[0], key[1].split("#")[0]


# Union bodies name the variant in an error's location: ["body", "dissent_letter", "to"].
UNION_TAGS = {"dissent_form", "dissent_letter"}


def test_every_bounded_field_is_exercised():
    """Each string and array of every request body appears in some case, so a new field (or a
    route with a body) without a limit test fails here."""
    routes = body_routes()
    with_fields = {k for k, schema in routes.items() if _schema_fields(schema, "", "", frozenset())}
    assert with_fields - {_route(k) for k in CASES} == set(), (
        "routes with strings or arrays in the body but no Case"
    )
    world = _fake_world()
    exercised = {
        leaf.field for key, case in CASES.items() for leaf in leaves(routes[_route(key)], case.body(world))
    }
    assert set(bounded_fields()) - exercised == set(), "fields no Case sends"


def _token(role: str, authority: str) -> str:
    return mint_token(
        TEST_SECRET,
        sub=SUBS[role],
        roles=[role],
        authority=None if role == "system_admin" else authority,
        agency="NHS",
    )


def _url(path: str, world: World) -> str:
    for name, value in world.ids.items():
        path = path.replace(f"{{{name}}}", value)
    return path.replace("{code}", world.authority)


def _send(world: World, method: str, url: str, token: str, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return world.api.client.request(method, url, json=body, headers=headers)


def _refusal(r: httpx.Response, leaf: Leaf) -> str | None:
    """None if `r` refuses exactly this field for being too long."""
    if r.status_code != 422 or not r.headers.get("content-type", "").startswith(PROBLEM):
        return f"{r.status_code} {r.text[:200]}"
    body = r.json()
    if body.get("code") != "validation_error":
        return f"code {body.get('code')}"
    loc = ["body", *map(str, leaf.path)]
    hits = [e for e in body.get("errors", []) if [p for p in e["loc"] if p not in UNION_TAGS] == loc]
    if not hits:
        return f"no error at {loc}: {body.get('errors')}"
    wanted = "too_long" if leaf.schema.get("type") == "array" else "string_too_long"
    if leaf.schema.get("format") != "email" and all(e["type"] != wanted for e in hits):
        return f"refused as {[e['type'] for e in hits]}, not {wanted}"
    return None


@pytest.mark.parametrize(("method", "path"), sorted(CASES), ids=[f"{m} {p}" for m, p in sorted(CASES)])
def test_one_over_each_limit_is_refused_and_exactly_at_it_is_stored(api, db, method, path):
    case = CASES[(method, path)]
    method, path = _route((method, path))
    scenario = SCENARIOS.get((method, path))
    stage = case.stage or (scenario.stage if scenario else "full")
    profile = case.profile or (scenario.profile if scenario else REGISTRATION)
    world = build_world(api, profile, stage)
    if case.prepare:
        case.prepare(world)
    url, token = _url(path, world), _token(case.role, world.authority)
    found = leaves(body_routes()[(method, path)], case.body(world))
    at_limit = maximise(case.body(world), found)
    failures = []
    for leaf in found:
        if leaf.schema.get("type") == "array" and leaf.field not in AT_LIMIT_ELSEWHERE:
            if len(_get(at_limit, leaf.path)) != leaf.schema["maxItems"]:
                failures.append(f"{leaf.field}: the case should send {leaf.schema['maxItems']} items")

    before = _db_counts(db)
    for leaf in found:
        if any(isinstance(p, int) and p > 0 for p in leaf.path):
            continue  # one list item stands for the others
        if not {"maxLength", "maxItems"} & set(leaf.schema):
            failures.append(f"{'.'.join(map(str, leaf.path))} has no maximum")
            continue
        if (problem := _refusal(_send(world, method, url, token, over(at_limit, leaf)), leaf)) is not None:
            failures.append(f"{'.'.join(map(str, leaf.path))} one over: {problem}")
    assert _db_counts(db) == before, "a refused request changed the database"

    assert len(json.dumps(at_limit).encode()) < _app().state.settings.max_body_bytes
    r = _send(world, method, url, token, at_limit)
    if not r.is_success:
        failures.append(f"every field at its limit: {r.status_code} {r.text[:300]}")
    assert not failures, "\n".join(failures)


# ---- children per conference ----------------------------------------------------------------------


def test_children_per_conference_are_bounded(api):
    world = build_world(api, REGISTRATION, "bare")
    record = api.as_("record-system", "record_system", authority=world.authority)
    children = [create_child(api, world.authority) for _ in range(MAX_CHILDREN_PER_CONFERENCE + 1)]
    world.ids["child_id"] = children[0]
    too_many = record.post("/v1/conferences", json=conference_body(world, child_ids=children))
    body = expect(too_many, 422, "validation_error")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["body", "child_ids"], "too_long")]

    allowed = children[:MAX_CHILDREN_PER_CONFERENCE]
    conference = expect(record.post("/v1/conferences", json=conference_body(world, child_ids=allowed)), 201)
    assert len(conference["child_ids"]) == MAX_CHILDREN_PER_CONFERENCE
    url = f"/v1/conferences/{conference['id']}"
    attendee = {"person_id": "prof-1", "name": "P", "role_title": "R", "agency": "A", "kind": "professional"}
    expect(record.post(f"{url}/attendees", json={**attendee, "attended": True}), 201)
    chair = api.as_("chair-1", "chair", authority=world.authority)
    expect(chair.post(f"{url}/start"), 200)
    professional = api.as_("prof-1", "professional", authority=world.authority)
    dissent = {"subject": "registration", "reasons": "r"}
    r = professional.post(f"{url}/dissents", json={**dissent, "child_ids": children})
    assert expect(r, 422, "validation_error")["errors"][0]["type"] == "too_long"
    body = expect(professional.post(f"{url}/dissents", json={**dissent, "child_ids": allowed}), 201)
    assert len(body["child_ids"]) == MAX_CHILDREN_PER_CONFERENCE
    for child_id in allowed:  # a full meeting can still be decided and ended
        decision = {"child_id": child_id, "outcome": "not_register", "categories": []}
        expect(chair.post(f"{url}/decisions", json=decision), 200)
    expect(chair.post(f"{url}/dissent-invitation"), 200)
    expect(chair.post(f"{url}/appeal-rights-explained"), 200)
    expect(chair.post(f"{url}/participants-advised"), 200)  # a dissent is left unresolved
    expect(chair.post(f"{url}/end"), 200)


# ---- page size on every paginated list --------------------------------------------------------------


def paginated_routes() -> list[tuple[str, bool]]:
    """(path template, takes a cursor) of every GET route with a `limit` query parameter."""

    def query(dependant: Any) -> list[str]:
        names = [p.alias or p.name for p in dependant.query_params]
        return names + [n for sub in dependant.dependencies for n in query(sub)]

    found = []
    for route, path, methods in route_entries(_app()):
        if isinstance(route, APIRoute) and "GET" in methods:
            names = query(route.dependant)
            if "limit" in names:
                found.append((path, "cursor" in names))
    return sorted(found)


def test_the_paginated_routes_are_found():
    paths = [p for p, _ in paginated_routes()]
    assert {"/v1/children", "/v1/conferences", "/v1/dissents", "/v1/events", "/v1/audit"} <= set(paths)


# The audit log pages by a 32-bit sequence number (webhook deliveries by a 64-bit id).
CURSORS_PAST_RANGE: dict[str, list[list[Any]]] = {"/v1/audit": [[2**31]]}


def test_limit_out_of_range_is_422_on_every_paginated_list(api):
    world = build_world(api, REGISTRATION, "full")
    failures = []
    for path, has_cursor in paginated_routes():
        role = next(r for r in ("admin", "reviewer", "record_system") if r in AUTHZ[("GET", path)].roles)
        caller = api.as_(SUBS[role], role, authority=world.authority)
        url = _url(path, world)
        for limit in (0, -1, MAX_LIMIT + 1, 10**30, "ten", ""):
            r = caller.get(url, params={"limit": limit})
            errors = r.json().get("errors", []) if r.status_code == 422 else []
            if r.json().get("code") != "validation_error" or ["query", "limit"] not in [
                e["loc"] for e in errors
            ]:
                failures.append(f"{path}?limit={limit!r}: {r.status_code} {r.text[:150]}")
        for limit in (1, MAX_LIMIT):
            if (r := caller.get(url, params={"limit": limit})).status_code != 200:
                failures.append(f"{path}?limit={limit}: {r.status_code} {r.text[:150]}")
        if has_cursor:
            r = caller.get(url, params={"cursor": "a" * 501})
            if r.status_code != 422 or r.json().get("code") != "validation_error":
                failures.append(f"{path}?cursor=<501 chars>: {r.status_code} {r.text[:150]}")
            # numbers and instants past what the columns hold are refused, never a 500
            past = [[2**63], [-1], ["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]]
            for values in [*CURSORS_PAST_RANGE.get(path, []), *past]:
                r = caller.get(url, params={"cursor": encode_cursor(values)})
                if r.status_code != 422 or r.json().get("code") != "invalid_cursor":
                    failures.append(f"{path}?cursor={values}: {r.status_code} {r.text[:150]}")
    assert not failures, "\n".join(failures)


def test_event_feed_position_past_the_sequence_range_is_422(api):
    world = build_world(api, REGISTRATION, "bare")
    admin = api.as_("admin-1", "admin", authority=world.authority)
    expect(admin.get("/v1/events", params={"after": 2**31 - 1}), 200)
    for after in (2**31, 10**30, -1):
        expect(admin.get("/v1/events", params={"after": after}), 422, "validation_error")


# ---- body size --------------------------------------------------------------------------------------


def _sized(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    frame = b'{"given_name": ""}'
    return frame[:-2] + b"x" * (size - len(frame)) + frame[-2:]


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_413(api, settings, db):
    world = build_world(api, ENGLAND, "bare")
    record = api.as_("record-system", "record_system", authority=world.authority)
    headers = {"Content-Type": "application/json"}
    limit = settings.max_body_bytes
    at = record.request("POST", "/v1/children", content=_sized(limit), headers=headers)
    assert len(at.request.content) == limit
    assert expect(at, 422, "validation_error")["errors"]  # read and validated, not refused for size
    before = _db_counts(db)
    r = record.request("POST", "/v1/children", content=_sized(limit + 1), headers=headers)
    expect(r, 413, "payload_too_large")
    assert _db_counts(db) == before


def test_every_route_that_takes_a_body_refuses_an_oversized_one(api, settings, db):
    """Refused before the token is even looked at, so anonymous callers cannot make the
    service buffer or parse large bodies either."""
    world = build_world(api, ENGLAND, "bare")
    ids = {k: str(uuid.uuid4()) for k in ("conference_id", "dissent_id", "appeal_id", "webhook_id")}
    world.ids.update(ids)
    payload = _sized(settings.max_body_bytes + 1)
    before = _db_counts(db)
    failures = []
    for method, path in sorted(body_routes()):
        for role in (None, "admin", "system_admin"):
            headers = {"Content-Type": "application/json"}
            if role:
                headers["Authorization"] = f"Bearer {_token(role, world.authority)}"
            r = api.client.request(method, _url(path, world), content=payload, headers=headers)
            if r.status_code != 413 or r.json().get("code") != "payload_too_large":
                failures.append(f"{method} {path} as {role}: {r.status_code} {r.text[:100]}")
            elif not r.headers["content-type"].startswith(PROBLEM):
                failures.append(f"{method} {path}: 413 as {r.headers['content-type']}")
    assert not failures, "\n".join(failures)
    assert _db_counts(db) == before
