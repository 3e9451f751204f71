"""Cursor pages (SPEC §5): every item once, limits, and cursors that are refused."""

from __future__ import annotations

import base64
import json
from typing import Any

from app.pagination import encode_cursor
from tests.support import (
    PROBLEM,
    Caller,
    create_child,
    expect,
    problem,
    schedule,
)


def walk(caller: Caller, path: str, limit: int = 2) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        body = expect(caller.get(path, params=params), 200)
        assert set(body) == {"items", "next_cursor"}, body
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("pagination never ended")


def b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_children_pages_return_every_item_once(api, meeting):
    ids = set(meeting.child_ids) | {create_child(api, meeting.authority) for _ in range(4)}
    pages = walk(meeting.record, "/v1/children")
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [c["id"] for p in pages for c in p]
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == ids


def test_conference_pages_return_every_item_once_even_with_equal_start_times(api, meeting):
    ids = {meeting.conference_id}
    ids |= {schedule(api, meeting.authority, meeting.child_ids) for _ in range(3)}  # same start
    ids.add(schedule(api, meeting.authority, meeting.child_ids, start="2025-12-20T10:00:00Z"))
    pages = walk(meeting.admin, "/v1/conferences")
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [c["id"] for p in pages for c in p]
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == ids
    starts = [c["scheduled_start"] for p in pages for c in p]
    assert starts == sorted(starts, reverse=True)


def test_dissent_pages_return_every_item_once(api, meeting):
    meeting.start()
    ids = set()
    for caller in (meeting.professional, meeting.other_professional):
        for subject in ("plan", "category", "registration"):
            r = caller.post(f"{meeting.url}/dissents", json={"subject": subject, "reasons": "I disagree"})
            ids.add(expect(r, 201)["id"])
    pages = walk(meeting.reviewer, "/v1/dissents")
    assert [len(p) for p in pages] == [2, 2, 2]
    seen = [d["id"] for p in pages for d in p]
    assert len(seen) == len(set(seen)) == 6
    assert set(seen) == ids


def test_limits_in_range_are_accepted(api, meeting):
    for params in ({}, {"limit": 1}, {"limit": 200}):
        for path in ("/v1/children", "/v1/conferences"):
            body = expect(meeting.admin.get(path, params=params), 200)
            assert set(body) == {"items", "next_cursor"}
            assert len(body["items"]) == 1
            assert body["next_cursor"] is None
        body = expect(meeting.admin.get("/v1/dissents", params=params), 200)
        assert body == {"items": [], "next_cursor": None}


def test_limit_out_of_range_is_422(api, lite):
    for path in ("/v1/children", "/v1/conferences", "/v1/dissents"):
        for limit in (0, 201, -1):
            body = problem(lite.admin.get(path, params={"limit": limit}), 422, "validation_error")
            assert any("limit" in e["loc"] for e in body["errors"]), (path, limit, body)


def test_garbage_cursor_is_422_invalid_cursor(api, lite):
    cursors = {
        "garbage": "garbage!!",
        "not-json": "bm90LWpzb24",  # base64 of "not-json"
        "object": b64({"a": 1}),  # JSON, but not a list
        "one-bad-value": encode_cursor(["not-a-uuid"]),
        "two-bad-values": encode_cursor(["not-a-date", "not-a-uuid"]),
        "wrong-arity": encode_cursor([1, 2, 3]),
    }
    wrong = []
    for path in ("/v1/children", "/v1/conferences", "/v1/dissents"):
        for case, cursor in cursors.items():
            r = lite.admin.get(path, params={"cursor": cursor})
            code = r.json().get("code") if r.headers["content-type"].startswith(PROBLEM) else None
            if (r.status_code, code) != (422, "invalid_cursor"):
                wrong.append((path, case, r.status_code, code))
    assert wrong == [], f"not 422 invalid_cursor: {wrong}"
