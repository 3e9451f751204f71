from __future__ import annotations

from fastapi import APIRouter

from app.deps import CurrentUser
from app.errors import NotFound
from app.profiles import all_profiles, get_profile
from app.profiles.schema import Labelled, Profile
from app.routers.params import ProfileCode

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])


class ProfilePublic(Profile):
    dissent_subjects: list[str]
    review_outcomes: list[Labelled]
    appeals_enabled: bool


def _public(profile: Profile) -> ProfilePublic:
    return ProfilePublic(
        **profile.model_dump(),
        dissent_subjects=list(profile.dissent.subjects),
        review_outcomes=list(profile.dissent.review.outcomes),
        appeals_enabled=profile.appeals.enabled,
    )


@router.get("", response_model=list[ProfilePublic])
async def list_profiles(_: CurrentUser) -> list[ProfilePublic]:
    """The procedure profiles this service runs, with their full rules."""
    return [_public(p) for p in all_profiles().values()]


@router.get("/{code}", response_model=ProfilePublic)
async def get_profile_by_code(code: ProfileCode, _: CurrentUser) -> ProfilePublic:
    profile = get_profile(code)
    if profile is None:
        raise NotFound("no such procedure profile")
    return _public(profile)
