"""Unexpected errors and database refusals (issue 16, items 1 and 11): a 500 carries the
request's X-Request-ID and is logged once, with the request id and without any request
value; a value the database refuses (PostgreSQL's DataError) is a 422, never a 500, whether
it surfaces in a statement or at commit; statement parameters never reach an error's text."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

from app import observability
from app.config import Settings
from app.db import Database
from app.deps import SessionDep
from app.main import create_app
from app.models.platform import IdempotencyRecord
from app.observability import JsonFormatter
from tests.support import expect

SECRET_VALUE = "Ann Example 2019-05-14"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every line the service logs, formatted as in production (at the time it is logged)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def _app_with(settings: Settings, route: object) -> FastAPI:
    app = create_app(settings)
    app.add_api_route("/v1/boom", route, methods=["POST"])  # type: ignore[arg-type]
    return app


def test_an_unexpected_error_is_a_traceable_500_logged_once_without_request_values(settings, log_lines):
    async def boom(session: SessionDep) -> None:
        raise RuntimeError(f"cannot handle {SECRET_VALUE}")

    # raise_server_exceptions=True: the exception must not escape the app (the server would
    # log its traceback a second time, without the request id).
    with TestClient(_app_with(settings, boom), raise_server_exceptions=True) as client:
        r = client.post("/v1/boom", json={"given_name": SECRET_VALUE}, headers={"X-Request-ID": "req-500-a"})
    body = expect(r, 500, "internal_error")
    assert r.headers["x-request-id"] == "req-500-a"
    assert SECRET_VALUE not in r.text and "Traceback" not in r.text
    assert body["title"] == "Internal Server Error"

    logged = _lines(log_lines)
    with_traceback = [line for line in logged if "exception" in line]
    assert len(with_traceback) == 1, logged
    entry = with_traceback[0]
    assert entry["request_id"] == "req-500-a"
    assert "RuntimeError" in str(entry["exception"]) and "boom" in str(entry["exception"])
    assert SECRET_VALUE not in log_lines.getvalue()
    access = [line for line in logged if line["logger"] == "app.access"]
    assert [(a["status"], a["request_id"]) for a in access] == [(500, "req-500-a")]


def test_a_500_without_a_request_id_gets_one_that_the_log_line_shares(settings, log_lines):
    async def boom() -> None:
        raise KeyError(SECRET_VALUE)

    with TestClient(_app_with(settings, boom), raise_server_exceptions=True) as client:
        r = client.post("/v1/boom", json={})
    expect(r, 500, "internal_error")
    request_id = r.headers["x-request-id"]
    assert request_id
    errors = [line for line in _lines(log_lines) if line["level"] == "error"]
    assert [e["request_id"] for e in errors] == [request_id]
    assert SECRET_VALUE not in log_lines.getvalue()


def test_the_log_keeps_an_exceptions_types_and_frames_but_not_its_messages():
    def inner() -> None:
        raise ValueError(SECRET_VALUE)

    try:
        try:
            inner()
        except ValueError as exc:
            raise RuntimeError(f"wrapped {SECRET_VALUE}") from exc
    except RuntimeError as exc:
        text = observability.redacted_traceback(exc)
    assert SECRET_VALUE not in text
    assert "builtins.RuntimeError" in text and "builtins.ValueError" in text
    assert "in inner" in text


def test_a_value_the_database_refuses_is_422_not_500(settings, backend, log_lines):
    async def refuse(session: SessionDep) -> None:
        if backend == "postgresql":  # a real refusal: PostgreSQL's class 22
            await session.exec(sa.text("SELECT CAST(:v AS integer)").bindparams(v=SECRET_VALUE))  # type: ignore[call-overload]
        raise DataError("SELECT CAST(? AS integer)", None, Exception("invalid input syntax"))

    with TestClient(_app_with(settings, refuse), raise_server_exceptions=True) as client:
        r = client.post("/v1/boom", json={})
    problem = expect(r, 422, "validation_error")
    assert "cannot be stored" in problem["detail"]
    assert r.headers["x-request-id"]
    assert SECRET_VALUE not in log_lines.getvalue()


def test_a_value_the_database_refuses_at_commit_is_422(settings, backend, log_lines):
    """A row that is only written at commit (nothing flushed it before) and that the database
    refuses: the middleware's commit answers 422, not 409 or 500. SQLite stores a NUL, so
    there the request simply succeeds."""

    async def store(session: SessionDep) -> dict[str, str]:
        session.add(
            IdempotencyRecord(
                scope=f"{SECRET_VALUE}\x00",
                key="k",
                method="POST",
                path="/v1/boom",
                request_hash="h",
                created_at=datetime.now(UTC),
            )
        )
        return {"ok": "yes"}

    with TestClient(_app_with(settings, store), raise_server_exceptions=True) as client:
        r = client.post("/v1/boom", json={})
    if backend == "postgresql":
        expect(r, 422, "validation_error")
        assert r.headers["x-request-id"]
    else:
        expect(r, 200)
    assert SECRET_VALUE not in log_lines.getvalue()


def test_statement_parameters_are_hidden_from_error_messages(settings, backend):
    db = Database(settings)
    assert db.engine.sync_engine.hide_parameters is True

    async def fail() -> str:
        try:
            async with db.session() as session:
                # PostgreSQL's own message for a NUL names no value (unlike a failed cast's).
                sql = "SELECT :v" if backend == "postgresql" else "SELECT * FROM no_such_table WHERE x = :v"
                await session.exec(sa.text(sql).bindparams(v=f"{SECRET_VALUE}\x00"))  # type: ignore[call-overload]
        except sa.exc.DBAPIError as exc:
            return str(exc)
        finally:
            await db.dispose()
        return ""

    message = asyncio.run(fail())
    assert message and SECRET_VALUE not in message
    assert "hidden" in message


def test_the_migration_engine_hides_parameters_too():
    from pathlib import Path

    env = (Path(__file__).resolve().parents[2] / "migrations" / "env.py").read_text()
    assert "hide_parameters=True" in env
