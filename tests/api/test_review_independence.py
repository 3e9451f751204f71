"""Review independence (issue 16, item 4): the dissenter, the chair and anyone who took part in
the meeting may not review the dissent (`reviewer_conflict`), even when their token carries
the `reviewer` role; someone invited who did not attend may."""

from __future__ import annotations

import pytest

from tests.api.test_authz_matrix import ENGLAND, REGISTRATION, build_world, review_meeting
from tests.support import expect


def _decision() -> dict[str, str]:
    return {"outcome": "uphold", "written_note": "The decision stands."}


@pytest.mark.parametrize(
    ("sub", "why"),
    [("prof-1", "raised"), ("chair-1", "chaired"), ("prof-2", "took part")],
    ids=["the-dissenter", "the-chair", "another-attendee"],
)
def test_a_reviewer_who_is_part_of_the_meeting_cannot_decide(api, db, sub, why):
    world = build_world(api, REGISTRATION, "written")
    reviewer = api.as_(sub, "reviewer", authority=world.authority)
    url = f"/v1/dissents/{world.ids['dissent_id']}"
    problem = expect(reviewer.post(f"{url}/review-decision", json=_decision()), 403, "reviewer_conflict")
    assert why in problem["detail"]
    assert expect(api.as_("reviewer-1", "reviewer", authority=world.authority).get(url), 200)["status"] == (
        "referred"
    )


def test_the_dissenter_cannot_record_the_review_meeting_either(api):
    world = build_world(api, ENGLAND, "written")
    reviewer = api.as_("prof-1", "reviewer", authority=world.authority)
    url = f"/v1/dissents/{world.ids['dissent_id']}/review-meeting"
    expect(reviewer.post(url, json=review_meeting()), 403, "reviewer_conflict")


def test_an_independent_reviewer_or_an_invitee_who_did_not_attend_may_decide(api):
    for sub in ("reviewer-1", "prof-absent"):
        world = build_world(api, REGISTRATION, "written")
        reviewer = api.as_(sub, "reviewer", authority=world.authority)
        url = f"/v1/dissents/{world.ids['dissent_id']}/review-decision"
        assert expect(reviewer.post(url, json=_decision()), 200)["status"] == "decided"
