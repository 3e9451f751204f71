"""One pure-ASGI middleware that owns the request's edges: the request id, the body size
limit (the app's, or a route's own: the attachment upload), the transaction (commit before
the response leaves, so 2xx means durable; roll back on any refusal, so a refused call
changes nothing), metrics and the access log."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_MEDIA_TYPE, problem_type
from app.idempotency import forget, store_response
from app.observability import LATENCY, REQUESTS, request_id_var
from app.problems import DATA_ERROR_DETAIL

log = logging.getLogger("app.access")
error_log = logging.getLogger("app.errors")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def _problem(status: int, code: str, detail: str, request_id: str) -> list[Message]:
    title = "Content Too Large" if status == 413 else HTTPStatus(status).phrase  # RFC 9110's name
    body = json.dumps(
        {"type": problem_type(code), "title": title, "status": status, "detail": detail, "code": code}
    ).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body, "more_body": False},
    ]


def _head_size(scope: Scope) -> int:
    line = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


@dataclass(frozen=True)
class BodyLimit:
    """A route's own body limit (an upload), with the problem code that refuses more."""

    method: str
    path: re.Pattern[str]
    max_bytes: int
    code: str
    detail: str


class RequestMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_header_bytes: int = 16 * 1024,
        route_limits: Sequence[BodyLimit] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.route_limits = tuple(route_limits)

    def _limit(self, scope: Scope) -> tuple[int, str, str]:
        for limit in self.route_limits:
            if scope["method"] == limit.method and limit.path.fullmatch(scope["path"]):
                return limit.max_bytes, limit.code, limit.detail
        detail = f"the request body is larger than {self.max_body_bytes} bytes"
        return self.max_body_bytes, "payload_too_large", detail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        token = request_id_var.set(request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        try:
            if _head_size(scope) > self.max_header_bytes:  # what the server let through in one read
                status = 431
                detail = f"the request line and headers are larger than {self.max_header_bytes} bytes"
                for message in _problem(431, "request_header_fields_too_large", detail, request_id):
                    await send(message)
                return
            max_bytes, code, detail = self._limit(scope)
            body = await self._read_body(headers, receive, max_bytes)
            if body is None:
                status = 413
                for message in _problem(413, code, detail, request_id):
                    await send(message)
                return
            status = await self._run(scope, body, receive, send, state, request_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            REQUESTS.labels(template, scope["method"], str(status)).inc()
            LATENCY.labels(template, scope["method"]).observe(elapsed)
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": scope["method"],
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    }
                },
            )
            request_id_var.reset(token)

    @staticmethod
    async def _read_body(headers: dict[str, str], receive: Receive, max_bytes: int) -> bytes | None:
        """Read the whole body (bounded) so an oversized one is refused before any work (and,
        when Content-Length declares too much, before reading any of it); None when too large."""
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _run(
        self, scope: Scope, body: bytes, receive: Receive, send: Send, state: dict[str, Any], request_id: str
    ) -> int:
        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            # Then wait for the real disconnect: a file response (the docs' assets) listens
            # for it while it sends, and stops early if told the client has gone.
            return await receive()

        buffered: list[Message] = []

        async def buffer_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            buffered.append(message)

        try:
            await self.app(scope, replay_receive, buffer_send)
        except Exception as exc:
            # Answered here, inside the request's edges, so the 500 carries the request id and
            # is logged once, with it; nothing propagates for the server to log again.
            await _finish(state, commit=False)
            error_log.error("unhandled error", exc_info=exc)
            detail = "an unexpected error occurred; it has been logged"
            buffered = _problem(500, "internal_error", detail, request_id)
        except BaseException:  # cancellation: roll back and let it through
            await _finish(state, commit=False)
            raise
        start = next((m for m in buffered if m["type"] == "http.response.start"), None)
        status = int(start["status"]) if start else 500
        try:
            keep = 200 <= status < 400 or bool(state.pop("keep_changes", False))
            await _finish(state, commit=keep, status=status, messages=buffered)
        except DataError:
            error_log.warning("the database refused a value at commit", exc_info=True)
            buffered, status = _problem(422, "validation_error", DATA_ERROR_DETAIL, request_id), 422
        except Exception:
            error_log.exception("commit failed")
            detail = "the change could not be saved because of a concurrent change; try again"
            buffered, status = _problem(409, "conflict", detail, request_id), 409
        for message in buffered:
            await send(message)
        return status


async def _finish(
    state: dict[str, Any],
    *,
    commit: bool,
    status: int | None = None,
    messages: list[Message] | None = None,
) -> None:
    session = state.pop("session", None)
    lock = state.pop("sqlite_lock", None)
    try:
        if session is None:
            return
        try:
            if commit:
                record = state.pop("idempotency_record", None)
                if record is not None and status is not None and messages is not None:
                    if 200 <= status < 400:
                        await store_response(session, record, status, messages)
                    else:  # a refusal that keeps its changes does not use up the key
                        await forget(session, record)
                await session.commit()
            else:
                await session.rollback()
        finally:
            await session.close()
    finally:
        if lock is not None:
            lock.release()
