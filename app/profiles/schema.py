"""The shape of a procedure profile. A profile is data: adding a procedure means adding a
definition file that validates against this schema, not editing the engine."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.vocab import (
    AppealOutcome,
    Confirmation,
    DeadlineAnchorCode,
    DecisionOutcome,
    DecisionOutcomeCode,
    DissentSubjectCode,
    ReviewOutcome,
    RuleDeadlineKind,
    WrittenDocument,
    WrittenStepStatus,
)

# The documents a procedure's steps can issue, and the step that issues each.
DocumentKind = Literal[
    "dissent_form",  # the dissenter's written dissent on a form (England: Appendix 1)
    "dissent_letter",  # the dissenter's written dissent as a letter to the reviewer
    "referral",  # the chair's written referral of an unresolved dissent
    "review_outcome",  # the reviewer's written note or response
    "appeal",  # a family's appeal, as lodged
    "appeal_response",  # the written response to an appeal
    "minutes_extract",  # the dissents of a meeting, for its minutes
]
DOCUMENT_KINDS: tuple[str, ...] = get_args(DocumentKind)
DocumentStep = Literal[
    "meeting_end", "written_submission", "referral", "review_decision", "appeal_lodged", "appeal_response"
]
STEP_OF_DOCUMENT: dict[str, DocumentStep] = {
    "dissent_form": "written_submission",
    "dissent_letter": "written_submission",
    "referral": "referral",
    "review_outcome": "review_decision",
    "appeal": "appeal_lodged",
    "appeal_response": "appeal_response",
    "minutes_extract": "meeting_end",
}
# Who a document goes to, as the procedures name them; resolved to people when it is issued.
RecipientKind = Literal[
    "dissenter",  # the dissenting professional
    "dissenter_agency",  # the dissenting professional's agency
    "attending_professionals",  # every professional recorded as attending the meeting
    "family",  # the family members and children recorded as attending
    "review_group",  # the group the procedure names (England: Quality, Learning and Practice)
    "chair",  # the meeting's chair
    "reviewer",  # the reviewer (the procedure's reviewer title)
    "child_record",  # each child's record
    "appellant",  # the person who appealed
    "lead_social_worker",  # the lead social worker who lodged an appeal for the family
]
RECIPIENT_KINDS: tuple[str, ...] = get_args(RecipientKind)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Labelled(_Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_]{1,60}$")
    label: str = Field(min_length=1)


class MeetingType(Labelled):
    # A pre-birth meeting is about an unborn baby: it needs at least one unborn child.
    pre_birth: bool = False


class DeadlineRule(_Strict):
    """`working_days` or `calendar_days` after the anchor date."""

    kind: RuleDeadlineKind
    working_days: int | None = Field(default=None, ge=0, le=365)
    calendar_days: int | None = Field(default=None, ge=0, le=365)
    counted_from: DeadlineAnchorCode
    description: str

    @model_validator(mode="after")
    def _one_unit(self) -> DeadlineRule:
        if (self.working_days is None) == (self.calendar_days is None):
            raise ValueError("a deadline has exactly one of working_days or calendar_days")
        return self


class WrittenStep(_Strict):
    """What must happen in writing after a dissent stays unresolved at the end of the meeting."""

    status: WrittenStepStatus
    actor: Literal["dissenter", "chair"]
    # The written document the step takes: England's Dissent Form, the dissenter's letter to
    # the reviewer (Scotland, CARM), or the chair's written referral.
    document: WrittenDocument
    deadline: DeadlineRule
    # A dissenter's own step lapses when missed; the service's own steps stay open, overdue.
    lapses_when_missed: bool
    requires_line_manager_discussion: bool = False
    description: str


class ReviewRules(_Strict):
    reviewer_title: str
    meeting_required: bool
    meeting_deadline: DeadlineRule | None = None
    response_deadline: DeadlineRule | None = None
    outcomes: list[Labelled] = Field(min_length=1)
    practice_improvements: bool
    reconvene_requires_different_chair: bool
    family_informant_required: bool
    family_informed_recorded: bool
    response_recipients: str


class DissentRules(_Strict):
    subjects: list[DissentSubjectCode] = Field(min_length=1)
    written_step: WrittenStep
    review: ReviewRules


class AppealRules(_Strict):
    enabled: bool
    lodge_deadline: DeadlineRule | None = None
    response_deadline: DeadlineRule | None = None
    responder_roles: list[str] = Field(default_factory=list)
    responder_title: str | None = None
    lead_social_worker_may_lodge: bool = False
    appealable_outcomes: list[DecisionOutcomeCode] = Field(default_factory=list)
    outcomes: list[Labelled] = Field(default_factory=list)
    unavailable_detail: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> AppealRules:
        if self.enabled:
            if not (self.lodge_deadline and self.response_deadline and self.responder_roles):
                raise ValueError("enabled appeals need deadlines and responder roles")
            if not self.outcomes or not self.appealable_outcomes:
                raise ValueError("enabled appeals need outcomes and the decisions that can be appealed")
            if not {o.code for o in self.outcomes} <= set(AppealOutcome):
                raise ValueError("unknown appeal outcome")
        elif not self.unavailable_detail:
            raise ValueError("a profile without appeals must say where families can go instead")
        return self


class DocumentRule(_Strict):
    """One kind of document the procedure issues: its title, its template (a path under
    `app/profiles/templates/`) and the kinds of recipient it goes to."""

    title: str = Field(min_length=1, max_length=200)
    template: str = Field(pattern=r"^[a-z0-9_-]{1,60}/[a-z0-9_]{1,60}\.html\.j2$")
    recipients: list[RecipientKind] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> DocumentRule:
        if len(set(self.recipients)) != len(self.recipients):
            raise ValueError("a document lists each recipient kind once")
        return self


class DocumentRules(_Strict):
    """The documents the procedure's steps issue (a kind not listed is not issued)."""

    language: str = Field(default="en-GB", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    review_group: str | None = None  # the name of the `review_group` recipient, when one is named
    kinds: dict[DocumentKind, DocumentRule] = Field(default_factory=dict)

    def for_step(self, step: DocumentStep) -> list[tuple[DocumentKind, DocumentRule]]:
        return [(kind, rule) for kind, rule in self.kinds.items() if STEP_OF_DOCUMENT[kind] == step]


class Routes(_Strict):
    """Where people go for what this service does not handle."""

    professional_challenge: str
    complaints: str


class GuidanceWording(_Strict):
    """Wording of the plain-language guidance that differs between procedures."""

    child_meeting_purpose: str = Field(min_length=1)
    complaints_contact: str = Field(min_length=1, description="Who a complaint is written to")


class Profile(_Strict):
    code: str = Field(pattern=r"^[a-z0-9-]{3,60}$")
    title: str
    description: str
    chair_title: str
    meeting_types: list[MeetingType] = Field(min_length=1)
    categories_term: str
    categories: list[Labelled] = Field(min_length=1)
    max_categories: int | None = Field(default=None, ge=1)
    categories_required_for: list[DecisionOutcomeCode]
    decision_outcome_labels: dict[DecisionOutcomeCode, str]
    end_confirmations: list[Confirmation]
    # Confirmations needed only when a dissent is left unresolved at the end of the meeting
    # (registration: participants advised that the senior manager will consider it).
    end_confirmations_with_unresolved_dissent: list[Confirmation] = Field(default_factory=list)
    dissent: DissentRules
    appeals: AppealRules
    routes: Routes
    guidance: GuidanceWording
    documents: DocumentRules = Field(default_factory=DocumentRules)

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if set(self.decision_outcome_labels) != set(DecisionOutcome):
            raise ValueError("decision_outcome_labels must label all four outcomes")
        for name, items in (("meeting_types", self.meeting_types), ("categories", self.categories)):
            codes = [i.code for i in items]
            if len(codes) != len(set(codes)):
                raise ValueError(f"{name} has duplicate codes")
        outcomes = {o.code for o in self.dissent.review.outcomes}
        if not outcomes <= set(ReviewOutcome):
            raise ValueError("unknown review outcome")
        if self.appeals.enabled != ("appeal_rights_explained" in self.end_confirmations):
            raise ValueError("a profile with appeals must require appeal rights to be explained")
        review = self.dissent.review
        if review.meeting_required and review.meeting_deadline is None:
            raise ValueError("a required review meeting needs a deadline")
        step = self.dissent.written_step
        if (step.actor == "chair") != (step.status == "awaiting_referral"):
            raise ValueError("the chair's written step is a referral; the dissenter's a submission")
        if (step.actor == "chair") != (step.document == "referral"):
            raise ValueError("the chair writes a referral; a dissenter writes a dissent form or letter")
        self._check_documents()
        return self

    def _check_documents(self) -> None:
        kinds = set(self.documents.kinds)
        written = kinds & {"dissent_form", "dissent_letter", "referral"}
        if written - {self.dissent.written_step.document}:
            raise ValueError("the written step issues one document, the one it takes (written_step.document)")
        if not self.appeals.enabled and kinds & {"appeal", "appeal_response"}:
            raise ValueError("appeal documents need appeals enabled")
        needs_group = any("review_group" in r.recipients for r in self.documents.kinds.values())
        if needs_group and not self.documents.review_group:
            raise ValueError("a review_group recipient needs documents.review_group to name it")

    def meeting_type_label(self, code: str) -> str | None:
        return next((m.label for m in self.meeting_types if m.code == code), None)

    @property
    def review_outcome_codes(self) -> list[str]:
        return [o.code for o in self.dissent.review.outcomes]
