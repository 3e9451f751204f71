"""All table models, imported so `SQLModel.metadata` is complete for Alembic and tests."""

from app.models import authority, child, conference, dissent, platform

__all__ = ["authority", "child", "conference", "dissent", "platform"]
