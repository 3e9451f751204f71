"""Cursor pagination: opaque base64url cursors over a keyset, never offsets."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from app.errors import RuleViolation
from app.text import SafeText

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

_INVALID = "the cursor is not valid; start again from the first page"

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-200)")]
Cursor = Annotated[SafeText | None, Query(max_length=500, description="next_cursor of the previous page")]


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
