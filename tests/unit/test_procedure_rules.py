"""Local procedure rules: merge, diff, schema problems with pointers, sense checks."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.errors import RuleViolation
from app.profiles import get_profile
from app.rules import procedure as rules

TODAY = date(2026, 3, 2)
BUILTINS = ("england-cp-conference", "scotland-cppm-carm", "scotland-cppm-registration")


def england() -> dict[str, Any]:
    profile = get_profile("england-cp-conference")
    assert profile is not None
    return profile.model_dump(mode="json")


def resolve(overrides: dict[str, Any], used: tuple[str, ...] = ()) -> Any:
    return rules.resolve(overrides, base=england(), code="test-local", used_categories=used)


def problems_of(overrides: dict[str, Any], used: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    with pytest.raises(RuleViolation) as caught:
        resolve(overrides, used)
    return [(e["pointer"], e["code"]) for e in caught.value.errors or []]


# ---- merge --------------------------------------------------------------------------------


def test_objects_merge_lists_and_values_replace() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    merged = rules.deep_merge(base, {"a": {"c": [3]}, "d": "y", "extends": "e", "effective_from": "f"})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": "y"}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}  # the base is not changed


def test_a_value_can_replace_an_object_and_the_wrapper_fields_stay_out() -> None:
    merged = rules.deep_merge({"a": {"b": 1}}, {"a": None, "code": "mine"})
    assert merged == {"a": None}


# ---- diff ---------------------------------------------------------------------------------


def test_diff_names_each_change_by_pointer() -> None:
    old = {"a": {"b": 1, "gone": True}, "l": [{"code": "X"}]}
    new = {"a": {"b": 2, "new/key": 1}, "l": [{"code": "X"}, {"code": "Y"}]}
    changes = rules.diff(old, new)
    assert [(c.pointer, c.op) for c in changes] == [
        ("/a/b", "replace"),
        ("/a/gone", "remove"),
        ("/a/new~1key", "add"),
        ("/l", "replace"),
    ]
    assert changes[0].describe() == "/a/b: 1 -> 2"
    assert changes[3].describe() == "/l: [X] -> [X, Y]"


def test_no_diff_between_equal_definitions() -> None:
    assert rules.diff(england(), england()) == []


# ---- accepted definitions -----------------------------------------------------------------


def test_a_shorter_written_step_resolves() -> None:
    profile = resolve({"dissent": {"written_step": {"deadline": {"working_days": 3}}}})
    assert profile.code == "test-local"
    assert profile.dissent.written_step.deadline.working_days == 3
    assert profile.dissent.review.reviewer_title == "IRO Service Manager / Head of Service"


def test_categories_can_be_extended_when_open_cases_use_the_old_ones() -> None:
    cats = [*england()["categories"], {"code": "CSE", "label": "Child sexual exploitation"}]
    profile = resolve({"categories": cats}, used=("NEG", "PHY"))
    assert [c.code for c in profile.categories][-1] == "CSE"


def test_every_builtin_profile_passes_the_sense_checks() -> None:
    for code in BUILTINS:
        profile = get_profile(code)
        assert profile is not None
        assert rules.check_sense(profile, used_categories=()) == []


# ---- refused definitions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"colour": "blue"}, [("/colour", "unknown_field")]),
        ({"dissent": {"review": {"ghost": 1}}}, [("/dissent/review/ghost", "unknown_field")]),
        (
            {"dissent": {"written_step": {"deadline": {"working_days": 0}}}},
            [("/dissent/written_step/deadline/working_days", "deadline_out_of_range")],
        ),
        (
            {"dissent": {"written_step": {"deadline": {"working_days": 10000}}}},
            [("/dissent/written_step/deadline/working_days", "deadline_out_of_range")],
        ),
        (
            {
                "dissent": {
                    "review": {"outcomes": [{"code": "uphold", "label": "Confirmed"}, {"code": "reconvene"}]}
                }
            },
            [("/dissent/review/outcomes/1/label", "label_missing")],
        ),
        (
            {"dissent": {"review": {"outcomes": [{"code": "uphold", "label": "  "}]}}},
            [("/dissent/review/outcomes/0/label", "label_missing")],
        ),
    ],
)
def test_refusals_carry_a_pointer_and_code(
    overrides: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert problems_of(overrides) == expected


def test_removing_a_category_open_cases_use_is_refused() -> None:
    cats = [c for c in england()["categories"] if c["code"] != "NEG"]
    assert problems_of({"categories": cats}, used=("NEG",)) == [("/categories", "category_in_use")]
    assert resolve({"categories": cats}, used=("PHY",)).categories[0].code == "PHY"


def test_several_problems_are_listed_together() -> None:
    with pytest.raises(RuleViolation) as caught:
        resolve({"colour": "blue", "chair_title": 3})
    assert caught.value.code == "procedure_invalid"
    assert {e["pointer"] for e in caught.value.errors or []} == {"/colour", "/chair_title"}


@pytest.mark.parametrize(
    ("definition", "code"),
    [
        ({}, "extends_required"),
        ({"extends": "nowhere"}, "unknown_extends"),
        ({"extends": "barsetshire-local"}, "extends_local_procedure"),
        ({"extends": "england-cp-conference", "effective_from": "2026-03-01"}, "effective_from_past"),
        ({"extends": "england-cp-conference", "effective_from": "soon"}, "validation_error"),
    ],
)
def test_wrapper_refusals(definition: dict[str, Any], code: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        rules.check_wrapper(
            definition, builtin_codes=BUILTINS, local_codes=("barsetshire-local",), today=TODAY
        )
    assert caught.value.code == code


def test_wrapper_accepts_today_and_later() -> None:
    ok = {"extends": "england-cp-conference", "effective_from": "2026-03-02"}
    assert rules.check_wrapper(ok, builtin_codes=BUILTINS, local_codes=(), today=TODAY) == (
        "england-cp-conference",
        TODAY,
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [(None, "barsetshire-local"), ("pan-sussex", "pan-sussex")],
)
def test_procedure_code(code: str | None, expected: str) -> None:
    definition = {} if code is None else {"code": code}
    assert rules.procedure_code(definition, authority_code="Barsetshire", builtin_codes=BUILTINS) == expected


@pytest.mark.parametrize(
    ("code", "problem"), [("england-cp-conference", "procedure_code_taken"), ("X!", "validation_error")]
)
def test_procedure_code_refusals(code: str, problem: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        rules.procedure_code({"code": code}, authority_code="b", builtin_codes=BUILTINS)
    assert caught.value.code == problem


# ---- the CLI ------------------------------------------------------------------------------


def test_cli_validates_and_diffs_the_shipped_examples(tmp_path) -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from app.cli import app

    runner = CliRunner()
    examples = Path(__file__).resolve().parents[2] / "examples" / "procedures"
    for name in ("pan-sussex", "england-with-appeals"):
        ok = runner.invoke(app, ["procedure", "validate", str(examples / f"{name}.json")])
        assert ok.exit_code == 0, ok.output
        assert "valid" in ok.output
    shown = runner.invoke(app, ["procedure", "diff", str(examples / "pan-sussex.json")])
    assert shown.exit_code == 0
    assert "/dissent/written_step/deadline/calendar_days: added" not in shown.output
    assert "/dissent/written_step/deadline/calendar_days: None -> 3" in shown.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"extends": "england-cp-conference", "dissent": {"review": {"ghost": 1}}}')
    refused = runner.invoke(app, ["procedure", "validate", str(bad)])
    assert refused.exit_code == 1
    assert "/dissent/review/ghost: unknown_field" in refused.output
