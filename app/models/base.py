"""Column helpers shared by the table models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.db import UTCDateTime, new_id, utcnow


def id_field() -> Any:
    return Field(default_factory=new_id, primary_key=True)


def fk(target: str, *, nullable: bool = False, index: bool = True, ondelete: str | None = None) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
        ),
    )


def utc(*, nullable: bool = True, index: bool = False, default_now: bool = False) -> Any:
    if default_now:
        return Field(
            default_factory=utcnow,
            sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index),
        )
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def json_field(*, default_factory: Any = list) -> Any:
    return Field(default_factory=default_factory, sa_column=sa.Column(sa.JSON(), nullable=False))


def version_column() -> sa.Column[int]:
    """An optimistic-lock column: give it to the field and to `version_id_col`, so a
    concurrent update of a stale row raises StaleDataError instead of winning silently."""
    return sa.Column("version", sa.Integer(), nullable=False)


def in_list(column: str, values: Any, name: str) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name)


__all__ = ["datetime", "fk", "id_field", "in_list", "json_field", "utc", "uuid", "version_column"]


EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


def in_service_range(value: datetime) -> datetime:
    """Refuse instants the calendar cannot place (and that no real meeting has)."""
    if value.tzinfo is None:
        raise ValueError("needs a time zone offset or Z")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value
