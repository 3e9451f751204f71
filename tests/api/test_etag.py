"""ETag and If-Match (SPEC §5): the version as ETag, stale If-Match answers 412 and changes
nothing, a matching one succeeds and increments the version."""

from __future__ import annotations

from tests.support import (
    counts,
    expect,
    problem,
)


def test_get_returns_the_version_as_etag(api, meeting):
    r = meeting.chair.get(meeting.url)
    body = expect(r, 200)
    assert isinstance(body["version"], int)
    assert r.headers["etag"] == f'"{body["version"]}"'
    child = meeting.record.get(f"/v1/children/{meeting.child_ids[0]}")
    assert child.headers["etag"] == f'"{expect(child, 200)["version"]}"'
    authority = meeting.admin.get(f"/v1/authorities/{meeting.authority}")
    assert authority.headers["etag"] == f'"{expect(authority, 200)["version"]}"'


def test_stale_if_match_is_412_and_changes_nothing(api, meeting, db):
    current = expect(meeting.chair.get(meeting.url), 200)
    stale = f'"{current["version"] + 7}"'
    before = counts(db, "event", "audit_entry")
    problem(
        meeting.chair.post(f"{meeting.url}/start", headers={"If-Match": stale}), 412, "precondition_failed"
    )
    assert counts(db, "event", "audit_entry") == before
    after = expect(meeting.chair.get(meeting.url), 200)
    assert after["status"] == "scheduled"
    assert after["version"] == current["version"]


def test_matching_if_match_succeeds_and_the_version_increments(api, meeting):
    r = meeting.chair.get(meeting.url)
    version = expect(r, 200)["version"]
    started = meeting.chair.post(f"{meeting.url}/start", headers={"If-Match": r.headers["etag"]})
    body = expect(started, 200)
    assert body["status"] == "in_progress"
    assert body["version"] == version + 1
    assert started.headers["etag"] == f'"{version + 1}"'
    # the old ETag is now stale
    problem(
        meeting.chair.post(f"{meeting.url}/dissent-invitation", headers={"If-Match": r.headers["etag"]}),
        412,
        "precondition_failed",
    )
    invited = meeting.chair.post(
        f"{meeting.url}/dissent-invitation", headers={"If-Match": started.headers["etag"]}
    )
    assert expect(invited, 200)["version"] == version + 2


def test_stale_if_match_on_a_dissent_is_412(api, meeting):
    meeting.start()
    dissent = meeting.raise_dissent()
    url = f"/v1/dissents/{dissent['id']}"
    etag = meeting.professional.get(url).headers["etag"]
    assert etag == f'"{dissent["version"]}"'
    problem(
        meeting.chair.post(
            f"{url}/resolution", json={"summary": "agreed a change"}, headers={"If-Match": '"99"'}
        ),
        412,
        "precondition_failed",
    )
    assert expect(meeting.chair.get(url), 200)["status"] == "raised"
    resolved = meeting.chair.post(f"{url}/resolution", json={"summary": "agreed"}, headers={"If-Match": etag})
    assert expect(resolved, 200)["status"] == "resolved"
    assert resolved.json()["version"] == dissent["version"] + 1


def test_stale_if_match_on_an_authority_patch_is_412(api, meeting):
    url = f"/v1/authorities/{meeting.authority}"
    r = meeting.admin.get(url)
    version = expect(r, 200)["version"]
    problem(
        meeting.admin.patch(url, json={"name": "Renamed"}, headers={"If-Match": f'"{version + 1}"'}),
        412,
        "precondition_failed",
    )
    assert expect(meeting.admin.get(url), 200)["name"] != "Renamed"
    ok = meeting.admin.patch(url, json={"name": "Renamed"}, headers={"If-Match": r.headers["etag"]})
    assert expect(ok, 200)["version"] == version + 1
    assert ok.headers["etag"] == f'"{version + 1}"'


def test_an_if_match_longer_than_declared_is_a_validation_error(api, meeting, db):
    """The header's declared maxLength is enforced (schemathesis found a longer one answered
    412), and one exactly at it is still compared."""
    before = counts(db, "event", "audit_entry")
    too_long = "M" * 1001
    problem(
        meeting.chair.post(f"{meeting.url}/start", headers={"If-Match": too_long}), 422, "validation_error"
    )
    assert counts(db, "event", "audit_entry") == before
    at_limit = "M" * 1000
    problem(
        meeting.chair.post(f"{meeting.url}/start", headers={"If-Match": at_limit}), 412, "precondition_failed"
    )
