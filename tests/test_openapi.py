"""The OpenAPI description (SPEC §1, §6, §11): the committed file is what the app serves,
operation ids are stable `{tag}-{name}`, and every documented error is problem+json."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.cli import render_openapi

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "openapi" / "openapi.json"
PROBLEM = "application/problem+json"
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
OPERATION_ID = re.compile(r"^(?P<tag>[a-z][a-z0-9-]*)-(?P<name>[a-z][a-z0-9_]*)$")


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


@pytest.fixture
def served(client) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_served_openapi_equals_the_committed_file(served, committed):
    assert served == committed, (
        "openapi/openapi.json is stale; regenerate it with `dissent openapi`. "
        f"Paths only served: {sorted(set(served['paths']) - set(committed['paths']))}; "
        f"only committed: {sorted(set(committed['paths']) - set(served['paths']))}"
    )


def test_committed_file_is_what_the_cli_writes(committed):
    assert json.loads(render_openapi()) == committed
    assert COMMITTED.read_text(encoding="utf-8") == render_openapi()


def test_the_description_covers_the_api(served):
    paths = served["paths"]
    for path in ("/v1/conferences", "/v1/conferences/{conference_id}", "/v1/dissents", "/health/ready"):
        assert path in paths, path
    assert len(operations(served)) >= 20


def test_operation_ids_are_unique_and_tag_dash_name(served):
    seen: dict[str, str] = {}
    for path, method, op in operations(served):
        op_id = op.get("operationId")
        assert op_id, f"{method.upper()} {path} has no operationId"
        assert op_id not in seen, f"{op_id} used by {seen[op_id]} and {method.upper()} {path}"
        seen[op_id] = f"{method.upper()} {path}"
        match = OPERATION_ID.match(op_id)
        assert match, f"{op_id} ({method.upper()} {path}) is not {{tag}}-{{name}}"
        tags = op.get("tags") or []
        assert tags, f"{method.upper()} {path} has no tag"
        assert op_id.startswith(tags[0] + "-"), f"{op_id} does not start with its first tag {tags[0]!r}"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", op_id[len(tags[0]) + 1 :]), op_id


def test_every_documented_4xx_response_is_problem_json(served):
    checked = 0
    for path, method, op in operations(served):
        for status, response in op.get("responses", {}).items():
            if not status.startswith("4"):
                continue
            checked += 1
            content = response.get("content", {})
            where = f"{method.upper()} {path} {status}"
            assert PROBLEM in content, f"{where} is not documented as {PROBLEM}: {sorted(content)}"
            assert set(content) == {PROBLEM}, f"{where} also documents {sorted(set(content) - {PROBLEM})}"
            schema = content[PROBLEM].get("schema", {})
            assert schema.get("$ref") == "#/components/schemas/Problem", f"{where}: {schema}"
    assert checked > 0


def test_the_problem_schema_has_the_rfc_9457_members_and_code(served):
    problem = served["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["properties"])
    assert {"type", "title", "status", "detail", "code"} <= set(problem.get("required", []))
    assert "errors" in problem["properties"]


def test_validation_errors_are_documented_as_problems_too(served):
    """FastAPI documents 422 for every operation with parameters or a body; those too must be
    problem+json (not FastAPI's HTTPValidationError as application/json)."""
    for path, method, op in operations(served):
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in op["responses"], f"{method.upper()} {path} does not document 422"
            assert PROBLEM in op["responses"]["422"]["content"], f"{method.upper()} {path}"


def test_errors_served_match_what_is_documented(api):
    """A real error answer carries the documented media type and members."""
    r = api.anonymous().get("/v1/conferences")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)
    assert {"type", "title", "status", "detail", "code"} <= set(r.json())
