"""Procedure profiles, loaded from `definitions/*.json` and validated once at start-up."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from app.profiles.schema import Profile

DEFINITIONS = Path(__file__).parent / "definitions"


def load_profiles(directory: Path = DEFINITIONS) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for path in sorted(directory.glob("*.json")):
        profile = Profile.model_validate(json.loads(path.read_text(encoding="utf-8")))
        if profile.code != path.stem:
            raise ValueError(f"{path.name}: code {profile.code!r} must match the file name")
        profiles[profile.code] = profile
    if not profiles:
        raise ValueError(f"no procedure profiles found in {directory}")
    return profiles


@lru_cache
def all_profiles() -> dict[str, Profile]:
    return load_profiles()


def get_profile(code: str) -> Profile | None:
    return all_profiles().get(code)


__all__ = ["Profile", "all_profiles", "get_profile", "load_profiles"]
