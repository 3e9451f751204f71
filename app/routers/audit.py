"""The audit log: reading it, verifying its chain and exporting signed checkpoints (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, Field

from app.deps import CtxDep, SettingsDep, require_roles
from app.errors import RuleViolation
from app.models.base import IsoDateTime, in_service_range
from app.models.platform import AuditEntry
from app.pagination import DEFAULT_LIMIT, MAX_SEQ, Page
from app.principal import Principal
from app.routers.common import Cursor, Limit
from app.services import audit as audit_service
from app.services import audit_verify
from app.services.journal import audit_list
from app.text import SafeText

router = APIRouter(prefix="/v1/audit", tags=["audit"])

# An instant the service can place (years 1900-2200): far-out offsets cannot overflow in UTC.
Instant = Annotated[IsoDateTime, AfterValidator(in_service_range)]


class AuditEntryPublic(BaseModel):
    seq: int
    actor: str
    actor_roles: list[str]
    action: str
    entity_kind: str
    entity_id: str | None
    request_id: str | None
    occurred_at: datetime
    detail: dict[str, Any]
    hash: str


class AuditBreak(BaseModel):
    seq: int
    reason: str


class AuditVerification(BaseModel):
    ok: bool
    checked: int = Field(description="Entries checked by this verification")
    chain_length: int = Field(description="The sequence number of the sealed chain head")
    verified_from: int = Field(
        description="Entries up to this one were trusted from the last verified checkpoint "
        "(0: checked from the first entry); `dissent audit verify --full` checks them all"
    )
    first_broken: AuditBreak | None


class AuditCheckpointPublic(BaseModel):
    """A signed position on the authority's audit chain, to keep outside the service."""

    format: str
    chain: str
    seq: int
    hash: str
    at: str
    key_id: str
    mac: str


@router.get("", response_model=Page[AuditEntryPublic])
async def list_audit(
    ctx: CtxDep,
    settings: SettingsDep,
    entity_kind: SafeText | None = Query(default=None, max_length=40),
    entity_id: SafeText | None = Query(default=None, max_length=64),
    actor: SafeText | None = Query(default=None, max_length=200),
    since: Instant | None = Query(default=None, alias="from"),
    until: Instant | None = Query(default=None, alias="to"),
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    _: Principal = require_roles("admin"),
) -> Page[AuditEntryPublic]:
    """The authority's audit log, newest first, filtered by entity, actor and time. Reading
    it is itself recorded (`audit.list`, with the entries shown)."""
    rows, next_cursor = await audit_service.list_entries(
        ctx.session,
        chain_key=ctx.authority.code,
        entity_kind=entity_kind,
        entity_id=entity_id,
        actor=actor,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
        keys=settings.audit_keys,
    )
    items = [_audit_public(r) for r in rows]
    filters = {"entity_kind": entity_kind, "entity_id": entity_id, "actor": actor, "from": since, "to": until}
    audit_list(ctx, "audit", [i.seq for i in items], filters)
    return Page(items=items, next_cursor=next_cursor)


def _audit_public(entry: AuditEntry) -> AuditEntryPublic:
    seq, _, hash_ = audit_service.chain_link(entry)
    return AuditEntryPublic(
        seq=seq,
        actor=entry.actor_sub,
        actor_roles=entry.actor_roles,
        action=entry.action,
        entity_kind=entry.entity_kind,
        entity_id=entry.entity_id,
        request_id=entry.request_id,
        occurred_at=entry.occurred_at,
        detail=entry.detail,
        hash=hash_,
    )


def _verification(result: audit_verify.Verification) -> AuditVerification:
    broken = result.first_broken
    return AuditVerification(
        ok=result.ok,
        checked=result.checked,
        chain_length=result.chain_length,
        verified_from=result.verified_from,
        first_broken=None if broken is None else AuditBreak(seq=broken.seq, reason=broken.reason),
    )


@router.get("/verify", response_model=AuditVerification)
async def verify_audit(
    ctx: CtxDep,
    settings: SettingsDep,
    checkpoint_seq: int | None = Query(
        default=None, ge=1, le=MAX_SEQ, description="`seq` of a kept checkpoint"
    ),
    checkpoint_hash: SafeText | None = Query(
        default=None, min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$", description="its `hash`"
    ),
    _: Principal = require_roles("admin"),
) -> AuditVerification:
    """Check the authority's audit chain from its last verified checkpoint to its sealed head:
    the links, the hashes and the seals made with the audit key. With `checkpoint_seq` and
    `checkpoint_hash` from a checkpoint kept outside (`GET /v1/audit/checkpoint`), also check
    that the chain still holds that entry unchanged. `ok` and the first broken entry if not."""
    if (checkpoint_seq is None) != (checkpoint_hash is None):
        raise RuleViolation(
            "give both checkpoint_seq and checkpoint_hash, or neither", code="validation_error"
        )
    against = None if checkpoint_seq is None or checkpoint_hash is None else (checkpoint_seq, checkpoint_hash)
    result = await audit_verify.verify_chain(
        ctx.session, ctx.authority.code, keys=settings.audit_keys, against=against
    )
    return _verification(result)


@router.get("/checkpoint", response_model=AuditCheckpointPublic)
async def audit_checkpoint(
    ctx: CtxDep, settings: SettingsDep, _: Principal = require_roles("admin")
) -> AuditCheckpointPublic:
    """A signed checkpoint at the chain's current head, made only if the chain verifies
    (`audit_chain_broken` otherwise). Keep it outside the service; `GET /v1/audit/verify`
    with its `seq` and `hash` later shows whether the chain was rewritten since."""
    checkpoint = await audit_verify.export_checkpoint(
        ctx.session, ctx.authority.code, keys=settings.audit_keys, now=ctx.now
    )
    return AuditCheckpointPublic(**checkpoint.to_json())
