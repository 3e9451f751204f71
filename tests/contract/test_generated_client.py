"""The committed OpenAPI description is usable, not only valid: a Python client generated
from it with openapi-python-client drives one dissent through each procedure against the
service running as a real process, with the generated client only (typed models, the
declared Idempotency-Key and If-Match headers, the ETag it answers)."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from app.migrations_state import upgrade
from app.security import mint_token
from tests.conftest import TEST_SECRET
from tests.real_server import real_server

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "openapi.json"
PACKAGE = "dissent_contract_client"
DAY = dt.date(2025, 12, 18)


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The generated package (offline: the generator needs only the file)."""
    out = tmp_path_factory.mktemp("generated")
    config = out / "config.yml"
    # No formatter run (the code is only imported); PDF-only answers (an attachment's bytes)
    # read as bytes, the generator's documented mapping, as the README tells integrators.
    config.write_text(
        "post_hooks: []\ncontent_type_overrides:\n  application/pdf: application/octet-stream\n"
    )
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(  # noqa: S603 - the venv's own generator
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(SPEC),
            "--output-path",
            str(out / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(out))
    try:
        yield Generated()
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class Generated:
    """`gen.op("dissents-refer_dissent")` is the module for an operation; `gen.models` the models."""

    def __init__(self) -> None:
        self.package = importlib.import_module(PACKAGE)
        self.models: Any = importlib.import_module(f"{PACKAGE}.models")
        self.types: Any = importlib.import_module(f"{PACKAGE}.types")

    def op(self, operation_id: str) -> ModuleType:
        tag, name = operation_id.rsplit("-", 1)
        tag = tag.replace("-", "_")
        return importlib.import_module(f"{PACKAGE}.api.{tag}.{tag}_{name}")

    def client(
        self, url: str, sub: str, *roles: str, authority: str | None = None, agency: str | None = None
    ) -> Any:
        token = mint_token(TEST_SECRET, sub=sub, roles=roles, authority=authority, agency=agency, name=sub)
        return self.package.AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m app.cli serve` on a free port, one worker, a migrated SQLite file, the test clock."""
    tmp = tmp_path_factory.mktemp("server")
    database = f"sqlite:///{tmp / 'contract.db'}"
    upgrade(database)
    with real_server(database, tmp / "server.log", workers=1, TEST_CLOCK_ENABLED="true") as url:
        yield url


class Flow:
    """One authority running `profile`, driven through the generated client."""

    def __init__(self, gen: Generated, url: str, profile: str) -> None:
        self.gen, self.url, self.profile = gen, url, profile
        self.m = gen.models
        self.authority = f"ct-{uuid.uuid4().hex[:8]}"
        self.system = gen.client(url, "sysadmin", "system_admin")
        self.record = self.as_("record-system", "record_system")
        self.chair = self.as_("chair-1", "chair")
        self.professional = self.as_("prof-1", "professional", agency="NHS")
        self.reviewer = self.as_("reviewer-1", "reviewer")

    def as_(self, sub: str, *roles: str, agency: str | None = None) -> Any:
        return self.gen.client(self.url, sub, *roles, authority=self.authority, agency=agency)

    def call(self, operation_id: str, client: Any, *args: Any, status: int = 200, **kw: Any) -> Any:
        """Call an operation; a POST goes with a fresh Idempotency-Key and is sent twice, the
        second answering the same from the stored first answer."""
        module = self.op(operation_id)
        if "idempotency_key" in module.sync_detailed.__code__.co_varnames:
            kw["idempotency_key"] = uuid.uuid4().hex
        response = module.sync_detailed(*args, client=client, **kw)
        assert response.status_code == status, (operation_id, response.status_code, response.content)
        if "idempotency_key" in kw:
            again = module.sync_detailed(*args, client=client, **kw)
            assert again.status_code == status, (operation_id, again.content)
            assert again.headers.get("idempotent-replayed") == "true", operation_id
            assert again.content == response.content, operation_id
        return response

    def op(self, operation_id: str) -> ModuleType:
        return self.gen.op(operation_id)

    def set_up(self) -> tuple[str, str]:
        """The authority, a child and a meeting with its attendees (the record system's part)."""
        m = self.m
        jurisdiction = "england" if self.profile.startswith("england") else "scotland"
        body = m.AuthorityCreate(
            code=self.authority, name="Contract Council", profile=self.profile, jurisdiction=jurisdiction
        )
        self.call("authorities-create_authority", self.system, body=body, status=201)
        child = self.call(
            "children-create_child",
            self.record,
            body=m.ChildCreate(
                external_ref=f"REF-{uuid.uuid4().hex[:8]}",
                given_name="Riley",
                family_name="Example",
                date_of_birth=dt.date(2019, 5, 14),
            ),
            status=201,
        ).parsed
        meeting_type = "initial_conference" if jurisdiction == "england" else "initial_cppm"
        conference = self.call(
            "conferences-create_conference",
            self.record,
            body=m.ConferenceCreate(
                meeting_type=meeting_type,
                scheduled_start=dt.datetime(2025, 12, 18, 10, tzinfo=dt.UTC),
                chair_id="chair-1",
                chair_name="Sam Chair",
                child_ids=[child.id],
            ),
            status=201,
        ).parsed
        for person_id, kind in (("prof-1", m.AttendeeKind.PROFESSIONAL), ("parent-1", m.AttendeeKind.FAMILY)):
            attendee = m.AttendeeCreate(
                person_id=person_id,
                name=person_id.title(),
                role_title="Health visitor" if person_id == "prof-1" else "Parent",
                kind=kind,
                attended=True,
                agency="NHS" if person_id == "prof-1" else self.gen.types.UNSET,
            )
            self.call("conferences-record_attendee", self.record, conference.id, body=attendee, status=201)
        return str(conference.id), str(child.id)


def _set_clock(flow: Flow, when: dt.datetime) -> None:
    flow.call("test-clock-set_clock", flow.system, body=flow.m.TestClockIn(now=when))


@pytest.mark.parametrize(
    "profile", ["england-cp-conference", "scotland-cppm-carm", "scotland-cppm-registration"]
)
def test_a_dissent_through_each_procedure_with_the_generated_client_only(gen, server, profile):
    flow = Flow(gen, server, profile)
    m = flow.m
    _set_clock(flow, dt.datetime(2025, 12, 18, 10, tzinfo=dt.UTC))
    conference_id, child_id = flow.set_up()
    conference = uuid.UUID(conference_id)

    # The meeting, with If-Match on each chair's step: the ETag each answer carries.
    started = flow.call("conferences-start_conference", flow.chair, conference)
    etag = started.headers["etag"]
    assert etag == f'"{started.parsed.version}"'
    dissent = flow.call(
        "conferences-raise_dissent",
        flow.professional,
        conference,
        body=m.DissentCreate(subject=m.DissentCreateSubject.REGISTRATION, reasons="The risk is not shown"),
        if_match=etag,
        status=201,
    ).parsed
    assert dissent.status == m.DissentStatus.RAISED
    category = "NEG" if profile.startswith("england") else "neglect"
    decision = m.DecisionCreate(
        child_id=uuid.UUID(child_id), outcome=m.DecisionOutcome.REGISTER, categories=[category]
    )
    etag = flow.op("conferences-get_conference").sync_detailed(conference, client=flow.chair).headers["etag"]
    decided_meeting = flow.call(
        "conferences-record_decision", flow.chair, conference, body=decision, if_match=etag
    )
    etag = decided_meeting.headers["etag"]
    steps = ["conferences-record_dissent_invitation"]
    if profile == "scotland-cppm-registration":
        steps += ["conferences-record_appeal_rights_explained", "conferences-record_participants_advised"]
    for step in [*steps, "conferences-end_conference"]:
        etag = flow.call(step, flow.chair, conference, if_match=etag).headers["etag"]

    # A stale If-Match is refused with the declared 412, and changes nothing.
    stale = flow.op("dissents-withdraw_dissent").sync_detailed(
        dissent.id, client=flow.professional, body=m.WithdrawalIn(reason="no"), if_match='"999"'
    )
    assert stale.status_code == 412 and isinstance(stale.parsed, m.Problem)

    # The written step the procedure names.
    got = flow.call("dissents-get_dissent", flow.reviewer, dissent.id)
    etag = got.headers["etag"]
    if profile == "scotland-cppm-registration":
        assert got.parsed.status == m.DissentStatus.AWAITING_REFERRAL
        body: Any = m.ReferralIn(
            note="Referred in writing",
            nature_of_dissent="Health disagrees that the threshold is met.",
            course_of_action="Senior manager to review the minutes.",
            senior_manager="Senior Education and Families Manager",
        )
        written = flow.call("dissents-refer_dissent", flow.chair, dissent.id, body=body, if_match=etag).parsed
        assert isinstance(written.referral, m.ReferralDetails)
        assert written.referral.senior_manager == "Senior Education and Families Manager"
    else:
        assert got.parsed.status == m.DissentStatus.AWAITING_SUBMISSION
        if profile == "england-cp-conference":
            body = m.DissentFormIn(
                professional=m.ProfessionalDetails(
                    name="Pat Prof",
                    role="Health visitor",
                    agency="NHS",
                    agency_address="1 High Street, Townsville",
                    phone="01234 567890",
                    email="pat.prof@example.org",
                ),
                manager=m.ManagerDetails(name="Morgan Manager", contact="morgan@example.org"),
                children=[m.ChildOnForm(name="Riley Example", date_of_birth=dt.date(2019, 5, 14))],
                conference_date=DAY,
                child_subject_to_plan=True,
                discussed_with_line_manager_and_safeguarding_lead=True,
                rationale="The evidence does not show the threshold is met.",
                signed_name="Pat Prof",
                signed_on=DAY,
            )
            expected: Any = m.SubmittedDissentForm
        else:
            body = m.DissentLetterIn(
                form="dissent_letter",
                from_=m.LetterSender(
                    name="Pat Prof", role="Health visitor", agency="NHS", contact="pat@example.org"
                ),
                to="Head of Children's Health, Care and Justice Services",
                reasons="The evidence does not show the threshold is met.",
                signed_name="Pat Prof",
                signed_on=DAY,
            )
            expected = m.SubmittedDissentLetter
        written = flow.call(
            "dissents-submit_written", flow.professional, dissent.id, body=body, if_match=etag
        ).parsed
        assert isinstance(written.submission, expected)  # a named schema, not a dict
        assert written.submission.signed_on == DAY
    etag = f'"{written.version}"'

    # The review: England holds a review meeting first; CARM names who tells the family.
    if profile == "england-cp-conference":
        meeting = m.ReviewMeetingIn(held_on=DAY, members=["IRO Service Manager", "Head of Service"])
        etag = flow.call(
            "dissents-record_review_meeting", flow.reviewer, dissent.id, body=meeting, if_match=etag
        ).headers["etag"]
    informant = (
        m.FamilyInformant(name="Lee Social Worker", role="Lead social worker")
        if profile == "scotland-cppm-carm"
        else gen.types.UNSET
    )
    decided = flow.call(
        "dissents-decide_dissent",
        flow.reviewer,
        dissent.id,
        body=m.ReviewDecisionIn(
            outcome=m.ReviewDecisionInOutcome.UPHOLD,
            written_note="The reviewer looked at the dissent.",
            family_informant=informant,
        ),
        if_match=etag,
    ).parsed
    assert decided.status == m.DissentStatus.DECIDED
    if profile == "scotland-cppm-carm":
        assert isinstance(decided.family_informant, m.FamilyInformantPublic)
        assert decided.family_informant.name == "Lee Social Worker"

    # The integrator's view: the list and the event feed, paged by next_cursor.
    listed = flow.call("dissents-list_dissents", flow.record).parsed
    assert [d.id for d in listed.items] == [dissent.id]
    feed = flow.call("events-list_events", flow.record, limit=200).parsed
    types = [e.type_ for e in feed.items]
    assert "dissent.raised" in types, types
    nothing_new = flow.call("events-list_events", flow.record, cursor=feed.next_cursor).parsed
    assert nothing_new.items == [] and nothing_new.next_cursor == feed.next_cursor
