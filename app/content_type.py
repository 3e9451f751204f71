"""Request bodies are JSON: a body sent as anything else is refused with 415
`unsupported_media_type` (not read as JSON anyway, nor refused as an invalid JSON object).
The one exception is the attachment upload, which takes `multipart/form-data` (and only that
route: everywhere else a form body is refused like any other non-JSON body)."""

from __future__ import annotations

from fastapi import Request

from app.errors import DomainError

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
MULTIPART_ROUTES = frozenset({("POST", "/v1/conferences/{conference_id}/attachments")})


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


async def require_json_body(request: Request) -> None:
    content_type = request.headers.get("content-type")
    route_path = getattr(request.scope.get("route"), "path", None)
    if (request.method, route_path) in MULTIPART_ROUTES:
        if content_type is not None and is_multipart(content_type):
            return
        # FastAPI has read this route's body as a form already: refuse without reading it again.
        raise DomainError(
            "this request's body must be multipart/form-data",
            code="unsupported_media_type",
            status=415,
        )
    if request.method not in _WITH_BODY or content_type is None or is_json(content_type):
        return
    if not await request.body():  # a command without a body: nothing to misread
        return
    raise DomainError(
        "request bodies must be JSON (Content-Type: application/json)",
        code="unsupported_media_type",
        status=415,
    )
