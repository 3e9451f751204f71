"""Who may see and do what (SPEC §4), as pure predicates over a principal, and the
`require_*` guards that refuse with 403 where a service needs the answer to be yes."""

from __future__ import annotations

from enum import StrEnum

from app.errors import Forbidden, RuleViolation
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


def require(allowed: bool, detail: str) -> None:
    """Refuse with 403 and `detail` unless `allowed`."""
    if not allowed:
        raise Forbidden(detail)


def require_list_scope(principal: Principal, what: str) -> None:
    require(conference_scope(principal) is not Scope.none, f"this role cannot list {what}")


def require_chair(
    principal: Principal, chair_id: str, detail: str = "only this meeting's chair can do that"
) -> None:
    require(is_conference_chair(principal, chair_id), detail)


def require_role(principal: Principal, *roles: str, detail: str) -> None:
    require(principal.has_any(*roles), detail)


# ---- conferences ---------------------------------------------------------------------------


def require_attendance_manager(principal: Principal, chair_id: str) -> None:
    require(
        can_manage_attendees(principal, chair_id),
        "only the record system or this meeting's chair can record attendance",
    )


def require_canceller(principal: Principal, chair_id: str) -> None:
    require(
        can_manage_attendees(principal, chair_id),
        "only the record system or this meeting's chair can cancel it",
    )


# ---- dissents ------------------------------------------------------------------------------


def dissenter_for(principal: Principal, *, chair_id: str, named: str | None) -> str:
    """Whose dissent the caller is raising: their own as an attending professional, or, as
    this meeting's chair, the attendee they name."""
    chair = is_conference_chair(principal, chair_id)
    if named is not None and (chair or named != principal.sub):
        require(chair, "only the chair can raise a dissent on someone else's behalf")
        return named
    if principal.has_any("professional"):
        return principal.sub
    if chair:
        raise RuleViolation(
            "the chair raises a dissent on an attendee's behalf: give attendee_person_id",
            code="validation_error",
        )
    raise Forbidden("a dissent is raised by an attending professional or by the chair for one")


def require_withdrawer(principal: Principal, *, dissenter_id: str, chair_id: str, in_meeting: bool) -> None:
    own = principal.sub == dissenter_id
    chair_in_meeting = is_conference_chair(principal, chair_id) and in_meeting
    require(
        own or chair_in_meeting,
        "only the dissenter can withdraw a dissent (or the chair, during the meeting)",
    )


def require_reviewer(principal: Principal) -> None:
    require_role(principal, "reviewer", detail="only a reviewer can do that")


# ---- appeals -------------------------------------------------------------------------------


def require_appeal_responder(principal: Principal, roles: list[str], title: str | None) -> None:
    require_role(principal, *roles, detail=f"in this procedure the {title or 'responder'} answers appeals")


# ---- calendar ------------------------------------------------------------------------------


def can_read_authority(principal: Principal, authority_code: str) -> bool:
    """An authority's record and working calendar: its own staff, or a system administrator
    (anyone else is told there is no such authority)."""
    return principal.has_any("system_admin") or principal.authority == authority_code


# ---- appeals and reports -------------------------------------------------------------------


def lodges_as_professional(principal: Principal) -> bool:
    """A professional (not the record system) lodges an appeal only as the lead social worker."""
    return principal.has_any("professional") and not principal.has_any("record_system")


def small_counts_withheld(principal: Principal) -> bool:
    """Report suppression applies to the `reporting` role unless it also holds a managing role."""
    return principal.has_any("reporting") and not principal.has_any("admin", "reviewer")


# ---- attachments ---------------------------------------------------------------------------


def require_attachment_adder(principal: Principal, chair_id: str) -> None:
    require(
        can_manage_attendees(principal, chair_id),
        "only the record system or this meeting's chair can attach documents to it",
    )
