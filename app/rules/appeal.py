"""Family appeals (SPEC §6), pure: whether the profile has them, the transition table, and
the checks on lodging and answering an appeal, over the facts a service loaded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.errors import Conflict, RuleViolation
from app.profiles.schema import AppealRules
from app.rules.conference import check_reconvene
from app.vocab import AppealStatus, ConferenceStatus

TRANSITIONS: dict[tuple[AppealStatus, str], AppealStatus] = {
    (AppealStatus.lodged, "respond"): AppealStatus.responded,
}


def next_status(current: str, action: str) -> AppealStatus:
    target = TRANSITIONS.get((AppealStatus(current), action))
    if target is None:
        raise Conflict("this appeal has already been answered", code="invalid_transition")
    return target


def appellant_key(name: str) -> str:
    """The name folded for comparison, so "Jo Smith" and "jo smith " are the same appellant."""
    return " ".join(name.split()).casefold()


def check_available(rules: AppealRules) -> None:
    if not rules.enabled:
        raise RuleViolation(
            rules.unavailable_detail or "this procedure has no family appeal", code="appeals_not_available"
        )


@dataclass(frozen=True, slots=True)
class LodgeFacts:
    """What the service loaded to decide whether an appeal can be lodged."""

    conference_status: str
    child_in_meeting: bool
    lodged_as_professional: bool  # a professional (not the record system) lodging it
    by_lead_social_worker: bool
    decision_outcome: str | None  # the child's current decision at that meeting
    appeal_due_at: datetime | None
    last_day: date | None  # appeal_due_at as the authority's local date
    now: datetime


def check_lodge(rules: AppealRules, facts: LodgeFacts) -> None:
    if facts.conference_status != ConferenceStatus.ended:
        raise Conflict("an appeal can be made once the meeting has ended", code="conference_not_ended")
    if not facts.child_in_meeting:
        raise RuleViolation("that child was not part of this meeting", code="child_not_in_conference")
    if facts.lodged_as_professional and not facts.by_lead_social_worker:
        raise RuleViolation(
            "a professional lodges an appeal as the family's lead social worker: "
            "give lodged_by_lead_social_worker",
            code="validation_error",
        )
    if facts.by_lead_social_worker and not rules.lead_social_worker_may_lodge:
        raise RuleViolation(
            "in this procedure the family lodges the appeal themselves", code="validation_error"
        )
    if facts.decision_outcome is None or facts.decision_outcome not in rules.appealable_outcomes:
        raise RuleViolation(
            "in this procedure these decisions can be appealed: " + ", ".join(rules.appealable_outcomes),
            code="not_appealable",
        )
    if facts.appeal_due_at is None or facts.now > facts.appeal_due_at:
        raise Conflict(
            "the time to appeal this decision has passed"
            + (f" (the last day was {facts.last_day})" if facts.last_day else ""),
            code="deadline_passed",
        )


def check_not_open_twice(clash: object | None) -> None:
    if clash is not None:
        raise Conflict(
            f"this person already has an open appeal for this child ({clash})", code="appeal_exists"
        )


def check_response(rules: AppealRules, *, status: str, outcome: str, reconvene_given: bool) -> None:
    next_status(status, "respond")
    if outcome not in {o.code for o in rules.outcomes}:
        raise RuleViolation("that outcome is not available for appeals here", code="outcome_not_allowed")
    check_reconvene(outcome, reconvene_given=reconvene_given)
