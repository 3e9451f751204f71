"""Helpers for API tests: callers with real tokens, and builders for common set-ups."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.models.authority import Authority
from app.models.platform import AuditEntry, Event
from app.security import mint_token

PROFILES = ("england-cp-conference", "scotland-cppm-carm", "scotland-cppm-registration")
JURISDICTION = {
    "england-cp-conference": "england",
    "scotland-cppm-carm": "scotland",
    "scotland-cppm-registration": "scotland",
}
CATEGORY = {
    "england-cp-conference": "NEG",
    "scotland-cppm-carm": "neglect",
    "scotland-cppm-registration": "neglect",
}


class Caller:
    def __init__(self, client: TestClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.token is not None:
            out.setdefault("Authorization", f"Bearer {self.token}")
        return out

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return self.client.request(method, path, headers=self._headers(headers), **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, json=json if json is not None else {}, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)


class Api:
    def __init__(self, client: TestClient, secret: str) -> None:
        self.client = client
        self.secret = secret

    def as_(self, sub: str, *roles: str, authority: str | None = None, agency: str | None = None) -> Caller:
        token = mint_token(self.secret, sub=sub, roles=roles, authority=authority, agency=agency, name=sub)
        return Caller(self.client, token)

    def anonymous(self) -> Caller:
        return Caller(self.client, None)

    def system_admin(self) -> Caller:
        return self.as_("sysadmin", "system_admin")

    def set_clock(self, iso: str) -> None:
        r = self.system_admin().put("/v1/test-clock", json={"now": iso})
        assert r.status_code == 200, r.text


PROBLEM = "application/problem+json"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def expect(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    if code is not None:
        assert response.headers["content-type"].startswith("application/problem+json"), response.headers
        assert response.json()["code"] == code, response.text
    return response.json() if response.content else {}


@dataclass
class Meeting:
    """An authority with a scheduled meeting, its children and people."""

    api: Api
    authority: str
    profile: str
    conference_id: str
    child_ids: list[str]
    chair_id: str = "chair-1"
    professional_id: str = "prof-1"
    other_professional_id: str = "prof-2"
    reviewer_id: str = "reviewer-1"
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def record(self) -> Caller:
        return self.api.as_("record-system", "record_system", authority=self.authority)

    @property
    def chair(self) -> Caller:
        return self.api.as_(self.chair_id, "chair", authority=self.authority)

    @property
    def professional(self) -> Caller:
        return self.api.as_(self.professional_id, "professional", authority=self.authority, agency="NHS")

    @property
    def other_professional(self) -> Caller:
        return self.api.as_(self.other_professional_id, "professional", authority=self.authority)

    @property
    def reviewer(self) -> Caller:
        return self.api.as_(self.reviewer_id, "reviewer", authority=self.authority)

    @property
    def admin(self) -> Caller:
        return self.api.as_("admin-1", "admin", authority=self.authority)

    @property
    def url(self) -> str:
        return f"/v1/conferences/{self.conference_id}"

    def start(self) -> dict[str, Any]:
        return expect(self.chair.post(f"{self.url}/start"), 200)

    def decide_all(self, outcome: str = "register") -> None:
        categories = [CATEGORY[self.profile]] if outcome in ("register", "continue") else []
        for child_id in self.child_ids:
            expect(
                self.chair.post(
                    f"{self.url}/decisions",
                    json={"child_id": child_id, "outcome": outcome, "categories": categories},
                ),
                200,
            )

    def confirm_all(self) -> None:
        expect(self.chair.post(f"{self.url}/dissent-invitation"), 200)
        if self.profile == "scotland-cppm-registration":
            expect(self.chair.post(f"{self.url}/appeal-rights-explained"), 200)
            # needed to end the meeting with a dissent left unresolved
            expect(self.chair.post(f"{self.url}/participants-advised"), 200)

    def end(self) -> dict[str, Any]:
        return expect(self.chair.post(f"{self.url}/end"), 200)

    def raise_dissent(
        self, subject: str = "registration", reasons: str = "The risk is not shown"
    ) -> dict[str, Any]:
        return expect(
            self.professional.post(f"{self.url}/dissents", json={"subject": subject, "reasons": reasons}), 201
        )


def create_authority(api: Api, profile: str, code: str | None = None, **extra: Any) -> str:
    code = code or f"la-{uuid.uuid4().hex[:8]}"
    body = {
        "code": code,
        "name": f"Authority {code}",
        "profile": profile,
        "jurisdiction": JURISDICTION[profile],
        **extra,
    }
    expect(api.system_admin().post("/v1/authorities", json=body), 201)
    return code


def create_child(api: Api, authority: str, **fields: Any) -> str:
    body = {
        "external_ref": f"REF-{uuid.uuid4().hex[:8]}",
        "given_name": "Riley",
        "family_name": "Example",
        "date_of_birth": "2019-05-14",
        **fields,
    }
    return str(
        expect(
            api.as_("record-system", "record_system", authority=authority).post("/v1/children", json=body),
            201,
        )["id"]
    )


def make_meeting(
    api: Api,
    profile: str = "england-cp-conference",
    *,
    children: int = 1,
    scheduled_start: str = "2025-12-18T10:00:00Z",
    authority: str | None = None,
    attendees: bool = True,
) -> Meeting:
    authority = authority or create_authority(api, profile)
    record = api.as_("record-system", "record_system", authority=authority)
    child_ids = [create_child(api, authority) for _ in range(children)]
    meeting_type = {
        "england-cp-conference": "initial_conference",
        "scotland-cppm-carm": "initial_cppm",
        "scotland-cppm-registration": "initial_cppm",
    }[profile]
    conference = expect(
        record.post(
            "/v1/conferences",
            json={
                "meeting_type": meeting_type,
                "scheduled_start": scheduled_start,
                "chair_id": "chair-1",
                "chair_name": "Sam Chair",
                "child_ids": child_ids,
            },
        ),
        201,
    )
    meeting = Meeting(api, authority, profile, str(conference["id"]), child_ids)
    if attendees:
        for person_id, kind, attended in (
            ("prof-1", "professional", True),
            ("prof-2", "professional", True),
            ("prof-absent", "professional", False),
            ("parent-1", "family", True),
        ):
            expect(
                record.post(
                    f"{meeting.url}/attendees",
                    json={
                        "person_id": person_id,
                        "name": person_id.title(),
                        "role_title": "Worker",
                        "agency": "Agency",
                        "kind": kind,
                        "attended": attended,
                    },
                ),
                201,
            )
    return meeting


def begin(api: Api, profile: str, *, day: str = "2025-12-18", children: int = 1) -> Meeting:
    """A meeting started at 10:00Z on `day` (the test clock pins the meeting date)."""
    api.set_clock(f"{day}T10:00:00Z")
    m = make_meeting(api, profile, children=children, scheduled_start=f"{day}T10:00:00Z")
    m.extras["day"] = day
    m.start()
    return m


# ---- the database, read back -------------------------------------------------------------------


def rows(db: sa.Connection, sql: str, **params: Any) -> list[Any]:
    db.rollback()  # see the latest committed state
    return list(db.execute(sa.text(sql), params).all())


def fetch(db: sa.Connection, stmt: Any) -> list[Any]:
    db.rollback()  # see the latest committed state
    return list(db.execute(stmt).all())


def events(db: sa.Connection, authority: str, type_: str | None = None) -> list[Any]:
    """The authority's outbox events (seq, type, subject and data), oldest first."""
    e, a = Event.__table__, Authority.__table__
    stmt = (
        sa.select(e.c.seq, e.c.type, e.c.subject_kind, e.c.subject_id, e.c.data)
        .join(a, a.c.id == e.c.authority_id)
        .where(a.c.code == authority)
        .order_by(e.c.seq)
    )
    if type_ is not None:
        stmt = stmt.where(e.c.type == type_)
    return fetch(db, stmt)


def audits(db: sa.Connection, authority: str, action: str) -> list[Any]:
    """The authority's audit entries for `action`, in the order they were written."""
    t = AuditEntry.__table__
    return fetch(
        db, sa.select(t).where(t.c.authority_code == authority, t.c.action == action).order_by(t.c.id)
    )


def as_utc(value: datetime | str) -> datetime:
    """A stored datetime or an API timestamp, as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ---- cross-cutting platform checks (SPEC §4 to §7, §11) ----------------------------------------


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


# ---- request bodies ----------------------------------------------------------------------------


def dissent_letter(day: str, **changes: Any) -> dict[str, Any]:
    """A CARM dissenter's letter to the reviewer, signed on `day`."""
    body: dict[str, Any] = {
        "form": "dissent_letter",
        "from": {"name": "Pat Prof", "role": "Health visitor", "agency": "NHS", "contact": "pat@example.org"},
        "to": "Head of Children's Health, Care and Justice Services",
        "reasons": "The evidence does not show the threshold is met.",
        "signed_name": "Pat Prof",
        "signed_on": day,
    }
    body.update(changes)
    return body


# The professional's details on England's Dissent Form.
FORM_PROFESSIONAL: dict[str, Any] = {
    "name": "Pat Prof",
    "role": "Health visitor",
    "agency": "NHS",
    "agency_address": "1 High Street, Townsville",
    "phone": "01234 567890",
    "email": "pat.prof@example.org",
}


def dissent_form(day: str, **changes: Any) -> dict[str, Any]:
    """England's Dissent Form about the meeting on `day`, signed that day. `changes` replace
    whole top-level fields (for other professional details: `professional=FORM_PROFESSIONAL | {...}`)."""
    body: dict[str, Any] = {
        "professional": dict(FORM_PROFESSIONAL),
        "manager": {"name": "Morgan Manager", "contact": "morgan@example.org"},
        "children": [{"name": "Riley Example", "date_of_birth": "2019-05-14"}],
        "conference_date": day,
        "child_subject_to_plan": True,
        "discussed_with_line_manager_and_safeguarding_lead": True,
        "rationale": "The evidence does not show the threshold is met.",
        "signed_name": "Pat Prof",
        "signed_on": day,
    }
    body.update(changes)
    return body


LETTER_FIELDS = {"signed_on", "signed_name", "reasons"}


def submission(profile: str, day: str, **changes: Any) -> dict[str, Any]:
    """The written step's body for `profile` about the meeting on `day`: CARM's letter to the
    reviewer (only the changes a letter has: signed_on, signed_name, reasons), else the form."""
    if profile == "scotland-cppm-carm":
        return dissent_letter(day, **{k: v for k, v in changes.items() if k in LETTER_FIELDS})
    return dissent_form(day, **changes)


def review_decision_body(
    m: Meeting, outcome: str = "uphold", *, informant: str = "Lee Social Worker", **changes: Any
) -> dict[str, Any]:
    """A reviewer's decision on a dissent (CARM names who tells the family); a change of None
    drops the field."""
    body: dict[str, Any] = {"outcome": outcome, "written_note": "The reviewer looked at the dissent."}
    if m.profile == "scotland-cppm-carm":
        body["family_informant"] = {"name": informant, "role": "Lead social worker"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def decide(m: Meeting, dissent_id: str, outcome: str = "uphold", **changes: Any) -> dict[str, Any]:
    """The reviewer decides the dissent (see `review_decision_body`); it must succeed."""
    return expect(
        m.reviewer.post(
            f"/v1/dissents/{dissent_id}/review-decision", json=review_decision_body(m, outcome, **changes)
        ),
        200,
    )
