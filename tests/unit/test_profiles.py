"""Unit tests for app.profiles: the shipped definitions and the schema that keeps them consistent
(SPEC §2: profiles are data, validated at start-up; a fourth procedure is a new definition)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.profiles import DEFINITIONS, all_profiles, get_profile, load_profiles
from app.profiles.schema import Profile

CODES = {"england-cp-conference", "scotland-cppm-carm", "scotland-cppm-registration"}


def raw(code: str) -> dict[str, Any]:
    return json.loads((DEFINITIONS / f"{code}.json").read_text(encoding="utf-8"))


def refused(data: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        Profile.model_validate(data)


def copy_definitions(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in DEFINITIONS.glob("*.json"):
        shutil.copyfile(path, target / path.name)
    return target


# ---- the shipped definitions -------------------------------------------------------------------


def test_shipped_definition_files_are_exactly_the_three_profiles() -> None:
    assert {p.stem for p in DEFINITIONS.glob("*.json")} == CODES


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_shipped_definition_validates(code: str) -> None:
    profile = Profile.model_validate(raw(code))
    assert profile.code == code
    assert get_profile(code) == profile


def test_load_profiles_reads_all_shipped_definitions() -> None:
    profiles = load_profiles()
    assert set(profiles) == CODES
    assert set(all_profiles()) == CODES
    assert get_profile("no-such-profile") is None


def test_shipped_rules_match_the_spec_table() -> None:
    england = get_profile("england-cp-conference")
    carm = get_profile("scotland-cppm-carm")
    registration = get_profile("scotland-cppm-registration")
    assert england and carm and registration

    assert england.chair_title == "Reviewing Officer"
    assert carm.chair_title == "Chair"
    assert registration.chair_title == "Education and Families Manager"

    assert [m.code for m in england.meeting_types] == [
        "initial_conference",
        "review_conference",
        "pre_birth_conference",
    ]
    assert {m.code for m in carm.meeting_types} == {"pre_birth_cppm", "initial_cppm", "review_cppm", "carm"}
    assert {m.code for m in registration.meeting_types} == {"pre_birth_cppm", "initial_cppm", "review_cppm"}

    assert set(england.dissent.subjects) == {"plan", "category", "registration"}
    assert set(carm.dissent.subjects) == {"plan", "category", "registration"}
    assert list(registration.dissent.subjects) == ["registration"]

    assert set(england.review_outcome_codes) == {"uphold", "reconvene"}
    assert set(carm.review_outcome_codes) == {"uphold", "change_category", "reconvene"}
    assert set(registration.review_outcome_codes) == {"uphold", "reconvene"}

    assert england.dissent.review.reconvene_requires_different_chair is True
    assert carm.dissent.review.reconvene_requires_different_chair is False
    assert registration.dissent.review.reconvene_requires_different_chair is False

    assert carm.dissent.review.family_informant_required is True
    assert england.dissent.review.family_informant_required is False
    assert registration.dissent.review.family_informant_required is False

    assert [a.appeals.enabled for a in (england, carm, registration)] == [False, False, True]

    # written step: who and when
    for profile in (england, carm):
        step = profile.dissent.written_step
        assert (step.status, step.actor, step.deadline.kind) == (
            "awaiting_submission",
            "dissenter",
            "written_submission",
        )
        assert step.deadline.working_days == 5 and step.deadline.counted_from == "meeting_date"
    step = registration.dissent.written_step
    assert (step.status, step.actor, step.deadline.kind) == ("awaiting_referral", "chair", "referral")
    assert step.deadline.working_days == 1
    assert england.dissent.written_step.requires_line_manager_discussion is True

    # review deadlines
    review = england.dissent.review
    assert review.meeting_required and review.meeting_deadline is not None
    assert (review.meeting_deadline.working_days, review.meeting_deadline.counted_from) == (5, "received")
    assert carm.dissent.review.meeting_deadline is None and carm.dissent.review.response_deadline is None
    response = registration.dissent.review.response_deadline
    assert response is not None and (response.calendar_days, response.counted_from) == (28, "meeting_date")

    # appeals in scotland-cppm-registration: 5 WD to lodge, 28 calendar days to respond
    appeals = registration.appeals
    assert appeals.lodge_deadline and appeals.lodge_deadline.working_days == 5
    assert appeals.response_deadline and appeals.response_deadline.calendar_days == 28
    assert appeals.lead_social_worker_may_lodge is True

    assert [c.code for c in england.categories] == ["PHY", "EMO", "SAB", "NEG", "MUL"]
    assert england.max_categories == 1
    assert registration.end_confirmations == ["dissent_invitation", "appeal_rights_explained"]
    assert england.end_confirmations == ["dissent_invitation"]
    assert carm.end_confirmations == ["dissent_invitation"]


# ---- the schema refuses inconsistent definitions --------------------------------------------


def test_appeals_enabled_without_appeal_rights_confirmation_is_refused() -> None:
    data = raw("scotland-cppm-registration")
    data["end_confirmations"] = ["dissent_invitation"]
    refused(data, "appeal rights")


def test_appeal_rights_confirmation_without_appeals_is_refused() -> None:
    data = raw("england-cp-conference")
    data["end_confirmations"] = ["dissent_invitation", "appeal_rights_explained"]
    refused(data, "appeal rights")


def test_chair_written_step_with_awaiting_submission_is_refused() -> None:
    data = raw("scotland-cppm-registration")
    data["dissent"]["written_step"]["status"] = "awaiting_submission"
    refused(data, "referral")


def test_dissenter_written_step_with_awaiting_referral_is_refused() -> None:
    data = raw("england-cp-conference")
    data["dissent"]["written_step"]["status"] = "awaiting_referral"
    refused(data, "referral")


def test_duplicate_category_codes_are_refused() -> None:
    data = raw("scotland-cppm-carm")
    data["categories"].append({"code": "neglect", "label": "Neglect again"})
    refused(data, "categories has duplicate codes")


def test_duplicate_meeting_type_codes_are_refused() -> None:
    data = raw("england-cp-conference")
    data["meeting_types"].append({"code": "initial_conference", "label": "Again"})
    refused(data, "meeting_types has duplicate codes")


def test_unknown_review_outcome_is_refused() -> None:
    data = raw("england-cp-conference")
    data["dissent"]["review"]["outcomes"].append({"code": "overturn", "label": "Decision overturned"})
    refused(data, "unknown review outcome")


def test_unknown_dissent_subject_is_refused() -> None:
    data = raw("england-cp-conference")
    data["dissent"]["subjects"] = ["plan", "complaint"]
    refused(data, "subjects")


def test_missing_decision_outcome_label_is_refused() -> None:
    data = raw("england-cp-conference")
    del data["decision_outcome_labels"]["not_register"]
    refused(data, "all four outcomes")


def test_deadline_with_both_or_neither_unit_is_refused() -> None:
    data = raw("england-cp-conference")
    both = copy.deepcopy(data)
    both["dissent"]["written_step"]["deadline"]["calendar_days"] = 7
    refused(both, "exactly one of working_days or calendar_days")
    neither = copy.deepcopy(data)
    del neither["dissent"]["written_step"]["deadline"]["working_days"]
    refused(neither, "exactly one of working_days or calendar_days")


def test_required_review_meeting_without_deadline_is_refused() -> None:
    data = raw("england-cp-conference")
    data["dissent"]["review"]["meeting_deadline"] = None
    refused(data, "review meeting needs a deadline")


def test_enabled_appeals_without_deadlines_are_refused() -> None:
    data = raw("scotland-cppm-registration")
    data["appeals"]["lodge_deadline"] = None
    refused(data, "deadlines and responder roles")


def test_enabled_appeals_without_outcomes_are_refused() -> None:
    data = raw("scotland-cppm-registration")
    data["appeals"]["outcomes"] = []
    refused(data, "outcomes")


def test_profile_without_appeals_must_say_where_families_go() -> None:
    data = raw("scotland-cppm-carm")
    del data["appeals"]["unavailable_detail"]
    refused(data, "where families can go")


def test_unknown_fields_are_refused() -> None:
    data = raw("england-cp-conference")
    data["surprise"] = True
    refused(data, "surprise")


def test_empty_category_list_is_refused() -> None:
    data = raw("scotland-cppm-carm")
    data["categories"] = []
    refused(data, "categories")


def test_a_consistent_variant_is_accepted() -> None:
    """The validator is not simply refusing everything: a sensible change still validates."""
    data = raw("scotland-cppm-carm")
    data["code"] = "wales-test"
    data["categories"].append({"code": "online_harm", "label": "Online harm"})
    profile = Profile.model_validate(data)
    assert "online_harm" in {c.code for c in profile.categories}


# ---- loading from a directory -------------------------------------------------------------------


def test_load_profiles_from_a_copy_of_the_definitions(tmp_path: Path) -> None:
    directory = copy_definitions(tmp_path / "defs")
    assert set(load_profiles(directory)) == CODES


def test_load_profiles_refuses_a_code_that_differs_from_the_file_name(tmp_path: Path) -> None:
    directory = copy_definitions(tmp_path / "defs")
    (directory / "england-cp-conference.json").rename(directory / "england-renamed.json")
    with pytest.raises(ValueError, match="must match the file name"):
        load_profiles(directory)


def test_load_profiles_refuses_an_invalid_definition(tmp_path: Path) -> None:
    directory = copy_definitions(tmp_path / "defs")
    data = raw("scotland-cppm-registration")
    data["end_confirmations"] = ["dissent_invitation"]
    (directory / "scotland-cppm-registration.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValidationError):
        load_profiles(directory)


def test_load_profiles_refuses_an_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no procedure profiles"):
        load_profiles(tmp_path / "empty")


def test_adding_a_fourth_procedure_is_adding_a_file(tmp_path: Path) -> None:
    directory = copy_definitions(tmp_path / "defs")
    data = raw("england-cp-conference")
    data["code"] = "wales-cp-conference"
    data["title"] = "Wales: child protection conference"
    (directory / "wales-cp-conference.json").write_text(json.dumps(data), encoding="utf-8")
    profiles = load_profiles(directory)
    assert set(profiles) == CODES | {"wales-cp-conference"}
    assert profiles["wales-cp-conference"].dissent.review.reconvene_requires_different_chair is True
