"""The written step after an unresolved dissent: which document the procedure takes, and
whether what the dissenter wrote agrees with what the service knows about the meeting."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from app.errors import RuleViolation
from app.profiles.schema import Profile

DOCUMENT_LABELS = {
    "dissent_form": "dissent form",
    "dissent_letter": "letter to the reviewer",
    "referral": "written referral by the chair",
}
# A decision that places or keeps a child on the register (or on a plan).
SUBJECT_TO_PLAN = frozenset({"register", "continue"})


@dataclass(frozen=True)
class MeetingChild:
    """A child of the meeting as the service holds them."""

    id: str
    name: str
    date_of_birth: date | None
    expected_date_of_birth: date | None


@dataclass(frozen=True)
class ChildEntry:
    """A child as the dissenter wrote them on the form."""

    child_id: str | None
    name: str
    date_of_birth: date | None


def check_document(profile: Profile, form: str) -> None:
    """The body is the written document this procedure's step takes."""
    expected = profile.dissent.written_step.document
    if form != expected:
        raise RuleViolation(
            f"this procedure's written step is a {DOCUMENT_LABELS[expected]} (form: {expected}), "
            f"not a {DOCUMENT_LABELS.get(form, form)}",
            code="form_not_for_procedure",
            errors=[{"loc": ["body", "form"], "msg": f"expected {expected}", "type": "literal_error"}],
        )


def check_has_draft(profile: Profile) -> None:
    """Only a dissenter's own written document has a draft; the chair's referral has none."""
    if profile.dissent.written_step.document == "referral":
        raise RuleViolation(
            "in this procedure the chair refers the dissent in writing; the dissenter writes nothing",
            code="form_not_for_procedure",
        )


def _plain(name: str) -> str:
    return " ".join(name.casefold().split())


def _matches(entry: ChildEntry, child: MeetingChild) -> bool:
    if entry.child_id is not None:
        return entry.child_id == child.id
    born_on = {child.date_of_birth, child.expected_date_of_birth} - {None}
    return _plain(entry.name) == _plain(child.name) and (
        entry.date_of_birth in born_on or (entry.date_of_birth is None and child.date_of_birth is None)
    )


def check_children(entries: Sequence[ChildEntry], meeting_children: Iterable[MeetingChild]) -> None:
    """Each child on the form is a child of the meeting: by id, or by name and date of birth."""
    children = list(meeting_children)
    for index, entry in enumerate(entries):
        if not any(_matches(entry, child) for child in children):
            how = "id" if entry.child_id is not None else "name and date of birth"
            raise RuleViolation(
                f"children[{index}] is not a child of this meeting (checked by {how})",
                code="children_mismatch",
                errors=[{"loc": ["body", "children", index], "msg": "not a child of this meeting"}],
            )


def check_subject_to_plan(claimed: bool, outcomes: Iterable[str]) -> None:
    """`child_subject_to_plan` agrees with the decision recorded for the dissent's children."""
    recorded = {outcome in SUBJECT_TO_PLAN for outcome in outcomes}
    if recorded and claimed not in recorded:
        said = "was" if claimed else "was not"
        raise RuleViolation(
            f"the form says the child {said} made subject to a plan; the recorded decision says otherwise",
            code="child_subject_to_plan_mismatch",
            errors=[{"loc": ["body", "child_subject_to_plan"], "msg": "disagrees with the decision"}],
        )


def check_signed_on(signed_on: date, *, meeting_date: date, today: date) -> None:
    """Signed on or after the meeting, and not after today."""
    if not meeting_date <= signed_on <= today:
        raise RuleViolation(
            f"signed_on must be between the meeting date ({meeting_date.isoformat()}) and today "
            f"({today.isoformat()})",
            code="signed_on_out_of_range",
            errors=[{"loc": ["body", "signed_on"], "msg": "outside the meeting date to today"}],
        )


def check_family_informant(named: str | None, informed_by: str, *, other_reason: str | None) -> None:
    """Where the reviewer named who tells the family, it is that person, or the record says
    why someone else did."""
    if named is None or _plain(named) == _plain(informed_by) or other_reason:
        return
    raise RuleViolation(
        "informed_by is not the person the reviewer named to tell the family; if someone else "
        "did, give other_informant_reason",
        code="informant_mismatch",
        errors=[{"loc": ["body", "informed_by"], "msg": "not the person the reviewer named"}],
    )
