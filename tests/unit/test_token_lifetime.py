"""Token edge cases (issue 16, item 7): a correctly signed token whose `exp` is a 400-digit
integer, or lies in the year 9999, is refused (401 with WWW-Authenticate: Bearer), and no
token lives longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS (`exp - iat`; `exp - now` for a
token without `iat`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.security import AuthError, TokenVerifier
from tests.unit.test_security import NOW, SECRET, claims_for, hs256

YEAR_9999 = int(datetime(9999, 12, 31, 23, 59, tzinfo=UTC).timestamp())


def _refused(verifier: TokenVerifier, claims: dict[str, Any]) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(hs256(claims), now=NOW)
    return str(caught.value)


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_a_400_digit_numeric_date_is_refused_not_an_overflow(claim):
    claims = claims_for()
    claims[claim] = int("9" * 400)
    assert "invalid" in _refused(TokenVerifier(secret=SECRET), claims)


@pytest.mark.parametrize("value", [-1, 10**20, 1e300])
def test_numeric_dates_out_of_range_are_refused(value):
    assert "invalid" in _refused(TokenVerifier(secret=SECRET), {**claims_for(), "exp": value})


def test_exp_in_the_year_9999_is_refused_with_or_without_iat():
    verifier = TokenVerifier(secret=SECRET)
    assert _refused(verifier, {**claims_for(), "exp": YEAR_9999}) == "token lifetime too long"
    no_iat = {k: v for k, v in claims_for().items() if k != "iat"}
    assert _refused(verifier, {**no_iat, "exp": YEAR_9999}) == "token lifetime too long"


def test_lifetime_is_capped_at_the_setting():
    verifier = TokenVerifier(secret=SECRET, max_lifetime=timedelta(hours=1))
    verifier.verify(hs256(claims_for(ttl=timedelta(hours=1))), now=NOW)
    assert _refused(verifier, claims_for(ttl=timedelta(hours=1, minutes=5))) == "token lifetime too long"


def test_without_iat_the_lifetime_is_counted_from_now():
    verifier = TokenVerifier(secret=SECRET, max_lifetime=timedelta(hours=1))
    no_iat = {k: v for k, v in claims_for(ttl=timedelta(minutes=50)).items() if k != "iat"}
    verifier.verify(hs256(no_iat), now=NOW)
    later = {**no_iat, "exp": int((NOW + timedelta(hours=2)).timestamp())}
    assert _refused(verifier, later) == "token lifetime too long"


def test_the_default_cap_is_24_hours_and_the_setting_sets_it():
    assert Settings(auth_jwt_secret="x" * 32).auth_max_token_lifetime_seconds == 24 * 3600
    verifier = TokenVerifier.from_settings(
        Settings(auth_jwt_secret=SECRET, auth_max_token_lifetime_seconds=600)
    )
    assert _refused(verifier, claims_for(ttl=timedelta(minutes=11))) == "token lifetime too long"
    verifier.verify(hs256(claims_for(ttl=timedelta(minutes=10))), now=NOW)


@pytest.mark.parametrize("exp", [int("9" * 400), YEAR_9999], ids=["400-digit-exp", "exp-in-9999"])
def test_the_api_answers_401_with_www_authenticate(exp):
    now = datetime.now(UTC)
    claims = {**claims_for(now=now), "exp": exp}
    app = create_app(Settings(environment="test", auth_jwt_secret=SECRET, database_url="sqlite://"))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/v1/profiles", headers={"Authorization": f"Bearer {hs256(claims)}"})
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["code"] == "unauthorized"
