"""Alembic configuration shared by the CLI, readiness check and tests."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from app.audit_keys import KeyRing

ROOT = Path(__file__).resolve().parent.parent


def migrations_dir() -> Path:
    """The checkout's migrations/, or (installed as a package, as in the container image)
    MIGRATIONS_DIR or ./migrations."""
    for candidate in (os.environ.get("MIGRATIONS_DIR"), ROOT / "migrations", Path.cwd() / "migrations"):
        if candidate and (Path(candidate) / "env.py").exists():
            return Path(candidate)
    raise RuntimeError("cannot find the migrations directory; set MIGRATIONS_DIR")


def alembic_config(database_url: str | None = None, audit_keys: KeyRing | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    if database_url is not None:
        config.attributes["database_url"] = database_url
    if audit_keys is not None:
        # Revision 0008 seals the existing chain heads with the current audit key.
        config.attributes["audit_keys"] = audit_keys
    return config


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(database_url: str, revision: str = "head", *, audit_keys: KeyRing | None = None) -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url, audit_keys), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)
