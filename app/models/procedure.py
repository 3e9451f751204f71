"""An authority's adopted procedures: immutable versions of a local definition derived from
a built-in profile. Version 1 is the built-in profile itself and has no row here."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from app.models.base import fk, id_field, json_field, utc
from app.profiles.schema import Profile


class ProcedureVersion(SQLModel, table=True):
    __tablename__ = "procedure_version"
    # Two adoptions racing for the same number: one insert loses here (412, not 500).
    __table_args__ = (
        sa.UniqueConstraint("authority_id", "version"),
        sa.CheckConstraint("version >= 2", name="version_after_builtin"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id", index=False)
    version: int
    code: str = Field(max_length=60)
    extends: str = Field(max_length=60)
    effective_from: date
    definition: dict[str, Any] = json_field(default_factory=dict)  # as submitted
    resolved: dict[str, Any] = json_field(default_factory=dict)  # merged into its base, validated
    created_at: datetime = utc(nullable=False, default_now=True)
    created_by: str = Field(max_length=200)


# ---- API schemas -----------------------------------------------------------------------------


class ProcedureRef(BaseModel):
    """The procedure a conference, dissent or appeal runs under, for good."""

    code: str
    version: int


class ChangePublic(BaseModel):
    pointer: str = PField(description="JSON pointer into the procedure")
    op: str = PField(description="add | remove | replace")
    before: Any = None
    after: Any = None
    summary: str


class ProcedureVersionPublic(BaseModel):
    code: str
    version: int
    extends: str | None = PField(description="The built-in profile it derives from; null for version 1")
    effective_from: date | None = PField(description="Null for version 1, in force from the start")
    created_at: datetime | None
    created_by: str | None
    in_force: bool = PField(description="True for the version new conferences get today")
    definition: dict[str, Any] | None = PField(description="As adopted (null for version 1)")
    resolved: Profile = PField(description="The whole procedure, merged into its base")
    changes_from_base: list[ChangePublic]
    changes_from_previous: list[ChangePublic]


class ProcedureValidation(BaseModel):
    code: str
    extends: str
    effective_from: date
    resolved: Profile = PField(description="The whole procedure, merged into its base")
    changes_from_base: list[ChangePublic]
    changes_from_current: list[ChangePublic]
