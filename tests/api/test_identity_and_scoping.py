"""Identity and tenant and role scoping (SPEC §4): tokens that are missing, invalid or for
an unregistered authority; another authority's records answer like missing ones; each role
sees only what it may."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.security import mint_token
from tests.conftest import TEST_SECRET
from tests.support import (
    Api,
    Caller,
    Meeting,
    child_body,
    count,
    counts,
    expect,
    make_meeting,
    problem,
    record_system,
    schedule,
)


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
