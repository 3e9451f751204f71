"""Alembic migrations (SPEC §11): a single head, no drift from the models, and a clean
downgrade/upgrade round trip, on the backend TEST_DATABASE_URL selects (SQLite by default)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table on the metadata
from app.db import configure_sqlite, is_sqlite_url, sync_url
from app.migrations_state import alembic_config, downgrade, head_revision, upgrade

PG_URL = os.environ.get("TEST_DATABASE_URL")


def _is_pg() -> bool:
    return bool(PG_URL) and make_url(PG_URL).get_backend_name() == "postgresql"


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: a temp SQLite file, or a throwaway PostgreSQL database."""
    if not _is_pg():
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    server = make_url(PG_URL)
    name = f"dissent_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(sync_url(str(server.set(database="postgres"))), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield str(server.set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
    if is_sqlite_url(url):
        configure_sqlite(engine)
    return engine


def _current_revision(url: str) -> str | None:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _drift(url: str) -> list[object]:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": is_sqlite_url(url)}
            )
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = _engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_there_is_exactly_one_head():
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, heads
    assert heads[0] == head_revision()
    # every revision descends from one base: a linear, reachable history
    assert len(script.get_bases()) == 1
    revisions = list(script.walk_revisions())
    assert revisions and revisions[-1].down_revision is None


def test_upgrade_head_matches_the_models(scratch_url):
    assert _current_revision(scratch_url) is None
    upgrade(scratch_url)
    assert _current_revision(scratch_url) == head_revision()
    expected = {t.name for t in SQLModel.metadata.sorted_tables}
    assert expected <= _tables(scratch_url)
    diff = _drift(scratch_url)
    assert diff == [], f"models and migrations differ: {diff}"


def test_drift_is_detected_when_the_schema_differs(scratch_url):
    """The drift check can fail: a table the models know but the database lacks is reported."""
    upgrade(scratch_url)
    engine = _engine(scratch_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE test_clock"))
    finally:
        engine.dispose()
    diff = _drift(scratch_url)
    assert any(d[0] == "add_table" and d[1].name == "test_clock" for d in diff), diff  # type: ignore[index]


def test_downgrade_base_then_upgrade_head_again(scratch_url):
    upgrade(scratch_url)
    downgrade(scratch_url, "base")
    assert _current_revision(scratch_url) is None
    left = _tables(scratch_url) - {"alembic_version"}
    assert left == set(), f"downgrade to base left tables behind: {sorted(left)}"
    upgrade(scratch_url)
    assert _current_revision(scratch_url) == head_revision()
    diff = _drift(scratch_url)
    assert diff == [], f"models and migrations differ after a round trip: {diff}"


def test_each_revision_downgrades_one_step_and_back(scratch_url):
    """Every migration's downgrade works on its own, not only all at once."""
    script = ScriptDirectory.from_config(alembic_config())
    order = [r.revision for r in reversed(list(script.walk_revisions()))]
    upgrade(scratch_url)
    for revision in reversed(order):
        downgrade(scratch_url, "-1")
        previous = script.get_revision(revision).down_revision
        assert _current_revision(scratch_url) == previous
    upgrade(scratch_url)
    assert _current_revision(scratch_url) == head_revision()
