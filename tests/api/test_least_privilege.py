"""PostgreSQL least privilege (issue 16, item 2): the service runs as a role that owns
nothing and has no TRUNCATE or TRIGGER privilege, granted by `dissent migrate --runtime-role`;
as that role the audit guard cannot be switched off or emptied, and the service works."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from app import worker
from app.config import Settings, get_settings
from app.db import sync_url
from app.db_roles import RoleError, grant_runtime, runtime_grants
from app.main import create_app
from tests.conftest import TEST_SECRET
from tests.support import Api, create_authority, create_child, expect


def test_runtime_grants_name_no_truncate_trigger_or_ownership():
    statements = runtime_grants("dissent_app")
    text = "\n".join(statements)
    assert "TRUNCATE" not in text and "TRIGGER" not in text and "OWNER" not in text
    assert 'REVOKE DELETE ON audit_entry FROM "dissent_app"' in statements
    with pytest.raises(RoleError):
        runtime_grants('x"; DROP TABLE child; --')


def test_a_runtime_role_is_refused_on_sqlite(tmp_path):
    with pytest.raises(RoleError, match="PostgreSQL only"):
        grant_runtime(f"sqlite:///{tmp_path / 'x.db'}", "dissent_app")


@pytest.fixture
def runtime_url(database_url: str, backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh login role, granted by `dissent migrate --runtime-role` (as the owner), and
    the database URL that connects as it."""
    if backend != "postgresql":
        pytest.skip("roles are a PostgreSQL feature")
    role = f"dissent_rt_{uuid.uuid4().hex[:10]}"
    owner = sa.create_engine(sync_url(database_url), isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        from app.cli import app as cli

        granted = CliRunner().invoke(cli, ["migrate", "--runtime-role", role])
        assert granted.exit_code == 0, granted.output
        assert f"granted runtime privileges to {role}" in granted.output
        yield make_url(database_url).set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        get_settings.cache_clear()
        with owner.connect() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        owner.dispose()


def test_the_runtime_role_cannot_switch_off_or_empty_the_audit_log(runtime_url):
    engine = sa.create_engine(sync_url(runtime_url))
    refused = [
        ("TRUNCATE audit_entry", "permission denied"),
        ("TRUNCATE audit_chain_head, audit_checkpoint", "permission denied"),
        ("ALTER TABLE audit_entry DISABLE TRIGGER USER", "must be owner"),
        ("ALTER TABLE audit_chain_head DISABLE TRIGGER audit_chain_head_forward_only", "must be owner"),
        ("DROP TRIGGER audit_entry_append_only ON audit_entry", "must be owner"),
        ("SET session_replication_role = replica", "permission denied"),
        ("DELETE FROM audit_entry", "permission denied"),
        ("DELETE FROM audit_chain_head", "permission denied"),
        ("UPDATE alembic_version SET version_num = '0001'", "permission denied"),
        (
            "CREATE TRIGGER t BEFORE INSERT ON audit_entry EXECUTE FUNCTION audit_no_truncate()",
            "permission denied",
        ),
    ]
    try:
        with engine.connect() as conn:
            for sql, message in refused:
                with pytest.raises(sa.exc.DBAPIError) as error:
                    conn.execute(sa.text(sql))
                assert message in str(error.value).lower(), sql
                conn.rollback()
    finally:
        engine.dispose()


def test_the_service_works_as_the_runtime_role(runtime_url):
    settings = Settings(
        environment="test",
        database_url=runtime_url,
        auth_jwt_secret=TEST_SECRET,
        test_clock_enabled=True,
        database_pool_size=3,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client, TEST_SECRET)
        expect(client.get("/health/ready"), 200)
        authority = create_authority(api, "england-cp-conference")
        child = create_child(api, authority)
        record = api.as_("rs", "record_system", authority=authority)
        expect(record.get(f"/v1/children/{child}"), 200)
        expect(record.get("/v1/children"), 200)
        result = asyncio.run(worker.run(settings, once=True))
        assert result.sealed >= 1 and result.checkpointed >= 1
        admin = api.as_("admin-1", "admin", authority=authority)
        assert expect(admin.get("/v1/audit/verify"), 200)["ok"] is True
        assert expect(admin.get("/v1/audit?limit=5"), 200)["items"]
        checkpoint = expect(admin.get("/v1/audit/checkpoint"), 200)
        kept = f"checkpoint_seq={checkpoint['seq']}&checkpoint_hash={checkpoint['hash']}"
        assert expect(admin.get(f"/v1/audit/verify?{kept}"), 200)["ok"] is True
        api.set_clock("2030-01-01T00:00:00Z")  # the test clock's table too


def test_migrate_refuses_a_role_that_owns_the_tables(database_url, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("roles are a PostgreSQL feature")
    owner = make_url(database_url).username or "postgres"
    with pytest.raises(RoleError, match=r"superuser|owns"):
        grant_runtime(database_url, owner)
