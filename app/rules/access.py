"""Who may see and do what (SPEC §4), as pure predicates over a principal."""

from __future__ import annotations

from enum import StrEnum

from app.principal import Principal

WHOLE_AUTHORITY = frozenset({"record_system", "admin", "reviewer"})


class Scope(StrEnum):
    """How much of an authority's conference data a caller may read."""

    all = "all"
    own = "own"  # conferences they chair and/or attend
    none = "none"


def conference_scope(principal: Principal) -> Scope:
    if principal.roles & WHOLE_AUTHORITY:
        return Scope.all
    if principal.has_any("chair", "professional"):
        return Scope.own
    return Scope.none


def can_see_conference(principal: Principal, *, chair_id: str, attendee_ids: set[str]) -> bool:
    scope = conference_scope(principal)
    if scope is Scope.all:
        return True
    if scope is Scope.none:
        return False
    chairs = principal.has_any("chair") and principal.sub == chair_id
    attends = principal.has_any("professional") and principal.sub in attendee_ids
    return chairs or attends


def is_conference_chair(principal: Principal, chair_id: str) -> bool:
    return principal.has_any("chair") and principal.sub == chair_id


def can_manage_attendees(principal: Principal, chair_id: str) -> bool:
    return principal.has_any("record_system") or is_conference_chair(principal, chair_id)
