"""Test harness. The backend comes from TEST_DATABASE_URL: unset → SQLite files in a temp
directory; a PostgreSQL URL → a throwaway database created on that server for this run (and
dropped after). An unreachable PostgreSQL fails the run; it never silently skips.

Each test gets a clean, migrated database: SQLite copies a migrated template file;
PostgreSQL truncates every table."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.config import Settings
from app.db import sync_url
from app.main import create_app
from app.migrations_state import upgrade
from tests.support import Api

TEST_SECRET = "test-secret-0123456789abcdef0123456789"
PG_URL = os.environ.get("TEST_DATABASE_URL")


def _is_pg() -> bool:
    return bool(PG_URL) and make_url(PG_URL).get_backend_name() == "postgresql"


@pytest.fixture(scope="session")
def backend() -> str:
    return "postgresql" if _is_pg() else "sqlite"


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the session: a template file, or a throwaway PG database."""
    if _is_pg():
        server = make_url(PG_URL)
        name = f"dissent_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(sync_url(str(server.set(database="postgres"))), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                # A throwaway database: no need to wait for the disk on every test commit.
                conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        except sa.exc.OperationalError as exc:
            pytest.exit(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}", returncode=3)
        url = str(server.set(database=name).render_as_string(hide_password=False))
        upgrade(url)
        yield url
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "template.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url


def _scratch_dir(tmp_path: Path) -> Path:
    """Per-test SQLite files go to memory-backed /dev/shm when there is one (fsync is free
    there); the product's own pragmas stay as they are."""
    shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp inside it
    if shm.is_dir() and os.access(shm, os.W_OK):
        scratch = Path(tempfile.mkdtemp(prefix="dissent-test-", dir=shm))
        return scratch
    return tmp_path


@pytest.fixture
def database_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    if _is_pg():
        engine = sa.create_engine(sync_url(template_db))
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            # The audit tables refuse TRUNCATE (a trigger); the harness, as superuser, skips
            # triggers for this transaction only.
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        yield template_db
        return
    source = Path(make_url(template_db).database or "")
    scratch = _scratch_dir(tmp_path)
    target = scratch / "test.db"
    shutil.copyfile(source, target)
    try:
        yield f"sqlite:///{target}"
    finally:
        if scratch != tmp_path:
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        auth_jwt_secret=TEST_SECRET,
        test_clock_enabled=True,
        database_pool_size=5,
        webhook_allowed_hosts="127.0.0.1,localhost",  # the tests' own receivers
        webhook_backoff_base_seconds=0.05,
        webhook_backoff_max_seconds=0.5,
        webhook_timeout_seconds=5,
        # Suites call reports and send bad tokens far faster than any client would; the limits
        # have their own tests (tests/api/test_rate_limits.py).
        rate_limit_auth_failures_per_minute=0,
        rate_limit_costly_per_minute_per_caller=0,
        rate_limit_costly_per_minute_per_address=0,
    )


@pytest.fixture
def db(database_url: str) -> Iterator[sa.Connection]:
    """A plain connection for asserting what was stored."""
    engine = sa.create_engine(sync_url(database_url))
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client, TEST_SECRET)
