"""Procedure fidelity (issue 13): what each procedure says, read from its profile.

Each test names the item it holds; the items are the ones an integrator or a safeguarding
unit meets on the first day of walking a procedure end to end.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from app.profiles import get_profile
from tests.support import (
    PROFILES,
    begin,
    create_authority,
    create_child,
    dissent_form,
    dissent_letter,
    expect,
    make_meeting,
    rows,
)

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
    assert problem["errors"][0]["type"] == "value_error"  # a rule the schema cannot state
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


# ---- the dissent flow ------------------------------------------------------------------------


def unresolved(api: Any, profile: str, **kw: Any) -> tuple[Any, str]:
    m = begin(api, profile, **kw)
    dissent_id = str(m.raise_dissent("registration")["id"])
    m.decide_all()
    m.confirm_all()
    m.end()
    return m, dissent_id


def submit(m: Any, dissent_id: str, body: dict[str, Any]) -> Any:
    return m.professional.post(f"/v1/dissents/{dissent_id}/written-submission", json=body)


def show(m: Any, dissent_id: str) -> dict[str, Any]:
    return expect(m.reviewer.get(f"/v1/dissents/{dissent_id}"), 200)


# 2. an invited professional who did not attend is told why, not "no such conference"


def test_an_invited_professional_who_did_not_attend_gets_not_attendee(api, db) -> None:
    m = begin(api, ENGLAND)
    absent = api.as_("prof-absent", "professional", authority=m.authority)
    r = absent.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"})
    expect(r, 403, "not_attendee")
    assert rows(db, "SELECT id FROM dissent WHERE dissenter_id = 'prof-absent'") == []


def test_someone_not_on_the_list_still_gets_not_found(api) -> None:
    m = begin(api, ENGLAND)
    stranger = api.as_("prof-stranger", "professional", authority=m.authority)
    expect(stranger.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "x"}), 404, "not_found")
    # and the invited professional still cannot read the meeting
    absent = api.as_("prof-absent", "professional", authority=m.authority)
    expect(absent.get(m.url), 404, "not_found")


# 3. the written step takes the document the procedure names


def test_carm_takes_a_letter_not_the_english_form(api, db) -> None:
    m, d = unresolved(api, CARM)
    expect(submit(m, d, dissent_form(m.extras["day"], form="dissent_form")), 422, "form_not_for_procedure")
    out = expect(submit(m, d, dissent_letter(m.extras["day"])), 200)
    assert out["status"] == "submitted"
    assert out["submission"]["form"] == "dissent_letter"
    assert out["submission"]["from"]["name"] == "Pat Prof"
    assert out["submission"]["reasons"]


def test_england_takes_the_form_not_a_letter(api) -> None:
    m, d = unresolved(api, ENGLAND)
    expect(submit(m, d, dissent_letter(m.extras["day"])), 422, "form_not_for_procedure")
    out = expect(submit(m, d, dissent_form(m.extras["day"], form="dissent_form")), 200)
    assert out["submission"]["form"] == "dissent_form"


def test_the_form_without_a_form_field_is_still_the_dissent_form(api) -> None:
    m, d = unresolved(api, ENGLAND)
    body = dissent_form(m.extras["day"], form="dissent_form")
    del body["form"]
    assert expect(submit(m, d, body), 200)["submission"]["form"] == "dissent_form"


def test_an_unknown_form_is_a_validation_error(api) -> None:
    m, d = unresolved(api, ENGLAND)
    expect(submit(m, d, dissent_form(m.extras["day"], form="memo")), 422, "validation_error")


def test_the_letter_needs_its_own_fields(api) -> None:
    m, d = unresolved(api, CARM)
    body = dissent_letter(m.extras["day"])
    del body["from"]
    expect(submit(m, d, body), 422, "validation_error")


def test_registration_referral_records_nature_and_course_of_action(api) -> None:
    m, d = unresolved(api, REGISTRATION)
    body = {
        "note": "Referred in writing",
        "nature_of_dissent": "Health disagrees that the threshold for registration is met.",
        "course_of_action": "Senior manager to review the minutes and speak to both agencies.",
        "senior_manager": "Senior Education and Families Manager",
    }
    out = expect(m.chair.post(f"/v1/dissents/{d}/referral", json=body), 200)
    assert out["referral"] == {
        k: body[k] for k in ("nature_of_dissent", "course_of_action", "senior_manager")
    }
    assert out["referral_note"] == "Referred in writing"


# 4. the form is checked against the meeting; a draft is offered


def test_a_form_naming_a_child_not_at_the_meeting_is_refused(api, db) -> None:
    m, d = unresolved(api, ENGLAND)
    body = dissent_form(
        m.extras["day"],
        form="dissent_form",
        children=[{"name": "Someone Else", "date_of_birth": "2019-05-14"}],
    )
    problem = expect(submit(m, d, body), 422, "children_mismatch")
    assert problem["errors"][0]["loc"] == ["body", "children", 0]
    assert show(m, d)["status"] == "awaiting_submission"
    wrong_dob = dissent_form(
        m.extras["day"],
        form="dissent_form",
        children=[{"name": "Riley Example", "date_of_birth": "2019-05-15"}],
    )
    expect(submit(m, d, wrong_dob), 422, "children_mismatch")
    other_id = create_child(api, m.authority)
    by_id = dissent_form(
        m.extras["day"], form="dissent_form", children=[{"child_id": other_id, "name": "Riley Example"}]
    )
    expect(submit(m, d, by_id), 422, "children_mismatch")


def test_a_form_naming_the_child_by_id_or_by_name_is_accepted(api) -> None:
    m, d = unresolved(api, ENGLAND)
    body = dissent_form(
        m.extras["day"], form="dissent_form", children=[{"child_id": m.child_ids[0], "name": "Riley"}]
    )
    expect(submit(m, d, body), 200)


def test_child_subject_to_plan_must_agree_with_the_decision(api) -> None:
    m, d = unresolved(api, ENGLAND)  # decided: register
    problem = expect(
        submit(m, d, dissent_form(m.extras["day"], form="dissent_form", child_subject_to_plan=False)),
        422,
        "child_subject_to_plan_mismatch",
    )
    assert problem["errors"][0]["loc"] == ["body", "child_subject_to_plan"]


@pytest.mark.parametrize("signed_on", ["2025-12-17", "2030-01-01", "2025-12-20"])
def test_signed_on_must_be_between_the_meeting_and_today(api, signed_on: str) -> None:
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-19T09:00:00Z")
    expect(
        submit(m, d, dissent_form(m.extras["day"], form="dissent_form", signed_on=signed_on)),
        422,
        "signed_on_out_of_range",
    )
    expect(submit(m, d, dissent_form(m.extras["day"], form="dissent_form", signed_on="2025-12-19")), 200)


def test_the_letter_date_is_checked_too(api) -> None:
    m, d = unresolved(api, CARM)
    expect(submit(m, d, dissent_letter("2030-01-01")), 422, "signed_on_out_of_range")


def test_the_draft_form_is_filled_with_what_the_service_knows(api) -> None:
    m, d = unresolved(api, ENGLAND)
    draft = expect(m.professional.get(f"/v1/dissents/{d}/written-submission/draft"), 200)
    assert draft["form"] == "dissent_form"
    assert draft["professional"]["name"] == "Prof-1" and draft["professional"]["agency"] == "Agency"
    assert draft["professional"]["email"] is None
    assert draft["children"] == [
        {"child_id": m.child_ids[0], "name": "Riley Example", "date_of_birth": "2019-05-14"}
    ]
    assert draft["conference_date"] == m.extras["day"]
    assert draft["child_subject_to_plan"] is True
    assert draft["signed_on"] is None
    # completed by the dissenter, it is accepted as it stands
    draft.update(
        professional=draft["professional"]
        | {"agency_address": "1 High Street", "phone": "01234 567890", "email": "p@example.org"},
        manager={"name": "Morgan Manager", "contact": "m@example.org"},
        discussed_with_line_manager_and_safeguarding_lead=True,
        signed_on=m.extras["day"],
    )
    expect(submit(m, d, draft), 200)


def test_the_carm_draft_is_a_letter_to_the_reviewer(api) -> None:
    m, d = unresolved(api, CARM)
    draft = expect(m.professional.get(f"/v1/dissents/{d}/written-submission/draft"), 200)
    assert draft["form"] == "dissent_letter"
    assert draft["to"] == "Head of Children's Health, Care and Justice Services"
    assert draft["from"]["name"] == "Prof-1"


def test_there_is_no_draft_where_the_chair_refers(api) -> None:
    m, d = unresolved(api, REGISTRATION)
    expect(m.chair.get(f"/v1/dissents/{d}/written-submission/draft"), 422, "form_not_for_procedure")


# 7. the 28-day response runs from the end of the meeting in the registration procedure


def test_registration_review_response_deadline_shows_from_the_end_of_the_meeting(api) -> None:
    m, d = unresolved(api, REGISTRATION)
    kinds = {x["kind"]: x for x in show(m, d)["deadlines"]}
    assert set(kinds) == {"referral", "review_response"}
    assert kinds["review_response"]["due_date"] == "2026-01-15"  # 28 calendar days after 18 Dec
    assert kinds["review_response"]["status"] == "pending"
    expect(m.chair.post(f"/v1/dissents/{d}/referral", json={"note": "Referred"}), 200)
    after = [x for x in show(m, d)["deadlines"] if x["kind"] == "review_response"]
    assert len(after) == 1 and after[0]["due_date"] == "2026-01-15"


def test_england_review_meeting_still_runs_from_receipt(api) -> None:
    m, d = unresolved(api, ENGLAND)
    assert {x["kind"] for x in show(m, d)["deadlines"]} == {"written_submission"}


# 8. participants advised


def test_registration_needs_participants_advised_to_end_with_an_unresolved_dissent(api) -> None:
    m = begin(api, REGISTRATION)
    m.raise_dissent("registration")
    m.decide_all()
    expect(m.chair.post(f"{m.url}/dissent-invitation"), 200)
    expect(m.chair.post(f"{m.url}/appeal-rights-explained"), 200)
    expect(m.chair.post(f"{m.url}/end"), 409, "participants_advised_required")
    out = expect(m.chair.post(f"{m.url}/participants-advised"), 200)
    assert out["participants_advised_at"] is not None
    assert expect(m.chair.post(f"{m.url}/end"), 200)["status"] == "ended"


def test_registration_without_an_unresolved_dissent_ends_without_it(api) -> None:
    m = begin(api, REGISTRATION)
    m.decide_all()
    expect(m.chair.post(f"{m.url}/dissent-invitation"), 200)
    expect(m.chair.post(f"{m.url}/appeal-rights-explained"), 200)
    assert expect(m.chair.post(f"{m.url}/end"), 200)["status"] == "ended"


def test_other_procedures_do_not_record_participants_advised(api) -> None:
    m = begin(api, ENGLAND)
    expect(m.chair.post(f"{m.url}/participants-advised"), 422, "not_in_procedure")


# 9. the review meeting's date


def test_a_review_meeting_before_the_written_dissent_arrived_is_refused(api) -> None:
    m, d = unresolved(api, ENGLAND)
    api.set_clock("2025-12-22T09:00:00Z")
    expect(submit(m, d, dissent_form(m.extras["day"], form="dissent_form")), 200)
    body = {"held_on": "2025-12-19", "members": ["IRO Service Manager"]}
    expect(m.reviewer.post(f"/v1/dissents/{d}/review-meeting", json=body), 422, "held_on_before_receipt")
    review = [x for x in show(m, d)["deadlines"] if x["kind"] == "review_meeting"]
    assert review[0]["status"] == "pending"
    body["held_on"] = "2025-12-23"
    expect(m.reviewer.post(f"/v1/dissents/{d}/review-meeting", json=body), 422, "validation_error")
    body["held_on"] = "2025-12-22"
    expect(m.reviewer.post(f"/v1/dissents/{d}/review-meeting", json=body), 200)


# 10. the person the reviewer named tells the family


def decided_carm(api: Any) -> tuple[Any, str]:
    m, d = unresolved(api, CARM)
    expect(submit(m, d, dissent_letter(m.extras["day"])), 200)
    body = {
        "outcome": "uphold",
        "written_note": "The decision stands.",
        "family_informant": {"name": "Lee Social Worker", "role": "Lead social worker"},
    }
    expect(m.reviewer.post(f"/v1/dissents/{d}/review-decision", json=body), 200)
    return m, d


def test_family_informed_by_someone_else_needs_a_reason(api) -> None:
    m, d = decided_carm(api)
    url = f"/v1/dissents/{d}/family-informed"
    body = {"informed_by": "Sam Other", "informed_on": "2025-12-18"}
    expect(m.reviewer.post(url, json=body), 422, "informant_mismatch")
    assert show(m, d)["family_informed_on"] is None
    body["other_informant_reason"] = "Lee was on leave; the team manager visited instead."
    out = expect(m.reviewer.post(url, json=body), 200)
    assert out["family_informed_by"] == "Sam Other"
    assert out["family_informed_other_reason"] == body["other_informant_reason"]


def test_family_informed_by_the_named_person_is_accepted(api) -> None:
    m, d = decided_carm(api)
    body = {"informed_by": "lee social worker", "informed_on": "2025-12-18"}
    expect(m.reviewer.post(f"/v1/dissents/{d}/family-informed", json=body), 200)


# 11. decisions move the conference version; a dissent keeps the decision it was raised against


def record(m: Any, outcome: str, categories: list[str], **headers: str) -> Any:
    return m.chair.post(
        f"{m.url}/decisions",
        json={"child_id": m.child_ids[0], "outcome": outcome, "categories": categories},
        headers=headers,
    )


def test_recording_and_replacing_a_decision_moves_the_etag_and_honours_if_match(api) -> None:
    m = begin(api, ENGLAND)  # the test clock is frozen: every change happens in one instant
    before = m.chair.get(m.url).headers["ETag"]
    first = record(m, "register", ["NEG"], **{"If-Match": before})
    assert first.status_code == 200
    assert first.headers["ETag"] != before
    second = record(m, "register", ["EMO"], **{"If-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    expect(record(m, "register", ["PHY"], **{"If-Match": first.headers["ETag"]}), 412, "precondition_failed")
    [decision] = expect(m.chair.get(m.url), 200)["decisions"]
    assert decision["categories"] == ["EMO"]


def test_a_dissent_keeps_the_decision_it_was_raised_against(api, db) -> None:
    m = begin(api, ENGLAND)
    expect(record(m, "register", ["NEG"]), 200)
    d = str(m.raise_dissent("category")["id"])
    expect(record(m, "register", ["EMO"]), 200)
    [row] = show(m, d)["decisions"]
    assert row["raised_against"]["categories"] == ["NEG"]
    assert row["current"]["categories"] == ["EMO"]
    assert row["changed"] is True
    changed = rows(db, "SELECT type, data FROM event WHERE type = 'dissent.decision_changed'")
    assert len(changed) == 1


def test_no_event_when_the_decision_is_recorded_again_unchanged(api, db) -> None:
    m = begin(api, ENGLAND)
    expect(record(m, "register", ["NEG"]), 200)
    d = str(m.raise_dissent("category")["id"])
    expect(record(m, "register", ["NEG"]), 200)
    assert show(m, d)["decisions"][0]["changed"] is False
    assert rows(db, "SELECT type FROM event WHERE type = 'dissent.decision_changed'") == []


# 13. a reconvened meeting starts with the original's attendees invited


def test_a_reconvened_meeting_invites_the_original_attendees(api) -> None:
    m, d = unresolved(api, ENGLAND)
    expect(submit(m, d, dissent_form(m.extras["day"], form="dissent_form")), 200)
    expect(
        m.reviewer.post(f"/v1/dissents/{d}/review-meeting", json={"held_on": "2025-12-18", "members": ["x"]}),
        200,
    )
    body = {
        "outcome": "reconvene",
        "written_note": "The meeting will be reconvened.",
        "reconvene": {"scheduled_start": "2026-01-08T10:00:00Z", "chair_id": "chair-2", "chair_name": "Alex"},
    }
    decided = expect(m.reviewer.post(f"/v1/dissents/{d}/review-decision", json=body), 200)
    new = expect(m.record.get(f"/v1/conferences/{decided['reconvened_conference_id']}"), 200)
    original = expect(m.record.get(m.url), 200)
    assert {(a["person_id"], a["kind"]) for a in new["attendees"]} == {
        (a["person_id"], a["kind"]) for a in original["attendees"]
    }
    assert all(a["attended"] is None for a in new["attendees"])
    # attendance is then recorded as usual
    person = next(a for a in new["attendees"] if a["person_id"] == "prof-1")
    recorded = expect(
        m.record.post(
            f"/v1/conferences/{new['id']}/attendees",
            json={k: person[k] for k in ("person_id", "name", "role_title", "agency", "kind")}
            | {"attended": True},
        ),
        200,
    )
    assert recorded["attended"] is True
