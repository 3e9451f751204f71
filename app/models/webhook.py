"""Webhook subscriptions (each follows its authority's event feed with its own cursor) and
the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from sqlmodel import Field, SQLModel

from app.models.base import fk, id_field, json_field, utc, version_column
from app.text import SafeText

# An event type (as stored on each delivery) or "*".
EventType = Annotated[SafeText, PField(min_length=1, max_length=80)]

_version = version_column()


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"
    __table_args__ = (
        sa.Index("ix_webhook_subscription_active_next_attempt_at", "active", "next_attempt_at"),
    )

    id: uuid.UUID = id_field()
    authority_id: uuid.UUID = fk("authority.id")
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=200)
    event_types: list[str] = json_field()
    secret: str = Field(max_length=200)
    previous_secret: str | None = Field(default=None, max_length=200)
    previous_secret_expires_at: datetime | None = utc()
    active: bool = True
    # The last event (by seq) delivered; deliveries go strictly in order after it.
    cursor_seq: int = 0
    consecutive_failures: int = 0
    next_attempt_at: datetime | None = utc()
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = utc()
    version: int = Field(default=1, sa_column=_version)
    created_at: datetime = utc(nullable=False, default_now=True)
    updated_at: datetime = utc(nullable=False, default_now=True)

    __mapper_args__ = {"version_id_col": _version}


class WebhookDelivery(SQLModel, table=True):
    """One delivery attempt of one event to one subscription."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.Index("ix_webhook_delivery_subscription_id_id", "subscription_id", "id"),)

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    subscription_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("webhook_subscription.id", ondelete="CASCADE"), nullable=False
        )
    )
    event_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False))
    event_seq: int
    event_type: str = Field(max_length=80)
    attempt: int
    succeeded: bool
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    attempted_at: datetime = utc(nullable=False)
    duration_ms: int


# ---- API schemas ---------------------------------------------------------------------------


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: SafeText = PField(min_length=8, max_length=2000)
    event_types: list[EventType] = PField(
        min_length=1, max_length=50, description='Event types to deliver, or ["*"] for all'
    )
    secret: SafeText = PField(
        min_length=24, max_length=200, description="Shared secret for the HMAC signature"
    )
    description: SafeText | None = PField(default=None, max_length=200)


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: SafeText | None = PField(default=None, min_length=8, max_length=2000)
    event_types: list[EventType] | None = PField(default=None, min_length=1, max_length=50)
    secret: SafeText | None = PField(
        default=None,
        min_length=24,
        max_length=200,
        description="A new secret; the old one keeps signing too for 24 hours so receivers can rotate",
    )
    active: bool | None = None
    description: SafeText | None = PField(default=None, max_length=200)


class WebhookPublic(BaseModel):
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    cursor_seq: int
    consecutive_failures: int
    next_attempt_at: datetime | None
    secret_rotation_ends_at: datetime | None
    version: int
    created_at: datetime


class WebhookDeliveryPublic(BaseModel):
    id: int
    event_id: uuid.UUID
    event_seq: int
    event_type: str
    attempt: int
    succeeded: bool
    status_code: int | None
    error: str | None
    attempted_at: datetime
    duration_ms: int
