#!/usr/bin/env python3
"""Quick start with nothing but Python 3.11+.

    python3 dev.py serve   # venv + install, migrate SQLite, load demo data, print tokens, serve
                           # the API with the worker beside it (--no-worker: the API alone)
    python3 dev.py test    # venv + install, run the test suite (add pytest arguments after it)

The virtual environment lives in .venv and is refreshed when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed")
    stamp_value = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / ".installed"
    if PYTHON.exists() and stamp.exists() and stamp.read_text() == stamp_value:
        return
    if not PYTHON.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing dependencies ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip", "setuptools"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"], check=True)
    stamp.write_text(stamp_value)


def run(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run([str(PYTHON), "-m", *args], cwd=ROOT, env=env).returncode


def _stop(process: subprocess.Popen[bytes], name: str, *, interrupted: bool) -> None:
    """Stop a child and wait for it. After Ctrl-C it has the signal from the terminal already
    (a second one would make uvicorn skip its graceful shutdown), so give it time first."""
    if process.poll() is not None:
        return
    if not interrupted and os.name == "nt":
        process.terminate()
    elif not interrupted:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop within 15 s: terminating it", flush=True)
        process.terminate()
        process.wait()


def spawn(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `python -m ARGS` from the venv in the background."""
    return subprocess.Popen([str(PYTHON), "-m", *args], cwd=ROOT, env=env)


def serve(extra: list[str]) -> int:
    env = dict(os.environ)
    # The service's container image runs as production; this local run is development.
    env.setdefault("ENVIRONMENT", "development")
    if not env.get("AUTH_JWT_SECRET") and not env.get("AUTH_JWT_PUBLIC_KEYS_FILE"):
        env["AUTH_JWT_SECRET"] = DEV_SECRET
        print("AUTH_JWT_SECRET not set: using the development secret (never in production)")
    with_worker = "--no-worker" not in extra
    extra = [arg for arg in extra if arg != "--no-worker"]
    if "--workers" not in extra:
        extra += ["--workers", "1"]  # one process to follow while developing (`dissent serve`: one per core)
    port = "8000"
    for i, arg in enumerate(extra):
        if arg == "--port" and i + 1 < len(extra):
            port = extra[i + 1]
    for step in (("app.cli", "migrate"), ("app.cli", "demo", "--port", port)):
        if run(*step, env=env) != 0:
            return 1
    worker = None
    if with_worker:
        print(
            "worker: running beside the API (deadline sweep, webhook delivery, audit sealing); "
            "start with --no-worker to run the API alone",
            flush=True,
        )
        worker = spawn("app.cli", "worker", env=env)
    else:
        print("worker: not started (--no-worker): no deadline events, webhooks or audit sealing", flush=True)
    api = spawn("app.cli", "serve", *extra, env=env)
    interrupted, warned = False, False
    try:
        while api.poll() is None:
            if worker is not None and worker.poll() is not None and not warned:
                print(f"worker: stopped (exit {worker.returncode}); the API goes on without it", flush=True)
                warned = True
            time.sleep(0.2)
    except KeyboardInterrupt:
        interrupted = True
        print("\nstopping the API and the worker ...", flush=True)
    finally:
        _stop(api, "the API", interrupted=interrupted)
        if worker is not None:  # the API stopped (Ctrl-C, a port in use...): the worker goes too
            _stop(worker, "the worker", interrupted=interrupted)
            print(f"worker: stopped (exit {worker.returncode})", flush=True)
    return api.returncode or 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    command, extra = sys.argv[1], sys.argv[2:]
    if command == "serve":
        return serve(extra)
    return run("pytest", *extra)


if __name__ == "__main__":
    sys.exit(main())
