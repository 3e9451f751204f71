"""Settings, read once from the environment (pydantic-settings)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.audit_keys import KEY_ID_PATTERN, MIN_KEY_LENGTH, KeyRing

DEFAULT_DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 - refused in production
# Seals the audit chain outside production when no key is configured; refused in production.
DEFAULT_DEV_AUDIT_KEY = "dev-only-audit-mac-key-change-me-0123456789"
DEV_AUDIT_KEY_ID = "dev"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: str = Field(default="development", description="development | test | production")
    database_url: str = Field(default="sqlite:///./data/dissent.db")
    database_pool_size: int = Field(default=20, ge=1, le=200)

    auth_jwt_secret: str | None = None
    auth_jwt_public_keys_file: Path | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    # The longest a token may live: exp - iat (exp - now for a token without iat).
    auth_max_token_lifetime_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)

    # In-process rate limits (requests a minute; 0 turns one off): tokens that fail to verify,
    # per client address; reports and audit reads, per caller and per address.
    rate_limit_auth_failures_per_minute: int = Field(default=30, ge=0)
    rate_limit_costly_per_minute_per_caller: int = Field(default=30, ge=0)
    rate_limit_costly_per_minute_per_address: int = Field(default=120, ge=0)

    test_clock_enabled: bool = False
    log_level: str = "INFO"
    max_body_bytes: int = 64 * 1024
    # The request line and headers together; the server refuses more (`dissent serve` runs
    # uvicorn's h11 parser with this limit) and the app answers 431 to anything over it.
    max_header_bytes: int = Field(default=16 * 1024, ge=4096, le=1024 * 1024)
    # How long a process reuses an authority's settings row before reading it again. A
    # change made through this process applies at once; other processes see it within this.
    authority_cache_seconds: float = Field(default=2.0, ge=0, le=60)

    # Webhooks: https only, and never to loopback/private/link-local addresses, except for
    # hosts named here (comma-separated; e.g. "127.0.0.1,hooks.internal").
    webhook_allowed_hosts: str = ""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_backoff_base_seconds: float = Field(default=5.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    worker_interval_seconds: float = Field(default=2.0, gt=0)

    # Reports: counts from 1 to this minus one are withheld from the `reporting` role.
    report_suppression_threshold: int = Field(default=5, ge=1, le=100)

    # The audit chain's MAC key (HMAC-SHA256), which the database never holds: one key with
    # its id, or a JSON file {"current": "<id>", "keys": {"<id>": "<key>", ...}} for rotation.
    audit_mac_key: SecretStr | None = None
    audit_mac_key_id: str = Field(default="k1", pattern=KEY_ID_PATTERN)
    audit_mac_key_file: Path | None = None
    # PostgreSQL: the role the service runs as, granted least privilege by `dissent migrate`.
    database_runtime_role: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

    _audit_keys: KeyRing = PrivateAttr()

    @property
    def audit_keys(self) -> KeyRing:
        return self._audit_keys

    @property
    def webhook_allowed_host_set(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.webhook_allowed_hosts.split(",") if h.strip())

    @model_validator(mode="after")
    def _check_auth(self) -> Settings:
        if self.auth_jwt_secret and self.auth_jwt_public_keys_file:
            raise ValueError("set either AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEYS_FILE, not both")
        if self.environment == "production":
            if self.auth_jwt_secret == DEFAULT_DEV_SECRET:
                raise ValueError("the development JWT secret must not be used in production")
            if self.test_clock_enabled:
                raise ValueError("TEST_CLOCK_ENABLED must be off in production")
        if self.auth_jwt_secret is not None and len(self.auth_jwt_secret) < 32:
            raise ValueError("AUTH_JWT_SECRET must be at least 32 characters")
        self._audit_keys = self._load_audit_keys()
        return self

    def _load_audit_keys(self) -> KeyRing:
        if self.audit_mac_key is not None and self.audit_mac_key_file is not None:
            raise ValueError("set either AUDIT_MAC_KEY or AUDIT_MAC_KEY_FILE, not both")
        if self.audit_mac_key_file is not None:
            ring = _read_key_file(self.audit_mac_key_file)
        elif self.audit_mac_key is not None:
            ring = KeyRing(
                self.audit_mac_key_id, {self.audit_mac_key_id: self.audit_mac_key.get_secret_value().encode()}
            )
        elif self.environment == "production":
            raise ValueError("AUDIT_MAC_KEY or AUDIT_MAC_KEY_FILE must be set in production")
        else:
            ring = KeyRing(DEV_AUDIT_KEY_ID, {DEV_AUDIT_KEY_ID: DEFAULT_DEV_AUDIT_KEY.encode()})
        for key in ring.keys.values():
            if len(key) < MIN_KEY_LENGTH:
                raise ValueError(f"audit MAC keys must be at least {MIN_KEY_LENGTH} characters")
            if self.environment == "production" and key == DEFAULT_DEV_AUDIT_KEY.encode():
                raise ValueError("the development audit MAC key must not be used in production")
        return ring


def _read_key_file(path: Path) -> KeyRing:
    """{"current": "<id>", "keys": {"<id>": "<key>", ...}}: every key verifies, the current
    one seals."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        keys = {str(kid): str(key).encode() for kid, key in data["keys"].items()}
        current = str(data["current"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"AUDIT_MAC_KEY_FILE {path} is not a readable key file: {type(exc).__name__}"
        ) from None
    if not keys or any(not re.fullmatch(KEY_ID_PATTERN, kid) for kid in keys):
        raise ValueError("AUDIT_MAC_KEY_FILE: key ids must match " + KEY_ID_PATTERN)
    if current not in keys:
        raise ValueError("AUDIT_MAC_KEY_FILE: `current` must name one of its keys")
    return KeyRing(current, keys)


@lru_cache
def get_settings() -> Settings:
    return Settings()
