"""A bearer token's structure and claims, read without any cryptography: the compact JWS
parts as strict JSON objects, registered dates, and the application claims that make a
`Principal`. `app.security` verifies the signature (with jose) and uses these."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any, Final

from app.principal import KNOWN_ROLES, Principal

#: Longer tokens are refused unparsed (bounds the work an anonymous caller can cause).
MAX_TOKEN_LENGTH: Final[int] = 8192
#: Upper bound on the length of string claims copied into a ``Principal``.
MAX_CLAIM_LENGTH: Final[int] = 256
_SYSTEM_ADMIN: Final[str] = "system_admin"
#: NumericDates past 9999-12-31T23:59:59Z (or before the epoch) are refused outright.
_MAX_NUMERIC_DATE: Final[int] = 253_402_300_799
_B64URL_ALPHABET: Final[frozenset[str]] = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)


class AuthError(Exception):
    """A bearer token was refused. ``str(error)`` is short and safe to return to a client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def b64url_decode(segment: str) -> bytes:
    if not segment or not set(segment) <= _B64URL_ALPHABET or len(segment) % 4 == 1:
        raise AuthError("malformed token")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise AuthError("malformed token") from exc


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate member name")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def json_object(segment: str) -> dict[str, Any]:
    raw = b64url_decode(segment)
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AuthError("malformed token") from exc
    if not isinstance(value, dict):
        raise AuthError("malformed token")
    return value


def parse_compact_jws(token: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """Strictly parse a compact JWS into (header, claims) without verifying it."""
    if not isinstance(token, str) or not token:
        raise AuthError("malformed token")
    if len(token) > MAX_TOKEN_LENGTH:
        raise AuthError("token too large")
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError("malformed token")
    header_segment, payload_segment, signature_segment = parts
    header = json_object(header_segment)
    claims = json_object(payload_segment)
    b64url_decode(signature_segment)  # must be present and well-formed
    return header, claims


def numeric_date(claims: Mapping[str, Any], claim: str) -> float | None:
    """A NumericDate claim as seconds since the epoch, or None when absent."""
    value = claims.get(claim)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"token claim invalid: {claim}")
    if isinstance(value, float) and not math.isfinite(value):
        raise AuthError(f"token claim invalid: {claim}")
    if not 0 <= value <= _MAX_NUMERIC_DATE:  # compared as given: float() of a huge int overflows
        raise AuthError(f"token claim invalid: {claim}")
    return float(value)


def optional_string(claims: Mapping[str, Any], claim: str) -> str | None:
    value = claims.get(claim)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_CLAIM_LENGTH:
        raise AuthError(f"token claim invalid: {claim}")
    return value


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    sub = optional_string(claims, "sub")
    if sub is None or not sub.strip():
        raise AuthError("token missing required claim: sub")

    raw_roles = claims.get("roles")
    if raw_roles is None:
        raise AuthError("token missing required claim: roles")
    if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
        raise AuthError("token claim invalid: roles")
    roles = frozenset(raw_roles) & KNOWN_ROLES

    name = optional_string(claims, "name") or sub
    agency = optional_string(claims, "agency")
    authority = optional_string(claims, "authority")
    if authority is None and _SYSTEM_ADMIN not in roles:
        raise AuthError("token missing required claim: authority")

    return Principal(sub=sub, name=name, roles=roles, agency=agency, authority=authority)
