#!/usr/bin/env python3
"""Quick start with nothing but Python 3.11+.

    python3 dev.py serve   # venv + install, migrate SQLite, load demo data, print tokens, serve
    python3 dev.py test    # venv + install, run the test suite (add pytest arguments after it)

The virtual environment lives in .venv and is refreshed when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
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


def serve(extra: list[str]) -> int:
    env = dict(os.environ)
    # The service's container image runs as production; this local run is development.
    env.setdefault("ENVIRONMENT", "development")
    if not env.get("AUTH_JWT_SECRET") and not env.get("AUTH_JWT_PUBLIC_KEYS_FILE"):
        env["AUTH_JWT_SECRET"] = DEV_SECRET
        print("AUTH_JWT_SECRET not set: using the development secret (never in production)")
    port = "8000"
    for i, arg in enumerate(extra):
        if arg == "--port" and i + 1 < len(extra):
            port = extra[i + 1]
    for step in (("app.cli", "migrate"), ("app.cli", "demo", "--port", port)):
        if run(*step, env=env) != 0:
            return 1
    return run("app.cli", "serve", *extra, env=env)


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
