"""Builds the application: routers, error handlers, middleware, stable operation ids."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute

from app import __version__
from app.config import Settings, get_settings
from app.content_type import require_json_body
from app.context import AuthorityCache
from app.db import Database
from app.deps import limit_costly
from app.idempotency import IdempotentReplay, idempotency, replay_response
from app.middleware import BodyLimit, RequestMiddleware
from app.models.attachment import MAX_ATTACHMENT_BYTES, MAX_UPLOAD_BODY_BYTES
from app.observability import configure_logging
from app.problems import install_error_handlers
from app.profiles import all_profiles
from app.ratelimit import RateLimits
from app.routers import (
    appeals,
    attachments,
    audit,
    authorities,
    bundles,
    calendar,
    children,
    conferences,
    dissents,
    documents,
    guidance,
    health,
    integration,
    procedures,
    profiles,
    reports,
    test_clock,
)
from app.routers.common import PROBLEMS, problem_media_type
from app.routers.contract import declare_headers
from app.routers.docs import install_docs
from app.security import TokenVerifier

DESCRIPTION = """
Runs the formal challenges that follow a child protection conference: a professional's
**dissent** from the decision and a family's **appeal** against registration, with each local
procedure's rules, working-day deadlines and hand-offs enforced, recorded and reported.

Authenticate with a bearer JWT. Errors are RFC 9457 problem details with a stable `code`.
Every POST accepts an `Idempotency-Key`; mutable resources carry a `version` returned as
`ETag`, and the operations that change them honour `If-Match` (each is declared on the
operations that honour it). Lists answer `{items, next_cursor}`: pass `next_cursor` back as
`cursor`. Reports also answer `text/csv`, documents `application/pdf` and `text/html`, and
guidance `text/html`, by `Accept`.
"""


# The attachment upload's own body limit: the file's 10 MiB and the multipart framing.
UPLOAD_LIMIT = BodyLimit(
    method="POST",
    path=re.compile(r"/v1/conferences/[^/]+/attachments"),
    max_bytes=MAX_UPLOAD_BODY_BYTES,
    code="attachment_too_large",
    detail=f"an attachment may be at most {MAX_ATTACHMENT_BYTES} bytes (10 MiB)",
)


def operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    all_profiles()  # validate the procedure definitions at start-up, not on first use

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings)
        # The document renderer (WeasyPrint, Pango, fonts: about 27 MB) is not loaded here:
        # the worker renders issued documents' PDFs, and an API process loads it only when a
        # request asks it for a PDF (a review bundle, or a document not rendered yet).
        try:
            yield
        finally:
            await app.state.db.dispose()

    app = FastAPI(
        title="Conference Dissent & Appeals Service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        responses=PROBLEMS,
        # The docs pages are served from the package's own assets (app/docs.py), not a CDN.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier.from_settings(settings)
    app.state.authorities = AuthorityCache(settings.authority_cache_seconds)
    app.state.rate_limits = RateLimits(settings)
    install_error_handlers(app)

    async def _replay(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IdempotentReplay)
        return replay_response(exc.record)

    app.add_exception_handler(IdempotentReplay, _replay)
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        route_limits=[UPLOAD_LIMIT],
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_media_type(declare_headers(FastAPI.openapi(app)))
        return app.openapi_schema

    # FastAPI's documented way to customise the schema is to replace this method.
    app.openapi = openapi  # type: ignore[method-assign]
    install_docs(app)
    app.include_router(health.router)
    app.include_router(guidance.router)  # public: no token needed
    app.include_router(procedures.public_router)  # public: the authority's guidance
    guarded = [Depends(require_json_body), Depends(idempotency)]
    for router in (reports.router, audit.router):  # the costly reads
        app.include_router(router, dependencies=[*guarded, Depends(limit_costly)])
    for router in (
        authorities.router,
        procedures.router,
        profiles.router,
        children.router,
        conferences.router,
        dissents.router,
        appeals.router,
        appeals.complaints_router,
        documents.router,
        attachments.router,
        bundles.router,
        calendar.router,
        integration.events_router,
        integration.webhooks_router,
        test_clock.router,
    ):
        app.include_router(router, dependencies=guarded)
    return app


def app_factory() -> FastAPI:
    """Entry point for uvicorn (`--factory`)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
