"""Cursor pagination: opaque base64url cursors over a keyset, never offsets. `keyset_page`
reads one page of any query (fetch one more row than the page, cut, encode the cursor)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import and_, or_

from app.errors import RuleViolation

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_SEQ = 2**31 - 1  # an event's or an audit entry's sequence number (PostgreSQL integer)
MAX_BIGINT = 2**63 - 1

_INVALID = "the cursor is not valid; start again from the first page"


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise RuleViolation(_INVALID, code="invalid_cursor") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise RuleViolation(_INVALID, code="invalid_cursor")
    return values


def cursor_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise RuleViolation(_INVALID, code="invalid_cursor") from exc


def cursor_datetime(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)  # an instant past year 1 or 9999 in UTC fails here, not in the query
    except (ValueError, OverflowError) as exc:
        raise RuleViolation(_INVALID, code="invalid_cursor") from exc
    if parsed.tzinfo is None:
        raise RuleViolation(_INVALID, code="invalid_cursor")
    return parsed


def cursor_int(value: Any, upper: int = MAX_SEQ) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= upper:
        return value
    raise RuleViolation("the cursor is not valid", code="invalid_cursor")


# ---- keyset pages ----------------------------------------------------------------------------

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Key(Generic[R]):
    """One column of a keyset: the column, how a cursor value is checked, and a row's value."""

    column: Any
    parse: Callable[[Any], Any]
    value: Callable[[R], Any]


@dataclass(frozen=True, slots=True)
class Keyset(Generic[R]):
    """The order a list is read in; its cursor holds the last row's key values."""

    keys: tuple[Key[R], ...]
    descending: bool = True

    def parse(self, cursor: str | None) -> list[Any] | None:
        """The cursor's values, checked (a bad cursor is refused before any other work)."""
        values = decode_cursor(cursor, len(self.keys))
        if values is None:
            return None
        return [key.parse(v) for key, v in zip(self.keys, values, strict=True)]

    def after(self, values: list[Any]) -> Any:
        """Rows past the cursor: (a, b) < (x, y) spelt out so every database uses the index."""
        terms = []
        for i, key in enumerate(self.keys):
            ties = [self.keys[j].column == values[j] for j in range(i)]
            beyond = key.column < values[i] if self.descending else key.column > values[i]
            terms.append(and_(*ties, beyond))
        return or_(*terms)

    def order(self) -> list[Any]:
        return [k.column.desc() if self.descending else k.column for k in self.keys]

    def cursor_of(self, row: R) -> str:
        return encode_cursor([_cursor_value(k.value(row)) for k in self.keys])


def _cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def keyset_page(
    keyset: Keyset[R],
    query: Any,
    fetch: Callable[[Any], Awaitable[Sequence[R]]],
    *,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[R], str | None]:
    """One page of `query` in `keyset` order after the parsed cursor `after`: fetch one row
    more than the page to learn whether another page follows, and give its cursor."""
    if after is not None:
        query = query.where(keyset.after(after))
    rows = list(await fetch(query.order_by(*keyset.order()).limit(limit + 1)))
    next_cursor = keyset.cursor_of(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def by_id(column: Any, *, descending: bool = True) -> Keyset[Any]:
    """The common keyset: a UUID primary key alone."""
    return Keyset((Key(column, cursor_uuid, lambda r: r.id),), descending=descending)
