from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.errors import NotFound
from app.guidance import Audience, Guidance, guidance_for, guidance_html
from app.negotiation import preferred
from app.profiles import get_profile

router = APIRouter(prefix="/v1/guidance", tags=["guidance"])

_OFFERED = ["application/json", "text/html"]


@router.get(
    "/{profile}",
    response_model=Guidance,
    responses={
        200: {
            "description": "The guidance as JSON, or as an accessible HTML page for `Accept: text/html`",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
async def get_guidance(
    request: Request, profile: str, audience: Audience = "professional"
) -> Guidance | HTMLResponse:
    """Plain-language guidance on the procedure for professionals, parents or children.
    Public: families may be shown it without an account. `Accept: text/html` gives a page to
    read (headings, `lang`, no scripts)."""
    definition = get_profile(profile)
    if definition is None:
        raise NotFound("no such procedure profile")
    guidance = guidance_for(definition, audience)
    if preferred(request.headers.get("accept"), _OFFERED) == "text/html":
        return HTMLResponse(guidance_html(guidance))
    return guidance
