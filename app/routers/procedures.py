"""An authority's own procedure: adopt a version (admin), check a definition without saving,
read the version in force and the history, and (public) its guidance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import HTMLResponse

from app.context import Ctx, find_authority
from app.deps import CtxDep, Now, SessionDep, require_roles
from app.errors import NotFound
from app.guidance import Audience, Guidance, guidance_html
from app.models.procedure import ProcedureValidation, ProcedureVersionPublic
from app.negotiation import preferred
from app.principal import Principal, service_actor
from app.routers.common import with_etag
from app.routers.params import AuthorityCode
from app.services import authorities, procedure_views, procedures

router = APIRouter(prefix="/v1/authorities", tags=["procedures"])
public_router = APIRouter(prefix="/v1/authorities", tags=["procedures"])

_READERS = ("system_admin", "admin", "record_system", "reviewer", "chair", "professional", "reporting")
_OFFERED = ["application/json", "text/html"]

Definition = Annotated[
    dict[str, Any],
    Body(
        description=(
            "A local procedure: `extends` (a built-in profile's code), optional `effective_from` "
            "(YYYY-MM-DD, today or later; default today) and `code`, and the fields that differ from "
            "the base, named and nested as in GET /v1/profiles. An object merges into the base; a "
            "list or a value replaces it."
        ),
        examples=[
            {
                "extends": "england-cp-conference",
                "effective_from": "2026-04-01",
                "dissent": {"written_step": {"deadline": {"working_days": 3}}},
            }
        ],
    ),
]


async def _reader_ctx(request: Request, session: SessionDep, actor: Principal, now: Now, code: str) -> Ctx:
    """A Ctx on the authority in the URL, for its own staff or a system administrator."""
    authority = await authorities.get_authority(session, actor=actor, code=code)
    return Ctx(
        session=session,
        actor=actor,
        authority=authority,
        now=now,
        request_id=getattr(request.state, "request_id", None),
    )


async def _admin_ctx(ctx: Ctx, code: str) -> Ctx:
    # The URL must name the admin's own authority (another answers as missing).
    await authorities.get_authority(ctx.session, actor=ctx.actor, code=code)
    if ctx.authority.code != code:
        raise NotFound("no such authority")
    return ctx


@router.put("/{code}/procedure", status_code=201, response_model=ProcedureVersionPublic)
async def adopt_procedure(
    code: AuthorityCode,
    definition: Definition,
    response: Response,
    ctx: CtxDep,
    _: Principal = require_roles("admin"),
) -> ProcedureVersionPublic:
    """Adopt a new version of the authority's own procedure (admin). Each adoption is a new,
    immutable version; conferences keep the version in force on the day they were created.
    Send `If-Match` with the procedure's ETag (its latest version number): a concurrent
    adoption then answers 412. A refused definition lists each problem with its JSON pointer
    in `errors`, and nothing is saved."""
    adopted = await procedure_views.adopt(await _admin_ctx(ctx, code), definition)
    response.headers["Location"] = f"/v1/authorities/{code}/procedure/versions"
    with_etag(response, adopted.version)
    return adopted


@router.post("/{code}/procedure/validate", response_model=ProcedureValidation)
async def validate_procedure(
    code: AuthorityCode,
    definition: Definition,
    ctx: CtxDep,
    _: Principal = require_roles("admin"),
) -> ProcedureValidation:
    """Check a definition as adoption would, saving nothing: the merged procedure and its
    differences from the base and from the version in force, or 422 with each problem's
    JSON pointer."""
    ctx = await _admin_ctx(ctx, code)
    return await procedure_views.validate_definition(ctx, definition)


@router.get("/{code}/procedure", response_model=ProcedureVersionPublic)
async def get_procedure(
    code: AuthorityCode,
    request: Request,
    response: Response,
    session: SessionDep,
    now: Now,
    actor: Principal = require_roles(*_READERS),
) -> ProcedureVersionPublic:
    """The version in force today (new conferences get it). The ETag is the latest version
    adopted, to send as `If-Match` with the next adoption."""
    ctx = await _reader_ctx(request, session, actor, now, code)
    current = await procedure_views.current_public(ctx)
    with_etag(response, await procedures.latest_version(ctx))
    return current


@router.get("/{code}/procedure/versions", response_model=list[ProcedureVersionPublic])
async def list_procedure_versions(
    code: AuthorityCode,
    request: Request,
    response: Response,
    session: SessionDep,
    now: Now,
    actor: Principal = require_roles(*_READERS),
) -> list[ProcedureVersionPublic]:
    """Every version, oldest first: version 1 is the built-in profile; each later one shows
    what it changes from its base and from the version before."""
    ctx = await _reader_ctx(request, session, actor, now, code)
    versions = await procedure_views.versions_public(ctx)
    with_etag(response, versions[-1].version)
    return versions


@public_router.get(
    "/{code}/procedure/guidance",
    response_model=Guidance,
    responses={
        200: {
            "description": "The guidance as JSON, or as an accessible HTML page for `Accept: text/html`",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
    },
)
async def get_procedure_guidance(
    code: AuthorityCode, request: Request, session: SessionDep, now: Now, audience: Audience = "professional"
) -> Guidance | HTMLResponse:
    """Plain-language guidance on the authority's procedure in force today, in its own
    wording. Public, like /v1/guidance."""
    authority = await find_authority(session, code)
    if authority is None:
        raise NotFound("no such authority")
    ctx = Ctx(
        session=session,
        actor=service_actor("public", "Public", code),
        authority=authority,
        now=now,
        request_id=None,
    )
    guidance = await procedure_views.current_guidance(ctx, audience)
    if preferred(request.headers.get("accept"), _OFFERED) == "text/html":
        return HTMLResponse(guidance_html(guidance))
    return guidance
