"""Shared router pieces: the problem schema for OpenAPI and response helpers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel

from app.errors import PROBLEM_MEDIA_TYPE
from app.etag import etag
from app.pagination import MAX_LIMIT
from app.text import SafeText

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-200)")]
Cursor = Annotated[SafeText | None, Query(max_length=500, description="next_cursor of the previous page")]


class ProblemError(BaseModel):
    """One problem with a request: a field (`loc`, `msg`, `type`, for validation and rule
    errors), a rule's refusal (`code`, `detail`, e.g. why a meeting cannot end yet) or a
    procedure definition's problem (`pointer`, a JSON pointer into it, with `code`, `detail`)."""

    loc: list[str | int] | None = None
    pointer: str | None = None
    msg: str | None = None
    type: str | None = None
    code: str | None = None
    detail: str | None = None


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemError] | None = None


def _problem(description: str) -> dict[str, Any]:
    # Rendered as application/problem+json by `problem_media_type` in app/main.py.
    return {"description": description, "model": Problem}


PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem("Malformed request"),
    401: _problem("Missing or invalid bearer token"),
    403: _problem("Not allowed for this caller"),
    404: _problem("No such resource (or not visible to this caller)"),
    409: _problem("Refused because of the current state"),
    412: _problem("If-Match did not match the current version"),
    413: _problem("Request body too large"),
    415: _problem("The request body is not JSON"),
    422: _problem("Refused because of the request's content"),
    429: _problem("Too many requests (failed authentications, or costly reads); retry after Retry-After"),
    503: _problem("The database is unreachable or saturated; retry after the Retry-After seconds"),
}


def with_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def problem_media_type(spec: dict[str, Any]) -> dict[str, Any]:
    """Error responses are documented as application/problem+json."""
    ref = {"$ref": "#/components/schemas/Problem"}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.startswith(("4", "5")) and content.get("application/json", {}).get("schema") == ref:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return spec
