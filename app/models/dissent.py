"""Professional dissents, the deadlines that govern them, and the child's record entries."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from app.models.base import (
    IsoDate,
    IsoDateTime,
    fk,
    id_field,
    in_list,
    in_service_range,
    json_field,
    partial_index,
    utc,
    version_column,
)
from app.models.conference import CategoryCode
from app.models.procedure import ProcedureRef
from app.models.written_step import SubmittedDocument
from app.text import SafeText
from app.vocab import (
    OPEN_STATUSES,
    DeadlineKind,
    DeadlineStatusCode,
    DissentStatus,
    DissentSubject,
    DissentSubjectCode,
    RecordEntryKind,
    ReviewOutcomeCode,
)

_OPEN_SQL = "status IN (" + ", ".join(f"'{s.value}'" for s in OPEN_STATUSES) + ")"

_version = version_column()


class Dissent(SQLModel, table=True):
    __tablename__ = "dissent"
    __table_args__ = (
        in_list("status", [s.value for s in DissentStatus], "status"),
        in_list("subject", [s.value for s in DissentSubject], "subject"),
        # One open dissent per person, conference and subject, whatever races happen.
        partial_index(
            "uq_dissent_open_per_subject",
            "conference_id",
            "dissenter_id",
            "subject",
            where=_OPEN_SQL,
            unique=True,
        ),
        # The dissents that can lapse (see lapse_due_at).
        partial_index(
            "ix_dissent_lapse_due", "authority_id", "lapse_due_at", where="lapse_due_at IS NOT NULL"
        ),
        # List pages: newest first (id order) within the authority, a status or a dissenter,
        # read in index order so a page costs the same at any table size.
        sa.Index("ix_dissent_authority_id_id", "authority_id", "id"),
        sa.Index("ix_dissent_authority_id_status_id", "authority_id", "status", "id"),
        sa.Index("ix_dissent_authority_id_dissenter_id_id", "authority_id", "dissenter_id", "id"),
        sa.Index("ix_dissent_conference_id", "conference_id"),
        # Reports group dissents by meeting date without touching conferences.
        sa.Index(
            "ix_dissent_authority_id_meeting_date",
            "authority_id",
            "meeting_date",
            # covering on PostgreSQL: the summary report is an index-only scan
            postgresql_include=["meeting_type", "subject", "status", "outcome", "dissenter_agency"],
        ),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    conference_id: uuid.UUID = fk("conference.id", index=False)
    # Copied from the conference when raised (fixed by then), for reporting.
    meeting_date: date
    meeting_type: str = Field(max_length=60)
    child_ids: list[str] = json_field()
    subject: str = Field(max_length=20)
    reasons: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    dissenter_id: str = Field(max_length=200)
    dissenter_name: str = Field(max_length=200)
    dissenter_role_title: str = Field(max_length=200)
    dissenter_agency: str = Field(max_length=200)
    raised_by: str = Field(max_length=200)
    status: str = Field(max_length=30)
    raised_at: datetime = utc(nullable=False)
    resolved_at: datetime | None = utc()
    resolution_summary: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    withdrawn_at: datetime | None = utc()
    withdrawal_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    unresolved_at: datetime | None = utc()
    # The written step's deadline while the dissent waits on a step that lapses when missed
    # (a copy of that deadline's due_at; empty otherwise), so finding the dissents to lapse
    # reads a small partial index instead of every open deadline.
    lapse_due_at: datetime | None = utc()
    submitted_at: datetime | None = utc()
    submission: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))
    referred_at: datetime | None = utc()
    referral_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    # The rest of the chair's written referral: the precise nature of the agency's dissent and
    # the course of action agreed with the senior manager ({nature_of_dissent, ...}).
    referral: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))
    # The decisions the dissent was raised against, as they stood then: [{child_id, decision_id,
    # outcome, categories}]. A decision replaced later in the meeting does not change this.
    raised_against: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False, server_default="[]")
    )
    lapsed_at: datetime | None = utc()
    review_meeting_held_on: date | None = None
    review_meeting_members: list[str] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON(), nullable=True)
    )
    review_meeting_recorded_at: datetime | None = utc()
    decided_at: datetime | None = utc()
    decided_by: str | None = Field(default=None, max_length=200)
    outcome: str | None = Field(default=None, max_length=30)
    new_categories: list[str] | None = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))
    practice_improvements: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    written_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    family_informant: dict[str, str] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON(), nullable=True)
    )
    family_informed_by: str | None = Field(default=None, max_length=200)
    family_informed_on: date | None = None
    # Why someone other than the person the reviewer named told the family.
    family_informed_other_reason: str | None = Field(
        default=None, sa_column=sa.Column(sa.Text(), nullable=True)
    )
    reconvened_conference_id: uuid.UUID | None = fk("conference.id", nullable=True, index=False)
    version: int = Field(default=1, sa_column=_version)
    created_at: datetime = utc(nullable=False, default_now=True)
    updated_at: datetime = utc(nullable=False, default_now=True)

    __mapper_args__ = {"version_id_col": _version}


class Deadline(SQLModel, table=True):
    """One procedural deadline, stored when it starts so sweeps and reports query it by
    `due_at` without recomputing calendars."""

    __tablename__ = "deadline"
    __table_args__ = (
        in_list("kind", [k.value for k in DeadlineKind], "kind"),
        sa.UniqueConstraint("subject_id", "kind"),
        sa.Index("ix_deadline_authority_id_kind_due_at", "authority_id", "kind", "due_at"),
        sa.Index(
            "ix_deadline_open_due_at",
            "due_at",
            postgresql_where=sa.text("met_at IS NULL AND cancelled_at IS NULL"),
        ),
        # The overdue report: open steps that stay open when missed, by authority and due time.
        sa.Index(
            "ix_deadline_overdue",
            "authority_id",
            "due_at",
            sqlite_where=sa.text("met_at IS NULL AND cancelled_at IS NULL AND lapses = 0"),
            postgresql_where=sa.text("met_at IS NULL AND cancelled_at IS NULL AND NOT lapses"),
        ),
        sa.Index(
            "ix_deadline_authority_id_due_date",
            "authority_id",
            "due_date",
            # covering on PostgreSQL: the timeliness report is an index-only scan
            postgresql_include=["kind", "days_taken", "met_at", "due_at", "cancelled_at"],
        ),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    subject_kind: str = Field(max_length=20)
    subject_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    kind: str = Field(max_length=30)
    responsible_role: str = Field(max_length=30)
    lapses: bool = False
    start_date: date
    due_date: date
    due_at: datetime = utc(nullable=False)
    explanation: str = Field(max_length=1000)
    # Start of the working day before the due date: when `deadline.approaching` is sent.
    approaching_at: datetime = utc(nullable=False)
    met_at: datetime | None = utc()
    # Working days from the start date to the day it was met; stored when met, for reports.
    days_taken: int | None = None
    cancelled_at: datetime | None = utc()
    approaching_notified_at: datetime | None = utc()
    missed_notified_at: datetime | None = utc()
    created_at: datetime = utc(nullable=False, default_now=True)


class ChildRecordEntry(SQLModel, table=True):
    """A line in the child's timeline."""

    __tablename__ = "child_record_entry"
    __table_args__ = (
        in_list("kind", [k.value for k in RecordEntryKind], "kind"),
        sa.Index("ix_child_record_entry_child_id_occurred_at", "child_id", "occurred_at"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    child_id: uuid.UUID = fk("child.id", index=False)
    kind: str = Field(max_length=30)
    occurred_at: datetime = utc(nullable=False)
    conference_id: uuid.UUID | None = fk("conference.id", nullable=True, index=False)
    source_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid(), nullable=True))
    summary: str = Field(max_length=500)
    text: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    data: dict[str, Any] = json_field(default_factory=dict)


# ---- API schemas ---------------------------------------------------------------------------

LongText = PField(min_length=1, max_length=20000)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DissentCreate(_In):
    subject: DissentSubjectCode
    child_ids: list[uuid.UUID] | None = PField(
        default=None, max_length=20, description="Defaults to every child in the meeting"
    )
    reasons: SafeText = LongText
    attendee_person_id: SafeText | None = PField(
        default=None, max_length=200, description="The chair raising it on an attendee's behalf names them"
    )


class ResolutionIn(_In):
    summary: SafeText = LongText


class WithdrawalIn(_In):
    reason: SafeText = LongText


class ReviewMeetingIn(_In):
    held_on: IsoDate
    members: list[Annotated[SafeText, PField(min_length=1, max_length=200)]] = PField(
        min_length=1, max_length=30
    )


class FamilyInformant(_In):
    name: SafeText = PField(min_length=1, max_length=200)
    role: SafeText = PField(min_length=1, max_length=200)


class ReconveneIn(_In):
    scheduled_start: Annotated[IsoDateTime, AfterValidator(in_service_range)]
    chair_id: SafeText = PField(min_length=1, max_length=200)
    chair_name: SafeText = PField(min_length=1, max_length=200)


class ReviewDecisionIn(_In):
    outcome: ReviewOutcomeCode
    new_categories: list[CategoryCode] | None = PField(default=None, max_length=20)
    practice_improvements: SafeText | None = PField(default=None, max_length=20000)
    written_note: SafeText = LongText
    family_informant: FamilyInformant | None = None
    reconvene: ReconveneIn | None = PField(
        default=None, description="The reconvened meeting's time and chair, with outcome reconvene"
    )


class FamilyInformedIn(_In):
    informed_by: SafeText = PField(min_length=1, max_length=200)
    informed_on: IsoDate
    other_informant_reason: SafeText | None = PField(
        default=None,
        min_length=1,
        max_length=2000,
        description="Why someone other than the person the reviewer named told the family",
    )


class DeadlinePublic(BaseModel):
    kind: DeadlineKind
    due_at: datetime
    due_date: date
    status: DeadlineStatusCode
    met_at: datetime | None
    explanation: str
    responsible_role: str


class NextDeadline(BaseModel):
    """The item's next open deadline: the earliest neither met nor cancelled."""

    kind: DeadlineKind
    due_at: datetime
    due_date: date
    status: Literal["pending", "missed"]  # an open deadline is one or the other


class DissenterPublic(BaseModel):
    person_id: str
    name: str
    role_title: str
    agency: str


class ReferralDetails(BaseModel):
    nature_of_dissent: str | None
    course_of_action: str | None
    senior_manager: str | None


class DecisionSnapshot(BaseModel):
    decision_id: uuid.UUID
    outcome: str
    categories: list[str]


class DissentDecision(BaseModel):
    """For one child: the decision the dissent was raised against, beside the current one."""

    child_id: uuid.UUID
    raised_against: DecisionSnapshot | None
    current: DecisionSnapshot | None
    changed: bool


class FamilyInformantPublic(BaseModel):
    """Who the reviewer named to tell the family of the outcome."""

    name: str
    role: str


class DissentHistoryItem(BaseModel):
    type: str
    occurred_at: datetime


class DissentSummary(BaseModel):
    id: uuid.UUID
    conference_id: uuid.UUID
    subject: str
    status: DissentStatus
    dissenter: DissenterPublic
    raised_at: datetime
    overdue: bool
    next_deadline: NextDeadline | None = PField(
        description="The next open deadline (null when none is open); `sort=due` orders by it"
    )
    version: int


class DissentPublic(DissentSummary):
    procedure: ProcedureRef = PField(description="The procedure and version this runs under, to the end")
    child_ids: list[uuid.UUID]
    reasons: str
    raised_by: str
    next_step: str | None
    resolution_summary: str | None
    resolved_at: datetime | None
    withdrawal_reason: str | None
    withdrawn_at: datetime | None
    submission: SubmittedDocument | None = PField(
        description="The written dissent as submitted: the document the procedure names, told apart by `form`"
    )
    submitted_at: datetime | None
    referral_note: str | None
    referral: ReferralDetails | None
    referred_at: datetime | None
    lapsed_at: datetime | None
    review_meeting_held_on: date | None
    review_meeting_members: list[str] | None
    outcome: str | None
    new_categories: list[str] | None
    practice_improvements: str | None
    written_note: str | None
    decided_at: datetime | None
    family_informant: FamilyInformantPublic | None
    family_informed_by: str | None
    family_informed_on: date | None
    family_informed_other_reason: str | None
    reconvened_conference_id: uuid.UUID | None
    decisions: list[DissentDecision]
    deadlines: list[DeadlinePublic]
    history: list[DissentHistoryItem]
