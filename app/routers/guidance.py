from __future__ import annotations

from fastapi import APIRouter

from app.errors import NotFound
from app.guidance import Audience, Guidance, guidance_for
from app.profiles import get_profile
from app.routers.params import ProfileCode

router = APIRouter(prefix="/v1/guidance", tags=["guidance"])


@router.get("/{profile}", response_model=Guidance)
async def get_guidance(profile: ProfileCode, audience: Audience = "professional") -> Guidance:
    """Plain-language guidance on the procedure for professionals, parents or children.
    Public: families may be shown it without an account."""
    definition = get_profile(profile)
    if definition is None:
        raise NotFound("no such procedure profile")
    return guidance_for(definition, audience)
