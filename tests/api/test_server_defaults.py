"""Defaults that do not trust the operator (issue 16, item 12): the container image runs as
production (dev.py sets development for local runs); a body that is not JSON is 415; and the
server caps the request line and headers (`dissent serve`, checked against a real server
process: a huge header is refused, an ordinary request still served)."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_authz_matrix import ENGLAND, build_world
from tests.real_server import ROOT, real_server
from tests.support import expect

# ---- production by default ------------------------------------------------------------------


def test_the_container_image_runs_as_production():
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile.rsplit("\nFROM ", 1)[1]  # the last stage is the image that runs
    env_block = runtime.split("\nENV ", 1)[1].split("\nRUN ", 1)[0]
    assert "ENVIRONMENT=production" in env_block


def test_dev_py_serve_runs_as_development(monkeypatch):
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    seen: list[tuple[tuple[str, ...], dict[str, str]]] = []

    def run(*args: str, env: dict[str, str] | None = None) -> int:
        seen.append((args, dict(env or {})))
        return 0

    def spawn(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        # Record what would start, and start something that ends at once instead: the test
        # must never leave a real API or worker running.
        seen.append((args, dict(env)))
        return subprocess.Popen([sys.executable, "-c", "pass"])

    monkeypatch.setattr(dev, "run", run)
    monkeypatch.setattr(dev, "spawn", spawn)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    assert dev.serve([]) == 0
    started = [args[:2] for args, _ in seen]
    assert ("app.cli", "serve") in started and ("app.cli", "worker") in started
    assert all(env.get("ENVIRONMENT") == "development" for _, env in seen)


# ---- 415 for a body that is not JSON ----------------------------------------------------------


def _child_json() -> bytes:
    return (
        b'{"external_ref": "R-1", "given_name": "Riley", "family_name": "Ex", "date_of_birth": "2019-05-14"}'
    )


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"],
)
def test_a_body_that_is_not_json_is_415(api, db, content_type):
    world = build_world(api, ENGLAND, "bare")
    record = api.as_("record-system", "record_system", authority=world.authority)
    r = record.request("POST", "/v1/children", content=_child_json(), headers={"Content-Type": content_type})
    expect(r, 415, "unsupported_media_type")
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]
)
def test_json_is_accepted_with_or_without_parameters(api, content_type):
    world = build_world(api, ENGLAND, "bare")
    record = api.as_("record-system", "record_system", authority=world.authority)
    r = record.request("POST", "/v1/children", content=_child_json(), headers={"Content-Type": content_type})
    expect(r, 201)


def test_a_command_without_a_body_is_not_refused_for_its_content_type(api):
    world = build_world(api, ENGLAND, "scheduled")
    assert world.meeting is not None
    r = world.meeting.chair.request(
        "POST", f"{world.meeting.url}/start", headers={"Content-Type": "text/plain"}
    )
    expect(r, 200)


# ---- request head size, on a real server ------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real server with `dissent serve`'s defaults (one worker per core) and a 16 KiB cap."""
    database = f"sqlite:///{tmp_path / 'server.db'}"
    with real_server(database, tmp_path / "server.log", MAX_HEADER_BYTES="16384") as url:
        yield url


def _raw_status(url: str, header_bytes: int) -> int | None:
    """Send GET /health/live with one header of about `header_bytes`; the status answered, or
    None when the server closed the connection without answering."""
    host, port = url.removeprefix("http://").split(":")
    request = (
        f"GET /health/live HTTP/1.1\r\nHost: {host}\r\nX-Padding: {'a' * header_bytes}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = sock.recv(65536)
        except ConnectionResetError:
            return None
    if not answer:
        return None
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("size", [20 * 1024, 1024 * 1024, 32 * 1024 * 1024], ids=["20KiB", "1MiB", "32MiB"])
def test_a_huge_header_is_refused_by_the_server(server, size):
    status = _raw_status(server, size)
    assert status is None or status in (400, 431), status
    assert httpx.get(f"{server}/health/live", timeout=5).status_code == 200  # still serving


def test_an_ordinary_request_with_a_long_token_is_served(server):
    assert _raw_status(server, 9000) == 200
