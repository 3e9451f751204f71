"""The server's request-head cap (app/server.py): httptools reads a head only up to the cap,
then the connection is answered 431 and closed; heads under the cap, and bodies of any
size the app allows, pass through untouched."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from app.server import BoundedHttpToolsProtocol, default_workers


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _app(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _connect(limit: int) -> tuple[Any, FakeTransport]:
    config = Config(app=_app, lifespan="off", access_log=False, log_config=None)
    config.load()
    protocol = BoundedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    protocol.max_head_bytes = limit
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_a_head_past_the_cap_is_answered_431_and_closed_before_it_is_all_read():
    async def run() -> None:
        protocol, transport = await _connect(16 * 1024)
        protocol.data_received(b"GET /x HTTP/1.1\r\nHost: a\r\nX-Padding: ")
        chunk = b"a" * 8192
        sent = 0
        while not transport.closed and sent < 32 * 1024 * 1024:
            protocol.data_received(chunk)
            sent += len(chunk)
        assert transport.closed
        assert sent <= 16 * 1024 + len(chunk)  # refused within one read of the cap
        assert transport.written.startswith(b"HTTP/1.1 431 ")

    asyncio.run(run())


def test_a_head_under_the_cap_and_a_large_body_are_served():
    async def run() -> None:
        protocol, transport = await _connect(16 * 1024)
        body = b"x" * (200 * 1024)  # bodies are the app's to limit, not the head cap's
        head = f"POST /x HTTP/1.1\r\nHost: a\r\nX-Token: {'t' * 9000}\r\nContent-Length: {len(body)}\r\n\r\n"
        data = head.encode() + body
        for start in range(0, len(data), 8192):
            protocol.data_received(data[start : start + 8192])
            await _settle()
        await _settle()
        assert not transport.closed
        assert transport.written.startswith(b"HTTP/1.1 200 ")

    asyncio.run(run())


def test_each_request_on_a_kept_alive_connection_gets_the_whole_cap():
    async def run() -> None:
        protocol, transport = await _connect(16 * 1024)
        head = f"GET /x HTTP/1.1\r\nHost: a\r\nX-Token: {'t' * 12000}\r\n\r\n".encode()
        for _ in range(3):  # 36 KB of heads in all, each under the cap
            protocol.data_received(head)
            await _settle()
        assert not transport.closed
        assert transport.written.count(b"HTTP/1.1 200 ") == 3

    asyncio.run(run())


@pytest.mark.parametrize(("env", "expected"), [("3", 3), ("", None), ("zero", None), ("0", None)])
def test_workers_default_to_the_cores_unless_web_concurrency_says(monkeypatch, env, expected):
    monkeypatch.setenv("WEB_CONCURRENCY", env)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1})
    assert default_workers() == (expected or 2)
