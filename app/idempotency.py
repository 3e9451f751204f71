"""`Idempotency-Key` on POST: the same key and body within 24 hours replays the first
response; another body → 422 `idempotency_key_reused`; a duplicate arriving while the first
is still in flight → 409 `idempotency_key_in_progress`. Nothing is looked up until the
route's role check has passed, so a replay answers only a caller the route would serve.

The record is inserted in the request's own transaction and completed by the middleware just
before commit, so a key is remembered exactly when its change is."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import Message

from app.deps import CurrentUser, Now, SessionDep
from app.errors import Conflict, RuleViolation
from app.models.platform import IdempotencyRecord

RETENTION = timedelta(hours=24)
_REPLAYED_HEADERS = ("content-type", "etag", "location")


class IdempotentReplay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record


def replay_response(record: IdempotencyRecord) -> Response:
    headers = dict(record.response_headers)
    headers["Idempotent-Replayed"] = "true"
    media_type = headers.pop("content-type", "application/json")
    return Response(
        content=record.response_body or "",
        status_code=record.status_code or 200,
        headers=headers,
        media_type=media_type,
    )


async def idempotency(request: Request, session: SessionDep, principal: CurrentUser, now: Now) -> None:
    """Check the key and fingerprint the request; the lookup itself (a replay, a reuse, or the
    new record) waits until the route's role check has passed (`deps.require_roles` calls
    `claim_key`), so a replay never answers a caller the route would refuse."""
    key = request.headers.get("idempotency-key")
    if request.method != "POST" or key is None:
        return
    if not (1 <= len(key) <= 200) or not key.isprintable():
        raise RuleViolation("Idempotency-Key must be 1 to 200 printable characters", code="validation_error")
    digest = hashlib.sha256(
        b"\n".join([request.method.encode(), request.url.path.encode(), await _content(request)])
    ).hexdigest()
    scope = f"{principal.authority or '-'}/{principal.sub}"

    async def claim() -> None:
        await _claim(request, session, scope=scope, key=key, digest=digest, now=now)

    request.state.idempotency_claim = claim


async def _content(request: Request) -> bytes:
    """What the fingerprint covers: the body, or for a multipart upload each part's name and
    content (its boundary is random, so the same upload sent again has other bytes)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return await request.body()
    parts = []
    for name, value in (await request.form()).multi_items():  # parsed once, by the route
        if isinstance(value, str):
            data = value.encode()
        else:
            data = await value.read()
            await value.seek(0)
        parts.append(hashlib.sha256(name.encode()).digest() + hashlib.sha256(data).digest())
    return b"".join(parts)


async def _claim(
    request: Request, session: AsyncSession, *, scope: str, key: str, digest: str, now: datetime
) -> None:
    existing = (
        await session.exec(
            select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        )
    ).first()
    if existing is not None and existing.created_at < now - RETENTION:
        await session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == existing.id))
        existing = None
    if existing is not None:
        if existing.request_hash != digest:
            raise RuleViolation(
                "this Idempotency-Key was already used with a different request",
                code="idempotency_key_reused",
            )
        raise IdempotentReplay(existing)
    record = IdempotencyRecord(
        scope=scope,
        key=key,
        method=request.method,
        path=request.url.path,
        request_hash=digest,
        created_at=now,
    )
    session.add(record)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "a request with this Idempotency-Key is still being processed; retry shortly",
            code="idempotency_key_in_progress",
        ) from exc
    request.state.idempotency_record = record


async def store_response(
    session: AsyncSession, record: IdempotencyRecord, status: int, messages: list[Message]
) -> None:
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1")
        for k, v in start.get("headers", [])
        if k.decode("latin-1").lower() in _REPLAYED_HEADERS
    }
    record.status_code = status
    record.response_body = body.decode("utf-8", errors="replace")
    record.response_headers = headers
    session.add(record)
    await session.flush()


async def forget(session: AsyncSession, record: IdempotencyRecord) -> None:
    await session.delete(record)
    await session.flush()
