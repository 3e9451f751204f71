"""Conference lifecycle rules: the transition table and what ending a meeting needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.errors import Conflict, RuleViolation
from app.profiles.schema import Profile
from app.vocab import ConferenceStatus as S

TRANSITIONS: dict[tuple[S, str], S] = {
    (S.scheduled, "start"): S.in_progress,
    (S.scheduled, "cancel"): S.cancelled,
    (S.in_progress, "end"): S.ended,
}


def next_status(current: str, action: str) -> S:
    target = TRANSITIONS.get((S(current), action))
    if target is None:
        raise Conflict(
            f"a conference that is {current} cannot be asked to {action}", code="invalid_transition"
        )
    return target


def require_in_progress(status: str, what: str) -> None:
    if status != S.in_progress:
        raise Conflict(
            f"{what} only while the meeting is in progress (it is {status})",
            code="conference_not_in_progress",
        )


def require_open(status: str, what: str) -> None:
    if status not in (S.scheduled, S.in_progress):
        raise Conflict(f"{what} only until the meeting ends (it is {status})", code="conference_closed")


@dataclass(frozen=True)
class EndCheck:
    code: str
    detail: str


_CONFIRMATIONS = {
    "dissent_invitation": (
        "dissent_invitation_required",
        "ask the meeting whether anyone wishes to dissent",
    ),
    "appeal_rights_explained": (
        "appeal_rights_explanation_required",
        "tell the family about their right of appeal",
    ),
    "participants_advised": (
        "participants_advised_required",
        "advise the participants that the unresolved dissent will be considered by the reviewer",
    ),
}


def end_blockers(
    profile: Profile,
    *,
    child_ids: Iterable[str],
    decided_child_ids: set[str],
    dissent_invited: bool,
    appeal_rights_explained: bool,
    participants_advised: bool = False,
    unresolved_dissent: bool = False,
) -> list[EndCheck]:
    """Everything that stops the chair ending the meeting, in the order to fix them.
    `unresolved_dissent`: a dissent is still open (the profile may ask for more then)."""
    confirmed = {
        "dissent_invitation": dissent_invited,
        "appeal_rights_explained": appeal_rights_explained,
        "participants_advised": participants_advised,
    }
    blockers: list[EndCheck] = []
    missing = [c for c in child_ids if c not in decided_child_ids]
    if missing:
        blockers.append(
            EndCheck("decisions_missing", f"record a decision for every child first: {', '.join(missing)}")
        )
    needed = list(profile.end_confirmations)
    if unresolved_dissent:
        needed += [c for c in profile.end_confirmations_with_unresolved_dissent if c not in needed]
    for confirmation in needed:
        if not confirmed[confirmation]:
            code, what = _CONFIRMATIONS[confirmation]
            blockers.append(EndCheck(code, f"before ending the meeting, {what} and record it"))
    return blockers


def check_meeting_children(profile: Profile, *, meeting_type: str, unborn: int) -> None:
    """A pre-birth meeting is about an unborn baby: at least one of its children is unborn."""
    kind = next((m for m in profile.meeting_types if m.code == meeting_type), None)
    if kind is not None and kind.pre_birth and unborn == 0:
        raise RuleViolation(
            f"a {kind.label} needs an unborn child (one recorded with only an expected date of birth)",
            code="unborn_child_required",
        )


def check_attendee(*, kind: str, agency: str | None) -> None:
    """A professional attends for an agency; family members, children and others have none."""
    if kind == "professional" and agency is None:
        raise RuleViolation(
            "a professional attends for an agency: agency is required",
            errors=[{"loc": ["body", "agency"], "msg": "required for a professional", "type": "value_error"}],
        )


def check_decision(
    profile: Profile,
    *,
    outcome: str,
    categories: list[str],
    extra_category_codes: Iterable[str] = (),
) -> None:
    """The profile's rules for a child's decision (categories of concern)."""
    known = {c.code for c in profile.categories} | set(extra_category_codes)
    unknown = [c for c in categories if c not in known]
    if unknown:
        raise RuleViolation(
            f"unknown {profile.categories_term} in this procedure: {', '.join(unknown)}",
            code="unknown_category",
        )
    if len(set(categories)) != len(categories):
        raise RuleViolation("a category is listed twice", code="validation_error")
    if outcome in profile.categories_required_for and not categories:
        raise RuleViolation(
            f"a decision to {outcome} needs at least one {profile.categories_term}",
            code="categories_required",
        )
    if outcome not in profile.categories_required_for and categories:
        raise RuleViolation(
            f"a decision to {outcome} takes no {profile.categories_term}", code="categories_not_allowed"
        )
    if profile.max_categories is not None and len(categories) > profile.max_categories:
        raise RuleViolation(
            f"this procedure records at most {profile.max_categories} {profile.categories_term}",
            code="too_many_categories",
        )


def check_different_chair(profile: Profile, *, original_chair_id: str | None, chair_id: str) -> None:
    if (
        original_chair_id is not None
        and profile.dissent.review.reconvene_requires_different_chair
        and original_chair_id == chair_id
    ):
        raise RuleViolation(
            "a reconvened meeting in this procedure must have a different chair from the original",
            code="same_chair_not_allowed",
        )


def check_reconvene(outcome: str, *, reconvene_given: bool) -> None:
    """The outcome `reconvene` (of a dissent review or an appeal) comes with the new
    meeting's time and chair, and only it does."""
    if (outcome == "reconvene") != reconvene_given:
        raise RuleViolation(
            "the outcome reconvene needs `reconvene` (time and chair of the new meeting), and only it does",
            code="validation_error",
        )
