"""The written step's documents as the API takes them: England's Dissent Form, the CARM
dissenter's letter to the reviewer (one body, told apart by `form`), the chair's referral,
the drafts the service fills in for the dissenter, and the submitted document as a dissent
answers it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, EmailStr, Tag
from pydantic import Field as PField

from app.models.base import IsoDate
from app.text import SafeText

LongText = PField(min_length=1, max_length=20000)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfessionalDetails(_In):
    name: SafeText = PField(min_length=1, max_length=200)
    role: SafeText = PField(min_length=1, max_length=200)
    agency: SafeText = PField(min_length=1, max_length=200)
    agency_address: SafeText = PField(min_length=1, max_length=1000)
    phone: SafeText = PField(min_length=3, max_length=40)
    email: EmailStr = PField(max_length=254)


class ManagerDetails(_In):
    name: SafeText = PField(min_length=1, max_length=200)
    contact: SafeText = PField(min_length=1, max_length=300)


class ChildOnForm(_In):
    child_id: uuid.UUID | None = PField(
        default=None, description="The child's id; without it the name and date of birth identify the child"
    )
    name: SafeText = PField(min_length=1, max_length=200)
    date_of_birth: IsoDate | None = PField(
        default=None, description="Empty for an unborn baby (or the expected date of birth)"
    )


class DissentFormIn(_In):
    """England's Dissent Form (Appendix 1)."""

    form: Literal["dissent_form"] = PField(
        default="dissent_form", description="Which written document this is (the profile names it)"
    )
    professional: ProfessionalDetails
    manager: ManagerDetails
    children: list[ChildOnForm] = PField(min_length=1, max_length=20)
    conference_date: IsoDate
    child_subject_to_plan: bool
    discussed_with_line_manager_and_safeguarding_lead: bool
    rationale: SafeText = LongText
    signed_name: SafeText = PField(min_length=1, max_length=200)
    signed_on: IsoDate


class LetterSender(_In):
    name: SafeText = PField(min_length=1, max_length=200)
    role: SafeText = PField(min_length=1, max_length=200)
    agency: SafeText = PField(min_length=1, max_length=200)
    contact: SafeText = PField(min_length=1, max_length=300, description="Address, telephone or email")


class DissentLetterIn(_In):
    """The dissenter's letter to the reviewer (Scotland, CARM)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    form: Literal["dissent_letter"]
    sender: LetterSender = PField(alias="from")
    to: SafeText = PField(min_length=1, max_length=300, description="The reviewer it is addressed to")
    reasons: SafeText = LongText
    signed_name: SafeText = PField(min_length=1, max_length=200)
    signed_on: IsoDate


class ProfessionalDraft(BaseModel):
    name: str
    role: str
    agency: str
    agency_address: str | None
    phone: str | None
    email: str | None


class ChildDraft(BaseModel):
    child_id: uuid.UUID
    name: str
    date_of_birth: date | None


class DissentFormDraft(BaseModel):
    """England's Dissent Form filled with what the service knows; the dissenter adds the rest
    (the empty fields) and submits it."""

    form: Literal["dissent_form"] = "dissent_form"
    professional: ProfessionalDraft
    manager: ManagerDetails | None = None
    children: list[ChildDraft]
    conference_date: date
    child_subject_to_plan: bool | None
    discussed_with_line_manager_and_safeguarding_lead: bool | None = None
    rationale: str
    signed_name: str
    signed_on: date | None = None


class LetterSenderDraft(BaseModel):
    name: str
    role: str
    agency: str
    contact: str | None = None


class DissentLetterDraft(BaseModel):
    """The dissenter's letter to the reviewer, filled with what the service knows."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    form: Literal["dissent_letter"] = "dissent_letter"
    sender: LetterSenderDraft = PField(alias="from")
    to: str
    reasons: str
    signed_name: str
    signed_on: date | None = None


WrittenSubmissionDraft = Annotated[DissentFormDraft | DissentLetterDraft, PField(discriminator="form")]


def _form_of(value: Any) -> str:
    # A body without `form` is England's Dissent Form, as before the letter existed.
    if isinstance(value, dict):
        return str(value.get("form", "dissent_form"))
    return str(getattr(value, "form", "dissent_form"))


WrittenSubmissionIn = Annotated[
    Annotated[DissentFormIn, Tag("dissent_form")] | Annotated[DissentLetterIn, Tag("dissent_letter")],
    Discriminator(_form_of),
]


class ReferralIn(_In):
    note: SafeText = LongText
    nature_of_dissent: SafeText | None = PField(
        default=None, max_length=20000, description="The precise nature of the agency's dissent"
    )
    course_of_action: SafeText | None = PField(
        default=None, max_length=20000, description="The course of action agreed with the senior manager"
    )
    senior_manager: SafeText | None = PField(
        default=None, max_length=200, description="The senior manager the course of action was agreed with"
    )


# ---- the submitted document, as a dissent answers it ---------------------------------------
# Plain output types: what was stored passed the request's checks when it was submitted, and
# a later tightening of those checks must not make an old dissent unreadable: every field but
# `form` may be missing (null) in a document stored before the field existed.


class SubmittedProfessional(BaseModel):
    name: str | None = None
    role: str | None = None
    agency: str | None = None
    agency_address: str | None = None
    phone: str | None = None
    email: str | None = None


class SubmittedManager(BaseModel):
    name: str | None = None
    contact: str | None = None


class SubmittedChild(BaseModel):
    child_id: uuid.UUID | None = None
    name: str | None = None
    date_of_birth: date | None = None


class SubmittedDissentForm(BaseModel):
    """England's Dissent Form as the dissenter submitted it."""

    form: Literal["dissent_form"]
    professional: SubmittedProfessional | None = None
    manager: SubmittedManager | None = None
    children: list[SubmittedChild] | None = None
    conference_date: date | None = None
    child_subject_to_plan: bool | None = None
    discussed_with_line_manager_and_safeguarding_lead: bool | None = None
    rationale: str | None = None
    signed_name: str | None = None
    signed_on: date | None = None


class SubmittedLetterSender(BaseModel):
    name: str | None = None
    role: str | None = None
    agency: str | None = None
    contact: str | None = None


class SubmittedDissentLetter(BaseModel):
    """The dissenter's letter to the reviewer as submitted (Scotland, CARM)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    form: Literal["dissent_letter"]
    sender: SubmittedLetterSender | None = PField(default=None, alias="from")
    to: str | None = None
    reasons: str | None = None
    signed_name: str | None = None
    signed_on: date | None = None


def _with_form(value: Any) -> Any:
    # Stored before the letter existed, a Dissent Form has no `form`.
    if isinstance(value, dict) and "form" not in value:
        return {"form": "dissent_form", **value}
    return value


SubmittedDocument = Annotated[
    Annotated[SubmittedDissentForm | SubmittedDissentLetter, PField(discriminator="form")],
    BeforeValidator(_with_form),
]
