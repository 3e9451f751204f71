"""The shape of a procedure profile. A profile is data: adding a procedure means adding a
definition file that validates against this schema, not editing the engine."""

from __future__ import annotations

from typing import Literal

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
        return self

    def meeting_type_label(self, code: str) -> str | None:
        return next((m.label for m in self.meeting_types if m.code == code), None)

    @property
    def review_outcome_codes(self) -> list[str]:
        return [o.code for o in self.dissent.review.outcomes]
