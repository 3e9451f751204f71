"""Unit tests for the rules the reshape gathered into app/rules/: a deadline's anchor
(`counted_from`), the overdue rule, the appeal checks, the raise checks and the access
guards. Each allows what it should and refuses with the problem `code`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.errors import Conflict, Forbidden, RuleViolation
from app.principal import Principal
from app.profiles import get_profile
from app.profiles.schema import DeadlineRule, Profile
from app.rules import access, appeal, deadline
from app.rules.calendar import WorkingCalendar
from app.rules.conference import check_reconvene
from app.rules.dissent import RaiseFacts, check_raise

MEETING = date(2025, 12, 1)  # a Monday
RECEIVED = date(2025, 12, 10)
NOW = datetime(2025, 12, 15, 12, tzinfo=UTC)


def _profile(code: str) -> Profile:
    found = get_profile(code)
    assert found is not None
    return found


def _rule(counted_from: str) -> DeadlineRule:
    return DeadlineRule.model_validate(
        {"kind": "review_response", "working_days": 5, "counted_from": counted_from, "description": "d"}
    )


@pytest.mark.parametrize(("counted_from", "expected"), [("meeting_date", MEETING), ("received", RECEIVED)])
def test_a_deadline_counts_from_the_anchor_its_rule_names(counted_from: str, expected: date) -> None:
    rule = _rule(counted_from)
    assert deadline.anchor(rule, meeting_date=MEETING, received=RECEIVED) == expected
    started = deadline.start(
        WorkingCalendar("england", "Europe/London", []), rule, meeting_date=MEETING, received=RECEIVED
    )
    assert started.start_date == expected
    assert started.due_date > expected
    assert started.approaching_at < started.due_at


def test_overdue_needs_an_open_subject_and_an_open_deadline_past_due() -> None:
    late = SimpleNamespace(due_at=NOW - timedelta(hours=1), met_at=None, cancelled_at=None)
    met = SimpleNamespace(due_at=NOW - timedelta(hours=1), met_at=NOW - timedelta(days=1), cancelled_at=None)
    assert deadline.overdue(still_open=True, deadlines=[met, late], now=NOW)
    assert not deadline.overdue(still_open=False, deadlines=[late], now=NOW)
    assert not deadline.overdue(still_open=True, deadlines=[met], now=NOW)


def _lodge(**changes: object) -> appeal.LodgeFacts:
    facts = {
        "conference_status": "ended",
        "child_in_meeting": True,
        "lodged_as_professional": False,
        "by_lead_social_worker": False,
        "decision_outcome": "register",
        "appeal_due_at": NOW + timedelta(days=1),
        "last_day": date(2025, 12, 16),
        "now": NOW,
    }
    return appeal.LodgeFacts(**{**facts, **changes})  # type: ignore[arg-type]


def test_appeal_lodging_allowed_and_refused() -> None:
    rules = _profile("scotland-cppm-registration").appeals
    appeal.check_lodge(rules, _lodge())
    refusals = {
        "conference_not_ended": _lodge(conference_status="in_progress"),
        "child_not_in_conference": _lodge(child_in_meeting=False),
        "validation_error": _lodge(lodged_as_professional=True),
        "not_appealable": _lodge(decision_outcome=None),
        "deadline_passed": _lodge(appeal_due_at=NOW - timedelta(seconds=1)),
    }
    for code, facts in refusals.items():
        with pytest.raises((Conflict, RuleViolation)) as caught:
            appeal.check_lodge(rules, facts)
        assert caught.value.code == code


def test_only_the_decisions_the_profile_lists_are_appealable() -> None:
    """Registration lists all four decisions (issue 13); a procedure listing fewer refuses
    the others, naming what can be appealed."""
    rules = _profile("scotland-cppm-registration").appeals
    for outcome in ("register", "continue", "deregister", "not_register"):
        appeal.check_lodge(rules, _lodge(decision_outcome=outcome))
    narrower = rules.model_copy(update={"appealable_outcomes": ["register", "continue"]})
    with pytest.raises(RuleViolation) as caught:
        appeal.check_lodge(narrower, _lodge(decision_outcome="deregister"))
    assert caught.value.code == "not_appealable"
    assert "register, continue" in caught.value.detail


def test_appeal_response_and_the_reconvene_pairing() -> None:
    rules = _profile("scotland-cppm-registration").appeals
    appeal.check_response(rules, status="lodged", outcome="reconvene", reconvene_given=True)
    with pytest.raises(Conflict) as answered:
        appeal.check_response(rules, status="responded", outcome="reconvene", reconvene_given=True)
    assert answered.value.code == "invalid_transition"
    with pytest.raises(RuleViolation) as unpaired:
        check_reconvene("decision_confirmed", reconvene_given=True)
    assert unpaired.value.code == "validation_error"
    with pytest.raises(RuleViolation) as closed:
        appeal.check_available(_profile("england-cp-conference").appeals)
    assert closed.value.code == "appeals_not_available"


def _raise(**changes: object) -> RaiseFacts:
    facts = {
        "dissenter_id": "pro-1",
        "chair_id": "chair-1",
        "attended_as": "professional",
        "subject": "plan",
        "requested_child_ids": None,
        "meeting_child_ids": ["c1", "c2"],
        "open_clash_id": None,
    }
    return RaiseFacts(**{**facts, **changes})  # type: ignore[arg-type]


def test_raise_checks_allow_and_refuse() -> None:
    profile = _profile("england-cp-conference")
    assert check_raise(profile, _raise()) == ["c1", "c2"]
    assert check_raise(profile, _raise(requested_child_ids=["c2"])) == ["c2"]
    refusals = {
        "not_attendee": _raise(attended_as=None),
        "child_not_in_conference": _raise(requested_child_ids=["c1", "c1"]),
        "dissent_exists": _raise(open_clash_id="x"),
    }
    for code, facts in refusals.items():
        with pytest.raises((Conflict, Forbidden, RuleViolation)) as caught:
            check_raise(profile, facts)
        assert caught.value.code == code
    with pytest.raises(Forbidden):  # who may dissent is about the person: 403 (issue 13)
        check_raise(profile, _raise(attended_as="family"))


def _who(sub: str, *roles: str) -> Principal:
    return Principal(sub=sub, name=sub, roles=frozenset(roles), agency=None, authority="a")


def test_access_guards() -> None:
    assert access.dissenter_for(_who("pro-1", "professional"), chair_id="chair-1", named=None) == "pro-1"
    assert access.dissenter_for(_who("chair-1", "chair"), chair_id="chair-1", named="pro-2") == "pro-2"
    with pytest.raises(Forbidden):
        access.dissenter_for(_who("pro-1", "professional"), chair_id="chair-1", named="pro-2")
    access.require_withdrawer(_who("c", "chair"), dissenter_id="p", chair_id="c", in_meeting=True)
    with pytest.raises(Forbidden):
        access.require_withdrawer(_who("c", "chair"), dissenter_id="p", chair_id="c", in_meeting=False)
    assert access.can_read_authority(_who("x", "system_admin"), "other")
    assert not access.can_read_authority(_who("x", "admin"), "other")
