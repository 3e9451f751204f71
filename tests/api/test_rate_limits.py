"""Rate limits (issue 16, item 13): tokens that fail to verify are limited per client address,
and the costly reads (reports, the audit log) per caller and per address, each answering 429
problem+json `rate_limited` with Retry-After; set by RATE_LIMIT_* settings (0 turns one off)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.ratelimit import TokenBuckets
from tests.conftest import TEST_SECRET
from tests.support import Api, create_authority, expect

BAD_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.fixture
def limited(settings: Settings) -> Iterator[Api]:
    tight = settings.model_copy(
        update={
            "rate_limit_auth_failures_per_minute": 5,
            "rate_limit_costly_per_minute_per_caller": 3,
            "rate_limit_costly_per_minute_per_address": 5,
        }
    )
    with TestClient(create_app(tight), raise_server_exceptions=False) as client:
        yield Api(client, TEST_SECRET)


def _is_429(r) -> None:  # type: ignore[no-untyped-def]
    expect(r, 429, "rate_limited")
    assert r.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(r.headers["retry-after"]) <= 60


def test_failed_authentications_are_limited_per_address(limited):
    bad = {"Authorization": f"Bearer {BAD_TOKEN}"}
    for _ in range(5):
        r = limited.client.get("/v1/profiles", headers=bad)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    _is_429(limited.client.get("/v1/profiles", headers=bad))
    # a token not seen before is not even checked while the address is over its budget
    _is_429(limited.as_("someone", "admin", authority="la-x").get("/v1/profiles"))


def test_a_missing_token_and_good_tokens_do_not_count(limited):
    for _ in range(10):
        assert limited.client.get("/v1/profiles").status_code == 401
        expect(limited.system_admin().get("/v1/profiles"), 200)


def test_reports_are_limited_per_caller(limited):
    authority = create_authority(limited, "england-cp-conference")
    reporting = limited.as_("bi-tool", "reporting", authority=authority)
    for _ in range(3):
        expect(reporting.get("/v1/reports/summary"), 200)
    _is_429(reporting.get("/v1/reports/timeliness"))
    other = limited.as_("admin-1", "admin", authority=authority)
    expect(other.get("/v1/reports/summary"), 200)  # another caller has their own budget


def test_costly_reads_are_limited_per_address_across_callers(limited):
    authority = create_authority(limited, "england-cp-conference")
    for i in range(5):
        expect(limited.as_(f"admin-{i}", "admin", authority=authority).get("/v1/audit"), 200)
    _is_429(limited.as_("admin-9", "admin", authority=authority).get("/v1/audit/verify"))
    # ordinary reads are not limited
    expect(limited.as_("admin-9", "admin", authority=authority).get("/v1/children"), 200)


def test_the_defaults_are_on():
    settings = Settings(auth_jwt_secret="x" * 32)
    assert settings.rate_limit_auth_failures_per_minute > 0
    assert settings.rate_limit_costly_per_minute_per_caller > 0
    assert settings.rate_limit_costly_per_minute_per_address > 0


def test_buckets_refill_over_time_and_forget_old_keys():
    now = [0.0]
    buckets = TokenBuckets(2, max_keys=3, clock=lambda: now[0])
    assert buckets.take("a") == 0 and buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(30.0)  # one token every 30 s
    now[0] = 30.0
    assert buckets.wait("a") == 0 and buckets.take("a") == 0
    for key in ("b", "c", "d"):
        buckets.take(key)
    assert "a" not in buckets._buckets  # the least recently used key went first
    assert TokenBuckets(0).take("x") == 0  # 0 turns the limit off
