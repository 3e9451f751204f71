"""Unit tests for app.rules.dissent: the profile-driven transition table, reachable states,
deadline status and the guards. The expected tables are written out here from SPEC §5, not
derived from the code under test."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app.errors import Conflict, DomainError, RuleViolation
from app.profiles import all_profiles, load_profiles
from app.profiles.schema import DeadlineRule, Profile
from app.rules.calendar import WorkingCalendar
from app.rules.deadline import compute, deadline_status
from app.rules.dissent import (
    Action,
    check_outcome,
    check_review_extras,
    check_reviewer_independent,
    check_subject,
    next_status,
    next_step,
    reachable,
    transitions,
)
from app.vocab import DissentStatus as S

ENGLAND = "england-cp-conference"
CARM = "scotland-cppm-carm"
REGISTRATION = "scotland-cppm-registration"

_WITHDRAWABLE_SUBMISSION = (S.raised, S.awaiting_submission, S.submitted, S.under_review)
_WITHDRAWABLE_REFERRAL = (S.raised, S.awaiting_referral, S.referred, S.under_review)

EXPECTED: dict[str, dict[tuple[S, Action], S]] = {
    ENGLAND: {
        (S.raised, Action.resolve): S.resolved,
        (S.raised, Action.meeting_ends): S.awaiting_submission,
        (S.awaiting_submission, Action.submit): S.submitted,
        (S.awaiting_submission, Action.lapse): S.lapsed,
        (S.submitted, Action.review_meeting): S.under_review,
        (S.under_review, Action.decide): S.decided,
        **{(s, Action.withdraw): S.withdrawn for s in _WITHDRAWABLE_SUBMISSION},
    },
    CARM: {
        (S.raised, Action.resolve): S.resolved,
        (S.raised, Action.meeting_ends): S.awaiting_submission,
        (S.awaiting_submission, Action.submit): S.submitted,
        (S.awaiting_submission, Action.lapse): S.lapsed,
        (S.submitted, Action.review_meeting): S.under_review,
        (S.submitted, Action.decide): S.decided,  # no review meeting required
        (S.under_review, Action.decide): S.decided,
        **{(s, Action.withdraw): S.withdrawn for s in _WITHDRAWABLE_SUBMISSION},
    },
    REGISTRATION: {
        (S.raised, Action.resolve): S.resolved,
        (S.raised, Action.meeting_ends): S.awaiting_referral,
        (S.awaiting_referral, Action.refer): S.referred,  # the chair's step never lapses
        (S.referred, Action.review_meeting): S.under_review,
        (S.referred, Action.decide): S.decided,
        (S.under_review, Action.decide): S.decided,
        **{(s, Action.withdraw): S.withdrawn for s in _WITHDRAWABLE_REFERRAL},
    },
}

EXPECTED_REACHABLE = {
    ENGLAND: {
        S.raised,
        S.resolved,
        S.withdrawn,
        S.awaiting_submission,
        S.submitted,
        S.under_review,
        S.decided,
        S.lapsed,
    },
    CARM: {
        S.raised,
        S.resolved,
        S.withdrawn,
        S.awaiting_submission,
        S.submitted,
        S.under_review,
        S.decided,
        S.lapsed,
    },
    REGISTRATION: {
        S.raised,
        S.resolved,
        S.withdrawn,
        S.awaiting_referral,
        S.referred,
        S.under_review,
        S.decided,
    },
}
TERMINAL = {S.resolved, S.withdrawn, S.decided, S.lapsed}


def profile(code: str) -> Profile:
    return all_profiles()[code]


# ---- the transition table -----------------------------------------------------------------


CASES = [
    pytest.param(code, status, action, id=f"{code}:{status.value}:{action.value}")
    for code in EXPECTED
    for status, action in itertools.product(S, Action)
]


@pytest.mark.parametrize(("code", "status", "action"), CASES)
def test_every_status_and_action(code: str, status: S, action: Action) -> None:
    expected = EXPECTED[code].get((status, action))
    if expected is None:
        with pytest.raises(Conflict) as info:
            next_status(profile(code), status.value, action)
        assert info.value.code == "invalid_transition"
        assert info.value.status == 409
        assert status.value in info.value.detail
    else:
        assert next_status(profile(code), status.value, action) is expected


@pytest.mark.parametrize("code", list(EXPECTED))
def test_table_is_exactly_the_expected_one(code: str) -> None:
    assert transitions(profile(code)) == EXPECTED[code]


@pytest.mark.parametrize("code", list(EXPECTED))
def test_reachable_states(code: str) -> None:
    assert reachable(profile(code)) == EXPECTED_REACHABLE[code]


@pytest.mark.parametrize("code", list(EXPECTED))
def test_reachable_states_are_those_the_table_reaches_from_raised(code: str) -> None:
    table = transitions(profile(code))
    seen, frontier = {S.raised}, [S.raised]
    while frontier:
        current = frontier.pop()
        for (source, _), target in table.items():
            if source is current and target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == reachable(profile(code))


@pytest.mark.parametrize("code", list(EXPECTED))
def test_terminal_states_have_no_way_out_and_every_other_state_can_end(code: str) -> None:
    table = transitions(profile(code))
    sources = {source for source, _ in table}
    for state in reachable(profile(code)):
        if state in TERMINAL:
            assert state not in sources
        else:
            assert (state, Action.withdraw) in table  # withdrawal is possible before a decision
            assert state in sources


@pytest.mark.parametrize("code", list(EXPECTED))
def test_next_step_words(code: str) -> None:
    p = profile(code)
    for state in reachable(p):
        words = next_step(p, state.value)
        if state in TERMINAL:
            assert words is None
        else:
            assert words
    assert p.dissent.review.reviewer_title in (next_step(p, S.under_review.value) or "")


def test_next_step_names_the_required_review_meeting() -> None:
    assert "review meeting" in (next_step(profile(ENGLAND), "submitted") or "")
    assert "review meeting" not in (next_step(profile(CARM), "submitted") or "")


# ---- a hypothetical fourth procedure ------------------------------------------------------


def fourth_profile(base: str = ENGLAND, **changes: object) -> Profile:
    """A new procedure made only from data: a copy of a shipped profile with another
    written step and review; validated as a profile definition would be at start-up."""
    shipped = profile(base)
    step = shipped.dissent.written_step.model_copy(
        update={
            "status": "awaiting_referral",
            "actor": "chair",
            "document": "referral",
            "lapses_when_missed": False,
            "requires_line_manager_discussion": False,
            "deadline": DeadlineRule(
                kind="referral",
                working_days=2,
                counted_from="meeting_date",
                description="The chair refers it within 2 working days.",
            ),
        }
    )
    review = shipped.dissent.review.model_copy(
        update={"meeting_required": False, "meeting_deadline": None, **changes}
    )
    dissent = shipped.dissent.model_copy(update={"written_step": step, "review": review})
    # A chair's written step issues a referral: this procedure borrows the registration one's.
    kinds = {k: v for k, v in shipped.documents.kinds.items() if k not in ("dissent_form", "dissent_letter")}
    kinds["referral"] = profile(REGISTRATION).documents.kinds["referral"]
    documents = shipped.documents.model_copy(update={"kinds": kinds})
    copied = shipped.model_copy(
        update={"code": "wales-test-procedure", "dissent": dissent, "documents": documents}
    )
    return Profile.model_validate(copied.model_dump())


def test_fourth_profile_drives_the_engine_without_code_changes() -> None:
    p = fourth_profile()
    assert transitions(p) == {
        (S.raised, Action.resolve): S.resolved,
        (S.raised, Action.meeting_ends): S.awaiting_referral,
        (S.awaiting_referral, Action.refer): S.referred,
        (S.referred, Action.review_meeting): S.under_review,
        (S.referred, Action.decide): S.decided,
        (S.under_review, Action.decide): S.decided,
        **{(s, Action.withdraw): S.withdrawn for s in _WITHDRAWABLE_REFERRAL},
    }
    assert reachable(p) == EXPECTED_REACHABLE[REGISTRATION]
    # The shipped england profile it was copied from is unchanged.
    assert transitions(profile(ENGLAND)) == EXPECTED[ENGLAND]
    with pytest.raises(Conflict):
        next_status(p, "awaiting_submission", Action.submit)
    with pytest.raises(Conflict):
        next_status(p, "awaiting_referral", Action.lapse)
    # Its own outcomes and extras follow the data too.
    check_outcome(p, "reconvene")
    with pytest.raises(RuleViolation):
        check_outcome(p, "change_category")


def test_fourth_profile_with_a_non_lapsing_dissenter_step_and_required_meeting() -> None:
    shipped = profile(CARM)
    step = shipped.dissent.written_step.model_copy(update={"lapses_when_missed": False})
    review = shipped.dissent.review.model_copy(
        update={
            "meeting_required": True,
            "meeting_deadline": DeadlineRule(
                kind="review_meeting", calendar_days=10, counted_from="received", description="Ten days."
            ),
            "practice_improvements": False,
            "family_informant_required": False,
        }
    )
    p = Profile.model_validate(
        shipped.model_copy(
            update={
                "code": "carm-variant",
                "dissent": shipped.dissent.model_copy(update={"written_step": step, "review": review}),
            }
        ).model_dump()
    )
    table = transitions(p)
    assert (S.awaiting_submission, Action.lapse) not in table
    assert S.lapsed not in reachable(p)
    assert (S.submitted, Action.decide) not in table
    assert table[(S.submitted, Action.review_meeting)] is S.under_review
    with pytest.raises(RuleViolation) as info:
        check_review_extras(p, practice_improvements="x", family_informant=None)
    assert info.value.code == "practice_improvements_not_allowed"
    check_review_extras(p, practice_improvements=None, family_informant=None)


def test_fourth_profile_definition_file_loads_beside_the_shipped_ones(tmp_path: Path) -> None:
    for code, shipped in all_profiles().items():
        (tmp_path / f"{code}.json").write_text(json.dumps(shipped.model_dump(mode="json")), encoding="utf-8")
    fourth = fourth_profile()
    (tmp_path / f"{fourth.code}.json").write_text(
        json.dumps(fourth.model_dump(mode="json")), encoding="utf-8"
    )
    loaded = load_profiles(tmp_path)
    assert set(loaded) == {ENGLAND, CARM, REGISTRATION, fourth.code}
    assert transitions(loaded[fourth.code]) == transitions(fourth)


def test_profile_schema_refuses_an_inconsistent_written_step() -> None:
    shipped = profile(ENGLAND)
    data = shipped.model_dump()
    data["dissent"]["written_step"]["actor"] = "chair"  # a chair's step must be a referral
    with pytest.raises(ValueError, match="referral"):
        Profile.model_validate(data)


# ---- deadline status ----------------------------------------------------------------------

DUE = datetime(2025, 12, 29, 23, 59, 59, 999999, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("met_at", "cancelled_at", "now", "expected"),
    [
        (None, None, DUE - SECOND, "pending"),
        (None, None, DUE, "pending"),
        (None, None, DUE + SECOND, "missed"),
        (DUE - SECOND, None, DUE + timedelta(days=3), "met"),
        (DUE, None, DUE + SECOND, "met"),
        (DUE + SECOND, None, DUE + SECOND, "missed"),  # done, but late
        (DUE + SECOND, None, DUE - timedelta(days=1), "missed"),
        (None, DUE - SECOND, DUE - SECOND, "cancelled"),
        (None, DUE - SECOND, DUE + timedelta(days=9), "cancelled"),  # a cancelled one is never missed
        (DUE - timedelta(days=1), DUE - SECOND, DUE + SECOND, "met"),  # met stays met
    ],
)
def test_deadline_status(met_at, cancelled_at, now, expected) -> None:
    assert deadline_status(due_at=DUE, met_at=met_at, cancelled_at=cancelled_at, now=now) == expected


def test_compute_working_and_calendar_day_rules() -> None:
    england = WorkingCalendar("england")
    written = compute(england, profile(ENGLAND).dissent.written_step.deadline, date(2025, 12, 18))
    assert written.due_date == date(2025, 12, 29)
    assert "skipped 2025-12-25 Christmas Day, 2025-12-26 Boxing Day" in written.explanation
    scotland = WorkingCalendar("scotland")
    assert compute(
        scotland, profile(CARM).dissent.written_step.deadline, date(2025, 11, 27)
    ).due_date == date(2025, 12, 5)
    referral = compute(scotland, profile(REGISTRATION).dissent.written_step.deadline, date(2025, 12, 24))
    assert referral.due_date == date(2025, 12, 29)
    response_rule = profile(REGISTRATION).dissent.review.response_deadline
    assert response_rule is not None
    response = compute(scotland, response_rule, date(2025, 11, 27))
    assert response.due_date == date(2025, 12, 25)  # calendar days: a holiday is not skipped
    assert response.due_at == datetime(2025, 12, 25, 23, 59, 59, 999999, tzinfo=UTC)
    meeting_rule = profile(ENGLAND).dissent.review.meeting_deadline
    assert meeting_rule is not None
    assert compute(england, meeting_rule, date(2025, 12, 22)).due_date == date(2025, 12, 31)


# ---- guards -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "allowed"),
    [
        (ENGLAND, {"plan", "category", "registration"}),
        (CARM, {"plan", "category", "registration"}),
        (REGISTRATION, {"registration"}),
    ],
)
def test_check_subject(code: str, allowed: set[str]) -> None:
    for subject in ("plan", "category", "registration", "complaint"):
        if subject in allowed:
            check_subject(profile(code), subject)
        else:
            with pytest.raises(RuleViolation) as info:
                check_subject(profile(code), subject)
            assert info.value.code == "subject_not_allowed"
            assert info.value.status == 422


@pytest.mark.parametrize(
    ("code", "allowed"),
    [
        (ENGLAND, {"uphold", "reconvene"}),
        (CARM, {"uphold", "change_category", "reconvene"}),
        (REGISTRATION, {"uphold", "reconvene"}),
    ],
)
def test_check_outcome(code: str, allowed: set[str]) -> None:
    for outcome in ("uphold", "change_category", "reconvene", "overturn"):
        if outcome in allowed:
            check_outcome(profile(code), outcome)
        else:
            with pytest.raises(RuleViolation) as info:
                check_outcome(profile(code), outcome)
            assert info.value.code == "outcome_not_allowed"
            assert info.value.status == 422


INFORMANT = {"name": "Lee", "role": "Lead social worker"}


@pytest.mark.parametrize(
    ("code", "improvements", "informant", "error"),
    [
        (CARM, "Share reports earlier", INFORMANT, None),
        (CARM, None, INFORMANT, None),
        (CARM, None, None, "family_informant_required"),
        (CARM, "Share reports earlier", None, "family_informant_required"),
        (ENGLAND, None, None, None),
        (ENGLAND, "Share reports earlier", None, "practice_improvements_not_allowed"),
        (ENGLAND, None, INFORMANT, "family_informant_not_allowed"),
        (REGISTRATION, None, None, None),
        (REGISTRATION, "Share reports earlier", None, "practice_improvements_not_allowed"),
        (REGISTRATION, None, INFORMANT, "family_informant_not_allowed"),
    ],
)
def test_check_review_extras(code, improvements, informant, error) -> None:
    if error is None:
        check_review_extras(profile(code), practice_improvements=improvements, family_informant=informant)
    else:
        with pytest.raises(RuleViolation) as info:
            check_review_extras(profile(code), practice_improvements=improvements, family_informant=informant)
        assert info.value.code == error
        assert info.value.status == 422


@pytest.mark.parametrize(
    ("reviewer", "attended", "refused"),
    [
        ("reviewer-1", False, False),  # independent of the meeting
        ("prof-absent", False, False),  # invited, did not attend: took no part in the decision
        ("chair-1", False, True),  # chaired the meeting
        ("prof-1", True, True),  # raised the dissent
        ("prof-2", True, True),  # took part in the meeting
    ],
)
def test_check_reviewer_independent(reviewer: str, attended: bool, refused: bool) -> None:
    def check() -> None:
        check_reviewer_independent(reviewer, chair_id="chair-1", dissenter_id="prof-1", attended=attended)

    if not refused:
        check()
        return
    with pytest.raises(DomainError) as info:
        check()
    assert info.value.code == "reviewer_conflict"
    assert info.value.status == 403


def test_a_dissenter_is_refused_as_reviewer_even_when_not_recorded_as_present() -> None:
    with pytest.raises(DomainError) as info:
        check_reviewer_independent("prof-1", chair_id="chair-1", dissenter_id="prof-1")
    assert info.value.code == "reviewer_conflict"
    assert "raised" in info.value.detail
