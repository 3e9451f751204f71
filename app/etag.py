"""Optimistic concurrency over HTTP: `version` as a strong ETag, honoured in If-Match."""

from __future__ import annotations

from app.errors import PreconditionFailed, RuleViolation

# The longest If-Match honoured (declared as the header's maxLength in the OpenAPI description).
MAX_IF_MATCH = 1000


def etag(version: int) -> str:
    return f'"{version}"'


def check_version(header: str | None, version: int) -> None:
    if header is None:
        return
    if len(header) > MAX_IF_MATCH:
        raise RuleViolation(f"If-Match must be at most {MAX_IF_MATCH} characters", code="validation_error")
    candidates = [c.strip() for c in header.split(",")]
    if "*" in candidates:
        return
    wanted = etag(version)
    if not any(c.removeprefix("W/") == wanted or c == str(version) for c in candidates):
        raise PreconditionFailed(
            f"the resource is at version {version}; reload it and try again",
        )
