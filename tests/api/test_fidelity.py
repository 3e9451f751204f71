"""Procedure fidelity (issue 13): what each procedure says, read from its profile.

Each test names the item it holds; the items are the ones an integrator or a safeguarding
unit meets on the first day of walking a procedure end to end.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from app.profiles import get_profile
from tests.support import PROFILES, create_authority, create_child, expect, make_meeting, rows

ENGLAND = "england-cp-conference"
CARM = "scotland-cppm-carm"
REGISTRATION = "scotland-cppm-registration"


def attendee(person_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "name": "Jo Parent",
        "role_title": "Mother",
        "kind": kind,
        "attended": True,
    } | fields


# ---- 1. family members, children and others attend with no agency ------------------------------


@pytest.mark.parametrize("kind", ["family", "child", "other"])
@pytest.mark.parametrize("agency", ["null", "absent"])
def test_non_professionals_are_recorded_without_an_agency(api, kind: str, agency: str) -> None:
    m = make_meeting(api, attendees=False)
    body = attendee("person-x", kind)
    if agency == "null":
        body["agency"] = None
    out = expect(m.record.post(f"{m.url}/attendees", json=body), 201)
    assert out["agency"] is None and out["kind"] == kind
    [listed] = expect(m.record.get(m.url), 200)["attendees"]
    assert listed["agency"] is None


def test_a_family_member_may_still_name_an_agency(api) -> None:
    m = make_meeting(api, attendees=False)
    body = attendee("carer-1", "other", agency="Fostering")
    out = expect(m.record.post(f"{m.url}/attendees", json=body), 201)
    assert out["agency"] == "Fostering"


@pytest.mark.parametrize("agency", ["null", "absent"])
def test_a_professional_needs_an_agency(api, db, agency: str) -> None:
    m = make_meeting(api, attendees=False)
    body = attendee("prof-9", "professional")
    if agency == "null":
        body["agency"] = None
    problem = expect(m.record.post(f"{m.url}/attendees", json=body), 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "agency"]
    assert rows(db, "SELECT id FROM attendee WHERE person_id = 'prof-9'") == []


def test_the_database_holds_a_professional_to_an_agency(api, db) -> None:
    m = make_meeting(api, attendees=False)
    expect(m.record.post(f"{m.url}/attendees", json=attendee("parent-1", "family")), 201)
    db.rollback()
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        db.exec_driver_sql("UPDATE attendee SET kind = 'professional' WHERE person_id = 'parent-1'")
    db.rollback()


# ---- 6. every registration decision can be appealed, and the guidance says so -----------------


def test_parent_guidance_lists_every_appealable_decision(api) -> None:
    profile = get_profile(REGISTRATION)
    assert profile is not None
    assert profile.appeals.appealable_outcomes == ["register", "continue", "deregister", "not_register"]
    params = {"audience": "parent"}
    guidance = expect(api.anonymous().get(f"/v1/guidance/{REGISTRATION}", params=params), 200)
    heading = "If you disagree with the decision"
    [disagree] = [s["body"] for s in guidance["sections"] if s["heading"] == heading]
    for outcome in profile.appeals.appealable_outcomes:
        assert profile.decision_outcome_labels[outcome] in disagree


# ---- 12. a pre-birth meeting needs an unborn child ---------------------------------------------


PRE_BIRTH = {ENGLAND: "pre_birth_conference", CARM: "pre_birth_cppm", REGISTRATION: "pre_birth_cppm"}


def conference(child_ids: list[str], meeting_type: str) -> dict[str, Any]:
    return {
        "meeting_type": meeting_type,
        "scheduled_start": "2025-12-18T10:00:00Z",
        "chair_id": "chair-1",
        "chair_name": "Sam Chair",
        "child_ids": child_ids,
    }


@pytest.mark.parametrize("profile", PROFILES)
def test_a_pre_birth_meeting_without_an_unborn_child_is_refused(api, db, profile: str) -> None:
    code = create_authority(api, profile)
    born = create_child(api, code)
    record = api.as_("record-system", "record_system", authority=code)
    r = record.post("/v1/conferences", json=conference([born], PRE_BIRTH[profile]))
    expect(r, 422, "unborn_child_required")
    sql = "SELECT c.id FROM conference c JOIN authority a ON a.id = c.authority_id WHERE a.code = :code"
    assert rows(db, sql, code=code) == []


@pytest.mark.parametrize("profile", PROFILES)
def test_a_pre_birth_meeting_with_an_unborn_child_is_scheduled(api, profile: str) -> None:
    code = create_authority(api, profile)
    born = create_child(api, code)
    unborn = create_child(api, code, date_of_birth=None, expected_date_of_birth="2026-02-20")
    record = api.as_("record-system", "record_system", authority=code)
    # A sibling may be discussed at the same pre-birth meeting.
    out = expect(record.post("/v1/conferences", json=conference([unborn, born], PRE_BIRTH[profile])), 201)
    assert out["meeting_type"] == PRE_BIRTH[profile]


def test_profiles_mark_their_pre_birth_meeting_types(api) -> None:
    for profile in PROFILES:
        types = expect(api.system_admin().get(f"/v1/profiles/{profile}"), 200)["meeting_types"]
        assert {t["code"] for t in types if t["pre_birth"]} == {PRE_BIRTH[profile]}


# ---- 15. guidance: complaints and whom to write to, as an accessible page -----------------------


def child_text(api: Any, profile: str) -> str:
    guidance = expect(api.anonymous().get(f"/v1/guidance/{profile}", params={"audience": "child"}), 200)
    return " ".join(f"{s['heading']}. {s['body']}" for s in guidance["sections"])


@pytest.mark.parametrize("profile", PROFILES)
def test_child_guidance_says_how_to_complain_and_whom_to_write_to(api, profile: str) -> None:
    p = get_profile(profile)
    assert p is not None
    text = child_text(api, profile)
    assert "complain" in text
    assert f"write to {p.guidance.complaints_contact}" in text


def test_child_guidance_names_whom_to_write_to_for_an_appeal(api) -> None:
    p = get_profile(REGISTRATION)
    assert p is not None and p.appeals.responder_title
    assert f"write to the {p.appeals.responder_title}" in child_text(api, REGISTRATION)


def test_carm_child_guidance_follows_that_procedure(api) -> None:
    text = child_text(api, CARM)
    assert "people around you" in text  # CARM meetings are also about other people's safety
    assert "picked to tell your family" in text  # the reviewer names who tells the family
    assert "picked to tell your family" not in child_text(api, ENGLAND)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "html":
            self.lang = dict(attrs).get("lang")


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("audience", ["professional", "parent", "child"])
def test_guidance_is_served_as_an_accessible_page(api, profile: str, audience: str) -> None:
    r = api.anonymous().get(
        f"/v1/guidance/{profile}",
        params={"audience": audience},
        headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(r.text)
    assert page.lang == "en-GB"
    headings = [t for t in page.tags if t in {"h1", "h2", "h3"}]
    assert headings[0] == "h1" and headings.count("h1") == 1 and "h3" not in headings
    assert "script" not in page.tags
    guidance = expect(api.anonymous().get(f"/v1/guidance/{profile}", params={"audience": audience}), 200)
    assert headings.count("h2") == len(guidance["sections"])


def test_guidance_page_escapes_its_text(api) -> None:
    r = api.anonymous().get(f"/v1/guidance/{CARM}", headers={"Accept": "text/html"})
    assert "Children&#x27;s Health" in r.text or "Children&#39;s Health" in r.text


def test_json_stays_the_default(api) -> None:
    for accept in (None, "*/*", "application/json", "image/png"):
        headers = {"Accept": accept} if accept else {}
        r = api.anonymous().get(f"/v1/guidance/{ENGLAND}", headers=headers)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), accept


# ---- 16. small things seen on the way ----------------------------------------------------------


def test_unknown_area_of_concern_reads_plainly(api) -> None:
    m = make_meeting(api, CARM)
    m.start()
    problem = expect(
        m.chair.post(
            f"{m.url}/decisions",
            json={"child_id": m.child_ids[0], "outcome": "register", "categories": ["nonsense"]},
        ),
        422,
        "unknown_category",
    )
    assert problem["detail"] == "unknown areas of concern in this procedure: nonsense"


def test_the_child_record_decision_entry_carries_the_plan_summary(api) -> None:
    m = make_meeting(api, ENGLAND)
    m.start()
    expect(
        m.chair.post(
            f"{m.url}/decisions",
            json={
                "child_id": m.child_ids[0],
                "outcome": "register",
                "categories": ["NEG"],
                "plan_summary": "Weekly visits; school attendance plan.",
            },
        ),
        200,
    )
    m.confirm_all()
    m.end()
    [entry] = expect(m.record.get(f"/v1/children/{m.child_ids[0]}/record"), 200)["items"]
    assert entry["data"]["plan_summary"] == "Weekly visits; school attendance plan."
