"""The worker: deadline sweep, webhook delivery and the PDFs of issued documents. Safe to run
on several machines at once.

* Sweep: marks deadlines `approaching` (from the start of the working day before the due
  date) and `missed` (after it), each exactly once, and lapses dissents whose own written step
  was missed. Rows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises
  writers with BEGIN IMMEDIATE.
* Delivery: each subscription follows its authority's event feed from its own cursor, so
  deliveries go in order, at least once. A worker takes a short lease on a subscription
  (claimed with SKIP LOCKED) and commits after every attempt, so a crash repeats at most the
  attempt in flight, with the same event id. Failures back off exponentially up to a cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, update
from sqlmodel import col, select

from app.clock import current_time
from app.config import Settings
from app.context import Ctx
from app.db import Database
from app.errors import DomainError
from app.models.authority import Authority
from app.models.dissent import Deadline
from app.models.platform import Event
from app.models.webhook import WebhookDelivery, WebhookSubscription
from app.principal import service_actor
from app.rules.webhooks import backoff_seconds, signature_header
from app.services import audit, audit_verify, dissents, document_renditions
from app.services.events import event_public
from app.services.journal import emit
from app.services.webhook_target import pin

log = logging.getLogger("app.worker")
SWEEP_BATCH = 500
DELIVERY_BATCH = 100
LEASE = timedelta(seconds=120)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class PassResult:
    approaching: int = 0
    missed: int = 0
    lapsed: int = 0
    delivered: int = 0
    failed: int = 0
    sealed: int = 0
    checkpointed: int = 0
    rendered: int = 0


async def seal_audit(db: Database, settings: Settings) -> int:
    """Seal the audit entries committed since the last pass onto their chains."""
    async with db.session() as session:
        sealed = await audit.seal(session, keys=settings.audit_keys)
        await session.commit()
    return sealed


async def checkpoint_audit(db: Database, settings: Settings) -> int:
    """Verify each chain that grew since its checkpoint (only the new entries) and move the
    checkpoint to its head; a chain that does not verify is logged and keeps its checkpoint."""
    async with db.session() as session:
        chains = await audit_verify.chains_behind(session)
    advanced = 0
    for chain in chains:
        async with db.session() as session:
            now = await current_time(session, settings)
            advanced += await audit_verify.advance_checkpoint(
                session, chain, keys=settings.audit_keys, now=now
            )
            await session.commit()
    return advanced


# ---- deadline sweep --------------------------------------------------------------------------


async def sweep(db: Database, settings: Settings) -> PassResult:
    result = PassResult()
    async with db.session() as session:
        authorities = (await session.exec(select(Authority.id))).all()
    for authority_id in authorities:
        async with db.session() as session:
            authority = await session.get(Authority, authority_id)
            assert authority is not None
            now = await current_time(session, settings)
            actor = service_actor("worker", "Worker", authority.code)
            ctx = Ctx(session=session, actor=actor, authority=authority, now=now, request_id="worker-sweep")
            open_ = [
                col(Deadline.authority_id) == authority.id,
                col(Deadline.met_at).is_(None),
                col(Deadline.cancelled_at).is_(None),
            ]
            approaching = (
                await session.exec(
                    select(Deadline)
                    .where(
                        *open_,
                        col(Deadline.approaching_notified_at).is_(None),
                        col(Deadline.approaching_at) <= now,
                        col(Deadline.due_at) >= now,
                    )
                    .order_by(col(Deadline.due_at))
                    .limit(SWEEP_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for deadline in approaching:
                deadline.approaching_notified_at = now
                session.add(deadline)
                await emit(
                    ctx, "deadline.approaching", deadline.subject_kind, deadline.subject_id, _data(deadline)
                )
            missed = (
                await session.exec(
                    select(Deadline)
                    .where(*open_, col(Deadline.missed_notified_at).is_(None), col(Deadline.due_at) < now)
                    .order_by(col(Deadline.due_at))
                    .limit(SWEEP_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for deadline in missed:
                deadline.missed_notified_at = now
                session.add(deadline)
                await emit(
                    ctx, "deadline.missed", deadline.subject_kind, deadline.subject_id, _data(deadline)
                )
            result.approaching += len(approaching)
            result.missed += len(missed)
            result.lapsed += await dissents.lapse_due(ctx)
            await session.commit()
    return result


def _data(deadline: Deadline) -> dict[str, object]:
    return {
        "kind": deadline.kind,
        "due_at": deadline.due_at.isoformat(),
        "due_date": deadline.due_date.isoformat(),
        "responsible_role": deadline.responsible_role,
    }


# ---- webhook delivery ------------------------------------------------------------------------


async def _claim(db: Database, settings: Settings, owner: str) -> list[WebhookSubscription]:
    async with db.session() as session:
        now = await current_time(session, settings)
        claimed = (
            await session.exec(
                select(WebhookSubscription)
                .where(
                    col(WebhookSubscription.active).is_(True),
                    or_(
                        col(WebhookSubscription.next_attempt_at).is_(None),
                        col(WebhookSubscription.next_attempt_at) <= now,
                    ),
                    or_(
                        col(WebhookSubscription.lease_expires_at).is_(None),
                        col(WebhookSubscription.lease_expires_at) < now,
                    ),
                )
                .limit(20)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for sub in claimed:
            sub.lease_owner, sub.lease_expires_at = owner, now + LEASE
            session.add(sub)
        await session.commit()
        return list(claimed)


async def _next_event(
    db: Database, settings: Settings, sub: WebhookSubscription
) -> tuple[Event, str, datetime] | None:
    """The next event for this subscription, its authority's code and the service's time."""
    async with db.session() as session:
        now = await current_time(session, settings)
        query = (
            select(Event, Authority.code)
            .join(Authority, col(Authority.id) == Event.authority_id)
            .where(Event.authority_id == sub.authority_id, col(Event.seq) > sub.cursor_seq)
        )
        if "*" not in sub.event_types:
            query = query.where(col(Event.type).in_(sub.event_types))
        row = (await session.exec(query.order_by(col(Event.seq)).limit(1))).first()
        return (row[0], row[1], now) if row else None


def _body(event: Event, authority_code: str) -> bytes:
    return json.dumps(
        event_public(authority_code, event).model_dump(mode="json"), separators=(",", ":")
    ).encode()


async def _attempt(
    client: httpx.AsyncClient,
    settings: Settings,
    sub: WebhookSubscription,
    event: Event,
    body: bytes,
    now_ts: int,
    service_now: datetime,
) -> tuple[bool, int | None, str | None]:
    try:
        # Checked again at delivery (DNS may have changed), and sent to the address checked.
        target = await pin(sub.url, settings)
    except DomainError as exc:
        return False, None, exc.detail
    secrets = [sub.secret]
    if (
        sub.previous_secret
        and sub.previous_secret_expires_at
        and sub.previous_secret_expires_at > service_now  # the service's clock, like the API
    ):
        secrets.append(sub.previous_secret)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "dissent-service-webhooks/1",
        "Webhook-Id": str(event.id),
        "Webhook-Timestamp": str(now_ts),
        "Webhook-Signature": signature_header(secrets, now_ts, body),
        **target.headers,
    }
    try:
        response = await client.post(
            target.url, content=body, headers=headers, follow_redirects=False, extensions=target.extensions
        )
    except httpx.HTTPError as exc:
        return False, None, f"{type(exc).__name__}: {exc}"[:500]
    ok = 200 <= response.status_code < 300
    return ok, response.status_code, None if ok else f"receiver answered {response.status_code}"


async def _deliver_subscription(
    db: Database,
    settings: Settings,
    client: httpx.AsyncClient,
    sub: WebhookSubscription,
    owner: str,
    result: PassResult,
) -> None:
    for _ in range(DELIVERY_BATCH):
        found = await _next_event(db, settings, sub)
        if found is None:
            break
        event, code, service_now = found
        body = _body(event, code)
        started = time.perf_counter()
        # The signature's t= is real time (receivers check freshness against their own clocks).
        ok, status, error = await _attempt(client, settings, sub, event, body, int(time.time()), service_now)
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        async with db.session() as session:
            now = await current_time(session, settings)
            failures = 0 if ok else sub.consecutive_failures + 1
            values: dict[str, object] = {"consecutive_failures": failures}
            if ok:
                values.update(cursor_seq=event.seq, next_attempt_at=None)
            else:
                wait = backoff_seconds(
                    failures,
                    base=settings.webhook_backoff_base_seconds,
                    cap=settings.webhook_backoff_max_seconds,
                )
                values.update(next_attempt_at=now + timedelta(seconds=wait))
            # Only while the lease is still ours: a stalled worker must not move the cursor.
            moved = await session.exec(
                update(WebhookSubscription)
                .where(col(WebhookSubscription.id) == sub.id, col(WebhookSubscription.lease_owner) == owner)
                .values(**values)
            )
            if moved.rowcount == 0:
                await session.rollback()
                return
            session.add(
                WebhookDelivery(
                    subscription_id=sub.id,
                    event_id=event.id,
                    event_seq=event.seq,
                    event_type=event.type,
                    attempt=failures if not ok else sub.consecutive_failures + 1,
                    succeeded=ok,
                    status_code=status,
                    error=error,
                    attempted_at=now,
                    duration_ms=elapsed_ms,
                )
            )
            await session.commit()
        if not ok:
            result.failed += 1
            return
        sub.cursor_seq, sub.consecutive_failures = event.seq, 0
        result.delivered += 1


async def _release(db: Database, subs: list[WebhookSubscription], owner: str) -> None:
    if not subs:
        return
    async with db.session() as session:
        await session.exec(
            update(WebhookSubscription)
            .where(
                col(WebhookSubscription.id).in_([s.id for s in subs]),
                col(WebhookSubscription.lease_owner) == owner,
            )
            .values(lease_owner=None, lease_expires_at=None)
        )
        await session.commit()


async def deliver(
    db: Database, settings: Settings, client: httpx.AsyncClient, owner: str | None = None
) -> PassResult:
    owner = owner or worker_id()
    result = PassResult()
    subs = await _claim(db, settings, owner)
    try:
        for sub in subs:
            await _deliver_subscription(db, settings, client, sub, owner, result)
    finally:
        await _release(db, subs, owner)
    return result


# ---- running ---------------------------------------------------------------------------------


async def run_once(db: Database, settings: Settings, client: httpx.AsyncClient | None = None) -> PassResult:
    own_client = client is None
    client = client or httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
    try:
        swept = await sweep(db, settings)
        swept.rendered = await document_renditions.render_pending(db, settings)
        delivered = await deliver(db, settings, client)
        swept.sealed = await seal_audit(db, settings)
        swept.checkpointed = await checkpoint_audit(db, settings)
    finally:
        if own_client:
            await client.aclose()
    swept.delivered, swept.failed = delivered.delivered, delivered.failed
    return swept


async def run(settings: Settings, *, once: bool) -> PassResult:
    db = Database(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    total = PassResult()
    try:
        async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client:
            while True:
                try:
                    result = await run_once(db, settings, client)
                except Exception:  # keep the worker alive; the next pass retries
                    log.exception("worker pass failed")
                    result = PassResult()
                    if once:
                        raise
                for field in PassResult.__dataclass_fields__:
                    setattr(total, field, getattr(total, field) + getattr(result, field))
                # Quiet when there was nothing to do: it runs beside `dev.py serve` in a terminal.
                report = log.info if any(result.__dict__.values()) else log.debug
                report("worker pass", extra={"fields": result.__dict__})
                if once or stop.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=settings.worker_interval_seconds)
                if stop.is_set():
                    break
    finally:
        await db.dispose()
    return total
