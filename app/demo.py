"""Demo data: one authority per procedure profile, with children, people and a meeting
ready to start, plus development tokens for each role. Created once; every run reads the
meetings and people back from the database, so they are printed every time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.context import Ctx
from app.db import Database, utcnow
from app.models.authority import Authority, AuthorityCreate
from app.models.child import ChildCreate
from app.models.conference import Attendee, AttendeeCreate, Conference, ConferenceCreate
from app.principal import Principal
from app.profiles import all_profiles
from app.security import mint_token
from app.services import authorities, children, conferences, procedures
from app.vocab import AttendeeKind

SYSTEM = Principal(
    sub="demo-loader", name="Demo loader", roles=frozenset({"system_admin"}), agency=None, authority=None
)

DEMO_AUTHORITIES = {
    "england-cp-conference": ("demo-england", "Demo Borough Council (England)", "england"),
    "scotland-cppm-carm": ("demo-carm", "Demo Council (Scotland, CPPM and CARM)", "scotland"),
    "scotland-cppm-registration": ("demo-registration", "Demo Council (Scotland, registration)", "scotland"),
}
PEOPLE = {
    "record_system": ("record-system", "Record system", None),
    "chair": ("chair-1", "Sam Chair", "Children's Services"),
    "professional": ("prof-1", "Alex Health Visitor", "NHS Community Health"),
    "reviewer": ("reviewer-1", "Jo Reviewer", "Children's Services"),
    "admin": ("admin-1", "Pat Admin", "Children's Services"),
    "reporting": ("reporting-1", "Reporting tool", None),
}


@dataclass
class DemoPerson:
    person_id: str
    name: str
    role: str  # "chair", or the attendee's kind and role title


@dataclass
class DemoAuthority:
    code: str
    profile: str
    conference_id: str | None
    tokens: dict[str, str] = field(default_factory=dict)
    people: list[DemoPerson] = field(default_factory=list)


async def load_demo(settings: Settings) -> tuple[str, list[DemoAuthority]]:
    if not settings.auth_jwt_secret:
        raise SystemExit("set AUTH_JWT_SECRET to mint development tokens")
    db = Database(settings)
    result: list[DemoAuthority] = []
    try:
        for profile_code, (code, name, jurisdiction) in DEMO_AUTHORITIES.items():
            if profile_code not in all_profiles():
                continue
            async with db.session() as session:
                existing = (await session.exec(select(Authority).where(Authority.code == code))).first()
                if existing is None:
                    now = utcnow()
                    authority = await authorities.create_authority(
                        session,
                        actor=SYSTEM,
                        data=AuthorityCreate(
                            code=code, name=name, profile=profile_code, jurisdiction=jurisdiction
                        ),
                        now=now,
                        request_id="demo",
                    )
                    await _populate(Ctx(session, SYSTEM, authority, now, "demo"))
                    await session.commit()
                # Read back every time, so a second run prints the same meeting and people.
                entry = await _read_back(session, code, profile_code)
            for role, (sub, person, agency) in PEOPLE.items():
                entry.tokens[role] = mint_token(
                    settings.auth_jwt_secret,
                    sub=sub,
                    roles=[role],
                    authority=code,
                    agency=agency,
                    name=person,
                    issuer=settings.auth_issuer,
                    audience=settings.auth_audience,
                )
            result.append(entry)
    finally:
        await db.dispose()
    admin = mint_token(
        settings.auth_jwt_secret,
        sub="sysadmin-1",
        roles=["system_admin"],
        authority=None,
        name="System admin",
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
    )
    return admin, result


async def _read_back(session: AsyncSession, code: str, profile_code: str) -> DemoAuthority:
    """The demo meeting (the authority's first) and its people, as stored."""
    conference = (
        await session.exec(
            select(Conference)
            .join(Authority, col(Authority.id) == Conference.authority_id)
            .where(Authority.code == code)
            .order_by(col(Conference.created_at), col(Conference.id))
            .limit(1)
        )
    ).first()
    entry = DemoAuthority(code=code, profile=profile_code, conference_id=None)
    if conference is None:
        return entry
    entry.conference_id = str(conference.id)
    entry.people.append(DemoPerson(conference.chair_id, conference.chair_name, "chair"))
    attendees = await session.exec(
        select(Attendee)
        .where(Attendee.conference_id == conference.id)
        .order_by(col(Attendee.created_at), col(Attendee.person_id))
    )
    for a in attendees.all():
        entry.people.append(DemoPerson(a.person_id, a.name, f"{a.kind}, {a.role_title}"))
    return entry


async def _populate(ctx: Ctx) -> uuid.UUID:
    record = Principal(
        sub="record-system",
        name="Record system",
        roles=frozenset({"record_system"}),
        agency=None,
        authority=ctx.authority.code,
    )
    ctx.actor = record
    kid = await children.create_child(
        ctx,
        data=ChildCreate(
            external_ref="DEMO-001",
            given_name="Riley",
            family_name="Example",
            date_of_birth=date(2019, 5, 14),
        ),
    )
    unborn = await children.create_child(
        ctx,
        data=ChildCreate(
            external_ref="DEMO-002",
            given_name="Baby",
            family_name="Example",
            expected_date_of_birth=date.today() + timedelta(days=90),
        ),
    )
    profile = (await procedures.current_procedure(ctx)).profile
    tomorrow = datetime.combine(date.today() + timedelta(days=1), time(10, 0)).astimezone()
    conference = await conferences.create_conference(
        ctx,
        data=ConferenceCreate(
            meeting_type=profile.meeting_types[0].code,
            scheduled_start=tomorrow,
            chair_id=PEOPLE["chair"][0],
            chair_name=PEOPLE["chair"][1],
            child_ids=[kid.id, unborn.id],
        ),
    )
    for person_id, name, role_title, agency, kind in (
        (
            PEOPLE["professional"][0],
            PEOPLE["professional"][1],
            "Health Visitor",
            "NHS Community Health",
            AttendeeKind.professional,
        ),
        (
            "prof-2",
            "Chris Teacher",
            "Designated Safeguarding Lead",
            "Demo Primary School",
            AttendeeKind.professional,
        ),
        ("parent-1", "Morgan Example", "Parent", "Family", AttendeeKind.family),
    ):
        await conferences.record_attendee(
            ctx,
            conference.id,
            data=AttendeeCreate(
                person_id=person_id, name=name, role_title=role_title, agency=agency, kind=kind, attended=True
            ),
        )
    return conference.id
