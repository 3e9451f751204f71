"""Domain errors: every refusal, with its HTTP status and stable problem `code`.

Rules and services raise these; `app.problems` renders them (and FastAPI's, Starlette's and
the database's errors) as RFC 9457 `application/problem+json`.
"""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_type(code: str) -> str:
    return f"urn:dissent-service:problem:{code}"


class DomainError(Exception):
    status: int = 409
    code: str = "conflict"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
    ) -> None:
        super().__init__(detail)
        # A refusal that records a consequence (a lapse discovered on the way) keeps the
        # changes made before it; every other refusal rolls back.
        self.keep_changes = keep_changes
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.errors = errors
        self.headers = headers


class NotFound(DomainError):
    status, code = 404, "not_found"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"

    def __init__(self, detail: str = "a valid bearer token is required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Conflict(DomainError):
    """A refusal because of the current state (409)."""

    status, code = 409, "conflict"


class RuleViolation(DomainError):
    """A refusal because of the content of the request (422)."""

    status, code = 422, "validation_error"


class PreconditionFailed(DomainError):
    status, code = 412, "precondition_failed"
