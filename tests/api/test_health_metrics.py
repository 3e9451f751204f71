"""Health and metrics (SPEC §11): liveness, readiness against the migrations, and metrics
labelled by route template, never by raw id."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import TEST_SECRET
from tests.support import (
    expect,
    problem,
)


def test_health_live(client):
    r = client.get("/health/live")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_health_ready_with_migrations_at_head(client):
    r = client.get("/health/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"


def test_health_ready_is_503_on_an_unmigrated_database(tmp_path):
    settings = Settings(
        environment="test", database_url=f"sqlite:///{tmp_path / 'empty.db'}", auth_jwt_secret=TEST_SECRET
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        r = client.get("/health/ready")
        assert r.status_code == 503
        assert r.json()["status"] != "ok"
        assert r.json()["checks"]["migrations"] != "ok"
        assert client.get("/health/live").status_code == 200


def test_metrics_use_route_templates_not_raw_ids(api, client, meeting):
    expect(meeting.chair.get(meeting.url), 200)
    stray = f"/v1/zzz-{uuid.uuid4()}"
    problem(meeting.chair.get(stray), 404, "not_found")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "# TYPE dissent_http_requests_total counter" in text
    pattern = re.compile(
        r'^dissent_http_requests_total\{[^}]*route="/v1/conferences/\{conference_id\}"[^}]*\} (\d+(\.\d+)?)$',
        re.MULTILINE,
    )
    matches = [
        m for m in pattern.finditer(text) if 'method="GET"' in m.group(0) and 'status="200"' in m.group(0)
    ]
    assert matches and float(matches[0].group(1)) >= 1
    assert meeting.conference_id not in text
    assert stray not in text
    assert "dissent_http_request_duration_seconds" in text
