from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from app.db import Database
from app.migrations_state import head_revision
from app.observability import REGISTRY

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"]


@router.get("/health/live", response_model=Liveness)
async def live() -> Liveness:
    """The process is up."""
    return Liveness(status="ok")


@router.get("/health/ready", responses={503: {"description": "Not ready"}})
async def ready(request: Request) -> JSONResponse:
    """The database answers and its schema is at the migrations' head."""
    db: Database = request.app.state.db
    checks: dict[str, str] = {}
    try:
        async with db.engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        checks["database"] = "ok"
        checks["migrations"] = (
            "ok" if current == head_revision() else f"at {current}, head is {head_revision()}"
        )
    except Exception:
        checks.setdefault("database", "unreachable")
        checks.setdefault("migrations", "unknown")
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
