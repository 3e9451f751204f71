"""The code lists, each defined once: imported by the profile schema, the models (columns,
CHECK constraints, API schemas), the rules and so the OpenAPI enums.

Each list is a `StrEnum`. Where an API schema or the profile schema shows a list inline (an
`enum` in the field, not a named component), it uses the list's `Literal` twin beside it:
pydantic renders a `Literal` inline and a `StrEnum` as a component, and the published OpenAPI
keeps its shape. `_same()` ties each twin to its list when this module is imported, so the
two can never drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, get_args


def _same(literal: Any, values: Any) -> None:
    if set(get_args(literal)) != {str(v) for v in values}:  # pragma: no cover - import-time guard
        raise RuntimeError(f"code list {literal} differs from {sorted(map(str, values))}")


# ---- conferences ---------------------------------------------------------------------------


class ConferenceStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    ended = "ended"
    cancelled = "cancelled"


class AttendeeKind(StrEnum):
    professional = "professional"
    family = "family"
    child = "child"
    other = "other"


class DecisionOutcome(StrEnum):
    register = "register"
    continue_ = "continue"
    deregister = "deregister"
    not_register = "not_register"


DecisionOutcomeCode = Literal["register", "continue", "deregister", "not_register"]
_same(DecisionOutcomeCode, DecisionOutcome)

Confirmation = Literal["dissent_invitation", "appeal_rights_explained", "participants_advised"]

# ---- dissents ------------------------------------------------------------------------------


class DissentStatus(StrEnum):
    raised = "raised"
    resolved = "resolved"
    withdrawn = "withdrawn"
    awaiting_submission = "awaiting_submission"
    awaiting_referral = "awaiting_referral"
    submitted = "submitted"
    referred = "referred"
    under_review = "under_review"
    decided = "decided"
    lapsed = "lapsed"


OPEN_STATUSES = (
    DissentStatus.raised,
    DissentStatus.awaiting_submission,
    DissentStatus.awaiting_referral,
    DissentStatus.submitted,
    DissentStatus.referred,
    DissentStatus.under_review,
)

#: The written document a procedure's written step takes: England's Dissent Form, the
#: dissenter's letter to the reviewer (CARM), or the chair's written referral.
WrittenDocument = Literal["dissent_form", "dissent_letter", "referral"]

WrittenStepStatus = Literal["awaiting_submission", "awaiting_referral"]
_same(WrittenStepStatus, (DissentStatus.awaiting_submission, DissentStatus.awaiting_referral))


class DissentSubject(StrEnum):
    plan = "plan"
    category = "category"
    registration = "registration"


DissentSubjectCode = Literal["plan", "category", "registration"]
_same(DissentSubjectCode, DissentSubject)


class ReviewOutcome(StrEnum):
    uphold = "uphold"
    change_category = "change_category"
    reconvene = "reconvene"


ReviewOutcomeCode = Literal["uphold", "change_category", "reconvene"]
_same(ReviewOutcomeCode, ReviewOutcome)

# ---- deadlines -----------------------------------------------------------------------------


# The steps whose deadlines are stored as `deadline` rows (a comment, not a docstring: the
# docstring would become the OpenAPI component's description).
class DeadlineKind(StrEnum):
    written_submission = "written_submission"
    referral = "referral"
    review_meeting = "review_meeting"
    review_response = "review_response"
    appeal_response = "appeal_response"


#: The family's last day to appeal: a profile deadline shown on the conference, never a row.
APPEAL_LODGING = "appeal_lodging"

#: Every kind a profile's deadline rule may name: the stored kinds and the appeal lodging.
RuleDeadlineKind = Literal[
    "written_submission",
    "referral",
    "review_meeting",
    "review_response",
    "appeal_response",
    "appeal_lodging",
]
_same(RuleDeadlineKind, [*DeadlineKind, APPEAL_LODGING])


# The date a deadline is counted from.
class DeadlineAnchor(StrEnum):
    meeting_date = "meeting_date"
    received = "received"


DeadlineAnchorCode = Literal["meeting_date", "received"]
_same(DeadlineAnchorCode, DeadlineAnchor)


class DeadlineStatus(StrEnum):
    pending = "pending"
    met = "met"
    missed = "missed"
    cancelled = "cancelled"


DeadlineStatusCode = Literal["pending", "met", "missed", "cancelled"]
_same(DeadlineStatusCode, DeadlineStatus)

# ---- appeals and complaints ----------------------------------------------------------------


class AppealStatus(StrEnum):
    lodged = "lodged"
    responded = "responded"


class AppealOutcome(StrEnum):
    decision_confirmed = "decision_confirmed"
    reconvene = "reconvene"


AppealOutcomeCode = Literal["decision_confirmed", "reconvene"]
_same(AppealOutcomeCode, AppealOutcome)


class Relationship(StrEnum):
    child = "child"
    young_person = "young_person"
    parent = "parent"
    carer = "carer"
    expectant_parent = "expectant_parent"
    other_family = "other_family"


ComplaintAbout = Literal["practitioner", "service"]

# ---- the child's record --------------------------------------------------------------------


class RecordEntryKind(StrEnum):
    decision = "decision"
    amended_decision = "amended_decision"
    review_note = "review_note"
    appeal_response = "appeal_response"


# ---- authorities ---------------------------------------------------------------------------

Jurisdiction = Literal["england", "wales", "scotland", "northern_ireland"]
JURISDICTIONS: tuple[str, ...] = get_args(Jurisdiction)
