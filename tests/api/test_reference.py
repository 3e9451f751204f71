"""API tests for reference resources: authorities, procedure profiles, children and the
deadline calculator (SPEC §2, §3, §4, §5)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import (
    CATEGORY,
    JURISDICTION,
    PROFILES,
    create_authority,
    create_child,
    expect,
    make_meeting,
    rows,
)

# ---- helpers ------------------------------------------------------------------------------------


def one(db: sa.Connection, sql: str, id_: str | uuid.UUID) -> Any:
    """The single row of `sql` whose `:id` (a UUID column) equals id_."""
    db.rollback()
    stmt = sa.text(sql).bindparams(sa.bindparam("id", type_=sa.Uuid()))
    found = db.execute(stmt, {"id": uuid.UUID(str(id_))}).all()
    assert len(found) == 1, found
    return found[0]


def audit_actions(db: sa.Connection, entity_id: str) -> list[tuple[str, str]]:
    return [
        (r.action, r.actor_sub)
        for r in rows(
            db, "SELECT action, actor_sub FROM audit_entry WHERE entity_id = :e ORDER BY id", e=entity_id
        )
    ]


def event_types(db: sa.Connection, subject_id: str) -> list[str]:
    return [
        r.type for r in rows(db, "SELECT type FROM event WHERE subject_id = :s ORDER BY seq", s=subject_id)
    ]


def authority_body(code: str, profile: str = "england-cp-conference", **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Authority {code}",
        "profile": profile,
        "jurisdiction": JURISDICTION[profile],
        **extra,
    }


def record(api, authority: str):  # type: ignore[no-untyped-def]
    return api.as_("record-system", "record_system", authority=authority)


def admin(api, authority: str):  # type: ignore[no-untyped-def]
    return api.as_("admin-1", "admin", authority=authority)


def deadline(caller, authority: str, **params: Any):  # type: ignore[no-untyped-def]
    return caller.get("/v1/calendar/deadline", params={"authority": authority, **params})


# ---- authorities --------------------------------------------------------------------------------


def test_system_admin_creates_an_authority(api, db) -> None:
    body = authority_body("la-north", closure_dates=["2026-01-05", "2025-12-31", "2026-01-05"])
    r = api.system_admin().post("/v1/authorities", json=body)
    data = expect(r, 201)
    assert r.headers["Location"] == "/v1/authorities/la-north"
    assert r.headers["ETag"] == f'"{data["version"]}"'
    assert data["code"] == "la-north"
    assert data["profile"] == "england-cp-conference"
    assert data["jurisdiction"] == "england"
    assert data["timezone"] == "Europe/London"
    assert data["closure_dates"] == ["2025-12-31", "2026-01-05"]
    uuid.UUID(data["id"])
    stored = rows(db, "SELECT profile, jurisdiction, timezone FROM authority WHERE code = 'la-north'")
    assert [tuple(r) for r in stored] == [("england-cp-conference", "england", "Europe/London")]
    assert event_types(db, data["id"]) == ["authority.created"]
    assert audit_actions(db, data["id"]) == [("authority.created", "sysadmin")]


def test_authority_with_explicit_timezone(api) -> None:
    data = expect(
        api.system_admin().post(
            "/v1/authorities", json=authority_body("la-tz", "scotland-cppm-carm", timezone="Europe/Dublin")
        ),
        201,
    )
    assert data["timezone"] == "Europe/Dublin"
    assert data["jurisdiction"] == "scotland"


def test_duplicate_authority_code_is_refused(api, db) -> None:
    expect(api.system_admin().post("/v1/authorities", json=authority_body("la-dup")), 201)
    expect(
        api.system_admin().post("/v1/authorities", json=authority_body("la-dup", "scotland-cppm-carm")),
        409,
        "authority_exists",
    )
    assert len(rows(db, "SELECT id FROM authority WHERE code = 'la-dup'")) == 1


def test_unknown_profile_is_refused(api, db) -> None:
    body = authority_body("la-unknown") | {"profile": "wales-cp-conference"}
    expect(api.system_admin().post("/v1/authorities", json=body), 422, "unknown_profile")
    assert rows(db, "SELECT id FROM authority WHERE code = 'la-unknown'") == []


@pytest.mark.parametrize(
    "change",
    [{"jurisdiction": "france"}, {"jurisdiction": ""}, {"timezone": "Mars/Olympus_Mons"}, {"timezone": ""}],
)
def test_bad_jurisdiction_or_timezone_is_refused(api, db, change: dict[str, str]) -> None:
    expect(api.system_admin().post("/v1/authorities", json=authority_body("la-bad") | change), 422)
    assert rows(db, "SELECT id FROM authority WHERE code = 'la-bad'") == []


@pytest.mark.parametrize("role", ["admin", "record_system", "chair", "reviewer", "professional", "reporting"])
def test_only_system_admin_creates_authorities(api, db, role: str) -> None:
    home = create_authority(api, "england-cp-conference")
    caller = api.as_("someone", role, authority=home)
    expect(caller.post("/v1/authorities", json=authority_body("la-new")), 403, "forbidden")
    assert rows(db, "SELECT id FROM authority WHERE code = 'la-new'") == []


def test_anonymous_cannot_create_authorities(api) -> None:
    r = api.anonymous().post("/v1/authorities", json=authority_body("la-anon"))
    expect(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_get_own_authority_but_not_another(api) -> None:
    mine = create_authority(api, "england-cp-conference")
    theirs = create_authority(api, "scotland-cppm-carm")
    for role in ("admin", "professional", "chair", "record_system"):
        caller = api.as_("x", role, authority=mine)
        r = caller.get(f"/v1/authorities/{mine}")
        assert expect(r, 200)["code"] == mine
        assert r.headers["ETag"] == '"1"'
        expect(caller.get(f"/v1/authorities/{theirs}"), 404, "not_found")
        expect(caller.get("/v1/authorities/la-missing"), 404, "not_found")
    assert expect(api.system_admin().get(f"/v1/authorities/{theirs}"), 200)["profile"] == "scotland-cppm-carm"


def test_admin_patches_closure_dates_and_the_calendar_skips_them(api, db) -> None:
    code = create_authority(api, "england-cp-conference")
    caller = admin(api, code)
    before = expect(deadline(caller, code, **{"from": "2025-12-18", "working_days": 5}), 200)
    assert before["due_date"] == "2025-12-29"

    r = caller.patch(f"/v1/authorities/{code}", json={"closure_dates": ["2025-12-22"]})
    data = expect(r, 200)
    assert data["closure_dates"] == ["2025-12-22"]
    assert data["version"] == 2 and r.headers["ETag"] == '"2"'
    stored = rows(db, "SELECT closure_dates FROM authority WHERE code = :c", c=code)[0][0]
    assert "2025-12-22" in str(stored)
    assert event_types(db, data["id"]) == ["authority.created", "authority.updated"]
    assert ("authority.updated", "admin-1") in audit_actions(db, data["id"])

    after = expect(deadline(caller, code, **{"from": "2025-12-18", "working_days": 5}), 200)
    assert after["due_date"] == "2025-12-30"
    assert {"date": "2025-12-22", "reason": "local closure"} in after["skipped"]
    assert "2025-12-22 local closure" in after["explanation"]


def test_patch_with_stale_if_match_is_refused(api) -> None:
    code = create_authority(api, "england-cp-conference")
    caller = admin(api, code)
    r = caller.patch(
        f"/v1/authorities/{code}", json={"closure_dates": ["2026-02-02"]}, headers={"If-Match": '"7"'}
    )
    expect(r, 412, "precondition_failed")
    assert expect(caller.get(f"/v1/authorities/{code}"), 200)["closure_dates"] == []


@pytest.mark.parametrize("role", ["record_system", "chair", "reviewer", "professional", "reporting"])
def test_patch_by_non_admin_is_refused(api, role: str) -> None:
    code = create_authority(api, "england-cp-conference")
    caller = api.as_("x", role, authority=code)
    expect(caller.patch(f"/v1/authorities/{code}", json={"closure_dates": ["2025-12-22"]}), 403, "forbidden")
    assert expect(admin(api, code).get(f"/v1/authorities/{code}"), 200)["closure_dates"] == []


def test_admin_cannot_patch_another_authority(api) -> None:
    mine = create_authority(api, "england-cp-conference")
    theirs = create_authority(api, "england-cp-conference")
    expect(admin(api, mine).patch(f"/v1/authorities/{theirs}", json={"closure_dates": ["2025-12-22"]}), 404)
    assert expect(admin(api, theirs).get(f"/v1/authorities/{theirs}"), 200)["closure_dates"] == []


def test_extra_categories_extend_the_profile_for_decisions(api, db) -> None:
    code = create_authority(
        api, "england-cp-conference", extra_categories=[{"code": "FGM", "label": "Female genital mutilation"}]
    )
    got = expect(api.system_admin().get(f"/v1/authorities/{code}"), 200)
    assert got["extra_categories"] == [{"code": "FGM", "label": "Female genital mutilation"}]
    m = make_meeting(api, "england-cp-conference", authority=code)
    m.start()
    body = {"child_id": m.child_ids[0], "outcome": "register", "categories": ["FGM"]}
    data = expect(m.chair.post(f"{m.url}/decisions", json=body), 200)
    assert data["decisions"][0]["categories"] == ["FGM"]
    stored = rows(
        db,
        "SELECT d.categories FROM decision d JOIN authority a ON a.id = d.authority_id WHERE a.code = :c",
        c=code,
    )
    assert len(stored) == 1 and "FGM" in str(stored[0][0])


def test_without_the_extra_category_a_decision_cannot_use_it(api) -> None:
    m = make_meeting(api, "england-cp-conference")
    m.start()
    body = {"child_id": m.child_ids[0], "outcome": "register", "categories": ["FGM"]}
    expect(m.chair.post(f"{m.url}/decisions", json=body), 422, "unknown_category")


def test_extra_categories_added_by_patch_are_usable(api) -> None:
    m = make_meeting(api, "scotland-cppm-carm")
    expect(
        m.admin.patch(
            f"/v1/authorities/{m.authority}",
            json={"extra_categories": [{"code": "online_harm", "label": "Online harm"}]},
        ),
        200,
    )
    m.start()
    body = {"child_id": m.child_ids[0], "outcome": "register", "categories": ["neglect", "online_harm"]}
    assert expect(m.chair.post(f"{m.url}/decisions", json=body), 200)["decisions"][0]["categories"] == [
        "neglect",
        "online_harm",
    ]


@pytest.mark.parametrize(
    "extra",
    [
        [{"code": "NEG", "label": "Neglect (local)"}],
        [{"code": "FGM", "label": "One"}, {"code": "FGM", "label": "Two"}],
    ],
)
def test_clashing_extra_category_codes_are_refused(api, db, extra: list[dict[str, str]]) -> None:
    body = authority_body("la-clash", extra_categories=extra)
    expect(api.system_admin().post("/v1/authorities", json=body), 422, "validation_error")
    assert rows(db, "SELECT id FROM authority WHERE code = 'la-clash'") == []
    code = create_authority(api, "england-cp-conference")
    expect(
        admin(api, code).patch(f"/v1/authorities/{code}", json={"extra_categories": extra}),
        422,
        "validation_error",
    )
    assert expect(admin(api, code).get(f"/v1/authorities/{code}"), 200)["extra_categories"] == []


# ---- profiles -----------------------------------------------------------------------------------


def profiles_by_code(api) -> dict[str, dict[str, Any]]:
    items = expect(api.system_admin().get("/v1/profiles"), 200)
    assert isinstance(items, list)
    return {p["code"]: p for p in items}


def test_profiles_list_the_three_procedures_with_their_rules(api) -> None:
    profiles = profiles_by_code(api)
    assert set(profiles) == set(PROFILES)
    for p in profiles.values():
        for key in (
            "code",
            "title",
            "meeting_types",
            "dissent_subjects",
            "review_outcomes",
            "categories",
            "appeals_enabled",
            "chair_title",
            "dissent",
            "appeals",
        ):
            assert key in p, key
        assert p["title"]
        for item in p["categories"] + p["review_outcomes"]:
            assert set(item) == {"code", "label"} and item["label"]
        for item in p["meeting_types"]:  # a meeting type also says whether it is pre-birth
            assert set(item) == {"code", "label", "pre_birth"} and item["label"]


def test_england_profile_values(api) -> None:
    p = profiles_by_code(api)["england-cp-conference"]
    assert [m["code"] for m in p["meeting_types"]] == [
        "initial_conference",
        "review_conference",
        "pre_birth_conference",
    ]
    assert p["chair_title"] == "Reviewing Officer"
    assert sorted(p["dissent_subjects"]) == ["category", "plan", "registration"]
    assert {o["code"] for o in p["review_outcomes"]} == {"uphold", "reconvene"}
    assert [c["code"] for c in p["categories"]] == ["PHY", "EMO", "SAB", "NEG", "MUL"]
    assert p["appeals_enabled"] is False
    review = p["dissent"]["review"]
    assert review["reconvene_requires_different_chair"] is True
    assert "IRO Service Manager" in review["reviewer_title"]
    assert review["meeting_deadline"]["working_days"] == 5
    assert review["meeting_deadline"]["counted_from"] == "received"
    step = p["dissent"]["written_step"]
    assert step["actor"] == "dissenter" and step["status"] == "awaiting_submission"
    assert step["deadline"]["kind"] == "written_submission" and step["deadline"]["working_days"] == 5


def test_scotland_carm_profile_values(api) -> None:
    p = profiles_by_code(api)["scotland-cppm-carm"]
    assert {m["code"] for m in p["meeting_types"]} == {
        "pre_birth_cppm",
        "initial_cppm",
        "review_cppm",
        "carm",
    }
    assert p["chair_title"] == "Chair"
    assert sorted(p["dissent_subjects"]) == ["category", "plan", "registration"]
    assert {o["code"] for o in p["review_outcomes"]} == {"uphold", "change_category", "reconvene"}
    assert p["appeals_enabled"] is False
    review = p["dissent"]["review"]
    assert review["reconvene_requires_different_chair"] is False
    assert review["family_informant_required"] is True
    assert review["practice_improvements"] is True
    assert review["reviewer_title"] == "Head of Children's Health, Care and Justice Services"
    assert p["dissent"]["written_step"]["deadline"]["working_days"] == 5
    codes = {c["code"] for c in p["categories"]}
    assert {
        "domestic_abuse",
        "neglect",
        "parental_mental_health",
        "parental_substance_use",
        "emotional_abuse",
        "physical_abuse",
        "sexual_abuse",
        "child_sexual_exploitation",
        "services_hard_to_engage",
    } <= codes


def test_scotland_registration_profile_values(api) -> None:
    p = profiles_by_code(api)["scotland-cppm-registration"]
    assert {m["code"] for m in p["meeting_types"]} == {"pre_birth_cppm", "initial_cppm", "review_cppm"}
    assert p["chair_title"] == "Education and Families Manager"
    assert p["dissent_subjects"] == ["registration"]
    assert {o["code"] for o in p["review_outcomes"]} == {"uphold", "reconvene"}
    assert p["appeals_enabled"] is True
    step = p["dissent"]["written_step"]
    assert (step["actor"], step["status"], step["deadline"]["kind"]) == (
        "chair",
        "awaiting_referral",
        "referral",
    )
    assert step["deadline"]["working_days"] == 1
    review = p["dissent"]["review"]
    assert review["reviewer_title"] == "Senior Education and Families Manager"
    assert review["reconvene_requires_different_chair"] is False
    assert review["response_deadline"]["calendar_days"] == 28
    appeals = p["appeals"]
    assert appeals["lodge_deadline"]["working_days"] == 5
    assert appeals["response_deadline"]["calendar_days"] == 28
    assert appeals["lead_social_worker_may_lodge"] is True
    assert "appeal_rights_explained" in p["end_confirmations"]


def test_appeals_only_in_the_registration_profile(api) -> None:
    profiles = profiles_by_code(api)
    assert {code for code, p in profiles.items() if p["appeals_enabled"]} == {"scotland-cppm-registration"}
    assert {
        code for code, p in profiles.items() if p["dissent"]["review"]["reconvene_requires_different_chair"]
    } == {"england-cp-conference"}


@pytest.mark.parametrize("code", PROFILES)
def test_get_one_profile(api, code: str) -> None:
    assert expect(api.system_admin().get(f"/v1/profiles/{code}"), 200) == profiles_by_code(api)[code]


def test_unknown_profile_is_404(api) -> None:
    expect(api.system_admin().get("/v1/profiles/wales-cp-conference"), 404, "not_found")


def test_profiles_need_a_token(api) -> None:
    expect(api.anonymous().get("/v1/profiles"), 401, "unauthorized")


# ---- children -----------------------------------------------------------------------------------


def child_body(**fields: Any) -> dict[str, Any]:
    return {
        "external_ref": f"REF-{uuid.uuid4().hex[:8]}",
        "given_name": "Riley",
        "family_name": "Example",
        "date_of_birth": "2019-05-14",
    } | fields


def test_record_system_creates_a_child(api, db) -> None:
    code = create_authority(api, "england-cp-conference")
    r = record(api, code).post("/v1/children", json=child_body(external_ref="MOS-1"))
    data = expect(r, 201)
    assert r.headers["Location"] == f"/v1/children/{data['id']}"
    assert r.headers["ETag"] == f'"{data["version"]}"'
    assert data["external_ref"] == "MOS-1"
    assert data["date_of_birth"] == "2019-05-14"
    assert data["expected_date_of_birth"] is None
    assert data["unborn"] is False
    stored = one(
        db, "SELECT external_ref, date_of_birth, expected_date_of_birth FROM child WHERE id = :id", data["id"]
    )
    assert stored.external_ref == "MOS-1" and stored.expected_date_of_birth is None
    assert event_types(db, data["id"]) == ["child.created"]
    assert audit_actions(db, data["id"]) == [("child.created", "record-system")]


def test_unborn_child_has_only_an_expected_date(api, db) -> None:
    code = create_authority(api, "scotland-cppm-carm")
    body = child_body(expected_date_of_birth="2026-03-01")
    del body["date_of_birth"]
    data = expect(record(api, code).post("/v1/children", json=body), 201)
    assert data["unborn"] is True
    assert data["date_of_birth"] is None
    assert data["expected_date_of_birth"] == "2026-03-01"
    stored = one(db, "SELECT date_of_birth, expected_date_of_birth FROM child WHERE id = :id", data["id"])
    assert stored.date_of_birth is None and str(stored.expected_date_of_birth) == "2026-03-01"


def test_both_or_neither_birth_date_is_refused(api, db) -> None:
    code = create_authority(api, "england-cp-conference")
    both = child_body(external_ref="BOTH", expected_date_of_birth="2026-03-01")
    expect(record(api, code).post("/v1/children", json=both), 422, "validation_error")
    neither = child_body(external_ref="NEITHER")
    del neither["date_of_birth"]
    expect(record(api, code).post("/v1/children", json=neither), 422, "validation_error")
    assert rows(db, "SELECT id FROM child WHERE external_ref IN ('BOTH', 'NEITHER')") == []


def test_duplicate_external_ref_is_refused_within_an_authority(api, db) -> None:
    code = create_authority(api, "england-cp-conference")
    other = create_authority(api, "england-cp-conference")
    expect(record(api, code).post("/v1/children", json=child_body(external_ref="DUP-1")), 201)
    expect(record(api, code).post("/v1/children", json=child_body(external_ref="DUP-1")), 409, "child_exists")
    # another authority's record system may use the same reference
    expect(record(api, other).post("/v1/children", json=child_body(external_ref="DUP-1")), 201)
    assert len(rows(db, "SELECT id FROM child WHERE external_ref = 'DUP-1'")) == 2


@pytest.mark.parametrize("role", ["admin", "chair", "professional", "reviewer", "reporting"])
def test_only_the_record_system_creates_children(api, db, role: str) -> None:
    code = create_authority(api, "england-cp-conference")
    caller = api.as_("x", role, authority=code)
    expect(caller.post("/v1/children", json=child_body(external_ref="NOPE")), 403, "forbidden")
    assert rows(db, "SELECT id FROM child WHERE external_ref = 'NOPE'") == []


def test_system_admin_cannot_create_children(api) -> None:
    expect(api.system_admin().post("/v1/children", json=child_body()), 403, "forbidden")


def test_child_visibility(api) -> None:
    m = make_meeting(api, "england-cp-conference")
    url = f"/v1/children/{m.child_ids[0]}"
    for caller in (m.record, m.admin, m.reviewer, m.chair, m.professional, m.other_professional):
        assert expect(caller.get(url), 200)["id"] == m.child_ids[0]
    stranger = api.as_("prof-stranger", "professional", authority=m.authority)
    expect(stranger.get(url), 404, "not_found")
    other_chair = api.as_("chair-2", "chair", authority=m.authority)
    expect(other_chair.get(url), 404, "not_found")
    expect(api.as_("rep", "reporting", authority=m.authority).get(url), 403, "forbidden")
    elsewhere = create_authority(api, "england-cp-conference")
    expect(record(api, elsewhere).get(url), 404, "not_found")
    expect(m.record.get(f"/v1/children/{uuid.uuid4()}"), 404, "not_found")


def test_professional_sees_the_child_only_once_attending(api) -> None:
    m = make_meeting(api, "scotland-cppm-carm", attendees=False)
    url = f"/v1/children/{m.child_ids[0]}"
    expect(m.professional.get(url), 404, "not_found")
    assert expect(m.professional.get("/v1/children"), 200)["items"] == []
    expect(
        m.record.post(
            f"{m.url}/attendees",
            json={
                "person_id": m.professional_id,
                "name": "Prof One",
                "role_title": "Health visitor",
                "agency": "NHS",
                "kind": "professional",
                "attended": True,
            },
        ),
        201,
    )
    expect(m.professional.get(url), 200)
    assert [c["id"] for c in expect(m.professional.get("/v1/children"), 200)["items"]] == [m.child_ids[0]]


def test_list_children_filters_by_external_ref(api) -> None:
    code = create_authority(api, "england-cp-conference")
    wanted = create_child(api, code, external_ref="FIND-ME")
    create_child(api, code, external_ref="NOT-ME")
    other = create_authority(api, "england-cp-conference")
    create_child(api, other, external_ref="FIND-ME")
    page = expect(record(api, code).get("/v1/children", params={"external_ref": "FIND-ME"}), 200)
    assert [c["id"] for c in page["items"]] == [wanted]
    assert page["next_cursor"] is None
    everything = expect(record(api, code).get("/v1/children"), 200)
    assert len(everything["items"]) == 2
    assert (
        expect(record(api, code).get("/v1/children", params={"external_ref": "NOBODY"}), 200)["items"] == []
    )


def test_reading_a_child_is_audited(api, db) -> None:
    m = make_meeting(api, "england-cp-conference")
    child_id = m.child_ids[0]
    expect(m.professional.get(f"/v1/children/{child_id}"), 200)
    reads = rows(
        db,
        "SELECT actor_sub, authority_code, request_id FROM audit_entry"
        " WHERE action = 'child.read' AND entity_id = :e",
        e=child_id,
    )
    assert len(reads) == 1
    assert reads[0].actor_sub == m.professional_id
    assert reads[0].authority_code == m.authority
    assert reads[0].request_id
    # a refused read does not claim to have read the child
    expect(
        api.as_("prof-stranger", "professional", authority=m.authority).get(f"/v1/children/{child_id}"), 404
    )
    assert (
        len(rows(db, "SELECT id FROM audit_entry WHERE action = 'child.read' AND entity_id = :e", e=child_id))
        == 1
    )


# ---- the deadline calculator --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "start", "due"),
    [
        ("england-cp-conference", "2025-12-18", "2025-12-29"),
        ("england-cp-conference", "2025-12-29", "2026-01-06"),
        ("scotland-cppm-carm", "2025-12-29", "2026-01-07"),
        ("scotland-cppm-registration", "2025-11-27", "2025-12-05"),
        ("england-cp-conference", "2025-11-27", "2025-12-04"),
    ],
)
def test_spec_examples_through_the_api(api, profile: str, start: str, due: str) -> None:
    code = create_authority(api, profile)
    data = expect(deadline(admin(api, code), code, **{"from": start, "working_days": 5}), 200)
    assert data["due_date"] == due
    assert data["due_at"] == f"{due}T23:59:59.999999Z"
    assert data["unit"] == "working_days" and data["amount"] == 5
    assert data["authority"] == code and data["jurisdiction"] == JURISDICTION[profile]
    assert data["from_date"] == start


def test_explanation_names_the_skipped_days(api) -> None:
    code = create_authority(api, "england-cp-conference")
    data = expect(deadline(record(api, code), code, **{"from": "2025-12-18", "working_days": 5}), 200)
    assert "skipped 2025-12-25 Christmas Day, 2025-12-26 Boxing Day" in data["explanation"]
    assert data["skipped"] == [
        {"date": "2025-12-25", "reason": "Christmas Day"},
        {"date": "2025-12-26", "reason": "Boxing Day"},
    ]


def test_scotland_skips_2_january_and_st_andrews_day(api) -> None:
    code = create_authority(api, "scotland-cppm-carm")
    data = expect(deadline(admin(api, code), code, **{"from": "2025-12-29", "working_days": 5}), 200)
    assert "2026-01-02" in [s["date"] for s in data["skipped"]]
    data = expect(deadline(admin(api, code), code, **{"from": "2025-11-27", "working_days": 5}), 200)
    assert [s["date"] for s in data["skipped"]] == ["2025-12-01"]


def test_calendar_days(api) -> None:
    code = create_authority(api, "scotland-cppm-registration")
    data = expect(deadline(admin(api, code), code, **{"from": "2025-12-18", "calendar_days": 28}), 200)
    assert data["due_date"] == "2026-01-15"
    assert data["due_at"] == "2026-01-15T23:59:59.999999Z"
    assert data["unit"] == "calendar_days" and data["amount"] == 28
    assert data["skipped"] == []


def test_deadline_in_summer_time_ends_at_local_midnight(api) -> None:
    code = create_authority(api, "england-cp-conference")
    data = expect(deadline(admin(api, code), code, **{"from": "2025-06-02", "working_days": 1}), 200)
    assert data["due_date"] == "2025-06-03"
    assert data["due_at"] == "2025-06-03T22:59:59.999999Z"


@pytest.mark.parametrize("params", [{}, {"working_days": 5, "calendar_days": 28}], ids=["neither", "both"])
def test_exactly_one_unit_is_required(api, params: dict[str, int]) -> None:
    code = create_authority(api, "england-cp-conference")
    expect(deadline(admin(api, code), code, **{"from": "2025-12-18", **params}), 422, "validation_error")


@pytest.mark.parametrize(
    "params", [{"from": "18/12/2025", "working_days": 5}, {"from": "2025-12-18", "working_days": -1}]
)
def test_bad_calendar_parameters_are_refused(api, params: dict[str, Any]) -> None:
    code = create_authority(api, "england-cp-conference")
    expect(deadline(admin(api, code), code, **params), 422, "validation_error")


def test_deadline_for_another_authority_is_404(api) -> None:
    mine = create_authority(api, "england-cp-conference")
    theirs = create_authority(api, "scotland-cppm-carm")
    expect(deadline(admin(api, mine), theirs, **{"from": "2025-12-18", "working_days": 5}), 404, "not_found")
    expect(
        deadline(api.system_admin(), "la-missing", **{"from": "2025-12-18", "working_days": 5}),
        404,
        "not_found",
    )
    data = expect(deadline(api.system_admin(), theirs, **{"from": "2025-12-29", "working_days": 5}), 200)
    assert data["due_date"] == "2026-01-07"


def test_deadline_needs_a_token(api) -> None:
    code = create_authority(api, "england-cp-conference")
    expect(deadline(api.anonymous(), code, **{"from": "2025-12-18", "working_days": 5}), 401)


def test_categories_fixture_matches_profiles(api) -> None:
    """The shared CATEGORY helper values are real categories of each profile."""
    profiles = profiles_by_code(api)
    for code, category in CATEGORY.items():
        assert category in {c["code"] for c in profiles[code]["categories"]}


@pytest.mark.parametrize(
    "params",
    [{"from": "9999-12-30", "working_days": 5}, {"from": "9999-12-30", "calendar_days": 5}],
    ids=["working_days", "calendar_days"],
)
def test_deadline_past_the_end_of_the_calendar_is_refused_not_a_500(api, params: dict[str, Any]) -> None:
    """SPEC §6: never a 500 for bad input."""
    code = create_authority(api, "england-cp-conference")
    expect(deadline(admin(api, code), code, **params), 422, "validation_error")


def test_authority_code_must_fit_the_pattern(api) -> None:
    for bad in ("LA North", "-la", "x", "la_north"):
        expect(api.system_admin().post("/v1/authorities", json=authority_body(bad)), 422, "validation_error")
