"""Local procedures (issue 17): adopt, validate, read and version an authority's own
procedure; every refusal with its problem code and nothing saved; audit and event on
adoption; If-Match; conferences keep the version they started under; the shipped examples
run end to end."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_appeals import lodge
from tests.support import Api, create_authority, expect, make_meeting, rows

ENGLAND = "england-cp-conference"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "procedures"
DAY = "2025-12-18"  # a Thursday; England: 5 working days -> Mon 29 Dec (Christmas skipped)


def example(name: str, **changes: Any) -> dict[str, Any]:
    definition = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    definition.update(changes)
    return definition


def admin(api: Api, authority: str) -> Any:
    return api.as_("admin-1", "admin", authority=authority)


def url(authority: str, tail: str = "") -> str:
    return f"/v1/authorities/{authority}/procedure{tail}"


def adopt(api: Api, authority: str, definition: dict[str, Any], **headers: str) -> dict[str, Any]:
    return expect(admin(api, authority).put(url(authority), json=definition, headers=headers), 201)


def saved_versions(db: Any, authority: str) -> list[Any]:
    return rows(
        db,
        "SELECT v.version, v.code FROM procedure_version v JOIN authority a ON a.id = v.authority_id "
        "WHERE a.code = :a ORDER BY v.version",
        a=authority,
    )


@pytest.fixture
def england(api: Api) -> str:
    api.set_clock(f"{DAY}T10:00:00Z")
    return create_authority(api, ENGLAND)


# ---- reading ----------------------------------------------------------------------------


def test_an_authority_that_adopts_nothing_runs_its_builtin_profile_as_version_1(api, england):
    r = admin(api, england).get(url(england))
    current = expect(r, 200)
    assert r.headers["ETag"] == '"1"'
    assert (current["code"], current["version"], current["in_force"]) == (ENGLAND, 1, True)
    assert current["extends"] is None and current["definition"] is None
    assert current["changes_from_base"] == [] and current["changes_from_previous"] == []
    versions = expect(api.as_("p", "professional", authority=england).get(url(england, "/versions")), 200)
    assert [v["version"] for v in versions] == [1]


def test_other_authorities_and_anonymous_callers_cannot_read_it(api, england):
    other = create_authority(api, ENGLAND)
    expect(admin(api, other).get(url(england)), 404, "not_found")
    expect(api.anonymous().get(url(england)), 401)
    expect(api.system_admin().get(url(england)), 200)


# ---- adopting ---------------------------------------------------------------------------


def test_adopting_makes_version_2_with_audit_and_event(api, db, england):
    r = admin(api, england).put(url(england), json=example("pan-sussex"))
    adopted = expect(r, 201)
    assert r.headers["ETag"] == '"2"'
    assert (adopted["code"], adopted["version"], adopted["extends"]) == ("pan-sussex", 2, ENGLAND)
    assert adopted["effective_from"] == DAY and adopted["in_force"] is True
    deadline = adopted["resolved"]["dissent"]["written_step"]["deadline"]
    assert (deadline["calendar_days"], deadline["working_days"]) == (3, None)
    pointers = {c["pointer"] for c in adopted["changes_from_previous"]}
    assert "/dissent/written_step/deadline/calendar_days" in pointers
    assert "/guidance/complaints_contact" in pointers
    assert all(c["summary"] for c in adopted["changes_from_base"])
    assert [tuple(v) for v in saved_versions(db, england)] == [(2, "pan-sussex")]
    [event] = rows(db, "SELECT data FROM event WHERE type = 'procedure.adopted'")
    data = event.data if isinstance(event.data, dict) else json.loads(event.data)
    assert data == {"code": "pan-sussex", "version": 2, "extends": ENGLAND, "effective_from": DAY}
    [entry] = rows(db, "SELECT actor_sub, authority_code FROM audit_entry WHERE action = 'procedure.adopted'")
    assert tuple(entry) == ("admin-1", england)
    current = admin(api, england).get(url(england))
    assert expect(current, 200)["version"] == 2 and current.headers["ETag"] == '"2"'
    versions = expect(admin(api, england).get(url(england, "/versions")), 200)
    assert [(v["version"], v["code"], v["in_force"]) for v in versions] == [
        (1, ENGLAND, False),
        (2, "pan-sussex", True),
    ]


def test_default_code_and_a_later_start_date(api, england):
    definition = {"extends": ENGLAND, "effective_from": "2026-01-05", "chair_title": "Conference Chair"}
    adopted = adopt(api, england, definition)
    assert adopted["code"] == f"{england}-local"
    assert adopted["in_force"] is False
    assert expect(admin(api, england).get(url(england)), 200)["version"] == 1  # not yet
    api.set_clock("2026-01-05T09:00:00Z")
    assert expect(admin(api, england).get(url(england)), 200)["version"] == 2


def test_only_the_authority_admin_adopts(api, england):
    reviewer = api.as_("r", "reviewer", authority=england)
    expect(reviewer.put(url(england), json=example("pan-sussex")), 403, "forbidden")
    other = create_authority(api, ENGLAND)
    expect(admin(api, other).put(url(england), json=example("pan-sussex")), 404, "not_found")


def test_validate_shows_the_result_and_saves_nothing(api, db, england):
    checked = expect(admin(api, england).post(url(england, "/validate"), json=example("pan-sussex")), 200)
    assert checked["code"] == "pan-sussex"
    assert checked["resolved"]["guidance"]["complaints_contact"] == "the council's customer feedback team"
    assert {c["pointer"] for c in checked["changes_from_current"]} >= {
        "/dissent/written_step/deadline/working_days",
        "/dissent/written_step/deadline/calendar_days",
    }
    assert saved_versions(db, england) == []
    assert rows(db, "SELECT id FROM event WHERE type = 'procedure.adopted'") == []


# ---- refusals: each with its code, nothing saved -------------------------------------------


def _england_with(**overrides: Any) -> dict[str, Any]:
    return {"extends": ENGLAND, **overrides}


REFUSALS = [
    ("unknown field", _england_with(colour="blue"), "unknown_field", "/colour"),
    ("unknown nested field", _england_with(dissent={"review": {"ghost": 1}}), "unknown_field", None),
    ("unknown extends", {"extends": "nowhere-procedure"}, "unknown_extends", "/extends"),
    ("no extends", {"title": "x"}, "extends_required", "/extends"),
    (
        "deadline 0",
        _england_with(dissent={"written_step": {"deadline": {"working_days": 0}}}),
        "deadline_out_of_range",
        "/dissent/written_step/deadline/working_days",
    ),
    (
        "deadline 10000",
        _england_with(dissent={"written_step": {"deadline": {"working_days": 10000}}}),
        "deadline_out_of_range",
        "/dissent/written_step/deadline/working_days",
    ),
    (
        "outcome without label",
        _england_with(dissent={"review": {"outcomes": [{"code": "uphold"}]}}),
        "label_missing",
        "/dissent/review/outcomes/0/label",
    ),
    ("effective_from in the past", _england_with(effective_from="2025-12-17"), "effective_from_past", None),
    ("a built-in code", _england_with(code="scotland-cppm-carm"), "procedure_code_taken", "/code"),
]


@pytest.mark.parametrize(
    ("definition", "code", "pointer"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusals(api, db, england, definition, code, pointer):
    for path, method in ((url(england, "/validate"), "POST"), (url(england), "PUT")):
        problem = expect(admin(api, england).request(method, path, json=definition), 422, code)
        assert problem["errors"] and all(e["pointer"] for e in problem["errors"])
        if pointer:
            assert pointer in {e["pointer"] for e in problem["errors"]}
    assert saved_versions(db, england) == []
    assert rows(db, "SELECT id FROM event WHERE type = 'procedure.adopted'") == []


def test_a_procedure_cannot_extend_the_authoritys_own_procedure(api, db, england):
    adopt(api, england, example("pan-sussex"))
    for base in ("pan-sussex", f"{england}-local"):
        expect(admin(api, england).put(url(england), json={"extends": base}), 422, "extends_local_procedure")
    assert len(saved_versions(db, england)) == 1


def test_removing_a_category_open_cases_use_is_refused(api, db, england):
    m = make_meeting(api, ENGLAND, scheduled_start=f"{DAY}T10:00:00Z", authority=england)
    m.start()
    m.decide_all("register")  # NEG, a plan in force
    categories = [c for c in ENGLAND_CATEGORIES if c["code"] != "NEG"]
    problem = expect(
        admin(api, england).put(url(england), json=_england_with(categories=categories)),
        422,
        "category_in_use",
    )
    assert problem["errors"][0]["pointer"] == "/categories"
    assert saved_versions(db, england) == []
    kept = [c for c in ENGLAND_CATEGORIES if c["code"] != "PHY"]  # nobody uses PHY
    adopt(api, england, _england_with(categories=kept))


ENGLAND_CATEGORIES = [
    {"code": "PHY", "label": "Physical abuse"},
    {"code": "EMO", "label": "Emotional abuse"},
    {"code": "SAB", "label": "Sexual abuse"},
    {"code": "NEG", "label": "Neglect"},
    {"code": "MUL", "label": "Multiple categories"},
]


def test_if_match_on_the_procedure(api, db, england):
    stale = admin(api, england).get(url(england)).headers["ETag"]
    adopt(api, england, example("pan-sussex"), **{"If-Match": stale})
    second = copy.deepcopy(example("pan-sussex"))
    r = admin(api, england).put(url(england), json=second, headers={"If-Match": stale})
    expect(r, 412, "precondition_failed")
    assert [v.version for v in saved_versions(db, england)] == [2]
    adopt(api, england, second, **{"If-Match": '"2"'})
    assert [v.version for v in saved_versions(db, england)] == [2, 3]


# ---- conferences keep their version -------------------------------------------------------


def _written_due(m: Any, dissent_id: str) -> str:
    d = expect(m.reviewer.get(f"/v1/dissents/{dissent_id}"), 200)
    [dl] = [x for x in d["deadlines"] if x["kind"] == "written_submission"]
    return str(dl["due_date"])


def test_a_dissent_raised_under_version_1_keeps_its_deadlines_after_version_2(api, db, england):
    old = make_meeting(api, ENGLAND, scheduled_start=f"{DAY}T10:00:00Z", authority=england)
    old.start()
    raised = old.raise_dissent()
    adopt(api, england, example("pan-sussex"))  # 72 hours, from today
    old.decide_all()
    old.confirm_all()
    ended = old.end()
    assert ended["procedure"] == {"code": ENGLAND, "version": 1}
    assert _written_due(old, raised["id"]) == "2025-12-29"  # version 1: 5 working days
    d = expect(old.reviewer.get(f"/v1/dissents/{raised['id']}"), 200)
    assert d["procedure"] == {"code": ENGLAND, "version": 1}

    new = make_meeting(api, ENGLAND, scheduled_start=f"{DAY}T14:00:00Z", authority=england)
    conference = expect(new.record.get(new.url), 200)
    assert conference["procedure"] == {"code": "pan-sussex", "version": 2}
    new.start()
    second = new.raise_dissent()
    new.decide_all()
    new.confirm_all()
    new.end()
    assert _written_due(new, second["id"]) == "2025-12-21"  # version 2: 72 hours
    [row] = rows(
        db, "SELECT data FROM event WHERE type = 'dissent.raised' AND subject_id = :s", s=second["id"]
    )
    data = row.data if isinstance(row.data, dict) else json.loads(row.data)
    assert data["procedure"] == {"code": "pan-sussex", "version": 2}

    # The old conference's dissent lapses on its own version's day, not the new one's.
    api.set_clock("2025-12-23T10:00:00Z")
    assert expect(old.reviewer.get(f"/v1/dissents/{raised['id']}"), 200)["status"] == "awaiting_submission"
    assert expect(new.reviewer.get(f"/v1/dissents/{second['id']}"), 200)["status"] == "lapsed"


def test_pan_sussex_guidance_and_documents_follow_the_variant(api, england):
    adopt(api, england, example("pan-sussex"))
    guidance = expect(api.anonymous().get(url(england, "/guidance"), params={"audience": "child"}), 200)
    assert guidance["profile"] == "pan-sussex"
    assert "Sussex" in json.dumps(guidance)
    page = api.anonymous().get(url(england, "/guidance"), headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    expect(api.anonymous().get(url("no-such-authority", "/guidance")), 404)
    m = make_meeting(api, ENGLAND, scheduled_start=f"{DAY}T10:00:00Z", authority=england)
    m.start()
    m.raise_dissent()
    m.decide_all()
    m.confirm_all()
    m.end()
    docs = expect(m.chair.get(f"{m.url}/documents"), 200)["items"]
    [minutes] = [d for d in docs if d["kind"] == "minutes_extract"]
    content = expect(m.chair.get(f"/v1/documents/{minutes['id']}"), 200)["content"]
    assert content["procedure"]["code"] == "pan-sussex" and content["procedure"]["version"] == 2
    assert "72 hours" in json.dumps(content)


def test_england_with_family_appeals_end_to_end(api, db, england):
    adopt(api, england, example("england-with-appeals"))
    m = make_meeting(api, ENGLAND, scheduled_start=f"{DAY}T10:00:00Z", authority=england)
    m.start()
    m.decide_all("register")
    expect(m.chair.post(f"{m.url}/dissent-invitation"), 200)
    expect(m.chair.post(f"{m.url}/appeal-rights-explained"), 200)
    ended = m.end()
    assert ended["procedure"] == {"code": "england-family-appeals", "version": 2}
    assert ended["appeal_deadline"]["due_date"] == "2025-12-29"  # 5 working days
    api.set_clock("2025-12-19T09:00:00Z")
    appeal = lodge(m)
    assert appeal["procedure"] == {"code": "england-family-appeals", "version": 2}
    [due] = [d for d in appeal["deadlines"] if d["kind"] == "appeal_response"]
    assert due["due_date"] == "2025-12-30"  # the chair's meeting: 5 working days from receipt
    answered = expect(
        m.chair.post(
            f"/v1/appeals/{appeal['id']}/response",
            json={"outcome": "decision_confirmed", "response_text": "The chair met the family."},
        ),
        200,
    )
    assert answered["outcome_label"] == "Conference decision confirmed"
    docs = expect(m.chair.get(f"/v1/appeals/{appeal['id']}/documents"), 200)["items"]
    [response] = [d for d in docs if d["kind"] == "appeal_response"]
    assert response["template"] == "england-cp-conference/appeal_response.html.j2"
    html = m.chair.get(f"/v1/documents/{response['id']}", headers={"Accept": "text/html"}).text
    assert "child protection conference" in html and "everyone who attended" in html
    shown = expect(m.chair.get(f"/v1/documents/{response['id']}"), 200)
    kinds = {r["kind"] for r in shown["recipients"]}
    assert {"attending_professionals", "family", "appellant"} <= kinds
