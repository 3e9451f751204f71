"""Children, including unborn babies (expected date of birth only)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from app.models.base import IsoDate, fk, id_field, utc, version_column
from app.text import SafeText

_version = version_column()


class Child(SQLModel, table=True):
    __tablename__ = "child"
    __table_args__ = (
        sa.UniqueConstraint("authority_id", "external_ref"),
        sa.CheckConstraint(
            "(date_of_birth IS NULL) <> (expected_date_of_birth IS NULL)", name="one_birth_date"
        ),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id")
    external_ref: str = Field(max_length=100)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date | None = None
    expected_date_of_birth: date | None = None
    version: int = Field(default=1, sa_column=_version)
    created_at: datetime = utc(nullable=False, default_now=True)
    updated_at: datetime = utc(nullable=False, default_now=True)

    __mapper_args__ = {"version_id_col": _version}


class ChildCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_ref: SafeText = PField(min_length=1, max_length=100, description="The record system's id")
    given_name: SafeText = PField(min_length=1, max_length=100)
    family_name: SafeText = PField(min_length=1, max_length=100)
    date_of_birth: IsoDate | None = None
    expected_date_of_birth: IsoDate | None = PField(
        default=None, description="For an unborn baby, instead of date_of_birth"
    )

    @model_validator(mode="after")
    def _one_birth_date(self) -> ChildCreate:
        if (self.date_of_birth is None) == (self.expected_date_of_birth is None):
            raise ValueError("give exactly one of date_of_birth or expected_date_of_birth")
        return self


class ChildPublic(BaseModel):
    id: uuid.UUID
    external_ref: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    expected_date_of_birth: date | None
    unborn: bool
    version: int
    created_at: datetime


class RecordEntryPublic(BaseModel):
    id: uuid.UUID
    kind: str
    occurred_at: datetime
    conference_id: uuid.UUID | None
    source_id: uuid.UUID | None = PField(description="The decision, dissent or appeal this entry came from")
    summary: str
    text: str | None
    data: dict[str, object]
