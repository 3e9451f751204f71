"""The dissent state machine and its guards, driven by the profile (pure: no session).
Each `check_*` takes the facts a service loaded and refuses with the problem `code`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.errors import Conflict, DomainError, Forbidden, RuleViolation
from app.profiles.schema import Profile
from app.vocab import AttendeeKind, ConferenceStatus, ReviewOutcome
from app.vocab import DissentStatus as S


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


# ---- raising -------------------------------------------------------------------------------


def check_meeting_open(profile: Profile, conference_status: str) -> None:
    """A dissent is raised during the meeting; after it, the profile names where to go."""
    if conference_status != ConferenceStatus.in_progress:
        detail = (
            profile.routes.professional_challenge
            if conference_status == ConferenceStatus.ended
            else f"a dissent can only be raised while the meeting is in progress (it is {conference_status})"
        )
        raise Conflict(detail, code="conference_not_in_progress")


@dataclass(frozen=True, slots=True)
class RaiseFacts:
    """What the service loaded to decide whether a dissent can be raised."""

    dissenter_id: str
    chair_id: str
    attended_as: str | None  # the dissenter's attendee kind if recorded as attending, else None
    subject: str
    requested_child_ids: Sequence[str] | None
    meeting_child_ids: Sequence[str]
    open_clash_id: object | None  # an open dissent by the same person about the same subject


def check_raise(profile: Profile, facts: RaiseFacts) -> list[str]:
    """Refuse a dissent the procedure does not allow; return the children it is about."""
    # Who may dissent is about the person, not the request's content: 403, not 422.
    if facts.dissenter_id == facts.chair_id:
        raise Forbidden("the chair cannot dissent from their own meeting", code="not_attendee")
    if facts.attended_as != AttendeeKind.professional:
        raise Forbidden(
            "only a professional recorded as attending this meeting can dissent", code="not_attendee"
        )
    check_subject(profile, facts.subject)
    meeting = list(facts.meeting_child_ids)
    child_ids = list(facts.requested_child_ids) if facts.requested_child_ids else meeting
    strays = [c for c in child_ids if c not in meeting]
    if strays or len(set(child_ids)) != len(child_ids):
        raise RuleViolation(
            "child_ids must be children of this meeting, each once", code="child_not_in_conference"
        )
    if facts.open_clash_id is not None:
        raise Conflict(
            f"this person already has an open dissent about {facts.subject} at this meeting "
            f"({facts.open_clash_id})",
            code="dissent_exists",
        )
    return child_ids


# ---- the written step ----------------------------------------------------------------------


def check_submission(
    profile: Profile, *, discussed_with_line_manager: bool, conference_date: date, meeting_date: date
) -> None:
    step = profile.dissent.written_step
    if step.requires_line_manager_discussion and not discussed_with_line_manager:
        raise RuleViolation(
            "discuss the dissent with your line manager and safeguarding lead before submitting it",
            code="line_manager_discussion_required",
        )
    if conference_date != meeting_date:
        raise RuleViolation(
            f"conference_date should be the meeting date, {meeting_date.isoformat()}",
            code="conference_date_mismatch",
        )


# ---- review --------------------------------------------------------------------------------


def check_held_on(held_on: date, today: date, *, received_on: date | None = None) -> None:
    """A review meeting is held once the written dissent (or referral) has arrived, and not
    in the future."""
    if held_on > today:
        raise RuleViolation("held_on cannot be in the future", code="validation_error")
    if received_on is not None and held_on < received_on:
        raise RuleViolation(
            f"held_on is before the written dissent was received ({received_on.isoformat()})",
            code="held_on_before_receipt",
            errors=[{"loc": ["body", "held_on"], "msg": "before the written dissent was received"}],
        )


def check_decision(
    profile: Profile,
    *,
    outcome: str,
    new_categories: Sequence[str] | None,
    practice_improvements: str | None,
    family_informant: object | None,
) -> None:
    """The review decision's parts fit the outcome and the procedure (the reconvened
    meeting's pairing is `rules.conference.check_reconvene`)."""
    check_outcome(profile, outcome)
    check_review_extras(
        profile, practice_improvements=practice_improvements, family_informant=family_informant
    )
    if outcome == ReviewOutcome.change_category and not new_categories:
        raise RuleViolation("changing the category needs new_categories", code="validation_error")
    if outcome != ReviewOutcome.change_category and new_categories:
        raise RuleViolation("new_categories go with the outcome change_category", code="validation_error")


def check_family_informed(
    profile: Profile,
    *,
    status: str,
    already_informed: bool,
    informed_on: date,
    decided_on: date | None,
    today: date,
) -> None:
    if not profile.dissent.review.family_informed_recorded:
        raise RuleViolation(
            "this procedure does not record when the family was told", code="not_in_procedure"
        )
    if status != S.decided:
        raise Conflict("the family is told once the review has decided", code="invalid_transition")
    if already_informed:
        raise Conflict("the family has already been recorded as informed", code="already_recorded")
    if informed_on > today or (decided_on is not None and informed_on < decided_on):
        raise RuleViolation("informed_on must be between the decision and today", code="validation_error")


def lapsed_on_submission() -> Conflict:
    """The written dissent came after its deadline: the lapse found on the way is kept."""
    return Conflict(
        "the deadline for the written dissent has passed; the dissent has lapsed",
        code="deadline_passed",
        keep_changes=True,
    )
