"""The authorisation matrix (SPEC §4), generated from the app's routes.

`AUTHZ` below is the one table of who may call what. Every route the app serves must have an
entry and every entry must be a route (`test_every_route_is_in_the_table`).
`test_route_answers_every_caller_as_the_table_says` builds a fixture world (a fresh one for
each route that changes state, one shared by the reads of the same world, see `SCENARIOS`) and
calls each route as every role, with no token, with a valid token of another authority, and as
people of the same authority who are not part of the meeting (a chair of another conference, a
professional who did not attend), then checks each answer against the table:

* a role the table allows → never 401/403 (2xx, or a rule refusal because of state), and at
  least one allowed caller succeeds;
* a role it does not allow → 403 `forbidden`; no token → 401 with `WWW-Authenticate: Bearer`;
* another authority's token → 404 `not_found` on URLs naming one of the first authority's
  records, answered exactly like a random id; on collections it never sees that authority's data;
* the chair of another conference or an absent professional → 404 on this meeting's records
  (the code hides what the caller may not see) and none of its data in lists;
* refused calls change nothing in the database.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from sqlmodel import SQLModel
from starlette.routing import Route

from app.main import create_app
from app.security import mint_token
from tests.api.test_procedures import example
from tests.conftest import TEST_SECRET
from tests.pdf_samples import make_pdf
from tests.support import (
    CATEGORY,
    FORM_PROFESSIONAL,
    Api,
    Meeting,
    create_authority,
    create_child,
    expect,
    make_meeting,
    rows,
    submission,
)


class Rule(NamedTuple):
    roles: frozenset[str]
    scope: str


ROLES = ("record_system", "chair", "professional", "reviewer", "reporting", "admin", "system_admin")

# What a route's URL names, which decides how other tenants and outsiders are answered:
PUBLIC = "public"  # no token needed; everyone gets the same answer
GLOBAL = "global"  # not tenant data (profiles, creating tenants, the test clock)
AUTHORITY = "authority"  # the caller's own authority, named by code: another authority's → 404
ITEM = "item"  # one record of the authority, by id in the URL: another authority's → 404
COLLECTION = "collection"  # lists and creations, scoped to the token's authority

ANY = frozenset(ROLES)  # any valid token
READERS = frozenset({"record_system", "admin", "reviewer", "chair", "professional"})
REPORTS = frozenset({"reporting", "reviewer", "admin"})
ADMIN = frozenset({"admin"})
RECORD = frozenset({"record_system"})
CHAIR = frozenset({"chair"})
SYSADMIN = frozenset({"system_admin"})
OPEN = Rule(ANY, PUBLIC)

AUTHZ: dict[tuple[str, str], Rule] = {
    # platform, public (SPEC §9, §11)
    ("GET", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("GET", "/docs/swagger-init.js"): OPEN,
    ("GET", "/redoc"): OPEN,
    ("GET", "/health/live"): OPEN,
    ("GET", "/health/ready"): OPEN,
    ("GET", "/metrics"): OPEN,
    ("GET", "/v1/guidance/{profile}"): OPEN,
    # tenants and profiles (SPEC §5 Authorities, Profiles)
    ("POST", "/v1/authorities"): Rule(SYSADMIN, GLOBAL),
    ("GET", "/v1/authorities/{code}"): Rule(ANY, AUTHORITY),
    ("PATCH", "/v1/authorities/{code}"): Rule(ADMIN, AUTHORITY),
    # the authority's own procedure (issue 17): its staff read it, its admin adopts versions
    ("GET", "/v1/authorities/{code}/procedure"): Rule(ANY, AUTHORITY),
    ("GET", "/v1/authorities/{code}/procedure/versions"): Rule(ANY, AUTHORITY),
    ("PUT", "/v1/authorities/{code}/procedure"): Rule(ADMIN, AUTHORITY),
    ("POST", "/v1/authorities/{code}/procedure/validate"): Rule(ADMIN, AUTHORITY),
    ("GET", "/v1/authorities/{code}/procedure/guidance"): OPEN,
    ("GET", "/v1/profiles"): Rule(ANY, GLOBAL),
    ("GET", "/v1/profiles/{code}"): Rule(ANY, GLOBAL),
    # children: the record system creates; reporting never sees personal data
    ("POST", "/v1/children"): Rule(RECORD, COLLECTION),
    ("GET", "/v1/children"): Rule(READERS, COLLECTION),
    ("GET", "/v1/children/{child_id}"): Rule(READERS, ITEM),
    ("GET", "/v1/children/{child_id}/record"): Rule(READERS, ITEM),
    # conferences: the record system schedules; chair-only steps need sub == chair_id
    ("POST", "/v1/conferences"): Rule(RECORD, COLLECTION),
    ("GET", "/v1/conferences"): Rule(READERS, COLLECTION),
    ("GET", "/v1/conferences/{conference_id}"): Rule(READERS, ITEM),
    ("POST", "/v1/conferences/{conference_id}/attendees"): Rule(frozenset({"record_system", "chair"}), ITEM),
    ("POST", "/v1/conferences/{conference_id}/start"): Rule(CHAIR, ITEM),
    ("POST", "/v1/conferences/{conference_id}/dissent-invitation"): Rule(CHAIR, ITEM),
    ("POST", "/v1/conferences/{conference_id}/appeal-rights-explained"): Rule(CHAIR, ITEM),
    ("POST", "/v1/conferences/{conference_id}/participants-advised"): Rule(CHAIR, ITEM),
    ("POST", "/v1/conferences/{conference_id}/end"): Rule(CHAIR, ITEM),
    ("POST", "/v1/conferences/{conference_id}/decisions"): Rule(CHAIR, ITEM),
    ("POST", "/v1/conferences/{conference_id}/cancel"): Rule(frozenset({"record_system", "chair"}), ITEM),
    ("POST", "/v1/conferences/{conference_id}/dissents"): Rule(frozenset({"professional", "chair"}), ITEM),
    # dissents
    ("GET", "/v1/dissents"): Rule(READERS, COLLECTION),
    ("GET", "/v1/dissents/{dissent_id}"): Rule(READERS, ITEM),
    ("GET", "/v1/dissents/{dissent_id}/written-submission/draft"): Rule(READERS, ITEM),
    ("POST", "/v1/dissents/{dissent_id}/resolution"): Rule(CHAIR, ITEM),
    ("POST", "/v1/dissents/{dissent_id}/withdrawal"): Rule(frozenset({"professional", "chair"}), ITEM),
    ("POST", "/v1/dissents/{dissent_id}/written-submission"): Rule(frozenset({"professional"}), ITEM),
    ("POST", "/v1/dissents/{dissent_id}/referral"): Rule(CHAIR, ITEM),
    ("POST", "/v1/dissents/{dissent_id}/review-meeting"): Rule(frozenset({"reviewer"}), ITEM),
    ("POST", "/v1/dissents/{dissent_id}/review-decision"): Rule(frozenset({"reviewer"}), ITEM),
    ("POST", "/v1/dissents/{dissent_id}/family-informed"): Rule(frozenset({"reviewer", "chair"}), ITEM),
    # appeals and complaints (a professional lodges as the family's lead social worker, and
    # only for a meeting they attended: tests/api/test_meeting_secrecy.py)
    ("POST", "/v1/appeals"): Rule(frozenset({"record_system", "professional"}), COLLECTION),
    ("GET", "/v1/appeals"): Rule(READERS, COLLECTION),
    ("GET", "/v1/appeals/{appeal_id}"): Rule(READERS, ITEM),
    # The router admits chair, reviewer and admin; the profile names who answers (the chair in
    # scotland-cppm-registration, the only profile with appeals) and the service refuses the rest.
    ("POST", "/v1/appeals/{appeal_id}/response"): Rule(CHAIR, ITEM),
    ("POST", "/v1/complaints"): Rule(READERS, COLLECTION),
    ("GET", "/v1/complaints"): Rule(ADMIN, COLLECTION),
    # issued documents: whoever may read the subject, plus its recipients; never reporting
    ("GET", "/v1/dissents/{dissent_id}/documents"): Rule(READERS, ITEM),
    ("GET", "/v1/appeals/{appeal_id}/documents"): Rule(READERS, ITEM),
    ("GET", "/v1/conferences/{conference_id}/documents"): Rule(READERS, ITEM),
    ("GET", "/v1/documents/{document_id}"): Rule(READERS, ITEM),
    # attachments: the record system or the meeting's chair adds; read as documents are
    ("POST", "/v1/conferences/{conference_id}/attachments"): Rule(
        frozenset({"record_system", "chair"}), ITEM
    ),
    ("GET", "/v1/conferences/{conference_id}/attachments"): Rule(READERS, ITEM),
    ("GET", "/v1/attachments/{attachment_id}"): Rule(READERS, ITEM),
    # the review bundle: whoever may read the dissent; never reporting
    ("GET", "/v1/dissents/{dissent_id}/bundle"): Rule(READERS, ITEM),
    # calendar: any token, but only for the caller's own authority (system_admin: any)
    ("GET", "/v1/calendar/deadline"): Rule(ANY, AUTHORITY),
    # integration (SPEC §7, §8)
    ("GET", "/v1/events"): Rule(frozenset({"record_system", "admin"}), COLLECTION),
    ("POST", "/v1/webhooks"): Rule(ADMIN, COLLECTION),
    ("GET", "/v1/webhooks"): Rule(ADMIN, COLLECTION),
    ("GET", "/v1/webhooks/{webhook_id}"): Rule(ADMIN, ITEM),
    ("PATCH", "/v1/webhooks/{webhook_id}"): Rule(ADMIN, ITEM),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Rule(ADMIN, ITEM),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Rule(ADMIN, ITEM),
    ("GET", "/v1/audit"): Rule(ADMIN, COLLECTION),
    ("GET", "/v1/audit/verify"): Rule(ADMIN, COLLECTION),
    ("GET", "/v1/audit/checkpoint"): Rule(ADMIN, COLLECTION),
    # reports (SPEC §10): aggregates only
    ("GET", "/v1/reports/summary"): Rule(REPORTS, COLLECTION),
    ("GET", "/v1/reports/timeliness"): Rule(REPORTS, COLLECTION),
    ("GET", "/v1/reports/overdue"): Rule(REPORTS, COLLECTION),
    # the test clock (SPEC §3)
    ("GET", "/v1/test-clock"): Rule(SYSADMIN, GLOBAL),
    ("PUT", "/v1/test-clock"): Rule(SYSADMIN, GLOBAL),
    ("DELETE", "/v1/test-clock"): Rule(SYSADMIN, GLOBAL),
}


# ---- the routes the app serves ----------------------------------------------------------------


def route_entries(app: Any) -> list[tuple[Any, str, set[str]]]:
    """(route, full path template, methods) of every route the app serves."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept lazily: the routes themselves
        return [(r, str(r.path), set(getattr(r, "methods", None) or ())) for r in app.routes]
    return [(c.original_route, str(c.path), set(c.methods or ())) for c in iter_route_contexts(app.routes)]


def served_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path template) of every HTTP route, including FastAPI's own docs routes."""
    found: set[tuple[str, str]] = set()
    for route, path, methods in route_entries(app):
        if isinstance(route, APIRoute | Route):
            found |= {(m, path) for m in methods if m != "HEAD"}  # Starlette adds HEAD to GETs
    return found


def _app_routes() -> set[tuple[str, str]]:
    from app.config import Settings

    return served_routes(create_app(Settings(environment="test", auth_jwt_secret=TEST_SECRET)))


def test_every_route_is_in_the_table():
    served = _app_routes()
    missing = sorted(served - set(AUTHZ))
    stale = sorted(set(AUTHZ) - served)
    assert not missing, f"routes with no entry in AUTHZ (say who may call them): {missing}"
    assert not stale, f"AUTHZ entries for routes the app does not serve: {stale}"


def test_every_route_has_a_fixture_scenario():
    assert set(SCENARIOS) <= set(AUTHZ)


# ---- the fixture world ------------------------------------------------------------------------

DAY = "2025-12-18"
ENGLAND, CARM, REGISTRATION = "england-cp-conference", "scotland-cppm-carm", "scotland-cppm-registration"
SUBS = {
    "record_system": "record-system",
    "chair": "chair-1",
    "professional": "prof-1",
    "reviewer": "reviewer-1",
    "reporting": "bi-tool",
    "admin": "admin-1",
    "system_admin": "sysadmin",
}
# Same authority, but not part of the meeting: the chair of another conference and a
# professional who did not attend.
OUTSIDERS = {"chair": "chair-2", "professional": "prof-stranger"}
STAGES = (
    "bare",  # two authorities, no records
    "scheduled",
    "in_progress",
    "dissent_raised",  # prof-1 raised a registration dissent
    "ready_to_end",  # decisions recorded and confirmations given
    "ended",  # the dissent moved to its written step
    "written",  # submitted (or referred, in scotland-cppm-registration)
    "under_review",  # england: the review meeting held
    "decided",
    "full",  # scotland-cppm-registration, ended and referred, plus an appeal, a webhook, a complaint
)


@dataclass
class World:
    api: Api
    profile: str
    authority: str  # A: the authority under test
    other: str  # B: another authority with the same profile and no records
    ids: dict[str, str] = field(default_factory=dict)
    meeting: Meeting | None = None

    def secrets(self) -> set[str]:
        """What another tenant or an outsider must never be shown."""
        return {v for k, v in self.ids.items() if not k.startswith("own_")} | {self.authority}


def build_world(api: Api, profile: str, stage: str) -> World:
    api.set_clock(f"{DAY}T10:00:00Z")
    level = STAGES.index(stage)
    if stage == "full":
        profile = REGISTRATION
    other = create_authority(api, profile)
    world = World(api, profile, create_authority(api, profile), other)
    if level == 0:
        return world
    m = make_meeting(api, profile, scheduled_start=f"{DAY}T10:00:00Z", authority=world.authority)
    m.extras["day"] = DAY
    world.meeting = m
    world.ids.update(conference_id=m.conference_id, child_id=m.child_ids[0])
    if level >= STAGES.index("in_progress"):
        m.start()
    if level >= STAGES.index("dissent_raised"):
        world.ids["dissent_id"] = str(m.raise_dissent("registration")["id"])
    if level >= STAGES.index("ready_to_end"):
        m.decide_all()
        m.confirm_all()
    if level >= STAGES.index("ended"):
        m.end()
    dissent = f"/v1/dissents/{world.ids.get('dissent_id')}"
    if level >= STAGES.index("written"):
        if profile == REGISTRATION:
            expect(m.chair.post(f"{dissent}/referral", json={"note": "Referred in writing"}), 200)
        else:
            expect(
                m.professional.post(f"{dissent}/written-submission", json=minimal_submission(profile)), 200
            )
    if level >= STAGES.index("under_review") and stage != "full" and profile == ENGLAND:
        expect(m.reviewer.post(f"{dissent}/review-meeting", json=review_meeting()), 200)
    if level >= STAGES.index("decided") and stage != "full":
        expect(m.reviewer.post(f"{dissent}/review-decision", json=review_decision(world)), 200)
    if stage == "full":
        r = m.professional.post("/v1/appeals", json=appeal_body(world))
        world.ids["appeal_id"] = str(expect(r, 201)["id"])
        r = m.admin.post("/v1/webhooks", json=webhook_body())
        world.ids["webhook_id"] = str(expect(r, 201)["id"])
        r = m.record.post("/v1/complaints", json=complaint_body(world))
        world.ids["complaint_id"] = str(expect(r, 201)["id"])
        # chair-2 chairs a meeting of their own in A, about another child
        own_child = create_child(api, world.authority)
        body = conference_body(world, child_ids=[own_child], chair_id="chair-2")
        world.ids["own_conference_id"] = str(expect(m.record.post("/v1/conferences", json=body), 201)["id"])
        world.ids["own_child_id"] = own_child
    return world


# ---- minimal valid bodies ---------------------------------------------------------------------


def minimal_submission(profile: str = ENGLAND) -> dict[str, Any]:
    """The written step's body for `profile` about the meeting on DAY."""
    return submission(profile, DAY, professional=FORM_PROFESSIONAL | {"agency_address": "1 High Street"})


def review_meeting() -> dict[str, Any]:
    return {"held_on": DAY, "members": ["IRO Service Manager"]}


def review_decision(world: World) -> dict[str, Any]:
    body: dict[str, Any] = {"outcome": "uphold", "written_note": "The decision stands."}
    if world.profile == CARM:
        body["family_informant"] = {"name": "Lee Worker", "role": "Lead social worker"}
    return body


def appeal_body(world: World) -> dict[str, Any]:
    return {
        "conference_id": world.ids["conference_id"],
        "child_id": world.ids["child_id"],
        "appellant": {"name": f"Jo Parent {uuid.uuid4().hex[:6]}", "relationship": "parent"},
        "grounds": "We do not agree.",
        "lodged_by_lead_social_worker": {"name": "Lee Worker"},
    }


def webhook_body() -> dict[str, Any]:
    return {"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "secret": "s" * 32}


def complaint_body(world: World) -> dict[str, Any]:
    return {
        "about": "service",
        "agency": "Children's Services",
        "summary": "The meeting started late.",
        "conference_id": world.ids["conference_id"],
    }


def conference_body(world: World, **changes: Any) -> dict[str, Any]:
    meeting_type = "initial_conference" if world.profile == ENGLAND else "initial_cppm"
    body = {
        "meeting_type": meeting_type,
        "scheduled_start": f"{DAY}T14:00:00Z",
        "chair_id": "chair-1",
        "chair_name": "Sam Chair",
        "child_ids": [world.ids["child_id"]],
    }
    return {**body, **changes}


Body = Callable[[World, str], Any]


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body (the attachment upload) in place of JSON."""

    files: dict[str, tuple[str, bytes, str]]
    data: dict[str, str] = field(default_factory=dict)


def _upload(world: World, role: str) -> Multipart:
    return Multipart({"file": ("report.pdf", make_pdf(1), "application/pdf")}, {"title": "Report"})


@dataclass(frozen=True)
class Scenario:
    stage: str = "full"
    profile: str = REGISTRATION
    body: Body | None = None
    params: Callable[[World], dict[str, Any]] | None = None
    path: dict[str, Callable[[World], str]] = field(default_factory=dict)


def _dissent_body(world: World, role: str) -> dict[str, Any]:
    body = {"subject": "registration", "reasons": "The risk is not shown."}
    return {**body, "attendee_person_id": "prof-2"} if role == "chair" else body


def _document_id(world: World) -> str:
    """The referral issued in the full world (kept in `ids`, so another authority's probe
    names a missing document in its place)."""
    if "document_id" not in world.ids:
        assert world.meeting is not None
        page = expect(world.meeting.reviewer.get(f"/v1/dissents/{world.ids['dissent_id']}/documents"), 200)
        world.ids["document_id"] = str(page["items"][0]["id"])
    return world.ids["document_id"]


def _attachment_id(world: World) -> str:
    """An attachment on the full world's meeting (kept in `ids`, as `_document_id`)."""
    if "attachment_id" not in world.ids:
        assert world.meeting is not None
        caller = world.meeting.record
        url = f"/v1/conferences/{world.ids['conference_id']}/attachments"
        form = _upload(world, "record_system")
        response = caller.request("POST", url, files=form.files, data=form.data)
        world.ids["attachment_id"] = str(expect(response, 201)["id"])
    return world.ids["attachment_id"]


# How to put each route in a state where an allowed caller succeeds. Routes not listed run
# against the "full" world with no body.
SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("GET", "/v1/guidance/{profile}"): Scenario("bare", path={"profile": lambda w: w.profile}),
    ("POST", "/v1/authorities"): Scenario(
        "bare",
        body=lambda w, r: {
            "code": f"la-{uuid.uuid4().hex[:8]}",
            "name": "New",
            "profile": ENGLAND,
            "jurisdiction": "england",
        },
    ),
    ("GET", "/v1/authorities/{code}"): Scenario("bare"),
    ("PATCH", "/v1/authorities/{code}"): Scenario("bare", body=lambda w, r: {"name": "Renamed"}),
    ("GET", "/v1/authorities/{code}/procedure"): Scenario("bare"),
    ("GET", "/v1/authorities/{code}/procedure/versions"): Scenario("bare"),
    ("PUT", "/v1/authorities/{code}/procedure"): Scenario("bare", body=lambda w, r: example("pan-sussex")),
    ("POST", "/v1/authorities/{code}/procedure/validate"): Scenario(
        "bare", body=lambda w, r: example("pan-sussex")
    ),
    ("GET", "/v1/authorities/{code}/procedure/guidance"): Scenario("bare"),
    ("GET", "/v1/profiles"): Scenario("bare"),
    ("GET", "/v1/profiles/{code}"): Scenario("bare", path={"code": lambda w: w.profile}),
    ("POST", "/v1/children"): Scenario(
        body=lambda w, r: {
            "external_ref": f"REF-{uuid.uuid4().hex[:8]}",
            "given_name": "Alex",
            "family_name": "Example",
            "date_of_birth": "2020-01-01",
        }
    ),
    ("POST", "/v1/conferences"): Scenario("scheduled", body=lambda w, r: conference_body(w)),
    ("POST", "/v1/conferences/{conference_id}/attendees"): Scenario(
        "scheduled",
        body=lambda w, r: {
            "person_id": "prof-3",
            "name": "Prof Three",
            "role_title": "Teacher",
            "agency": "School",
            "kind": "professional",
            "attended": True,
        },
    ),
    ("POST", "/v1/conferences/{conference_id}/start"): Scenario("scheduled"),
    ("POST", "/v1/conferences/{conference_id}/dissent-invitation"): Scenario("in_progress"),
    ("POST", "/v1/conferences/{conference_id}/appeal-rights-explained"): Scenario("in_progress"),
    ("POST", "/v1/conferences/{conference_id}/participants-advised"): Scenario("in_progress"),
    ("GET", "/v1/dissents/{dissent_id}/written-submission/draft"): Scenario("ended", ENGLAND),
    ("POST", "/v1/conferences/{conference_id}/end"): Scenario("ready_to_end"),
    ("POST", "/v1/conferences/{conference_id}/decisions"): Scenario(
        "in_progress",
        body=lambda w, r: {
            "child_id": w.ids["child_id"],
            "outcome": "register",
            "categories": [CATEGORY[w.profile]],
        },
    ),
    ("POST", "/v1/conferences/{conference_id}/cancel"): Scenario("scheduled"),
    ("POST", "/v1/conferences/{conference_id}/dissents"): Scenario("in_progress", body=_dissent_body),
    ("POST", "/v1/dissents/{dissent_id}/resolution"): Scenario(
        "dissent_raised", body=lambda w, r: {"summary": "Resolved in the room."}
    ),
    ("POST", "/v1/dissents/{dissent_id}/withdrawal"): Scenario(
        "dissent_raised", body=lambda w, r: {"reason": "Changed my mind."}
    ),
    ("POST", "/v1/dissents/{dissent_id}/written-submission"): Scenario(
        "ended", ENGLAND, body=lambda w, r: minimal_submission()
    ),
    ("POST", "/v1/dissents/{dissent_id}/referral"): Scenario(
        "ended", body=lambda w, r: {"note": "Referred in writing."}
    ),
    ("POST", "/v1/dissents/{dissent_id}/review-meeting"): Scenario(
        "written", ENGLAND, body=lambda w, r: review_meeting()
    ),
    ("POST", "/v1/dissents/{dissent_id}/review-decision"): Scenario(body=lambda w, r: review_decision(w)),
    ("POST", "/v1/dissents/{dissent_id}/family-informed"): Scenario(
        "decided", CARM, body=lambda w, r: {"informed_by": "Lee Worker", "informed_on": DAY}
    ),
    ("POST", "/v1/appeals"): Scenario("ended", body=lambda w, r: appeal_body(w)),
    ("POST", "/v1/appeals/{appeal_id}/response"): Scenario(
        body=lambda w, r: {"outcome": "decision_confirmed", "response_text": "We looked again."}
    ),
    ("POST", "/v1/complaints"): Scenario(body=lambda w, r: complaint_body(w)),
    ("GET", "/v1/documents/{document_id}"): Scenario(path={"document_id": _document_id}),
    ("POST", "/v1/conferences/{conference_id}/attachments"): Scenario(body=_upload),
    ("GET", "/v1/attachments/{attachment_id}"): Scenario(path={"attachment_id": _attachment_id}),
    ("GET", "/v1/calendar/deadline"): Scenario(
        "bare", params=lambda w: {"authority": w.authority, "from": DAY, "working_days": 5}
    ),
    ("POST", "/v1/webhooks"): Scenario(body=lambda w, r: webhook_body()),
    ("PATCH", "/v1/webhooks/{webhook_id}"): Scenario(body=lambda w, r: {"description": "Renamed"}),
    ("GET", "/v1/test-clock"): Scenario("bare"),
    ("PUT", "/v1/test-clock"): Scenario("bare", body=lambda w, r: {"now": f"{DAY}T11:00:00Z"}),
    ("DELETE", "/v1/test-clock"): Scenario("bare"),
}
for _key, _rule in AUTHZ.items():
    if _rule.scope == PUBLIC and _key not in SCENARIOS:
        SCENARIOS[_key] = Scenario("bare")


# ---- calling the route ------------------------------------------------------------------------

_PARAM = re.compile(r"{(\w+)}")


@dataclass
class Call:
    who: str  # for the failure report
    role: str | None
    token: str | None
    expect: str  # allowed | forbidden | unauthenticated | hidden | unleaked
    response: httpx.Response | None = None
    request_text: str = ""


def _fill(path: str, world: World, scenario: Scenario) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in scenario.path:
            return scenario.path[name](world)
        if name == "code":
            return world.authority
        return world.ids[name]

    return _PARAM.sub(value, path)


def _missing(url: str, params: dict[str, Any] | None, world: World) -> tuple[str, dict[str, Any] | None]:
    """The same request naming a record that does not exist."""
    if params and params.get("authority") == world.authority:
        return url, {**params, "authority": "la-missing"}
    ids = [v for v in world.ids.values() if v in url]
    if ids:
        return url.replace(ids[-1], str(uuid.uuid4())), params
    return url.replace(f"/{world.authority}", "/la-missing"), params


def _token(role: str, *, authority: str | None, sub: str | None = None) -> str:
    return mint_token(
        TEST_SECRET,
        sub=sub or SUBS[role],
        roles=[role],
        authority=None if role == "system_admin" else authority,
        name=sub or SUBS[role],
        agency="NHS",
    )


def _send(api: Api, method: str, url: str, call: Call, body: Any, params: dict[str, Any] | None) -> None:
    headers = {"Authorization": f"Bearer {call.token}"} if call.token else {}
    kwargs: dict[str, Any] = {"headers": headers, "params": params}
    if isinstance(body, Multipart):
        kwargs.update(files=body.files, data=body.data)
        call.request_text = url + json.dumps(params or {}) + json.dumps(body.data)
    else:
        if body is not None:
            kwargs["json"] = body
        call.request_text = url + json.dumps(params or {}) + json.dumps(body)
    call.response = api.client.request(method, url, **kwargs)


def _callers(world: World, rule: Rule) -> list[Call]:
    """Every caller for a route, refusals first so they meet the state the allowed caller needs."""
    calls: list[Call] = []
    for role in ROLES:
        if rule.scope != PUBLIC and role not in rule.roles:
            calls.append(Call(role, role, _token(role, authority=world.authority), "forbidden"))
    calls.append(Call("no token", None, None, "allowed" if rule.scope == PUBLIC else "unauthenticated"))
    tenant_roles = [r for r in ROLES if r in rule.roles and r != "system_admin"]
    for role in tenant_roles:
        token = _token(role, authority=world.other)
        if rule.scope in (ITEM, AUTHORITY):
            calls.append(Call(f"{role} of another authority", role, token, "hidden"))
        elif rule.scope == COLLECTION:
            calls.append(Call(f"{role} of another authority", role, token, "unleaked"))
        else:
            calls.append(Call(f"{role} of another authority", role, token, "allowed"))
    for role, sub in OUTSIDERS.items():
        if role in rule.roles and rule.scope in (ITEM, COLLECTION):
            token = _token(role, authority=world.authority, sub=sub)
            calls.append(Call(f"{role} {sub} (not in this meeting)", role, token, _outsider(rule)))
    for role in ROLES:
        if rule.scope == PUBLIC or role in rule.roles:
            calls.append(Call(role, role, _token(role, authority=world.authority), "allowed"))
    return calls


def _outsider(rule: Rule) -> str:
    return "hidden" if rule.scope == ITEM else "unleaked"


def _db_counts(db: sa.Connection) -> dict[str, int]:
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    union = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM \"{t}\"" for t in tables)
    return {name: int(n) for name, n in rows(db, union)}


_COUNT_KEYS = {"count", "total", "met", "missed", "pending", "cancelled"}


def _counts_in(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [
            n
            for k, v in value.items()
            for n in ([v] if k in _COUNT_KEYS and isinstance(v, int) and v else _counts_in(v))
        ]
    if isinstance(value, list):
        return [n for v in value for n in _counts_in(v)]
    return []


def _problem(r: httpx.Response, status: int, code: str) -> str | None:
    if r.status_code != status:
        return f"{r.status_code} instead of {status} {code}: {r.text[:200]}"
    if not r.headers.get("content-type", "").startswith("application/problem+json"):
        return f"not problem+json: {r.headers.get('content-type')}"
    if r.json().get("code") != code:
        return f"code {r.json().get('code')!r} instead of {code!r}"
    return None


def _judge(call: Call, world: World, path: str) -> str | None:
    r = call.response
    assert r is not None
    if r.status_code >= 500:
        return f"{r.status_code}: {r.text[:200]}"
    if call.expect == "forbidden":
        return _problem(r, 403, "forbidden")
    if call.expect == "unauthenticated":
        problem = _problem(r, 401, "unauthorized")
        if problem is None and not r.headers.get("www-authenticate", "").startswith("Bearer"):
            return f"401 without WWW-Authenticate: Bearer ({r.headers.get('www-authenticate')})"
        return problem
    if call.expect == "hidden":
        return _problem(r, 404, "not_found")
    if r.status_code in (401, 403):
        return f"refused with {r.status_code}: {r.text[:200]}"
    if call.expect == "unleaked":
        leaked = sorted(s for s in world.secrets() if s in r.text and s not in call.request_text)
        if leaked:
            return f"shows the other records' ids {leaked}"
        if path.startswith("/v1/reports/") and call.role and "another authority" in call.who:
            if counts := _counts_in(r.json()):
                return f"counts the other authority's records: {counts}"
    return None


def check_route(api: Api, db: sa.Connection, world: World, method: str, path: str) -> list[str]:
    """Call one route as every caller; what disagrees with the table."""
    rule = AUTHZ[(method, path)]
    scenario = SCENARIOS.get((method, path), Scenario())
    url = _fill(path, world, scenario)
    params = scenario.params(world) if scenario.params else None
    calls = _callers(world, rule)
    failures: list[str] = []

    def body_for(role: str | None) -> Any:
        if scenario.body is None:
            return {} if method in ("POST", "PUT", "PATCH") else None
        first_allowed = next((r for r in ROLES if r in rule.roles), ROLES[0])
        return scenario.body(world, role or first_allowed)

    refused = [c for c in calls if c.expect in ("forbidden", "unauthenticated", "hidden")]
    before = _db_counts(db)
    for call in refused:
        _send(api, method, url, call, body_for(call.role), params)
    after = _db_counts(db)
    if after != before:
        changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        failures.append(f"refused calls changed the database: {changed}")

    # Another authority's id answers exactly like an id that does not exist.
    hidden = next((c for c in refused if c.expect == "hidden" and "another authority" in c.who), None)
    if hidden is not None and hidden.response is not None:
        missing_url, missing_params = _missing(url, params, world)
        probe = Call("probe", hidden.role, hidden.token, "hidden")
        _send(api, method, missing_url, probe, body_for(hidden.role), missing_params)
        assert probe.response is not None
        if (hidden.response.status_code, hidden.response.json()) != (
            probe.response.status_code,
            probe.response.json(),
        ):
            failures.append(
                f"another authority's record answers {hidden.response.status_code} "
                f"{hidden.response.text[:150]}, a missing one {probe.response.status_code} "
                f"{probe.response.text[:150]}"
            )

    for call in calls:
        if call.expect not in ("forbidden", "unauthenticated", "hidden"):
            _send(api, method, url, call, body_for(call.role), params)

    for call in calls:
        verdict = _judge(call, world, path)
        if verdict:
            failures.append(f"{call.who} [{call.expect}]: {verdict}")
    allowed = [c for c in calls if c.expect == "allowed"]
    if allowed and not any(c.response is not None and c.response.is_success for c in allowed):
        answers = {c.who: (c.response.status_code, c.response.text[:120]) for c in allowed if c.response}
        failures.append(f"no allowed caller succeeded (fixture not in the right state?): {answers}")
    return [f"{method} {path}: {f}" for f in failures]


def _batches() -> dict[str, list[tuple[str, str]]]:
    """Routes that change state get a fresh world each; reads share one per kind of world
    (building worlds is most of the cost)."""
    batches: dict[str, list[tuple[str, str]]] = {}
    for method, path in sorted(AUTHZ):
        scenario = SCENARIOS.get((method, path), Scenario())
        key = f"GET routes, {scenario.stage} world" if method == "GET" else f"{method} {path}"
        batches.setdefault(key, []).append((method, path))
    return batches


BATCHES = _batches()


@pytest.mark.parametrize("batch", sorted(BATCHES))
def test_route_answers_every_caller_as_the_table_says(api, db, batch):
    routes = BATCHES[batch]
    scenarios = {(s.stage, s.profile) for s in (SCENARIOS.get(r, Scenario()) for r in routes)}
    assert len(scenarios) == 1, f"a batch shares one world: {scenarios}"
    ((stage, profile),) = scenarios
    world = build_world(api, profile, stage)
    failures = [f for method, path in routes for f in check_route(api, db, world, method, path)]
    assert not failures, "\n".join(failures)
