"""Every error rendered as an RFC 9457 problem (`application/problem+json`) with a stable
`code`: the domain errors of `app.errors`, FastAPI's and Starlette's, and the database's."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.errors import PROBLEM_MEDIA_TYPE, DomainError, problem_type
from app.text import CONTROL_CHARACTERS_MESSAGE, NO_CONTROL_CHARACTERS

log = logging.getLogger("app.errors")


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _message(err: dict[str, Any]) -> str:
    if (err.get("ctx") or {}).get("pattern") == NO_CONTROL_CHARACTERS:
        return CONTROL_CHARACTERS_MESSAGE  # not the pattern's regular expression
    return str(err.get("msg", ""))


def _clean_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the submitted value back: it may hold a child's name.
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": _message(err), "type": err.get("type", "")}
        for err in exc.errors()
    ]


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if exc.keep_changes:
        request.state.keep_changes = True
    return problem_response(exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _clean_validation_errors(exc)
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(400, "malformed_json", "the request body is not valid JSON")
    return problem_response(422, "validation_error", "the request is not valid", errors=errors)


def _allowed_methods(request: Request) -> str:
    """Every method the URL's path answers to. Starlette's 405 names only the first route
    that matched the path, but a path such as /v1/children has one route per method."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such resource"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return problem_response(exc.status_code, code, detail, headers=headers)


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error mapped to 409: %s", type(exc).__name__)
    return problem_response(
        409, "conflict", "the change conflicts with the current state; reload and try again"
    )


async def _stale_data(_request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        409, "concurrent_update", "the resource was changed by another request; reload and try again"
    )


# PostgreSQL's "try again" outcomes for a transaction that lost to a concurrent one.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    """The database refused or could not be reached: a lost race is a conflict to retry;
    anything else (no connection, a full pool, a busy SQLite file) is a temporary outage."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return problem_response(409, "conflict", "the change conflicts with a concurrent change; try again")
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(
        503,
        "database_unavailable",
        "the service cannot reach its database just now; try again shortly",
        headers={"Retry-After": "1"},
    )


DATA_ERROR_DETAIL = (
    "a value in the request cannot be stored or compared by the database "
    "(for example a control character, or a number or date out of range)"
)


async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
    """A value the database refused (PostgreSQL's class 22, `DataError`): the request's fault,
    not the service's. Input validation should have caught it first; log that it did not
    (the statement's parameters are hidden: `hide_parameters` on the engines)."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    log.warning("the database refused a value (sqlstate %s)", sqlstate)
    return problem_response(422, "validation_error", DATA_ERROR_DETAIL)


async def _unhandled(_request: Request, _exc: Exception) -> JSONResponse:
    # RequestMiddleware answers (and logs, once, with the request id) every exception raised
    # by the app; this answers only for one raised outside it, which the server logs itself.
    return problem_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(StaleDataError, _stale_data)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(SATimeoutError, _database_error)  # no free pooled connection
    app.add_exception_handler(Exception, _unhandled)
