"""Plain-language guidance for professionals, parents and children, written for this
service. The figures and titles come from the profile, so a changed profile changes its
guidance."""

from __future__ import annotations

from html import escape
from typing import Literal

from pydantic import BaseModel

from app.profiles.schema import DeadlineRule, Profile

Audience = Literal["professional", "parent", "child"]


class GuidanceSection(BaseModel):
    heading: str
    body: str


class Guidance(BaseModel):
    profile: str
    audience: Audience
    title: str
    sections: list[GuidanceSection]


def _days(rule: DeadlineRule | None) -> str:
    if rule is None:
        return ""
    if rule.working_days is not None:
        n = rule.working_days
        return f"{n} working day{'s' if n != 1 else ''}"
    n = rule.calendar_days or 0
    return f"{n} day{'s' if n != 1 else ''}"


_DOCUMENT_NAMES = {
    "dissent_form": "dissent form",
    "dissent_letter": "letter",
    "referral": "written referral",
}


def _a(title: str) -> str:
    return f"the {title}"


def _cap(text: str) -> str:
    """Capitalise the first letter only (str.capitalize would lower-case job titles)."""
    return text[:1].upper() + text[1:]


def _professional(p: Profile) -> list[GuidanceSection]:
    step = p.dissent.written_step
    review = p.dissent.review
    subjects = ", ".join(
        {"plan": "the plan", "category": f"the {p.categories_term}", "registration": "registration"}[s]
        for s in p.dissent.subjects
    )
    if step.actor == "dissenter":
        after = (
            f"{step.description} Your {_DOCUMENT_NAMES[step.document]} must arrive within "
            f"{_days(step.deadline)} of the meeting. If it does not, the dissent lapses, though the "
            "record of it stays."
        )
        if step.requires_line_manager_discussion:
            after += " The form asks you to confirm that you have had that discussion."
    else:
        after = (
            f"You do not need to write anything yourself. {step.description} "
            f"This must happen within {_days(step.deadline)} of the meeting."
        )
    review_text = f"{_cap(_a(review.reviewer_title))} reviews the dissent."
    if review.meeting_required:
        review_text += (
            f" A review meeting is held within {_days(review.meeting_deadline)} of receiving your form."
        )
    if review.response_deadline is not None:
        review_text += (
            f" You will get a written response within {_days(review.response_deadline)} of the meeting."
        )
    outcomes = "; ".join(o.label for o in review.outcomes)
    review_text += f" The possible outcomes are: {outcomes}."
    if review.reconvene_requires_different_chair:
        review_text += " If the meeting is reconvened, someone else chairs it."
    if review.family_informant_required:
        review_text += " The reviewer names the person who will tell the family about the outcome."
    return [
        GuidanceSection(
            heading="What a dissent is",
            body=(
                "A dissent means you disagree so strongly with the meeting's decision that you "
                "cannot have your name linked to it. It is not a complaint about a person, and it "
                "is not the route for wider worries about how agencies work together."
            ),
        ),
        GuidanceSection(
            heading="When you can dissent",
            body=(
                f"Only during the meeting, and only if you attend as a professional. Tell "
                f"{_a(p.chair_title)} as soon as you can. In this procedure a dissent can be about: "
                f"{subjects}. {_cap(_a(p.chair_title))} will try to resolve it before the "
                "meeting ends."
            ),
        ),
        GuidanceSection(heading="If it is not resolved in the meeting", body=after),
        GuidanceSection(heading="The review", body=review_text),
        GuidanceSection(
            heading="While the review happens",
            body=(
                "The decision made at the meeting stays in force. Keep working to the plan until "
                "you hear otherwise."
            ),
        ),
        GuidanceSection(
            heading="Other routes", body=f"{p.routes.professional_challenge} {p.routes.complaints}"
        ),
    ]


def _parent(p: Profile) -> list[GuidanceSection]:
    review = p.dissent.review
    professional = (
        "Sometimes a professional at the meeting disagrees with the decision. This is called a "
        f"dissent. {_cap(_a(review.reviewer_title))} looks at it and decides what happens next."
    )
    if review.family_informant_required:
        professional += " Someone will be named to tell you the outcome."
    elif review.family_informed_recorded:
        professional += " You will be told the outcome."
    professional += " The decision from the meeting stays in place while this happens."
    appeals = p.appeals
    if appeals.enabled:
        decisions = "; ".join(p.decision_outcome_labels[o] for o in appeals.appealable_outcomes)
        disagree = (
            f"You can appeal if the meeting's decision for your child was one of these: {decisions}. "
            f"Write to {_a(appeals.responder_title or 'manager')} to say why you disagree, within "
            f"{_days(appeals.lodge_deadline)} of the meeting. "
        )
        if appeals.lead_social_worker_may_lodge:
            disagree += "Your lead social worker can help you, or send the appeal for you. "
        disagree += (
            f"{_cap(_a(appeals.responder_title or 'manager'))} will answer in writing within "
            f"{_days(appeals.response_deadline)} of getting it. The decision stays in place while "
            "your appeal is looked at."
        )
    else:
        disagree = appeals.unavailable_detail or ""
    return [
        GuidanceSection(
            heading="After the meeting",
            body=(
                "The meeting's decision starts straight away. You will be sent a copy of the "
                "decision and the plan. Ask your social worker if anything is not clear."
            ),
        ),
        GuidanceSection(heading="If you disagree with the decision", body=disagree),
        GuidanceSection(heading="If a professional disagreed", body=professional),
        GuidanceSection(
            heading="Complaints",
            body=(
                "If you are unhappy with how a worker or a service treated you, that is a complaint. "
                "It goes to that agency's own complaints procedure: write to "
                f"{p.guidance.complaints_contact}, or to the agency the worker is from. "
                "A complaint does not change the decision."
            ),
        ),
    ]


def _child(p: Profile) -> list[GuidanceSection]:
    appeals = p.appeals
    if appeals.enabled:
        disagree = (
            "You can say you do not agree. This is called an appeal. You need to do it within "
            f"{_days(appeals.lodge_deadline)} of the meeting. That is about one week. You, or an "
            f"adult you trust, can write to {_a(appeals.responder_title or 'manager')}. Say what "
            f"you do not agree with and why. You will get an answer within "
            f"{_days(appeals.response_deadline)}."
        )
    else:
        disagree = (
            "You can tell your social worker or another adult you trust. They will make sure "
            "people hear what you think at the next meeting."
        )
    review = p.dissent.review
    worker = (
        "Sometimes one of the workers does not agree with the plan. Then a senior manager looks at "
        "it again. The plan still goes on while they check."
    )
    if review.family_informant_required:
        worker += " Someone will be picked to tell your family what the manager decided."
    return [
        GuidanceSection(heading="What the meeting was for", body=p.guidance.child_meeting_purpose),
        GuidanceSection(heading="If you do not agree", body=disagree),
        GuidanceSection(heading="If a worker did not agree", body=worker),
        GuidanceSection(
            heading="If you want to complain",
            body=(
                "If you are not happy with how someone treated you, you can complain. You, or an "
                f"adult you trust, can write to {p.guidance.complaints_contact}. Your social "
                "worker can tell you how. A complaint will not get you into trouble."
            ),
        ),
        GuidanceSection(
            heading="If you are worried",
            body=(
                "If you feel unsafe, tell an adult you trust straight away. You can also call "
                "Childline on 0800 1111. It is free, and you do not have to give your name."
            ),
        ),
    ]


_BUILDERS = {"professional": _professional, "parent": _parent, "child": _child}
_TITLES = {
    "professional": "Dissenting from a conference decision: guidance for professionals",
    "parent": "After the meeting: what you can do if you disagree",
    "child": "After the meeting",
}


def guidance_for(profile: Profile, audience: Audience) -> Guidance:
    return Guidance(
        profile=profile.code,
        audience=audience,
        title=_TITLES[audience],
        sections=_BUILDERS[audience](profile),
    )


_PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; font-size: 1.1rem; line-height: 1.6; max-width: 40rem;
  margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; background: #fff; }}
h1 {{ font-size: 1.8rem; line-height: 1.25; }}
h2 {{ font-size: 1.35rem; margin-top: 2rem; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{sections}
</main>
</body>
</html>
"""


def guidance_html(guidance: Guidance) -> str:
    """The guidance as a page for people: `lang`, one `h1`, a heading per section, no scripts."""
    sections = "\n".join(
        f'<section aria-labelledby="s{i}">\n<h2 id="s{i}">{escape(s.heading)}</h2>\n'
        f"<p>{escape(s.body)}</p>\n</section>"
        for i, s in enumerate(guidance.sections, start=1)
    )
    return _PAGE.format(title=escape(guidance.title), sections=sections)
