"""Unit tests for app.rules.conference (transitions, end blockers, decision checks, different
chair) and app.rules.access (who sees what, SPEC §4)."""

from __future__ import annotations

import pytest

from app.errors import Conflict, RuleViolation
from app.principal import Principal
from app.profiles import get_profile
from app.profiles.schema import Profile
from app.rules import conference as rules
from app.rules.access import (
    Scope,
    can_manage_attendees,
    can_see_conference,
    conference_scope,
    is_conference_chair,
)
from app.vocab import ConferenceStatus as S

ACTIONS = ("start", "cancel", "end")


def profile(code: str) -> Profile:
    found = get_profile(code)
    assert found is not None
    return found


ENGLAND = profile("england-cp-conference")
CARM = profile("scotland-cppm-carm")
REGISTRATION = profile("scotland-cppm-registration")


def who(sub: str, *roles: str) -> Principal:
    return Principal(sub=sub, name=sub, roles=frozenset(roles), agency=None, authority="la-test")


# ---- transitions --------------------------------------------------------------------------------

ALLOWED = {
    (S.scheduled, "start"): S.in_progress,
    (S.scheduled, "cancel"): S.cancelled,
    (S.in_progress, "end"): S.ended,
}


@pytest.mark.parametrize(("current", "action", "target"), [(c, a, t) for (c, a), t in ALLOWED.items()])
def test_allowed_transitions(current: S, action: str, target: S) -> None:
    assert rules.next_status(current.value, action) == target


@pytest.mark.parametrize(("current", "action"), [(c, a) for c in S for a in ACTIONS if (c, a) not in ALLOWED])
def test_refused_transitions(current: S, action: str) -> None:
    with pytest.raises(Conflict) as info:
        rules.next_status(current.value, action)
    assert info.value.code == "invalid_transition"
    assert info.value.status == 409


def test_terminal_states_have_no_way_out() -> None:
    for state in (S.ended, S.cancelled):
        for action in ACTIONS:
            with pytest.raises(Conflict):
                rules.next_status(state.value, action)


def test_require_in_progress() -> None:
    rules.require_in_progress(S.in_progress.value, "decisions")
    for state in (S.scheduled, S.ended, S.cancelled):
        with pytest.raises(Conflict) as info:
            rules.require_in_progress(state.value, "decisions")
        assert info.value.code == "conference_not_in_progress"


def test_require_open() -> None:
    rules.require_open(S.scheduled.value, "attendance")
    rules.require_open(S.in_progress.value, "attendance")
    for state in (S.ended, S.cancelled):
        with pytest.raises(Conflict) as info:
            rules.require_open(state.value, "attendance")
        assert info.value.code == "conference_closed"


# ---- end blockers -------------------------------------------------------------------------------


def blockers(p: Profile, *, decided: set[str], invited: bool, explained: bool) -> list[str]:
    return [
        b.code
        for b in rules.end_blockers(
            p,
            child_ids=["c1", "c2"],
            decided_child_ids=decided,
            dissent_invited=invited,
            appeal_rights_explained=explained,
        )
    ]


def test_end_blockers_in_order_for_the_registration_profile() -> None:
    assert blockers(REGISTRATION, decided=set(), invited=False, explained=False) == [
        "decisions_missing",
        "dissent_invitation_required",
        "appeal_rights_explanation_required",
    ]
    assert blockers(REGISTRATION, decided={"c1", "c2"}, invited=False, explained=False) == [
        "dissent_invitation_required",
        "appeal_rights_explanation_required",
    ]
    assert blockers(REGISTRATION, decided={"c1", "c2"}, invited=True, explained=False) == [
        "appeal_rights_explanation_required"
    ]
    assert blockers(REGISTRATION, decided={"c1", "c2"}, invited=True, explained=True) == []


@pytest.mark.parametrize("p", [ENGLAND, CARM], ids=lambda p: p.code)
def test_end_blockers_without_appeals_never_ask_for_appeal_rights(p: Profile) -> None:
    assert blockers(p, decided=set(), invited=False, explained=False) == [
        "decisions_missing",
        "dissent_invitation_required",
    ]
    assert blockers(p, decided={"c1", "c2"}, invited=True, explained=False) == []


def test_decisions_missing_names_each_undecided_child() -> None:
    result = rules.end_blockers(
        ENGLAND,
        child_ids=["c1", "c2", "c3"],
        decided_child_ids={"c2"},
        dissent_invited=True,
        appeal_rights_explained=False,
    )
    assert [b.code for b in result] == ["decisions_missing"]
    assert "c1" in result[0].detail and "c3" in result[0].detail and "c2" not in result[0].detail


def test_one_undecided_child_still_blocks() -> None:
    assert blockers(ENGLAND, decided={"c1"}, invited=True, explained=True) == ["decisions_missing"]


# ---- decision checks ----------------------------------------------------------------------------


def refused_decision(p: Profile, outcome: str, categories: list[str], code: str, **kw: object) -> None:
    with pytest.raises(RuleViolation) as info:
        rules.check_decision(p, outcome=outcome, categories=categories, **kw)  # type: ignore[arg-type]
    assert info.value.code == code
    assert info.value.status == 422


@pytest.mark.parametrize(
    ("p", "category"), [(ENGLAND, "NEG"), (CARM, "neglect"), (REGISTRATION, "domestic_abuse")]
)
def test_register_and_continue_need_a_known_category(p: Profile, category: str) -> None:
    for outcome in ("register", "continue"):
        rules.check_decision(p, outcome=outcome, categories=[category])
        refused_decision(p, outcome, [], "categories_required")
        refused_decision(p, outcome, ["not_a_category"], "unknown_category")


@pytest.mark.parametrize("p", [ENGLAND, CARM, REGISTRATION], ids=lambda p: p.code)
def test_deregister_and_not_register_take_no_category(p: Profile) -> None:
    category = p.categories[0].code
    for outcome in ("deregister", "not_register"):
        rules.check_decision(p, outcome=outcome, categories=[])
        refused_decision(p, outcome, [category], "categories_not_allowed")


def test_england_allows_one_category_only() -> None:
    rules.check_decision(ENGLAND, outcome="register", categories=["MUL"])
    refused_decision(ENGLAND, "register", ["NEG", "EMO"], "too_many_categories")


def test_scotland_records_several_areas_of_concern() -> None:
    rules.check_decision(CARM, outcome="register", categories=["neglect", "domestic_abuse", "other"])
    rules.check_decision(REGISTRATION, outcome="continue", categories=["neglect", "parental_substance_use"])


def test_england_codes_are_not_scottish_areas_of_concern() -> None:
    refused_decision(CARM, "register", ["NEG"], "unknown_category")
    refused_decision(ENGLAND, "register", ["neglect"], "unknown_category")


def test_extra_categories_extend_the_profile() -> None:
    rules.check_decision(ENGLAND, outcome="register", categories=["FGM"], extra_category_codes=["FGM"])
    refused_decision(ENGLAND, "register", ["FGM"], "unknown_category")


def test_category_listed_twice_is_refused() -> None:
    refused_decision(CARM, "register", ["neglect", "neglect"], "validation_error")


def test_unknown_category_is_reported_before_count_rules() -> None:
    refused_decision(ENGLAND, "register", ["NEG", "XYZ"], "unknown_category")
    refused_decision(ENGLAND, "not_register", ["XYZ"], "unknown_category")


# ---- different chair ----------------------------------------------------------------------------


def test_england_reconvened_meeting_needs_a_different_chair() -> None:
    with pytest.raises(RuleViolation) as info:
        rules.check_different_chair(ENGLAND, original_chair_id="chair-1", chair_id="chair-1")
    assert info.value.code == "same_chair_not_allowed"
    rules.check_different_chair(ENGLAND, original_chair_id="chair-1", chair_id="chair-2")


def test_not_a_reconvened_meeting_has_no_chair_rule() -> None:
    rules.check_different_chair(ENGLAND, original_chair_id=None, chair_id="chair-1")


@pytest.mark.parametrize("p", [CARM, REGISTRATION], ids=lambda p: p.code)
def test_scotland_allows_the_same_chair(p: Profile) -> None:
    rules.check_different_chair(p, original_chair_id="chair-1", chair_id="chair-1")


# ---- access predicates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "scope"),
    [
        (("record_system",), Scope.all),
        (("admin",), Scope.all),
        (("reviewer",), Scope.all),
        (("chair",), Scope.own),
        (("professional",), Scope.own),
        (("chair", "professional"), Scope.own),
        (("professional", "reviewer"), Scope.all),
        (("reporting",), Scope.none),
        (("system_admin",), Scope.none),
        ((), Scope.none),
    ],
)
def test_conference_scope_per_role(roles: tuple[str, ...], scope: Scope) -> None:
    assert conference_scope(who("someone", *roles)) is scope


@pytest.mark.parametrize("role", ["record_system", "admin", "reviewer"])
def test_whole_authority_roles_see_every_conference(role: str) -> None:
    assert can_see_conference(who("x", role), chair_id="chair-1", attendee_ids=set())


def test_chair_sees_only_the_conferences_they_chair() -> None:
    assert can_see_conference(who("chair-1", "chair"), chair_id="chair-1", attendee_ids=set())
    assert not can_see_conference(who("chair-2", "chair"), chair_id="chair-1", attendee_ids=set())
    # being listed among the attendees does not make a chair-only caller a professional attendee
    assert not can_see_conference(who("chair-2", "chair"), chair_id="chair-1", attendee_ids={"chair-2"})


def test_professional_sees_only_conferences_they_attend() -> None:
    assert can_see_conference(who("prof-1", "professional"), chair_id="chair-1", attendee_ids={"prof-1"})
    assert not can_see_conference(who("prof-9", "professional"), chair_id="chair-1", attendee_ids={"prof-1"})
    # sharing the chair's id without the chair role does not give the chair's view
    assert not can_see_conference(who("chair-1", "professional"), chair_id="chair-1", attendee_ids=set())


@pytest.mark.parametrize("role", ["reporting", "system_admin"])
def test_roles_without_conference_access_see_nothing(role: str) -> None:
    assert not can_see_conference(who("chair-1", role), chair_id="chair-1", attendee_ids={"chair-1"})


def test_is_conference_chair_needs_the_role_and_the_sub() -> None:
    assert is_conference_chair(who("chair-1", "chair"), "chair-1")
    assert not is_conference_chair(who("chair-2", "chair"), "chair-1")
    assert not is_conference_chair(who("chair-1", "professional"), "chair-1")
    assert not is_conference_chair(who("chair-1", "admin", "reviewer"), "chair-1")


def test_attendees_are_managed_by_the_record_system_or_the_chair() -> None:
    assert can_manage_attendees(who("rs", "record_system"), "chair-1")
    assert can_manage_attendees(who("chair-1", "chair"), "chair-1")
    assert not can_manage_attendees(who("chair-2", "chair"), "chair-1")
    assert not can_manage_attendees(who("prof-1", "professional"), "chair-1")
    assert not can_manage_attendees(who("admin-1", "admin"), "chair-1")
    assert not can_manage_attendees(who("reviewer-1", "reviewer"), "chair-1")


def test_registration_needs_participants_advised_only_with_an_unresolved_dissent() -> None:
    def codes(**kw: bool) -> list[str]:
        return [
            b.code
            for b in rules.end_blockers(
                REGISTRATION,
                child_ids=["c1"],
                decided_child_ids={"c1"},
                dissent_invited=True,
                appeal_rights_explained=True,
                **kw,
            )
        ]

    assert codes(unresolved_dissent=False) == []
    assert codes(unresolved_dissent=True) == ["participants_advised_required"]
    assert codes(unresolved_dissent=True, participants_advised=True) == []


@pytest.mark.parametrize("p", [ENGLAND, CARM], ids=lambda p: p.code)
def test_other_procedures_never_ask_for_participants_advised(p: Profile) -> None:
    result = rules.end_blockers(
        p,
        child_ids=["c1"],
        decided_child_ids={"c1"},
        dissent_invited=True,
        appeal_rights_explained=False,
        unresolved_dissent=True,
    )
    assert result == []
