"""Authorities: creation by the system administrator, settings by the authority's admin."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.context import Ctx
from app.errors import Conflict, NotFound, RuleViolation
from app.models.authority import Authority, AuthorityCreate, AuthorityPublic, AuthorityUpdate
from app.principal import Principal
from app.profiles import all_profiles, get_profile
from app.rules.access import can_read_authority
from app.rules.calendar import JURISDICTIONS, is_valid_timezone
from app.services.journal import record_change


def to_public(authority: Authority) -> AuthorityPublic:
    return AuthorityPublic.model_validate(authority, from_attributes=True)


def _check_extra_categories(profile_code: str, extra: list[dict[str, str]]) -> None:
    profile = get_profile(profile_code)
    assert profile is not None
    codes = [c["code"] for c in extra]
    clashes = {c.code for c in profile.categories} & set(codes)
    if clashes or len(codes) != len(set(codes)):
        raise RuleViolation(
            "extra categories must have codes not already in the profile and not repeated",
            code="validation_error",
        )


async def create_authority(
    session: AsyncSession, *, actor: Principal, data: AuthorityCreate, now: datetime, request_id: str | None
) -> Authority:
    if data.profile not in all_profiles():
        raise RuleViolation("unknown procedure profile; see GET /v1/profiles", code="unknown_profile")
    if data.jurisdiction not in JURISDICTIONS:
        raise RuleViolation(
            f"jurisdiction must be one of {', '.join(JURISDICTIONS)}", code="validation_error"
        )
    if not is_valid_timezone(data.timezone):
        raise RuleViolation("timezone is not a known IANA time zone name", code="validation_error")
    extra = [c.model_dump() for c in data.extra_categories]
    _check_extra_categories(data.profile, extra)
    existing = (await session.exec(select(Authority).where(Authority.code == data.code))).first()
    if existing is not None:
        raise Conflict("an authority with this code already exists", code="authority_exists")
    authority = Authority(
        code=data.code,
        name=data.name,
        profile=data.profile,
        jurisdiction=data.jurisdiction,
        timezone=data.timezone,
        closure_dates=[d.isoformat() for d in data.closure_dates],
        extra_categories=extra,
        created_at=now,
        updated_at=now,
    )
    session.add(authority)
    await session.flush()
    ctx = Ctx(session=session, actor=actor, authority=authority, now=now, request_id=request_id)
    await record_change(
        ctx,
        event_type="authority.created",
        entity_kind="authority",
        entity_id=authority.id,
        data={"code": authority.code, "profile": authority.profile, "jurisdiction": authority.jurisdiction},
    )
    return authority


async def get_authority(session: AsyncSession, *, actor: Principal, code: str) -> Authority:
    # Other authorities' records answer exactly like missing ones.
    if not can_read_authority(actor, code):
        raise NotFound("no such authority")
    authority = (await session.exec(select(Authority).where(Authority.code == code))).first()
    if authority is None:
        raise NotFound("no such authority")
    return authority


async def update_authority(ctx: Ctx, *, data: AuthorityUpdate) -> Authority:
    # Read the row fresh and locked (ctx.authority may be an older copy) before honouring
    # If-Match: of concurrent PATCHes under one ETag the later ones then see the new version
    # (412) instead of passing the check and failing at the write.
    authority = (
        await ctx.session.exec(
            select(Authority)
            .where(col(Authority.id) == ctx.authority.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    ctx.check_version(authority.version)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is not None:
        authority.name = changes["name"]
    if changes.get("closure_dates") is not None:
        authority.closure_dates = [date.isoformat(d) for d in data.closure_dates or []]
    if changes.get("extra_categories") is not None:
        extra = [c.model_dump() for c in data.extra_categories or []]
        _check_extra_categories(authority.profile, extra)
        authority.extra_categories = extra
    authority.updated_at = ctx.now
    ctx.session.add(authority)
    await ctx.session.flush()
    await record_change(
        ctx,
        event_type="authority.updated",
        entity_kind="authority",
        entity_id=authority.id,
        data={"changed": sorted(k for k, v in changes.items() if v is not None)},
    )
    if ctx.authorities is not None:
        ctx.authorities.forget(authority.code)
    return authority
