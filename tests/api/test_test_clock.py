"""The test clock (SPEC §3): set, read and reset by the system admin only, with a time zone,
and absent when disabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import TEST_SECRET
from tests.support import (
    Api,
    child_body,
    expect,
    problem,
    record_system,
    rows,
)


def test_test_clock_set_read_and_reset_by_system_admin(api, lite):
    admin = api.system_admin()
    body = expect(admin.put("/v1/test-clock", json={"now": "2026-01-05T08:30:00Z"}), 200)
    assert body["frozen"] is True
    got = expect(admin.get("/v1/test-clock"), 200)
    assert got["frozen"] is True
    assert datetime.fromisoformat(got["now"].replace("Z", "+00:00")) == datetime(
        2026, 1, 5, 8, 30, tzinfo=UTC
    )
    created = expect(lite.record.post("/v1/children", json=child_body()), 201)
    assert created["created_at"] == "2026-01-05T08:30:00Z"
    r = admin.delete("/v1/test-clock")
    assert r.status_code == 204
    got = expect(admin.get("/v1/test-clock"), 200)
    assert got["frozen"] is False
    real = datetime.fromisoformat(got["now"].replace("Z", "+00:00"))
    assert abs(real - datetime.now(UTC)) < timedelta(minutes=5)


def test_test_clock_needs_a_time_zone(api):
    problem(
        api.system_admin().put("/v1/test-clock", json={"now": "2026-01-05T08:30:00"}), 422, "validation_error"
    )
    problem(api.system_admin().put("/v1/test-clock", json={"now": "soon"}), 422, "validation_error")


def test_test_clock_is_system_admin_only(api, lite, db):
    before = rows(db, "SELECT frozen_at FROM test_clock")
    for role in ("admin", "record_system", "reviewer", "chair", "professional", "reporting"):
        caller = api.as_("someone", role, authority=lite.authority)
        problem(caller.put("/v1/test-clock", json={"now": "2030-01-01T00:00:00Z"}), 403, "forbidden")
        problem(caller.get("/v1/test-clock"), 403, "forbidden")
        problem(caller.delete("/v1/test-clock"), 403, "forbidden")
    assert rows(db, "SELECT frozen_at FROM test_clock") == before
    problem(api.anonymous().put("/v1/test-clock", json={"now": "2030-01-01T00:00:00Z"}), 401, "unauthorized")


def test_test_clock_routes_answer_404_when_disabled(api, settings, lite, db):
    api.set_clock("2025-12-18T09:00:00Z")  # a frozen row left behind must be ignored
    disabled = Settings(
        environment="test",
        database_url=settings.database_url,
        auth_jwt_secret=TEST_SECRET,
        test_clock_enabled=False,
        database_pool_size=5,
    )
    with TestClient(create_app(disabled), raise_server_exceptions=False) as client:
        other = Api(client, TEST_SECRET)
        admin = other.system_admin()
        problem(admin.put("/v1/test-clock", json={"now": "2030-01-01T00:00:00Z"}), 404, "not_found")
        problem(admin.get("/v1/test-clock"), 404, "not_found")
        problem(admin.delete("/v1/test-clock"), 404, "not_found")
        created = expect(record_system(other, lite.authority).post("/v1/children", json=child_body()), 201)
        stamp = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00"))
        assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)
    assert len(rows(db, "SELECT frozen_at FROM test_clock")) == 1
