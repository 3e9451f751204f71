"""Tests for app.security: bearer-token verification and the dev/test token minter.

Tokens other than ``mint_token``'s are built and signed by hand here with ``cryptography``
and ``hmac`` (``jose`` is imported by app.security alone), which also checks that the
verifier interoperates with independently produced signatures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.config import Settings
from app.principal import Principal
from app.security import (
    CLOCK_SKEW_LEEWAY,
    KNOWN_ROLES,
    MAX_TOKEN_LENGTH,
    AuthError,
    TokenVerifier,
    mint_token,
)

SECRET = "unit-test-secret-0123456789abcdef-XYZ"
NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=UTC)
ISSUER = "https://idp.example.gov.uk"
AUDIENCE = "dissent-service"


# -- helpers ---------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64url_uint(value: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(size, "big"))


def claims_for(
    *,
    sub: str = "person-1",
    roles: list[str] | None = None,
    authority: str | None = "LA001",
    now: datetime = NOW,
    ttl: timedelta = timedelta(minutes=10),
    **extra: Any,
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": ["chair"] if roles is None else roles,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if authority is not None:
        claims["authority"] = authority
    claims.update(extra)
    return claims


def signing_input(header: Mapping[str, Any], claims: Mapping[str, Any]) -> bytes:
    return f"{b64url_json(header)}.{b64url_json(claims)}".encode("ascii")


def hs256(claims: Mapping[str, Any], secret: str | bytes = SECRET, **header: Any) -> str:
    head = {"alg": "HS256", "typ": "JWT", **header}
    data = signing_input(head, claims)
    key = secret.encode() if isinstance(secret, str) else secret
    return f"{data.decode()}.{b64url(hmac.new(key, data, hashlib.sha256).digest())}"


def rs256(claims: Mapping[str, Any], key: rsa.RSAPrivateKey, **header: Any) -> str:
    head = {"alg": "RS256", "typ": "JWT", **header}
    data = signing_input(head, claims)
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return f"{data.decode()}.{b64url(signature)}"


def es256(claims: Mapping[str, Any], key: ec.EllipticCurvePrivateKey, **header: Any) -> str:
    head = {"alg": "ES256", "typ": "JWT", **header}
    data = signing_input(head, claims)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return f"{data.decode()}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def unsigned(header: Mapping[str, Any], claims: Mapping[str, Any], signature: str = "") -> str:
    return f"{b64url_json(header)}.{b64url_json(claims)}.{signature}"


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "n": b64url_uint(numbers.n),
        "e": b64url_uint(numbers.e),
        **extra,
    }


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "kid": kid,
        "crv": "P-256",
        "x": b64url_uint(numbers.x, 32),
        "y": b64url_uint(numbers.y, 32),
        **extra,
    }


def refused(verifier: TokenVerifier, token: Any, *, now: datetime = NOW) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token, now=now)
    return str(caught.value)


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_key_2() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def jwks(
    rsa_key: rsa.RSAPrivateKey, rsa_key_2: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> dict[str, Any]:
    return {
        "keys": [
            rsa_jwk(rsa_key, "rsa-1", alg="RS256", use="sig"),
            rsa_jwk(rsa_key_2, "rsa-2"),
            ec_jwk(ec_key, "ec-1", alg="ES256"),
        ]
    }


@pytest.fixture
def secret_verifier() -> TokenVerifier:
    return TokenVerifier(secret=SECRET)


@pytest.fixture
def jwks_verifier(jwks: dict[str, Any]) -> TokenVerifier:
    return TokenVerifier(jwks=jwks)


# -- positive cases --------------------------------------------------------------------------


def test_hs256_minted_token_is_accepted(secret_verifier: TokenVerifier) -> None:
    token = mint_token(SECRET, sub="p-42", roles=["chair", "reviewer"], authority="LA001", now=NOW)
    principal = secret_verifier.verify(token, now=NOW)
    assert principal == Principal(
        sub="p-42",
        name="p-42",
        roles=frozenset({"chair", "reviewer"}),
        agency=None,
        authority="LA001",
    )


def test_hs256_optional_claims_are_carried(secret_verifier: TokenVerifier) -> None:
    token = mint_token(
        SECRET,
        sub="p-1",
        roles=["professional"],
        authority="LA002",
        agency="Police",
        name="DS Smith",
        now=NOW,
    )
    principal = secret_verifier.verify(token, now=NOW)
    assert principal.name == "DS Smith"
    assert principal.agency == "Police"
    assert principal.authority == "LA002"


def test_hand_built_hs256_token_is_accepted(secret_verifier: TokenVerifier) -> None:
    principal = secret_verifier.verify(hs256(claims_for()), now=NOW)
    assert principal.sub == "person-1"
    assert principal.roles == frozenset({"chair"})


def test_verify_uses_wall_clock_by_default(secret_verifier: TokenVerifier) -> None:
    token = mint_token(SECRET, sub="p", roles=["chair"], authority="LA001")
    assert secret_verifier.verify(token).sub == "p"


def test_rs256_with_jwks_is_accepted(jwks_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    principal = jwks_verifier.verify(rs256(claims_for(), rsa_key, kid="rsa-1"), now=NOW)
    assert principal.sub == "person-1"


def test_es256_with_jwks_is_accepted(
    jwks_verifier: TokenVerifier, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    principal = jwks_verifier.verify(es256(claims_for(), ec_key, kid="ec-1"), now=NOW)
    assert principal.authority == "LA001"


def test_right_kid_is_chosen_among_two_keys(
    jwks_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    assert jwks_verifier.verify(rs256(claims_for(), rsa_key_2, kid="rsa-2"), now=NOW)
    assert jwks_verifier.verify(rs256(claims_for(), rsa_key, kid="rsa-1"), now=NOW)
    # Signed with one key but naming the other: only the named key is tried.
    wrong = rs256(claims_for(), rsa_key, kid="rsa-2")
    assert refused(jwks_verifier, wrong, now=NOW) == "token signature invalid"


def test_system_admin_without_authority_is_accepted(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(roles=["system_admin"], authority=None))
    principal = secret_verifier.verify(token, now=NOW)
    assert principal.authority is None
    assert principal.has_any("system_admin")


def test_system_admin_with_authority_keeps_it(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(roles=["system_admin"], authority="LA009"))
    assert secret_verifier.verify(token, now=NOW).authority == "LA009"


def test_unknown_roles_are_dropped(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(roles=["chair", "superuser", "CHAIR", "root", "chair"]))
    assert secret_verifier.verify(token, now=NOW).roles == frozenset({"chair"})


def test_token_with_only_unknown_roles_yields_no_roles(secret_verifier: TokenVerifier) -> None:
    principal = secret_verifier.verify(hs256(claims_for(roles=["god"])), now=NOW)
    assert principal.roles == frozenset()
    assert not principal.has_any(*KNOWN_ROLES)


def test_principal_has_any_and_is_frozen() -> None:
    principal = Principal(
        sub="s", name="n", roles=frozenset({"chair", "admin"}), agency=None, authority="LA1"
    )
    assert principal.has_any("reviewer", "admin")
    assert not principal.has_any("reviewer")
    assert not principal.has_any()
    with pytest.raises(FrozenInstanceError):
        principal.sub = "other"  # type: ignore[misc]


def test_known_roles() -> None:
    assert (
        frozenset(
            {
                "record_system",
                "chair",
                "professional",
                "reviewer",
                "reporting",
                "admin",
                "system_admin",
            }
        )
        == KNOWN_ROLES
    )


def test_issuer_and_audience_accepted_when_matching() -> None:
    verifier = TokenVerifier(secret=SECRET, issuer=ISSUER, audience=AUDIENCE)
    token = mint_token(
        SECRET, sub="p", roles=["chair"], authority="LA1", issuer=ISSUER, audience=AUDIENCE, now=NOW
    )
    assert verifier.verify(token, now=NOW).sub == "p"
    listed = hs256(claims_for(iss=ISSUER, aud=["other-service", AUDIENCE]))
    assert verifier.verify(listed, now=NOW).sub == "person-1"


def test_aud_and_iss_ignored_when_not_configured(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(iss="https://anyone.example", aud="some-other-service"))
    assert secret_verifier.verify(token, now=NOW).sub == "person-1"


def test_clock_skew_leeway_is_bounded(secret_verifier: TokenVerifier) -> None:
    assert timedelta(seconds=30) == CLOCK_SKEW_LEEWAY
    token = hs256(claims_for(now=NOW - timedelta(minutes=10), ttl=timedelta(minutes=10)))
    assert secret_verifier.verify(token, now=NOW + timedelta(seconds=29)).sub == "person-1"
    message = refused(secret_verifier, token, now=NOW + timedelta(seconds=30))
    assert message == "token expired"


def test_nbf_and_iat_within_leeway_accepted(secret_verifier: TokenVerifier) -> None:
    ts = int(NOW.timestamp())
    token = hs256(claims_for(nbf=ts + 20, iat=ts + 20))
    assert secret_verifier.verify(token, now=NOW).sub == "person-1"


def test_float_exp_accepted(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(exp=NOW.timestamp() + 60.5))
    assert secret_verifier.verify(token, now=NOW).sub == "person-1"


def test_from_settings_with_jwks_file(
    tmp_path: Path, jwks: dict[str, Any], ec_key: ec.EllipticCurvePrivateKey
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks), encoding="utf-8")
    settings = Settings(
        _env_file=None,
        auth_jwt_secret=None,
        auth_jwt_public_keys_file=path,
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
    )
    verifier = TokenVerifier.from_settings(settings)
    assert verifier.algorithms == ("RS256", "ES256")
    token = es256(claims_for(iss=ISSUER, aud=AUDIENCE), ec_key, kid="ec-1")
    assert verifier.verify(token, now=NOW).sub == "person-1"
    assert refused(verifier, es256(claims_for(), ec_key, kid="ec-1")) == ("token missing required claim: iss")
    # An HS256 token is refused outright by a key-set verifier.
    assert refused(verifier, hs256(claims_for())) == "unsupported token algorithm"


def test_from_settings_with_secret() -> None:
    settings = Settings(
        _env_file=None,
        auth_jwt_secret=SECRET,
        auth_jwt_public_keys_file=None,
        auth_issuer=None,
        auth_audience=None,
    )
    verifier = TokenVerifier.from_settings(settings)
    assert verifier.algorithms == ("HS256",)
    assert verifier.verify(hs256(claims_for()), now=NOW).sub == "person-1"


def test_from_settings_with_nothing_refuses_everything() -> None:
    settings = Settings(
        _env_file=None,
        auth_jwt_secret=None,
        auth_jwt_public_keys_file=None,
        auth_issuer=None,
        auth_audience=None,
    )
    verifier = TokenVerifier.from_settings(settings)
    assert verifier.algorithms == ()
    assert refused(verifier, hs256(claims_for())) == "token verification not configured"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot read JWKS file"),
        ("{not json", "not valid JSON"),
        ("[]", "must contain a JSON object"),
        ('{"keys": "nope"}', "'keys' list"),
        ('{"keys": []}', "no usable"),
    ],
)
def test_from_settings_with_bad_jwks_file(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "jwks.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    settings = Settings(
        _env_file=None,
        auth_jwt_secret=None,
        auth_jwt_public_keys_file=path,
        auth_issuer=None,
        auth_audience=None,
    )
    with pytest.raises(ValueError, match=fragment):
        TokenVerifier.from_settings(settings)


def test_mint_token_claims_and_ttl(secret_verifier: TokenVerifier) -> None:
    token = mint_token(SECRET, sub="p", roles=("chair",), authority="LA1", ttl=timedelta(minutes=5), now=NOW)
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["iat"] == int(NOW.timestamp())
    assert payload["exp"] == int(NOW.timestamp()) + 300
    assert payload["roles"] == ["chair"]
    assert "agency" not in payload
    assert "aud" not in payload
    assert secret_verifier.verify(token, now=NOW + timedelta(minutes=5, seconds=29))
    assert refused(secret_verifier, token, now=NOW + timedelta(minutes=6)) == "token expired"


def test_mint_token_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        mint_token(SECRET, sub="p", roles="chair", authority="LA1")
    with pytest.raises(ValueError, match="ttl"):
        mint_token(SECRET, sub="p", roles=["chair"], authority="LA1", ttl=timedelta(0))
    with pytest.raises(ValueError, match="sub"):
        mint_token(SECRET, sub="", roles=["chair"], authority="LA1")
    with pytest.raises(ValueError, match="secret"):
        mint_token("", sub="p", roles=["chair"], authority="LA1")


# -- configuration errors --------------------------------------------------------------------


def test_both_secret_and_jwks_raises(jwks: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not both"):
        TokenVerifier(secret=SECRET, jwks=jwks)


def test_neither_configured_refuses_every_token() -> None:
    verifier = TokenVerifier()
    assert refused(verifier, hs256(claims_for())) == "token verification not configured"
    assert refused(verifier, "garbage") == "token verification not configured"


def test_empty_secret_raises() -> None:
    with pytest.raises(ValueError):
        TokenVerifier(secret="")


def test_pem_secret_raises(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError):
        TokenVerifier(secret=pem.decode())


def test_jwks_with_private_key_material_raises(rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = rsa_jwk(rsa_key, "k", d=b64url_uint(rsa_key.private_numbers().d))
    with pytest.raises(ValueError, match="private key material"):
        TokenVerifier(jwks={"keys": [jwk]})


def test_jwks_with_symmetric_key_raises(rsa_key: rsa.RSAPrivateKey) -> None:
    keys = [rsa_jwk(rsa_key, "r"), {"kty": "oct", "kid": "h", "k": b64url(b"secret")}]
    with pytest.raises(ValueError, match="symmetric"):
        TokenVerifier(jwks={"keys": keys})


def test_jwks_with_duplicate_kid_raises(rsa_key: rsa.RSAPrivateKey, rsa_key_2: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="more than once"):
        TokenVerifier(jwks={"keys": [rsa_jwk(rsa_key, "k"), rsa_jwk(rsa_key_2, "k")]})


def test_jwks_key_without_kid_raises(rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = rsa_jwk(rsa_key, "k")
    del jwk["kid"]
    with pytest.raises(ValueError, match="kid"):
        TokenVerifier(jwks={"keys": [jwk]})


def test_jwks_with_short_rsa_key_raises() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (deliberately weak)
    with pytest.raises(ValueError, match="2048"):
        TokenVerifier(jwks={"keys": [rsa_jwk(weak, "weak")]})


def test_jwks_with_invalid_key_material_raises() -> None:
    jwk = {
        "kty": "EC",
        "kid": "bad",
        "crv": "P-256",
        "x": b64url(b"\x01" * 32),
        "y": b64url(b"\x02" * 32),
    }
    with pytest.raises(ValueError, match="not a valid EC public key"):
        TokenVerifier(jwks={"keys": [jwk]})


def test_jwks_with_only_unusable_keys_raises(rsa_key: rsa.RSAPrivateKey) -> None:
    keys = [
        rsa_jwk(rsa_key, "enc", use="enc"),
        rsa_jwk(rsa_key, "ps", alg="PS256"),
        {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b64url(b"\x00" * 32)},
    ]
    with pytest.raises(ValueError, match="no usable"):
        TokenVerifier(jwks={"keys": keys})


def test_naive_now_is_a_programming_error(secret_verifier: TokenVerifier) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        secret_verifier.verify(hs256(claims_for()), now=datetime(2025, 1, 1))


def test_repr_does_not_leak_secret(secret_verifier: TokenVerifier) -> None:
    assert SECRET not in repr(secret_verifier)


# -- forged and bad tokens -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["", "c2ln"])
def test_alg_none_is_refused(
    secret_verifier: TokenVerifier, jwks_verifier: TokenVerifier, alg: str, signature: str
) -> None:
    token = unsigned({"alg": alg, "typ": "JWT"}, claims_for(), signature)
    expected = "malformed token" if not signature else "unsupported token algorithm"
    assert refused(secret_verifier, token) == expected
    assert refused(jwks_verifier, unsigned({"alg": alg, "kid": "rsa-1"}, claims_for(), signature)) == expected


def test_missing_or_non_string_alg_is_refused(secret_verifier: TokenVerifier) -> None:
    for header in ({"typ": "JWT"}, {"alg": None}, {"alg": ["HS256"]}, {"alg": 256}):
        assert refused(secret_verifier, unsigned(header, claims_for(), "c2ln")) == (
            "unsupported token algorithm"
        )


def test_wrong_secret_is_refused(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(), secret="another-secret-0123456789abcdef-000")
    assert refused(secret_verifier, token) == "token signature invalid"


def test_tampered_payload_is_refused(secret_verifier: TokenVerifier) -> None:
    header, _, signature = hs256(claims_for(roles=["chair"])).split(".")
    forged = f"{header}.{b64url_json(claims_for(roles=['system_admin']))}.{signature}"
    assert refused(secret_verifier, forged) == "token signature invalid"


def test_expired_token_is_refused(secret_verifier: TokenVerifier) -> None:
    token = mint_token(SECRET, sub="p", roles=["chair"], authority="LA1", now=NOW - timedelta(hours=13))
    assert refused(secret_verifier, token) == "token expired"


def test_token_without_exp_is_refused(secret_verifier: TokenVerifier) -> None:
    claims = claims_for()
    del claims["exp"]
    assert refused(secret_verifier, hs256(claims)) == "token missing required claim: exp"


@pytest.mark.parametrize("exp", ["9999999999", True, [1], {"t": 1}])
def test_non_numeric_exp_is_refused(secret_verifier: TokenVerifier, exp: Any) -> None:
    assert refused(secret_verifier, hs256(claims_for(exp=exp))) == "token claim invalid: exp"


def test_infinite_exp_is_refused(secret_verifier: TokenVerifier) -> None:
    header = b64url_json({"alg": "HS256"})
    payload = b64url(b'{"sub":"p","roles":["chair"],"authority":"L","exp":Infinity}')
    data = f"{header}.{payload}".encode()
    token = f"{data.decode()}.{b64url(hmac.new(SECRET.encode(), data, hashlib.sha256).digest())}"
    assert refused(secret_verifier, token) == "malformed token"


def test_not_yet_valid_token_is_refused(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(nbf=int(NOW.timestamp()) + 60))
    assert refused(secret_verifier, token) == "token not yet valid"


def test_token_issued_in_the_future_is_refused(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(iat=int(NOW.timestamp()) + 3600, ttl=timedelta(hours=2)))
    assert refused(secret_verifier, token) == "token issued in the future"


def test_algorithm_confusion_hs256_with_public_key_is_refused(
    jwks_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (pem, pem.strip()):
        token = hs256(claims_for(), secret=secret, kid="rsa-1")
        assert refused(jwks_verifier, token) == "unsupported token algorithm"


def test_rs256_token_to_secret_verifier_is_refused(
    secret_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = rs256(claims_for(), rsa_key, kid="rsa-1")
    assert refused(secret_verifier, token) == "unsupported token algorithm"


def test_other_algorithms_are_refused(jwks_verifier: TokenVerifier, secret_verifier: TokenVerifier) -> None:
    for alg in ("HS384", "HS512", "RS384", "RS512", "PS256", "ES384", "EdDSA", "hs256"):
        token = unsigned({"alg": alg, "kid": "rsa-1"}, claims_for(), "c2ln")
        assert refused(jwks_verifier, token) == "unsupported token algorithm"
        assert refused(secret_verifier, token) == "unsupported token algorithm"


def test_wrong_audience_is_refused() -> None:
    verifier = TokenVerifier(secret=SECRET, audience=AUDIENCE)
    for aud in ("other-service", ["x", "y"], [], 42, [AUDIENCE, 42]):
        assert refused(verifier, hs256(claims_for(aud=aud))) == "token audience invalid"


def test_missing_audience_is_refused() -> None:
    verifier = TokenVerifier(secret=SECRET, audience=AUDIENCE)
    assert refused(verifier, hs256(claims_for())) == "token missing required claim: aud"


def test_wrong_issuer_is_refused() -> None:
    verifier = TokenVerifier(secret=SECRET, issuer=ISSUER)
    for iss in ("https://evil.example", ISSUER + "/", ["https://idp.example.gov.uk"]):
        assert refused(verifier, hs256(claims_for(iss=iss))) == "token issuer invalid"


def test_missing_issuer_is_refused() -> None:
    verifier = TokenVerifier(secret=SECRET, issuer=ISSUER)
    assert refused(verifier, hs256(claims_for())) == "token missing required claim: iss"


def test_unknown_kid_is_refused(jwks_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    token = rs256(claims_for(), rsa_key, kid="rsa-99")
    assert refused(jwks_verifier, token) == "unknown key id"


@pytest.mark.parametrize("kid", [None, "", 1, ["rsa-1"]])
def test_missing_kid_in_jwks_mode_is_refused(
    jwks_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey, kid: Any
) -> None:
    header = {} if kid is None else {"kid": kid}
    token = rs256(claims_for(), rsa_key, **header)
    assert refused(jwks_verifier, token) == "token missing key id"


def test_algorithm_not_matching_key_type_is_refused(
    jwks_verifier: TokenVerifier, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    # ES256 signature naming an RSA key id.
    token = es256(claims_for(), ec_key, kid="rsa-1")
    assert refused(jwks_verifier, token) == "token algorithm does not match key"


def test_key_with_other_stated_alg_is_not_usable(
    rsa_key: rsa.RSAPrivateKey, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(jwks={"keys": [rsa_jwk(rsa_key, "ok"), rsa_jwk(rsa_key_2, "ps", alg="PS256")]})
    assert verifier.verify(rs256(claims_for(), rsa_key, kid="ok"), now=NOW)
    token = rs256(claims_for(), rsa_key_2, kid="ps")
    assert refused(verifier, token) == "unknown key id"


def test_ec_key_on_other_curve_is_not_usable(rsa_key: rsa.RSAPrivateKey) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    numbers = p384.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "kid": "p384",
        "crv": "P-384",
        "x": b64url_uint(numbers.x, 48),
        "y": b64url_uint(numbers.y, 48),
    }
    verifier = TokenVerifier(jwks={"keys": [rsa_jwk(rsa_key, "r"), jwk]})
    token = unsigned({"alg": "ES256", "kid": "p384"}, claims_for(), b64url(b"\x00" * 64))
    assert refused(verifier, token) == "unknown key id"


def test_bad_es256_signature_is_refused(
    jwks_verifier: TokenVerifier, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    header, payload, _ = es256(claims_for(), ec_key, kid="ec-1").split(".")
    for signature in (b"\x00" * 64, b"\x01" * 10, b"\xff" * 200):
        token = f"{header}.{payload}.{b64url(signature)}"
        assert refused(jwks_verifier, token) == "token signature invalid"


def test_crit_header_is_refused(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(), crit=["b64"], b64=False)
    assert refused(secret_verifier, token) == "unsupported token header"


GOOD_HEADER = b64url_json({"alg": "HS256", "typ": "JWT"})
GOOD_PAYLOAD = b64url_json(claims_for())
STRING_HEADER = b64url(b'"HS256"')
NON_UTF8_HEADER = b64url(b"\xff\xfe")
DUPLICATE_ALG_HEADER = b64url(b'{"alg":"none","alg":"HS256"}')
DUPLICATE_SUB_PAYLOAD = b64url(b'{"sub":"a","sub":"b"}')
DEEP_PAYLOAD = b64url(b"[" * 5000 + b"]" * 5000)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b",
        "a.b.c.d",
        "..",
        "...",
        "Bearer x.y.z",
        "!!!.@@@.###",
        "a b.c d.e f",
        f"{GOOD_HEADER}.{GOOD_PAYLOAD}",
        f"{GOOD_HEADER}.{GOOD_PAYLOAD}.",
        f"{GOOD_HEADER}.{GOOD_PAYLOAD}.a",  # impossible base64 length
        f"{GOOD_HEADER}==.{GOOD_PAYLOAD}.c2ln",  # padding is not allowed
        f"{GOOD_HEADER}.{GOOD_PAYLOAD}.c2ln.c2ln",
        f".{GOOD_PAYLOAD}.c2ln",
        f"{GOOD_HEADER}..c2ln",
        f"{b64url(b'not json')}.{GOOD_PAYLOAD}.c2ln",
        f"{b64url(b'[1, 2]')}.{GOOD_PAYLOAD}.c2ln",
        f"{STRING_HEADER}.{GOOD_PAYLOAD}.c2ln",
        f"{b64url(b'null')}.{GOOD_PAYLOAD}.c2ln",
        f"{NON_UTF8_HEADER}.{GOOD_PAYLOAD}.c2ln",
        f"{GOOD_HEADER}.{b64url(b'[]')}.c2ln",
        f"{GOOD_HEADER}.{b64url(b'not json')}.c2ln",
        f"{GOOD_HEADER}.{b64url(b'42')}.c2ln",
        f"{DUPLICATE_ALG_HEADER}.{GOOD_PAYLOAD}.c2ln",
        f"{GOOD_HEADER}.{DUPLICATE_SUB_PAYLOAD}.c2ln",
        f"{GOOD_HEADER}.{DEEP_PAYLOAD}.c2ln",
        "é.é.é",
        "\x00.\x00.\x00",
    ],
)
def test_malformed_tokens_are_refused(
    secret_verifier: TokenVerifier, jwks_verifier: TokenVerifier, token: str
) -> None:
    assert refused(secret_verifier, token) in {"malformed token", "token too large"}
    assert refused(jwks_verifier, token) in {"malformed token", "token too large"}


@pytest.mark.parametrize("token", [None, b"a.b.c", 42, ["a", "b", "c"]])
def test_non_string_tokens_are_refused(secret_verifier: TokenVerifier, token: Any) -> None:
    assert refused(secret_verifier, token) == "malformed token"


def test_oversized_token_is_refused(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(padding="x" * MAX_TOKEN_LENGTH))
    assert refused(secret_verifier, token) == "token too large"


def test_refusal_messages_do_not_echo_token(secret_verifier: TokenVerifier) -> None:
    token = hs256(claims_for(sub="secret-person-id"), secret="wrong-secret-0123456789abcdefghij")
    message = refused(secret_verifier, token)
    assert "secret-person-id" not in message
    assert token not in message


# -- application claims ----------------------------------------------------------------------


def test_missing_sub_is_refused(secret_verifier: TokenVerifier) -> None:
    claims = claims_for()
    del claims["sub"]
    assert refused(secret_verifier, hs256(claims)) == "token missing required claim: sub"


@pytest.mark.parametrize("sub", ["", "   ", None])
def test_empty_sub_is_refused(secret_verifier: TokenVerifier, sub: Any) -> None:
    assert refused(secret_verifier, hs256(claims_for(sub=sub))) == ("token missing required claim: sub")


@pytest.mark.parametrize("sub", [42, ["p"], {"id": "p"}, "x" * 300])
def test_invalid_sub_is_refused(secret_verifier: TokenVerifier, sub: Any) -> None:
    assert refused(secret_verifier, hs256(claims_for(sub=sub))) == "token claim invalid: sub"


def test_missing_roles_is_refused(secret_verifier: TokenVerifier) -> None:
    claims = claims_for()
    del claims["roles"]
    assert refused(secret_verifier, hs256(claims)) == "token missing required claim: roles"


@pytest.mark.parametrize("roles", ["chair", {"chair": True}, 1, ["chair", 2], [["chair"]]])
def test_non_list_roles_is_refused(secret_verifier: TokenVerifier, roles: Any) -> None:
    assert refused(secret_verifier, hs256(claims_for(roles=roles))) == ("token claim invalid: roles")


@pytest.mark.parametrize("roles", [["chair"], ["admin", "reviewer"], [], ["superuser"]])
def test_missing_authority_for_non_system_admin_is_refused(
    secret_verifier: TokenVerifier, roles: list[str]
) -> None:
    for authority in (None, ""):
        claims = claims_for(roles=roles, authority=None)
        if authority is not None:
            claims["authority"] = authority
        assert refused(secret_verifier, hs256(claims)) == ("token missing required claim: authority")


@pytest.mark.parametrize("claim", ["name", "agency", "authority"])
def test_non_string_optional_claims_are_refused(secret_verifier: TokenVerifier, claim: str) -> None:
    token = hs256(claims_for(**{claim: 7}))
    assert refused(secret_verifier, token) == f"token claim invalid: {claim}"
