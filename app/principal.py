"""The authenticated caller and the roles a token can carry (SPEC §4). Token verification,
which builds a `Principal` from a verified token, is in `app.security`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

KNOWN_ROLES: Final[frozenset[str]] = frozenset(
    {
        "record_system",
        "chair",
        "professional",
        "reviewer",
        "reporting",
        "admin",
        "system_admin",
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller, as asserted by a verified token."""

    sub: str
    name: str
    roles: frozenset[str]
    agency: str | None
    authority: str | None

    def has_any(self, *roles: str) -> bool:
        """True if the principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)


def service_actor(sub: str, name: str, authority: str | None) -> Principal:
    """The service itself acting (the worker's sweeps): no roles, so no caller's rights."""
    return Principal(sub=sub, name=name, roles=frozenset(), agency=None, authority=authority)
