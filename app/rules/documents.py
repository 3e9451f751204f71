"""Documents: who receives them and who may read them (pure; no session, no HTTP).

A procedure's profile names, per document kind, the kinds of recipient it goes to
(`documents.kinds[kind].recipients`, codes from `RecipientKind`). When a document is issued
those kinds are resolved to the people the service knows (`recipients`); the people among
them may read that document even when they may not read its subject (`may_read`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.principal import Principal
from app.profiles.schema import Profile, RecipientKind

# Roles that never read a document, whatever else is true: aggregates only (SPEC §8).
NO_DOCUMENTS = frozenset({"reporting"})

# Minutes-extract entries are issued again when a listed dissent reaches one of these after
# the meeting: the extract says what happens next, and these change it.
MINUTES_CHANGING_STATUSES = frozenset({"withdrawn", "submitted", "referred", "lapsed"})


@dataclass(frozen=True)
class Person:
    person_id: str | None
    name: str | None
    agency: str | None = None


@dataclass(frozen=True)
class RecipientFacts:
    """The people a document's recipient kinds can resolve to, as the service knows them."""

    chair: Person
    dissenter: Person | None = None
    attending_professionals: Sequence[Person] = field(default_factory=tuple)
    family: Sequence[Person] = field(default_factory=tuple)
    reviewer: Person | None = None
    appellant: Person | None = None
    lead_social_worker: Person | None = None


def recipient_label(profile: Profile, kind: RecipientKind) -> str:
    labels: dict[str, str] = {
        "dissenter": "The dissenting professional",
        "dissenter_agency": "The dissenting professional's agency",
        "attending_professionals": "The professionals who attended the meeting",
        "family": "The family",
        "review_group": profile.documents.review_group or "The review group",
        "chair": profile.chair_title,
        "reviewer": profile.dissent.review.reviewer_title,
        "child_record": "Each child's record",
        "appellant": "The person who appealed",
        "lead_social_worker": "The lead social worker",
    }
    return labels[kind]


def _people(kind: RecipientKind, facts: RecipientFacts) -> list[Person]:
    one: dict[str, Person | None] = {
        "dissenter": facts.dissenter,
        "chair": facts.chair,
        "reviewer": facts.reviewer,
        "appellant": facts.appellant,
        "lead_social_worker": facts.lead_social_worker,
    }
    if kind in one:
        person = one[kind]
        return [person] if person is not None else []
    if kind == "dissenter_agency":
        agency = facts.dissenter.agency if facts.dissenter else None
        return [Person(person_id=None, name=None, agency=agency)] if agency else []
    if kind == "attending_professionals":
        return list(facts.attending_professionals)
    if kind == "family":
        return list(facts.family)
    return []  # review_group, child_record: a place, not a person


def recipients(
    profile: Profile, kinds: Sequence[RecipientKind], facts: RecipientFacts
) -> list[dict[str, Any]]:
    """Each recipient kind the profile names, as the people it means here (one entry per
    person; one entry for a kind that is a group or a record, or whose people are unknown)."""
    entries: list[dict[str, Any]] = []
    for kind in kinds:
        label = recipient_label(profile, kind)
        people = _people(kind, facts) or [Person(person_id=None, name=None)]
        for person in people:
            entries.append(
                {
                    "kind": kind,
                    "label": label,
                    "person_id": person.person_id,
                    "name": person.name,
                    "agency": person.agency,
                }
            )
    return entries


def reader_ids(entries: Sequence[dict[str, Any]]) -> set[str]:
    """The people among a document's recipients (each may read that document)."""
    return {e["person_id"] for e in entries if e.get("person_id")}


def may_read_documents(principal: Principal) -> bool:
    """Whether the caller's roles let them read documents at all."""
    return bool(principal.roles - NO_DOCUMENTS)


def may_read(principal: Principal, *, subject_readable: bool, is_recipient: bool) -> bool:
    """Whoever may read a document's subject may read the document, and so may the people it
    was sent to; the reporting role never (aggregates only)."""
    return may_read_documents(principal) and (subject_readable or is_recipient)
