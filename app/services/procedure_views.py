"""What callers see of an authority's procedure: the version in force, the history with
readable differences, a definition checked without saving, and its guidance."""

from __future__ import annotations

from typing import Any

from app.context import Ctx
from app.guidance import Audience, Guidance, guidance_for
from app.models.procedure import ChangePublic, ProcedureValidation, ProcedureVersionPublic
from app.rules import procedure as rules
from app.services import procedures
from app.services.journal import audit
from app.services.procedures import InForce


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[ChangePublic]:
    return [ChangePublic(**c.as_dict()) for c in rules.diff(old, new)]


def _resolved(version: InForce) -> dict[str, Any]:
    return version.profile.model_dump(mode="json")


def version_public(version: InForce, *, previous: InForce | None, in_force: int) -> ProcedureVersionPublic:
    row = version.row
    resolved = _resolved(version)
    base = _resolved(version) if row is None else procedures.builtin(row.extends).model_dump(mode="json")
    return ProcedureVersionPublic(
        code=version.code,
        version=version.version,
        extends=row.extends if row else None,
        effective_from=row.effective_from if row else None,
        created_at=row.created_at if row else None,
        created_by=row.created_by if row else None,
        in_force=version.version == in_force,
        definition=row.definition if row else None,
        resolved=version.profile,
        changes_from_base=_changes(base, resolved),
        changes_from_previous=_changes(_resolved(previous), resolved) if previous else [],
    )


async def adopt(ctx: Ctx, definition: dict[str, Any]) -> ProcedureVersionPublic:
    """Adopt a new version and show it as the versions list does."""
    adopted = await procedures.adopt_procedure(ctx, definition=definition)
    versions = await procedures.procedure_versions(ctx)
    in_force = (await procedures.current_procedure(ctx)).version
    return version_public(adopted, previous=versions[-2], in_force=in_force)


async def current_public(ctx: Ctx) -> ProcedureVersionPublic:
    """The version new conferences get today, with its differences."""
    versions = await procedures.procedure_versions(ctx)
    current = await procedures.current_procedure(ctx)
    index = next(i for i, v in enumerate(versions) if v.version == current.version)
    audit(ctx, "procedure.read", "procedure", None, {"version": current.version})
    return version_public(current, previous=versions[index - 1] if index else None, in_force=current.version)


async def versions_public(ctx: Ctx) -> list[ProcedureVersionPublic]:
    """Every version, oldest first (version 1 is the built-in profile)."""
    versions = await procedures.procedure_versions(ctx)
    in_force = (await procedures.current_procedure(ctx)).version
    audit(ctx, "procedure.versions_read", "procedure", None, {"count": len(versions)})
    return [
        version_public(v, previous=versions[i - 1] if i else None, in_force=in_force)
        for i, v in enumerate(versions)
    ]


async def validate_definition(ctx: Ctx, definition: dict[str, Any]) -> ProcedureValidation:
    """Every check adoption makes, nothing saved: the merged result and what it changes."""
    checked = await procedures.check_definition(ctx, definition)
    current = await procedures.current_procedure(ctx)
    return ProcedureValidation(
        code=checked.code,
        extends=checked.extends,
        effective_from=checked.effective_from,
        resolved=checked.profile,
        changes_from_base=_changes(
            procedures.builtin(checked.extends).model_dump(mode="json"), checked.resolved
        ),
        changes_from_current=_changes(_resolved(current), checked.resolved),
    )


async def current_guidance(ctx: Ctx, audience: Audience) -> Guidance:
    """The plain-language guidance of the procedure in force today."""
    return guidance_for((await procedures.current_procedure(ctx)).profile, audience)
