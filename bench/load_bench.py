"""Load benchmark: the service as real uvicorn processes on PostgreSQL and on SQLite, driven
over loopback by a separate load-generator process, every figure divided by a minimal
FastAPI + SQLModel baseline app measured in the same run (the machine is shared and noisy).

    .venv/bin/python bench/load_bench.py                 # full run, ~20 min on 2 vCPUs
    .venv/bin/python bench/load_bench.py --scale-check   # and 10,000 vs 1,000,000 rows, ~25 min
    .venv/bin/python bench/load_bench.py --smoke         # tiny data, under a second per scenario (CI)
    .venv/bin/python bench/load_bench.py --backends postgresql --workers 1 --concurrency 16 --duration 5

What it does, in order:

1. times the working-day deadline function in-process (`WorkingCalendar.add_working_days`,
   100,000 computations on varied start dates);
2. seeds a throwaway PostgreSQL database `dissent_load_<random>` (migrated with the app's own
   Alembic revisions) with reports_bench.py's server-side seeder: 300,000 dissents with their
   deadlines in one England authority (~130,000 conferences) plus two small Scottish ones;
   then every event those rows imply (~2M: conference scheduled/started/decisions/ended,
   each dissent step, deadline notifications, appeals), numbered gap-free per authority;
   for SQLite the same rows are copied into a migrated SQLite file, so both back ends hold the
   same data;
3. per back end: `pgbench -S` on a pgbench-initialised scratch database (PostgreSQL only);
   then for each worker count, starts the service (`python -m app.cli serve --workers N`,
   LOG_LEVEL=WARNING so no access log), waits for /health/ready and runs each scenario at each
   concurrency (warm-up, then `--duration` seconds recorded), recording the resident memory
   of every worker after each; then the same for the baseline app (bench/baseline_app.py);
4. optionally (`--scale-check`, or `--scale-only`) seeds a database with 10,000 dissents and
   10,000 events and one with 1,000,000 of each, and compares the dissent list and the event
   feed between them (1 worker, the first concurrency);
5. writes bench/results/load-<timestamp>.json and .md and prints the table; drops every
   database it made and stops every process it started, however the run ends.

The exit status is 0 when the run completed, whatever the figures (a benchmark, not a
test); `--fail-on-target` makes a missed target exit 1.
"""

# SQL text here is built from this file's own constants and the models' table names, never from
# input; `random` only makes data and request mixes repeatable; Markdown rows are long lines.
# ruff: noqa: E501, S608, S311

from __future__ import annotations

import argparse
import http.client
import io
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _path in (ROOT, BENCH):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import profile_summary  # noqa: E402
import psycopg  # noqa: E402
import reports_bench as rb  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import app.models  # noqa: E402, F401 - every table on SQLModel.metadata
from app.db import UTCDateTime, configure_sqlite, sync_url  # noqa: E402
from app.migrations_state import upgrade  # noqa: E402
from app.profiles import get_profile  # noqa: E402
from app.rules import deadline as deadline_rules  # noqa: E402
from app.rules.calendar import WorkingCalendar  # noqa: E402
from app.security import mint_token  # noqa: E402

PY = sys.executable
HOST = "127.0.0.1"
DEFAULT_PG = rb.DEFAULT_PG
RESULTS_DIR = BENCH / "results"
SECRET = "load-bench-secret-" + "x" * 32
MAIN = rb.MAIN_CODE  # the bulk England authority every scenario works in
PROFILE = "england-cp-conference"
TZ = rb.TZ
DB_PREFIX = "dissent_load_"

FULL_DISSENTS = 300_000  # ~130,000 conferences in the bulk authority
SMOKE_DISSENTS = 600  # ~260 conferences, ~4,000 events
SCALE_SIZES = (10_000, 1_000_000)
SMOKE_SCALE_SIZES = (200, 2_000)
READ_SAMPLE = 2_000  # distinct dissents the read scenario cycles through
VARIANTS = 1_000  # distinct requests the other read scenarios cycle through
ATTENDEES = 12  # professionals per meeting in the write pools (each may dissent on 3 subjects)
SUBJECTS = ("plan", "category", "registration")

# Targets (issue 8), all with authentication, scoping, audit and events on.
READ_RPS_RATIO = 1.5  # reads: requests/s at least 1.5x the baseline's read by id ...
READ_P99_RATIO = 1.0  # ... with a p99 no worse than the baseline's read by id
WRITE_RPS_RATIO = 1.0  # writes: at least the baseline's insert requests/s
SCALE_RATIO = 1.3  # list and feed: latency at 1,000,000 rows within 1.3x of 10,000 rows
CALENDAR_RATE = 100_000  # deadline computations per second, in-process
RSS_LIMIT_MB = 150.0  # resident memory per worker process


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "read" | "write"
    title: str


APP_SCENARIOS = [
    Scenario("read_dissent", "read", "read one dissent with its deadlines (its dissenter's token)"),
    Scenario("list_dissents", "read", "a page of 50 dissents with a filter (reviewer)"),
    Scenario("raise_dissent", "write", "raise a dissent in a meeting (with Idempotency-Key)"),
    Scenario("submit_written", "write", "submit the written dissent form (with Idempotency-Key)"),
    Scenario("calendar_deadline", "read", "the calendar deadline endpoint"),
    Scenario("events_feed", "read", "a page of 50 from the event feed (record system)"),
]
BASELINE_SCENARIOS = [
    Scenario("read_by_id", "read", "baseline: GET /heroes/{id}"),
    Scenario("list_page", "read", "baseline: GET /heroes/?offset=&limit=50"),
    Scenario("insert", "write", "baseline: POST /heroes/ (insert, commit, refresh)"),
]
SCALE_SCENARIOS = ("list_dissents", "events_feed")
LIST_FILTERS = ("status=submitted", "status=under_review", "status=decided", "overdue=true")


_T0 = time.perf_counter()


def log(message: str) -> None:
    """A progress line, stamped with the seconds since the run started."""
    print(f"[{time.perf_counter() - _T0:6.1f}s] {message}" if message else "", flush=True)


# ---- databases ------------------------------------------------------------------------------


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgDatabases:
    """Throwaway databases on the server; every one is dropped on exit, however it comes."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.token = secrets.token_hex(4)
        self.created: list[str] = []

    def create(self, label: str) -> str:
        name = f"{DB_PREFIX}{self.token}_{label}"
        with psycopg.connect(_libpq(self.server), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return make_url(self.server).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with psycopg.connect(_libpq(self.server), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if name in self.created:
            self.created.remove(name)

    def __enter__(self) -> PgDatabases:
        return self

    def __exit__(self, *_exc: object) -> None:
        for name in list(self.created):
            try:
                self.drop(make_url(self.server).set(database=name).render_as_string(hide_password=False))
                log(f"dropped database {name}")
            except psycopg.Error as exc:  # keep dropping the others
                log(f"could not drop database {name}: {exc}")


def engine_for(url: str) -> sa.Engine:
    engine = sa.create_engine(sync_url(url))
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)
    return engine


def table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


# ---- seeding --------------------------------------------------------------------------------

# Every event the seeded rows imply, as the service would have written them, oldest first.
# (authority, time, order within the same instant, type, subject kind, subject id, data)
_EVENT_SOURCES = [
    (
        "SELECT authority_id, created_at, 0, 'conference.scheduled', 'conference', id::text, "
        "json_build_object('meeting_type', meeting_type, 'scheduled_start', scheduled_start, "
        "'chair_id', chair_id, 'reconvened_from', reconvened_from_id) FROM conference"
    ),
    (
        "SELECT authority_id, started_at, 1, 'conference.started', 'conference', id::text, "
        "json_build_object('meeting_date', meeting_date) FROM conference WHERE started_at IS NOT NULL"
    ),
    (
        "SELECT authority_id, recorded_at, 2, 'conference.decision_recorded', 'conference', "
        "conference_id::text, json_build_object('child_id', child_id, 'outcome', outcome, "
        "'categories', categories) FROM decision WHERE amends_id IS NULL"
    ),
    (
        "SELECT authority_id, dissent_invited_at, 3, 'conference.dissent_invited', 'conference', id::text, "
        "'{}'::json FROM conference WHERE dissent_invited_at IS NOT NULL"
    ),
    (
        "SELECT authority_id, raised_at, 4, 'dissent.raised', 'dissent', id::text, "
        "json_build_object('conference_id', conference_id, 'subject', subject, 'agency', dissenter_agency, "
        "'child_ids', child_ids, 'on_behalf', raised_by <> dissenter_id) FROM dissent"
    ),
    (
        "SELECT authority_id, ended_at, 5, 'conference.ended', 'conference', id::text, "
        "json_build_object('meeting_date', meeting_date, 'appeal_due_at', appeal_due_at) "
        "FROM conference WHERE ended_at IS NOT NULL"
    ),
    *[
        (
            f"SELECT d.authority_id, d.{column}, {order}, 'dissent.{step}', 'dissent', d.id::text, "
            f"json_build_object('status', {status}, 'conference_id', d.conference_id{extra}) "
            f"FROM dissent d JOIN authority a ON a.id = d.authority_id WHERE d.{column} IS NOT NULL"
        )
        for column, order, step, status, extra in [
            ("resolved_at", 4, "resolved", "'resolved'", ""),
            ("withdrawn_at", 6, "withdrawn", "'withdrawn'", ""),
            (
                "unresolved_at",
                6,
                "unresolved",
                "CASE a.profile WHEN 'scotland-cppm-registration' THEN 'awaiting_referral' "
                "ELSE 'awaiting_submission' END",
                "",
            ),
            ("submitted_at", 7, "submitted", "'submitted'", ""),
            ("referred_at", 7, "referred", "'referred'", ""),
            ("lapsed_at", 7, "lapsed", "'lapsed'", ""),
            (
                "review_meeting_recorded_at",
                8,
                "review_meeting_held",
                "'under_review'",
                ", 'held_on', d.review_meeting_held_on",
            ),
            ("decided_at", 9, "decided", "'decided'", ", 'outcome', d.outcome"),
        ]
    ],
    *[
        (
            f"SELECT authority_id, {column}, 10, 'deadline.{kind}', subject_kind, subject_id::text, "
            "json_build_object('kind', kind, 'due_at', due_at, 'due_date', due_date, "
            f"'responsible_role', responsible_role) FROM deadline WHERE {column} IS NOT NULL"
        )
        for column, kind in [("approaching_notified_at", "approaching"), ("missed_notified_at", "missed")]
    ],
    (
        "SELECT authority_id, lodged_at, 11, 'appeal.lodged', 'appeal', id::text, "
        "json_build_object('conference_id', conference_id, 'child_id', child_id) FROM appeal"
    ),
    (
        "SELECT authority_id, responded_at, 12, 'appeal.responded', 'appeal', id::text, "
        "json_build_object('outcome', outcome) FROM appeal WHERE responded_at IS NOT NULL"
    ),
]


# The app's ids are time-ordered (UUID version 7 layout, app.db.new_id); so are these.
_V7_ID = (
    "(lpad(to_hex(floor(extract(epoch FROM occurred_at) * 1000)::bigint), 12, '0') || '7' "
    "|| substr(r, 1, 3) || '8' || substr(r, 4, 15))::uuid"
)


@contextmanager
def _without_indexes(conn: psycopg.Connection[Any], table_name: str) -> Iterator[None]:
    """Drop a table's indexes and key constraints for a bulk load and build them again after
    from their own definitions: building an index once is far cheaper than 2M random inserts
    into it. One that cannot be dropped (something depends on it) is kept."""
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u')",
        (table_name,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
        "WHERE indrelid = %s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        (table_name,),
    ).fetchall()
    dropped_constraints, dropped_indexes = [], []
    for name, definition in constraints:
        try:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table_name), sql.Identifier(name)
                )
            )
            dropped_constraints.append((name, definition))
        except psycopg.errors.DependentObjectsStillExist:
            pass
    for name, definition in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        dropped_indexes.append(definition)
    try:
        yield
    finally:
        for name, definition in dropped_constraints:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                    sql.Identifier(table_name), sql.Identifier(name)
                )
                + sql.SQL(definition)  # type: ignore[arg-type]
            )
        for definition in dropped_indexes:
            conn.execute(definition)  # type: ignore[arg-type]


def seed_events(url: str, max_events: int | None = None) -> dict[str, Any]:
    """The event feed the seeded rows imply, numbered gap-free per authority in time order,
    and each authority's `event_seq` set to its last number (server-side SQL only). With
    `max_events`, each authority keeps only its oldest that many (the scale check wants a
    feed of a given length)."""
    started = time.perf_counter()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET temp_buffers = '1GB'")
        conn.execute("SET work_mem = '512MB'")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET jit = off")
        conn.execute("SET session_replication_role = replica")  # foreign keys hold by construction
        conn.execute(
            "CREATE TEMP TABLE load_ev (authority_id uuid, occurred_at timestamptz, ord int, type text, "
            "subject_kind text, subject_id text, data json)"
        )
        for source in _EVENT_SOURCES:
            conn.execute("INSERT INTO load_ev " + source)  # type: ignore[arg-type]
        conn.execute(
            "CREATE TEMP TABLE load_ev_numbered AS SELECT *, md5(random()::text) AS r, row_number() OVER "
            '(PARTITION BY authority_id ORDER BY occurred_at, ord, subject_id COLLATE "C") AS seq FROM load_ev'
        )
        with _without_indexes(conn, "event"):
            rows = conn.execute(
                "INSERT INTO event (id, authority_id, seq, type, occurred_at, subject_kind, subject_id, data) "
                f"SELECT {_V7_ID}, authority_id, seq, type, occurred_at, subject_kind, subject_id, data "
                "FROM load_ev_numbered WHERE seq <= %s ORDER BY authority_id, seq",
                (max_events or 2**62,),
            ).rowcount
        conn.execute(
            "UPDATE authority a SET event_seq = coalesce((SELECT max(seq) FROM event e "
            "WHERE e.authority_id = a.id), 0)"
        )
        conn.execute("SET session_replication_role = origin")
        conn.execute("VACUUM ANALYZE event")
        conn.execute("VACUUM ANALYZE authority")
    seconds = time.perf_counter() - started
    log(f"  events {rows:>10,} rows {seconds:7.1f} s")
    return {"events": rows, "seconds": round(seconds, 1)}


def seed_dataset(url: str, n_dissents: int, seed: int, max_events: int | None = None) -> dict[str, Any]:
    """Migrate, seed with reports_bench's seeder, add the event feed; counts and timings."""
    started = time.perf_counter()
    upgrade(url)
    with _quiet_unless(n_dissents >= 100_000):
        dataset = rb.seed(url, n_dissents, datetime.now(UTC), _setseed_value(seed))
    events = seed_events(url, max_events)
    info = {
        "dissents_requested": n_dissents,
        "seed": seed,
        "rows_seeded_seconds": dataset["seed_seconds"],
        "fk_verify_seconds": dataset["fk_verify_seconds"],
        "vacuum_analyze_seconds": dataset["vacuum_analyze_seconds"],
        "events_seconds": events["seconds"],
        "seconds": round(time.perf_counter() - started, 1),
        "counts": counts(url),
    }
    return info


@contextmanager
def _quiet_unless(verbose: bool) -> Iterator[None]:
    """reports_bench prints a line per seeding stage: useful at full size, noise in a smoke run."""
    if verbose:
        yield
        return
    with redirect_stdout(io.StringIO()):
        yield


def _setseed_value(seed: int) -> float:
    """PostgreSQL's setseed() takes a value in [-1, 1]."""
    return (seed % 1_000_003) / 1_000_003


COUNTED = ("conference", "dissent", "deadline", "event", "attendee", "child", "decision", "appeal")


def counts(url: str) -> dict[str, dict[str, int]]:
    """Rows per table: in the bulk authority and in all."""
    engine = engine_for(url)
    out: dict[str, dict[str, int]] = {}
    try:
        with engine.connect() as conn:
            main_id = conn.execute(
                sa.select(table("authority").c.id).where(table("authority").c.code == MAIN)
            ).scalar_one()
            for name in COUNTED:
                t = table(name)
                total = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                main = conn.execute(
                    sa.select(sa.func.count()).select_from(t).where(t.c.authority_id == main_id)
                ).scalar_one()
                out[name] = {"main_authority": int(main), "all": int(total)}
    finally:
        engine.dispose()
    return out


def _sqlite_expr(column: sa.Column[Any]) -> str:
    """A PostgreSQL expression giving the column's value exactly as SQLAlchemy stores it in SQLite."""
    name = f'"{column.name}"'
    kind = column.type
    if isinstance(kind, sa.Uuid):
        return f"replace({name}::text, '-', '')"
    if isinstance(kind, UTCDateTime | sa.DateTime):
        return f"to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    if isinstance(kind, sa.JSON):
        return f"{name}::text"
    if isinstance(kind, sa.Boolean):
        return f"{name}::int"
    if isinstance(kind, sa.Date):
        return f"to_char({name}, 'YYYY-MM-DD')"
    return name


def copy_to_sqlite(pg_url: str, path: Path, *, analyze: bool) -> dict[str, Any]:
    """Copy every table of the seeded PostgreSQL database into a freshly migrated SQLite
    file, values converted on the server to SQLite's stored form (no per-row Python).
    SQLite keeps no statistics unless someone runs ANALYZE, and the service never does, so by
    default neither does this (`analyze` to measure with them)."""
    started = time.perf_counter()
    url = f"sqlite:///{path}"
    upgrade(url)
    rows_by_table: dict[str, int] = {}
    stages: dict[str, float] = {}
    dst = sqlite3.connect(path, isolation_level=None)
    try:
        dst.execute("PRAGMA journal_mode=WAL")
        dst.execute("PRAGMA foreign_keys=OFF")
        dst.execute("PRAGMA synchronous=OFF")
        dst.execute("PRAGMA cache_size=-262144")
        # Build the secondary indexes once at the end, from their own definitions, rather than
        # maintaining them row by row (indexes behind UNIQUE/PRIMARY KEY constraints stay).
        indexes = dst.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        for name, _definition in indexes:
            dst.execute(f'DROP INDEX "{name}"')
        dst.execute("BEGIN")
        with psycopg.connect(_libpq(pg_url)) as src:
            for t in SQLModel.metadata.sorted_tables:
                columns = list(t.columns)
                select = ", ".join(_sqlite_expr(c) for c in columns)
                names = ", ".join(f'"{c.name}"' for c in columns)
                insert = f'INSERT INTO "{t.name}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
                n, table_started = 0, time.perf_counter()
                with src.cursor(name=f"copy_{t.name}") as cur:
                    cur.itersize = 20_000
                    cur.execute(f'SELECT {select} FROM "{t.name}"')  # type: ignore[arg-type]
                    while batch := cur.fetchmany(20_000):
                        dst.executemany(insert, batch)
                        n += len(batch)
                rows_by_table[t.name] = n
                if n:
                    stages[t.name] = round(time.perf_counter() - table_started, 1)
        indexes_started = time.perf_counter()
        for _name, definition in indexes:
            dst.execute(definition)
        stages["indexes"] = round(time.perf_counter() - indexes_started, 1)
        dst.execute("COMMIT")
        if analyze:
            analyze_started = time.perf_counter()
            dst.execute("ANALYZE")
            stages["analyze"] = round(time.perf_counter() - analyze_started, 1)
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        dst.close()
    seconds = time.perf_counter() - started
    log(
        f"  copied to SQLite: {sum(rows_by_table.values()):,} rows in {seconds:.1f} s ({path.stat().st_size >> 20} MB)"
    )
    return {
        "seconds": round(seconds, 1),
        "rows": rows_by_table,
        "stages": stages,
        "bytes": path.stat().st_size,
        "statistics": "ANALYZE after loading" if analyze else "none (the service never runs ANALYZE)",
    }


def seed_baseline(url: str, n: int) -> dict[str, Any]:
    """The baseline's `hero` table, created by the baseline app's own metadata, with n rows."""
    started = time.perf_counter()
    env = {**os.environ, "BASELINE_DATABASE_URL": url}
    subprocess.run(  # noqa: S603 - our own interpreter and module
        [PY, "-c", "import baseline_app; baseline_app.create_db_and_tables()"],
        cwd=BENCH,
        env=env,
        check=True,
    )
    if make_url(url).get_backend_name() == "sqlite":
        conn = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # the service's journal mode, a property of the file
            conn.execute("BEGIN")
            rng = random.Random(n)
            conn.executemany(
                "INSERT INTO hero (name, age, secret_name) VALUES (?, ?, ?)",
                ((f"Hero {i}", rng.randint(10, 90), f"Secret {i}") for i in range(1, n + 1)),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
    else:
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute(
                "INSERT INTO hero (name, age, secret_name) SELECT 'Hero ' || g, 10 + (g::bigint * 7919) %% 81, "
                "'Secret ' || g FROM generate_series(1, %s) g",
                (n,),
            )
            conn.execute("VACUUM ANALYZE hero")
    return {"heroes": n, "seconds": round(time.perf_counter() - started, 1)}


# ---- what the scenarios need -----------------------------------------------------------------


@dataclass
class Fixture:
    """Facts about the seeded data the scenarios draw on (the same on both back ends)."""

    authority_id: uuid.UUID
    event_seq: int
    read_sample: list[tuple[str, str, str]]  # dissent id, dissenter id, agency
    rng_seed: int
    tokens: dict[tuple[str, str, str | None], str] = field(default_factory=dict)

    def token(self, sub: str, role: str, agency: str | None = None) -> str:
        key = (sub, role, agency)
        if key not in self.tokens:
            self.tokens[key] = mint_token(
                SECRET,
                sub=sub,
                roles=[role],
                authority=MAIN,
                agency=agency,
                name=sub,
                ttl=timedelta(hours=24),
            )
        return self.tokens[key]


def load_fixture(url: str, seed: int, sample: int) -> Fixture:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            a = table("authority")
            authority_id, event_seq = conn.execute(
                sa.select(a.c.id, a.c.event_seq).where(a.c.code == MAIN)
            ).one()
            d = table("dissent")
            rows = conn.execute(
                sa.select(d.c.id, d.c.dissenter_id, d.c.dissenter_agency)
                .where(d.c.authority_id == authority_id)
                # a deterministic order (ids are random), so the seed picks the same dissents
                .order_by(d.c.meeting_date, d.c.dissenter_id, d.c.subject, d.c.raised_at)
            ).all()
    finally:
        engine.dispose()
    rng = random.Random(seed)
    picked = rng.sample(rows, min(sample, len(rows)))
    return Fixture(
        authority_id=authority_id,
        event_seq=int(event_seq),
        read_sample=[(str(r[0]), r[1], r[2]) for r in picked],
        rng_seed=seed,
    )


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def read_requests(fx: Fixture, scenario: str, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}-{scenario}")
    if scenario == "read_dissent":
        return [
            {
                "method": "GET",
                "path": f"/v1/dissents/{i}",
                "headers": _auth(fx.token(sub, "professional", agency)),
            }
            for i, sub, agency in fx.read_sample
        ]
    if scenario == "list_dissents":
        reviewer = _auth(fx.token("reviewer-bench", "reviewer"))
        return [
            {"method": "GET", "path": f"/v1/dissents?{f}&limit=50", "headers": reviewer} for f in LIST_FILTERS
        ]
    if scenario == "calendar_deadline":
        headers = _auth(fx.token("pro-1", "professional", "Police"))
        out = []
        for _ in range(VARIANTS):
            start = date(2024, 1, 1) + timedelta(days=rng.randrange(3 * 365))
            amount = (
                f"calendar_days={rng.choice((14, 28))}"
                if rng.random() < 0.2
                else f"working_days={rng.choice((1, 5, 5, 5, 10))}"
            )
            out.append(
                {
                    "method": "GET",
                    "path": f"/v1/calendar/deadline?authority={MAIN}&from={start.isoformat()}&{amount}",
                    "headers": headers,
                }
            )
        return out
    if scenario == "events_feed":
        headers = _auth(fx.token("record-system", "record_system"))
        top = max(fx.event_seq - 50, 0)
        return [
            {"method": "GET", "path": f"/v1/events?after={rng.randint(0, top)}&limit=50", "headers": headers}
            for _ in range(VARIANTS)
        ]
    raise ValueError(scenario)


def baseline_requests(scenario: str, n_rows: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}-{scenario}")
    headers = {"Accept": "application/json"}
    if scenario == "read_by_id":
        return [
            {"method": "GET", "path": f"/heroes/{rng.randint(1, n_rows)}", "headers": headers}
            for _ in range(VARIANTS)
        ]
    if scenario == "list_page":
        pages = max(1, min(20, n_rows // 50))
        return [
            {"method": "GET", "path": f"/heroes/?offset={50 * k}&limit=50", "headers": headers}
            for k in range(pages)
        ]
    if scenario == "insert":
        return [
            {
                "method": "POST",
                "path": "/heroes/",
                "headers": headers,
                "body": json.dumps(
                    {"name": f"Bench hero {i}", "secret_name": f"Secret {i}", "age": rng.randint(10, 90)}
                ),
            }
            for i in range(VARIANTS)
        ]
    raise ValueError(scenario)


def _previous_working_day(cal: WorkingCalendar, day: date) -> date:
    day -= timedelta(days=1)
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    return day


def _row(table_name: str, /, **values: Any) -> dict[str, Any]:
    """A full row of the model's table: every column not given is NULL (a typo fails)."""
    columns = table(table_name).columns
    unknown = set(values) - set(columns.keys())
    if unknown:
        raise KeyError(f"{table_name} has no column {sorted(unknown)}")
    return {c.name: values.get(c.name) for c in columns}


@dataclass
class Meeting:
    id: uuid.UUID
    child_id: uuid.UUID
    day: date
    started: datetime
    ended_at: datetime | None
    people: list[tuple[str, str, str, str]]  # person id, name, role title, agency


class Pools:
    """One-shot requests for the write scenarios, and the rows they need, inserted just
    before the run as the service itself would have written them (events numbered on the
    authority's feed): meetings in progress with attending professionals (raise), and
    dissents awaiting their written form with the deadline running (submit). Each raise is a
    distinct (professional, meeting, subject): one open dissent per person, meeting and
    subject is enforced. Consecutive requests go to different meetings, as many agencies'
    portals would send them."""

    TABLES = ("child", "conference", "conference_child", "decision", "attendee", "dissent", "deadline")

    def __init__(self, url: str, fx: Fixture, seed: int) -> None:
        self.url = url
        self.fx = fx
        self.rng = random.Random(f"{seed}-pools")
        self.calendar = WorkingCalendar("england", TZ)
        profile = get_profile(PROFILE)
        assert profile is not None
        self.rule = profile.dissent.written_step.deadline
        self.batch = 0
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []

    def _id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _add(self, table_name: str, /, **values: Any) -> None:
        self.rows.setdefault(table_name, []).append(_row(table_name, **values))

    def _event(self, when: datetime, type_: str, kind: str, subject: uuid.UUID, data: dict[str, Any]) -> None:
        self.events.append(
            _row(
                "event",
                id=self._id(),
                authority_id=self.fx.authority_id,
                type=type_,
                occurred_at=when,
                subject_kind=kind,
                subject_id=str(subject),
                data=data,
            )
        )

    def _flush(self) -> None:
        """Insert the rows in one transaction, numbering the events on the authority's feed."""
        events = sorted(self.events, key=lambda e: e["occurred_at"])
        engine = engine_for(self.url)
        try:
            with engine.begin() as conn:
                a = table("authority")
                last = conn.execute(
                    sa.update(a)
                    .where(a.c.id == self.fx.authority_id)
                    .values(event_seq=a.c.event_seq + len(events))
                    .returning(a.c.event_seq)
                ).scalar_one()
                for i, e in enumerate(events):
                    e["seq"] = last - len(events) + 1 + i
                for name in self.TABLES:
                    if self.rows.get(name):
                        conn.execute(table(name).insert(), self.rows[name])
                conn.execute(table("event").insert(), events)
        finally:
            engine.dispose()
            self.rows, self.events = {}, []

    def _meetings(self, count: int, *, ended: bool) -> list[Meeting]:
        """Meetings in progress today, or ended on the last working day, each with one child
        and ATTENDEES professionals (and a parent) recorded as attending."""
        self.batch += 1
        now = datetime.now(UTC)
        cal = self.calendar
        day = _previous_working_day(cal, cal.local_date(now)) if ended else cal.local_date(now)
        start = cal.start_of_day(day) + timedelta(hours=10)
        started = start if ended else now - timedelta(minutes=30)
        ended_at = start + timedelta(minutes=90) if ended else None
        created = started - timedelta(days=14)
        aid = self.fx.authority_id
        meetings = []
        for m in range(count):
            child_id, conference_id, chair = self._id(), self._id(), f"chair-pool-{m % 60}"
            self._add(
                "child",
                id=child_id,
                authority_id=aid,
                external_ref=f"pool-{self.batch}-{m}",
                given_name="Child",
                family_name=f"Pool {self.batch}-{m}",
                date_of_birth=date(2018, 1, 1) + timedelta(days=m % 1500),
                version=1,
                created_at=created,
                updated_at=created,
            )
            self._add(
                "conference",
                id=conference_id,
                authority_id=aid,
                meeting_type="review_conference",
                status="ended" if ended else "in_progress",
                scheduled_start=start,
                meeting_date=day,
                chair_id=chair,
                chair_name=f"Chair {chair}",
                started_at=started,
                ended_at=ended_at,
                dissent_invited_at=ended_at - timedelta(minutes=5) if ended_at else None,
                version=6 if ended else 2,
                created_at=created,
                updated_at=ended_at or started,
                procedure_code=PROFILE,
                procedure_version=1,
            )
            self._add("conference_child", conference_id=conference_id, child_id=child_id, position=0)
            self._event(
                created,
                "conference.scheduled",
                "conference",
                conference_id,
                {"meeting_type": "review_conference"},
            )
            self._event(
                started, "conference.started", "conference", conference_id, {"meeting_date": str(day)}
            )
            first = self.rng.randrange(rb.PERSONS)
            people = []
            for k in range(ATTENDEES):
                n = (first + k * 97) % rb.PERSONS
                people.append((f"pro-{n}", f"Professional {n}", rb.ROLE_TITLES[n % 8], rb.AGENCIES[n % 50]))
            for person_id, name, role, agency, kind in [
                *((*p, "professional") for p in people),
                (f"family-pool-{self.batch}-{m}", "Parent", "Parent", "Family", "family"),
            ]:
                self._add(
                    "attendee",
                    id=self._id(),
                    authority_id=aid,
                    conference_id=conference_id,
                    person_id=person_id,
                    name=name,
                    role_title=role,
                    agency=agency,
                    kind=kind,
                    attended=True,
                    created_at=created,
                )
            if ended_at is not None:
                decided = started + timedelta(minutes=50)
                self._add(
                    "decision",
                    id=self._id(),
                    authority_id=aid,
                    conference_id=conference_id,
                    child_id=child_id,
                    outcome="continue",
                    categories=["NEG"],
                    recorded_by=chair,
                    recorded_at=decided,
                )
                data = {"child_id": str(child_id), "outcome": "continue", "categories": ["NEG"]}
                self._event(decided, "conference.decision_recorded", "conference", conference_id, data)
                self._event(
                    ended_at - timedelta(minutes=5),
                    "conference.dissent_invited",
                    "conference",
                    conference_id,
                    {},
                )
                self._event(
                    ended_at, "conference.ended", "conference", conference_id, {"meeting_date": str(day)}
                )
            meetings.append(Meeting(conference_id, child_id, day, started, ended_at, people))
        return meetings

    def _interleave(self, per_meeting: list[list[dict[str, Any]]], n: int) -> list[dict[str, Any]]:
        longest = max((len(x) for x in per_meeting), default=0)
        return [m[i] for i in range(longest) for m in per_meeting if i < len(m)][:n]

    def raise_requests(self, n: int) -> list[dict[str, Any]]:
        meetings = self._meetings(max(1, math.ceil(n / (ATTENDEES * len(SUBJECTS)))), ended=False)
        self._flush()
        per_meeting = [
            [
                {
                    "method": "POST",
                    "path": f"/v1/conferences/{meeting.id}/dissents",
                    "headers": _auth(self.fx.token(person_id, "professional", agency))
                    | {"Idempotency-Key": self._id().hex},
                    "body": json.dumps(
                        {"subject": subject, "reasons": f"The {subject} does not reflect the risk."}
                    ),
                }
                for subject in SUBJECTS
                for person_id, _name, _role, agency in meeting.people
            ]
            for meeting in meetings
        ]
        return self._interleave(per_meeting, n)

    def submit_requests(self, n: int) -> list[dict[str, Any]]:
        meetings = self._meetings(max(1, math.ceil(n / (ATTENDEES * len(SUBJECTS)))), ended=True)
        cal = self.calendar
        today = cal.local_date(datetime.now(UTC)).isoformat()
        aid = self.fx.authority_id
        per_meeting = []
        for meeting in meetings:
            assert meeting.ended_at is not None
            due = deadline_rules.compute(cal, self.rule, meeting.day)
            approaching = cal.start_of_day(cal.previous_working_day(due.due_date))
            requests = []
            for k, (person_id, name, role, agency) in enumerate(meeting.people):
                for j, subject in enumerate(SUBJECTS):
                    dissent_id = self._id()
                    raised_at = meeting.started + timedelta(minutes=10 + 3 * k + j)
                    self._add(
                        "dissent",
                        id=dissent_id,
                        authority_id=aid,
                        conference_id=meeting.id,
                        meeting_date=meeting.day,
                        meeting_type="review_conference",
                        child_ids=[str(meeting.child_id)],
                        raised_against=[],  # the seeded meetings record no decision before the dissent
                        subject=subject,
                        reasons=f"The {subject} does not reflect the risk.",
                        dissenter_id=person_id,
                        dissenter_name=name,
                        dissenter_role_title=role,
                        dissenter_agency=agency,
                        raised_by=person_id,
                        status="awaiting_submission",
                        raised_at=raised_at,
                        unresolved_at=meeting.ended_at,
                        version=2,
                        created_at=raised_at,
                        updated_at=meeting.ended_at,
                    )
                    self._add(
                        "deadline",
                        id=self._id(),
                        authority_id=aid,
                        subject_kind="dissent",
                        subject_id=dissent_id,
                        kind=self.rule.kind,
                        responsible_role="professional",
                        lapses=True,
                        start_date=meeting.day,
                        due_date=due.due_date,
                        due_at=due.due_at,
                        explanation=due.explanation,
                        approaching_at=approaching,
                        created_at=meeting.ended_at,
                    )
                    base = {"conference_id": str(meeting.id)}
                    raised = base | {
                        "subject": subject,
                        "agency": agency,
                        "child_ids": [str(meeting.child_id)],
                    }
                    self._event(raised_at, "dissent.raised", "dissent", dissent_id, raised)
                    unresolved = base | {"status": "awaiting_submission"}
                    self._event(meeting.ended_at, "dissent.unresolved", "dissent", dissent_id, unresolved)
                    form = {
                        "professional": {
                            "name": name,
                            "role": role,
                            "agency": agency,
                            "agency_address": "1 High Street, Townsville",
                            "phone": "01234 567890",
                            "email": f"{person_id}@example.org",
                        },
                        "manager": {"name": "Morgan Manager", "contact": "morgan@example.org"},
                        "children": [{"child_id": str(meeting.child_id), "name": "Riley Example"}],
                        "conference_date": meeting.day.isoformat(),
                        "child_subject_to_plan": True,
                        "discussed_with_line_manager_and_safeguarding_lead": True,
                        "rationale": "The evidence does not show the threshold is met.",
                        "signed_name": name,
                        "signed_on": today,
                    }
                    requests.append(
                        {
                            "method": "POST",
                            "path": f"/v1/dissents/{dissent_id}/written-submission",
                            "headers": _auth(self.fx.token(person_id, "professional", agency))
                            | {"Idempotency-Key": self._id().hex},
                            "body": json.dumps(form),
                        }
                    )
            per_meeting.append(requests)
        self._flush()
        return self._interleave(per_meeting, n)


# ---- processes ------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            out.extend(int(x) for x in text.split())
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    return pids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / _TICK


@dataclass
class Server:
    kind: str
    process: subprocess.Popen[bytes]
    port: int
    workers: int
    log_path: Path

    def worker_pids(self) -> list[int]:
        """The processes serving requests: the server itself with one worker; with several,
        uvicorn's spawned children (not multiprocessing's resource tracker)."""
        if self.workers == 1:
            return [self.process.pid]
        return [
            p
            for p in _children(self.process.pid)
            if "spawn_main" in _cmdline(p) and "resource_tracker" not in _cmdline(p)
        ]

    def rss(self) -> dict[str, float | None]:
        return {str(p): rss_mb(p) for p in self.worker_pids()}

    def cpu(self) -> float:
        return cpu_seconds(_tree(self.process.pid))


def _get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextmanager
def serve(kind: str, db_url: str, workers: int, logdir: Path, label: str) -> Iterator[Server]:
    port = free_port()
    # The service's settings come from here alone (and the defaults), not from the caller's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "BASELINE_", "AUTH_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if kind == "app":
        # A no-op at head; if a migration was added since seeding (the app is being worked on
        # while this runs), apply it as a deployment would, or readiness never comes.
        upgrade(db_url)
        command = [
            PY,
            "-m",
            "app.cli",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        env |= {
            "DATABASE_URL": db_url,
            "AUTH_JWT_SECRET": SECRET,
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",  # no access-log line per request
            "TEST_CLOCK_ENABLED": "false",
        }
        ready = "/health/ready"
    else:
        command = [
            PY, "-m", "uvicorn", "--app-dir", str(BENCH), "baseline_app:app", "--host", HOST,
            "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        env |= {"BASELINE_DATABASE_URL": db_url}
        ready = "/health"
    log_path = logdir / f"{label}-{kind}-{workers}w.log"
    with open(log_path, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(kind, process, port, workers, log_path)
    try:
        _wait_ready(server, ready)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Server, path: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.kind} server exited with {server.process.returncode}:\n{server.log_path.read_text()[-3000:]}"
            )
        try:
            status, body = _get(server.port, path, timeout=2)
            last = f"{status} {body[:500].decode(errors='replace')}"
            if status == 200 and len(server.worker_pids()) >= server.workers:
                # with several workers, give each a moment to finish its own start-up
                for _ in range(server.workers * 4):
                    _get(server.port, path, timeout=5)
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.kind} server not ready after {timeout} s (last answer: {last}):\n"
        + server.log_path.read_text()[-3000:]
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (it and the workers it spawned), then KILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def drive(
    server: Server,
    requests: list[dict[str, Any]],
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    cycle: bool,
) -> dict[str, Any]:
    """One load-generator run against the server; its result plus the server's CPU and RSS."""
    spec = {
        "host": HOST,
        "port": server.port,
        "concurrency": concurrency,
        "duration": duration,
        "warmup": warmup,
        "cycle": cycle,
        "timeout": 30,
        "requests": requests,
    }
    cpu_before = server.cpu()
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [PY, str(BENCH / "loadgen.py")],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=duration + warmup + 120,
        check=False,
    )
    wall = time.perf_counter() - started
    cpu = server.cpu() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["server_cpu_s"] = round(cpu, 2)
    result["server_cpu_ms_per_request"] = (
        round(cpu * 1000 / result["completed_total"], 3) if result["completed_total"] else None
    )
    result["wall_s"] = round(wall, 1)
    result["rss_mb"] = server.rss()
    if server.process.poll() is not None:
        raise RuntimeError(
            f"{server.kind} server died during the run:\n{server.log_path.read_text()[-3000:]}"
        )
    return result


# ---- in-process figures ---------------------------------------------------------------------


def calendar_rate(n: int, seed: int) -> dict[str, Any]:
    """`add_working_days` (the function behind every working-day deadline) on n varied start
    dates, 5 working days each as in the England and Scotland written steps; best of 3."""
    rng = random.Random(seed)
    starts = [date(2020, 1, 1) + timedelta(days=rng.randrange(3650)) for _ in range(n)]
    out: dict[str, Any] = {"computations": n, "working_days": 5, "target_per_s": CALENDAR_RATE}
    for jurisdiction in ("england", "scotland"):
        calendar = WorkingCalendar(jurisdiction, TZ)
        for d in starts[:2000]:  # warm the bank-holiday caches of every year used
            calendar.add_working_days(d, 5)
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            for d in starts:
                calendar.add_working_days(d, 5)
            runs.append(time.perf_counter() - started)
        best = min(runs)
        out[jurisdiction] = {"seconds": [round(r, 3) for r in runs], "per_s": round(n / best)}
    rate = min(out["england"]["per_s"], out["scotland"]["per_s"])
    out["per_s"] = rate
    out["pass"] = rate >= CALENDAR_RATE
    return out


def run_pgbench(dbs: PgDatabases, *, scale: int, concurrency: list[int], duration: float) -> dict[str, Any]:
    """`pgbench -S` (select-only) on a pgbench-initialised scratch database on the same server."""
    binary = shutil.which("pgbench")
    if binary is None:
        log("pgbench: not on PATH, skipped")
        return {"skipped": "pgbench is not on PATH"}
    url = dbs.create("pgbench")
    conninfo = _libpq(url)
    out: dict[str, Any] = {"scale": scale, "runs": []}
    try:
        started = time.perf_counter()
        subprocess.run([binary, "-i", "-q", "-s", str(scale), conninfo], check=True, capture_output=True)  # noqa: S603
        out["init_seconds"] = round(time.perf_counter() - started, 1)
        for clients in concurrency:
            done = subprocess.run(  # noqa: S603 - pgbench with fixed arguments
                [
                    binary,
                    "-S",
                    "-n",
                    "-c",
                    str(clients),
                    "-j",
                    "2",
                    "-T",
                    str(max(1, round(duration))),
                    conninfo,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            tps = re.search(r"tps = ([0-9.]+)", done.stdout)
            latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
            run = {
                "clients": clients,
                "tps": round(float(tps.group(1)), 1) if tps else None,
                "latency_avg_ms": float(latency.group(1)) if latency else None,
            }
            out["runs"].append(run)
            log(f"pgbench -S -c {clients}: {run['tps']} tps, latency {run['latency_avg_ms']} ms")
    finally:
        dbs.drop(url)
    return out


# ---- one back end -------------------------------------------------------------------------------


@dataclass
class Plan:
    backends: list[str]
    workers: list[int]
    concurrency: list[int]
    duration: float
    warmup: float
    seed: int
    write_pool: int
    smoke: bool
    sqlite_analyze: bool
    profile_dir: Path | None = None  # --profile: py-spy on the service worker, first workers/concurrency


def measure_backend(
    backend: str, db_url: str, base_url: str, fx: Fixture, plan: Plan, logdir: Path, n_heroes: int
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    pools = Pools(db_url, fx, plan.seed)
    best_write_rps: dict[str, float] = {}
    for workers in plan.workers:
        app_results: dict[int, dict[str, Any]] = {c: {} for c in plan.concurrency}
        log(f"[{backend}] service, {workers} worker(s)")
        with serve("app", db_url, workers, logdir, backend) as server:
            for concurrency in plan.concurrency:
                for scenario in APP_SCENARIOS:
                    if scenario.kind == "write":
                        window = plan.duration + plan.warmup
                        size = max(
                            plan.write_pool, math.ceil(best_write_rps.get(scenario.name, 0) * window * 2)
                        )
                        made = time.perf_counter()
                        requests = (
                            pools.raise_requests(size)
                            if scenario.name == "raise_dissent"
                            else pools.submit_requests(size)
                        )
                        pool_seconds = round(time.perf_counter() - made, 1)
                        cycle = False
                    else:
                        requests, cycle, pool_seconds = (
                            read_requests(fx, scenario.name, plan.seed),
                            True,
                            None,
                        )
                    sampler, profile_path = None, None
                    if plan.profile_dir and workers == plan.workers[0] and concurrency == plan.concurrency[0]:
                        profile_path = plan.profile_dir / f"profile-{backend}-{scenario.name}.txt"
                        sampler = profile_summary.record(
                            server.worker_pids()[0], plan.warmup + plan.duration, profile_path
                        )
                    result = drive(
                        server, requests, concurrency=concurrency, duration=plan.duration,
                        warmup=plan.warmup, cycle=cycle,
                    )  # fmt: skip
                    if sampler is not None and profile_path is not None:
                        sampler.wait(timeout=60)
                        if profile_path.exists():
                            result["profile"] = profile_summary.summarise(profile_path)
                            result["profile"]["file"] = str(profile_path)
                    if pool_seconds is not None:
                        result["pool_prepared_s"] = pool_seconds
                        best_write_rps[scenario.name] = max(
                            best_write_rps.get(scenario.name, 0), result["requests_per_s"]
                        )
                    app_results[concurrency][scenario.name] = result
                    _print_result(backend, workers, concurrency, scenario.name, result)
        base_results: dict[int, dict[str, Any]] = {c: {} for c in plan.concurrency}
        log(f"[{backend}] baseline, {workers} worker(s)")
        with serve("baseline", base_url, workers, logdir, backend) as server:
            for concurrency in plan.concurrency:
                for scenario in BASELINE_SCENARIOS:
                    result = drive(
                        server, baseline_requests(scenario.name, n_heroes, plan.seed), concurrency=concurrency,
                        duration=plan.duration, warmup=plan.warmup, cycle=True,
                    )  # fmt: skip
                    base_results[concurrency][scenario.name] = result
                    _print_result(backend, workers, concurrency, f"baseline {scenario.name}", result)
        for concurrency in plan.concurrency:
            runs.append(
                {
                    "backend": backend,
                    "workers": workers,
                    "concurrency": concurrency,
                    "app": app_results[concurrency],
                    "baseline": base_results[concurrency],
                }
            )
    return runs


def _print_result(backend: str, workers: int, concurrency: int, name: str, r: dict[str, Any]) -> None:
    extra = " (pool ran out)" if r.get("exhausted") else ""
    log(
        f"  {backend:<10} w={workers} c={concurrency:<3} {name:<22} {r['requests_per_s']:>8.1f} req/s  "
        f"p50 {r['p50_ms']:>7.1f} ms  p99 {r['p99_ms']:>7.1f} ms  errors {r['errors']}{extra}"
        + (f"  e.g. {r['sample_errors'][0][:160]}" if r["sample_errors"] else "")
    )


# ---- scale check ----------------------------------------------------------------------------


def scale_check(
    dbs: PgDatabases, sizes: tuple[int, int], backends: list[str], plan: Plan, logdir: Path, tmp: Path
) -> dict[str, Any]:
    """The dissent list and the event feed on a small and a large data set (`sizes` dissents
    and as many events in the bulk authority each): same requests, one worker, the first
    concurrency level; the large data set's p50 over the small one's."""
    concurrency = plan.concurrency[0]
    out: dict[str, Any] = {"concurrency": concurrency, "workers": 1, "sizes": list(sizes), "backends": {}}
    measured: dict[str, dict[int, dict[str, Any]]] = {b: {} for b in backends}
    datasets: dict[int, dict[str, Any]] = {}
    for size in sizes:
        log(f"[scale] seeding {size:,} dissents")
        url = dbs.create(f"scale{size}")
        datasets[size] = seed_dataset(url, size, plan.seed, max_events=size)
        fx = load_fixture(url, plan.seed, 10)
        for backend in backends:
            target = url
            if backend == "sqlite":
                path = tmp / f"scale-{size}.db"
                datasets[size]["sqlite_copy"] = copy_to_sqlite(url, path, analyze=plan.sqlite_analyze)
                target = f"sqlite:///{path}"
            results: dict[str, Any] = {}
            with serve("app", target, 1, logdir, f"scale{size}-{backend}") as server:
                for name in SCALE_SCENARIOS:
                    results[name] = drive(
                        server, read_requests(fx, name, plan.seed), concurrency=concurrency,
                        duration=plan.duration, warmup=plan.warmup, cycle=True,
                    )  # fmt: skip
                    _print_result(backend, 1, concurrency, f"{name} @{size:,}", results[name])
            measured[backend][size] = results
            if backend == "sqlite":
                path.unlink(missing_ok=True)
        dbs.drop(url)
    small, large = sizes
    for backend in backends:
        rows = {}
        for name in SCALE_SCENARIOS:
            a, b = measured[backend][small][name], measured[backend][large][name]
            table_name = "dissent" if name == "list_dissents" else "event"
            ratio = _ratio(b["p50_ms"], a["p50_ms"])
            rows[name] = {
                "rows_small": datasets[small]["counts"][table_name]["main_authority"],
                "rows_large": datasets[large]["counts"][table_name]["main_authority"],
                "small": _brief(a),
                "large": _brief(b),
                "p50_ratio": ratio,
                "p99_ratio": _ratio(b["p99_ms"], a["p99_ms"]),
                "rps_ratio": _ratio(a["requests_per_s"], b["requests_per_s"]),
                "pass": ratio is not None and ratio <= SCALE_RATIO and not a["errors"] and not b["errors"],
            }
        out["backends"][backend] = rows
    out["datasets"] = {str(k): v for k, v in datasets.items()}
    out["measured"] = {b: {str(k): v for k, v in m.items()} for b, m in measured.items()}
    return out


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("requests_per_s", "p50_ms", "p99_ms", "errors")}


def _ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 2)


# ---- targets and output ---------------------------------------------------------------------


def evaluate(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (back end, workers, concurrency, scenario), app and baseline, with the
    ratio to the baseline figure it is compared with and whether it meets its target."""
    rows = []
    for run in runs:
        base_read = run["baseline"].get("read_by_id", {})
        base_insert = run["baseline"].get("insert", {})
        for scenario in APP_SCENARIOS:
            r = run["app"].get(scenario.name)
            if r is None:
                continue
            row = {k: run[k] for k in ("backend", "workers", "concurrency")} | {
                "scenario": scenario.name,
                "kind": scenario.kind,
                **_brief(r),
                "exhausted": r.get("exhausted", False),
                "server_cpu_ms_per_request": r.get("server_cpu_ms_per_request"),
            }
            if scenario.kind == "read":
                row["compared_with"] = "baseline read_by_id"
                row["rps_ratio"] = _ratio(r["requests_per_s"], base_read.get("requests_per_s"))
                row["p99_ratio"] = _ratio(r["p99_ms"], base_read.get("p99_ms"))
                row["target"] = f">= {READ_RPS_RATIO}x req/s, p99 <= {READ_P99_RATIO}x"
                row["pass"] = (
                    row["rps_ratio"] is not None
                    and row["rps_ratio"] >= READ_RPS_RATIO
                    and row["p99_ratio"] is not None
                    and row["p99_ratio"] <= READ_P99_RATIO
                    and not r["errors"]
                )
            else:
                row["compared_with"] = "baseline insert"
                row["rps_ratio"] = _ratio(r["requests_per_s"], base_insert.get("requests_per_s"))
                row["p99_ratio"] = _ratio(r["p99_ms"], base_insert.get("p99_ms"))
                row["target"] = f">= {WRITE_RPS_RATIO}x req/s"
                row["pass"] = (
                    row["rps_ratio"] is not None and row["rps_ratio"] >= WRITE_RPS_RATIO and not r["errors"]
                )
            rows.append(row)
        for scenario in BASELINE_SCENARIOS:
            r = run["baseline"].get(scenario.name)
            if r is None:
                continue
            rows.append(
                {k: run[k] for k in ("backend", "workers", "concurrency")}
                | {
                    "scenario": f"baseline {scenario.name}",
                    "kind": scenario.kind,
                    **_brief(r),
                    "exhausted": False,
                    "server_cpu_ms_per_request": r.get("server_cpu_ms_per_request"),
                    "compared_with": None,
                    "rps_ratio": None,
                    "p99_ratio": None,
                    "target": None,
                    "pass": None,
                }
            )
    return rows


def memory(runs: list[dict[str, Any]], scale: dict[str, Any] | None) -> dict[str, Any]:
    """The largest resident set each worker process reached (sampled after every scenario)."""
    per: dict[str, dict[str, float]] = {}
    for run in runs:
        for side in ("app", "baseline"):
            key = f"{run['backend']} {side} {run['workers']}w"
            for result in run[side].values():
                for pid, mb in result["rss_mb"].items():
                    if mb is not None:
                        per.setdefault(key, {})[pid] = max(per.get(key, {}).get(pid, 0.0), mb)
    if scale:
        for backend, _rows in scale["backends"].items():
            key = f"{backend} app 1w (scale check)"
            for size_results in scale.get("measured", {}).get(backend, {}).values():
                for result in size_results.values():
                    for pid, mb in result["rss_mb"].items():
                        if mb is not None:
                            per.setdefault(key, {})[pid] = max(per.get(key, {}).get(pid, 0.0), mb)
    app_max = max((mb for k, v in per.items() if " app " in k for mb in v.values()), default=None)
    return {
        "max_per_worker_mb": {k: max(v.values()) for k, v in per.items()},
        "per_process_mb": per,
        "app_max_mb": app_max,
        "limit_mb": RSS_LIMIT_MB,
        "pass": app_max is not None and app_max < RSS_LIMIT_MB,
    }


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _verdict(value: bool | None) -> str:
    return "" if value is None else ("pass" if value else "**FAIL**")


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"# Load benchmark {meta['stamp']}{' (smoke)' if meta['smoke'] else ''}",
        "",
        f"Commit `{meta['git']['commit']}`"
        + (
            f" with uncommitted changes to {len(meta['git']['uncommitted_app_changes'])} app file(s)"
            if meta["git"]["uncommitted_app_changes"]
            else ""
        )
        + f"; {meta['host']['cpus']} CPUs; load average before {meta['load_average_before']}, after {meta['load_average_after']}; "
        f"wall time {meta['wall_seconds']:.0f} s. Each scenario: {meta['plan']['warmup']} s warm-up, then "
        f"{meta['plan']['duration']} s recorded. req/s counts 2xx responses; p50/p99 are of those; errors are "
        "non-2xx responses, broken connections and timeouts. Reads are compared with the baseline's read by id "
        "(req/s ratio, and p99 ratio: lower is better), writes with the baseline's insert, on the same back end, "
        "workers and concurrency.",
        "",
        "| back end | workers | conc. | scenario | req/s | p50 ms | p99 ms | errors | x baseline req/s | x baseline p99 | target | result |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    if not results["table"]:
        lines.append("| (no service runs: `--scale-only`) | | | | | | | | | | | |")
    for row in results["table"]:
        name = row["scenario"] + (" (pool ran out)" if row["exhausted"] else "")
        lines.append(
            f"| {row['backend']} | {row['workers']} | {row['concurrency']} | {name} | {_f(row['requests_per_s'])} | "
            f"{_f(row['p50_ms'], 2)} | {_f(row['p99_ms'], 2)} | {row['errors']} | {_f(row['rps_ratio'], 2)} | "
            f"{_f(row['p99_ratio'], 2)} | {row['target'] or ''} | {_verdict(row['pass'])} |"
        )
    lines += ["", "## Other targets", ""]
    cal = results["calendar"]
    lines.append(
        f"* Deadline function in-process: {cal['per_s']:,} computations/s (England {cal['england']['per_s']:,}, "
        f"Scotland {cal['scotland']['per_s']:,}; target > {CALENDAR_RATE:,}): {_verdict(cal['pass'])}"
    )
    mem = results["memory"]
    lines.append(
        f"* Resident memory per worker (max over every scenario): service {_f(mem['app_max_mb'])} MB "
        f"(target < {RSS_LIMIT_MB:.0f} MB): {_verdict(mem['pass'])}; "
        + "; ".join(f"{k} {_f(v)} MB" for k, v in sorted(mem["max_per_worker_mb"].items()))
    )
    pg = results.get("pgbench")
    if pg and "runs" in pg:
        lines.append(
            f"* `pgbench -S` (scale {pg['scale']}, same server): "
            + "; ".join(
                f"{r['clients']} clients {_f(r['tps'])} tps (avg {r['latency_avg_ms']} ms)"
                for r in pg["runs"]
            )
        )
    elif pg:
        lines.append(f"* `pgbench -S`: skipped ({pg.get('skipped')})")
    scale = results.get("scale")
    if scale:
        lines += [
            "",
            f"## Scale: {scale['sizes'][0]:,} vs {scale['sizes'][1]:,} dissents "
            f"(1 worker, concurrency {scale['concurrency']}; target p50 ratio <= {SCALE_RATIO})",
            "",
            "| back end | scenario | rows small | rows large | p50 small ms | p50 large ms | p50 ratio | p99 ratio | result |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for backend, rows in scale["backends"].items():
            for name, r in rows.items():
                lines.append(
                    f"| {backend} | {name} | {r['rows_small']:,} | {r['rows_large']:,} | {_f(r['small']['p50_ms'], 2)} | "
                    f"{_f(r['large']['p50_ms'], 2)} | {_f(r['p50_ratio'], 2)} | {_f(r['p99_ratio'], 2)} | {_verdict(r['pass'])} |"
                )
    else:
        lines += ["", "Scale check not run (`--scale-check`)."]
    lines += ["", "## Data", ""]
    datasets = [(backend, info) for backend, info in results["datasets"].items()]
    if scale:
        datasets += [(f"scale check, {int(size):,}", info) for size, info in scale["datasets"].items()]
    for label, info in datasets:
        counted = ", ".join(f"{v['main_authority']:,} {k}" for k, v in info.get("counts", {}).items())
        copy = info.get("sqlite_copy")
        base = info.get("baseline")
        lines.append(
            f"* {label}: {counted} in `{MAIN}`; seeded on PostgreSQL in {info.get('seconds')} s"
            + (
                f", copied to SQLite in {copy['seconds']} s (statistics: {copy['statistics']})"
                if copy
                else ""
            )
            + (f"; baseline: {base['heroes']:,} heroes in {base['seconds']} s" if base else "")
        )
    for run in results["runs"]:
        for name, r in run["app"].items():
            if r.get("profile"):
                title = (
                    f"{run['backend']}, {run['workers']} worker(s), concurrency {run['concurrency']}: {name}"
                )
                lines += ["", profile_summary.markdown(title, r["profile"])]
    failed = [t for t in results["targets"] if t["pass"] is False]
    lines += ["", f"Targets: {sum(1 for t in results['targets'] if t['pass'])} met, {len(failed)} missed."]
    return "\n".join(lines)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = [
        {"target": f"{r['backend']} {r['workers']}w c{r['concurrency']} {r['scenario']}", "pass": r["pass"]}
        for r in results["table"]
        if r["pass"] is not None
    ]
    out.append({"target": "deadline function computations/s", "pass": results["calendar"]["pass"]})
    out.append({"target": "resident memory per worker", "pass": results["memory"]["pass"]})
    for backend, rows in (results.get("scale") or {}).get("backends", {}).items():
        for name, r in rows.items():
            out.append({"target": f"scale {backend} {name}", "pass": r["pass"]})
    return out


# ---- main -----------------------------------------------------------------------------------


def _csv_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--smoke", action="store_true", help="tiny data, 1 worker, concurrency 4, ~1 s per scenario"
    )
    parser.add_argument("--backends", default="postgresql,sqlite", help="comma-separated: postgresql,sqlite")
    parser.add_argument("--workers", default=None, help="comma-separated worker counts (default 1,2)")
    parser.add_argument(
        "--concurrency", default=None, help="comma-separated connection counts (default 16,64)"
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="recorded seconds per scenario (default 10)"
    )
    parser.add_argument("--warmup", type=float, default=None, help="unrecorded seconds first (default 2)")
    parser.add_argument(
        "--dissents",
        type=int,
        default=None,
        help=f"dissents in the bulk authority (default {FULL_DISSENTS:,})",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed for the data and the request mix")
    parser.add_argument(
        "--write-pool", type=int, default=None, help="requests prepared per write run (default 4000)"
    )
    parser.add_argument(
        "--scale-check",
        action="store_true",
        help="also compare list and feed at 10,000 vs 1,000,000 dissents",
    )
    parser.add_argument(
        "--sqlite-analyze",
        action="store_true",
        help="run ANALYZE on the SQLite copy (the service itself never does; default: no statistics)",
    )
    parser.add_argument(
        "--scale-only", action="store_true", help="only the scale check (implies --scale-check)"
    )
    parser.add_argument("--scale-backends", default="postgresql", help="back ends for the scale check")
    parser.add_argument(
        "--pg",
        default=DEFAULT_PG,
        help="PostgreSQL server URL (a superuser); throwaway databases go beside it",
    )
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--fail-on-target", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the service worker with py-spy during each scenario (first workers/concurrency only)",
    )
    args = parser.parse_args(argv)

    smoke = args.smoke
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or any(b not in ("postgresql", "sqlite") for b in backends):
        parser.error("--backends takes postgresql and/or sqlite")
    plan = Plan(
        backends=backends,
        workers=_csv_ints(args.workers) if args.workers else ([1] if smoke else [1, 2]),
        concurrency=_csv_ints(args.concurrency) if args.concurrency else ([4] if smoke else [16, 64]),
        duration=args.duration if args.duration is not None else (0.5 if smoke else 10.0),
        warmup=args.warmup if args.warmup is not None else (0.2 if smoke else 2.0),
        seed=args.seed,
        write_pool=args.write_pool or (400 if smoke else 4000),
        smoke=smoke,
        sqlite_analyze=args.sqlite_analyze,
    )
    if args.profile:
        plan.profile_dir = args.output_dir / f"profiles-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
        plan.profile_dir.mkdir(parents=True, exist_ok=True)
    n_dissents = args.dissents or (SMOKE_DISSENTS if smoke else FULL_DISSENTS)
    scale_sizes = SMOKE_SCALE_SIZES if smoke else SCALE_SIZES
    do_scale = args.scale_check or args.scale_only or smoke
    scale_backends = [b.strip() for b in args.scale_backends.split(",") if b.strip()]

    def _terminate(signum: int, _frame: Any) -> None:
        for other in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # let the clean-up finish
            signal.signal(other, signal.SIG_IGN)
        log(f"stopping (signal {signum}): dropping the databases and stopping the servers")
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # clean up however it is stopped
        signal.signal(signum, _terminate)
    started_at = datetime.now(UTC)
    wall = time.perf_counter()
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    meta: dict[str, Any] = {
        "stamp": stamp,
        "started_at": started_at.isoformat(timespec="seconds"),
        "smoke": smoke,
        "plan": plan.__dict__,
        "dissents": n_dissents,
        "git": rb._git_state(),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "postgres": rb._pg_facts(args.pg),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "service_env": {
            "LOG_LEVEL": "WARNING",
            "ENVIRONMENT": "development",
            "DATABASE_POOL_SIZE": "default",
        },
        "load_generator": "bench/loadgen.py (asyncio, keep-alive HTTP/1.1, one process)",
        "scenarios": {s.name: s.title for s in [*APP_SCENARIOS, *BASELINE_SCENARIOS]},
        "list_filters": LIST_FILTERS,
    }
    results: dict[str, Any] = {"meta": meta, "datasets": {}}
    log(
        f"load benchmark {stamp}: {n_dissents:,} dissents, back ends {backends}, workers {plan.workers}, "
        f"concurrency {plan.concurrency}, {plan.warmup}+{plan.duration} s per scenario"
    )
    log("deadline function in-process")
    results["calendar"] = calendar_rate(10_000 if smoke else 100_000, args.seed)
    log(f"  {results['calendar']['per_s']:,} computations/s")

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load_bench_")))
        logdir = tmp / "logs"
        logdir.mkdir()
        dbs = stack.enter_context(PgDatabases(args.pg))
        runs: list[dict[str, Any]] = []
        if not args.scale_only:
            log(f"seeding {n_dissents:,} dissents on PostgreSQL")
            seed_url = dbs.create("main")
            pg_info = seed_dataset(seed_url, n_dissents, args.seed)
            log(
                f"  seeded in {pg_info['seconds']} s: "
                + ", ".join(f"{v['main_authority']:,} {k}" for k, v in pg_info["counts"].items())
            )
            fx = load_fixture(seed_url, args.seed, 200 if smoke else READ_SAMPLE)
            urls: dict[str, str] = {}
            if "sqlite" in backends:
                path = tmp / "load.db"
                copy = copy_to_sqlite(seed_url, path, analyze=plan.sqlite_analyze)
                results["datasets"]["sqlite"] = {
                    **pg_info,
                    "sqlite_copy": copy,
                    "total_seconds": round(pg_info["seconds"] + copy["seconds"], 1),
                }
                urls["sqlite"] = f"sqlite:///{path}"
            if "postgresql" in backends:
                results["datasets"]["postgresql"] = pg_info
                urls["postgresql"] = seed_url
            else:
                dbs.drop(seed_url)
            for backend in backends:
                if backend == "postgresql":
                    log("pgbench")
                    results["pgbench"] = run_pgbench(
                        dbs, scale=1 if smoke else 10, concurrency=plan.concurrency, duration=plan.duration
                    )
                    base_url = dbs.create("baseline")
                else:
                    base_url = f"sqlite:///{tmp / 'baseline.db'}"
                log(f"[{backend}] seeding the baseline's {n_dissents:,} heroes")
                results["datasets"].setdefault(backend, {})["baseline"] = seed_baseline(base_url, n_dissents)
                runs += measure_backend(backend, urls[backend], base_url, fx, plan, logdir, n_dissents)
                if backend == "postgresql":
                    dbs.drop(base_url)
        results["runs"] = runs
        scale = None
        if do_scale:
            scale = scale_check(dbs, scale_sizes, scale_backends, plan, logdir, tmp)
        results["scale"] = scale
        logs_kept = args.output_dir / f"load-{stamp}-logs"
        errors_seen = any(
            r["errors"] for run in runs for side in ("app", "baseline") for r in run[side].values()
        )
        if errors_seen:  # keep the servers' logs to see why
            shutil.copytree(logdir, logs_kept, dirs_exist_ok=True)
            meta["server_logs"] = str(logs_kept)

    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["wall_seconds"] = round(time.perf_counter() - wall, 1)
    meta["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["table"] = evaluate(results["runs"])
    results["memory"] = memory(results["runs"], results["scale"])
    results["targets"] = targets(results)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    prefix = "load-smoke-" if smoke else "load-"
    json_path = args.output_dir / f"{prefix}{stamp}.json"
    md_path = args.output_dir / f"{prefix}{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = markdown(results)
    md_path.write_text(text + "\n")
    log("")
    log(text)
    log("")
    log(f"results: {json_path}")
    log(f"table:   {md_path}")
    missed = [t["target"] for t in results["targets"] if t["pass"] is False]
    failed_requests = sum(
        r["errors"] for run in results["runs"] for side in ("app", "baseline") for r in run[side].values()
    )
    if smoke and failed_requests:  # CI's smoke run proves the harness still drives the service
        log(f"{failed_requests} requests failed: the harness no longer matches the service")
        return 1
    return 1 if (missed and args.fail_on_target) else 0


if __name__ == "__main__":
    sys.exit(main())
