"""Bearer-token (JWT) verification: the only module in the project that imports ``jose``.

python-jose is lax by default (it accepts whatever algorithm the token header names if the
caller lets it, does not require ``exp``, and rejects any ``aud`` when no audience is
expected), so every decision that matters is taken here, explicitly:

* **Algorithms.** A verifier is configured with *either* a shared secret (HS256 only) *or* a
  JWKS key set (RS256 and ES256 only), never both; with neither, every token is refused.
  The unverified header is parsed here first and a token whose ``alg`` is not allowed is
  refused *before* any signature check, which stops ``alg: none`` and HS256-signed-with-the-
  public-key algorithm confusion.
* **Keys.** In JWKS mode the key is chosen here by ``kid``: the token must name a ``kid``
  that is in the set, whose ``kty`` fits the algorithm (``RSA`` for RS256, ``EC`` on P-256
  for ES256) and whose ``alg``, if the JWK states one, equals the header ``alg``. Exactly
  that one key is handed to ``jose.jwt.decode`` with ``algorithms=[alg]``. The key set is
  validated when the verifier is built (public keys only, no symmetric ``oct`` keys, unique
  ``kid`` values, RSA moduli of at least 2048 bits); keys this service cannot use (other
  key types or curves, ``use: enc``, other algorithms) are skipped.
* **Structure.** Tokens must be compact JWS: three base64url segments, a JSON-object header
  and payload (duplicate member names and ``NaN``/``Infinity`` are rejected, so no two JSON
  parsers can disagree about the claims), no ``crit`` header, at most
  ``MAX_TOKEN_LENGTH`` characters. Anything else is refused with ``AuthError``, never an
  unhandled exception.
* **Registered claims** are checked here, after jose has verified the signature, against
  a clock that tests can control (``verify(..., now=...)``): ``exp`` is required and
  enforced; ``nbf`` and ``iat`` are enforced when present, and a token may live at most
  ``max_lifetime`` (``exp - iat``, or ``exp - now`` when it has no ``iat``). A fixed clock-skew allowance of
  ``CLOCK_SKEW_LEEWAY`` (30 seconds) applies to all three, and no more. ``iss`` and ``aud``
  are required and must match when an issuer / audience is configured; when not configured
  they are ignored (jose's own audience check is switched off via ``options`` so that a
  token carrying an ``aud`` is not refused for that reason alone).
* **Application claims**: ``sub`` (required non-empty string), ``name`` (optional, defaults
  to ``sub``), ``roles`` (required list of strings; names outside ``KNOWN_ROLES`` are
  dropped), ``agency`` (optional), ``authority`` (the tenant code; required unless the
  token's roles include ``system_admin``).

Every refusal raises ``AuthError`` with a short message that names the failed check but
never echoes token content or key material. Configuration mistakes raise ``ValueError``.

The token's structure and claims are read by ``app.token_claims`` (no cryptography there);
the caller it yields is an ``app.principal.Principal``.

``mint_token`` issues HS256 tokens for development and tests only; the service never
issues production tokens.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import JOSEError

from app.principal import KNOWN_ROLES, Principal
from app.token_claims import (
    MAX_TOKEN_LENGTH,
    AuthError,
    numeric_date,
    parse_compact_jws,
    principal_from_claims,
)

if TYPE_CHECKING:
    from app.config import Settings

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "CLOCK_SKEW_LEEWAY",
    "KNOWN_ROLES",
    "MAX_TOKEN_LENGTH",
    "SYMMETRIC_ALGORITHMS",
    "AuthError",
    "TokenVerifier",
    "mint_token",
]

#: Algorithms accepted when a shared secret is configured.
SYMMETRIC_ALGORITHMS: Final[tuple[str, ...]] = ("HS256",)
#: Algorithms accepted when a JWKS key set is configured.
ASYMMETRIC_ALGORITHMS: Final[tuple[str, ...]] = ("RS256", "ES256")

#: Clock-skew allowance applied to ``exp``, ``nbf`` and ``iat`` (and nothing else).
CLOCK_SKEW_LEEWAY: Final[timedelta] = timedelta(seconds=30)
#: The longest a token may live (``exp - iat``, or ``exp - now`` without ``iat``) by default;
#: ``AUTH_MAX_TOKEN_LIFETIME_SECONDS`` sets it. NumericDates past the year 9999 are refused
#: outright (``app.token_claims.numeric_date``).
DEFAULT_MAX_LIFETIME: Final[timedelta] = timedelta(hours=24)
VERIFIED_CACHE_SIZE: Final[int] = 10_000  # distinct live tokens remembered per process


_MIN_RSA_BITS: Final[int] = 2048
# The JWK ``kty`` (and, for EC, ``crv``) that each asymmetric algorithm requires.
_KTY_FOR_ALG: Final[dict[str, str]] = {"RS256": "RSA", "ES256": "EC"}
_ALG_FOR_KTY: Final[dict[str, str]] = {kty: alg for alg, kty in _KTY_FOR_ALG.items()}
_EC_CURVE_FOR_ALG: Final[dict[str, str]] = {"ES256": "P-256"}
# JWK members that only private keys carry (RFC 7518 sections 6.2.2 and 6.3.2).
_PRIVATE_JWK_MEMBERS: Final[frozenset[str]] = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})


@dataclass(frozen=True, slots=True)
class _VerificationKey:
    alg: str
    key: Key


class TokenVerifier:
    """Verifies bearer JWTs and turns them into ``Principal`` objects.

    Configure with ``secret`` (HS256) or ``jwks`` (a JWK Set dict, ``{"keys": [...]}``;
    RS256/ES256), not both. With neither, every token is refused. ``issuer`` and
    ``audience``, when given (non-empty), must match the token's ``iss`` / ``aud``.
    Instances are immutable after construction and safe to share between threads.
    """

    __slots__ = (
        "_algorithms",
        "_audience",
        "_issuer",
        "_keys",
        "_max_lifetime",
        "_secret_key",
        "_verified",
    )

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks: dict[str, Any] | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
    ) -> None:
        if secret is not None and jwks is not None:
            raise ValueError(
                "configure either a JWT secret or a JWKS key set, not both "
                "(mixing HS256 and RS256/ES256 invites algorithm confusion)"
            )
        for label, value in (("issuer", issuer), ("audience", audience)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{label} must be a string")
        # A blank issuer/audience (e.g. an empty environment variable) means "not configured".
        self._issuer: str | None = issuer or None
        self._audience: str | None = audience or None
        if max_lifetime <= timedelta(0):
            raise ValueError("the maximum token lifetime must be positive")
        self._max_lifetime = max_lifetime.total_seconds()
        self._secret_key: Key | None = None
        self._keys: dict[str, _VerificationKey] = {}
        self._algorithms: tuple[str, ...] = ()
        # Tokens whose signature and structure already verified, with their claims: portals
        # send the same token on every request, and the signature check is the costly part.
        # Time, issuer and audience checks still run on every use.
        self._verified: dict[str, tuple[Mapping[str, Any], Principal]] = {}

        if secret is not None:
            if not isinstance(secret, str) or not secret:
                raise ValueError("the JWT secret must be a non-empty string")
            try:
                self._secret_key = jwk.construct(secret, SYMMETRIC_ALGORITHMS[0])
            except JOSEError as exc:
                raise ValueError(f"the JWT secret is not usable as an HMAC key: {exc}") from exc
            self._algorithms = SYMMETRIC_ALGORITHMS
        elif jwks is not None:
            self._keys = _load_jwks(jwks)
            self._algorithms = ASYMMETRIC_ALGORITHMS

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        """Build a verifier from ``Settings``, reading the JWKS file if one is configured.

        Raises ``ValueError`` with a clear message if the file cannot be read, is not JSON,
        or is not a usable JWK Set.
        """
        jwks: dict[str, Any] | None = None
        path: Path | None = settings.auth_jwt_public_keys_file
        if path is not None:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"cannot read JWKS file {path}: {exc}") from exc
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"JWKS file {path} is not valid JSON: {exc}") from exc
            if not isinstance(loaded, dict):
                raise ValueError(f"JWKS file {path} must contain a JSON object with 'keys'")
            jwks = loaded
        try:
            return cls(
                secret=settings.auth_jwt_secret,
                jwks=jwks,
                issuer=settings.auth_issuer,
                audience=settings.auth_audience,
                max_lifetime=timedelta(seconds=settings.auth_max_token_lifetime_seconds),
            )
        except ValueError as exc:
            if path is not None:
                raise ValueError(f"JWKS file {path}: {exc}") from exc
            raise

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The algorithms this verifier accepts (empty when unconfigured)."""
        return self._algorithms

    def __repr__(self) -> str:
        if self._secret_key is not None:
            mode = "secret"
        else:
            mode = f"jwks[{len(self._keys)}]" if self._keys else "off"
        return f"TokenVerifier(mode={mode}, issuer={self._issuer!r}, audience={self._audience!r})"

    def verify(self, token: str, *, now: datetime | None = None) -> Principal:
        """Verify ``token`` and return its ``Principal``; raise ``AuthError`` if refused.

        ``now`` (timezone-aware) replaces the wall clock for the time-based checks; it exists
        for tests and the test clock. A naive ``now`` is a programming error (``ValueError``).
        """
        current = _utc_timestamp(now)
        if not self._algorithms:
            raise AuthError("token verification not configured")
        cached = self._verified.get(token) if isinstance(token, str) else None
        if cached is not None:
            self._check_registered_claims(cached[0], current)
            return cached[1]

        header, claims = parse_compact_jws(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise AuthError("unsupported token algorithm")
        if "crit" in header:
            raise AuthError("unsupported token header")

        key = self._select_key(header, alg)
        options = {
            # Time claims are checked below against a controllable clock. NB: jose turns any
            # ``require_<claim>`` option into ``verify_<claim>``, so none of those is set here.
            "verify_signature": True,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            # Issuer and audience are checked below (and ignored when not configured).
            "verify_aud": False,
            "verify_iss": False,
            "verify_sub": False,
            "verify_jti": False,
            "verify_at_hash": False,
        }
        try:
            jwt.decode(token, key, algorithms=[alg], options=options)
        except Exception as exc:  # jose wraps most failures, but not all backends' errors
            # Structure was validated above, so a failure here is a bad signature.
            raise AuthError("token signature invalid") from exc

        self._check_registered_claims(claims, current)
        principal = principal_from_claims(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # the oldest entry
        self._verified[token] = (claims, principal)
        return principal

    # -- internals ---------------------------------------------------------------------

    def _select_key(self, header: Mapping[str, Any], alg: str) -> Key:
        if self._secret_key is not None:
            return self._secret_key
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("token missing key id")
        entry = self._keys.get(kid)
        if entry is None:
            raise AuthError("unknown key id")
        if entry.alg != alg:
            raise AuthError("token algorithm does not match key")
        return entry.key

    def _check_lifetime(self, exp: float, iat: float | None, now: float) -> None:
        # Without iat the lifetime left is measured from now: still bounded by the cap.
        if exp - (iat if iat is not None else now) > self._max_lifetime + CLOCK_SKEW_LEEWAY.total_seconds():
            raise AuthError("token lifetime too long")

    def _check_registered_claims(self, claims: Mapping[str, Any], now: float) -> None:
        leeway = CLOCK_SKEW_LEEWAY.total_seconds()

        exp = numeric_date(claims, "exp")
        if exp is None:
            raise AuthError("token missing required claim: exp")
        if now >= exp + leeway:
            raise AuthError("token expired")
        nbf = numeric_date(claims, "nbf")
        if nbf is not None and now + leeway < nbf:
            raise AuthError("token not yet valid")
        iat = numeric_date(claims, "iat")
        if iat is not None and iat > now + leeway:
            raise AuthError("token issued in the future")
        self._check_lifetime(exp, iat, now)

        if self._issuer is not None:
            if claims.get("iss") is None:
                raise AuthError("token missing required claim: iss")
            if claims["iss"] != self._issuer:
                raise AuthError("token issuer invalid")

        if self._audience is not None:
            aud = claims.get("aud")
            if aud is None:
                raise AuthError("token missing required claim: aud")
            audiences = [aud] if isinstance(aud, str) else aud
            if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
                raise AuthError("token audience invalid")
            if self._audience not in audiences:
                raise AuthError("token audience invalid")


def mint_token(
    secret: str,
    *,
    sub: str,
    roles: Iterable[str],
    authority: str | None,
    agency: str | None = None,
    name: str | None = None,
    ttl: timedelta = timedelta(hours=12),
    issuer: str | None = None,
    audience: str | None = None,
    now: datetime | None = None,
) -> str:
    """Issue an HS256 token for development and tests (never used for production tokens).

    Roles are written as given (the verifier drops unknown ones). ``now`` defaults to the
    wall clock; ``iat`` is ``now`` and ``exp`` is ``now + ttl``.
    """
    if not isinstance(secret, str) or not secret:
        raise ValueError("secret must be a non-empty string")
    if not isinstance(sub, str) or not sub:
        raise ValueError("sub must be a non-empty string")
    if isinstance(roles, str):
        raise TypeError("roles must be an iterable of role names, not a single string")
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    issued = _utc_timestamp(now)
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": list(roles),
        "iat": int(issued),
        "exp": int(issued + ttl.total_seconds()),
    }
    optional = {
        "name": name,
        "agency": agency,
        "authority": authority,
        "iss": issuer,
        "aud": audience,
    }
    claims.update({claim: value for claim, value in optional.items() if value is not None})
    return jwt.encode(claims, secret, algorithm=SYMMETRIC_ALGORITHMS[0])


# -- helpers -------------------------------------------------------------------------------


def _utc_timestamp(now: datetime | None) -> float:
    if now is None:
        return datetime.now(UTC).timestamp()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.timestamp()


def _load_jwks(jwks: object) -> dict[str, _VerificationKey]:
    """Validate a JWK Set and return the usable verification keys by ``kid``."""
    if not isinstance(jwks, Mapping):
        raise ValueError("the JWKS must be a JSON object with a 'keys' list")
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise ValueError("the JWKS must be a JSON object with a 'keys' list")

    keys: dict[str, _VerificationKey] = {}
    for index, entry in enumerate(entries):
        kid, where = _checked_jwk(entry, index, keys)
        alg = _usable_alg(entry)
        if alg is None:
            continue  # a key this service cannot use; tokens naming it are refused
        if alg == "RS256":
            _check_rsa_modulus(entry, where)
        try:
            key = jwk.construct(dict(entry), alg)
        except Exception as exc:  # jose raises JWKError, backends may raise others
            raise ValueError(f"{where} is not a valid {entry.get('kty')} public key: {exc}") from exc
        keys[kid] = _VerificationKey(alg=alg, key=key)

    if not keys:
        raise ValueError("the JWKS contains no usable RS256 or ES256 (P-256) signing keys")
    return keys


def _checked_jwk(entry: object, index: int, seen: Mapping[str, object]) -> tuple[str, str]:
    """A JWKS entry's ``kid`` and how to name it in errors; refuse what no key set may hold."""
    where = f"JWKS key #{index}"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} is not a JSON object")
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError(f"{where} has no 'kid' (every key must be named)")
    where = f"JWKS key {kid!r}"
    if kid in seen:
        raise ValueError(f"{where} appears more than once")
    if entry.get("kty") == "oct":
        raise ValueError(f"{where} is a symmetric secret; a JWKS may hold public keys only")
    if _PRIVATE_JWK_MEMBERS & entry.keys():
        raise ValueError(f"{where} contains private key material; publish public keys only")
    return kid, where


def _usable_alg(entry: Mapping[str, Any]) -> str | None:
    """The algorithm this service would verify with this key, or None if it cannot use it."""
    kty = entry.get("kty")
    alg = _ALG_FOR_KTY.get(kty) if isinstance(kty, str) else None
    if alg is None:
        return None  # a key type this service cannot use
    stated_alg = entry.get("alg")
    if stated_alg is not None and stated_alg != alg:
        return None  # e.g. an RSA key reserved for PS256 or RS512
    if entry.get("use") not in (None, "sig"):
        return None  # e.g. an encryption key
    if alg in _EC_CURVE_FOR_ALG and entry.get("crv") != _EC_CURVE_FOR_ALG[alg]:
        return None  # another curve (ES384, ES512, ...) which is not accepted
    return alg


def _check_rsa_modulus(entry: Mapping[str, Any], where: str) -> None:
    n = entry.get("n")
    if not isinstance(n, str):
        raise ValueError(f"{where} has no RSA modulus 'n'")
    try:
        modulus = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{where} has a malformed RSA modulus") from exc
    if int.from_bytes(modulus, "big").bit_length() < _MIN_RSA_BITS:
        raise ValueError(f"{where} is an RSA key shorter than {_MIN_RSA_BITS} bits")
