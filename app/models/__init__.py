"""All table models, imported so `SQLModel.metadata` is complete for Alembic and tests."""

from app.models import appeal, authority, child, conference, dissent, platform, webhook

__all__ = ["appeal", "authority", "child", "conference", "dissent", "platform", "webhook"]
