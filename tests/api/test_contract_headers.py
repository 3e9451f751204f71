"""The headers declared in the OpenAPI (app/routers/contract.py) are the ones the service
honours: every POST claims its Idempotency-Key; a stale If-Match answers 412 on exactly the
operations that declare it; the ETag declared is the one answered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app import idempotency
from app.routers.contract import ETAG, IF_MATCH
from tests.api.test_appeals import body as appeal_body
from tests.pdf_samples import make_pdf
from tests.support import Api, Caller, Meeting, dissent_letter, expect, make_meeting

PROFILE = "scotland-cppm-registration"  # every kind of resource: dissents, referral, appeals
STALE = '"999999"'


def test_the_declared_headers_are_in_the_spec(client):
    spec = client.get("/openapi.json").json()
    seen = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            seen[op["operationId"]] = (method, path)
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
            assert ("Idempotency-Key" in names) == (method == "post"), op["operationId"]
            assert ("If-Match" in names) == (op["operationId"] in IF_MATCH), op["operationId"]
            assert ("412" in op["responses"]) == (op["operationId"] in IF_MATCH), op["operationId"]
            if method == "post":
                assert "idempotency_key_reused" in op["responses"]["422"]["description"]
                assert "idempotency_key_in_progress" in op["responses"]["409"]["description"]
    assert set(IF_MATCH) <= set(seen) and set(ETAG) <= set(seen)
    for op_id, (status, _) in ETAG.items():
        method, path = seen[op_id]
        assert "ETag" in spec["paths"][path][method]["responses"][status]["headers"], op_id


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    """An ended registration meeting with an unresolved dissent and a lodged appeal, and a webhook."""
    api.set_clock("2025-12-18T10:00:00Z")
    m = make_meeting(api, PROFILE)
    m.start()
    dissent = m.raise_dissent()
    m.decide_all("register")
    m.confirm_all()
    m.end()
    appeal = appeal_body(m, name="Pat Parent", grounds="We were not told what the worries were")
    lodged = expect(m.record.post("/v1/appeals", json=appeal), 201)
    hook = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "secret": "s" * 32}
    webhook = expect(m.admin.post("/v1/webhooks", json=hook), 201)
    return {
        "m": m,
        "dissent": dissent["id"],
        "appeal": lodged["id"],
        "webhook": webhook["id"],
        "lodge": appeal,
    }


Recipe = Callable[[Meeting, dict[str, Any]], tuple[Caller, str, str, Any]]


class Upload:
    """A recipe body sent as multipart/form-data (the one upload route) instead of JSON."""

    def as_kwargs(self) -> dict[str, Any]:
        return {"files": {"file": ("report.pdf", make_pdf(1), "application/pdf")}}


def _body(body: Any) -> dict[str, Any]:
    """The request's keyword arguments for a recipe's body."""
    if isinstance(body, Upload):
        return body.as_kwargs()
    return {} if body is None else {"json": body}


def _chair_step(tail: str) -> Recipe:
    return lambda m, w: (m.chair, "POST", f"{m.url}/{tail}", None)


DAY = "2025-12-18"

# operationId -> (caller, method, path, body) of a request the operation would otherwise take
# up (a valid body on an existing resource), for every operation that changes something.
RECIPES: dict[str, Recipe] = {
    "authorities-create_authority": lambda m, w: (
        m.api.system_admin(),
        "POST",
        "/v1/authorities",
        {"code": "la-new", "name": "New", "profile": PROFILE, "jurisdiction": "scotland"},
    ),
    "authorities-update_authority": lambda m, w: (
        m.admin,
        "PATCH",
        f"/v1/authorities/{m.authority}",
        {"name": "X"},
    ),
    "procedures-adopt_procedure": lambda m, w: (
        m.admin,
        "PUT",
        f"/v1/authorities/{m.authority}/procedure",
        {"extends": PROFILE},
    ),
    "procedures-validate_procedure": lambda m, w: (
        m.admin,
        "POST",
        f"/v1/authorities/{m.authority}/procedure/validate",
        {"extends": PROFILE},
    ),
    "attachments-add_attachment": lambda m, w: (m.record, "POST", f"{m.url}/attachments", Upload()),
    "children-create_child": lambda m, w: (
        m.record,
        "POST",
        "/v1/children",
        {"external_ref": "R-1", "given_name": "A", "family_name": "B", "date_of_birth": "2019-05-14"},
    ),
    "conferences-create_conference": lambda m, w: (
        m.record,
        "POST",
        "/v1/conferences",
        {
            "meeting_type": "initial_cppm",
            "scheduled_start": "2025-12-20T10:00:00Z",
            "chair_id": "chair-1",
            "chair_name": "Sam Chair",
            "child_ids": m.child_ids,
        },
    ),
    "conferences-record_attendee": lambda m, w: (
        m.record,
        "POST",
        f"{m.url}/attendees",
        {
            "person_id": "p-9",
            "name": "P",
            "role_title": "R",
            "agency": "A",
            "kind": "professional",
            "attended": True,
        },
    ),
    **{
        f"conferences-{name}": _chair_step(tail)
        for name, tail in (
            ("start_conference", "start"),
            ("record_dissent_invitation", "dissent-invitation"),
            ("record_appeal_rights_explained", "appeal-rights-explained"),
            ("record_participants_advised", "participants-advised"),
            ("end_conference", "end"),
            ("cancel_conference", "cancel"),
        )
    },
    "conferences-record_decision": lambda m, w: (
        m.chair,
        "POST",
        f"{m.url}/decisions",
        {"child_id": m.child_ids[0], "outcome": "register", "categories": ["neglect"]},
    ),
    "conferences-raise_dissent": lambda m, w: (
        m.professional,
        "POST",
        f"{m.url}/dissents",
        {"subject": "registration", "reasons": "R"},
    ),
    "dissents-resolve_dissent": lambda m, w: (
        m.chair,
        "POST",
        f"/v1/dissents/{w['dissent']}/resolution",
        {"summary": "S"},
    ),
    "dissents-withdraw_dissent": lambda m, w: (
        m.professional,
        "POST",
        f"/v1/dissents/{w['dissent']}/withdrawal",
        {"reason": "R"},
    ),
    "dissents-submit_written": lambda m, w: (
        m.professional,
        "POST",
        f"/v1/dissents/{w['dissent']}/written-submission",
        dissent_letter(DAY),
    ),
    "dissents-refer_dissent": lambda m, w: (
        m.chair,
        "POST",
        f"/v1/dissents/{w['dissent']}/referral",
        {"note": "N"},
    ),
    "dissents-record_review_meeting": lambda m, w: (
        m.reviewer,
        "POST",
        f"/v1/dissents/{w['dissent']}/review-meeting",
        {"held_on": DAY, "members": ["A"]},
    ),
    "dissents-decide_dissent": lambda m, w: (
        m.reviewer,
        "POST",
        f"/v1/dissents/{w['dissent']}/review-decision",
        {"outcome": "uphold", "written_note": "N"},
    ),
    "dissents-record_family_informed": lambda m, w: (
        m.reviewer,
        "POST",
        f"/v1/dissents/{w['dissent']}/family-informed",
        {"informed_by": "I", "informed_on": DAY},
    ),
    "appeals-lodge_appeal": lambda m, w: (m.record, "POST", "/v1/appeals", w["lodge"]),
    "appeals-respond_to_appeal": lambda m, w: (
        m.chair,
        "POST",
        f"/v1/appeals/{w['appeal']}/response",
        {"outcome": "decision_confirmed", "response_text": "T"},
    ),
    "complaints-record_complaint": lambda m, w: (
        m.record,
        "POST",
        "/v1/complaints",
        {"about": "service", "agency": "NHS", "summary": "S"},
    ),
    "webhooks-create_webhook": lambda m, w: (
        m.admin,
        "POST",
        "/v1/webhooks",
        {"url": "http://127.0.0.1:9/other", "event_types": ["*"], "secret": "s" * 32},
    ),
    "webhooks-update_webhook": lambda m, w: (
        m.admin,
        "PATCH",
        f"/v1/webhooks/{w['webhook']}",
        {"url": "http://127.0.0.1:9/new"},
    ),
    "webhooks-delete_webhook": lambda m, w: (m.admin, "DELETE", f"/v1/webhooks/{w['webhook']}", None),
    "test-clock-set_clock": lambda m, w: (
        m.api.system_admin(),
        "PUT",
        "/v1/test-clock",
        {"now": "2025-12-18T11:00:00Z"},
    ),
    "test-clock-reset_clock": lambda m, w: (m.api.system_admin(), "DELETE", "/v1/test-clock", None),
}


RECIPES_METHOD = {
    "authorities-update_authority": "PATCH",
    "procedures-adopt_procedure": "PUT",
    "webhooks-update_webhook": "PATCH",
    "webhooks-delete_webhook": "DELETE",
    "test-clock-set_clock": "PUT",
    "test-clock-reset_clock": "DELETE",
}
RECIPES_METHOD.update({op: "POST" for op in RECIPES if op not in RECIPES_METHOD})


def test_every_change_has_a_recipe(client):
    spec = client.get("/openapi.json").json()
    changes = {
        op["operationId"] for item in spec["paths"].values() for method, op in item.items() if method != "get"
    }
    assert changes == set(RECIPES), "add a recipe for each operation that changes something"


@pytest.mark.parametrize("operation_id", sorted(RECIPES))
def test_a_stale_if_match_answers_412_exactly_where_declared(world, operation_id):
    m: Meeting = world["m"]
    caller, method, path, body = RECIPES[operation_id](m, world)
    r = caller.request(method, path, headers={"If-Match": STALE}, **_body(body))
    if operation_id in IF_MATCH:
        expect(r, 412, "precondition_failed")
    else:
        assert r.status_code != 412, (operation_id, r.text)
        assert r.status_code != 422 or r.json()["code"] != "validation_error", (operation_id, r.text)


@pytest.mark.parametrize("operation_id", sorted(op for op in RECIPES if RECIPES_METHOD[op] == "POST"))
def test_every_post_claims_its_idempotency_key(world, monkeypatch, operation_id):
    """The key is looked up (a replay, a reuse, or a new record) once the route's role check
    has passed, whatever the request then meets: the declared header is never ignored."""
    claimed: list[str] = []
    original = idempotency._claim

    async def spy(request: Any, session: Any, **kw: Any) -> None:
        claimed.append(kw["key"])
        await original(request, session, **kw)

    monkeypatch.setattr(idempotency, "_claim", spy)
    caller, method, path, body = RECIPES[operation_id](world["m"], world)
    caller.request(method, path, **(_body(body) or {"json": {}}), headers={"Idempotency-Key": "k-1"})
    assert claimed == ["k-1"], operation_id


ALTERNATIVES = {
    "reports-summary_report": {"text/csv"},
    "reports-timeliness_report": {"text/csv"},
    "reports-overdue_report": {"text/csv"},
    "documents-get_document": {"application/pdf", "text/html"},
    "attachments-get_attachment": {"application/pdf"},
    "dissents-get_review_bundle": {"application/pdf"},
    "guidance-get_guidance": {"text/html"},
    "procedures-get_procedure_guidance": {"text/html"},
}


def test_every_negotiated_representation_is_declared(client):
    """The routes that answer by `Accept` (app/negotiation.py, the reports' CSV) declare each
    representation as 200 content, so a client can ask for it."""
    spec = client.get("/openapi.json").json()
    for item in spec["paths"].values():
        for op in item.values():
            content = set(op["responses"].get("200", {}).get("content", {}))
            expected = ALTERNATIVES.get(op["operationId"], set())
            assert content - {"application/json"} == expected, op["operationId"]
