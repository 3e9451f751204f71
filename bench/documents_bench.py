"""What issuing documents adds to the requests that complete a written step.

Runs the app in-process (httpx on the ASGI app through Starlette's TestClient, so the figures
are the service's own time, without a network) on a fresh migrated database, and times the
same requests with documents issued and with issuing switched off (the service hooks made
no-ops), alternating the two on every iteration so that a busy machine affects both alike:

* `POST /v1/conferences/{id}/end`  (issues the minutes extract)
* `POST /v1/dissents/{id}/written-submission`  (England: the Dissent Form, and the minutes
  extract issued again because what happens next changed)
* `POST /v1/dissents/{id}/review-decision`  (the review outcome letter)

The step's request issues the document (content, HTML, hash, audit entry, event); the PDF
is rendered after the commit by the worker (`render_pending`), which this benchmark then
times per document, as the time until the PDF exists.

It prints p50/p95 per request and mode, the p95 added and the p95 ratio, and the PDF render
time per document, and writes them as JSON. A benchmark, not a test: it exits 0 unless
`--fail-over-ms N` is given and the p95 added by documents to some request is over N.

    .venv/bin/python bench/documents_bench.py                 # 40 iterations per mode, SQLite
    .venv/bin/python bench/documents_bench.py --pg postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/documents_bench.py --smoke         # 3 iterations (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from app.config import Settings
from app.db import Database, sync_url
from app.main import create_app
from app.migrations_state import upgrade
from app.security import mint_token
from app.services import documents
from app.services.document_renditions import render_pending

SECRET = "bench-secret-0123456789abcdef0123456789"  # noqa: S105 - a throwaway in-process app
DAY = "2025-12-18"
STEPS = ("end", "written-submission", "review-decision")


class Off:
    """Switches document issuing off by making the service hooks no-ops."""

    def __init__(self) -> None:
        self.real = (documents.issue_for_step, documents.refresh_minutes)

    @contextmanager
    def __call__(self, off: bool) -> Iterator[None]:
        if off:

            async def issue(*_a: Any, **_k: Any) -> list[Any]:
                return []

            async def refresh(*_a: Any, **_k: Any) -> None:
                return None

            documents.issue_for_step, documents.refresh_minutes = issue, refresh  # type: ignore[assignment]
        try:
            yield
        finally:
            documents.issue_for_step, documents.refresh_minutes = self.real  # type: ignore[assignment]


class Client:
    def __init__(self, client: TestClient, authority: str) -> None:
        self.client = client
        self.authority = authority

    def call(self, sub: str, role: str, method: str, path: str, body: Any = None) -> Any:
        token = mint_token(SECRET, sub=sub, roles=[role], authority=self.authority, name=sub.title())
        r = self.client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
        if r.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None


def written_form() -> dict[str, Any]:
    return {
        "professional": {
            "name": "Pat Prof",
            "role": "Health visitor",
            "agency": "NHS Northshire",
            "agency_address": "1 High Street, Townsville",
            "phone": "01234 567890",
            "email": "pat.prof@example.org",
        },
        "manager": {"name": "Morgan Manager", "contact": "morgan@example.org"},
        "children": [{"name": "Riley Example", "date_of_birth": "2019-05-14"}],
        "conference_date": DAY,
        "child_subject_to_plan": True,
        "discussed_with_line_manager_and_safeguarding_lead": True,
        "rationale": "The evidence does not show that the threshold is met. " * 12,
        "signed_name": "Pat Prof",
        "signed_on": DAY,
    }


def open_meeting(c: Client) -> tuple[str, list[str], dict[str, Any]]:
    """An England meeting with two children and three professionals, started, and prof-1's
    dissent from registration: the meeting's URL, the children's ids and the dissent."""
    child_ids = [
        c.call(
            "rs",
            "record_system",
            "POST",
            "/v1/children",
            {
                "external_ref": uuid.uuid4().hex[:12],
                "given_name": name,
                "family_name": "Example",
                "date_of_birth": "2019-05-14",
            },
        )["id"]
        for name in ("Riley", "Sam")
    ]
    body = {
        "meeting_type": "initial_conference",
        "scheduled_start": f"{DAY}T10:00:00Z",
        "chair_id": "chair-1",
        "chair_name": "Sam Chair",
        "child_ids": child_ids,
    }
    url = f"/v1/conferences/{c.call('rs', 'record_system', 'POST', '/v1/conferences', body)['id']}"
    for person in ("prof-1", "prof-2", "prof-3"):
        attendee = {
            "person_id": person,
            "name": person.title(),
            "role_title": "Health visitor",
            "agency": "NHS",
            "kind": "professional",
            "attended": True,
        }
        c.call("rs", "record_system", "POST", f"{url}/attendees", attendee)
    c.call("chair-1", "chair", "POST", f"{url}/start")
    reasons = {"subject": "registration", "reasons": "The risk is not shown by the evidence. " * 8}
    dissent = c.call("prof-1", "professional", "POST", f"{url}/dissents", reasons)
    return url, child_ids, dissent


def register_all(c: Client, url: str, child_ids: list[str], plan_summary: str | None = None) -> None:
    for child_id in child_ids:
        decision = {"child_id": child_id, "outcome": "register", "categories": ["NEG"]}
        if plan_summary is not None:
            decision["plan_summary"] = plan_summary
        c.call("chair-1", "chair", "POST", f"{url}/decisions", decision)


def one_run(c: Client, timings: dict[str, list[float]]) -> None:
    """A meeting with two children and two dissents, ended; one dissent taken to a decision.
    Times the three step requests."""
    url, child_ids, dissent = open_meeting(c)
    c.call(
        "prof-2", "professional", "POST", f"{url}/dissents", {"subject": "plan", "reasons": "Plan too thin."}
    )
    register_all(c, url, child_ids)
    c.call("chair-1", "chair", "POST", f"{url}/dissent-invitation")
    started = time.perf_counter()
    c.call("chair-1", "chair", "POST", f"{url}/end")
    timings["end"].append(time.perf_counter() - started)
    started = time.perf_counter()
    c.call(
        "prof-1", "professional", "POST", f"/v1/dissents/{dissent['id']}/written-submission", written_form()
    )
    timings["written-submission"].append(time.perf_counter() - started)
    c.call(
        "reviewer-1",
        "reviewer",
        "POST",
        f"/v1/dissents/{dissent['id']}/review-meeting",
        {
            "held_on": DAY,
            "members": ["IRO Service Manager"],
        },
    )
    started = time.perf_counter()
    c.call(
        "reviewer-1",
        "reviewer",
        "POST",
        f"/v1/dissents/{dissent['id']}/review-decision",
        {
            "outcome": "uphold",
            "written_note": "The reviewer read the form, the minutes and the plan. " * 6,
        },
    )
    timings["review-decision"].append(time.perf_counter() - started)


async def _render_all(settings: Settings) -> list[float]:
    """The worker's renders, one document at a time, timed."""
    db = Database(settings)
    times: list[float] = []
    try:
        while True:
            started = time.perf_counter()
            if not await render_pending(db, settings, batch=1):
                return times
            times.append(time.perf_counter() - started)
    finally:
        await db.dispose()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index] * 1000


@contextmanager
def database(pg: str | None) -> Iterator[str]:
    if not pg:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            yield url
        return
    name = f"dissent_docbench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(sync_url(pg), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = str(sa.engine.make_url(pg).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=40, help="runs per mode (with and without)")
    parser.add_argument("--smoke", action="store_true", help="3 iterations")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL"), help="PostgreSQL server URL")
    parser.add_argument("--output", default="bench/results/documents_bench.json")
    parser.add_argument("--fail-over-ms", type=float, default=None)
    args = parser.parse_args()
    iterations = 3 if args.smoke else args.iterations
    off = Off()
    timings: dict[bool, dict[str, list[float]]] = {m: {s: [] for s in STEPS} for m in (True, False)}
    with database(args.pg) as url:
        settings = Settings(
            environment="bench", database_url=url, auth_jwt_secret=SECRET, test_clock_enabled=True
        )
        with TestClient(create_app(settings)) as client:
            token = mint_token(SECRET, sub="sysadmin", roles=["system_admin"], authority=None, name="Admin")
            headers = {"Authorization": f"Bearer {token}"}
            client.put("/v1/test-clock", json={"now": f"{DAY}T09:00:00Z"}, headers=headers)
            code = f"bench-{uuid.uuid4().hex[:6]}"
            client.post(
                "/v1/authorities",
                headers=headers,
                json={
                    "code": code,
                    "name": "Northshire Council",
                    "profile": "england-cp-conference",
                    "jurisdiction": "england",
                },
            )
            c = Client(client, code)
            with off(False):
                one_run(c, {s: [] for s in STEPS})  # warm both paths; not counted
            with off(True):
                one_run(c, {s: [] for s in STEPS})
            for _ in range(iterations):
                for with_documents in (True, False):
                    with off(not with_documents):
                        one_run(c, timings[with_documents])
        render_times = asyncio.run(_render_all(settings))
    result: dict[str, Any] = {
        "database": "postgresql" if args.pg else "sqlite",
        "iterations": iterations,
        "load_average": os.getloadavg(),
        "steps": {},
    }
    print(f"{'request':<22} {'mode':<16} {'p50 ms':>8} {'p95 ms':>8}")
    worst = 0.0
    for step in STEPS:
        row: dict[str, Any] = {}
        for with_documents, label in ((False, "without"), (True, "with documents")):
            values = timings[with_documents][step]
            row[label] = {
                "p50_ms": round(percentile(values, 50), 1),
                "p95_ms": round(percentile(values, 95), 1),
            }
            print(f"{step:<22} {label:<16} {row[label]['p50_ms']:>8} {row[label]['p95_ms']:>8}")
        added = row["with documents"]["p95_ms"] - row["without"]["p95_ms"]
        row["p95_added_ms"] = round(added, 1)
        row["p95_ratio"] = round(row["with documents"]["p95_ms"] / max(row["without"]["p95_ms"], 0.001), 2)
        worst = max(worst, added)
        print(f"{step:<22} p95 added {row['p95_added_ms']} ms, ratio {row['p95_ratio']}")
        result["steps"][step] = row
    result["pdf_render"] = {
        "documents": len(render_times),
        "p50_ms": round(percentile(render_times, 50), 1),
        "p95_ms": round(percentile(render_times, 95), 1),
    }
    print(f"PDF rendered after the commit (worker): {result['pdf_render']}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"load average {result['load_average']}; written to {args.output}")
    if args.fail_over_ms is not None and worst > args.fail_over_ms:
        print(f"p95 added {worst:.0f} ms is over {args.fail_over_ms:.0f} ms")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
