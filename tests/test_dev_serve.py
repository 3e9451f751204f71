"""The quick start (issue 15): `python3 dev.py serve` runs the worker beside the API, says so,
and stops both on Ctrl-C; the demo data is created once and its meetings and people are
printed on every run. The process test runs dev.py as a newcomer would, on the test database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from app.demo import load_demo
from app.models.authority import Authority
from app.models.conference import Conference
from tests.conftest import TEST_SECRET
from tests.real_server import free_port

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 180.0  # migrate + demo + start, on a busy two-core machine


def test_a_second_demo_run_prints_the_same_meetings_and_people(settings, db):
    _, first = asyncio.run(load_demo(settings))
    _, second = asyncio.run(load_demo(settings))
    assert [e.conference_id for e in first] == [e.conference_id for e in second]
    assert all(e.conference_id for e in second)
    assert [e.people for e in first] == [e.people for e in second]
    people = {(p.person_id, p.role) for p in second[0].people}
    assert ("chair-1", "chair") in people
    assert {"prof-1", "prof-2", "parent-1"} <= {p for p, _ in people}
    # Created once: one authority per profile and one meeting each, however often it runs.
    for model in (Authority, Conference):
        assert db.execute(sa.select(sa.func.count()).select_from(model.__table__)).scalar() == len(second)


def _default_sigint() -> None:  # as in a terminal, whatever the test runner does with SIGINT
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_dev_serve_runs_the_worker_beside_the_api_and_ctrl_c_stops_both(database_url, tmp_path):
    port = free_port()
    log = tmp_path / "dev-serve.log"
    env = {**os.environ, "DATABASE_URL": database_url, "AUTH_JWT_SECRET": TEST_SECRET}
    env.pop("TEST_DATABASE_URL", None)
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own dev.py
            [sys.executable, "dev.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, as a terminal's foreground job
            preexec_fn=_default_sigint,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            # The worker's first pass seals the demo's audit entries: proof it runs.
            if '"worker pass"' in text and "Uvicorn running" in text:
                break
            assert process.poll() is None, text
            time.sleep(0.5)
        else:
            raise AssertionError(f"no API and worker within {STARTUP_SECONDS} s:\n{log.read_text()}")
        assert "worker: running beside the API" in text and "--no-worker" in text
        assert re.search(r"demo conference: [0-9a-f-]{36}", text)
        assert "people at the meeting:" in text
        assert httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=10).status_code == 200
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        assert process.wait(timeout=60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log.read_text()
    assert "worker: stopped (exit 0)" in text, text
    assert "Application shutdown complete" in text, text
    # Nothing of the group is left running.
    try:
        os.killpg(process.pid, 0)
        raise AssertionError("a process of dev.py serve is still running")
    except ProcessLookupError:
        pass
