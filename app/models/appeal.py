"""Family appeals against registration, and complaints (recorded and routed elsewhere)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from app.models.base import fk, id_field, in_list, utc, version_column
from app.models.dissent import DeadlinePublic, NextDeadline, ReconveneIn
from app.models.procedure import ProcedureRef
from app.text import SafeText
from app.vocab import AppealOutcomeCode, AppealStatus, ComplaintAbout, Relationship

_version = version_column()


class Appeal(SQLModel, table=True):
    __tablename__ = "appeal"
    __table_args__ = (
        in_list("status", [s.value for s in AppealStatus], "status"),
        in_list("appellant_relationship", [r.value for r in Relationship], "appellant_relationship"),
        # One open appeal per appellant and child, whatever races happen.
        sa.Index(
            "uq_appeal_open_per_appellant",
            "child_id",
            "appellant_key",
            unique=True,
            sqlite_where=sa.text("status = 'lodged'"),
            postgresql_where=sa.text("status = 'lodged'"),
        ),
        sa.Index("ix_appeal_authority_id_status", "authority_id", "status"),
        sa.Index("ix_appeal_conference_id", "conference_id"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    conference_id: uuid.UUID = fk("conference.id", index=False)
    child_id: uuid.UUID = fk("child.id", index=False)
    appellant_name: str = Field(max_length=200)
    # The name folded for comparison, so "Jo Smith" and "jo smith " are the same appellant.
    appellant_key: str = Field(max_length=200)
    appellant_relationship: str = Field(max_length=30)
    grounds: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    lodged_by: str = Field(max_length=200)
    lead_social_worker_name: str | None = Field(default=None, max_length=200)
    status: str = Field(default=AppealStatus.lodged, max_length=20)
    lodged_at: datetime = utc(nullable=False)
    received_date: date
    outcome: str | None = Field(default=None, max_length=30)
    response_text: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    responded_at: datetime | None = utc()
    responded_by: str | None = Field(default=None, max_length=200)
    reconvened_conference_id: uuid.UUID | None = fk("conference.id", nullable=True, index=False)
    version: int = Field(default=1, sa_column=_version)
    created_at: datetime = utc(nullable=False, default_now=True)
    updated_at: datetime = utc(nullable=False, default_now=True)

    __mapper_args__ = {"version_id_col": _version}


class Complaint(SQLModel, table=True):
    """A complaint is recorded and routed to the agency's own procedure; it never becomes a
    dissent or an appeal."""

    __tablename__ = "complaint"
    __table_args__ = (
        in_list("about", ["practitioner", "service"], "about"),
        sa.Index("ix_complaint_authority_id_recorded_at", "authority_id", "recorded_at"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    about: str = Field(max_length=20)
    agency: str = Field(max_length=200)
    summary: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    conference_id: uuid.UUID | None = fk("conference.id", nullable=True, index=False)
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = utc(nullable=False)
    route: str = Field(max_length=1000)


# ---- API schemas ---------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Appellant(_In):
    name: SafeText = PField(min_length=1, max_length=200)
    relationship: Relationship


class LeadSocialWorker(_In):
    name: SafeText = PField(min_length=1, max_length=200)


class AppealCreate(_In):
    conference_id: uuid.UUID
    child_id: uuid.UUID
    appellant: Appellant
    grounds: SafeText = PField(min_length=1, max_length=20000)
    lodged_by_lead_social_worker: LeadSocialWorker | None = PField(
        default=None, description="Set when the lead social worker lodges the appeal for the family"
    )


class AppealResponseIn(_In):
    outcome: AppealOutcomeCode
    response_text: SafeText = PField(min_length=1, max_length=20000)
    reconvene: ReconveneIn | None = PField(
        default=None, description="The reconvened meeting's time and chair, with outcome reconvene"
    )


class AppealSummary(BaseModel):
    id: uuid.UUID
    conference_id: uuid.UUID
    child_id: uuid.UUID
    status: AppealStatus
    appellant_relationship: Relationship
    lodged_at: datetime
    overdue: bool
    next_deadline: NextDeadline | None = PField(description="The next open deadline (null when none is open)")
    version: int


class AppealPublic(AppealSummary):
    procedure: ProcedureRef = PField(description="The procedure and version this runs under, to the end")
    appellant: Appellant
    grounds: str
    lodged_by_lead_social_worker: LeadSocialWorker | None
    received_date: date
    outcome: str | None
    outcome_label: str | None
    response_text: str | None
    responded_at: datetime | None
    reconvened_conference_id: uuid.UUID | None
    decision_in_force: bool
    deadlines: list[DeadlinePublic]


class ComplaintCreate(_In):
    about: ComplaintAbout
    agency: SafeText = PField(min_length=1, max_length=200)
    summary: SafeText = PField(min_length=1, max_length=20000)
    conference_id: uuid.UUID | None = None


class ComplaintPublic(BaseModel):
    id: uuid.UUID
    about: str
    agency: str
    summary: str
    conference_id: uuid.UUID | None
    recorded_at: datetime
    route: str
    is_dissent_or_appeal: bool = PField(
        default=False, description="Always false: complaints never enter the dissent or appeal flow"
    )
