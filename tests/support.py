"""Helpers for API tests: callers with real tokens, and builders for common set-ups."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi.testclient import TestClient

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


def rows(db: sa.Connection, sql: str, **params: Any) -> list[Any]:
    db.rollback()  # see the latest committed state
    return list(db.execute(sa.text(sql), params).all())


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
