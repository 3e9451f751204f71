"""How long the review bundle's PDF takes with three 20-page attachments (issue 14: under 2 s).

Runs the app in-process (httpx on the ASGI app through Starlette's TestClient, so the figures
are the service's own time, without a network) on a fresh migrated database: an England
meeting with two children, a dissent taken to its written Dissent Form, and three 20-page
PDF reports attached (made here with WeasyPrint: pages of text, not blank pages). Then it
times `GET /v1/dissents/{id}/bundle` with `Accept: application/pdf` N times (after one
untimed warm-up request, which loads the renderer's fonts) and, for reference, the JSON.

It prints the median and p95 of each, the PDF's pages and size, and writes them as JSON.
A benchmark, not a test: it exits 0 unless `--fail-over-ms N` is given and the PDF's p95 is
over N.

    .venv/bin/python bench/bundle_bench.py                 # 20 runs, SQLite
    .venv/bin/python bench/bundle_bench.py --pg postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/bundle_bench.py --smoke         # 3 runs (CI)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient
from pypdf import PdfReader

from app.config import Settings
from app.main import create_app
from app.security import mint_token
from bench.documents_bench import (
    SECRET,
    Client,
    database,
    open_meeting,
    percentile,
    register_all,
    written_form,
)

DAY = "2025-12-18"
ATTACHMENTS, PAGES = 3, 20


def report_pdf(number: int, pages: int = PAGES) -> bytes:
    """A `pages`-page report of plain text, one heading and a few paragraphs a page."""
    from weasyprint import HTML

    paragraph = (
        "The family were seen at home on three occasions during the period of this report. "
        "The home conditions were observed and discussed with both parents, and the children "
        "were spoken to on their own where their age allowed. "
    ) * 4
    body = "".join(
        f'<section style="break-before: {"page" if p else "auto"}"><h2>Report {number}, part {p + 1}</h2>'
        + f"<p>{paragraph}</p>" * 3
        + "</section>"
        for p in range(pages)
    )
    html = f'<!DOCTYPE html><html lang="en-GB"><title>Report {number}</title><body>{body}</body></html>'
    pdf: bytes = HTML(string=html).write_pdf()
    made = len(PdfReader(io.BytesIO(pdf)).pages)
    assert made == pages, made
    return pdf


def seed(c: Client, client: TestClient, reports: list[bytes]) -> str:
    """An ended England meeting with a written dissent and the reports attached; its dissent id."""
    url, child_ids, dissent = open_meeting(c)
    register_all(c, url, child_ids, plan_summary="Weekly visits by the lead social worker. " * 5)
    c.call("chair-1", "chair", "POST", f"{url}/dissent-invitation")
    c.call("chair-1", "chair", "POST", f"{url}/end")
    c.call(
        "prof-1", "professional", "POST", f"/v1/dissents/{dissent['id']}/written-submission", written_form()
    )
    token = mint_token(SECRET, sub="rs", roles=["record_system"], authority=c.authority, name="Rs")
    for number, pdf in enumerate(reports, 1):
        r = client.post(
            f"{url}/attachments",
            files={"file": (f"report-{number}.pdf", pdf, "application/pdf")},
            data={"title": f"Conference report {number}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        if r.status_code != 201:
            raise RuntimeError(f"attaching report {number}: {r.status_code} {r.text[:300]}")
    return str(dissent["id"])


def timed(client: TestClient, url: str, headers: dict[str, str], runs: int) -> tuple[list[float], bytes]:
    times, content = [], b""
    for _ in range(runs):
        started = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append(time.perf_counter() - started)
        if r.status_code != 200:
            raise RuntimeError(f"GET {url}: {r.status_code} {r.text[:300]}")
        content = r.content
    return times, content


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(percentile(values, 95), 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="timed requests per representation")
    parser.add_argument("--smoke", action="store_true", help="3 runs")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL"), help="PostgreSQL server URL")
    parser.add_argument("--output", default="bench/results/bundle_bench.json")
    parser.add_argument("--fail-over-ms", type=float, default=None)
    args = parser.parse_args()
    runs = 3 if args.smoke else args.runs
    started = time.perf_counter()
    reports = [report_pdf(n) for n in range(1, ATTACHMENTS + 1)]
    print(f"made {ATTACHMENTS} reports of {PAGES} pages in {time.perf_counter() - started:.1f} s")
    with database(args.pg) as url:
        settings = Settings(
            environment="bench", database_url=url, auth_jwt_secret=SECRET, test_clock_enabled=True
        )
        with TestClient(create_app(settings)) as client:
            admin = mint_token(SECRET, sub="sysadmin", roles=["system_admin"], authority=None, name="Admin")
            headers = {"Authorization": f"Bearer {admin}"}
            client.put("/v1/test-clock", json={"now": f"{DAY}T09:00:00Z"}, headers=headers)
            code = f"bench-{uuid.uuid4().hex[:6]}"
            authority = {"code": code, "name": "Northshire Council", "profile": "england-cp-conference"}
            client.post("/v1/authorities", headers=headers, json={**authority, "jurisdiction": "england"})
            dissent_id = seed(Client(client, code), client, reports)
            reviewer = mint_token(
                SECRET, sub="reviewer-1", roles=["reviewer"], authority=code, name="Reviewer"
            )
            bundle = f"/v1/dissents/{dissent_id}/bundle"
            auth = {"Authorization": f"Bearer {reviewer}"}
            timed(client, bundle, {**auth, "Accept": "application/pdf"}, 1)  # warm-up: fonts, caches
            pdf_times, pdf = timed(client, bundle, {**auth, "Accept": "application/pdf"}, runs)
            json_times, _ = timed(client, bundle, auth, runs)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    result: dict[str, Any] = {
        "database": "postgresql" if args.pg else "sqlite",
        "runs": runs,
        "attachments": ATTACHMENTS,
        "attachment_pages": PAGES,
        "pdf_pages": pages,
        "pdf_bytes": len(pdf),
        "load_average": os.getloadavg(),
        "pdf": summary(pdf_times),
        "json": summary(json_times),
    }
    print(f"bundle PDF: {pages} pages, {len(pdf)} bytes")
    print(f"{'representation':<16} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name in ("pdf", "json"):
        row = result[name]
        print(f"{name:<16} {row['median_ms']:>10} {row['p95_ms']:>8} {row['max_ms']:>8}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"load average {result['load_average']}; written to {args.output}")
    if args.fail_over_ms is not None and result["pdf"]["p95_ms"] > args.fail_over_ms:
        print(f"PDF p95 {result['pdf']['p95_ms']:.0f} ms is over {args.fail_over_ms:.0f} ms")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
