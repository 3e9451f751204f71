"""All table models, imported so `SQLModel.metadata` is complete for Alembic and tests."""

from app.models import (
    appeal,
    attachment,
    authority,
    blob,
    child,
    conference,
    dissent,
    document,
    platform,
    procedure,
    webhook,
)

__all__ = [
    "appeal",
    "attachment",
    "authority",
    "blob",
    "child",
    "conference",
    "dissent",
    "document",
    "platform",
    "procedure",
    "webhook",
]
