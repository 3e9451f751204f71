"""Schemathesis against the service's own OpenAPI description, in-process (ASGI).

`test_operation` fuzzes each operation (explicit examples, the deterministic coverage phase
and random valid and invalid requests); `test_stateful` then runs random sequences of calls
along the links Schemathesis infers between operations (a listed child's id read back, a
conference's id used by `…/start`, a raised dissent's by `…/referral`, ...). Every request
carries a valid bearer token for a real, seeded authority, and generated codes, people and
ids are often real ones, so the fuzz reaches the rules rather than stopping at 401/404.

All built-in checks are on: no 5xx; status codes, content types, headers and bodies as
documented; invalid input refused; valid input not refused for its shape; auth enforced;
deleted resources gone and created ones readable; and (stateful) a neighbouring authority
never gets an object the fuzz authority owns. Two are tuned to SPEC §6 (see `_config`), and
two checks of ours are added: every 4xx/5xx is RFC 9457 problem+json with `type`, `title`,
`status` and `code`, and no schema-valid request fails the models' own field validation.

The schema is read at import from an app that never opens its database. Each test then
gets its own copy of a database migrated and seeded once per worker, and a fresh app on it.
Generation is bounded and seeded, so CI runs take a few minutes and repeat the same inputs
(the stateful phase only nearly: Schemathesis draws some link choices from true randomness).
FUZZ_MAX_EXAMPLES / FUZZ_STATEFUL_EXAMPLES raise the bounds and FUZZ_SEED picks other
inputs, for a longer hunt.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hsettings
from hypothesis.errors import Flaky
from schemathesis.errors import FailureGroup
from schemathesis.python import asgi
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import sync_url
from app.main import create_app
from app.migrations_state import upgrade
from app.security import mint_token
from tests.api.test_appeals import lodge
from tests.conftest import TEST_SECRET, _scratch_dir
from tests.support import Api, expect, make_meeting

PROFILE = "scotland-cppm-registration"  # the procedure with the most surface: dissents, referral, appeals
AUTHORITY = "fuzz-la"
OTHER_AUTHORITY = "fuzz-lb"  # a neighbour: it must never see the fuzz authority's records
CHAIR = "chair-1"  # chairs the seeded meetings, so the fuzz token may act as their chair
# One caller that may do everything in the seeded authority, create authorities and set the
# test clock, so a generated request is refused for what it says, not for who sends it.
ROLES = ("record_system", "chair", "professional", "reviewer", "admin", "system_admin")
TOKENS = {
    code: mint_token(TEST_SECRET, sub=CHAIR, roles=ROLES, authority=code, agency="NHS", name="Fuzz Chair")
    for code in (AUTHORITY, OTHER_AUTHORITY)
}
PROBLEM_FIELDS = {"type": str, "title": str, "status": int, "code": str}

SEED = int(os.environ.get("FUZZ_SEED", "20251218"))
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "30"))
STATEFUL_STEPS = 8
STATEFUL_RUNS = 5
# Generation efficiency only; the function-scoped database is meant to be shared by the
# examples of one operation.
QUIET_HEALTH_CHECKS = [
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.function_scoped_fixture,
]


@dataclass(frozen=True)
class Seeded:
    url: str  # the seeded database, copied for each test
    ids: dict[str, list[str]]  # "children", "conferences", "dissents", "appeals"


POSITIVE_OK = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # Schemathesis's defaults
NEGATIVE_OK = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]


def _config(seeded: Seeded | None = None, identities: Path | None = None) -> schemathesis.Config:
    """The run's configuration. Generated codes, people, meeting types (and, once seeded,
    ids) are often real ones, so calls get past "not found" to the rules. With a file of
    identities (Web Fuzzing Commons format), requests go as the fuzz authority and the
    object-level authorization check replays its reads as the neighbouring authority."""
    data: dict[str, Any] = {
        "seed": SEED,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        "checks": {
            "enabled": True,
            # SPEC §6: content that fits the schema but breaks a rule the schema cannot state
            # (an unknown profile code, an opaque cursor that does not decode, "exactly one of
            # working_days or calendar_days") is refused with 422. `schema_matches_models`
            # below keeps the sharp half of this check: no 422 from the models' own validation.
            # A generated If-Match (declared on the operations that honour it) rarely names
            # the current version: 412, as documented, like a 409 from the state.
            "positive_data_acceptance": {"expected-statuses": [*POSITIVE_OK, "412", "422"]},
            # A body over MAX_BODY_BYTES is refused with the documented 413 before parsing.
            "negative_data_rejection": {"expected-statuses": [*NEGATIVE_OK, "413"]},
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True, "max-steps": STATEFUL_STEPS},
        },
        "auth": {"openapi": {"HTTPBearer": {"bearer": TOKENS[AUTHORITY]}}},
    }
    # Known values that generated ones are often (not always) replaced with.
    values: dict[str, list[str]] = {
        "codes": [AUTHORITY, OTHER_AUTHORITY, PROFILE, "england-cp-conference"],
        "authorities": [AUTHORITY, OTHER_AUTHORITY],
        "profiles": [PROFILE, "england-cp-conference", "scotland-cppm-carm"],
        "jurisdictions": ["scotland", "england"],
        "people": [CHAIR, "prof-1", "prof-2", "parent-1"],
        "meeting_types": ["initial_cppm", "review_cppm", "pre_birth_cppm"],
        "categories": ["neglect", "domestic_abuse", "parental_substance_use"],
        "instants": ["2025-12-18T10:00:00Z", "2025-12-22T14:30:00+00:00", "2026-01-05T09:00:00Z"],
    }
    bindings = {
        "path.code": "codes",
        "path.profile": "profiles",
        "query.authority": "authorities",
        "body.profile": "profiles",
        "body.jurisdiction": "jurisdictions",
        "body.chair_id": "people",
        "body.attendee_person_id": "people",
        "body.person_id": "people",
        "body.meeting_type": "meeting_types",
        "body.categories[*]": "categories",
        "body.scheduled_start": "instants",
    }
    if seeded is not None:  # ids exist only once the database is seeded
        values.update(seeded.ids)
        bindings.update(
            {
                "path.child_id": "children",
                "body.child_id": "children",
                "body.child_ids[*]": "children",
                "path.conference_id": "conferences",
                "body.conference_id": "conferences",
                "body.reconvened_from": "conferences",
                "path.dissent_id": "dissents",
                "path.appeal_id": "appeals",
            }
        )
    data["dictionaries"] = {name: {"values": v} for name, v in values.items()}
    data["parameters"] = {key: {"dictionary": name, "probability": 0.6} for key, name in bindings.items()}
    if identities is not None:
        data["auth"] = {"wfc": {"path": str(identities), "user": AUTHORITY, "peers": list(TOKENS)}}
    return schemathesis.Config.from_dict(data)


def _identities(directory: Path) -> Path:
    path = directory / "identities.json"
    users = [
        {"name": code, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
        for code, token in TOKENS.items()
    ]
    path.write_text(json.dumps({"auth": users}))
    return path


def _settings(database_url: str) -> Settings:
    """As tests/conftest.py's `settings`, on the given database."""
    return Settings(
        environment="test",
        database_url=database_url,
        auth_jwt_secret=TEST_SECRET,
        test_clock_enabled=True,
        database_pool_size=5,
        webhook_allowed_hosts="127.0.0.1,localhost",
        # The fuzz sends many bad tokens and report calls a minute from one address; the
        # limits have their own tests (tests/api/test_rate_limits.py).
        rate_limit_auth_failures_per_minute=0,
        rate_limit_costly_per_minute_per_caller=0,
        rate_limit_costly_per_minute_per_address=0,
    )


# The served /openapi.json does not depend on the database; this app never opens one.
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", create_app(_settings("sqlite://")), config=_config())
asgi.shutdown_lifespans()


@schemathesis.check
def problem_details(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """Every refusal and every error is RFC 9457 problem+json with a stable `code`."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered with content type {content_type!r}, not application/problem+json"
    )
    body = response.json()
    assert isinstance(body, dict), "the problem document is not a JSON object"
    for name, kind in PROBLEM_FIELDS.items():
        assert isinstance(body.get(name), kind), f"problem field {name!r} is missing or not a {kind.__name__}"
    assert body["status"] == response.status_code, "the problem's `status` differs from the HTTP status"
    return True


# Errors raised by the models' own validators: rules the schema cannot state (one of two
# fields, a year the calendar can place), as opposed to type, format, length or enum errors.
RULE_ERRORS = {"value_error", "assertion_error"}


@schemathesis.check
def schema_matches_models(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """A request the schema calls valid never fails the models' type, format, length or
    enum validation: such a 422 means the OpenAPI description and the models disagree."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 422:
        return None
    # An entry with a `code` is a rule's refusal (a procedure definition's problems, a
    # meeting's blockers), not the models' validation.
    errors = [
        e for e in response.json().get("errors") or [] if "code" not in e and e.get("type") not in RULE_ERRORS
    ]
    assert not errors, f"a schema-valid request failed the models' validation: {errors}"
    return True


def _seed(api: Api) -> dict[str, list[str]]:
    """Real data for generated requests and stateful links: the fuzz authority with a
    scheduled meeting, one in progress with a raised dissent, and one ended with a
    registration, an unresolved dissent awaiting referral and a lodged appeal."""
    api.set_clock("2025-12-18T09:00:00Z")
    authority = {"code": AUTHORITY, "name": "Fuzz Council", "profile": PROFILE, "jurisdiction": "scotland"}
    expect(api.system_admin().post("/v1/authorities", json=authority), 201)
    neighbour = {**authority, "code": OTHER_AUTHORITY, "name": "Neighbouring Council"}
    expect(api.system_admin().post("/v1/authorities", json=neighbour), 201)
    make_meeting(api, PROFILE, authority=OTHER_AUTHORITY)  # its own records, chaired by the same sub
    scheduled = make_meeting(api, PROFILE, authority=AUTHORITY, children=2)
    running = make_meeting(api, PROFILE, authority=AUTHORITY)
    running.start()
    raised = running.raise_dissent()
    ended = make_meeting(api, PROFILE, authority=AUTHORITY)
    ended.start()
    unresolved = ended.raise_dissent()
    ended.decide_all("register")
    ended.confirm_all()
    ended.end()
    lodged = lodge(ended, name="Pat Parent", grounds="We were not told what the worries were")
    meetings = (scheduled, running, ended)
    return {
        "children": [c for m in meetings for c in m.child_ids],
        "conferences": [m.conference_id for m in meetings],
        "dissents": [str(raised["id"]), str(unresolved["id"])],
        "appeals": [str(lodged["id"])],
    }


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(
        sync_url(str(make_url(url).set(database="postgres"))), isolation_level="AUTOCOMMIT"
    )


@pytest.fixture(scope="session")
def fuzz_template(
    backend: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """A migrated and seeded database, made once per worker and copied for every test."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "seeded.db"
        shutil.copyfile(make_url(template_db).database or "", path)
        url = f"sqlite:///{path}"
    else:
        url = (
            make_url(template_db).set(database=f"{make_url(template_db).database}_fz").render_as_string(False)
        )
        admin = _admin_engine(url)
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{make_url(url).database}"'))
        upgrade(url)
    with TestClient(create_app(_settings(url)), raise_server_exceptions=False) as client:
        ids = _seed(Api(client, TEST_SECRET))
    yield Seeded(url, ids)
    if backend != "sqlite":
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


_copies = itertools.count()


@pytest.fixture
def fuzz_app(fuzz_template: Seeded, tmp_path: Path) -> Iterator[FastAPI]:
    """A fresh copy of the seeded database and an app on it."""
    template = make_url(fuzz_template.url)
    if template.get_backend_name() == "sqlite":
        scratch = _scratch_dir(tmp_path)
        copy = scratch / "fuzz.db"
        shutil.copyfile(template.database or "", copy)
        url = f"sqlite:///{copy}"
    else:
        name = f"{template.database}{next(_copies)}"
        admin = _admin_engine(fuzz_template.url)
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"'))
        url = template.set(database=name).render_as_string(False)
    try:
        yield create_app(_settings(url))
    finally:
        # Schemathesis runs each app's lifespan until told otherwise: end this one's (its engine).
        asgi.shutdown_lifespans()
        if template.get_backend_name() == "sqlite":
            if scratch != tmp_path:
                shutil.rmtree(scratch, ignore_errors=True)
        else:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


# The procedure is a parameter so each generated test has its own node id: on pytest 9.2
# Schemathesis 4.32 otherwise gives all of them the same one, which pytest-xdist cannot tell apart.
@SCHEMA.parametrize()
@pytest.mark.parametrize("profile", [PROFILE])
@hsettings(deadline=None, suppress_health_check=QUIET_HEALTH_CHECKS)
def test_operation(case: schemathesis.Case, profile: str, fuzz_app: FastAPI) -> None:
    # The schema was read from another app instance: send this test's requests, and the
    # checks' own follow-up requests, to the app on this test's database.
    case.operation.app = fuzz_app
    case.operation.schema.app = fuzz_app
    case.call_and_validate()


def test_stateful(fuzz_app: FastAPI, fuzz_template: Seeded, tmp_path: Path) -> None:
    config = _config(fuzz_template, identities=_identities(tmp_path))
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app, config=config)
    failures: list[FailureGroup] = []

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def validate_response(
            self, response: Any, case: schemathesis.Case, *args: Any, **kwargs: Any
        ) -> None:
            try:
                super().validate_response(response, case, *args, **kwargs)
            except FailureGroup as exc:
                failures.append(exc)  # kept, in case replaying the scenario goes differently
                raise

    # Each run goes on from the database the previous one left, so it reaches other states.
    for _ in range(STATEFUL_RUNS):
        try:
            Machine.run(
                settings=hsettings(
                    max_examples=STATEFUL_EXAMPLES,
                    stateful_step_count=STATEFUL_STEPS,
                    deadline=None,
                    derandomize=True,
                    database=None,
                    # As Schemathesis's own default for state machines: no shrinking, since
                    # replaying a scenario against a database it already changed goes differently.
                    phases=[Phase.generate],
                    suppress_health_check=QUIET_HEALTH_CHECKS,
                )
            )
        except Flaky:
            # The database outlives each scenario, so Hypothesis may see a scenario draw
            # differently the second time; like Schemathesis's own runner, that ends the run
            # without failing it. A check that failed on the way still fails the test.
            if failures:
                raise failures[0] from None
