"""An idempotent replay is authorised like the first call (issue 16, item 5): the route's role
check runs before the stored answer is looked up, so a caller whose token no longer carries
the role gets 403, not the replayed 201."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from app.config import Settings
from app.main import create_app
from tests.api.test_authz_matrix import ENGLAND, build_world, route_entries
from tests.conftest import TEST_SECRET
from tests.support import expect, rows


def _child() -> dict[str, str]:
    return {
        "external_ref": "REF-IDEM",
        "given_name": "Riley",
        "family_name": "Example",
        "date_of_birth": "2019-05-14",
    }


def test_a_replay_is_refused_to_the_same_caller_without_the_role(api, db):
    world = build_world(api, ENGLAND, "bare")
    key = {"Idempotency-Key": "create-riley"}
    allowed = api.as_("record-system", "record_system", authority=world.authority)
    first = allowed.post("/v1/children", json=_child(), headers=key)
    created = expect(first, 201)

    # The same person (same sub, same authority) with a token whose roles do not allow it.
    demoted = api.as_("record-system", "reporting", authority=world.authority)
    r = demoted.post("/v1/children", json=_child(), headers=key)
    expect(r, 403, "forbidden")
    assert "idempotent-replayed" not in r.headers
    assert created["given_name"] not in r.text

    replay = allowed.post("/v1/children", json=_child(), headers=key)
    assert expect(replay, 201)["id"] == created["id"]
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(rows(db, "SELECT id FROM child")) == 1


def test_a_reused_key_with_another_body_is_also_only_told_after_the_role_check(api):
    world = build_world(api, ENGLAND, "bare")
    key = {"Idempotency-Key": "k-1"}
    allowed = api.as_("record-system", "record_system", authority=world.authority)
    expect(allowed.post("/v1/children", json=_child(), headers=key), 201)
    demoted = api.as_("record-system", "reporting", authority=world.authority)
    other = {**_child(), "given_name": "Sam"}
    expect(demoted.post("/v1/children", json=other, headers=key), 403, "forbidden")
    expect(allowed.post("/v1/children", json=other, headers=key), 422, "idempotency_key_reused")


def _calls(dependant: Any) -> list[str]:
    found = [getattr(dependant.call, "__qualname__", "")]
    for sub in dependant.dependencies:
        found += _calls(sub)
    return found


def test_every_route_that_accepts_a_key_checks_roles_first():
    """The lookup runs inside `require_roles`: a POST without it would never claim its key."""
    app = create_app(Settings(environment="test", auth_jwt_secret=TEST_SECRET))
    missing = []
    for route, path, methods in route_entries(app):
        if isinstance(route, APIRoute) and "POST" in methods:
            if not any("require_roles" in call for call in _calls(route.dependant)):
                missing.append(path)
    assert missing == []
