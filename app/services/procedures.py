"""Local procedures: validating and adopting an authority's own versions, the version in
force, and the procedure a conference runs under (the one in force the day it was created,
kept to the end). Built-in profiles are version 1 of themselves and have no row.

Resolved procedures are cached for the life of the process by (authority, version): a
version never changes once adopted, so the cache cannot go stale."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.context import Ctx
from app.errors import PreconditionFailed
from app.models.authority import Authority
from app.models.conference import Conference, Decision
from app.models.procedure import ProcedureVersion
from app.profiles import Profile, all_profiles, get_profile
from app.rules import procedure as rules
from app.services.journal import record_change

_RESOLVED: dict[tuple[uuid.UUID, int], Profile] = {}


@dataclass(frozen=True)
class InForce:
    """A procedure version: its code, number and resolved rules."""

    code: str
    version: int
    profile: Profile
    row: ProcedureVersion | None  # None for version 1, the built-in profile


def builtin(code: str) -> Profile:
    profile = get_profile(code)
    if profile is None:  # authorities and conferences only name known profiles
        raise RuntimeError(f"unknown built-in profile {code}")
    return profile


async def _resolved(ctx: Ctx, authority_id: uuid.UUID, version: int) -> Profile:
    key = (authority_id, version)
    profile = _RESOLVED.get(key)
    if profile is None:
        row = (
            await ctx.session.exec(
                select(ProcedureVersion).where(
                    ProcedureVersion.authority_id == authority_id, ProcedureVersion.version == version
                )
            )
        ).one()
        profile = _RESOLVED[key] = Profile.model_validate(row.resolved)
    return profile


async def procedure_of(ctx: Ctx, conference: Conference) -> Profile:
    """The rules a conference and everything about it (dissents, appeals, deadlines,
    documents) follow: the version it was created under, not the authority's current one."""
    if conference.procedure_version == 1:
        return builtin(conference.procedure_code)
    return await _resolved(ctx, conference.authority_id, conference.procedure_version)


async def procedure_of_id(ctx: Ctx, conference_id: uuid.UUID) -> Profile:
    conference = await ctx.session.get(Conference, conference_id)
    if conference is None:
        raise RuntimeError(f"no conference {conference_id}")
    return await procedure_of(ctx, conference)


def today(ctx: Ctx) -> date:
    return ctx.calendar.local_date(ctx.now)


async def _versions(ctx: Ctx) -> list[ProcedureVersion]:
    rows = await ctx.session.exec(
        select(ProcedureVersion)
        .where(ProcedureVersion.authority_id == ctx.authority.id)
        .order_by(col(ProcedureVersion.version))
    )
    return list(rows.all())


def _builtin_version(ctx: Ctx) -> InForce:
    return InForce(ctx.authority.profile, 1, builtin(ctx.authority.profile), None)


def _adopted(row: ProcedureVersion) -> InForce:
    profile = _RESOLVED.get((row.authority_id, row.version))
    if profile is None:
        profile = _RESOLVED[(row.authority_id, row.version)] = Profile.model_validate(row.resolved)
    return InForce(row.code, row.version, profile, row)


async def current_procedure(ctx: Ctx) -> InForce:
    """The version in force today in the authority's time zone: the latest adopted one
    whose effective_from has come, else the built-in profile (version 1)."""
    row = (
        await ctx.session.exec(
            select(ProcedureVersion)
            .where(
                ProcedureVersion.authority_id == ctx.authority.id,
                col(ProcedureVersion.effective_from) <= today(ctx),
            )
            .order_by(col(ProcedureVersion.version).desc())
            .limit(1)
        )
    ).first()
    return _builtin_version(ctx) if row is None else _adopted(row)


async def latest_version(ctx: Ctx) -> int:
    """The ETag of the procedure resource: the last version adopted (1 when none)."""
    latest = (
        await ctx.session.exec(
            select(func.max(ProcedureVersion.version)).where(
                ProcedureVersion.authority_id == ctx.authority.id
            )
        )
    ).one()
    return int(latest or 1)


async def used_categories(ctx: Ctx) -> set[str]:
    """Categories named by decisions that keep a child's plan running (open cases)."""
    rows = await ctx.session.exec(
        select(Decision.categories).where(
            Decision.authority_id == ctx.authority.id,
            col(Decision.superseded_at).is_(None),
            col(Decision.outcome).in_(rules.OPEN_OUTCOMES),
        )
    )
    return {code for categories in rows.all() for code in categories}


@dataclass(frozen=True)
class Checked:
    code: str
    extends: str
    effective_from: date
    profile: Profile
    resolved: dict[str, Any]


async def check_definition(ctx: Ctx, definition: dict[str, Any]) -> Checked:
    """Everything adoption checks, without saving: the base, the start date, the code, the
    merged procedure against the profile schema and the sense checks."""
    builtins = all_profiles()
    own = {v.code for v in await _versions(ctx)} | {f"{ctx.authority.code.lower()}-local"}
    base, effective = rules.check_wrapper(
        definition, builtin_codes=builtins, local_codes=own, today=today(ctx)
    )
    code = rules.procedure_code(definition, authority_code=ctx.authority.code, builtin_codes=builtins)
    profile = rules.resolve(
        definition,
        base=builtins[base].model_dump(mode="json"),
        code=code,
        used_categories=await used_categories(ctx),
    )
    return Checked(code, base, effective or today(ctx), profile, profile.model_dump(mode="json"))


async def adopt_procedure(ctx: Ctx, *, definition: dict[str, Any]) -> InForce:
    """A new immutable version, numbered after the last one. The authority row is locked
    first so concurrent adoptions queue; the If-Match check then sees the winner's number
    (412), and the UNIQUE (authority, version) constraint backs it where locks do not."""
    await ctx.session.exec(
        select(Authority.id).where(col(Authority.id) == ctx.authority.id).with_for_update()
    )
    latest = await latest_version(ctx)
    ctx.check_version(latest)
    checked = await check_definition(ctx, definition)
    row = ProcedureVersion(
        authority_id=ctx.authority.id,
        version=latest + 1,
        code=checked.code,
        extends=checked.extends,
        effective_from=checked.effective_from,
        definition=definition,
        resolved=checked.resolved,
        created_at=ctx.now,
        created_by=ctx.actor.sub,
    )
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(row)
    except IntegrityError as exc:
        raise PreconditionFailed(
            f"version {latest + 1} was adopted meanwhile; reload the procedure and try again"
        ) from exc
    await record_change(
        ctx,
        event_type="procedure.adopted",
        entity_kind="procedure",
        entity_id=row.id,
        data={
            "code": row.code,
            "version": row.version,
            "extends": row.extends,
            "effective_from": row.effective_from.isoformat(),
        },
    )
    return _adopted(row)


async def procedure_versions(ctx: Ctx) -> list[InForce]:
    """Every version, the built-in profile (version 1) first."""
    return [_builtin_version(ctx), *(_adopted(row) for row in await _versions(ctx))]
