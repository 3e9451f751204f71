"""`dissent serve` as a real process, for the tests that need a real HTTP server (the
request-head cap, the generated client): started on a free port in its own process group,
ready once `/health/live` answers, stopped with SIGTERM to the whole group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60.0  # only reached when it fails; a loaded CI machine starts slowly


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def real_server(
    database_url: str, log_path: Path, *, workers: int | None = None, **env: str
) -> Iterator[str]:
    """Yield the base URL of a running server on `database_url` (already migrated); `workers`
    None leaves `dissent serve` its default; `env` adds settings (e.g. TEST_CLOCK_ENABLED)."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "DATABASE_"))},
        "DATABASE_URL": database_url,
        "AUTH_JWT_SECRET": TEST_SECRET,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, log_path.read_text()
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
