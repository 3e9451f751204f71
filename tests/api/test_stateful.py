"""Stateful (model-based) test: random sequences of API calls by random actors against one
authority per procedure profile, checking after every call that

1. no call answers 5xx;
2. every non-2xx answer is application/problem+json with a `code`;
3. the stored state is legal (dissent statuses reachable in the profile, every status change
   backed by an event that replays through the SPEC §5 transition table, one open dissent per
   person/meeting/subject, one current decision per child, a gap-free event sequence, ...);
4. a refused (4xx) call changed nothing: the example's rows and every table's row count are
   identical before and after (one deliberate exception: a late written dissent is refused with
   `deadline_passed` and keeps the lapse found on the way, see `check_refusal_only_lapsed`);
5. a call that the rules forbid (wrong actor, wrong state, wrong content) was not accepted.

The transition oracle is written from the SPEC and the profile *data*, not taken from
`app.rules.dissent`, so a broken engine table is caught (`test_machine_catches_*`), and a
scripted walk through each procedure with the same checks runs every time
(`test_scripted_walk_*`). Function-scoped fixtures cannot be used per Hypothesis example, so
each test builds its own TestClient and sync engine, and every example creates fresh
authorities (unique codes) in the test's database; the checks are scoped to them.
STATEFUL_MAX_EXAMPLES=500 runs a longer hunt.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
import app.rules.dissent as dissent_rules
from app.config import Settings
from app.db import sync_url
from app.main import create_app
from app.profiles import Profile, all_profiles
from app.rules.dissent import Action
from app.vocab import DissentStatus
from tests.support import (
    CATEGORY,
    FORM_PROFESSIONAL,
    PROFILES,
    Api,
    Caller,
    create_authority,
    dissent_form,
    dissent_letter,
    make_meeting,
)

# Captured at import, so a monkeypatched engine cannot also bend the checks.
APP_REACHABLE = dissent_rules.reachable

LONDON = ZoneInfo("Europe/London")
START_CLOCK = datetime(2025, 12, 18, 9, 0, tzinfo=UTC)
CONFERENCE_STATUSES = {"scheduled", "in_progress", "ended", "cancelled"}
PRE_DECISION = ("raised", "awaiting_submission", "awaiting_referral", "submitted", "referred", "under_review")
ATTENDED_PROFESSIONALS = ("prof-1", "prof-2")
# (sub, roles); "foreign_chair" holds a token for another of the example's authorities.
ACTORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "chair": ("chair-1", ("chair",)),
    "chair2": ("chair-2", ("chair",)),
    "professional": ("prof-1", ("professional",)),
    "other_professional": ("prof-2", ("professional",)),
    "absent_professional": ("prof-absent", ("professional",)),
    "outsider": ("prof-x", ("professional",)),
    "reviewer": ("reviewer-1", ("reviewer",)),
    "reviewer_chair": ("chair-1", ("reviewer",)),
    "record_system": ("record-system", ("record_system",)),
    "reporting": ("reporter-1", ("reporting",)),
    "foreign_chair": ("chair-1", ("chair",)),
}
ALL_ACTORS = sorted(ACTORS)
SECOND_CATEGORY = {
    "england-cp-conference": "PHY",
    "scotland-cppm-carm": "domestic_abuse",
    "scotland-cppm-registration": "domestic_abuse",
}
# The example's rows of these tables are compared in full; the audit log (append-only, the
# largest table) by its count and last id; every table by its row count.
SCOPED = (
    "authority",
    "conference",
    "conference_child",
    "attendee",
    "decision",
    "dissent",
    "deadline",
    "child_record_entry",
    "event",
)
TABLES = SQLModel.metadata.tables


def actor_st(*preferred: str) -> st.SearchStrategy[str]:
    """Half the time an actor who might be allowed, otherwise anyone."""
    return st.one_of(st.sampled_from(preferred), st.sampled_from(ALL_ACTORS))


# ---- the oracle (SPEC §5 + profile data) --------------------------------------------------------


def legal_dissent_moves(profile: Profile) -> dict[tuple[str, str], str]:
    """(status, event type) -> next status."""
    step = profile.dissent.written_step
    after_step = "submitted" if step.status == "awaiting_submission" else "referred"
    moves = {
        ("raised", "dissent.resolved"): "resolved",
        ("raised", "dissent.unresolved"): step.status,
        (after_step, "dissent.review_meeting_held"): "under_review",
        ("under_review", "dissent.decided"): "decided",
    }
    for status in ("raised", step.status, after_step, "under_review"):
        moves[(status, "dissent.withdrawn")] = "withdrawn"
    if step.status == "awaiting_submission":
        moves[("awaiting_submission", "dissent.submitted")] = "submitted"
    else:
        moves[("awaiting_referral", "dissent.referred")] = "referred"
    if step.lapses_when_missed:
        moves[(step.status, "dissent.lapsed")] = "lapsed"
    if not profile.dissent.review.meeting_required:
        moves[(after_step, "dissent.decided")] = "decided"
    return moves


def oracle_reachable(profile: Profile) -> set[str]:
    return {"raised"} | set(legal_dissent_moves(profile).values())


CONFERENCE_EVENTS = {
    "conference.started": ("scheduled", "in_progress"),
    "conference.ended": ("in_progress", "ended"),
    "conference.cancelled": ("scheduled", "cancelled"),
}


# ---- stored state ----------------------------------------------------------------------------


class Snapshot:
    """Every row of the example's authorities in the checked tables, plus global row counts."""

    def __init__(self, tables: dict[str, list[sa.Row[Any]]], counts: dict[str, Any]) -> None:
        self.tables = tables
        self.counts = counts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot) and (self.tables, self.counts) == (other.tables, other.counts)

    __hash__ = None  # type: ignore[assignment]

    def diff(self, other: Snapshot) -> list[str]:
        out = [t for t in self.tables if self.tables[t] != other.tables[t]]
        if self.counts != other.counts:
            out.append("row counts")
        return out

    def rows(self, table: str, **match: Any) -> list[Any]:
        """Matching rows as mappings (column name -> value)."""
        found = (r._mapping for r in self.tables[table])
        return [r for r in found if all(r[k] == v for k, v in match.items())]

    def one(self, table: str, **match: Any) -> dict[str, Any]:
        found = self.rows(table, **match)
        assert len(found) == 1, (table, match, found)
        return found[0]

    def current_decisions(self, conference_id: uuid.UUID) -> list[dict[str, Any]]:
        return [r for r in self.rows("decision", conference_id=conference_id) if r["superseded_at"] is None]

    def written_deadline(self, dissent_id: uuid.UUID, profile: Profile) -> dict[str, Any] | None:
        kind = profile.dissent.written_step.deadline.kind
        found = self.rows("deadline", subject_id=dissent_id, kind=kind)
        return found[0] if found else None


def read_snapshot(conn: sa.Connection, authority_ids: list[uuid.UUID], codes: list[str]) -> Snapshot:
    tables: dict[str, list[sa.Row[Any]]] = {}
    conferences = sa.select(TABLES["conference"].c.id).where(
        TABLES["conference"].c.authority_id.in_(authority_ids)
    )
    for name in SCOPED:
        table = TABLES[name]
        if name == "authority":
            where = table.c.id.in_(authority_ids)
        elif name == "conference_child":
            where = table.c.conference_id.in_(conferences)
        else:
            where = table.c.authority_id.in_(authority_ids)
        query = sa.select(table).where(where).order_by(*table.primary_key.columns)
        tables[name] = list(conn.execute(query).all())
    audit = TABLES["audit_entry"]
    ours = audit.c.authority_code.in_(codes)
    names = ["our audit entries", "our last audit id", *(t.name for t in SQLModel.metadata.sorted_tables)]
    counts = conn.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(audit).where(ours).scalar_subquery(),
            sa.select(sa.func.max(audit.c.id)).where(ours).scalar_subquery(),
            *[
                sa.select(sa.func.count()).select_from(t).scalar_subquery()
                for t in SQLModel.metadata.sorted_tables
            ],
        )
    ).one()
    return Snapshot(tables, dict(zip(names, counts, strict=True)))


# ---- the model ---------------------------------------------------------------------------------


class Conf:
    def __init__(self, profile: str, id_: str, chair_id: str, child_ids: list[str]) -> None:
        self.profile = profile
        self.id = id_
        self.uuid = uuid.UUID(id_)
        self.chair_id = chair_id
        self.child_ids = child_ids
        self.attended: set[str] = set()

    @property
    def url(self) -> str:
        return f"/v1/conferences/{self.id}"


class DissentMachine(RuleBasedStateMachine):
    client: TestClient
    conn: sa.Connection
    api: Api
    seen: Counter[str]  # what the run exercised: answers per call and dissent states reached

    def __init__(self) -> None:
        super().__init__()
        self.authority: dict[str, tuple[str, uuid.UUID]] = {}  # profile -> (code, id)
        self.conferences: list[Conf] = []
        self.dissents: list[tuple[str, str]] = []  # (profile, id)
        self.callers: dict[tuple[str, str], Caller] = {}
        self.now = START_CLOCK
        self.snap: Snapshot | None = None
        self.reached: set[str] = set()

    # ---- plumbing ----

    def profile(self, code: str) -> Profile:
        return all_profiles()[code]

    def caller(self, actor: str, profile: str) -> Caller:
        key = (actor, profile)
        if key not in self.callers:
            sub, roles = ACTORS[actor]
            if actor == "foreign_chair":
                profile = PROFILES[(PROFILES.index(profile) + 1) % len(PROFILES)]
            agency = "NHS" if "professional" in roles else None
            self.callers[key] = self.api.as_(sub, *roles, authority=self.authority[profile][0], agency=agency)
        return self.callers[key]

    def fetch(self) -> Snapshot:
        ids = [a[1] for a in self.authority.values()]
        codes = [a[0] for a in self.authority.values()]
        return read_snapshot(self.conn, ids, codes)

    def state(self) -> Snapshot:
        if self.snap is None:
            self.snap = self.fetch()
        return self.snap

    def today(self) -> date:
        return self.now.astimezone(LONDON).date()

    def same_authority(self, actor: str) -> bool:
        return actor != "foreign_chair"

    def roles(self, actor: str) -> set[str]:
        return set(ACTORS[actor][1]) if self.same_authority(actor) else set()

    def sub(self, actor: str) -> str:
        return ACTORS[actor][0]

    def chair_actor(self, conf: Conf) -> str:
        return "chair" if conf.chair_id == "chair-1" else "chair2"

    def chairs(self, actor: str, conf: Conf) -> bool:
        return "chair" in self.roles(actor) and self.sub(actor) == conf.chair_id

    def call(
        self,
        actor: str,
        profile: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        allowed: bool,
        why: str = "",
        expect_code: str | None = None,
    ) -> httpx.Response:
        before = self.state()
        kwargs = {"json": body} if method != "GET" else {}
        response = self.caller(actor, profile).request(method, path, **kwargs)
        what = f"{actor} {method} {path} {body!r}"
        status = response.status_code
        self.seen[f"{method} {path.rsplit('/', 1)[-1] if method == 'POST' else 'dissent'} -> {status}"] += 1
        assert status < 500, f"{what} -> {status}: {response.text}"
        if not 200 <= status < 300:
            content_type = response.headers.get("content-type", "")
            assert content_type.startswith("application/problem+json"), f"{what} -> {status} {content_type}"
            problem = response.json()
            assert isinstance(problem.get("code"), str) and problem["code"], f"{what}: {response.text}"
        after = self.fetch()
        if 400 <= status < 500 and after != before:
            self.check_refusal_only_lapsed(before, after, f"refused {what} -> {status}", response)
        self.snap = after
        if 200 <= status < 300:
            assert allowed, f"{what} -> {status} was accepted but should be refused ({why}): {response.text}"
        elif actor == "reporting":
            assert status == 403, f"{what} -> {status}: {response.text}"
        elif actor == "foreign_chair":
            assert status in (403, 404), f"{what} -> {status}: {response.text}"
        if expect_code is not None:
            assert response.json().get("code") == expect_code, f"{what} -> {status}: {response.text}"
        return response

    def check_refusal_only_lapsed(
        self, before: Snapshot, after: Snapshot, what: str, response: httpx.Response
    ) -> None:
        """A refused call changes nothing, with one exception the service makes on purpose: a
        written dissent sent after its deadline is refused with `deadline_passed` and the lapse
        found on the way is kept (as a read would have done). Then only that dissent may have
        changed (to lapsed), plus its `dissent.lapsed` event, the audit entry and event_seq."""
        changed = before.diff(after)
        assert response.json().get("code") == "deadline_passed", f"{what} changed {changed}: {response.text}"
        # the lapse also re-issues the meeting's minutes extract (a new document, its blob,
        # its readers and its queued PDF: tests/api/test_documents.py)
        documents = {"document", "blob", "document_reader", "document_render_queue"}
        assert set(changed) <= {"dissent", "event", "authority", "row counts", *documents}, changed
        was = {r["id"]: r for r in before.rows("dissent")}
        now = {r["id"]: r for r in after.rows("dissent")}
        assert was.keys() == now.keys()
        lapsed = {i for i in was if was[i] != now[i]}
        assert len(lapsed) == 1, f"{what} changed dissents {lapsed}"
        (dissent_id,) = lapsed
        profile = next(self.profile(c) for c, d in self.dissents if d == str(dissent_id))
        assert self.written_step_lapsed(profile, was[dissent_id]), f"{what} lapsed a dissent not yet due"
        assert now[dissent_id]["status"] == "lapsed"
        fields = {k for k in was[dissent_id].keys() if was[dissent_id][k] != now[dissent_id][k]}
        assert fields <= {"status", "lapsed_at", "lapse_due_at", "updated_at", "version"}, fields
        old_events = {e["id"] for e in before.rows("event")}
        new_events = [e for e in after.rows("event") if e["id"] not in old_events]
        own = [(e["type"], e["subject_id"]) for e in new_events if not e["type"].startswith("document.")]
        assert own == [("dissent.lapsed", str(dissent_id))]
        assert {e["type"] for e in new_events} <= {"dissent.lapsed", "document.issued"}
        assert [tuple(r) for r in before.tables["event"]] == [
            tuple(r) for r in after.tables["event"] if r._mapping["id"] in old_events
        ]
        for old_authority, new_authority in zip(
            before.rows("authority"), after.rows("authority"), strict=True
        ):
            grew = new_authority["event_seq"] - old_authority["event_seq"]
            same = old_authority["id"] == was[dissent_id]["authority_id"]
            assert grew == (len(new_events) if same else 0)
            assert {**old_authority, "event_seq": 0} == {**new_authority, "event_seq": 0}
        grown = {k: after.counts[k] - before.counts[k] for k in before.counts if k != "our last audit id"}
        # one audit entry and event for the lapse; where the meeting's minutes extract is
        # re-issued, one more of each with its document rows
        kept = {k: v for k, v in grown.items() if v and k not in documents}
        n = len(new_events)
        assert kept == {"our audit entries": n, "event": n, "audit_entry": n}

    def probe_unknown_dissent(self, actor: str, path: str | None, body: Any = None) -> httpx.Response:
        """Before any dissent exists the dissent rules aim at an id that does not exist."""
        url = f"/v1/dissents/{uuid.uuid4()}" + (f"/{path}" if path else "")
        method = "POST" if path else "GET"
        r = self.call(actor, PROFILES[0], method, url, body, allowed=False, why="no such dissent")
        assert r.status_code in (403, 404), r.text
        return r

    def dissent_context(self, index: int) -> tuple[str, dict[str, Any], Conf]:
        profile, dissent_id = self.dissents[index % len(self.dissents)]
        row = self.state().one("dissent", id=uuid.UUID(dissent_id))
        conf = next(c for c in self.conferences if c.uuid == row["conference_id"])
        return profile, row, conf

    def conference_row(self, conf: Conf) -> dict[str, Any]:
        return self.state().one("conference", id=conf.uuid)

    def written_step_lapsed(self, profile: Profile, row: dict[str, Any]) -> bool:
        """The dissenter's own written step is past due in a profile where it lapses."""
        step = profile.dissent.written_step
        if not step.lapses_when_missed or row["status"] != step.status:
            return False
        deadline = self.state().written_deadline(row["id"], profile)
        return deadline is not None and deadline["met_at"] is None and deadline["due_at"] < self.now

    # ---- set-up ----

    @initialize(
        sizes=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2)),
        started=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    )
    def setup(self, sizes: tuple[int, int, int], started: tuple[bool, bool, bool]) -> None:
        """One authority per profile, each with a meeting of 1-2 children and its attendees;
        some meetings already started, so that more examples get to dissents."""
        response = self.api.system_admin().put("/v1/test-clock", json={"now": START_CLOCK.isoformat()})
        assert response.status_code == 200, response.text
        for profile, children in zip(PROFILES, sizes, strict=True):
            code = create_authority(self.api, profile, code=f"sm-{uuid.uuid4().hex[:10]}")
            authority_id = self.conn.execute(
                sa.select(TABLES["authority"].c.id).where(TABLES["authority"].c.code == code)
            ).scalar_one()
            self.authority[profile] = (code, authority_id)
            meeting = make_meeting(self.api, profile, children=children, authority=code)
            conf = Conf(profile, meeting.conference_id, "chair-1", meeting.child_ids)
            conf.attended = set(ATTENDED_PROFESSIONALS)
            self.conferences.append(conf)
        self.snap = None
        for ci, start in enumerate(started):
            if start:
                self.start(ci, "chair")

    # ---- the meeting ----

    @rule(ci=st.integers(0, 7), actor=actor_st("chair"))
    def start(self, ci: int, actor: str) -> None:
        conf = self.conferences[ci % len(self.conferences)]
        row = self.conference_row(conf)
        allowed = self.chairs(actor, conf) and row["status"] == "scheduled"
        r = self.call(actor, conf.profile, "POST", f"{conf.url}/start", allowed=allowed, why="start")
        if r.status_code == 200:
            assert r.json()["status"] == "in_progress"

    @rule(
        ci=st.integers(0, 7),
        child=st.integers(0, 2),
        outcome=st.sampled_from(["register", "continue", "deregister", "not_register"]),
        categories=st.sampled_from(["fitting", "fitting", "none", "one", "two", "bogus", "twice"]),
        actor=actor_st("chair"),
    )
    def decide(self, ci: int, child: int, outcome: str, categories: str, actor: str) -> None:
        conf = self.conferences[ci % len(self.conferences)]
        profile = self.profile(conf.profile)
        child_id = conf.child_ids[child] if child < len(conf.child_ids) else str(uuid.uuid4())
        first, second = CATEGORY[conf.profile], SECOND_CATEGORY[conf.profile]
        needs = outcome in profile.categories_required_for
        cats = {
            "fitting": [first] if needs else [],
            "none": [],
            "one": [first],
            "two": [first, second],
            "bogus": ["BOGUS"],
            "twice": [first, first],
        }[categories]
        content_ok = (
            bool(cats) == needs
            and categories not in ("bogus", "twice")
            and (profile.max_categories is None or len(cats) <= profile.max_categories)
        )
        allowed = (
            self.chairs(actor, conf)
            and self.conference_row(conf)["status"] == "in_progress"
            and child_id in conf.child_ids
            and content_ok
        )
        body = {"child_id": child_id, "outcome": outcome, "categories": cats}
        self.call(actor, conf.profile, "POST", f"{conf.url}/decisions", body, allowed=allowed, why="decision")

    @rule(ci=st.integers(0, 7), actor=actor_st("chair"))
    def dissent_invitation(self, ci: int, actor: str) -> None:
        conf = self.conferences[ci % len(self.conferences)]
        allowed = self.chairs(actor, conf) and self.conference_row(conf)["status"] == "in_progress"
        self.call(
            actor, conf.profile, "POST", f"{conf.url}/dissent-invitation", allowed=allowed, why="invite"
        )

    @rule(ci=st.integers(0, 7), actor=actor_st("chair"))
    def appeal_rights_explained(self, ci: int, actor: str) -> None:
        conf = self.conferences[ci % len(self.conferences)]
        allowed = (
            self.chairs(actor, conf)
            and self.conference_row(conf)["status"] == "in_progress"
            and self.profile(conf.profile).appeals.enabled
        )
        self.call(
            actor, conf.profile, "POST", f"{conf.url}/appeal-rights-explained", allowed=allowed, why="appeal"
        )

    def _end(self, conf: Conf, actor: str) -> httpx.Response:
        row = self.conference_row(conf)
        profile = self.profile(conf.profile)
        decided = {str(d["child_id"]) for d in self.state().current_decisions(conf.uuid)}
        confirmations = {
            "dissent_invitation": row["dissent_invited_at"] is not None,
            "appeal_rights_explained": row["appeal_rights_explained_at"] is not None,
            "participants_advised": row["participants_advised_at"] is not None,
        }
        needed = list(profile.end_confirmations)
        if any(d["status"] == "raised" for d in self.state().rows("dissent", conference_id=conf.uuid)):
            needed += profile.end_confirmations_with_unresolved_dissent
        allowed = (
            self.chairs(actor, conf)
            and row["status"] == "in_progress"
            and set(conf.child_ids) <= decided
            and all(confirmations[c] for c in needed)
        )
        r = self.call(actor, conf.profile, "POST", f"{conf.url}/end", allowed=allowed, why="end")
        if r.status_code == 200:
            assert r.json()["status"] == "ended"
        return r

    @rule(ci=st.integers(0, 7), actor=actor_st("chair"))
    def end(self, ci: int, actor: str) -> None:
        self._end(self.conferences[ci % len(self.conferences)], actor)

    def complete_meeting(self, conf: Conf) -> None:
        """The chair records a fitting decision for every child and the confirmations, then
        ends the meeting; each call is checked on its own."""
        chair = self.chair_actor(conf)
        for child_id in conf.child_ids:
            body = {"child_id": child_id, "outcome": "register", "categories": [CATEGORY[conf.profile]]}
            self.call(chair, conf.profile, "POST", f"{conf.url}/decisions", body, allowed=True)
        self.call(chair, conf.profile, "POST", f"{conf.url}/dissent-invitation", allowed=True)
        if self.profile(conf.profile).appeals.enabled:
            self.call(chair, conf.profile, "POST", f"{conf.url}/appeal-rights-explained", allowed=True)
        if "participants_advised" in self.profile(conf.profile).end_confirmations_with_unresolved_dissent:
            self.call(chair, conf.profile, "POST", f"{conf.url}/participants-advised", allowed=True)
        assert self._end(conf, chair).status_code == 200

    @rule(
        ci=st.integers(0, 7), actor=actor_st("chair", "record_system"), aim=st.sampled_from(["probe", "any"])
    )
    def cancel(self, ci: int, actor: str, aim: str) -> None:
        """Half the time only at meetings that can no longer be cancelled, so that a
        cancellation does not end most examples' meetings before they start."""
        candidates = self.conferences
        if aim == "probe":
            candidates = [c for c in candidates if self.conference_row(c)["status"] != "scheduled"]
            if not candidates:
                return
        conf = candidates[ci % len(candidates)]
        allowed = ("record_system" in self.roles(actor) or self.chairs(actor, conf)) and self.conference_row(
            conf
        )["status"] == "scheduled"
        r = self.call(actor, conf.profile, "POST", f"{conf.url}/cancel", allowed=allowed, why="cancel")
        if r.status_code == 200:
            assert r.json()["status"] == "cancelled"

    @rule(
        ci=st.integers(0, 7),
        person=st.sampled_from(["prof-1", "prof-2", "prof-absent"]),
        actor=actor_st("record_system", "chair"),
    )
    def record_attendee(self, ci: int, person: str, actor: str) -> None:
        conf = self.conferences[ci % len(self.conferences)]
        body = {
            "person_id": person,
            "name": person.title(),
            "role_title": "Worker",
            "agency": "Agency",
            "kind": "professional",
            "attended": person != "prof-absent",
        }
        allowed = ("record_system" in self.roles(actor) or self.chairs(actor, conf)) and self.conference_row(
            conf
        )["status"] in ("scheduled", "in_progress")
        r = self.call(
            actor, conf.profile, "POST", f"{conf.url}/attendees", body, allowed=allowed, why="attendee"
        )
        if r.status_code in (200, 201) and person != "prof-absent":
            conf.attended.add(person)

    # ---- dissents ----

    @rule(
        ci=st.integers(0, 7),
        subject=st.sampled_from(["registration", "registration", "plan", "category"]),
        actor=actor_st("professional", "other_professional", "chair"),
        on_behalf=st.sampled_from(
            [None, None, "prof-1", "prof-2", "prof-absent", "parent-1", "chair-1", "nobody"]
        ),
        children=st.sampled_from(["default", "default", "first", "stray", "twice"]),
    )
    def raise_dissent(self, ci: int, subject: str, actor: str, on_behalf: str | None, children: str) -> None:
        conf = self.conferences[ci % len(self.conferences)]
        profile = self.profile(conf.profile)
        body: dict[str, Any] = {"subject": subject, "reasons": "The evidence does not support this."}
        if on_behalf is not None:
            body["attendee_person_id"] = on_behalf
        child_ids = {
            "default": None,
            "first": conf.child_ids[:1],
            "stray": [str(uuid.uuid4())],
            "twice": conf.child_ids[:1] * 2,
        }[children]
        if child_ids is not None:
            body["child_ids"] = child_ids
        sub, roles = self.sub(actor), self.roles(actor)
        if on_behalf is not None and on_behalf != sub:
            dissenter = on_behalf if self.chairs(actor, conf) else None
        else:
            dissenter = sub if "professional" in roles else None
        snap = self.state()
        clash = any(
            d["dissenter_id"] == dissenter and d["subject"] == subject and d["status"] in PRE_DECISION
            for d in snap.rows("dissent", conference_id=conf.uuid)
        )
        allowed = (
            self.same_authority(actor)
            and dissenter is not None
            and dissenter in conf.attended
            and dissenter != conf.chair_id
            and self.conference_row(conf)["status"] == "in_progress"
            and subject in profile.dissent.subjects
            and children in ("default", "first")
            and not clash
        )
        r = self.call(actor, conf.profile, "POST", f"{conf.url}/dissents", body, allowed=allowed, why="raise")
        if r.status_code == 201:
            assert r.json()["status"] == "raised"
            assert r.json()["dissenter"]["person_id"] == dissenter
            self.dissents.append((conf.profile, r.json()["id"]))

    def _dissent_call(
        self,
        di: int,
        actor: str,
        path: str,
        body: dict[str, Any],
        *,
        allowed_for: Any,
        target: str | None,
        expect_code: str | None = None,
    ) -> httpx.Response:
        if not self.dissents:
            return self.probe_unknown_dissent(actor, path, body)
        code, row, conf = self.dissent_context(di)
        allowed = allowed_for(self.profile(code), row, conf)
        if (
            actor == "reviewer_chair"
            and conf.chair_id == "chair-1"
            and path in ("review-meeting", "review-decision")
        ):
            expect_code = "reviewer_conflict"
        r = self.call(
            actor,
            code,
            "POST",
            f"/v1/dissents/{row['id']}/{path}",
            body,
            allowed=allowed,
            why=f"{path} from {row['status']}",
            expect_code=expect_code,
        )
        if r.status_code == 200 and target is not None:
            assert r.json()["status"] == target, r.text
        return r

    @rule(di=st.integers(0, 20), actor=actor_st("chair"))
    def resolve(self, di: int, actor: str) -> None:
        self._dissent_call(
            di,
            actor,
            "resolution",
            {"summary": "Agreed in the meeting."},
            allowed_for=lambda p, row, conf: (
                self.chairs(actor, conf)
                and self.conference_row(conf)["status"] == "in_progress"
                and row["status"] == "raised"
            ),
            target="resolved",
        )

    @rule(di=st.integers(0, 20), actor=actor_st("professional", "other_professional", "chair"))
    def withdraw(self, di: int, actor: str) -> None:
        def allowed(p: Profile, row: dict[str, Any], conf: Conf) -> bool:
            own = "professional" in self.roles(actor) and self.sub(actor) == row["dissenter_id"]
            chair = self.chairs(actor, conf) and self.conference_row(conf)["status"] == "in_progress"
            return (own or chair) and row["status"] in PRE_DECISION and not self.written_step_lapsed(p, row)

        self._dissent_call(
            di, actor, "withdrawal", {"reason": "Changed my mind."}, allowed_for=allowed, target="withdrawn"
        )

    @rule(
        di=st.integers(0, 20),
        actor=actor_st("professional", "other_professional"),
        discussed=st.booleans(),
        right_date=st.booleans(),
    )
    def written_submission(self, di: int, actor: str, discussed: bool, right_date: bool) -> None:
        meeting_date = self.today()
        if self.dissents:
            meeting_date = self.conference_row(self.dissent_context(di)[2])["meeting_date"]
        conference_date = meeting_date if right_date else meeting_date + timedelta(days=1)
        code = self.dissent_context(di)[0] if self.dissents else PROFILES[0]
        letter = self.profile(code).dissent.written_step.document == "dissent_letter"
        body = dissent_form(
            self.today().isoformat(),
            professional=FORM_PROFESSIONAL
            | {"agency_address": "1 High Street", "email": "pat.prof@nhs.example.org"},
            manager={"name": "Mo Manager", "contact": "mo.manager@nhs.example.org"},
            conference_date=conference_date.isoformat(),
            discussed_with_line_manager_and_safeguarding_lead=discussed,
            rationale="The risk is not shown by the evidence presented.",
        )
        if letter:  # the profile's written step is a letter to the reviewer
            body = dissent_letter(self.today().isoformat())

        def form_fits(p: Profile, row: dict[str, Any]) -> bool:
            """England's form: the discussion, the meeting date and the decision agree."""
            outcomes = {
                d["outcome"] in ("register", "continue")
                for d in self.state().current_decisions(row["conference_id"])
                if str(d["child_id"]) in row["child_ids"]
            }
            return (
                (discussed or not p.dissent.written_step.requires_line_manager_discussion)
                and right_date
                and (not outcomes or True in outcomes)
            )

        def allowed(p: Profile, row: dict[str, Any], conf: Conf) -> bool:
            return (
                "professional" in self.roles(actor)
                and self.sub(actor) == row["dissenter_id"]
                and row["status"] == "awaiting_submission"
                and not self.written_step_lapsed(p, row)
                and (letter or form_fits(p, row))
            )

        self._dissent_call(di, actor, "written-submission", body, allowed_for=allowed, target="submitted")

    @rule(di=st.integers(0, 20), actor=actor_st("chair"))
    def referral(self, di: int, actor: str) -> None:
        self._dissent_call(
            di,
            actor,
            "referral",
            {"note": "Referred in writing."},
            allowed_for=lambda p, row, conf: (
                self.chairs(actor, conf) and row["status"] == "awaiting_referral"
            ),
            target="referred",
        )

    def reviews(self, actor: str, conf: Conf) -> bool:
        return "reviewer" in self.roles(actor) and self.sub(actor) != conf.chair_id

    @rule(
        di=st.integers(0, 20),
        actor=actor_st("reviewer", "reviewer_chair"),
        held=st.sampled_from([0, 0, -2, 1]),
    )
    def review_meeting(self, di: int, actor: str, held: int) -> None:
        body = {"held_on": (self.today() + timedelta(days=held)).isoformat(), "members": ["R One", "Q Two"]}
        self._dissent_call(
            di,
            actor,
            "review-meeting",
            body,
            allowed_for=lambda p, row, conf: (
                self.reviews(actor, conf) and row["status"] in ("submitted", "referred") and held <= 0
            ),
            target="under_review",
        )

    @rule(
        di=st.integers(0, 20),
        actor=actor_st("reviewer", "reviewer_chair"),
        outcome=st.sampled_from(["uphold", "uphold", "change_category", "reconvene"]),
        informant=st.booleans(),
        improvements=st.booleans(),
        new_categories=st.sampled_from(["fitting", "fitting", "bogus", "none"]),
        new_chair=st.sampled_from(["chair-1", "chair-2"]),
    )
    def review_decision(
        self,
        di: int,
        actor: str,
        outcome: str,
        informant: bool,
        improvements: bool,
        new_categories: str,
        new_chair: str,
    ) -> None:
        code, conf = PROFILES[0], self.conferences[0]
        if self.dissents:
            code, _, conf = self.dissent_context(di)
        body: dict[str, Any] = {"outcome": outcome, "written_note": "The decision stands for these reasons."}
        if informant:
            body["family_informant"] = {"name": "Lee Worker", "role": "Lead social worker"}
        if improvements:
            body["practice_improvements"] = "Share reports earlier."
        if outcome == "change_category" and new_categories != "none":
            body["new_categories"] = [CATEGORY[code]] if new_categories == "fitting" else ["BOGUS"]
        if outcome == "reconvene":
            body["reconvene"] = {
                "scheduled_start": (self.now + timedelta(days=7)).isoformat(),
                "chair_id": new_chair,
                "chair_name": new_chair.title(),
            }

        def allowed(p: Profile, row: dict[str, Any], conf: Conf) -> bool:
            review = p.dissent.review
            can_decide = row["status"] == "under_review" or (
                row["status"] in ("submitted", "referred") and not review.meeting_required
            )
            content = (
                outcome in p.review_outcome_codes
                and informant == review.family_informant_required
                and (review.practice_improvements or not improvements)
                and (outcome != "change_category" or new_categories == "fitting")
                and not (
                    outcome == "reconvene"
                    and review.reconvene_requires_different_chair
                    and new_chair == conf.chair_id
                )
            )
            if outcome == "change_category":
                children = {uuid.UUID(c) for c in row["child_ids"]}
                carrying = [
                    d
                    for d in self.state().current_decisions(conf.uuid)
                    if d["child_id"] in children and d["outcome"] in p.categories_required_for
                ]
                content = content and bool(carrying)
            return self.reviews(actor, conf) and can_decide and content

        r = self._dissent_call(di, actor, "review-decision", body, allowed_for=allowed, target="decided")
        if r.status_code == 200:
            assert r.json()["outcome"] == outcome
            if outcome == "reconvene":
                new_id = r.json()["reconvened_conference_id"]
                assert new_id, r.text
                self.conferences.append(Conf(code, new_id, new_chair, list(conf.child_ids)))

    @rule(
        di=st.integers(0, 20),
        actor=actor_st("reviewer", "chair"),
        when=st.sampled_from(["today", "today", "future", "before"]),
    )
    def family_informed(self, di: int, actor: str, when: str) -> None:
        decided_at = self.dissent_context(di)[1]["decided_at"] if self.dissents else None
        decided_on = decided_at.astimezone(LONDON).date() if decided_at else self.today()
        informed_on = {
            "today": self.today(),
            "future": self.today() + timedelta(days=1),
            "before": decided_on - timedelta(days=1),
        }[when]
        body = {"informed_by": "Lee Worker", "informed_on": informed_on.isoformat()}
        self._dissent_call(
            di,
            actor,
            "family-informed",
            body,
            allowed_for=lambda p, row, conf: (
                ("reviewer" in self.roles(actor) or self.chairs(actor, conf))
                and p.dissent.review.family_informed_recorded
                and row["status"] == "decided"
                and row["family_informed_on"] is None
                and when == "today"
            ),
            target="decided",
        )

    @rule(
        di=st.integers(0, 20),
        actor=actor_st("professional", "reviewer", "record_system", "chair", "other_professional"),
    )
    def get_dissent(self, di: int, actor: str) -> None:
        if not self.dissents:
            self.probe_unknown_dissent(actor, None)
            return
        code, row, conf = self.dissent_context(di)
        roles = self.roles(actor)
        allowed = bool(roles & {"record_system", "admin", "reviewer"}) or (
            self.chairs(actor, conf) or ("professional" in roles and self.sub(actor) == row["dissenter_id"])
        )
        should_lapse = self.written_step_lapsed(self.profile(code), row)
        r = self.call(actor, code, "GET", f"/v1/dissents/{row['id']}", allowed=allowed, why="read")
        if r.status_code == 200:
            assert r.json()["status"] == ("lapsed" if should_lapse else row["status"]), r.text

    # ---- the happy path, so short examples reach the later stages ----

    def dissent_steps(self) -> list[Any]:
        """Calls that move a dissent on, deepest stage first; each is one of the rules above
        with the right actor and a valid body (and is checked in full like any call)."""
        snap = self.state()
        steps: list[Any] = []
        for di, (code, dissent_id) in enumerate(self.dissents):
            profile = self.profile(code)
            row = snap.one("dissent", id=uuid.UUID(dissent_id))
            conf = next(c for c in self.conferences if c.uuid == row["conference_id"])
            status, review = row["status"], profile.dissent.review
            dissenter = "professional" if row["dissenter_id"] == "prof-1" else "other_professional"
            other_chair = "chair-2" if conf.chair_id == "chair-1" else "chair-1"
            if status == "decided" and review.family_informed_recorded and row["family_informed_on"] is None:
                steps.append(lambda di=di: self.family_informed(di, "reviewer", "today"))
            if status == "under_review" or (
                status in ("submitted", "referred") and not review.meeting_required
            ):
                for outcome in profile.review_outcome_codes:
                    steps.append(
                        lambda di=di, outcome=outcome, review=review, other=other_chair: self.review_decision(
                            di, "reviewer", outcome, review.family_informant_required, False, "fitting", other
                        )
                    )
            if status in ("submitted", "referred"):
                steps.append(lambda di=di: self.review_meeting(di, "reviewer", 0))
            if status == "awaiting_submission" and self.written_step_lapsed(profile, row):
                steps.append(lambda di=di, who=dissenter: self.get_dissent(di, who))  # lapses on read
            elif status == "awaiting_submission":
                steps.append(lambda di=di, who=dissenter: self.written_submission(di, who, True, True))
                steps.append(lambda di=di, row=row, who=dissenter: self.miss_deadline(di, row, who))
            if status == "awaiting_referral":
                steps.append(lambda di=di, conf=conf: self.referral(di, self.chair_actor(conf)))
        return steps

    def miss_deadline(self, di: int, row: Any, dissenter: str) -> None:
        """The dissenter never writes: the clock passes the written step's deadline and the
        dissenter looks at the dissent (it lapses on read where the profile says so)."""
        deadline = self.state().written_deadline(row["id"], self.profile(self.dissents[di][0]))
        assert deadline is not None
        if deadline["due_at"] >= self.now:
            self.set_clock(deadline["due_at"] + timedelta(hours=10))
        self.get_dissent(di, dissenter)

    def meeting_steps(self) -> list[Any]:
        """Calls that move a meeting on: a dissent first (if the meeting has none yet), the end
        of the meeting, further dissents, attendance at a reconvened meeting, the start."""
        snap = self.state()
        first: list[Any] = []
        later: list[Any] = []
        for ci, conf in enumerate(self.conferences):
            status = self.conference_row(conf)["status"]
            if status == "in_progress":
                dissents = snap.rows("dissent", conference_id=conf.uuid)
                open_subjects = {
                    d["subject"]
                    for d in dissents
                    if d["dissenter_id"] == "prof-1" and d["status"] in PRE_DECISION
                }
                for subject in self.profile(conf.profile).dissent.subjects:
                    if subject not in open_subjects and "prof-1" in conf.attended:
                        (later if dissents else first).append(
                            lambda ci=ci, subject=subject: self.raise_dissent(
                                ci, subject, "professional", None, "default"
                            )
                        )
                first.append(lambda conf=conf: self.complete_meeting(conf))
            if status in ("scheduled", "in_progress") and "prof-1" not in conf.attended:
                later.append(lambda ci=ci: self.record_attendee(ci, "prof-1", "record_system"))
            if status == "scheduled":
                later.append(lambda ci=ci, conf=conf: self.start(ci, self.chair_actor(conf)))
        return first + later

    @rule(pick=st.integers(0, 5))
    def progress_dissent(self, pick: int) -> None:
        """Random rules alone rarely get a dissent to review; these two walk the procedure."""
        steps = self.dissent_steps() or self.meeting_steps()
        if steps:
            steps[pick % len(steps)]()

    @rule(pick=st.integers(0, 5))
    def progress_meeting(self, pick: int) -> None:
        steps = self.meeting_steps() or self.dissent_steps()
        if steps:
            steps[pick % len(steps)]()

    # ---- time ----

    @rule(days=st.sampled_from([0, 1, 3, 6, 13, 30]), hours=st.sampled_from([0, 0, 7]))
    def advance_clock(self, days: int, hours: int) -> None:
        self.set_clock(self.now + timedelta(days=days, hours=hours))

    def set_clock(self, when: datetime) -> None:
        before = self.state()
        response = self.api.system_admin().put("/v1/test-clock", json={"now": when.isoformat()})
        assert response.status_code == 200, response.text
        self.now = when
        self.snap = self.fetch()
        assert self.snap.tables == before.tables, "setting the clock changed the example's rows"

    # ---- invariants ----

    @invariant()
    def stored_state_is_legal(self) -> None:
        if not self.authority:
            return
        snap = self.state()
        for code, (_, authority_id) in self.authority.items():
            check_authority(snap, self.profile(code), authority_id)
        self.reached |= {d["status"] for d in snap.rows("dissent")}

    def teardown(self) -> None:
        self.seen["examples"] += 1
        for status in self.reached:
            self.seen[f"examples where a dissent reached {status}"] += 1


def check_authority(snap: Snapshot, profile: Profile, authority_id: uuid.UUID) -> None:
    conferences = {c["id"]: c for c in snap.rows("conference", authority_id=authority_id)}
    dissents = snap.rows("dissent", authority_id=authority_id)
    events = sorted(snap.rows("event", authority_id=authority_id), key=lambda e: e["seq"])
    step = profile.dissent.written_step

    # The event feed: 1..N with no gaps, matching the authority's counter.
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), f"{profile.code}: event seq {seqs}"
    assert snap.one("authority", id=authority_id)["event_seq"] == len(seqs)

    # Conferences: allowed statuses; the status is the replay of its lifecycle events.
    for conf in conferences.values():
        assert conf["status"] in CONFERENCE_STATUSES, conf["status"]
        lifecycle = [e for e in events if e["subject_id"] == str(conf["id"])]
        assert lifecycle and lifecycle[0]["type"] == "conference.scheduled", lifecycle
        status = "scheduled"
        for event in lifecycle:
            if event["type"] in CONFERENCE_EVENTS:
                source, target = CONFERENCE_EVENTS[event["type"]]
                assert status == source, f"{event['type']} from {status}"
                status = target
        assert status == conf["status"], f"conference is {conf['status']}, its events say {status}"
        children = {r["child_id"] for r in snap.rows("conference_child", conference_id=conf["id"])}
        current = [d for d in snap.current_decisions(conf["id"])]
        per_child = Counter(d["child_id"] for d in current)
        assert all(n == 1 for n in per_child.values()), f"two current decisions: {per_child}"
        assert set(per_child) <= children
        if conf["status"] in ("scheduled", "cancelled"):
            assert not snap.rows("decision", conference_id=conf["id"]), "decision for a meeting never held"
        if conf["status"] == "ended":
            assert set(per_child) == children, "an ended meeting lacks a decision"
            for decision in current:
                assert decision["amends_id"] is not None or decision["recorded_at"] <= conf["ended_at"], (
                    "a decision changed after the meeting ended without an amendment"
                )
        if (
            conf["reconvened_from_id"] is not None
            and profile.dissent.review.reconvene_requires_different_chair
        ):
            original = conferences[conf["reconvened_from_id"]]
            assert original["chair_id"] != conf["chair_id"], "reconvened with the same chair"

    # Dissents.
    open_keys = Counter(
        (d["conference_id"], d["dissenter_id"], d["subject"]) for d in dissents if d["status"] in PRE_DECISION
    )
    assert all(n == 1 for n in open_keys.values()), f"two open dissents: {open_keys}"
    moves = legal_dissent_moves(profile)
    for d in dissents:
        status = d["status"]
        conf = conferences[d["conference_id"]]
        assert status in APP_REACHABLE(profile), f"{status} unreachable in {profile.code}"
        assert status in oracle_reachable(profile), f"{status} not a state of {profile.code}"
        assert d["subject"] in profile.dissent.subjects
        assert d["dissenter_id"] != conf["chair_id"]
        attendee = snap.rows("attendee", conference_id=conf["id"], person_id=d["dissenter_id"])
        assert attendee and attendee[0]["attended"] and attendee[0]["kind"] == "professional"
        if status == "raised":
            assert conf["status"] == "in_progress", f"raised dissent in a {conf['status']} meeting"
        if status in (step.status, "submitted", "referred", "under_review", "decided", "lapsed"):
            assert conf["status"] == "ended", f"{status} dissent in a {conf['status']} meeting"
        if status == "decided":
            assert d["outcome"] in profile.review_outcome_codes, d["outcome"]
            assert d["decided_at"] is not None and d["decided_by"] not in (None, conf["chair_id"])
            if d["outcome"] == "reconvene":
                new = conferences[d["reconvened_conference_id"]]
                assert new["reconvened_from_id"] == conf["id"]
        else:
            assert d["outcome"] is None and d["decided_at"] is None
        if status == "lapsed":
            assert step.lapses_when_missed, f"lapsed in {profile.code}"
        if status in ("resolved", "withdrawn", "decided"):
            running = [
                k["kind"]
                for k in snap.rows("deadline", subject_id=d["id"])
                if k["met_at"] is None and k["cancelled_at"] is None
            ]
            assert not running, f"a {status} dissent still has deadlines running: {running}"
        if d["family_informed_on"] is not None:
            assert status == "decided" and profile.dissent.review.family_informed_recorded
        if d["unresolved_at"] is not None:
            deadline = snap.written_deadline(d["id"], profile)
            assert deadline is not None, "unresolved dissent without its written-step deadline"
            if status == "lapsed":
                assert deadline["met_at"] is None and deadline["due_at"] < d["lapsed_at"]
            if d["submitted_at"] is not None:
                assert d["submitted_at"] <= deadline["due_at"], "written dissent accepted after its deadline"
        # Every status change is an event, and the events replay through the SPEC's table.
        own = [e for e in events if e["subject_kind"] == "dissent" and e["subject_id"] == str(d["id"])]
        assert own and own[0]["type"] == "dissent.raised", own
        replayed = "raised"
        for event in own[1:]:
            if "status" not in event["data"]:
                continue
            target = moves.get((replayed, event["type"]))
            assert target is not None, f"{profile.code}: illegal {event['type']} from {replayed}"
            said = event["data"]["status"]
            assert said == target, (
                f"{profile.code}: {event['type']} from {replayed} leads to {target}, not {said}"
            )
            replayed = target
        assert replayed == status, f"dissent is {status}, its events say {replayed}"


# ---- running it --------------------------------------------------------------------------------


@contextmanager
def machine_for(settings: Settings, database_url: str) -> Iterator[type[DissentMachine]]:
    # Autocommit: every read sees what the app has committed, and holds nothing open.
    engine = sa.create_engine(sync_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        with (
            TestClient(create_app(settings), raise_server_exceptions=False) as client,
            engine.connect() as conn,
        ):
            machine = type(
                "DissentApiMachine",
                (DissentMachine,),
                {
                    "client": client,
                    "conn": conn,
                    "api": Api(client, settings.auth_jwt_secret or ""),
                    "seen": Counter(),
                },
            )
            yield machine
    finally:
        engine.dispose()


def run(machine: type[DissentMachine], **overrides: Any) -> None:
    options: dict[str, Any] = {
        # STATEFUL_MAX_EXAMPLES raises the count for a longer hunt (e.g. 500).
        "max_examples": int(os.environ.get("STATEFUL_MAX_EXAMPLES", "25")),
        "stateful_step_count": 25,
        "deadline": None,
        "database": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        **overrides,
    }
    # Hypothesis also tries zero-step sequences; each example here costs a set-up of ~25 calls,
    # so make every one run at least 15 steps.
    run_state_machine_as_test(machine, settings=hsettings(**options), _min_steps=15)


def test_random_call_sequences_keep_the_state_legal(settings: Settings, database_url: str) -> None:
    with machine_for(settings, database_url) as machine:
        run(machine)
        print("\n".join(f"{n:5} {what}" for what, n in sorted(machine.seen.items())))


def walk_every_procedure(m: DissentMachine) -> None:
    """Drive the machine by hand down each profile's whole procedure, with a few refusals on
    the way; every call gets the same checks as in the random runs."""

    def step(rule: Any, *args: Any) -> None:
        rule(*args)
        m.stored_state_is_legal()

    def status(di: int) -> str:
        return str(m.dissent_context(di)[1]["status"])

    m.setup((2, 1, 1), (True, True, True))
    england, carm, registration = 0, 1, 2
    step(m.raise_dissent, england, "plan", "professional", None, "default")  # 0
    step(m.raise_dissent, england, "category", "professional", None, "default")  # 1
    step(m.raise_dissent, england, "registration", "chair", "prof-2", "first")  # 2, on prof-2's behalf
    step(m.raise_dissent, carm, "registration", "professional", None, "default")  # 3
    step(m.raise_dissent, carm, "plan", "other_professional", None, "default")  # 4
    step(m.raise_dissent, registration, "registration", "professional", None, "default")  # 5
    step(m.raise_dissent, registration, "plan", "professional", None, "default")  # refused
    step(m.resolve, 1, "chair")
    step(m.withdraw, 4, "other_professional")
    for conf in m.conferences[:3]:
        step(m.complete_meeting, conf)
    assert [status(i) for i in range(6)] == [
        "awaiting_submission",
        "resolved",
        "awaiting_submission",
        "awaiting_submission",
        "withdrawn",
        "awaiting_referral",
    ]
    # England: the form, the review meeting, a reconvened meeting with another chair.
    step(m.written_submission, 0, "professional", False, True)  # refused: no line-manager talk
    step(m.written_submission, 0, "professional", True, True)
    step(m.review_decision, 0, "reviewer", "uphold", False, False, "fitting", "chair-2")  # refused
    step(m.review_meeting, 0, "reviewer_chair", 0)  # refused: reviewer_conflict
    step(m.review_meeting, 0, "reviewer", 0)
    step(m.review_decision, 0, "reviewer", "reconvene", False, False, "fitting", "chair-1")  # refused
    step(m.review_decision, 0, "reviewer", "reconvene", False, False, "fitting", "chair-2")
    step(m.family_informed, 0, "reviewer", "today")
    # Scotland CPPM/CARM: written dissent, categories changed, the family's informant.
    step(m.written_submission, 3, "professional", False, False)  # refused: wrong meeting date
    step(m.written_submission, 3, "professional", False, True)
    step(m.review_decision, 3, "reviewer", "change_category", False, False, "fitting", "chair-2")
    step(m.review_decision, 3, "reviewer", "change_category", True, True, "fitting", "chair-2")
    step(m.family_informed, 3, "chair", "future")  # refused
    step(m.family_informed, 3, "chair", "today")
    # Scotland registration: the chair's referral, then the reviewer upholds.
    step(m.referral, 5, "other_professional")  # refused
    step(m.referral, 5, "chair")
    step(m.review_decision, 5, "reviewer", "uphold", False, False, "fitting", "chair-2")
    # England: prof-2 writes too late; refused, and the dissent has lapsed.
    deadline = m.state().written_deadline(m.dissent_context(2)[1]["id"], m.profile(PROFILES[0]))
    assert deadline is not None
    m.set_clock(deadline["due_at"] + timedelta(minutes=1))
    step(m.written_submission, 2, "other_professional", True, True)  # refused: deadline_passed
    assert status(2) == "lapsed"  # the lapse found on the way is kept
    step(m.get_dissent, 2, "other_professional")
    assert [status(i) for i in range(6)] == [
        "decided",
        "resolved",
        "lapsed",
        "decided",
        "withdrawn",
        "decided",
    ]
    # The reconvened meeting runs with its new chair.
    assert len(m.conferences) == 4 and m.conferences[3].chair_id == "chair-2"
    step(m.start, 3, "chair")  # refused: not this meeting's chair
    step(m.start, 3, "chair2")
    assert m.conference_row(m.conferences[3])["status"] == "in_progress"
    m.teardown()


def test_scripted_walk_through_every_procedure(settings: Settings, database_url: str) -> None:
    """Every run checks the deep states, whatever the random examples happened to reach."""
    with machine_for(settings, database_url) as machine:
        walk_every_procedure(machine())


def test_scripted_walk_catches_a_missing_reviewer_conflict_guard(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks can fail: without the rule that a reviewer may not review a meeting they
    chaired, the reviewer-who-is-chair's review meeting is accepted and the walk reports it."""
    monkeypatch.setattr(dissent_rules, "check_reviewer_independent", lambda reviewer_id, **_: None)
    with machine_for(settings, database_url) as machine, pytest.raises(AssertionError) as caught:
        walk_every_procedure(machine())
    assert "reviewer_chair POST" in str(caught.value) and "should be refused" in str(caught.value)


def test_machine_catches_an_engine_that_skips_the_written_step(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The machine can fail: with the engine's table patched so that a dissent still open at
    the end of the meeting jumps straight to `submitted` (no written step, no deadline), the
    first example that ends a meeting with a dissent open must be reported."""
    original = dissent_rules.transitions

    def broken(profile: Profile) -> dict[tuple[Any, Any], Any]:
        table = dict(original(profile))
        table[(DissentStatus.raised, Action.meeting_ends)] = DissentStatus.submitted
        return table

    monkeypatch.setattr(dissent_rules, "transitions", broken)
    with machine_for(settings, database_url) as machine, pytest.raises(AssertionError) as caught:
        run(machine, max_examples=50, phases=[Phase.generate])
    assert "dissent.unresolved" in str(caught.value) or "submitted" in str(caught.value), caught.value
