"""Database failures answer with a problem, never a 500: a lost race is a 409 to retry, an
unreachable database a 503 with Retry-After."""

from __future__ import annotations

import asyncio
import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from app.config import Settings
from app.main import create_app
from app.problems import _database_error
from tests.conftest import TEST_SECRET
from tests.support import Api, expect


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_database_is_503_database_unavailable(settings: Settings) -> None:
    down = settings.model_copy(
        update={"database_url": f"postgresql://postgres@127.0.0.1:{_closed_port()}/nowhere"}
    )
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        response = Api(client, TEST_SECRET).as_("rs", "record_system", authority="la-x").get("/v1/children")
    body = expect(response, 503, "database_unavailable")
    assert response.headers["retry-after"] == "1"
    assert "Traceback" not in response.text and "psycopg" not in body["detail"]


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("driver error")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "status", "code"),
    [
        ("40001", 409, "conflict"),  # serialization failure
        ("40P01", 409, "conflict"),  # deadlock detected
        ("55P03", 409, "conflict"),  # lock not available
        ("08006", 503, "database_unavailable"),  # connection failure
        ("53300", 503, "database_unavailable"),  # too many connections
    ],
)
def test_database_errors_map_to_retryable_problems(sqlstate: str, status: int, code: str) -> None:
    exc = OperationalError("SELECT 1", {}, _Orig(sqlstate))
    response = asyncio.run(_database_error(None, exc))  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.media_type == "application/problem+json"
    assert code.encode() in response.body
