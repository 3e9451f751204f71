"""An API worker stays small (issue 18 keeps "under 150 MB per worker"): the PDF libraries,
WeasyPrint with Pango and its fonts (about 27 MB) and pypdf (about 17 MB), are loaded only
when a request needs a PDF, not when the app is imported or started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from fastapi.testclient import TestClient
from app.config import Settings
from app.main import create_app
settings = Settings(
    environment="development",
    database_url="sqlite:///{db}",
    auth_jwt_secret="lean-worker-secret-0123456789abcdef",
)
with TestClient(create_app(settings)) as client:
    assert client.get("/health/live").status_code == 200
print(sorted(m for m in ("weasyprint", "pypdf") if m in sys.modules))
"""


def test_starting_the_app_loads_no_pdf_library(tmp_path):
    probe = PROBE.format(db=tmp_path / "lean.db")
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
