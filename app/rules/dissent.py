"""The dissent state machine and its guards, driven by the profile (pure: no session)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from app.errors import Conflict, DomainError, RuleViolation
from app.models.dissent import DissentStatus as S
from app.profiles.schema import DeadlineRule, Profile
from app.rules.calendar import DeadlineComputation, WorkingCalendar


class Action(StrEnum):
    resolve = "resolve"
    withdraw = "withdraw"
    meeting_ends = "meeting_ends"
    submit = "submit"
    refer = "refer"
    lapse = "lapse"
    review_meeting = "review_meeting"
    decide = "decide"


_BEFORE_DECISION = (
    S.raised,
    S.awaiting_submission,
    S.awaiting_referral,
    S.submitted,
    S.referred,
    S.under_review,
)


def transitions(profile: Profile) -> dict[tuple[S, Action], S]:
    """The full table for one profile. Profile data decides where an unresolved dissent
    goes, whether the written step can lapse and whether a review meeting must come first."""
    step = profile.dissent.written_step
    review = profile.dissent.review
    table: dict[tuple[S, Action], S] = {
        (S.raised, Action.resolve): S.resolved,
        (S.raised, Action.meeting_ends): S(step.status),
        (S.awaiting_submission, Action.submit): S.submitted,
        (S.awaiting_referral, Action.refer): S.referred,
        (S.submitted, Action.review_meeting): S.under_review,
        (S.referred, Action.review_meeting): S.under_review,
        (S.under_review, Action.decide): S.decided,
    }
    for status in _BEFORE_DECISION:
        table[(status, Action.withdraw)] = S.withdrawn
    if step.lapses_when_missed:
        table[(S(step.status), Action.lapse)] = S.lapsed
    if not review.meeting_required:
        table[(S.submitted, Action.decide)] = S.decided
        table[(S.referred, Action.decide)] = S.decided
    # Only the states this profile can reach are kept.
    return {k: v for k, v in table.items() if k[0] in reachable(profile)}


def reachable(profile: Profile) -> set[S]:
    step = S(profile.dissent.written_step.status)
    after_step = S.submitted if step is S.awaiting_submission else S.referred
    states = {S.raised, S.resolved, S.withdrawn, step, after_step, S.under_review, S.decided}
    if profile.dissent.written_step.lapses_when_missed:
        states.add(S.lapsed)
    return states


def next_status(profile: Profile, current: str, action: Action) -> S:
    target = transitions(profile).get((S(current), action))
    if target is None:
        raise Conflict(
            f"a dissent that is {current} cannot be {_PAST[action]} in this procedure",
            code="invalid_transition",
        )
    return target


_PAST = {
    Action.resolve: "resolved",
    Action.withdraw: "withdrawn",
    Action.meeting_ends: "moved on at the end of the meeting",
    Action.submit: "submitted in writing",
    Action.refer: "referred",
    Action.lapse: "lapsed",
    Action.review_meeting: "given a review meeting",
    Action.decide: "decided",
}


def next_step(profile: Profile, status: str) -> str | None:
    """Plain words for what happens next, for portals to show."""
    review = profile.dissent.review
    step = profile.dissent.written_step
    words = {
        S.raised: f"The {profile.chair_title} will try to resolve this in the meeting.",
        S.awaiting_submission: step.description,
        S.awaiting_referral: step.description,
        S.submitted: (
            f"The {review.reviewer_title} will hold a review meeting."
            if review.meeting_required
            else f"The {review.reviewer_title} will review the dissent and decide."
        ),
        S.referred: f"The {review.reviewer_title} will review the dissent and decide.",
        S.under_review: f"The {review.reviewer_title} will decide.",
    }
    return words.get(S(status))


def check_subject(profile: Profile, subject: str) -> None:
    if subject not in profile.dissent.subjects:
        allowed = ", ".join(profile.dissent.subjects)
        raise RuleViolation(
            f"in this procedure a dissent can only be about: {allowed}", code="subject_not_allowed"
        )


def check_outcome(profile: Profile, outcome: str) -> None:
    if outcome not in profile.review_outcome_codes:
        allowed = ", ".join(profile.review_outcome_codes)
        raise RuleViolation(
            f"this procedure allows these review outcomes: {allowed}", code="outcome_not_allowed"
        )


def check_review_extras(
    profile: Profile, *, practice_improvements: str | None, family_informant: object | None
) -> None:
    review = profile.dissent.review
    if practice_improvements and not review.practice_improvements:
        raise RuleViolation(
            "this procedure does not record practice improvements with a review decision",
            code="practice_improvements_not_allowed",
        )
    if review.family_informant_required and family_informant is None:
        raise RuleViolation(
            "name the person who will tell the family about the outcome (family_informant)",
            code="family_informant_required",
        )
    if not review.family_informant_required and family_informant is not None:
        raise RuleViolation(
            "this procedure does not name a family informant", code="family_informant_not_allowed"
        )


def check_reviewer_independent(
    reviewer_id: str, *, chair_id: str, dissenter_id: str, attended: bool = False
) -> None:
    """The review is an independent look at a decision the meeting took: whoever chaired the
    meeting, raised the dissent, or took part in the meeting (an attendee recorded as
    present) may not review it. Someone invited who did not attend may."""
    if reviewer_id == chair_id:
        reason = "a reviewer may not decide a dissent about a meeting they chaired"
    elif reviewer_id == dissenter_id:
        reason = "a reviewer may not decide a dissent they raised themselves"
    elif attended:
        reason = "a reviewer may not decide a dissent about a meeting they took part in"
    else:
        return
    raise DomainError(reason, code="reviewer_conflict", status=403)


def compute(calendar: WorkingCalendar, rule: DeadlineRule, start: date) -> DeadlineComputation:
    if rule.working_days is not None:
        return calendar.add_working_days(start, rule.working_days)
    return calendar.add_calendar_days(start, rule.calendar_days or 0)


def deadline_status(
    *, due_at: datetime, met_at: datetime | None, cancelled_at: datetime | None, now: datetime
) -> Literal["pending", "met", "missed", "cancelled"]:
    if met_at is not None:
        return "met" if met_at <= due_at else "missed"
    if cancelled_at is not None:
        return "cancelled"
    return "missed" if now > due_at else "pending"
