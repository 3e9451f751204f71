"""The review bundle's JSON: everything the reviewer reads about one dissent, in one place."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.models.attachment import AttachmentPublic


class BundleAttendee(BaseModel):
    name: str
    role: str
    agency: str | None
    kind: str
    attended: bool | None = Field(description="False: invited, did not attend; null: not recorded")


class BundleMeeting(BaseModel):
    id: uuid.UUID
    type: str
    type_label: str
    date: str
    chair_name: str
    chair_title: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    attendees: list[BundleAttendee]


class BundleDecision(BaseModel):
    outcome: str
    outcome_label: str
    categories: list[str] = Field(description="Category codes")
    category_labels: list[str]
    plan_summary: str | None
    recorded_at: datetime


class BundleChild(BaseModel):
    id: uuid.UUID
    name: str
    date_of_birth: str | None
    expected_date_of_birth: str | None
    decision: BundleDecision | None = Field(description="The child's current decision at the meeting")


class BundleWritten(BaseModel):
    kind: str = Field(description="written_submission (form or letter), referral, or none yet")
    submission: dict[str, Any] | None = Field(description="The written form or letter, as submitted")
    referral: dict[str, Any] | None = Field(description="The chair's written referral")


class ReviewBundle(BaseModel):
    dissent_id: uuid.UUID
    generated_at: datetime
    authority: dict[str, str]
    procedure: dict[str, Any]
    meeting: BundleMeeting
    children: list[BundleChild]
    dissent: dict[str, Any] = Field(description="The dissent as raised in the meeting, and its status")
    written: BundleWritten
    deadlines: list[dict[str, Any]] = Field(
        description="The dissent's deadlines: kind, due_date, met, cancelled"
    )
    attachments: list[AttachmentPublic] = Field(description="The meeting's attachments, appended to the PDF")
