"""`next_deadline` on list items of dissents and appeals, and `GET /v1/dissents?sort=due`
(issue 15): the next open deadline ({kind, due_at, due_date, status}, null when none is open),
and a work queue ordered by it, soonest first and none last, paged by a (due_at, id) keyset."""

from __future__ import annotations

from typing import Any

from tests.api.test_appeals import RESPONSE_DUE, ended, lodge, respond
from tests.api.test_dissents import ENGLAND, REGISTRATION, deadline, unresolved
from tests.support import Api, Meeting, create_authority, expect, make_meeting


def _item(caller: Any, path: str, item_id: str) -> dict[str, Any]:
    [item] = [i for i in expect(caller.get(path), 200)["items"] if i["id"] == item_id]
    return item


def test_dissent_list_items_carry_the_next_open_deadline(api):
    m, dissent = unresolved(api, ENGLAND)
    written = deadline(dissent, "written_submission")
    item = _item(m.reviewer, "/v1/dissents", dissent["id"])
    expected = {k: written[k] for k in ("kind", "due_at", "due_date")} | {"status": "pending"}
    assert item["next_deadline"] == expected
    assert dissent["next_deadline"] == expected  # the full resource shows the same
    assert item["overdue"] is False


def test_a_missed_step_of_the_service_shows_as_missed_and_overdue(api):
    m, dissent = unresolved(api, REGISTRATION)  # the chair's referral: it never lapses
    referral = deadline(dissent, "referral")
    assert _item(m.reviewer, "/v1/dissents", dissent["id"])["next_deadline"]["kind"] == "referral"
    api.set_clock(referral["due_at"])  # exactly at the due time: still pending
    assert _item(m.reviewer, "/v1/dissents", dissent["id"])["next_deadline"]["status"] == "pending"
    api.set_clock(f"{referral['due_date']}T23:59:59.999999Z".replace(referral["due_date"], "2026-03-01"))
    item = _item(m.reviewer, "/v1/dissents", dissent["id"])
    assert item["next_deadline"]["status"] == "missed" and item["overdue"] is True
    assert item["next_deadline"]["due_at"] == referral["due_at"]


def test_no_next_deadline_while_raised_or_once_closed(api):
    m = make_meeting(api, ENGLAND, scheduled_start="2025-12-18T10:00:00Z")
    api.set_clock("2025-12-18T10:00:00Z")
    m.start()
    raised = m.raise_dissent()
    item = _item(m.reviewer, "/v1/dissents", raised["id"])
    assert item["next_deadline"] is None and item["overdue"] is False
    # Lapsed (terminal): its missed written step is no longer a next deadline.
    m2, dissent = unresolved(api, ENGLAND, day="2025-12-18")
    api.set_clock("2026-03-01T10:00:00Z")
    item = _item(m2.reviewer, "/v1/dissents", dissent["id"])
    assert item["status"] == "lapsed" and item["next_deadline"] is None


def test_appeal_list_items_carry_the_response_deadline(api):
    m = ended(api)
    appeal = lodge(m)
    item = _item(m.record, "/v1/appeals", appeal["id"])
    assert item["next_deadline"]["kind"] == "appeal_response"
    assert item["next_deadline"]["due_date"] == RESPONSE_DUE and item["next_deadline"]["status"] == "pending"
    assert appeal["next_deadline"] == item["next_deadline"]
    api.set_clock("2026-01-17T00:00:01Z")
    late = _item(m.record, "/v1/appeals", appeal["id"])
    assert late["next_deadline"]["status"] == "missed" and late["overdue"] is True
    respond(m, appeal["id"])
    assert _item(m.record, "/v1/appeals", appeal["id"])["next_deadline"] is None


# ---- sort=due ------------------------------------------------------------------------------


def _meeting(api: Api, authority: str, day: str) -> Meeting:
    api.set_clock(f"{day}T10:00:00Z")
    m = make_meeting(api, ENGLAND, scheduled_start=f"{day}T10:00:00Z", authority=authority)
    m.start()
    return m


def _end(m: Meeting) -> None:
    m.decide_all()
    m.confirm_all()
    m.end()


def _pages(caller: Any, limit: int, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        query = {**params, "limit": limit} | ({"cursor": cursor} if cursor else {})
        page = expect(caller.get("/v1/dissents", params=query), 200)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the pages did not end")


def test_sort_due_orders_by_next_deadline_soonest_first_none_last_across_pages(api):
    authority = create_authority(api, ENGLAND)
    # Three meetings ended on different days; the first has two dissents due at the same time.
    late, early, middle = (
        _meeting(api, authority, day) for day in ("2026-01-07", "2026-01-05", "2026-01-06")
    )
    ids = {}
    # Raise and end on each meeting's own day, so each written step starts then.
    days = {"late": "2026-01-07", "early": "2026-01-05", "middle": "2026-01-06"}
    for name, m in (("late", late), ("early", early), ("middle", middle)):
        day = days[name]
        api.set_clock(f"{day}T11:00:00Z")
        ids[name] = m.raise_dissent()["id"]
        if name == "early":
            ids["early-2"] = expect(
                m.other_professional.post(
                    f"{m.url}/dissents", json={"subject": "plan", "reasons": "No plan"}
                ),
                201,
            )["id"]
        _end(m)
    # One still in a meeting in progress: no deadline yet.
    open_meeting = _meeting(api, authority, "2026-01-07")
    ids["none"] = open_meeting.raise_dissent()["id"]
    reviewer = api.as_("reviewer-1", "reviewer", authority=authority)
    everything = _pages(reviewer, 200, sort="due")
    dues = {d["id"]: (d["next_deadline"] or {}).get("due_at") for d in everything}
    order = [d["id"] for d in everything]
    assert order[:2] == sorted([ids["early"], ids["early-2"]])  # same due time: by id
    assert dues[ids["early"]] == dues[ids["early-2"]]
    assert order[2:] == [ids["middle"], ids["late"], ids["none"]]
    assert dues[ids["none"]] is None
    for limit in (1, 2, 3):
        assert [d["id"] for d in _pages(reviewer, limit, sort="due")] == order
    # Filters still apply, and the default order is unchanged (newest first).
    awaiting = [d["id"] for d in _pages(reviewer, 1, sort="due", status="awaiting_submission")]
    assert awaiting == order[:4]
    assert [d["id"] for d in _pages(reviewer, 200)] == sorted(order, reverse=True)


def test_sort_due_refuses_a_cursor_of_the_other_order(api):
    authority = create_authority(api, ENGLAND)
    m = _meeting(api, authority, "2025-12-18")
    m.raise_dissent()
    expect(
        m.other_professional.post(f"{m.url}/dissents", json={"subject": "plan", "reasons": "No plan"}), 201
    )
    newest = expect(m.reviewer.get("/v1/dissents", params={"limit": 1}), 200)["next_cursor"]
    r = m.reviewer.get("/v1/dissents", params={"limit": 1, "sort": "due", "cursor": newest})
    expect(r, 422, "invalid_cursor")
    expect(m.reviewer.get("/v1/dissents", params={"sort": "soon"}), 422, "validation_error")
