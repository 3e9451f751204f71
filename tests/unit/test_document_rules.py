"""Documents as profile data: which kinds each procedure issues, with which template and to
whom; recipient resolution and who may read (pure rules)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from app.documents.render import template_exists
from app.principal import Principal
from app.profiles import DEFINITIONS, all_profiles, get_profile
from app.profiles.schema import RECIPIENT_KINDS, STEP_OF_DOCUMENT, Profile
from app.rules import documents as rules


def raw(code: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DEFINITIONS / f"{code}.json").read_text(encoding="utf-8"))
    return data


def profile(code: str) -> Profile:
    found = get_profile(code)
    assert found is not None
    return found


def principal(sub: str = "p", *roles: str) -> Principal:
    return Principal(sub=sub, name=sub, roles=frozenset(roles), agency=None, authority="la")


# ---- profile data -------------------------------------------------------------------------------


def test_each_procedure_names_the_documents_its_steps_issue() -> None:
    kinds = {code: set(p.documents.kinds) for code, p in all_profiles().items()}
    assert kinds == {
        "england-cp-conference": {"dissent_form", "review_outcome", "minutes_extract"},
        "scotland-cppm-carm": {"dissent_letter", "review_outcome", "minutes_extract"},
        "scotland-cppm-registration": {
            "referral",
            "review_outcome",
            "appeal",
            "appeal_response",
            "minutes_extract",
        },
    }
    assert [k for k, _ in profile("england-cp-conference").documents.for_step("written_submission")] == [
        "dissent_form"
    ]
    assert [k for k, _ in profile("scotland-cppm-registration").documents.for_step("referral")] == [
        "referral"
    ]


@pytest.mark.parametrize("code", sorted(all_profiles()))
def test_every_named_template_exists_in_the_profiles_own_folder(code: str) -> None:
    for kind, rule in profile(code).documents.kinds.items():
        assert template_exists(rule.template), rule.template
        assert rule.template == f"{code}/{kind}.html.j2"


def test_review_outcome_recipients_follow_each_procedure() -> None:
    recipients = {code: p.documents.kinds["review_outcome"].recipients for code, p in all_profiles().items()}
    # registration: "to the dissenting person and agency", and no one else
    assert recipients["scotland-cppm-registration"] == ["dissenter", "dissenter_agency"]
    # CARM: shared with everyone involved and added to the child's records; the family is
    # told by the person the reviewer names, not sent the note
    assert "family" not in recipients["scotland-cppm-carm"]
    assert {"attending_professionals", "child_record"} <= set(recipients["scotland-cppm-carm"])
    # England: professionals and family informed; the Quality, Learning and Practice group
    assert {"family", "review_group"} <= set(recipients["england-cp-conference"])


def refused(data: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        Profile.model_validate(data)


def test_the_written_step_issues_one_document_of_the_right_kind() -> None:
    data = raw("england-cp-conference")
    both = copy.deepcopy(data)
    both["documents"]["kinds"]["dissent_letter"] = {**data["documents"]["kinds"]["dissent_form"]}
    refused(both, "the written step issues one document")
    referral = copy.deepcopy(data)
    referral["documents"]["kinds"]["referral"] = referral["documents"]["kinds"].pop("dissent_form")
    refused(referral, "the written step issues one document")
    chair_form = raw("scotland-cppm-registration")
    chair_form["documents"]["kinds"]["dissent_form"] = chair_form["documents"]["kinds"].pop("referral")
    refused(chair_form, "the written step issues one document")


def test_appeal_documents_need_appeals() -> None:
    data = raw("england-cp-conference")
    data["documents"]["kinds"]["appeal"] = {**data["documents"]["kinds"]["dissent_form"]}
    refused(data, "appeal documents need appeals enabled")


def test_unknown_recipient_kind_and_duplicates_are_refused() -> None:
    data = raw("scotland-cppm-carm")
    data["documents"]["kinds"]["review_outcome"]["recipients"] = ["dissenter", "neighbours"]
    refused(data, "recipients")
    data["documents"]["kinds"]["review_outcome"]["recipients"] = ["dissenter", "dissenter"]
    refused(data, "each recipient kind once")


def test_a_review_group_recipient_needs_a_name() -> None:
    data = raw("england-cp-conference")
    data["documents"].pop("review_group")
    refused(data, "review_group")


def test_template_paths_stay_inside_the_templates_folder() -> None:
    for bad in ("../secrets.html.j2", "/etc/passwd", "england-cp-conference/../../x.html.j2", "x.html.j2"):
        data = raw("england-cp-conference")
        data["documents"]["kinds"]["dissent_form"]["template"] = bad
        refused(data, "template")


def test_a_profile_without_documents_issues_none() -> None:
    data = raw("england-cp-conference")
    data.pop("documents")
    assert Profile.model_validate(data).documents.for_step("written_submission") == []


def test_every_document_kind_has_its_step() -> None:
    assert set(STEP_OF_DOCUMENT) == {
        "dissent_form",
        "dissent_letter",
        "referral",
        "review_outcome",
        "appeal",
        "appeal_response",
        "minutes_extract",
    }


# ---- recipients -----------------------------------------------------------------------------------


FACTS = rules.RecipientFacts(
    chair=rules.Person("chair-1", "Sam Chair"),
    dissenter=rules.Person("prof-1", "Pat Prof", "NHS"),
    attending_professionals=[
        rules.Person("prof-1", "Pat Prof", "NHS"),
        rules.Person("prof-2", "Kim", "School"),
    ],
    family=[rules.Person("parent-1", "Jo Parent")],
)


def test_recipient_kinds_resolve_to_the_people_they_mean() -> None:
    england = profile("england-cp-conference")
    entries = rules.recipients(england, list(RECIPIENT_KINDS), FACTS)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_kind.setdefault(e["kind"], []).append(e)
    assert [e["person_id"] for e in by_kind["dissenter"]] == ["prof-1"]
    assert by_kind["dissenter_agency"] == [
        {
            "kind": "dissenter_agency",
            "label": "The dissenting professional's agency",
            "person_id": None,
            "name": None,
            "agency": "NHS",
        }
    ]
    assert [e["person_id"] for e in by_kind["attending_professionals"]] == ["prof-1", "prof-2"]
    assert [e["person_id"] for e in by_kind["family"]] == ["parent-1"]
    assert by_kind["chair"][0]["label"] == "Reviewing Officer"
    assert by_kind["review_group"][0]["label"] == "Quality, Learning and Practice group"
    assert by_kind["reviewer"][0]["label"] == "IRO Service Manager / Head of Service"
    assert by_kind["child_record"][0]["person_id"] is None
    assert rules.reader_ids(entries) == {"prof-1", "prof-2", "parent-1", "chair-1"}


def test_only_the_listed_kinds_receive_a_document() -> None:
    registration = profile("scotland-cppm-registration")
    kinds = registration.documents.kinds["review_outcome"].recipients
    entries = rules.recipients(registration, kinds, FACTS)
    assert {e["kind"] for e in entries} == {"dissenter", "dissenter_agency"}
    assert rules.reader_ids(entries) == {"prof-1"}  # not the colleague, not the family


# ---- who may read -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "subject_readable", "is_recipient", "allowed"),
    [
        (("reviewer",), True, False, True),
        (("professional",), False, True, True),
        (("professional",), False, False, False),
        (("chair",), True, False, True),
        (("reporting",), True, True, False),  # never, whatever else is true
        ((), True, True, False),
    ],
)
def test_may_read(roles: tuple[str, ...], subject_readable: bool, is_recipient: bool, allowed: bool) -> None:
    caller = principal("p", *roles)
    assert rules.may_read(caller, subject_readable=subject_readable, is_recipient=is_recipient) is allowed
