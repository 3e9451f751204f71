"""Column helpers shared by the table models."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BeforeValidator, WithJsonSchema
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


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> sa.Index:
    """An index over the rows matching `where`, on both databases."""
    return sa.Index(
        name, *columns, unique=unique, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
    )


def table_of(model: type[Any]) -> sa.Table:
    """A table model's Core table, for plain-row statements on hot paths (SQLModel does not
    declare `__table__` to type checkers)."""
    table: sa.Table = model.__table__
    return table


__all__ = [
    "datetime",
    "fk",
    "id_field",
    "in_list",
    "json_field",
    "partial_index",
    "table_of",
    "utc",
    "uuid",
    "version_column",
]


EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Fractions to the nanosecond at most: the longest accepted text is 35 characters.
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _iso_text(pattern: re.Pattern[str], kind: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        # Pydantic would also read a number, or a string of digits, as a Unix time: `to=0`
        # meant 1970-01-01. The OpenAPI description promises RFC 3339 text; hold to it.
        if isinstance(value, date) or (isinstance(value, str) and pattern.fullmatch(value)):
            return value
        raise ValueError(f"must be an RFC 3339 {kind}")

    return BeforeValidator(check)


# The bound each pattern implies is declared too, so the contract shows every query parameter's
# length (tests/api/test_limits.py).
IsoDate = Annotated[
    date,
    _iso_text(_ISO_DATE, "date (YYYY-MM-DD)"),
    WithJsonSchema({"type": "string", "format": "date", "maxLength": 10}),
]
IsoDateTime = Annotated[
    datetime,
    _iso_text(_ISO_DATE_TIME, "date-time with an offset or Z"),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 35}),
]


def in_service_range(value: datetime) -> datetime:
    """Refuse instants the calendar cannot place (and that no real meeting has)."""
    if value.tzinfo is None:
        raise ValueError("needs a time zone offset or Z")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value
