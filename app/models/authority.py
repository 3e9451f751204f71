"""Authorities (tenants): profile, jurisdiction, time zone, closure dates."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from app.models.base import IsoDate, id_field, in_list, json_field, utc, version_column
from app.text import SafeText
from app.vocab import JURISDICTIONS

_version = version_column()


class Authority(SQLModel, table=True):
    __tablename__ = "authority"
    __table_args__ = (in_list("jurisdiction", JURISDICTIONS, "jurisdiction"),)

    id: uuid.UUID = id_field()
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    profile: str = Field(max_length=60)
    jurisdiction: str = Field(max_length=20)
    timezone: str = Field(max_length=60, default="Europe/London")
    closure_dates: list[str] = json_field()
    # Local additions to the profile's categories / areas of concern: [{code, label}]
    extra_categories: list[dict[str, str]] = json_field()
    # Last event sequence number issued: the row lock on update keeps the feed gap-free.
    event_seq: int = Field(default=0, nullable=False)
    version: int = Field(default=1, sa_column=_version)
    created_at: datetime = utc(nullable=False, default_now=True)
    updated_at: datetime = utc(nullable=False, default_now=True)

    __mapper_args__ = {"version_id_col": _version}


CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,39}$"


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = PField(max_length=60, pattern=r"^[A-Za-z0-9_]{1,60}$")
    label: SafeText = PField(min_length=1, max_length=200)


class AuthorityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = PField(max_length=40, pattern=CODE_PATTERN, description="Tenant code used in tokens")
    name: SafeText = PField(min_length=1, max_length=200)
    profile: SafeText = PField(min_length=1, max_length=60)
    jurisdiction: SafeText = PField(
        max_length=20, description="england | wales | scotland | northern_ireland"
    )
    timezone: SafeText = PField(default="Europe/London", max_length=60)
    closure_dates: list[IsoDate] = PField(default_factory=list, max_length=366)
    extra_categories: list[CategoryIn] = PField(default_factory=list, max_length=50)

    @field_validator("closure_dates")
    @classmethod
    def _unique_sorted(cls, v: list[date]) -> list[date]:
        return sorted(set(v))


class AuthorityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeText | None = PField(default=None, min_length=1, max_length=200)
    closure_dates: list[IsoDate] | None = PField(default=None, max_length=366)
    extra_categories: list[CategoryIn] | None = PField(default=None, max_length=50)

    @field_validator("closure_dates")
    @classmethod
    def _unique_sorted(cls, v: list[date] | None) -> list[date] | None:
        return None if v is None else sorted(set(v))


class AuthorityPublic(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    profile: str
    jurisdiction: str
    timezone: str
    closure_dates: list[date]
    extra_categories: list[CategoryIn]
    version: int
    created_at: datetime
    updated_at: datetime
