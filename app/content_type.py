"""Request bodies are JSON: a body sent as anything else is refused with 415
`unsupported_media_type` (not read as JSON anyway, nor refused as an invalid JSON object)."""

from __future__ import annotations

from fastapi import Request

from app.errors import DomainError

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def require_json_body(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if request.method not in _WITH_BODY or content_type is None or is_json(content_type):
        return
    if not await request.body():  # a command without a body: nothing to misread
        return
    raise DomainError(
        "request bodies must be JSON (Content-Type: application/json)",
        code="unsupported_media_type",
        status=415,
    )
