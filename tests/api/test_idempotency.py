"""Idempotency-Key (SPEC §7): replays, reused keys, keys per caller and path, refused and
invalid requests that do not consume a key, and the 24-hour memory."""

from __future__ import annotations

from tests.support import (
    child_body,
    count,
    counts,
    create_authority,
    expect,
    problem,
    record_system,
    rows,
    seqs,
)


def test_same_key_and_body_replays_the_first_response(api, lite, db):
    body = child_body()
    headers = {"Idempotency-Key": "create-child-1"}
    first = lite.record.post("/v1/children", json=body, headers=headers)
    expect(first, 201)
    assert "idempotent-replayed" not in first.headers
    after_first = counts(db, "child", "event", "audit_entry")
    second = lite.record.post("/v1/children", json=body, headers=headers)
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["content-type"].startswith("application/json")
    now = counts(db, "child", "event", "audit_entry")
    assert now["child"] == after_first["child"]
    assert now["event"] == after_first["event"]
    assert len(rows(db, "SELECT id FROM child WHERE external_ref = :r", r=body["external_ref"])) == 1


def test_replay_of_a_state_change_does_not_repeat_it(api, meeting, db):
    headers = {"Idempotency-Key": "start-1"}
    first = expect(meeting.chair.post(f"{meeting.url}/start", headers=headers), 200)
    events = seqs(db, meeting.authority)
    second = meeting.chair.post(f"{meeting.url}/start", headers=headers)
    assert second.status_code == 200, second.text
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first
    assert seqs(db, meeting.authority) == events
    assert expect(meeting.chair.get(meeting.url), 200)["version"] == first["version"]
    # without the key the repeated command is refused as a state error
    problem(meeting.chair.post(f"{meeting.url}/start"), 409, "invalid_transition")


def test_same_key_with_another_body_is_422_idempotency_key_reused(api, lite, db):
    headers = {"Idempotency-Key": "k-reused"}
    expect(lite.record.post("/v1/children", json=child_body(), headers=headers), 201)
    before = counts(db, "child", "event", "audit_entry", "idempotency_record")
    r = lite.record.post("/v1/children", json=child_body(), headers=headers)
    problem(r, 422, "idempotency_key_reused")
    assert "idempotent-replayed" not in r.headers
    assert counts(db, "child", "event", "audit_entry", "idempotency_record") == before


def test_same_key_on_another_path_is_a_different_request(api, meeting):
    headers = {"Idempotency-Key": "k-path"}
    expect(meeting.chair.post(f"{meeting.url}/start", headers=headers), 200)
    problem(
        meeting.chair.post(f"{meeting.url}/dissent-invitation", headers=headers),
        422,
        "idempotency_key_reused",
    )


def test_keys_are_per_caller(api, lite, db):
    headers = {"Idempotency-Key": "shared-key"}
    body = child_body()
    mine = expect(lite.record.post("/v1/children", json=body, headers=headers), 201)
    # another caller in the same authority: same key, another body → a fresh request, not a reuse error
    other = record_system(api, lite.authority, sub="record-system-2")
    theirs = other.post("/v1/children", json=child_body(), headers=headers)
    expect(theirs, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine["id"]
    # the same caller id in another authority: same key and same body → its own new child
    elsewhere = create_authority(api, "england-cp-conference")
    foreign = record_system(api, elsewhere).post("/v1/children", json=body, headers=headers)
    expect(foreign, 201)
    assert "idempotent-replayed" not in foreign.headers
    assert foreign.json()["id"] != mine["id"]
    assert len(rows(db, "SELECT id FROM child WHERE external_ref = :r", r=body["external_ref"])) == 2


def test_a_refused_request_does_not_consume_the_key(api, meeting, db):
    meeting.start()
    headers = {"Idempotency-Key": "end-1"}
    before = count(db, "idempotency_record")
    problem(meeting.chair.post(f"{meeting.url}/end", headers=headers), 409, "decisions_missing")
    assert count(db, "idempotency_record") == before
    meeting.decide_all()
    meeting.confirm_all()
    ended = meeting.chair.post(f"{meeting.url}/end", headers=headers)
    body = expect(ended, 200)
    assert body["status"] == "ended"
    assert "idempotent-replayed" not in ended.headers
    assert count(db, "idempotency_record") == before + 1


def test_a_validation_failure_does_not_consume_the_key(api, lite):
    headers = {"Idempotency-Key": "child-2"}
    problem(lite.record.post("/v1/children", json={"nope": 1}, headers=headers), 422, "validation_error")
    expect(lite.record.post("/v1/children", json=child_body(), headers=headers), 201)


def test_keys_are_remembered_for_24_hours(api, lite):
    headers = {"Idempotency-Key": "daily"}
    api.set_clock("2025-12-18T09:00:00Z")
    expect(lite.record.post("/v1/children", json=child_body(), headers=headers), 201)
    api.set_clock("2025-12-19T08:00:00Z")
    problem(
        lite.record.post("/v1/children", json=child_body(), headers=headers), 422, "idempotency_key_reused"
    )
    api.set_clock("2025-12-19T10:00:00Z")
    r = lite.record.post("/v1/children", json=child_body(), headers=headers)
    expect(r, 201)
    assert "idempotent-replayed" not in r.headers
