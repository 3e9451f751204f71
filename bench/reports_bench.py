"""Reports benchmark: the three reports against a PostgreSQL database seeded with a million
dissents (SPEC §10; the issue asks for every report under 300 ms and the overdue list's
first page under 50 ms).

    .venv/bin/python bench/reports_bench.py                      # 1,000,000 dissents
    .venv/bin/python bench/reports_bench.py --dissents 200000    # any size
    .venv/bin/python bench/reports_bench.py --smoke              # 2,000 dissents, seconds (CI)

What it does, in order:

1. creates a throwaway database `dissent_bench_<random>` on the server named by `--pg`
   (default `BENCH_PG_URL` or postgresql://postgres@127.0.0.1:5432/postgres) and migrates
   it with Alembic, exactly as the service does;
2. seeds it with server-side SQL (INSERT ... SELECT over generate_series, no Python row
   loops): one authority per profile, the bulk (all `--dissents`) in one england
   authority, two small Scottish authorities (2% each) so the indexes hold other tenants'
   rows too; conferences, children, decisions, attendees, dissents at every status,
   deadlines consistent with the status and the working-day calendar, appeals where the
   profile has them; then VACUUM ANALYZE;
3. times the three reports in-process through the real application (create_app, the ASGI
   transport of httpx, a minted admin token): each scenario once to warm up, then
   `--iterations` times; min / median / p95 / max in milliseconds;
4. runs every SQL statement a report issued (captured from the engine during the warm-up)
   under EXPLAIN (ANALYZE, BUFFERS) and keeps the plans;
5. writes bench/results/reports-<timestamp>.json (figures, dataset, plans) and
   reports-<timestamp>.md (table and the plans of the slowest statements), prints the
   table, and drops the database whatever happens.

The exit status is 0 when the run completed, whatever the figures (a benchmark, not a
test); `--fail-on-target` makes a missed target exit 1.
"""

# The seed is SQL text built from this file's own constants (never from input), in long lines.
# ruff: noqa: E501, S608

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from app.migrations_state import upgrade  # noqa: E402
from app.profiles import get_profile  # noqa: E402
from app.rules.calendar import WorkingCalendar  # noqa: E402
from app.security import mint_token  # noqa: E402

DEFAULT_PG = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TZ = "Europe/London"  # every seeded authority keeps the default time zone
SECRET = "bench-" + "x" * 40
YEARS = 3  # meeting dates spread over the last three years
PERSONS = 20_000  # professionals who may dissent, per authority
MAIN_CODE = "bench-england"

SUMMARY_TARGET_MS = 300.0
TIMELINESS_TARGET_MS = 300.0
OVERDUE_TARGET_MS = 50.0

AGENCIES = [
    "Police",
    "Health visiting",
    "School nursing",
    "Primary school",
    "Secondary school",
    "GP practice",
    "Midwifery",
    "Adult mental health",
    "Child and adolescent mental health",
    "Drug and alcohol service",
    "Probation",
    "Youth justice",
    "Housing",
    "Early help",
    "Children's social care",
    "Domestic abuse service",
    "Paediatrics",
    "Emergency department",
    "Nursery",
    "Further education college",
]
AGENCIES += [f"Voluntary sector partner {i:02d}" for i in range(1, 51 - len(AGENCIES))]
ROLE_TITLES = [
    "Health visitor",
    "Designated safeguarding lead",
    "Police officer",
    "School nurse",
    "GP",
    "Midwife",
    "Family support worker",
    "Probation officer",
]


# ---- what each profile's dissents look like ---------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """The procedure one seeded authority follows, as far as the seed needs it."""

    code: str
    name: str
    profile: str
    jurisdiction: str
    share: float  # of --dissents (the bulk authority has 1.0)
    meeting_types: list[tuple[str, float]]
    subjects: list[tuple[str, float]]
    # The written step (the dissenter's form, or the chair's referral).
    written_kind: str
    written_wd: int
    wait_status: str
    done_status: str
    written_role: str
    lapses: bool
    written_normal: tuple[int, int]  # working days after the meeting it is done
    written_late: tuple[int, int] | None  # only steps that do not lapse can be late
    # The review deadline, started when the written step is done.
    review_kind: str | None
    review_unit: str  # "wd" | "cd"
    review_n: int
    review_from: str  # "received" | "meeting_date"
    meeting_required: bool
    rm_normal: tuple[int, int]  # working days after receipt the review meeting is held
    rm_late: tuple[int, int]
    dec_normal: tuple[int, int]  # working days after the meeting (or receipt) it is decided
    dec_late: tuple[int, int] | None
    outcomes: list[tuple[str, float]]
    family_informed: bool
    family_informant: bool
    practice_improvements: bool
    appeals: bool
    categories: list[str] = field(default_factory=list)


SPECS = [
    Spec(
        code=MAIN_CODE,
        name="Bench England (bulk)",
        profile="england-cp-conference",
        jurisdiction="england",
        share=1.0,
        meeting_types=[
            ("initial_conference", 0.35),
            ("review_conference", 0.55),
            ("pre_birth_conference", 0.10),
        ],
        subjects=[("plan", 0.30), ("category", 0.25), ("registration", 0.45)],
        written_kind="written_submission",
        written_wd=5,
        wait_status="awaiting_submission",
        done_status="submitted",
        written_role="professional",
        lapses=True,
        written_normal=(1, 5),
        written_late=None,
        review_kind="review_meeting",
        review_unit="wd",
        review_n=5,
        review_from="received",
        meeting_required=True,
        rm_normal=(1, 5),
        rm_late=(6, 12),
        dec_normal=(1, 8),
        dec_late=None,
        outcomes=[("uphold", 0.8), ("reconvene", 0.2)],
        family_informed=True,
        family_informant=False,
        practice_improvements=False,
        appeals=False,
    ),
    Spec(
        code="bench-scotland-reg",
        name="Bench Scotland (registration)",
        profile="scotland-cppm-registration",
        jurisdiction="scotland",
        share=0.02,
        meeting_types=[("initial_cppm", 0.35), ("review_cppm", 0.55), ("pre_birth_cppm", 0.10)],
        subjects=[("registration", 1.0)],
        written_kind="referral",
        written_wd=1,
        wait_status="awaiting_referral",
        done_status="referred",
        written_role="chair",
        lapses=False,
        written_normal=(0, 1),
        written_late=(2, 4),
        review_kind="review_response",
        review_unit="cd",
        review_n=28,
        review_from="meeting_date",
        meeting_required=False,
        rm_normal=(0, 0),
        rm_late=(0, 0),
        dec_normal=(4, 18),
        dec_late=(21, 30),
        outcomes=[("uphold", 0.85), ("reconvene", 0.15)],
        family_informed=False,
        family_informant=False,
        practice_improvements=False,
        appeals=True,
    ),
    Spec(
        code="bench-scotland-carm",
        name="Bench Scotland (CARM)",
        profile="scotland-cppm-carm",
        jurisdiction="scotland",
        share=0.02,
        meeting_types=[("initial_cppm", 0.3), ("review_cppm", 0.45), ("pre_birth_cppm", 0.1), ("carm", 0.15)],
        subjects=[("plan", 0.35), ("category", 0.35), ("registration", 0.30)],
        written_kind="written_submission",
        written_wd=5,
        wait_status="awaiting_submission",
        done_status="submitted",
        written_role="professional",
        lapses=True,
        written_normal=(1, 5),
        written_late=None,
        review_kind=None,
        review_unit="wd",
        review_n=0,
        review_from="received",
        meeting_required=False,
        rm_normal=(0, 0),
        rm_late=(0, 0),
        dec_normal=(2, 12),
        dec_late=None,
        outcomes=[("uphold", 0.7), ("change_category", 0.15), ("reconvene", 0.15)],
        family_informed=True,
        family_informant=True,
        practice_improvements=True,
        appeals=False,
    ),
]

# Share of all dissents by fate (the rest go on to the written step being done).
FATE_RESOLVED = 0.24  # resolved by the chair in the meeting
FATE_WITHDRAWN_IN_MEETING = 0.03
FATE_LAPSE = 0.14  # written step never done (profiles whose step lapses)
FATE_STUCK_WRITTEN = 0.03  # chair never refers (profiles whose step does not lapse)
FATE_WITHDRAW_WAITING = 0.04  # withdrawn after the meeting, before the written step
# Of those whose written step is done:
SUB_STUCK_REVIEW = 0.035  # the reviewer never acts: overdue once past due
SUB_WITHDRAW_AFTER = 0.02
SUB_LATE = 0.12  # review meeting (or decision, where that is the deadline) late


def _lit(value: str) -> str:
    """A SQL string literal of one of our own constants."""
    return "'" + value.replace("'", "''") + "'"


def _pick(u: str, choices: list[tuple[str, float]]) -> str:
    """CASE over a uniform draw `u` picking a label with the given weights."""
    total = sum(w for _, w in choices)
    parts, acc = [], 0.0
    for label, weight in choices[:-1]:
        acc += weight / total
        parts.append(f"WHEN {u} < {acc:.6f} THEN {_lit(label)}")
    return f"(CASE {' '.join(parts)} ELSE {_lit(choices[-1][0])} END)" if parts else _lit(choices[-1][0])


def _between(u: str, lo: int, hi: int, skew: float = 1.0) -> str:
    """An integer in lo..hi from a uniform draw `u` (skew > 1 favours the low end)."""
    draw = u if skew == 1.0 else f"power({u}, {skew})"
    return f"least({hi}, {lo} + floor({draw} * {hi - lo + 1})::int)"


def _sod(d: str) -> str:
    """Start of local day `d` as timestamptz."""
    return f"(({d})::timestamp AT TIME ZONE '{TZ}')"


def _eod(d: str) -> str:
    """End of local day `d` (23:59:59.999999) as timestamptz, as the service stores due_at."""
    return f"((({d}) + 1)::timestamp AT TIME ZONE '{TZ}' - interval '1 microsecond')"


# ---- database lifecycle -----------------------------------------------------------------------


def _server_url(pg: str, dbname: str) -> str:
    return make_url(pg).set(database=dbname).render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    """A SQLAlchemy-style URL as libpq accepts it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def throwaway_database(pg: str) -> Iterator[str]:
    name = f"dissent_bench_{secrets.token_hex(4)}"
    admin = _libpq(pg)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(f"created database {name}", flush=True)
    try:
        yield _server_url(pg, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        print(f"dropped database {name}", flush=True)


# ---- seeding ------------------------------------------------------------------------------------


class Seeder:
    def __init__(self, conn: psycopg.Connection[Any], now: datetime, seed: float) -> None:
        self.conn = conn
        self.now = now
        self.today = now.astimezone(ZoneInfo(TZ)).date()
        self.stages: list[dict[str, Any]] = []
        self.seed = seed
        self.current = "-"

    def run(self, label: str, statement: str, params: dict[str, Any] | None = None) -> int:
        started = time.perf_counter()
        cur = self.conn.execute(statement, params or {})  # type: ignore[arg-type]
        rows = cur.rowcount
        elapsed = time.perf_counter() - started
        self.stages.append(
            {"authority": self.current, "stage": label, "seconds": round(elapsed, 2), "rows": rows}
        )
        print(f"  {label:<48} {rows:>10,} rows {elapsed:7.1f} s", flush=True)
        return rows

    # -- calendar ---------------------------------------------------------------------------

    def calendar(self, first: date, last: date) -> None:
        """bench_cal: every date with its working-day number n (working days up to and
        including it) and the previous working day; bench_wd: working days by number, with
        the service's own explanation of 1 and 5 working days after it."""
        self.conn.execute(
            "CREATE TEMP TABLE bench_cal (jur text, d date, n int, is_wd bool, prev_wd date, "
            "PRIMARY KEY (jur, d))"
        )
        self.conn.execute(
            "CREATE TEMP TABLE bench_wd (jur text, n int, d date, expl1 text, expl5 text, PRIMARY KEY (jur, n))"
        )
        for jur in sorted({s.jurisdiction for s in SPECS}):
            cal = WorkingCalendar(jur, TZ)
            n, prev, day = 0, None, first
            cal_rows, wd_rows = [], []
            while day <= last:
                working = cal.is_working_day(day)
                cal_rows.append((jur, day, n + (1 if working else 0), working, prev))
                if working:
                    n += 1
                    wd_rows.append(
                        (
                            jur,
                            n,
                            day,
                            cal.add_working_days(day, 1).explanation,
                            cal.add_working_days(day, 5).explanation,
                        )
                    )
                    prev = day
                day += timedelta(days=1)
            with self.conn.cursor() as cur:
                with cur.copy("COPY bench_cal FROM STDIN") as copy:
                    for row in cal_rows:
                        copy.write_row(row)
                with cur.copy("COPY bench_wd FROM STDIN") as copy:
                    for row in wd_rows:
                        copy.write_row(row)
        self.conn.execute("ANALYZE bench_cal")
        self.conn.execute("ANALYZE bench_wd")

    # -- one authority ----------------------------------------------------------------------

    def authority(self, spec: Spec, n_dissents: int) -> dict[str, Any]:
        profile = get_profile(spec.profile)
        assert profile is not None, spec.profile
        categories = [c.code for c in profile.categories]
        aid = uuid.uuid4()
        p: dict[str, Any] = {
            "aid": aid,
            "jur": spec.jurisdiction,
            "now": self.now,
            "today": self.today,
            "n": n_dissents,
            "agencies": AGENCIES,
            "roles": ROLE_TITLES,
            "cats": categories,
            "profile": spec.profile,
        }
        print(f"seeding {spec.code} ({spec.profile}): {n_dissents:,} dissents", flush=True)
        self.current = spec.code
        self.run(
            "authority",
            "INSERT INTO authority (id, code, name, profile, jurisdiction, timezone, closure_dates, "
            "extra_categories, event_seq, version, created_at, updated_at) VALUES (%(aid)s, %(code)s, "
            "%(name)s, %(profile)s, %(jur)s, %(tz)s, '[]', '[]', 0, 1, %(created)s, %(created)s)",
            {
                **p,
                "code": spec.code,
                "name": spec.name,
                "profile": spec.profile,
                "tz": TZ,
                "created": self.now - timedelta(days=365 * YEARS + 60),
            },
        )
        # Working-day numbers of the meeting window: the last working day before today and
        # three years of working days before it.
        n_hi = self.conn.execute(
            "SELECT max(n) FROM bench_wd WHERE jur = %(jur)s AND d < %(today)s", p
        ).fetchone()[0]  # type: ignore[index]
        n_lo = self.conn.execute(
            "SELECT min(n) FROM bench_wd WHERE jur = %(jur)s AND d >= %(start)s",
            {**p, "start": self.today - timedelta(days=365 * YEARS)},
        ).fetchone()[0]  # type: ignore[index]
        n_conf_max = math.ceil(n_dissents / 3.02 * 1.3) + 30
        pool = max(10, math.ceil(n_conf_max * 0.8 / 1.3))
        p |= {"n_lo": n_lo, "span": n_hi - n_lo + 1, "n_conf_max": n_conf_max, "pool": pool}
        for table in ("bch", "bc", "bcc", "bdec", "bd_a", "bd_b", "bd", "ba"):
            self.conn.execute(f"DROP TABLE IF EXISTS {table}")

        # Children: a pool that conferences draw from (siblings are consecutive).
        self.run(
            "children (staging)",
            "CREATE TEMP TABLE bch AS SELECT g AS ch_no, gen_random_uuid() AS id, random() AS u "
            "FROM generate_series(0, %(pool)s - 1) g",
            p,
        )
        self.run(
            "child",
            "INSERT INTO child (id, authority_id, external_ref, given_name, family_name, date_of_birth, "
            "expected_date_of_birth, version, created_at, updated_at) "
            "SELECT id, %(aid)s, 'ref-' || ch_no, 'Child', 'Bench ' || ch_no, "
            "%(today)s - (200 + floor(u * 6000))::int, NULL, 1, %(now)s - interval '4 years', "
            "%(now)s - interval '4 years' FROM bch",
            p,
        )

        # Conferences: how many dissents each (1..6, mean about 3), a meeting on a working
        # day in the window, 09:00-15:00 local, an hour or two long.
        k_case = _pick("u_k", [("1", 0.22), ("2", 0.20), ("3", 0.20), ("4", 0.18), ("5", 0.12), ("6", 0.08)])
        self.run(
            "conferences (staging)",
            f"""
            CREATE TEMP TABLE bc AS
            WITH raw AS (
              SELECT g AS c_no, random() AS u_k, random() AS u_day, random() AS u_type, random() AS u_time,
                     random() AS u_dur, random() AS u_nch, random() AS u_child
              FROM generate_series(0, %(n_conf_max)s - 1) g
            ), sized AS (
              SELECT raw.*, {k_case}::int AS k FROM raw
            ), cum AS (
              SELECT sized.*, (sum(k) OVER (ORDER BY c_no) - k)::int AS d_start FROM sized
            ), placed AS (
              SELECT c_no, least(k, %(n)s - d_start)::int AS k, d_start, u_time, u_dur, u_nch, u_child,
                     {_pick("u_type", spec.meeting_types)}::text AS meeting_type,
                     %(n_lo)s + floor(u_day * %(span)s)::int AS n_m
              FROM cum WHERE d_start < %(n)s
            )
            SELECT c_no, gen_random_uuid() AS id, NULL::uuid AS reconvened_from_id, k, d_start, meeting_type,
                   n_m, w.d AS meeting_date, 'ended'::text AS status,
                   {_sod("w.d")} + interval '9 hours' + floor(u_time * 13) * interval '30 minutes'
                     AS scheduled_start,
                   u_dur,
                   CASE WHEN u_nch < 0.7 THEN 1 WHEN u_nch < 0.95 THEN 2 ELSE 3 END AS n_children,
                   floor(u_child * %(pool)s)::int AS ch_base,
                   'chair-' || (c_no %% 60) AS chair_id
            FROM placed JOIN bench_wd w ON w.jur = %(jur)s AND w.n = placed.n_m
            """,
            p,
        )
        self.conn.execute("ALTER TABLE bc ADD COLUMN started_at timestamptz, ADD COLUMN ended_at timestamptz")
        self.conn.execute(
            "UPDATE bc SET started_at = scheduled_start + u_dur * interval '10 minutes', "
            "ended_at = scheduled_start + interval '60 minutes' + u_dur * interval '90 minutes'"
        )
        self.conn.execute("CREATE INDEX ON bc (c_no)")
        self.conn.execute("ANALYZE bc")
        self.run(
            "conference children (staging)",
            "CREATE TEMP TABLE bcc AS SELECT bc.c_no, bc.id AS conference_id, bch.id AS child_id, j AS position "
            "FROM bc CROSS JOIN LATERAL generate_series(0, bc.n_children - 1) j "
            "JOIN bch ON bch.ch_no = (bc.ch_base + j) %% %(pool)s",
            p,
        )
        self.conn.execute("ANALYZE bcc")

        # Dissents, stage 1: the draws and the fate of each.
        if spec.lapses:
            fates = [
                ("resolved", FATE_RESOLVED),
                ("withdrawn_meeting", FATE_WITHDRAWN_IN_MEETING),
                ("lapse", FATE_LAPSE),
                ("withdraw_wait", FATE_WITHDRAW_WAITING),
            ]
        else:
            fates = [
                ("resolved", FATE_RESOLVED),
                ("withdrawn_meeting", FATE_WITHDRAWN_IN_MEETING),
                ("stuck_written", FATE_STUCK_WRITTEN),
                ("withdraw_wait", FATE_WITHDRAW_WAITING),
            ]
        fates.append(("done", 1.0 - sum(w for _, w in fates)))
        subs = [
            ("stuck_review", SUB_STUCK_REVIEW),
            ("withdraw_after", SUB_WITHDRAW_AFTER),
            ("late", SUB_LATE),
            ("normal", 1.0 - SUB_STUCK_REVIEW - SUB_WITHDRAW_AFTER - SUB_LATE),
        ]
        self.run(
            "dissents (staging: draws)",
            f"""
            CREATE TEMP TABLE bd_a AS
            SELECT x.*, {_pick("u_fate", fates)} AS fate, {_pick("u_sub", subs)} AS sub,
                   {_pick("u_subject", spec.subjects)} AS subject,
                   {_pick("u_out", spec.outcomes)} AS outcome_pick,
                   (x.c_no * 7 + x.j * 13) %% {PERSONS} AS person_no
            FROM (
              SELECT c.id AS conference_id, c.c_no, g.j, c.meeting_date, c.meeting_type, c.n_m, c.chair_id,
                     c.started_at, c.ended_at,
                     random() AS u_fate, random() AS u_sub, random() AS u_subject, random() AS u_out,
                     random() AS u_s, random() AS u_r, random() AS u_d, random() AS u_t1, random() AS u_t2,
                     random() AS u_t3, random() AS u_t4, random() AS u_t5
              FROM bc c CROSS JOIN LATERAL generate_series(1, c.k) g(j)
              WHERE c.k > 0
            ) x
            """,
            p,
        )

        # Stage 2: working-day offsets of every step.
        written_done = _between("u_s", *spec.written_normal, skew=1.5)
        if spec.written_late:
            written_done = (
                f"(CASE WHEN u_t2 < 0.08 THEN {_between('u_s', *spec.written_late)} ELSE {written_done} END)"
            )
        rm = f"(CASE WHEN sub = 'late' THEN {_between('u_r', *spec.rm_late)} ELSE {_between('u_r', *spec.rm_normal, skew=1.3)} END)"
        dec = _between("u_d", *spec.dec_normal, skew=1.2)
        if spec.dec_late:
            dec = f"(CASE WHEN sub = 'late' THEN {_between('u_d', *spec.dec_late)} ELSE {dec} END)"
        self.run(
            "dissents (staging: offsets)",
            f"""
            CREATE TEMP TABLE bd_b AS
            SELECT y.*, y.n_done + {rm if spec.meeting_required else 0} AS n_rm
            FROM (
              SELECT bd_a.*, n_m + {written_done} AS n_done,
                     n_m + {_between("u_s", 1, max(spec.written_wd - 1, 1))} AS n_ww
              FROM bd_a
            ) y
            """,
            p,
        )
        review_start = "done.d" if spec.review_from == "received" else "z.meeting_date"
        n_review_start = "z.n_done" if spec.review_from == "received" else "z.n_m"
        if spec.review_kind is None:
            review_cols = (
                "NULL::date AS r_start, NULL::int AS n_r_start, NULL::date AS r_due_date, "
                "NULL::timestamptz AS r_due_at, NULL::timestamptz AS r_appr, NULL::text AS r_expl"
            )
            review_joins = ""
        elif spec.review_unit == "wd":
            review_cols = (
                f"{review_start} AS r_start, {n_review_start} AS n_r_start, rdue.d AS r_due_date, "
                f"{_eod('rdue.d')} AS r_due_at, {_sod('rprev.d')} AS r_appr, rstart.expl{spec.review_n} AS r_expl"
            )
            review_joins = (
                f"LEFT JOIN wd rdue ON rdue.n = {n_review_start} + {spec.review_n} "
                f"LEFT JOIN wd rprev ON rprev.n = {n_review_start} + {spec.review_n} - 1 "
                f"LEFT JOIN wd rstart ON rstart.n = {n_review_start} "
            )
        else:
            review_cols = (
                f"{review_start} AS r_start, {n_review_start} AS n_r_start, "
                f"{review_start} + {spec.review_n} AS r_due_date, {_eod(f'{review_start} + {spec.review_n}')} AS r_due_at, "
                f"{_sod('rcal.prev_wd')} AS r_appr, "
                f"'{spec.review_n} calendar days after ' || {review_start} AS r_expl"
            )
            review_joins = f"LEFT JOIN bench_cal rcal ON rcal.jur = %(jur)s AND rcal.d = {review_start} + {spec.review_n} "
        dec_base = "z.n_rm" if spec.meeting_required else "z.n_done"
        # Stage 3: dates and instants of every step, then the status they add up to by now.
        self.run(
            "dissents (staging: timeline)",
            f"""
            CREATE TEMP TABLE bd AS
            WITH wd AS (SELECT n, d, expl1, expl5 FROM bench_wd WHERE jur = %(jur)s),
            t AS (
              SELECT z.*,
                     z.started_at + (z.ended_at - z.started_at) * (0.1 + 0.5 * z.u_t1) AS raised_at,
                     wdue.d AS w_due_date, {_eod("wdue.d")} AS w_due_at, {_sod("wprev.d")} AS w_appr,
                     wm.expl{spec.written_wd} AS w_expl,
                     done.d AS done_date,
                     CASE WHEN z.n_done = z.n_m THEN z.ended_at + interval '20 minutes' + z.u_t3 * interval '3 hours'
                          ELSE {_sod("done.d")} + interval '9 hours' + z.u_t3 * interval '8 hours' END AS done_at,
                     {_sod("ww.d")} + interval '10 hours' + z.u_t3 * interval '6 hours' AS ww_at,
                     {_sod("wa.d")} + interval '11 hours' AS wa_at,
                     rm.d AS rm_date, {_sod("rm.d")} + interval '14 hours' + z.u_t4 * interval '3 hours' AS rm_at,
                     dec.d AS dec_date, z.n_dec_ AS n_dec,
                     {_sod("dec.d")} + interval '10 hours' + z.u_t5 * interval '6 hours' AS dec_at,
                     {review_cols}
              FROM (SELECT bd_b.*, {dec_base.replace("z.", "")} + {dec} AS n_dec_ FROM bd_b) z
              JOIN wd wm ON wm.n = z.n_m
              JOIN wd wdue ON wdue.n = z.n_m + {spec.written_wd}
              JOIN wd wprev ON wprev.n = z.n_m + {spec.written_wd} - 1
              LEFT JOIN wd done ON done.n = z.n_done
              LEFT JOIN wd ww ON ww.n = z.n_ww
              LEFT JOIN wd wa ON wa.n = z.n_done + 2
              LEFT JOIN wd rm ON rm.n = z.n_rm
              LEFT JOIN wd dec ON dec.n = z.n_dec_
              {review_joins}
            ), s AS (
              SELECT t.*,
                CASE
                  WHEN fate = 'resolved' THEN 'resolved'
                  WHEN fate = 'withdrawn_meeting' THEN 'withdrawn'
                  WHEN fate = 'lapse' THEN CASE WHEN w_due_at < %(now)s THEN 'lapsed' ELSE {_lit(spec.wait_status)} END
                  WHEN fate = 'withdraw_wait' THEN CASE WHEN ww_at <= %(now)s THEN 'withdrawn'
                                                        ELSE {_lit(spec.wait_status)} END
                  WHEN fate = 'stuck_written' THEN {_lit(spec.wait_status)}
                  WHEN done_at > %(now)s THEN {_lit(spec.wait_status)}
                  WHEN sub = 'withdraw_after' THEN CASE WHEN wa_at <= %(now)s THEN 'withdrawn'
                                                        ELSE {_lit(spec.done_status)} END
                  WHEN sub = 'stuck_review' THEN {_lit(spec.done_status)}
                  {"WHEN rm_at > %(now)s THEN " + _lit(spec.done_status) if spec.meeting_required else ""}
                  WHEN dec_at > %(now)s THEN {_lit("under_review" if spec.meeting_required else spec.done_status)}
                  ELSE 'decided'
                END AS status,
                (fate = 'done' AND done_at <= %(now)s) AS done_reached
              FROM t
            )
            SELECT gen_random_uuid() AS id, s.*,
                   CASE WHEN status = 'decided' AND outcome_pick = 'reconvene' THEN gen_random_uuid() END AS recon_id,
                   CASE WHEN status = 'withdrawn' THEN
                     CASE fate WHEN 'withdrawn_meeting' THEN raised_at + (ended_at - raised_at) * 0.6
                               WHEN 'withdraw_wait' THEN ww_at ELSE wa_at END END AS withdrawn_at
            FROM s
            """,
            p,
        )
        self.conn.execute("ANALYZE bd")

        # Reconvened conferences: ten working days after the decision, a different chair;
        # held already (ended) or still to come (scheduled).
        self.run(
            "reconvened conferences (staging)",
            f"""
            INSERT INTO bc (c_no, id, reconvened_from_id, k, d_start, meeting_type, n_m, meeting_date, status,
                            scheduled_start, u_dur, n_children, ch_base, chair_id, started_at, ended_at)
            SELECT (SELECT max(c_no) FROM bc) + row_number() OVER (), d.recon_id, c.id, 0, 0, c.meeting_type,
                   w.n, w.d, CASE WHEN w.d < %(today)s THEN 'ended' ELSE 'scheduled' END,
                   {_sod("w.d")} + interval '10 hours', c.u_dur, c.n_children, c.ch_base,
                   'chair-' || ((c.c_no + 1) %% 60),
                   CASE WHEN w.d < %(today)s THEN {_sod("w.d")} + interval '10 hours 5 minutes' END,
                   CASE WHEN w.d < %(today)s THEN {_sod("w.d")} + interval '11 hours 30 minutes' END
            FROM bd d JOIN bc c ON c.id = d.conference_id
            JOIN bench_wd w ON w.jur = %(jur)s AND w.n = d.n_dec + 10
            WHERE d.recon_id IS NOT NULL
            """,
            p,
        )
        self.conn.execute(
            "INSERT INTO bcc SELECT bc.c_no, bc.id, bch.id, j FROM bc "
            "CROSS JOIN LATERAL generate_series(0, bc.n_children - 1) j "
            "JOIN bch ON bch.ch_no = (bc.ch_base + j) %% %(pool)s WHERE bc.reconvened_from_id IS NOT NULL",
            p,
        )
        appeal_due = (
            f"CASE WHEN c.status = 'ended' THEN {_eod('wd5.d')} END, CASE WHEN c.status = 'ended' THEN wm.expl5 END"
            if spec.appeals
            else "NULL, NULL"
        )
        appeal_rights = "c.started_at + (c.ended_at - c.started_at) * 0.85" if spec.appeals else "NULL"
        self.run(
            "conference",
            f"""
            INSERT INTO conference (id, authority_id, meeting_type, status, scheduled_start, meeting_date, chair_id,
              chair_name, reconvened_from_id, started_at, ended_at, cancelled_at, dissent_invited_at,
              appeal_rights_explained_at, appeal_due_at, appeal_due_explanation, version, created_at, updated_at,
              procedure_code, procedure_version)
            SELECT c.id, %(aid)s, c.meeting_type, c.status, c.scheduled_start, c.meeting_date, c.chair_id,
                   'Chair ' || c.chair_id, c.reconvened_from_id, c.started_at, c.ended_at, NULL,
                   c.started_at + (c.ended_at - c.started_at) * 0.8, {appeal_rights}, {appeal_due},
                   CASE WHEN c.status = 'ended' THEN 6 ELSE 1 END,
                   c.scheduled_start - interval '14 days', coalesce(c.ended_at, c.scheduled_start - interval '14 days'),
                   %(profile)s, 1
            FROM bc c
            JOIN bench_wd wm ON wm.jur = %(jur)s AND wm.n = c.n_m
            LEFT JOIN bench_wd wd5 ON wd5.jur = %(jur)s AND wd5.n = c.n_m + 5
            ORDER BY c.reconvened_from_id NULLS FIRST
            """,
            p,
        )
        self.run(
            "conference_child",
            "INSERT INTO conference_child (conference_id, child_id, position) "
            "SELECT conference_id, child_id, position FROM bcc",
        )
        outcome = (
            "CASE WHEN c.meeting_type LIKE 'review%%' THEN (CASE WHEN u < 0.7 THEN 'continue' ELSE 'deregister' END) "
            "WHEN c.meeting_type = 'carm' THEN (CASE WHEN u < 0.5 THEN 'register' ELSE 'not_register' END) "
            "ELSE (CASE WHEN u < 0.75 THEN 'register' ELSE 'not_register' END) END"
        )
        self.run(
            "decisions (staging)",
            f"""
            CREATE TEMP TABLE bdec AS
            SELECT gen_random_uuid() AS id, c.id AS conference_id, c.c_no, c.n_m, c.meeting_date, c.chair_id,
                   c.started_at, c.ended_at, cc.child_id, x.u, x.u2, {outcome} AS outcome
            FROM bcc cc JOIN bc c ON c.id = cc.conference_id
            CROSS JOIN LATERAL (SELECT random() + cc.position * 0 AS u, random() + cc.position * 0 AS u2) x
            WHERE c.status = 'ended'
            """,
            p,
        )
        self.run(
            "decision",
            """
            INSERT INTO decision (id, authority_id, conference_id, child_id, outcome, categories, plan_summary,
              recorded_by, recorded_at, superseded_at, amends_id, amendment_reason)
            SELECT id, %(aid)s, conference_id, child_id, outcome,
                   CASE WHEN outcome IN ('register', 'continue')
                        THEN json_build_array((%(cats)s::text[])[1 + floor(u2 * cardinality(%(cats)s::text[]))::int])
                        ELSE '[]'::json END,
                   NULL, chair_id, started_at + (ended_at - started_at) * 0.7, NULL, NULL, NULL
            FROM bdec
            """,
            p,
        )
        agency = (
            "(%(agencies)s::text[])[1 + floor(50 * power(((person_no * 7919) %% 10007) / 10007.0, 2))::int]"
        )
        self.run(
            "attendee",
            f"""
            INSERT INTO attendee (id, authority_id, conference_id, person_id, name, role_title, agency, kind,
                                  attended, created_at)
            SELECT gen_random_uuid(), %(aid)s, conference_id, 'pro-' || person_no, 'Professional ' || person_no,
                   (%(roles)s::text[])[1 + person_no %% 8], {agency}, 'professional', true,
                   started_at - interval '1 hour'
            FROM bd
            UNION ALL
            SELECT gen_random_uuid(), %(aid)s, id, 'family-' || c_no, 'Parent ' || c_no, 'Parent', 'Family',
                   'family', true, started_at - interval '1 hour'
            FROM bc WHERE status = 'ended'
            """,
            p,
        )
        self.conn.execute("ANALYZE bcc")
        submitted_col = "submitted_at" if spec.done_status == "submitted" else "referred_at"
        submission = (
            "json_build_object('signed_name', 'Professional ' || person_no, 'conference_date', meeting_date, "
            "'child_subject_to_plan', true, 'discussed_with_line_manager_and_safeguarding_lead', true, "
            "'rationale', 'Bench rationale')"
            if spec.done_status == "submitted"
            else "NULL::json"
        )
        referral_note = "'Bench referral note'" if spec.done_status == "referred" else "NULL"
        decided = "status = 'decided'"
        informed = (
            f"{decided} AND u_t1 < 0.7 AND dec_date + 2 < %(today)s" if spec.family_informed else "false"
        )
        self.run(
            "dissent",
            f"""
            INSERT INTO dissent (id, authority_id, conference_id, meeting_date, meeting_type, child_ids, subject,
              reasons, dissenter_id, dissenter_name, dissenter_role_title, dissenter_agency, raised_by, status,
              raised_at, resolved_at, resolution_summary, withdrawn_at, withdrawal_reason, unresolved_at,
              submitted_at, submission, referred_at, referral_note, lapsed_at, review_meeting_held_on,
              review_meeting_members, review_meeting_recorded_at, decided_at, decided_by, outcome, new_categories,
              practice_improvements, written_note, family_informant, family_informed_by, family_informed_on,
              reconvened_conference_id, version, created_at, updated_at)
            SELECT d.id, %(aid)s, d.conference_id, d.meeting_date, d.meeting_type, cj.child_ids, subject,
              'Bench reasons for dissent', 'pro-' || person_no, 'Professional ' || person_no,
              (%(roles)s::text[])[1 + person_no %% 8], {agency},
              CASE WHEN u_t2 < 0.2 THEN chair_id ELSE 'pro-' || person_no END, status,
              raised_at,
              CASE WHEN status = 'resolved' THEN raised_at + (ended_at - raised_at) * 0.5 END,
              CASE WHEN status = 'resolved' THEN 'Resolved in the meeting' END,
              withdrawn_at, CASE WHEN status = 'withdrawn' THEN 'Bench withdrawal reason' END,
              CASE WHEN fate NOT IN ('resolved', 'withdrawn_meeting') THEN ended_at END,
              {"CASE WHEN done_reached THEN done_at END" if submitted_col == "submitted_at" else "NULL"},
              CASE WHEN done_reached THEN {submission} END,
              {"CASE WHEN done_reached THEN done_at END" if submitted_col == "referred_at" else "NULL"},
              CASE WHEN done_reached THEN {referral_note} END,
              CASE WHEN status = 'lapsed' THEN least(w_due_at + u_t3 * interval '10 minutes', %(now)s) END,
              CASE WHEN status IN ('under_review', 'decided') AND {spec.meeting_required} THEN rm_date END,
              CASE WHEN status IN ('under_review', 'decided') AND {spec.meeting_required}
                   THEN '["Service manager", "Safeguarding lead"]'::json END,
              CASE WHEN status IN ('under_review', 'decided') AND {spec.meeting_required} THEN rm_at END,
              CASE WHEN {decided} THEN dec_at END,
              CASE WHEN {decided} THEN 'reviewer-' || (person_no %% 12) END,
              CASE WHEN {decided} THEN outcome_pick END,
              CASE WHEN {decided} AND outcome_pick = 'change_category'
                   THEN json_build_array((%(cats)s::text[])[1 + (person_no %% cardinality(%(cats)s::text[]))]) END,
              CASE WHEN {decided} AND {spec.practice_improvements} THEN 'Bench practice improvements' END,
              CASE WHEN {decided} THEN 'Bench written note to everyone involved' END,
              CASE WHEN {decided} AND {spec.family_informant}
                   THEN json_build_object('name', 'Family worker', 'role', 'Social worker') END,
              CASE WHEN {informed} THEN 'worker-' || (person_no %% 40) END,
              CASE WHEN {informed} THEN dec_date + 2 END,
              recon_id,
              CASE status WHEN 'resolved' THEN 2 WHEN 'withdrawn' THEN 3 WHEN 'lapsed' THEN 3
                          WHEN 'decided' THEN 5 WHEN 'under_review' THEN 4 WHEN {_lit(spec.done_status)} THEN 3
                          ELSE 2 END,
              raised_at,
              greatest(raised_at,
                       CASE WHEN fate NOT IN ('resolved', 'withdrawn_meeting') THEN ended_at END,
                       CASE WHEN done_reached THEN done_at END, withdrawn_at,
                       CASE WHEN status IN ('under_review', 'decided') AND {spec.meeting_required} THEN rm_at END,
                       CASE WHEN {decided} THEN dec_at END)
            FROM bd d
            JOIN (SELECT conference_id, json_agg(child_id::text ORDER BY position) AS child_ids
                  FROM bcc GROUP BY conference_id) cj ON cj.conference_id = d.conference_id
            """,
            p,
        )
        notified = (
            "CASE WHEN {appr} <= %(now)s AND ({met} IS NULL OR {met} > {appr}) "
            "AND ({cancel} IS NULL OR {cancel} > {appr}) THEN {appr} + interval '2 minutes' END, "
            "CASE WHEN {due} < %(now)s AND {met} IS NULL AND {cancel} IS NULL THEN {due} + interval '5 minutes' END"
        )
        w_met = "CASE WHEN done_reached THEN done_at END"
        w_cancel = "CASE WHEN fate = 'withdraw_wait' AND status = 'withdrawn' THEN withdrawn_at END"
        self.run(
            f"deadline ({spec.written_kind})",
            f"""
            INSERT INTO deadline (id, authority_id, subject_kind, subject_id, kind, responsible_role, lapses,
              start_date, due_date, due_at, explanation, approaching_at, met_at, days_taken, cancelled_at,
              approaching_notified_at, missed_notified_at, created_at)
            SELECT gen_random_uuid(), %(aid)s, 'dissent', id, {_lit(spec.written_kind)}, {_lit(spec.written_role)},
                   {spec.lapses}, meeting_date, w_due_date, w_due_at, w_expl, w_appr,
                   {w_met}, CASE WHEN done_reached THEN n_done - n_m END, {w_cancel},
                   {notified.format(appr="w_appr", met=w_met, cancel=w_cancel, due="w_due_at")},
                   ended_at
            FROM bd WHERE fate NOT IN ('resolved', 'withdrawn_meeting')
            """,
            p,
        )
        if spec.review_kind is not None:
            if spec.meeting_required:
                r_met = "CASE WHEN status IN ('under_review', 'decided') THEN rm_at END"
                r_days = "CASE WHEN status IN ('under_review', 'decided') THEN n_rm - n_r_start END"
            else:
                r_met = "CASE WHEN status = 'decided' THEN dec_at END"
                r_days = "CASE WHEN status = 'decided' THEN n_dec - n_r_start END"
            r_cancel = "CASE WHEN status = 'withdrawn' THEN withdrawn_at END"
            self.run(
                f"deadline ({spec.review_kind})",
                f"""
                INSERT INTO deadline (id, authority_id, subject_kind, subject_id, kind, responsible_role, lapses,
                  start_date, due_date, due_at, explanation, approaching_at, met_at, days_taken, cancelled_at,
                  approaching_notified_at, missed_notified_at, created_at)
                SELECT gen_random_uuid(), %(aid)s, 'dissent', id, {_lit(spec.review_kind)}, 'reviewer', false,
                       r_start, r_due_date, r_due_at, r_expl, r_appr, {r_met}, {r_days}, {r_cancel},
                       {notified.format(appr="r_appr", met=r_met, cancel=r_cancel, due="r_due_at")},
                       done_at
                FROM bd WHERE done_reached
                """,
                p,
            )
        if spec.appeals:
            self._appeals(p)
        return {"code": spec.code, "profile": spec.profile, "authority_id": str(aid), "dissents": n_dissents}

    def _appeals(self, p: dict[str, Any]) -> None:
        """One appeal in ten against registration or continuation, lodged within the five
        working days; the answer is due 28 calendar days after receipt."""
        self.run(
            "appeals (staging)",
            f"""
            CREATE TEMP TABLE ba AS
            SELECT q.*, {_sod("w.d")} + interval '10 hours' + q.u1 * interval '6 hours' AS lodged_at,
                   w.d AS received_date, w.n AS n_received,
                   w.d + 28 AS due_date, {_eod("w.d + 28")} AS due_at, {_sod("pc.prev_wd")} AS appr,
                   w.d + CASE WHEN q.u2 < 0.03 THEN NULL WHEN q.u2 < 0.13 THEN 29 + floor(q.u3 * 12)::int
                              ELSE 5 + floor(q.u3 * 23)::int END AS resp_date
            FROM (
              SELECT gen_random_uuid() AS id, d.conference_id, d.child_id, d.chair_id, d.n_m, d.c_no,
                     row_number() OVER () AS a_no, random() AS u1, random() AS u2, random() AS u3, random() AS u4
              FROM bdec d WHERE d.outcome IN ('register', 'continue') AND d.u < 0.1
            ) q
            JOIN bench_wd w ON w.jur = %(jur)s AND w.n = q.n_m + 1 + floor(q.u1 * 5)::int
            JOIN bench_cal pc ON pc.jur = %(jur)s AND pc.d = w.d + 28
            """,
            p,
        )
        self.conn.execute("DELETE FROM ba WHERE lodged_at > %(now)s", p)
        self.conn.execute("ALTER TABLE ba ADD COLUMN responded_at timestamptz, ADD COLUMN n_resp int")
        self.conn.execute(
            f"UPDATE ba SET responded_at = {_sod('resp_date')} + interval '12 hours', "
            "n_resp = (SELECT n FROM bench_cal c WHERE c.jur = %(jur)s AND c.d = ba.resp_date)",
            p,
        )
        self.conn.execute("UPDATE ba SET responded_at = NULL WHERE responded_at > %(now)s", p)
        relationship = _pick(
            "u4",
            [("parent", 0.6), ("carer", 0.15), ("young_person", 0.1), ("child", 0.05), ("other_family", 0.1)],
        )
        self.run(
            "appeal",
            f"""
            INSERT INTO appeal (id, authority_id, conference_id, child_id, appellant_name, appellant_key,
              appellant_relationship, grounds, lodged_by, lead_social_worker_name, status, lodged_at, received_date,
              outcome, response_text, responded_at, responded_by, reconvened_conference_id, version, created_at,
              updated_at)
            SELECT id, %(aid)s, conference_id, child_id, 'Appellant ' || a_no, 'appellant ' || a_no, {relationship},
                   'Bench grounds of appeal', 'record-system', NULL,
                   CASE WHEN responded_at IS NULL THEN 'lodged' ELSE 'responded' END, lodged_at, received_date,
                   CASE WHEN responded_at IS NOT NULL THEN
                     CASE WHEN u3 < 0.85 THEN 'decision_confirmed' ELSE 'reconvene' END END,
                   CASE WHEN responded_at IS NOT NULL THEN 'Bench response' END, responded_at,
                   CASE WHEN responded_at IS NOT NULL THEN chair_id END, NULL,
                   CASE WHEN responded_at IS NULL THEN 1 ELSE 2 END, lodged_at, coalesce(responded_at, lodged_at)
            FROM ba
            """,
            p,
        )
        self.run(
            "deadline (appeal_response)",
            """
            INSERT INTO deadline (id, authority_id, subject_kind, subject_id, kind, responsible_role, lapses,
              start_date, due_date, due_at, explanation, approaching_at, met_at, days_taken, cancelled_at,
              approaching_notified_at, missed_notified_at, created_at)
            SELECT gen_random_uuid(), %(aid)s, 'appeal', id, 'appeal_response', 'chair', false,
                   received_date, due_date, due_at, '28 calendar days after ' || received_date, appr,
                   responded_at, CASE WHEN responded_at IS NOT NULL THEN n_resp - n_received END, NULL,
                   CASE WHEN appr <= %(now)s AND (responded_at IS NULL OR responded_at > appr)
                        THEN appr + interval '2 minutes' END,
                   CASE WHEN due_at < %(now)s AND responded_at IS NULL THEN due_at + interval '5 minutes' END,
                   lodged_at
            FROM ba
            """,
            p,
        )


def seed(url: str, n_dissents: int, now: datetime, seed_value: float) -> dict[str, Any]:
    started = time.perf_counter()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET temp_buffers = '1GB'")  # the staging tables stay in memory
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET jit = off")  # compiling the seed's one-off statements only costs time
        # Foreign keys are checked row by row by triggers, which would double the seeding time;
        # `replica` skips those triggers for this session and verify_foreign_keys() checks
        # every foreign key afterwards with one anti-join each.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SELECT setseed(%s)", (seed_value,))
        seeder = Seeder(conn, now, seed_value)
        seeder.calendar(seeder.today - timedelta(days=365 * YEARS + 40), seeder.today + timedelta(days=240))
        authorities = []
        for spec in SPECS:
            count = n_dissents if spec.share >= 1 else max(20, round(n_dissents * spec.share))
            authorities.append(seeder.authority(spec, count))
        conn.execute("SET session_replication_role = origin")
        seeded = time.perf_counter() - started
        verify_started = time.perf_counter()
        verify_foreign_keys(conn)
        verify = time.perf_counter() - verify_started
        print(f"foreign keys verified in {verify:.1f} s", flush=True)
        print("VACUUM ANALYZE", flush=True)
        vacuum_started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        vacuum = time.perf_counter() - vacuum_started
        dataset = describe(conn, now)
    dataset["authorities"] = authorities
    dataset["seed_seconds"] = round(seeded, 1)
    dataset["vacuum_analyze_seconds"] = round(vacuum, 1)
    dataset["fk_verify_seconds"] = round(verify, 1)
    dataset["stages"] = seeder.stages
    return dataset


def verify_foreign_keys(conn: psycopg.Connection[Any]) -> None:
    """Every single-column foreign key in the schema holds (the seed ran without the
    row-by-row checks)."""
    fks = conn.execute(
        """
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND c.connamespace = 'public'::regnamespace
        """
    ).fetchall()
    broken = []
    for table, column, parent, key in fks:
        query = sql.SQL(
            "SELECT count(*) FROM {t} x WHERE x.{c} IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM {p} y WHERE y.{k} = x.{c})"
        ).format(
            t=sql.Identifier(table), c=sql.Identifier(column), p=sql.Identifier(parent), k=sql.Identifier(key)
        )
        missing = conn.execute(query).fetchone()[0]  # type: ignore[index]
        if missing:
            broken.append(f"{table}.{column} -> {parent}.{key}: {missing} rows")
    if broken:
        raise RuntimeError("seeded rows break foreign keys: " + "; ".join(broken))


def apply_what_if(url: str, statements: list[str]) -> list[dict[str, Any]]:
    """Statements to try before the app's own code has them (an index, a setting), then
    ANALYZE; recorded with the results, which are then not the app's as committed."""
    done = []
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        for statement in statements:
            started = time.perf_counter()
            conn.execute(statement)  # type: ignore[arg-type]
            done.append({"sql": statement, "seconds": round(time.perf_counter() - started, 1)})
            print(f"what-if: {statement} ({done[-1]['seconds']} s)", flush=True)
        conn.execute("VACUUM ANALYZE")
    return done


def commit_latency(url: str, n: int = 30) -> dict[str, float]:
    """INSERT + COMMIT of one row, as the audit entry every report writes costs at least."""
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute("CREATE TABLE bench_commit_probe (id int)")
        conn.commit()
        times = []
        for i in range(n):
            started = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_probe VALUES (%s)", (i,))
            conn.commit()
            times.append((time.perf_counter() - started) * 1000)
        conn.execute("DROP TABLE bench_commit_probe")
        conn.commit()
    return _stats(times)


def describe(conn: psycopg.Connection[Any], now: datetime) -> dict[str, Any]:
    """Row counts, the main authority's distributions and the database's size."""
    tables = [
        "authority",
        "child",
        "conference",
        "conference_child",
        "decision",
        "attendee",
        "dissent",
        "deadline",
        "appeal",
    ]
    counts = {
        t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]  # type: ignore[index]
        for t in tables
    }
    main = {"code": MAIN_CODE}
    aid = conn.execute("SELECT id FROM authority WHERE code = %s", (MAIN_CODE,)).fetchone()[0]  # type: ignore[index]

    def grouped(query: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in conn.execute(query, {"aid": aid, "now": now}).fetchall()}

    main["dissents_by_status"] = grouped(
        "SELECT status, count(*) FROM dissent WHERE authority_id = %(aid)s GROUP BY 1 ORDER BY 2 DESC"
    )
    main["dissents_by_subject"] = grouped(
        "SELECT subject, count(*) FROM dissent WHERE authority_id = %(aid)s GROUP BY 1 ORDER BY 2 DESC"
    )
    main["dissents_by_outcome"] = grouped(
        "SELECT coalesce(outcome, '-'), count(*) FROM dissent WHERE authority_id = %(aid)s GROUP BY 1 ORDER BY 2 DESC"
    )
    main["agencies"] = conn.execute(
        "SELECT count(DISTINCT dissenter_agency) FROM dissent WHERE authority_id = %(aid)s", {"aid": aid}
    ).fetchone()[0]  # type: ignore[index]
    main["conferences_by_status"] = grouped(
        "SELECT status, count(*) FROM conference WHERE authority_id = %(aid)s GROUP BY 1 ORDER BY 2 DESC"
    )
    main["meeting_dates"] = [
        str(v)
        for v in conn.execute(
            "SELECT min(meeting_date), max(meeting_date) FROM conference WHERE authority_id = %(aid)s "
            "AND reconvened_from_id IS NULL",
            {"aid": aid},
        ).fetchone()
    ]  # type: ignore[union-attr]
    main["deadlines_by_kind_state"] = grouped(
        "SELECT kind || ':' || CASE WHEN cancelled_at IS NOT NULL THEN 'cancelled' "
        "WHEN met_at IS NOT NULL AND met_at <= due_at THEN 'met' WHEN met_at IS NOT NULL THEN 'met_late' "
        "WHEN due_at < %(now)s THEN 'missed' ELSE 'pending' END, count(*) FROM deadline "
        "WHERE authority_id = %(aid)s GROUP BY 1 ORDER BY 1"
    )
    main["overdue"] = conn.execute(
        "SELECT count(*) FROM deadline dl JOIN dissent d ON d.id = dl.subject_id WHERE dl.authority_id = %(aid)s "
        "AND dl.met_at IS NULL AND dl.cancelled_at IS NULL AND NOT dl.lapses AND dl.due_at < %(now)s "
        "AND d.status IN ('raised', 'awaiting_submission', 'awaiting_referral', 'submitted', 'referred', "
        "'under_review')",
        {"aid": aid, "now": now},
    ).fetchone()[0]  # type: ignore[index]
    sizes = grouped(
        "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN "
        "('dissent', 'deadline', 'conference', 'attendee', 'decision') ORDER BY 1"
    )
    return {
        "counts": counts,
        "main_authority": main,
        "table_sizes_mb": {k: round(v / 2**20, 1) for k, v in sizes.items()},
        "database_size_mb": round(
            conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
            / 2**20,
            1,
        ),
    }


# ---- timing the reports -----------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    report: str
    path: str
    params: dict[str, str]
    target_ms: float
    timings_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)  # time in SQL statements, per run
    statements: list[tuple[str, Any]] = field(default_factory=list)
    note: str = ""
    mode: str = "custom"  # custom: every run custom-planned; warm: the plan cache as configured


class Capture:
    """Records the SQL the engine sends while `active`, and adds up the time spent in the
    database (from sending a statement to its result; COMMIT is not a statement here)."""

    def __init__(self, engine: Any) -> None:
        self.active = False
        self.seen: list[tuple[str, Any]] = []
        self.sql_seconds = 0.0
        self.statements = 0
        self._started = 0.0
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if self.active:
            self.seen.append((statement, parameters))
        self._started = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        self.sql_seconds += time.perf_counter() - self._started
        self.statements += 1

    def reset(self) -> None:
        self.sql_seconds, self.statements = 0.0, 0

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, Any]]]:
        self.seen = []
        self.active = True
        try:
            yield self.seen
        finally:
            self.active = False


REPORT_TABLES = ("from dissent", "from deadline", "from conference", "from appeal", "from (select deadline")


def _report_statements(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    out = []
    for statement, params in seen:
        flat = " ".join(statement.lower().split())
        if flat.startswith("select") and any(t in flat for t in REPORT_TABLES):
            out.append((statement, params))
    return out


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "min": round(ordered[0], 1),
        "median": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "max": round(ordered[-1], 1),
        "mean": round(statistics.fmean(ordered), 1),
    }


def _force_custom_plans(engine: Any) -> None:
    """Every statement planned with its own parameters, as on a connection's first runs of it.

    psycopg prepares a statement on its 5th run on a connection and PostgreSQL may then switch
    to a generic plan, which can differ (the overdue query does: see bench/README.md). A report
    is run now and then, on whichever pooled connection is free, so its first runs are what
    users see; the `warm` scenarios measure the other case."""

    def _set(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET plan_cache_mode = force_custom_plan")
        cursor.close()

    event.listen(engine.sync_engine, "connect", _set)


class _Client:
    """The app in-process, driven through its ASGI interface with an admin token."""

    def __init__(self, url: str, *, custom_plans: bool) -> None:
        self.settings = Settings(
            database_url=url,
            auth_jwt_secret=SECRET,
            test_clock_enabled=False,
            # The benchmark is one caller timing reports back to back: the per-caller limit on
            # costly reads (a defence against one caller's flood) is not what it measures.
            rate_limit_costly_per_minute_per_caller=0,
            rate_limit_costly_per_minute_per_address=0,
        )
        self.app = create_app(self.settings)
        self.custom_plans = custom_plans
        token = mint_token(SECRET, sub="bench-admin", roles=["admin"], authority=MAIN_CODE)
        self.headers = {"Authorization": f"Bearer {token}"}

    async def __aenter__(self) -> _Client:
        self._lifespan = self.app.router.lifespan_context(self.app)  # type: ignore[attr-defined]
        await self._lifespan.__aenter__()
        engine = self.app.state.db.engine
        if self.custom_plans:
            _force_custom_plans(engine)
        self.capture = Capture(engine)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://bench", headers=self.headers
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        await self._lifespan.__aexit__(*exc)

    async def get(self, path: str, params: dict[str, str]) -> httpx.Response:
        response = await self.http.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text[:500]}")
        return response

    async def time(self, scenario: Scenario, iterations: int, warm_runs: int = 0) -> None:
        with self.capture.recording() as seen:
            await self.get(scenario.path, scenario.params)  # warm-up, and the SQL it sends
        scenario.statements = _report_statements(list(seen))
        for _ in range(warm_runs):
            await self.get(scenario.path, scenario.params)
        for _ in range(iterations):
            self.capture.reset()
            started = time.perf_counter()
            await self.get(scenario.path, scenario.params)
            scenario.timings_ms.append((time.perf_counter() - started) * 1000)
            scenario.sql_ms.append(self.capture.sql_seconds * 1000)
        s = _stats(scenario.timings_ms)
        print(
            f"  {scenario.name:<48} min {s['min']:7.1f}  median {s['median']:7.1f}  "
            f"p95 {s['p95']:7.1f} ms  (SQL median {statistics.median(scenario.sql_ms):.1f} ms)",
            flush=True,
        )


async def measure(url: str, iterations: int, today: date, deep_page: int, page_size: int) -> list[Scenario]:
    year = {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}
    limit = {"limit": str(page_size)}
    scenarios = [
        Scenario("summary, whole range", "summary", "/v1/reports/summary", {}, SUMMARY_TARGET_MS),
        Scenario("summary, last 12 months", "summary", "/v1/reports/summary", year, SUMMARY_TARGET_MS),
        Scenario("timeliness, whole range", "timeliness", "/v1/reports/timeliness", {}, TIMELINESS_TARGET_MS),
        Scenario(
            "timeliness, last 12 months", "timeliness", "/v1/reports/timeliness", year, TIMELINESS_TARGET_MS
        ),
        Scenario(
            f"overdue, first page ({page_size})", "overdue", "/v1/reports/overdue", limit, OVERDUE_TARGET_MS
        ),
    ]
    async with _Client(url, custom_plans=True) as client:
        # Later pages: follow the cursor to page 2 and to a page deep in the list.
        cursors: dict[int, str] = {}
        cursor, page = None, 1
        while page < deep_page:
            body = (
                await client.get("/v1/reports/overdue", limit | ({"cursor": cursor} if cursor else {}))
            ).json()
            cursor = body["next_cursor"]
            if cursor is None:
                break
            page += 1
            cursors[page] = cursor
        pages = [p for p in sorted({2, page}) if p in cursors]
        for p in pages:
            scenarios.append(
                Scenario(
                    f"overdue, page {p} (cursor)",
                    "overdue",
                    "/v1/reports/overdue",
                    limit | {"cursor": cursors[p]},
                    OVERDUE_TARGET_MS,
                    note="the deepest page walked to" if p == page and p > 2 else "",
                )
            )
        for scenario in scenarios:
            await client.time(scenario, iterations)
    # The overdue list again on a connection that has run it many times: psycopg has
    # prepared it and PostgreSQL has had the chance to switch to a generic plan.
    warm = [
        Scenario(
            s.name + ", warm connection",
            s.report,
            s.path,
            s.params,
            s.target_ms,
            note="after 12 untimed runs on the same connection (prepared statement, plan cache as configured)",
            mode="warm",
        )
        for s in scenarios
        if s.report == "overdue"
    ]
    async with _Client(url, custom_plans=False) as client:
        for scenario in warm:
            await client.time(scenario, iterations, warm_runs=12)
    return scenarios + warm


def _explain_rows(cursor: Any, statement: str, params: Any) -> tuple[str, float | None, float | None]:
    rows = cursor.execute(statement, params).fetchall()
    text = "\n".join(r[0] for r in rows)

    def timing(label: str) -> float | None:
        return next((float(r[0].split(":")[1].split()[0]) for r in rows if r[0].startswith(label)), None)

    return text, timing("Planning Time"), timing("Execution Time")


def _generic_plan(
    conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]
) -> tuple[str, Any, Any]:
    """EXPLAIN ANALYZE of the statement's generic plan (what a warm connection may run):
    PREPARE it with $n parameters, force the generic plan, EXECUTE with the values."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    conn.execute("PREPARE bench_generic AS " + re.sub(r"%\((\w+)\)s", number, statement))
    try:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        placeholders = ", ".join(["%s"] * len(names))
        return _explain_rows(
            psycopg.ClientCursor(conn),
            f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic({placeholders})",
            [params[n] for n in names],
        )
    finally:
        conn.execute("RESET plan_cache_mode")
        conn.execute("DEALLOCATE bench_generic")


def explain(url: str, scenarios: list[Scenario]) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement the reports sent, with its parameters:
    the custom plan (what the timed `custom` scenarios ran) and, for the `warm` scenarios,
    the generic plan."""
    plans = []
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        for scenario in scenarios:
            for i, (statement, params) in enumerate(scenario.statements):
                if scenario.mode == "warm":
                    if not isinstance(params, dict):
                        continue
                    text, planning, execution = _generic_plan(conn, statement, params)
                else:
                    text, planning, execution = _explain_rows(
                        conn.cursor(), "EXPLAIN (ANALYZE, BUFFERS) " + statement, params
                    )
                plans.append(
                    {
                        "scenario": scenario.name,
                        "statement_no": i + 1,
                        "plan_kind": "generic" if scenario.mode == "warm" else "custom",
                        "sql": statement,
                        "params": {k: str(v) for k, v in (params or {}).items()}
                        if isinstance(params, dict)
                        else [str(v) for v in params or []],
                        "planning_ms": planning,
                        "execution_ms": execution,
                        "plan": text,
                    }
                )
    return plans


# ---- output -----------------------------------------------------------------------------------


def _other_bench_databases(pg: str, url: str) -> list[str]:
    """Throwaway databases of other runs: a second benchmark on the same machine skews both."""
    own = make_url(url).database
    with psycopg.connect(_libpq(pg), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'dissent\\_bench\\_%%'"
        ).fetchall()
    return sorted(r[0] for r in rows if r[0] != own)


def _pg_facts(pg: str) -> dict[str, Any]:
    with psycopg.connect(_libpq(pg), autocommit=True) as conn:
        facts: dict[str, Any] = {"version": conn.execute("SHOW server_version").fetchone()[0]}  # type: ignore[index]
        for name in (
            "shared_buffers",
            "work_mem",
            "effective_cache_size",
            "jit",
            "max_parallel_workers_per_gather",
            "random_page_cost",
            "fsync",
            "synchronous_commit",
            "max_wal_size",
        ):
            facts[name] = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]  # type: ignore[index]
    return facts


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(  # noqa: S603 - only the fixed git commands below
            ["git", *args],  # noqa: S607 - git from PATH, fixed arguments
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _git_state() -> dict[str, Any]:
    """The commit measured, and any uncommitted change to the code the reports run."""
    changed = _git("status", "--porcelain", "--", "app", "migrations")
    return {
        "commit": _git("rev-parse", "--short", "HEAD") or None,
        "uncommitted_app_changes": changed.splitlines() if changed else [],
    }


def table(scenarios: list[Scenario]) -> str:
    lines = [
        "| report | scenario | runs | min ms | median ms | p95 ms | SQL ms (median) | target ms | result (p95) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in scenarios:
        st = _stats(s.timings_ms)
        ok = st["p95"] < s.target_ms
        lines.append(
            f"| {s.report} | {s.name} | {len(s.timings_ms)} | {st['min']:.1f} | {st['median']:.1f} | "
            f"{st['p95']:.1f} | {statistics.median(s.sql_ms):.1f} | {s.target_ms:.0f} | "
            f"{'pass' if ok else '**FAIL**'} |"
        )
    return "\n".join(lines)


def report_markdown(meta: dict[str, Any], scenarios: list[Scenario], plans: list[dict[str, Any]]) -> str:
    main = meta["dataset"]["main_authority"]
    out = [
        f"# Reports benchmark, {meta['started_at']}",
        "",
        f"{meta['dataset']['counts']['dissent']:,} dissents in all, {meta['requested_dissents']:,} in "
        f"`{MAIN_CODE}`; {meta['dataset']['counts']['conference']:,} conferences; "
        f"{meta['dataset']['counts']['deadline']:,} deadlines; {main['overdue']:,} overdue steps in the bulk "
        f"authority. Seeded in {meta['dataset']['seed_seconds']} s (+ VACUUM ANALYZE "
        f"{meta['dataset']['vacuum_analyze_seconds']} s). PostgreSQL {meta['postgres']['version']}, "
        f"{meta['host']['cpus']} CPUs, load average {meta.get('load_average_before')} before timing. Commit "
        f"{meta['git']['commit']}"
        + (" with uncommitted changes in app/" if meta["git"]["uncommitted_app_changes"] else "")
        + (
            ", **plus what-if SQL: " + "; ".join(f"`{w['sql']}`" for w in meta["with_sql"]) + "**"
            if meta.get("with_sql")
            else ""
        )
        + f". In-process through the ASGI app; {meta['iterations']} runs per scenario after one warm-up; "
        "`warm connection` rows ran 12 more times first (psycopg prepared statement, plan cache as configured), "
        "all other rows are custom-planned on every run.",
        "",
        table(scenarios),
        "",
        "## Statements by execution time (EXPLAIN ANALYZE)",
        "",
        "| scenario | # | plan | planning ms | execution ms | statement |",
        "|---|---:|---|---:|---:|---|",
    ]
    for p in sorted(plans, key=lambda p: -(p["execution_ms"] or 0)):
        first = " ".join(p["sql"].split())[:90].replace("|", "\\|")
        out.append(
            f"| {p['scenario']} | {p['statement_no']} | {p['plan_kind']} | {p['planning_ms']} | {p['execution_ms']} | `{first}…` |"
        )
    out += ["", "## Plans", ""]
    for p in sorted(plans, key=lambda p: -(p["execution_ms"] or 0)):
        out += [
            f"### {p['scenario']} — statement {p['statement_no']}, {p['plan_kind']} plan ({p['execution_ms']} ms)",
            "",
            "```sql",
            p["sql"].strip(),
            "```",
            f"parameters: `{json.dumps(p['params'])}`",
            "",
            "```",
            p["plan"],
            "```",
            "",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dissents", type=int, default=1_000_000, help="dissents in the bulk authority")
    parser.add_argument("--smoke", action="store_true", help="2,000 dissents and 3 runs: checks the harness")
    parser.add_argument("--iterations", type=int, default=None, help="timed runs per scenario (default 20)")
    parser.add_argument("--pg", default=DEFAULT_PG, help="server URL; a throwaway database is made beside it")
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() value, for repeatable data")
    parser.add_argument("--deep-page", type=int, default=100, help="walk the overdue list to this page")
    parser.add_argument(
        "--page-size", type=int, default=None, help="overdue page size (default 50; smoke 10)"
    )
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--fail-on-target", action="store_true", help="exit 1 if a p95 misses its target")
    parser.add_argument(
        "--with-sql",
        action="append",
        default=[],
        metavar="SQL",
        help="what-if: run this statement (e.g. CREATE INDEX ...) after seeding, then ANALYZE; repeatable",
    )
    args = parser.parse_args(argv)
    n = 2_000 if args.smoke else args.dissents
    iterations = args.iterations or (3 if args.smoke else 20)
    deep_page = min(args.deep_page, 5) if args.smoke else args.deep_page
    page_size = args.page_size or (10 if args.smoke else 50)
    if n < 10:
        parser.error("--dissents must be at least 10")

    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    meta: dict[str, Any] = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "requested_dissents": n,
        "smoke": args.smoke,
        "iterations": iterations,
        "git": _git_state(),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "postgres": _pg_facts(args.pg),
        "targets_ms": {
            "summary": SUMMARY_TARGET_MS,
            "timeliness": TIMELINESS_TARGET_MS,
            "overdue_page": OVERDUE_TARGET_MS,
        },
        "pass_rule": "p95 of the timed runs under the target",
    }
    with throwaway_database(args.pg) as url:
        print("migrating", flush=True)
        upgrade(url)
        now = datetime.now(UTC)
        meta["dataset"] = seed(url, n, now, args.seed)
        if args.with_sql:
            meta["with_sql"] = apply_what_if(url, args.with_sql)
        today = now.astimezone(ZoneInfo(TZ)).date()
        meta["commit_latency_ms"] = commit_latency(url)
        print(f"INSERT + COMMIT latency: {meta['commit_latency_ms']}", flush=True)
        print("timing the reports", flush=True)
        meta["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
        meta["other_bench_databases"] = _other_bench_databases(args.pg, url)
        if meta["other_bench_databases"]:
            print(f"warning: another benchmark may be running ({meta['other_bench_databases']})", flush=True)
        scenarios = asyncio.run(measure(url, iterations, today, deep_page, page_size))
        meta["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        print("EXPLAIN (ANALYZE, BUFFERS)", flush=True)
        plans = explain(url, scenarios)
    results = {
        **meta,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenarios": [
            {
                "name": s.name,
                "report": s.report,
                "path": s.path,
                "params": {k: v for k, v in s.params.items() if k != "cursor"}
                | ({"cursor": "(page cursor)"} if "cursor" in s.params else {}),
                "note": s.note,
                "plan_mode": s.mode,
                "target_ms": s.target_ms,
                "timings_ms": [round(t, 2) for t in s.timings_ms],
                "sql_ms": [round(t, 2) for t in s.sql_ms],
                **_stats(s.timings_ms),
                "pass": _stats(s.timings_ms)["p95"] < s.target_ms,
            }
            for s in scenarios
        ],
        "plans": plans,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    prefix = "reports-smoke-" if args.smoke else ("reports-whatif-" if args.with_sql else "reports-")
    json_path = args.output_dir / f"{prefix}{stamp}.json"
    md_path = args.output_dir / f"{prefix}{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md_path.write_text(report_markdown(meta, scenarios, plans) + "\n")
    print()
    print(table(scenarios))
    print()
    slowest = sorted(plans, key=lambda p: -(p["execution_ms"] or 0))[:3]
    for p in slowest:
        print(f"EXPLAIN ANALYZE — {p['scenario']}, statement {p['statement_no']}: {p['execution_ms']} ms")
        print(p["plan"])
        print()
    print(f"results: {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}")
    print(f"plans:   {md_path.relative_to(ROOT) if md_path.is_relative_to(ROOT) else md_path}")
    missed = [s.name for s in scenarios if _stats(s.timings_ms)["p95"] >= s.target_ms]
    if missed:
        print("missed targets: " + "; ".join(missed))
    return 1 if (missed and args.fail_on_target) else 0


if __name__ == "__main__":
    sys.exit(main())
