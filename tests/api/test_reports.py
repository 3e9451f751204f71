"""Reports over HTTP (SPEC §10 and the reporting issue): /v1/reports/summary, /timeliness and
/overdue, JSON or CSV, for the reporting, reviewer and admin roles only.

Known data sets give exact counts, percentages, medians and 90th percentiles: two are built
through the API with the test clock (an England authority whose dissents are resolved,
withdrawn, submitted on day 1 and day 3, lapsed, reviewed on time and late; a Scottish
registration authority with referrals on time and late, review responses and family appeals),
and the larger cells needed to show unsuppressed figures are inserted with SQL. The reports
must never carry names, dates of birth, reasons, notes or letters."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.main import create_app
from app.models.dissent import Deadline, Dissent
from app.models.platform import AuditEntry
from tests.support import Api, Caller, expect, rows

ENGLAND = "england-cp-conference"
REGISTRATION = "scotland-cppm-registration"
KINDS = ["written_submission", "referral", "review_meeting", "review_response", "appeal_response"]
ROW_FIELDS = [
    "kind",
    "total",
    "met",
    "missed",
    "pending",
    "cancelled",
    "percentage_met",
    "median_working_days_taken",
    "p90_working_days_taken",
    "suppressed",
]
OVERDUE_FIELDS = [
    "kind",
    "subject_kind",
    "subject_id",
    "conference_id",
    "due_date",
    "due_at",
    "days_overdue",
    "responsible_role",
    "procedure_code",
    "procedure_version",
]
NOW = "2025-12-10T12:00:00Z"

# Personal data and free text used to build the data sets: none of it may reach a report.
CHILD_GIVEN, CHILD_FAMILY, CHILD_DOB = "Ottoline", "Vexworthy", "2017-03-09"
SECRETS = [
    CHILD_GIVEN,
    CHILD_FAMILY,
    CHILD_DOB,
    "Zebedee",  # every attendee's name starts with it
    "Sam Chairperson",
    "REASONS-MARKER",
    "RESOLUTION-MARKER",
    "WITHDRAWAL-MARKER",
    "RATIONALE-MARKER",
    "Petra Formfiller",
    "Mungo Linemanager",
    "Quentin Panelmember",
    "NOTE-MARKER",
    "REFERRAL-MARKER",
    "Jocasta Appellant",
    "Hermione Appellant",
    "Lysander Appellant",
    "Ignatius Appellant",
    "GROUNDS-MARKER",
    "RESPONSE-MARKER",
    "formfiller@example.org",
]


# ---- building data through the API ------------------------------------------------------------


class Scene:
    """One authority and its meetings, driven through the API on the test clock."""

    def __init__(self, api: Api, profile: str) -> None:
        self.api = api
        self.profile = profile
        self.code = f"la-{uuid.uuid4().hex[:8]}"
        body = {
            "code": self.code,
            "name": f"Authority {self.code}",
            "profile": profile,
            "jurisdiction": "england" if profile == ENGLAND else "scotland",
        }
        expect(api.system_admin().post("/v1/authorities", json=body), 201)
        self.days: dict[str, str] = {}  # conference id → meeting date
        self.children: dict[str, str] = {}  # conference id → its one child

    # callers
    def caller(self, sub: str, *roles: str) -> Caller:
        return self.api.as_(sub, *roles, authority=self.code)

    @property
    def record(self) -> Caller:
        return self.caller("record-system", "record_system")

    @property
    def chair(self) -> Caller:
        return self.caller("chair-1", "chair")

    @property
    def reviewer(self) -> Caller:
        return self.caller("reviewer-1", "reviewer")

    def clock(self, iso: str) -> None:
        self.api.set_clock(iso)

    # meetings
    def conference(self, day: str, meeting_type: str, people: dict[str, str]) -> str:
        child = expect(
            self.record.post(
                "/v1/children",
                json={
                    "external_ref": f"REF-{uuid.uuid4().hex[:8]}",
                    "given_name": CHILD_GIVEN,
                    "family_name": CHILD_FAMILY,
                    "date_of_birth": CHILD_DOB,
                },
            ),
            201,
        )["id"]
        conference = expect(
            self.record.post(
                "/v1/conferences",
                json={
                    "meeting_type": meeting_type,
                    "scheduled_start": f"{day}T10:00:00Z",
                    "chair_id": "chair-1",
                    "chair_name": "Sam Chairperson",
                    "child_ids": [child],
                },
            ),
            201,
        )["id"]
        for person_id, agency in people.items():
            expect(
                self.record.post(
                    f"/v1/conferences/{conference}/attendees",
                    json={
                        "person_id": person_id,
                        "name": f"Zebedee {person_id}",
                        "role_title": "Worker",
                        "agency": agency,
                        "kind": "professional",
                        "attended": True,
                    },
                ),
                201,
            )
        self.days[conference] = day
        self.children[conference] = child
        return str(conference)

    def begin(self, day: str, meeting_type: str, people: dict[str, str]) -> str:
        """A meeting started at 10:00Z on `day` (so its meeting date is `day`)."""
        self.clock(f"{day}T10:00:00Z")
        conference = self.conference(day, meeting_type, people)
        expect(self.chair.post(f"/v1/conferences/{conference}/start"), 200)
        return conference

    def end(self, conference: str) -> None:
        category = "NEG" if self.profile == ENGLAND else "neglect"
        decision = {"child_id": self.children[conference], "outcome": "register", "categories": [category]}
        expect(self.chair.post(f"/v1/conferences/{conference}/decisions", json=decision), 200)
        expect(self.chair.post(f"/v1/conferences/{conference}/dissent-invitation"), 200)
        if self.profile == REGISTRATION:
            expect(self.chair.post(f"/v1/conferences/{conference}/appeal-rights-explained"), 200)
            # needed to end with a dissent left unresolved (issue 13)
            expect(self.chair.post(f"/v1/conferences/{conference}/participants-advised"), 200)
        expect(self.chair.post(f"/v1/conferences/{conference}/end"), 200)

    # dissents
    def dissent(self, conference: str, person: str, subject: str) -> str:
        body = {"subject": subject, "reasons": f"REASONS-MARKER {person} {subject}"}
        made = self.caller(person, "professional").post(f"/v1/conferences/{conference}/dissents", json=body)
        return str(expect(made, 201)["id"])

    def resolve(self, dissent: str) -> None:
        body = {"summary": "RESOLUTION-MARKER agreed in the room"}
        expect(self.chair.post(f"/v1/dissents/{dissent}/resolution", json=body), 200)

    def withdraw(self, dissent: str, person: str) -> None:
        body = {"reason": "WITHDRAWAL-MARKER changed my mind"}
        expect(self.caller(person, "professional").post(f"/v1/dissents/{dissent}/withdrawal", json=body), 200)

    def submit(self, dissent: str, person: str, conference: str) -> None:
        day = self.days[conference]
        body = {
            "professional": {
                "name": "Petra Formfiller",
                "role": "Health visitor",
                "agency": "NHS",
                "agency_address": "1 High Street, Townsville",
                "phone": "01234 567890",
                "email": "formfiller@example.org",
            },
            "manager": {"name": "Mungo Linemanager", "contact": "01234 000000"},
            "children": [{"name": f"{CHILD_GIVEN} {CHILD_FAMILY}", "date_of_birth": CHILD_DOB}],
            "conference_date": day,
            "child_subject_to_plan": True,
            "discussed_with_line_manager_and_safeguarding_lead": True,
            "rationale": "RATIONALE-MARKER the threshold is not met",
            "signed_name": "Petra Formfiller",
            "signed_on": day,
        }
        made = self.caller(person, "professional").post(
            f"/v1/dissents/{dissent}/written-submission", json=body
        )
        expect(made, 200)

    def review_meeting(self, dissent: str, held_on: str) -> None:
        body = {"held_on": held_on, "members": ["Quentin Panelmember"]}
        expect(self.reviewer.post(f"/v1/dissents/{dissent}/review-meeting", json=body), 200)

    def decide(self, dissent: str) -> None:
        body = {"outcome": "uphold", "written_note": "NOTE-MARKER the decision stands"}
        expect(self.reviewer.post(f"/v1/dissents/{dissent}/review-decision", json=body), 200)

    def refer(self, dissent: str) -> None:
        body = {"note": "REFERRAL-MARKER referred in writing"}
        expect(self.chair.post(f"/v1/dissents/{dissent}/referral", json=body), 200)

    # appeals
    def lodge(self, conference: str, name: str) -> str:
        body = {
            "conference_id": conference,
            "child_id": self.children[conference],
            "appellant": {"name": name, "relationship": "parent"},
            "grounds": "GROUNDS-MARKER we disagree",
        }
        return str(expect(self.record.post("/v1/appeals", json=body), 201)["id"])

    def respond(self, appeal: str, outcome: str) -> None:
        body: dict[str, Any] = {"outcome": outcome, "response_text": "RESPONSE-MARKER we looked again"}
        if outcome == "reconvene":
            body["reconvene"] = {
                "scheduled_start": "2026-01-20T10:00:00Z",
                "chair_id": "chair-2",
                "chair_name": "Zebedee Otherchair",
            }
        expect(self.chair.post(f"/v1/appeals/{appeal}/response", json=body), 200)


def england_scene(api: Api) -> tuple[Scene, dict[str, str]]:
    """England, three meetings held (3 Nov initial, 12 Nov review, 8 Dec initial), one
    scheduled and one cancelled for 1 Dec, seven dissents; the clock ends at NOW (10 Dec).

    d1 nhs-1 plan          resolved in the meeting
    d2 nhs-1 registration  submitted day 1 (4 Nov); review meeting 5 Nov (1 WD, on time); upheld
    d3 pol-1 registration  submitted day 3 (6 Nov); review meeting 20 Nov (10 WD, late)
    d4 edu-1 category      never submitted: lapsed (due 10 Nov)
    d5 pol-1 plan          withdrawn after the meeting (its deadline is cancelled)
    d6 nhs-1 category      (12 Nov review meeting) submitted day 1; review meeting due 20 Nov, not held
    d7 nhs-1 registration  (8 Dec) awaiting submission, due 15 Dec
    """
    s = Scene(api, ENGLAND)
    people = {"nhs-1": "NHS", "pol-1": "Police", "edu-1": "Education"}
    m1 = s.begin("2025-11-03", "initial_conference", people)
    d = {"m1": m1}
    d["d1"] = s.dissent(m1, "nhs-1", "plan")
    d["d2"] = s.dissent(m1, "nhs-1", "registration")
    d["d3"] = s.dissent(m1, "pol-1", "registration")
    d["d4"] = s.dissent(m1, "edu-1", "category")
    d["d5"] = s.dissent(m1, "pol-1", "plan")
    s.resolve(d["d1"])
    s.end(m1)

    s.clock("2025-11-04T12:00:00Z")
    s.submit(d["d2"], "nhs-1", m1)
    s.withdraw(d["d5"], "pol-1")
    s.clock("2025-11-05T12:00:00Z")
    s.review_meeting(d["d2"], "2025-11-05")
    s.clock("2025-11-06T12:00:00Z")
    s.decide(d["d2"])
    s.submit(d["d3"], "pol-1", m1)

    m2 = s.begin("2025-11-12", "review_conference", {"nhs-1": "NHS"})
    d["m2"] = m2
    d["d6"] = s.dissent(m2, "nhs-1", "category")
    s.end(m2)
    s.clock("2025-11-13T12:00:00Z")
    s.submit(d["d6"], "nhs-1", m2)

    s.clock("2025-11-20T12:00:00Z")
    s.review_meeting(d["d3"], "2025-11-20")
    s.conference("2025-12-01", "initial_conference", {})  # scheduled, never held
    cancelled = s.conference("2025-12-01", "initial_conference", {})
    expect(s.chair.post(f"/v1/conferences/{cancelled}/cancel"), 200)

    m3 = s.begin("2025-12-08", "initial_conference", {"nhs-1": "NHS"})
    d["m3"] = m3
    d["d7"] = s.dissent(m3, "nhs-1", "registration")
    s.end(m3)

    s.clock(NOW)
    # Reading the dissent lapses it (SPEC §5: lapse "on read"), as the sweep would.
    assert expect(s.reviewer.get(f"/v1/dissents/{d['d4']}"), 200)["status"] == "lapsed"
    return s, d


def registration_scene(api: Api) -> tuple[Scene, dict[str, str]]:
    """Scotland (registration profile), the clock ending at NOW (10 Dec).

    R1 on Mon 3 Nov (referral due Tue 4 Nov; review response due 1 Dec; appeals until 10 Nov):
      e1 referred 3 Nov (0 WD, on time), decided 10 Nov (5 WD)
      e2 referred 4 Nov (1 WD, on time), decided 24 Nov (15 WD)
      e3 referred 6 Nov (3 WD, late), never decided: review response overdue since 1 Dec
      a1 lodged 4 Nov, answered 14 Nov (8 WD, due 2 Dec): decision_confirmed
      a2 lodged 5 Nov, answered 5 Dec (21 WD; 1 Dec is St Andrew's Day observed; due 3 Dec, late): reconvene
      a3 lodged 6 Nov, never answered: overdue since 4 Dec
    R2 on Mon 8 Dec (referral due Tue 9 Dec):
      e4, e5, e6 never referred: overdue since 9 Dec
      a4 lodged 9 Dec, due 6 Jan: pending
    """
    s = Scene(api, REGISTRATION)
    people = {"p-a": "NHS", "p-b": "Police", "p-c": "Education"}
    r1 = s.begin("2025-11-03", "initial_cppm", people)
    d = {"r1": r1}
    d["e1"] = s.dissent(r1, "p-a", "registration")
    d["e2"] = s.dissent(r1, "p-b", "registration")
    d["e3"] = s.dissent(r1, "p-c", "registration")
    s.end(r1)
    s.clock("2025-11-03T15:00:00Z")
    s.refer(d["e1"])
    s.clock("2025-11-04T12:00:00Z")
    s.refer(d["e2"])
    d["a1"] = s.lodge(r1, "Jocasta Appellant")
    s.clock("2025-11-05T12:00:00Z")
    d["a2"] = s.lodge(r1, "Hermione Appellant")
    s.clock("2025-11-06T12:00:00Z")
    s.refer(d["e3"])
    d["a3"] = s.lodge(r1, "Lysander Appellant")
    s.clock("2025-11-10T12:00:00Z")
    s.decide(d["e1"])
    s.clock("2025-11-14T12:00:00Z")
    s.respond(d["a1"], "decision_confirmed")
    s.clock("2025-11-24T12:00:00Z")
    s.decide(d["e2"])
    s.clock("2025-12-05T12:00:00Z")
    s.respond(d["a2"], "reconvene")

    r2 = s.begin("2025-12-08", "review_cppm", people)
    d["r2"] = r2
    d["e4"] = s.dissent(r2, "p-a", "registration")
    d["e5"] = s.dissent(r2, "p-b", "registration")
    d["e6"] = s.dissent(r2, "p-c", "registration")
    s.end(r2)
    s.clock("2025-12-09T12:00:00Z")
    d["a4"] = s.lodge(r2, "Ignatius Appellant")
    s.clock(NOW)
    return s, d


# ---- reading reports ---------------------------------------------------------------------------


def reporter(s: Scene) -> Caller:
    return s.caller("analyst-1", "reporting")


def manager(s: Scene) -> Caller:
    return s.caller("manager-1", "reviewer")


def get(caller: Caller, path: str, **params: Any) -> dict[str, Any]:
    return expect(caller.get(path, params=params), 200)


def counts(cells: list[dict[str, Any]]) -> dict[str | None, int | None]:
    keys = [c["key"] for c in cells]
    assert len(keys) == len(set(keys)), cells
    return {c["key"]: c["count"] for c in cells}


def flags(cells: list[dict[str, Any]]) -> dict[str | None, bool]:
    return {c["key"]: c["suppressed"] for c in cells}


def cell(count: int | None, suppressed: bool = False) -> dict[str, Any]:
    return {"key": None, "count": count, "suppressed": suppressed}


def by_kind(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert [r["kind"] for r in report["kinds"]] == KINDS, report["kinds"]
    return {r["kind"]: {k: v for k, v in r.items() if k != "kind"} for r in report["kinds"]}


def timeliness_row(
    total: int | None,
    met: int | None,
    missed: int | None,
    pending: int | None,
    cancelled: int | None,
    percentage: float | None,
    median: float | None,
    p90: float | None,
    suppressed: bool = False,
) -> dict[str, Any]:
    return {
        "total": total,
        "met": met,
        "missed": missed,
        "pending": pending,
        "cancelled": cancelled,
        "percentage_met": percentage,
        "median_working_days_taken": median,
        "p90_working_days_taken": p90,
        "suppressed": suppressed,
    }


EMPTY = timeliness_row(0, 0, 0, 0, 0, None, None, None)
WITHHELD = timeliness_row(None, None, None, None, None, None, None, None, suppressed=True)


def csv_rows(response: Any) -> tuple[list[str], list[dict[str, str]]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv"), response.headers
    reader = csv.DictReader(io.StringIO(response.text))
    return list(reader.fieldnames or []), list(reader)


def assert_no_personal_data(text: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), f"{secret!r} leaked into a report: {text[:500]}"


def authority_id(db: sa.Connection, code: str) -> uuid.UUID:
    found = rows(db, "SELECT id FROM authority WHERE code = :code", code=code)
    assert len(found) == 1
    value = found[0][0]
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def audit_actions(db: sa.Connection, code: str, action: str) -> list[Any]:
    t = AuditEntry.__table__
    db.rollback()
    stmt = sa.select(t.c.actor_sub, t.c.entity_kind).where(t.c.authority_code == code, t.c.action == action)
    return list(db.execute(stmt).all())


# ---- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/reports/summary", "/v1/reports/timeliness", "/v1/reports/overdue"])
def test_only_reporting_reviewer_and_admin_may_read_reports(api, db, path):
    s = Scene(api, ENGLAND)
    for roles in (("reporting",), ("reviewer",), ("admin",), ("reporting", "admin")):
        expect(s.caller("reader", *roles).get(path), 200)
    for roles in (("chair",), ("professional",), ("record_system",), ("chair", "professional")):
        expect(s.caller("someone", *roles).get(path), 403, "forbidden")
    expect(api.system_admin().get(path), 403, "forbidden")  # no authority in the token
    expect(api.anonymous().get(path), 401, "unauthorized")
    # Each allowed read is audited (four readers), the refused ones are not.
    action = "report." + path.rsplit("/", 1)[1]
    audited = audit_actions(db, s.code, action)
    assert sorted(r.actor_sub for r in audited) == ["reader"] * 4
    assert {r.entity_kind for r in audited} == {"report"}


def test_empty_authority_reports_zeros_not_suppressed(api):
    s = Scene(api, ENGLAND)
    for caller, threshold in ((reporter(s), 5), (manager(s), None)):
        summary = get(caller, "/v1/reports/summary")
        assert summary["suppression_threshold"] == threshold
        assert summary["conferences_held"] == cell(0)
        assert summary["dissents_total"] == cell(0)
        assert summary["appeals_total"] == cell(0)
        for measure in ("subject", "status", "outcome", "agency"):
            assert summary[f"dissents_by_{measure}"] == []
        assert summary["appeals_by_outcome"] == []
        timeliness = get(caller, "/v1/reports/timeliness")
        assert timeliness["suppression_threshold"] == threshold
        assert by_kind(timeliness) == {kind: EMPTY for kind in KINDS}
        assert get(caller, "/v1/reports/overdue") == {"items": [], "next_cursor": None}


# ---- summary (England data built through the API) --------------------------------------------


def test_summary_counts_exactly_for_managers(api):
    s, _ = england_scene(api)
    for caller in (manager(s), s.caller("admin-1", "admin"), s.caller("both", "reporting", "reviewer")):
        report = get(caller, "/v1/reports/summary")
        assert report["suppression_threshold"] is None
        assert (report["period_from"], report["period_to"], report["meeting_type"]) == (None, None, None)
        assert report["conferences_held"] == cell(3)  # not the scheduled nor the cancelled one
        assert report["dissents_total"] == cell(7)
        assert counts(report["dissents_by_subject"]) == {"plan": 2, "registration": 3, "category": 2}
        assert counts(report["dissents_by_status"]) == {
            "resolved": 1,
            "withdrawn": 1,
            "decided": 1,
            "under_review": 1,
            "lapsed": 1,
            "submitted": 1,
            "awaiting_submission": 1,
        }
        assert counts(report["dissents_by_outcome"]) == {"uphold": 1}
        assert counts(report["dissents_by_agency"]) == {"NHS": 4, "Police": 2, "Education": 1}
        assert report["appeals_total"] == cell(0)
        assert report["appeals_by_outcome"] == []
        for measure in ("subject", "status", "outcome", "agency"):
            assert not any(flags(report[f"dissents_by_{measure}"]).values())


def test_summary_withholds_small_counts_from_the_reporting_role(api):
    s, _ = england_scene(api)
    report = get(reporter(s), "/v1/reports/summary")
    assert report["suppression_threshold"] == 5
    assert report["conferences_held"] == cell(None, True)  # 3 held
    assert report["dissents_total"] == cell(7)  # at or above the threshold: shown
    assert report["appeals_total"] == cell(0)  # zero identifies no one: shown
    # Every group here holds 1 to 4 dissents: the keys stay, the counts are withheld.
    expected_keys = {
        "subject": {"plan", "registration", "category"},
        "status": {
            "resolved",
            "withdrawn",
            "decided",
            "under_review",
            "lapsed",
            "submitted",
            "awaiting_submission",
        },
        "outcome": {"uphold"},
        "agency": {"NHS", "Police", "Education"},
    }
    for measure, keys in expected_keys.items():
        cells = report[f"dissents_by_{measure}"]
        assert counts(cells) == dict.fromkeys(keys), (measure, cells)
        assert flags(cells) == dict.fromkeys(keys, True), (measure, cells)
    # Filtered down to nothing, the zeros are shown.
    empty = get(reporter(s), "/v1/reports/summary", **{"from": "2025-11-04", "to": "2025-11-11"})
    assert empty["conferences_held"] == cell(0)
    assert empty["dissents_total"] == cell(0)
    # Another role beside `reporting` that is not a managing one does not lift suppression.
    mixed = get(s.caller("analyst-2", "reporting", "chair"), "/v1/reports/summary")
    assert mixed == report


def test_summary_date_range_and_meeting_type_filters(api):
    s, _ = england_scene(api)
    caller = manager(s)

    def summary(**params: Any) -> dict[str, Any]:
        return get(caller, "/v1/reports/summary", **params)

    november = summary(**{"from": "2025-11-01", "to": "2025-11-30"})
    assert (november["period_from"], november["period_to"]) == ("2025-11-01", "2025-11-30")
    assert november["conferences_held"]["count"] == 2
    assert november["dissents_total"]["count"] == 6
    assert counts(november["dissents_by_subject"]) == {"plan": 2, "registration": 2, "category": 2}

    # Both ends are inclusive.
    first_day = summary(**{"from": "2025-11-03", "to": "2025-11-03"})
    assert first_day["conferences_held"]["count"] == 1
    assert first_day["dissents_total"]["count"] == 5
    assert counts(first_day["dissents_by_agency"]) == {"NHS": 2, "Police": 2, "Education": 1}

    between = summary(**{"from": "2025-11-04", "to": "2025-11-11"})
    assert between["conferences_held"] == cell(0)
    assert between["dissents_total"] == cell(0)
    assert between["dissents_by_status"] == []

    from_only = summary(**{"from": "2025-11-12"})
    assert from_only["conferences_held"]["count"] == 2  # 12 Nov and 8 Dec; not the 1 Dec ones
    assert counts(from_only["dissents_by_status"]) == {"submitted": 1, "awaiting_submission": 1}

    to_only = summary(to="2025-11-12")
    assert to_only["conferences_held"]["count"] == 2
    assert to_only["dissents_total"]["count"] == 6

    review = summary(meeting_type="review_conference")
    assert review["meeting_type"] == "review_conference"
    assert review["conferences_held"]["count"] == 1
    assert counts(review["dissents_by_subject"]) == {"category": 1}
    assert counts(review["dissents_by_status"]) == {"submitted": 1}

    initial = summary(meeting_type="initial_conference", **{"from": "2025-12-01"})
    assert initial["conferences_held"]["count"] == 1
    assert counts(initial["dissents_by_status"]) == {"awaiting_submission": 1}

    assert summary(meeting_type="carm")["dissents_total"] == cell(0)


@pytest.mark.parametrize("path", ["/v1/reports/summary", "/v1/reports/timeliness"])
def test_from_after_to_is_refused(api, path):
    s = Scene(api, ENGLAND)
    caller = manager(s)
    expect(caller.get(path, params={"from": "2025-11-02", "to": "2025-11-01"}), 422, "validation_error")
    expect(caller.get(path, params={"from": "2025-11-01", "to": "2025-11-01"}), 200)
    response = caller.get(path, params={"from": "not-a-date"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_summary_is_scoped_to_the_callers_authority(api):
    s, _ = england_scene(api)
    other = Scene(api, ENGLAND)
    report = get(manager(other), "/v1/reports/summary")
    assert report["conferences_held"] == cell(0)
    assert report["dissents_total"] == cell(0)
    assert get(manager(other), "/v1/reports/timeliness")["kinds"] == [{"kind": k, **EMPTY} for k in KINDS]
    assert get(manager(other), "/v1/reports/overdue")["items"] == []
    assert get(manager(s), "/v1/reports/summary")["dissents_total"] == cell(7)


# ---- timeliness (data built through the API) -----------------------------------------------------


def test_timeliness_counts_percentages_and_percentiles_england(api, db):
    s, d = england_scene(api)
    report = get(manager(s), "/v1/reports/timeliness")
    assert report["suppression_threshold"] is None
    assert by_kind(report) == {
        # d2 (1 WD) d3 (3 WD) d6 (1 WD) on time; d4 lapsed: missed; d7 due 15 Dec: pending;
        # d5 withdrawn: cancelled. 3 of 4 decided = 75 %; median of 1,1,3 = 1; p90 = 1 + 0.8*2.
        "written_submission": timeliness_row(5, 3, 1, 1, 1, 75.0, 1.0, 2.6),
        # d2 held after 1 WD (on time), d3 after 10 WD (late), d6 not held and past due.
        "review_meeting": timeliness_row(3, 1, 2, 0, 0, 33.3, 5.5, 9.1),
        "referral": EMPTY,
        "review_response": EMPTY,
        "appeal_response": EMPTY,
    }
    # days_taken is stored on the deadline when it is met (working days from its start).
    t = Deadline.__table__
    db.rollback()
    stored = {
        (str(r.subject_id), r.kind): r.days_taken
        for r in db.execute(sa.select(t.c.subject_id, t.c.kind, t.c.days_taken)).all()
    }

    def days(name: str, kind: str) -> int | None:
        return stored[(str(uuid.UUID(d[name])), kind)]

    assert days("d2", "written_submission") == 1
    assert days("d3", "written_submission") == 3
    assert days("d6", "written_submission") == 1
    assert days("d4", "written_submission") is None
    assert days("d2", "review_meeting") == 1
    assert days("d3", "review_meeting") == 10


def test_timeliness_filters_by_due_date(api):
    s, _ = england_scene(api)
    caller = manager(s)
    november = by_kind(get(caller, "/v1/reports/timeliness", **{"from": "2025-11-01", "to": "2025-11-30"}))
    # d7's step (due 15 Dec) falls outside November.
    assert november["written_submission"] == timeliness_row(4, 3, 1, 0, 1, 75.0, 1.0, 2.6)
    assert november["review_meeting"] == timeliness_row(3, 1, 2, 0, 0, 33.3, 5.5, 9.1)
    # Due 12-19 Nov: d6's written step (due 19 Nov) and d3's review meeting (due 13 Nov).
    window = by_kind(get(caller, "/v1/reports/timeliness", **{"from": "2025-11-12", "to": "2025-11-19"}))
    assert window["written_submission"] == timeliness_row(1, 1, 0, 0, 0, 100.0, 1.0, 1.0)
    assert window["review_meeting"] == timeliness_row(1, 0, 1, 0, 0, 0.0, 10.0, 10.0)
    # Both ends inclusive: exactly the written steps due on Mon 10 Nov (d2, d3, d4, d5).
    day = by_kind(get(caller, "/v1/reports/timeliness", **{"from": "2025-11-10", "to": "2025-11-10"}))
    assert day["written_submission"] == timeliness_row(3, 2, 1, 0, 1, 66.7, 2.0, 2.8)
    assert day["review_meeting"] == EMPTY
    later = by_kind(get(caller, "/v1/reports/timeliness", **{"from": "2025-12-11"}))
    assert later["written_submission"] == timeliness_row(1, 0, 0, 1, 0, None, None, None)
    early = by_kind(get(caller, "/v1/reports/timeliness", to="2025-11-09"))
    assert early == {kind: EMPTY for kind in KINDS}


def test_timeliness_withholds_small_rows_from_the_reporting_role(api):
    s, _ = england_scene(api)
    report = get(reporter(s), "/v1/reports/timeliness")
    assert report["suppression_threshold"] == 5
    rows_ = by_kind(report)
    # Five written steps: the total and the figures derived from it are shown, the small
    # counts are not.
    assert rows_["written_submission"] == timeliness_row(5, None, None, None, None, 75.0, 1.0, 2.6, True)
    # Three review meetings: the whole row is withheld.
    assert rows_["review_meeting"] == WITHHELD
    for kind in ("referral", "review_response", "appeal_response"):
        assert rows_[kind] == EMPTY


def test_timeliness_counts_exactly_for_the_registration_profile(api):
    s, _ = registration_scene(api)
    assert by_kind(get(manager(s), "/v1/reports/timeliness")) == {
        "written_submission": EMPTY,
        # e1 0 WD, e2 1 WD on time; e3 3 WD late; e4-e6 not referred and past due (9 Dec).
        "referral": timeliness_row(6, 2, 4, 0, 0, 33.3, 1.0, 2.6),
        "review_meeting": EMPTY,
        # e1 5 WD, e2 15 WD on time; e3 not decided and past due (1 Dec); e4-e6: the 28-day
        # response runs from the meeting date, so it started at the end of the meeting (issue 13)
        "review_response": timeliness_row(6, 2, 1, 3, 0, 66.7, 10.0, 14.0),
        # a1 8 WD on time; a2 21 WD late; a3 past due; a4 due 6 Jan.
        "appeal_response": timeliness_row(4, 1, 2, 1, 0, 33.3, 14.5, 19.7),
    }
    assert by_kind(get(reporter(s), "/v1/reports/timeliness")) == {
        "written_submission": EMPTY,
        "referral": timeliness_row(6, None, None, 0, 0, 33.3, 1.0, 2.6, True),
        "review_meeting": EMPTY,
        "review_response": timeliness_row(6, None, None, None, 0, 66.7, 10.0, 14.0, True),
        "appeal_response": WITHHELD,
    }


def test_summary_counts_appeals_by_outcome(api):
    s, _ = registration_scene(api)
    report = get(manager(s), "/v1/reports/summary")
    assert report["conferences_held"] == cell(2)  # R1, R2 (the reconvened meeting is only scheduled)
    assert report["dissents_total"] == cell(6)
    assert counts(report["dissents_by_status"]) == {"decided": 2, "referred": 1, "awaiting_referral": 3}
    assert counts(report["dissents_by_subject"]) == {"registration": 6}
    assert counts(report["dissents_by_outcome"]) == {"uphold": 2}
    assert report["appeals_total"] == cell(4)
    assert counts(report["appeals_by_outcome"]) == {
        "decision_confirmed": 1,
        "reconvene": 1,
        "pending_lodged": 2,
    }
    # Appeals follow their meeting's date: R1 on 3 Nov, R2 on 8 Dec.
    november = get(manager(s), "/v1/reports/summary", **{"from": "2025-11-01", "to": "2025-11-30"})
    assert november["appeals_total"] == cell(3)
    assert counts(november["appeals_by_outcome"]) == {
        "decision_confirmed": 1,
        "reconvene": 1,
        "pending_lodged": 1,
    }
    review = get(manager(s), "/v1/reports/summary", meeting_type="review_cppm")
    assert review["appeals_total"] == cell(1)
    assert counts(review["appeals_by_outcome"]) == {"pending_lodged": 1}
    assert review["dissents_total"] == cell(3)
    # For the reporting role: 6 dissents shown, every appeal figure withheld.
    withheld = get(reporter(s), "/v1/reports/summary")
    assert withheld["dissents_total"] == cell(6)
    assert withheld["conferences_held"] == cell(None, True)
    assert withheld["appeals_total"] == cell(None, True)
    assert counts(withheld["dissents_by_subject"]) == {"registration": 6}
    assert flags(withheld["appeals_by_outcome"]) == dict.fromkeys(
        ["decision_confirmed", "reconvene", "pending_lodged"], True
    )
    assert counts(withheld["appeals_by_outcome"]) == dict.fromkeys(
        ["decision_confirmed", "reconvene", "pending_lodged"]
    )


# ---- overdue ---------------------------------------------------------------------------------------


def test_overdue_lists_open_steps_but_never_the_step_that_lapses(api):
    s, d = england_scene(api)
    page = get(manager(s), "/v1/reports/overdue")
    assert page["next_cursor"] is None
    # d4's written step lapsed (it is the dissenter's own); d7's is not due yet; only d6's
    # review meeting (due Thu 20 Nov) is overdue, by 20 calendar days.
    assert page["items"] == [
        {
            "kind": "review_meeting",
            "subject_kind": "dissent",
            "subject_id": d["d6"],
            "conference_id": d["m2"],
            "due_date": "2025-11-20",
            "due_at": "2025-11-20T23:59:59.999999Z",
            "days_overdue": 20,
            "responsible_role": "reviewer",
            "procedure_code": "england-cp-conference",  # the version its deadlines follow
            "procedure_version": 1,
        }
    ]
    # After d7's written step passes too (and before anything lapses it), it is still not listed.
    s.clock("2025-12-16T12:00:00Z")
    items = get(s.caller("admin-1", "admin"), "/v1/reports/overdue")["items"]
    assert [(i["subject_id"], i["days_overdue"]) for i in items] == [(d["d6"], 26)]
    # The reporting role sees the same list: it holds no personal data.
    assert get(reporter(s), "/v1/reports/overdue")["items"] == items


def overdue_expected(d: dict[str, str]) -> list[tuple[str, str, str, str, str, int]]:
    """(kind, subject id, conference id, due date, role, days overdue) for the registration scene."""
    return [
        ("review_response", d["e3"], d["r1"], "2025-12-01", "reviewer", 9),
        ("appeal_response", d["a3"], d["r1"], "2025-12-04", "chair", 6),
        ("referral", d["e4"], d["r2"], "2025-12-09", "chair", 1),
        ("referral", d["e5"], d["r2"], "2025-12-09", "chair", 1),
        ("referral", d["e6"], d["r2"], "2025-12-09", "chair", 1),
    ]


def summarise(items: list[dict[str, Any]]) -> list[tuple[str, str, str, str, str, int]]:
    for item in items:
        assert list(item) == OVERDUE_FIELDS, item
        assert item["subject_kind"] == ("appeal" if item["kind"] == "appeal_response" else "dissent")
    return [
        (
            i["kind"],
            i["subject_id"],
            i["conference_id"],
            i["due_date"],
            i["responsible_role"],
            i["days_overdue"],
        )
        for i in items
    ]


def deadline_order(db: sa.Connection, subject_ids: list[str]) -> list[str]:
    """The subjects' open deadlines ordered by (due_at, id), as the report pages them."""
    t = Deadline.__table__
    db.rollback()
    found = db.execute(
        sa.select(t.c.subject_id)
        .where(
            t.c.subject_id.in_([uuid.UUID(x) for x in subject_ids]),
            t.c.met_at.is_(None),
            t.c.cancelled_at.is_(None),
        )
        .order_by(t.c.due_at, t.c.id)
    ).all()
    return [str(r[0]) for r in found]


def test_overdue_walks_pages_oldest_first_each_item_once(api, db):
    s, d = registration_scene(api)
    expected = overdue_expected(d)
    # The three referrals share a due time: the page order breaks the tie by deadline id.
    tied = deadline_order(db, [d["e4"], d["e5"], d["e6"]])
    expected[2:] = sorted(expected[2:], key=lambda e: tied.index(e[1]))
    whole = get(manager(s), "/v1/reports/overdue")
    assert summarise(whole["items"]) == expected
    assert whole["next_cursor"] is None

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = get(reporter(s), "/v1/reports/overdue", **params)
        pages += 1
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    assert seen == whole["items"]
    assert len({(i["kind"], i["subject_id"]) for i in seen}) == 5
    dues = [i["due_at"] for i in seen]
    assert dues == sorted(dues)


def test_overdue_moves_as_steps_are_done(api):
    s, d = registration_scene(api)
    s.clock("2025-12-11T09:00:00Z")
    s.refer(d["e4"])  # late, so it is done: it leaves the list (its review response is not due yet)
    s.decide(d["e3"])
    body = {"reason": "WITHDRAWAL-MARKER"}
    expect(s.caller("p-b", "professional").post(f"/v1/dissents/{d['e5']}/withdrawal", json=body), 200)
    s.respond(d["a3"], "decision_confirmed")
    items = get(manager(s), "/v1/reports/overdue")["items"]
    assert summarise(items) == [("referral", d["e6"], d["r2"], "2025-12-09", "chair", 2)]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "W10",  # []: the wrong number of values
        "WyJ4IiwieSJd",  # ["x","y"]: not a time and an id
        "WyIyMDI1LTEyLTAxVDAwOjAwOjAwIiwiYWJjIl0",  # ["2025-12-01T00:00:00","abc"]: naive, bad id
    ],
)
def test_overdue_bad_cursor_is_refused(api, cursor):
    s = Scene(api, ENGLAND)
    expect(manager(s).get("/v1/reports/overdue", params={"cursor": cursor}), 422, "invalid_cursor")


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_overdue_limit_out_of_range_is_refused(api, limit):
    s = Scene(api, ENGLAND)
    response = manager(s).get("/v1/reports/overdue", params={"limit": limit})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


# ---- CSV ---------------------------------------------------------------------------------------------

CSV_ACCEPT = {"Accept": "text/csv"}


def test_summary_as_csv(api):
    s, _ = england_scene(api)
    header, lines = csv_rows(manager(s).get("/v1/reports/summary", headers=CSV_ACCEPT))
    assert header == ["measure", "key", "count", "suppressed"]
    table = {(r["measure"], r["key"]): (r["count"], r["suppressed"].lower()) for r in lines}
    assert len(table) == len(lines)
    assert table[("conferences_held", "")] == ("3", "false")
    assert table[("dissents_total", "")] == ("7", "false")
    assert table[("appeals_total", "")] == ("0", "false")
    assert table[("dissents_by_subject", "registration")] == ("3", "false")
    assert table[("dissents_by_status", "lapsed")] == ("1", "false")
    assert table[("dissents_by_outcome", "uphold")] == ("1", "false")
    assert table[("dissents_by_agency", "NHS")] == ("4", "false")
    assert len(lines) == 3 + 3 + 7 + 1 + 3  # totals, subjects, statuses, outcomes, agencies

    _, withheld = csv_rows(reporter(s).get("/v1/reports/summary", headers=CSV_ACCEPT))
    table = {(r["measure"], r["key"]): (r["count"], r["suppressed"].lower()) for r in withheld}
    assert table[("conferences_held", "")] == ("", "true")
    assert table[("dissents_total", "")] == ("7", "false")
    assert table[("dissents_by_agency", "NHS")] == ("", "true")
    # JSON stays the default.
    assert manager(s).get("/v1/reports/summary").headers["content-type"].startswith("application/json")


def test_timeliness_as_csv_matches_the_json(api):
    s, _ = registration_scene(api)
    for caller in (manager(s), reporter(s)):
        report = get(caller, "/v1/reports/timeliness")
        header, lines = csv_rows(caller.get("/v1/reports/timeliness", headers=CSV_ACCEPT))
        assert header == ROW_FIELDS
        assert [r["kind"] for r in lines] == KINDS
        for line, row in zip(lines, report["kinds"], strict=True):
            for field in ROW_FIELDS:
                value = row[field]
                if value is None:
                    assert line[field] == "", (field, line)
                elif isinstance(value, bool):
                    assert line[field].lower() == str(value).lower(), (field, line)
                elif isinstance(value, float):
                    assert float(line[field]) == value, (field, line)
                else:
                    assert line[field] == str(value), (field, line)
    _, lines = csv_rows(manager(s).get("/v1/reports/timeliness", headers=CSV_ACCEPT))
    referral = next(r for r in lines if r["kind"] == "referral")
    assert (referral["total"], referral["met"], referral["missed"], referral["percentage_met"]) == (
        "6",
        "2",
        "4",
        "33.3",
    )


def test_overdue_as_csv_pages_with_the_next_cursor_header(api):
    s, d = registration_scene(api)
    expected = get(manager(s), "/v1/reports/overdue")["items"]
    seen: list[dict[str, str]] = []
    cursor: str | None = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = reporter(s).get("/v1/reports/overdue", params=params, headers=CSV_ACCEPT)
        header, lines = csv_rows(response)
        assert header == OVERDUE_FIELDS
        seen += lines
        cursor = response.headers.get("X-Next-Cursor")
        if len(seen) < 5:
            assert cursor, response.headers
    assert cursor is None
    assert [r["subject_id"] for r in seen] == [i["subject_id"] for i in expected]
    assert [int(r["days_overdue"]) for r in seen] == [i["days_overdue"] for i in expected]
    assert [r["due_date"] for r in seen] == [i["due_date"] for i in expected]
    assert seen[0]["conference_id"] == d["r1"]
    assert seen[0]["responsible_role"] == "reviewer"
    # An empty list still has its header row.
    empty = Scene(api, ENGLAND)
    header, lines = csv_rows(manager(empty).get("/v1/reports/overdue", headers=CSV_ACCEPT))
    assert (header, lines) == (OVERDUE_FIELDS, [])


# ---- privacy -------------------------------------------------------------------------------------------


def test_reports_never_carry_names_dates_of_birth_reasons_or_letters(api):
    for s, d in (england_scene(api), registration_scene(api)):
        # The values are in the service (so the check below can fail)...
        sample = d.get("d2") or d["e1"]
        shown = s.reviewer.get(f"/v1/dissents/{sample}").text
        assert "REASONS-MARKER" in shown and "NOTE-MARKER" in shown
        # ...but in no report, for any reader, in JSON or CSV, on any page.
        for caller in (reporter(s), manager(s), s.caller("admin-1", "admin")):
            for path in ("/v1/reports/summary", "/v1/reports/timeliness", "/v1/reports/overdue"):
                for headers in ({}, CSV_ACCEPT):
                    for params in ({}, {"limit": 1}):
                        response = caller.get(path, params=params, headers=headers)
                        assert response.status_code == 200, response.text
                        assert_no_personal_data(response.text)
                        assert_no_personal_data(str(dict(response.headers)))
        summary = get(manager(s), "/v1/reports/summary")
        assert set(summary) == {
            "period_from",
            "period_to",
            "meeting_type",
            "suppression_threshold",
            "conferences_held",
            "dissents_total",
            "dissents_by_subject",
            "dissents_by_status",
            "dissents_by_outcome",
            "dissents_by_agency",
            "appeals_total",
            "appeals_by_outcome",
        }
        overdue = get(manager(s), "/v1/reports/overdue")
        assert overdue["items"]
        assert all(list(item) == OVERDUE_FIELDS for item in overdue["items"])


# ---- larger cells inserted with SQL ------------------------------------------------------------------


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def end_of(day: date) -> datetime:
    # November and December in the UK: local time is UTC.
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=UTC)


def insert_deadlines(
    db: sa.Connection,
    authority: uuid.UUID,
    kind: str,
    due: str,
    *,
    n: int = 1,
    met_on: str | None = None,
    days_taken: list[int] | None = None,
    cancelled: bool = False,
) -> None:
    """n deadline rows of one kind due on `due`: met on `met_on` (taking `days_taken`),
    cancelled, or left open. Every NOT NULL column is filled."""
    due_date = date.fromisoformat(due)
    values = days_taken if days_taken is not None else [None] * n
    records = []
    for taken in values:
        records.append(
            {
                "id": uuid.uuid4(),
                "authority_id": authority,
                "subject_kind": "appeal" if kind == "appeal_response" else "dissent",
                "subject_id": uuid.uuid4(),
                "kind": kind,
                "responsible_role": "reviewer",
                "lapses": kind == "written_submission",
                "start_date": due_date - timedelta(days=7),
                "due_date": due_date,
                "due_at": end_of(due_date),
                "explanation": "inserted by the test",
                "approaching_at": at(due_date - timedelta(days=1), 0),
                "met_at": at(date.fromisoformat(met_on)) if met_on else None,
                "days_taken": taken,
                "cancelled_at": at(due_date - timedelta(days=2)) if cancelled else None,
                "approaching_notified_at": None,
                "missed_notified_at": None,
                "created_at": at(due_date - timedelta(days=7)),
            }
        )
    db.execute(Deadline.__table__.insert(), records)
    db.commit()


def timeliness_data_set(api: Api, db: sa.Connection) -> Scene:
    s = Scene(api, ENGLAND)
    s.clock(NOW)
    a = authority_id(db, s.code)
    # referral: 6 on time (0,0,1,1,1,2 WD), 2 late (3, 4 WD), 3 open past due, 5 pending, 5 cancelled.
    insert_deadlines(db, a, "referral", "2025-11-14", met_on="2025-11-13", days_taken=[0, 0, 1, 1, 1, 2])
    insert_deadlines(db, a, "referral", "2025-11-14", met_on="2025-11-20", days_taken=[3, 4])
    insert_deadlines(db, a, "referral", "2025-11-14", n=3)
    insert_deadlines(db, a, "referral", "2025-12-20", n=5)
    insert_deadlines(db, a, "referral", "2025-11-14", n=5, cancelled=True)
    # review_meeting: 7 on time taking 13, 2, 5, 1, 8, 3, 2 WD.
    insert_deadlines(
        db, a, "review_meeting", "2025-11-28", met_on="2025-11-20", days_taken=[13, 2, 5, 1, 8, 3, 2]
    )
    # appeal_response: 2 on time (4, 6 WD), 1 past due, 1 pending: four in all.
    insert_deadlines(db, a, "appeal_response", "2025-12-01", met_on="2025-11-25", days_taken=[4, 6])
    insert_deadlines(db, a, "appeal_response", "2025-12-01", n=1)
    insert_deadlines(db, a, "appeal_response", "2025-12-31", n=1)
    # written_submission: 5 on time (1, 1, 2, 3, 5 WD), 2 cancelled (withdrawn).
    insert_deadlines(
        db, a, "written_submission", "2025-11-10", met_on="2025-11-07", days_taken=[1, 1, 2, 3, 5]
    )
    insert_deadlines(db, a, "written_submission", "2025-11-10", n=2, cancelled=True)
    # Outside the period: three referrals in October, on time, 9 WD each.
    insert_deadlines(db, a, "referral", "2025-10-15", met_on="2025-10-14", days_taken=[9, 9, 9])
    # Another authority's review responses never count here.
    other = Scene(api, REGISTRATION)
    insert_deadlines(
        db,
        authority_id(db, other.code),
        "review_response",
        "2025-11-14",
        met_on="2025-11-13",
        days_taken=[1] * 6,
    )
    return s


PERIOD = {"from": "2025-11-01", "to": "2025-12-31"}


def test_timeliness_exact_figures_on_a_large_data_set(api, db):
    s = timeliness_data_set(api, db)
    expected = {
        # 6 of 11 decided = 54.5 %; median of 0,0,1,1,1,2,3,4 = 1; p90 = 3 + 0.3 * (4 - 3).
        "referral": timeliness_row(16, 6, 5, 5, 5, 54.5, 1.0, 3.3),
        # median of 1,2,2,3,5,8,13 = 3; p90 = 8 + 0.4 * (13 - 8).
        "review_meeting": timeliness_row(7, 7, 0, 0, 0, 100.0, 3.0, 10.0),
        "appeal_response": timeliness_row(4, 2, 1, 1, 0, 66.7, 5.0, 5.8),
        # median of 1,1,2,3,5 = 2; p90 = 3 + 0.6 * (5 - 3).
        "written_submission": timeliness_row(5, 5, 0, 0, 2, 100.0, 2.0, 4.2),
        "review_response": EMPTY,
    }
    assert by_kind(get(manager(s), "/v1/reports/timeliness", **PERIOD)) == expected
    # For the reporting role: the cells of five or more are shown; four appeals are withheld
    # whole; the two cancelled written steps are withheld alone; zeros are shown.
    assert by_kind(get(reporter(s), "/v1/reports/timeliness", **PERIOD)) == {
        **expected,
        "appeal_response": WITHHELD,
        "written_submission": timeliness_row(5, 5, 0, 0, None, 100.0, 2.0, 4.2, True),
    }
    # Without a period the October referrals join: 9 of 14 = 64.3 %; median of
    # 0,0,1,1,1,2,3,4,9,9,9 = 2; p90 at rank 10 = 9.
    everything = by_kind(get(reporter(s), "/v1/reports/timeliness"))
    assert everything["referral"] == timeliness_row(19, 9, 5, 5, 5, 64.3, 2.0, 9.0)
    october = by_kind(
        get(reporter(s), "/v1/reports/timeliness", **{"from": "2025-10-01", "to": "2025-10-31"})
    )
    assert october["referral"] == WITHHELD  # three
    assert by_kind(get(manager(s), "/v1/reports/timeliness", to="2025-10-31"))["referral"] == timeliness_row(
        3, 3, 0, 0, 0, 100.0, 9.0, 9.0
    )


def test_percentiles_match_python_and_postgresql(api, db, backend):
    s = timeliness_data_set(api, db)
    report = by_kind(get(manager(s), "/v1/reports/timeliness", **PERIOD))
    a = authority_id(db, s.code)
    found = rows(
        db,
        "SELECT kind, days_taken FROM deadline WHERE authority_id = :a AND days_taken IS NOT NULL"
        " AND due_date >= :lo AND due_date <= :hi",
        a=a if backend == "postgresql" else a.hex,
        lo=date(2025, 11, 1),
        hi=date(2025, 12, 31),
    )
    per_kind: dict[str, list[int]] = {}
    for kind, taken in found:
        per_kind.setdefault(kind, []).append(taken)
    assert set(per_kind) == {"referral", "review_meeting", "appeal_response", "written_submission"}
    for kind, values in per_kind.items():
        median = statistics.quantiles(values, n=2, method="inclusive")[0]
        p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
        assert report[kind]["median_working_days_taken"] == round(median, 1), kind
        assert report[kind]["p90_working_days_taken"] == round(p90, 1), kind
    if backend == "postgresql":
        cont = rows(
            db,
            "SELECT kind, percentile_cont(0.5) WITHIN GROUP (ORDER BY days_taken),"
            " percentile_cont(0.9) WITHIN GROUP (ORDER BY days_taken)"
            " FROM deadline WHERE authority_id = :a AND days_taken IS NOT NULL"
            " AND due_date BETWEEN :lo AND :hi GROUP BY kind",
            a=a,
            lo=date(2025, 11, 1),
            hi=date(2025, 12, 31),
        )
        assert len(cont) == 4
        for kind, median, p90 in cont:
            assert report[kind]["median_working_days_taken"] == round(float(median), 1), kind
            assert report[kind]["p90_working_days_taken"] == round(float(p90), 1), kind


def insert_dissents(
    db: sa.Connection,
    authority: uuid.UUID,
    conference: str,
    *,
    n: int,
    subject: str,
    status: str,
    agency: str,
    meeting_date: str = "2025-11-05",
    meeting_type: str = "initial_conference",
    outcome: str | None = None,
) -> None:
    """n dissent rows (each by another dissenter), every NOT NULL column filled."""
    raised = at(date.fromisoformat(meeting_date), 10)
    records = []
    for _ in range(n):
        person = f"person-{uuid.uuid4().hex[:8]}"
        records.append(
            {
                "id": uuid.uuid4(),
                "authority_id": authority,
                "conference_id": uuid.UUID(conference),
                "meeting_date": date.fromisoformat(meeting_date),
                "meeting_type": meeting_type,
                "child_ids": [str(uuid.uuid4())],
                "subject": subject,
                "reasons": "REASONS-MARKER inserted",
                "dissenter_id": person,
                "dissenter_name": f"Zebedee {person}",
                "dissenter_role_title": "Worker",
                "dissenter_agency": agency,
                "raised_by": person,
                "status": status,
                "raised_at": raised,
                "outcome": outcome,
                "written_note": "NOTE-MARKER inserted" if outcome else None,
                "decided_at": raised + timedelta(days=10) if outcome else None,
                "decided_by": "reviewer-1" if outcome else None,
                "version": 1,
                "created_at": raised,
                "updated_at": raised,
            }
        )
    db.execute(Dissent.__table__.insert(), records)
    db.commit()


def summary_data_set(api: Api, db: sa.Connection) -> Scene:
    s = Scene(api, ENGLAND)
    s.clock(NOW)
    conference = s.conference("2025-11-05", "initial_conference", {})  # scheduled: not held
    a = authority_id(db, s.code)
    insert_dissents(db, a, conference, n=5, subject="plan", status="decided", agency="NHS", outcome="uphold")
    insert_dissents(db, a, conference, n=4, subject="category", status="lapsed", agency="Police")
    insert_dissents(db, a, conference, n=1, subject="plan", status="withdrawn", agency="NHS")
    # Outside November, and of another meeting type.
    insert_dissents(
        db,
        a,
        conference,
        n=2,
        subject="registration",
        status="withdrawn",
        agency="Education",
        meeting_date="2025-10-01",
        meeting_type="review_conference",
    )
    return s


NOVEMBER = {"from": "2025-11-01", "to": "2025-11-30"}


def test_summary_suppression_boundary_on_a_large_data_set(api, db):
    s = summary_data_set(api, db)
    full = get(manager(s), "/v1/reports/summary", **NOVEMBER)
    assert full["conferences_held"] == cell(0)
    assert full["dissents_total"] == cell(10)
    assert counts(full["dissents_by_subject"]) == {"plan": 6, "category": 4}
    assert counts(full["dissents_by_status"]) == {"decided": 5, "lapsed": 4, "withdrawn": 1}
    assert counts(full["dissents_by_outcome"]) == {"uphold": 5}
    assert counts(full["dissents_by_agency"]) == {"NHS": 6, "Police": 4}

    cut = get(reporter(s), "/v1/reports/summary", **NOVEMBER)
    assert cut["suppression_threshold"] == 5
    assert cut["conferences_held"] == cell(0)  # zero: shown
    assert cut["dissents_total"] == cell(10)
    assert counts(cut["dissents_by_subject"]) == {"plan": 6, "category": None}
    assert flags(cut["dissents_by_subject"]) == {"plan": False, "category": True}
    assert counts(cut["dissents_by_status"]) == {"decided": 5, "lapsed": None, "withdrawn": None}
    assert flags(cut["dissents_by_status"]) == {"decided": False, "lapsed": True, "withdrawn": True}
    assert counts(cut["dissents_by_outcome"]) == {"uphold": 5}
    assert counts(cut["dissents_by_agency"]) == {"NHS": 6, "Police": None}

    everything = get(manager(s), "/v1/reports/summary")
    assert everything["dissents_total"] == cell(12)
    assert counts(everything["dissents_by_agency"]) == {"NHS": 6, "Police": 4, "Education": 2}
    review = get(reporter(s), "/v1/reports/summary", meeting_type="review_conference")
    assert review["dissents_total"] == cell(None, True)
    assert counts(review["dissents_by_subject"]) == {"registration": None}


@pytest.mark.parametrize(
    ("threshold", "shown", "withheld"),
    [
        (3, {"plan": 6, "category": 4, "decided": 5, "lapsed": 4}, {"withdrawn"}),
        (7, {}, {"plan", "category", "decided", "lapsed", "withdrawn"}),
        (1, {"plan": 6, "category": 4, "decided": 5, "lapsed": 4, "withdrawn": 1}, set()),
    ],
)
def test_the_suppression_threshold_is_a_setting(api, db, settings, threshold, shown, withheld):
    s = summary_data_set(api, db)
    custom = settings.model_copy(update={"report_suppression_threshold": threshold})
    with TestClient(create_app(custom), raise_server_exceptions=False) as client:
        other = Api(client, api.secret)
        report = get(other.as_("analyst-1", "reporting", authority=s.code), "/v1/reports/summary", **NOVEMBER)
        assert report["suppression_threshold"] == threshold
        values = {**counts(report["dissents_by_subject"]), **counts(report["dissents_by_status"])}
        suppressed = {**flags(report["dissents_by_subject"]), **flags(report["dissents_by_status"])}
        for key, count in shown.items():
            assert (values[key], suppressed[key]) == (count, False), key
        for key in withheld:
            assert (values[key], suppressed[key]) == (None, True), key
        assert report["dissents_total"] == (cell(None, True) if threshold > 10 else cell(10))
        managers = get(
            other.as_("manager-1", "reviewer", authority=s.code), "/v1/reports/summary", **NOVEMBER
        )
        assert managers["suppression_threshold"] is None
        assert counts(managers["dissents_by_status"]) == {"decided": 5, "lapsed": 4, "withdrawn": 1}


# ---- indexes -------------------------------------------------------------------------------------------

REPORT_TABLES = ("deadline", "dissent", "conference", "appeal")


def test_report_queries_use_indexes(api, db, client, backend):
    """Each report query, as the app sends it, can be answered through indexes: with
    sequential scans priced out (PostgreSQL) or as planned (SQLite), no table is scanned
    whole, and the overdue list walks its own partial index."""
    s, _ = registration_scene(api)
    captured: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and any(
            f"FROM {t}" in statement for t in REPORT_TABLES
        ):
            captured.append((statement, parameters))

    engine = client.app.state.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", grab)
    try:
        get(manager(s), "/v1/reports/overdue", limit=2)
        overdue_sql = list(captured)
        get(manager(s), "/v1/reports/timeliness", **{"from": "2025-11-01", "to": "2025-12-31"})
        get(manager(s), "/v1/reports/summary", **{"from": "2025-11-01", "to": "2025-12-31"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", grab)
    assert len(overdue_sql) == 1, overdue_sql
    assert len(captured) >= 5, [c[0][:80] for c in captured]  # overdue, 2 timeliness, 3 summary

    def plan(statement: str, parameters: Any) -> str:
        db.rollback()
        if backend == "postgresql":
            db.exec_driver_sql("SET LOCAL enable_seqscan = off")
            lines = db.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            text = "\n".join(r[0] for r in lines)
        else:
            lines = db.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            text = "\n".join(r[-1] for r in lines)
        db.rollback()
        return text

    for statement, parameters in captured:
        text = plan(statement, parameters)
        for table in REPORT_TABLES:
            if backend == "postgresql":
                assert f"Seq Scan on {table}" not in text, (statement, text)
            else:
                assert f"SCAN {table}\n" not in text + "\n" and f"SCAN {table} " not in text, (
                    statement,
                    text,
                )
    assert "ix_deadline_overdue" in plan(*overdue_sql[0])


# ---- edges -----------------------------------------------------------------------------------------------


def test_days_overdue_counts_local_calendar_days(api, db):
    """In British Summer Time, 23:30Z on 11 June is already 12 June in London: a step due
    on 10 June is two days overdue, not one."""
    s = Scene(api, ENGLAND)
    s.clock("2025-06-02T09:00:00Z")
    conference = s.conference("2025-06-03", "initial_conference", {})
    a = authority_id(db, s.code)
    insert_dissents(
        db, a, conference, n=1, subject="plan", status="submitted", agency="NHS", meeting_date="2025-06-03"
    )
    dissent_id = rows(db, "SELECT id FROM dissent WHERE status = 'submitted'")[0][0]
    dissent_id = dissent_id if isinstance(dissent_id, uuid.UUID) else uuid.UUID(str(dissent_id))
    due = date(2025, 6, 10)
    db.execute(
        Deadline.__table__.insert(),
        {
            "id": uuid.uuid4(),
            "authority_id": a,
            "subject_kind": "dissent",
            "subject_id": dissent_id,
            "kind": "review_meeting",
            "responsible_role": "reviewer",
            "lapses": False,
            "start_date": date(2025, 6, 3),
            "due_date": due,
            "due_at": datetime(2025, 6, 10, 22, 59, 59, 999999, tzinfo=UTC),  # end of the day in London
            "explanation": "inserted by the test",
            "approaching_at": datetime(2025, 6, 8, 23, tzinfo=UTC),
            "created_at": datetime(2025, 6, 4, tzinfo=UTC),
        },
    )
    db.commit()
    s.clock("2025-06-10T22:30:00Z")  # 23:30 in London on the due day: not overdue yet
    assert get(manager(s), "/v1/reports/overdue")["items"] == []
    s.clock("2025-06-11T23:30:00Z")
    items = get(manager(s), "/v1/reports/overdue")["items"]
    assert [(i["subject_id"], i["conference_id"], i["due_date"], i["days_overdue"]) for i in items] == [
        (str(dissent_id), conference, "2025-06-10", 2)
    ]
    assert items[0]["due_at"] == "2025-06-10T22:59:59.999999Z"


def test_timeliness_boundaries_at_the_due_instant(api, db):
    """Met exactly at the due instant is on time, a microsecond later is late; a step still
    open at its due instant is pending, and missed just after it."""
    s = Scene(api, ENGLAND)
    a = authority_id(db, s.code)
    due = date(2025, 11, 14)
    base = {
        "authority_id": a,
        "subject_kind": "dissent",
        "kind": "review_meeting",
        "responsible_role": "reviewer",
        "lapses": False,
        "start_date": date(2025, 11, 7),
        "due_date": due,
        "due_at": end_of(due),
        "explanation": "inserted by the test",
        "approaching_at": at(date(2025, 11, 13), 0),
        "created_at": at(date(2025, 11, 7)),
        "met_at": None,
        "days_taken": None,
    }
    db.execute(
        Deadline.__table__.insert(),
        [
            {**base, "id": uuid.uuid4(), "subject_id": uuid.uuid4(), "met_at": end_of(due), "days_taken": 5},
            {
                **base,
                "id": uuid.uuid4(),
                "subject_id": uuid.uuid4(),
                "met_at": end_of(due) + timedelta(microseconds=1),
                "days_taken": 6,
            },
            {**base, "id": uuid.uuid4(), "subject_id": uuid.uuid4()},
        ],
    )
    db.commit()
    s.api.set_clock("2025-11-14T23:59:59.999999Z")
    row = by_kind(get(manager(s), "/v1/reports/timeliness"))["review_meeting"]
    assert row == timeliness_row(3, 1, 1, 1, 0, 50.0, 5.5, 5.9)
    s.api.set_clock("2025-11-15T00:00:00Z")
    row = by_kind(get(manager(s), "/v1/reports/timeliness"))["review_meeting"]
    assert row == timeliness_row(3, 1, 2, 0, 0, 33.3, 5.5, 5.9)
