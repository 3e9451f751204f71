"""Reads through lists itemised in the audit (issue 16, item 6): a list that returns personal
records records which ones (their ids) and the filter that found them; reads of the event feed
and of the audit log are recorded too. And out-of-range instants in the audit log's filters
answer 422, not 500 (item 8)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.models.platform import AuditEntry
from app.services.audit import seal_with
from tests.api.test_appeals import lodge
from tests.support import Api, create_authority, create_child, expect, make_meeting

ENGLAND = "england-cp-conference"
REGISTRATION = "scotland-cppm-registration"
KEYS = Settings(environment="test").audit_keys


def reads(db: sa.Connection, authority: str, action: str) -> list[Any]:
    db.rollback()
    seal_with(db, authority, keys=KEYS)
    db.commit()
    t = AuditEntry.__table__
    return list(
        db.execute(sa.select(t).where(t.c.chain_key == authority, t.c.action == action).order_by(t.c.seq))
    )


def test_a_child_search_records_the_filter_and_the_children_it_showed(api, db):
    authority = create_authority(api, ENGLAND)
    wanted = create_child(api, authority, external_ref="REF-WANTED")
    create_child(api, authority, external_ref="REF-OTHER")
    record = api.as_("record-system", "record_system", authority=authority)
    found = expect(
        record.get("/v1/children?external_ref=REF-WANTED", headers={"X-Request-ID": "search-1"}), 200
    )
    assert [c["id"] for c in found["items"]] == [wanted]
    expect(record.get("/v1/children?external_ref=REF-NOBODY"), 200)
    (hit, miss) = reads(db, authority, "child.list")
    assert hit.detail == {"count": 1, "ids": [wanted], "filter": {"external_ref": "REF-WANTED"}}
    assert (hit.actor_sub, hit.request_id, hit.entity_kind) == ("record-system", "search-1", "child")
    assert miss.detail == {"count": 0, "ids": [], "filter": {"external_ref": "REF-NOBODY"}}


def test_every_page_of_a_list_records_its_own_children(api, db):
    authority = create_authority(api, ENGLAND)
    children = sorted(create_child(api, authority) for _ in range(3))
    record = api.as_("record-system", "record_system", authority=authority)
    first = expect(record.get("/v1/children?limit=2"), 200)
    expect(record.get(f"/v1/children?limit=2&cursor={first['next_cursor']}"), 200)
    pages = reads(db, authority, "child.list")
    assert [p.detail["ids"] for p in pages] == [children[:2], children[2:]]
    assert all(p.detail["filter"] == {} for p in pages)


def test_conference_dissent_and_complaint_lists_record_what_they_showed(api, db):
    api.set_clock("2025-12-18T10:00:00Z")
    m = make_meeting(api, ENGLAND, scheduled_start="2025-12-18T10:00:00Z")
    m.start()
    dissent = m.raise_dissent()
    expect(m.chair.get("/v1/conferences?status=in_progress"), 200)
    expect(m.reviewer.get(f"/v1/dissents?conference_id={m.conference_id}&status=raised"), 200)
    complaint = expect(
        m.record.post(
            "/v1/complaints", json={"about": "practitioner", "agency": "Agency", "summary": "Late"}
        ),
        201,
    )
    expect(m.admin.get("/v1/complaints"), 200)
    (conferences,) = reads(db, m.authority, "conference.list")
    assert conferences.detail == {"count": 1, "ids": [m.conference_id], "filter": {"status": "in_progress"}}
    (dissents,) = reads(db, m.authority, "dissent.list")
    assert dissents.detail == {
        "count": 1,
        "ids": [dissent["id"]],
        "filter": {"status": "raised", "conference_id": m.conference_id},
    }
    (complaints,) = reads(db, m.authority, "complaint.list")
    assert complaints.detail == {"count": 1, "ids": [complaint["id"]], "filter": {}}


def test_the_appeal_list_records_the_appeals_it_showed(api, db):
    api.set_clock("2025-12-18T10:00:00Z")
    m = make_meeting(api, REGISTRATION, scheduled_start="2025-12-18T10:00:00Z")
    m.start()
    m.decide_all("register")
    m.confirm_all()
    m.end()
    appeal = lodge(m)
    expect(m.record.get(f"/v1/appeals?child_id={m.child_ids[0]}"), 200)
    (listed,) = reads(db, m.authority, "appeal.list")
    assert listed.detail == {"count": 1, "ids": [appeal["id"]], "filter": {"child_id": m.child_ids[0]}}


def test_reads_of_the_event_feed_are_recorded(api, db):
    authority = create_authority(api, ENGLAND)
    create_child(api, authority)
    create_child(api, authority)
    feed = api.as_("integrator", "record_system", authority=authority)
    page = expect(feed.get("/v1/events?after=1&limit=5"), 200)
    assert [e["seq"] for e in page["items"]] == [2, 3]
    expect(feed.get("/v1/events?after=3"), 200)  # nothing new: nothing disclosed, nothing recorded
    (read,) = reads(db, authority, "event.list")
    assert (read.actor_sub, read.entity_kind) == ("integrator", "event")
    assert read.detail == {"count": 2, "ids": [2, 3], "filter": {"after": 1}}


def test_reads_of_the_audit_log_are_recorded(api, db):
    api.set_clock("2025-12-18T09:00:00Z")
    authority = create_authority(api, ENGLAND)
    child = create_child(api, authority)
    admin = api.as_("admin-1", "admin", authority=authority)
    page = expect(admin.get(f"/v1/audit?entity_id={child}&from=2025-12-18T00:00:00Z"), 200)
    assert [i["action"] for i in page["items"]] == ["child.created"]
    (read,) = reads(db, authority, "audit.list")
    assert (read.actor_sub, read.entity_kind, read.entity_id) == ("admin-1", "audit", None)
    assert read.detail == {
        "count": 1,
        "ids": [page["items"][0]["seq"]],
        "filter": {"entity_id": child, "from": "2025-12-18T00:00:00+00:00"},
    }
    # The next read shows the first one: the log records who read it.
    newest = expect(admin.get("/v1/audit?limit=1"), 200)["items"][0]
    assert (newest["action"], newest["actor"]) == ("audit.list", "admin-1")


@pytest.mark.parametrize(
    "query",
    [
        "from=9999-12-31T23:59:59-01:00",
        "to=9999-12-31T23:59:59-01:00",
        "from=0001-01-01T00:00:00%2B01:00",
        "to=2201-01-01T00:00:00Z",
    ],
)
def test_out_of_range_instants_in_audit_filters_are_refused(api, query):
    authority = create_authority(api, ENGLAND)
    admin = api.as_("admin-1", "admin", authority=authority)
    problem = expect(admin.get(f"/v1/audit?{query}"), 422, "validation_error")
    assert problem["status"] == 422


def test_audit_filters_take_instants_within_the_services_range(api: Api):
    authority = create_authority(api, ENGLAND)
    admin = api.as_("admin-1", "admin", authority=authority)
    expect(admin.get("/v1/audit?from=1900-01-01T00:00:00Z&to=2200-12-31T23:59:59-01:00"), 200)
