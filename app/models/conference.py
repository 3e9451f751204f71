"""Conferences (meetings), their children, attendees and per-child decisions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from app.models.base import (
    IsoDateTime,
    fk,
    id_field,
    in_list,
    in_service_range,
    json_field,
    utc,
    version_column,
)
from app.models.procedure import ProcedureRef
from app.text import SafeText
from app.vocab import AttendeeKind, ConferenceStatus, DecisionOutcome

MAX_CHILDREN_PER_CONFERENCE = 20


_version = version_column()


class Conference(SQLModel, table=True):
    __tablename__ = "conference"
    __table_args__ = (
        in_list("status", [s.value for s in ConferenceStatus], "status"),
        sa.Index("ix_conference_authority_id_status", "authority_id", "status"),
        sa.Index("ix_conference_authority_id_chair_id", "authority_id", "chair_id"),
        sa.Index("ix_conference_authority_id_meeting_date", "authority_id", "meeting_date"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    meeting_type: str = Field(max_length=60)
    status: str = Field(default=ConferenceStatus.scheduled, max_length=20)
    scheduled_start: datetime = utc(nullable=False)
    # The authority-local date deadlines count from: the scheduled date until the meeting
    # starts, then the date it actually started.
    meeting_date: date
    chair_id: str = Field(max_length=200)
    chair_name: str = Field(max_length=200)
    reconvened_from_id: uuid.UUID | None = fk("conference.id", nullable=True)
    started_at: datetime | None = utc()
    ended_at: datetime | None = utc()
    cancelled_at: datetime | None = utc()
    dissent_invited_at: datetime | None = utc()
    appeal_rights_explained_at: datetime | None = utc()
    participants_advised_at: datetime | None = utc()
    appeal_due_at: datetime | None = utc(index=True)
    appeal_due_explanation: str | None = Field(default=None, max_length=1000)
    # The procedure (and its version) in force on the day the conference was created: every
    # step of it follows that version to the end, whatever the authority adopts later.
    procedure_code: str = Field(max_length=60)
    procedure_version: int = Field(default=1)
    version: int = Field(default=1, sa_column=_version)
    created_at: datetime = utc(nullable=False, default_now=True)
    updated_at: datetime = utc(nullable=False, default_now=True)

    __mapper_args__ = {"version_id_col": _version}


class ConferenceChild(SQLModel, table=True):
    __tablename__ = "conference_child"

    conference_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("conference.id", ondelete="CASCADE"), primary_key=True)
    )
    child_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("child.id"), primary_key=True, index=True)
    )
    position: int = Field(default=0)


class Attendee(SQLModel, table=True):
    __tablename__ = "attendee"
    __table_args__ = (
        sa.UniqueConstraint("conference_id", "person_id"),
        in_list("kind", [k.value for k in AttendeeKind], "kind"),
        # Professionals attend for an agency; family members, children and others have none.
        sa.CheckConstraint("kind <> 'professional' OR agency IS NOT NULL", name="professional_agency"),
        sa.Index("ix_attendee_authority_id_person_id", "authority_id", "person_id"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    conference_id: uuid.UUID = fk("conference.id", index=False, ondelete="CASCADE")
    person_id: str = Field(max_length=200)
    name: str = Field(max_length=200)
    role_title: str = Field(max_length=200)
    agency: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=20)
    # None: invited, attendance not yet recorded (a reconvened meeting's invitees).
    attended: bool | None = None
    created_at: datetime = utc(nullable=False, default_now=True)


class Decision(SQLModel, table=True):
    """A child's decision at a conference. Amendments add a row and mark the old one
    superseded, so the original stays in the child's history."""

    __tablename__ = "decision"
    __table_args__ = (
        in_list("outcome", [o.value for o in DecisionOutcome], "outcome"),
        sa.Index(
            "uq_decision_current",
            "conference_id",
            "child_id",
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        ),
        sa.Index("ix_decision_child_id", "child_id"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    conference_id: uuid.UUID = fk("conference.id", index=False, ondelete="CASCADE")
    child_id: uuid.UUID = fk("child.id", index=False)
    outcome: str = Field(max_length=20)
    categories: list[str] = json_field()
    plan_summary: str | None = Field(default=None, max_length=4000)
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = utc(nullable=False)
    superseded_at: datetime | None = utc()
    amends_id: uuid.UUID | None = fk("decision.id", nullable=True, index=False)
    amendment_reason: str | None = Field(default=None, max_length=200)

    def snapshot(self) -> dict[str, Any]:
        """The decision as it stands now (a dissent keeps the one it was raised against)."""
        return {"decision_id": str(self.id), "outcome": self.outcome, "categories": list(self.categories)}


# ---- API schemas ---------------------------------------------------------------------------

ChildIds = list[uuid.UUID]
# A category (area of concern) code, as in an authority's extra categories.
CategoryCode = Annotated[SafeText, PField(min_length=1, max_length=60)]


class ConferenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meeting_type: SafeText = PField(min_length=1, max_length=60)
    scheduled_start: Annotated[IsoDateTime, AfterValidator(in_service_range)] = PField(
        description="ISO 8601 with an offset or Z"
    )
    chair_id: SafeText = PField(min_length=1, max_length=200, description="The chair's person id (token sub)")
    chair_name: SafeText = PField(min_length=1, max_length=200)
    child_ids: ChildIds = PField(min_length=1, max_length=MAX_CHILDREN_PER_CONFERENCE)
    reconvened_from: uuid.UUID | None = None


class AttendeeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: SafeText = PField(min_length=1, max_length=200)
    name: SafeText = PField(min_length=1, max_length=200)
    role_title: SafeText = PField(min_length=1, max_length=200)
    agency: SafeText | None = PField(
        default=None,
        min_length=1,
        max_length=200,
        description="Required for professionals; null or absent for family members, children and others",
    )
    kind: AttendeeKind
    attended: bool


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    child_id: uuid.UUID
    outcome: DecisionOutcome
    categories: list[CategoryCode] = PField(default_factory=list, max_length=20)
    plan_summary: SafeText | None = PField(default=None, max_length=4000)


class AttendeePublic(BaseModel):
    id: uuid.UUID
    person_id: str
    name: str
    role_title: str
    agency: str | None
    kind: AttendeeKind
    attended: bool | None = PField(description="Null while only invited: attendance not yet recorded")


class DecisionPublic(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    outcome: DecisionOutcome
    outcome_label: str
    categories: list[str]
    plan_summary: str | None
    recorded_at: datetime
    amended: bool = PField(description="True when this decision replaced an earlier one after the meeting")


class ConferenceSummary(BaseModel):
    id: uuid.UUID
    meeting_type: str
    status: ConferenceStatus
    scheduled_start: datetime
    meeting_date: date
    chair_id: str
    chair_name: str
    child_ids: list[uuid.UUID]
    reconvened_from: uuid.UUID | None
    procedure: ProcedureRef = PField(description="The procedure and version this runs under, to the end")
    version: int


class AppealDeadline(BaseModel):
    due_at: datetime
    due_date: date
    explanation: str


class ConferencePublic(ConferenceSummary):
    started_at: datetime | None
    ended_at: datetime | None
    cancelled_at: datetime | None
    dissent_invited_at: datetime | None
    appeal_rights_explained_at: datetime | None
    participants_advised_at: datetime | None
    appeal_deadline: AppealDeadline | None
    attendees: list[AttendeePublic]
    decisions: list[DecisionPublic]
    dissent_ids: list[uuid.UUID]
    created_at: datetime
