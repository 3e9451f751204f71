"""Least privilege on PostgreSQL: the runtime role the service connects as.

The migration role owns the schema (it runs `dissent migrate`); the runtime role gets only
what the service does at run time: read and write the ordinary tables, append to and seal the
audit log (SELECT, INSERT, UPDATE on the audit tables; their triggers allow only the seal and
forward moves), read `alembic_version` for the readiness check, use the id sequences. It gets
no TRUNCATE, no TRIGGER, no REFERENCES and owns nothing, so it can neither switch the audit
triggers off nor empty the audit tables.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.db import sync_url

# Tables the runtime role may not DELETE from (or, for alembic_version, write at all).
APPEND_ONLY = ("audit_entry", "audit_chain_head", "audit_checkpoint")
READ_ONLY = ("alembic_version",)
_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class RoleError(RuntimeError):
    pass


def runtime_grants(role: str) -> list[str]:
    """The statements that give `role` exactly the runtime privileges (idempotent: every
    privilege on the schema's tables is revoked first, so a re-run after a migration that
    added tables converges)."""
    if not _ROLE.fullmatch(role):
        raise RoleError("the runtime role must be a plain SQL identifier (letters, digits, _)")
    r = f'"{role}"'
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
    ]
    statements += [f"REVOKE DELETE ON {t} FROM {r}" for t in APPEND_ONLY]
    statements += [f"REVOKE INSERT, UPDATE, DELETE ON {t} FROM {r}" for t in READ_ONLY]
    return statements


def grant_runtime(database_url: str, role: str) -> None:
    """Grant the runtime privileges to an existing role, as the schema's owner. Refuses a
    role that owns tables here or is a superuser: it would keep every power this removes."""
    url = sync_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise RoleError("a runtime role applies to PostgreSQL only (SQLite has no roles)")
    statements = runtime_grants(role)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            found = conn.execute(
                sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).first()
            if found is None:
                raise RoleError(f"role {role} does not exist: create it first (see the README)")
            if found.rolsuper:
                raise RoleError(f"role {role} is a superuser; the runtime role must not be")
            owned = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                    "AND pg_has_role(:r, tableowner, 'MEMBER')"
                ),
                {"r": role},
            ).scalar_one()
            if owned:
                raise RoleError(
                    f"role {role} owns {owned} tables (or is in their owner's role); it must own none"
                )
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()
