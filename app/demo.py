"""Demo data: one authority per procedure profile, with children, people and a meeting
ready to start, plus development tokens for each role. Safe to run more than once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import select

from app.config import Settings
from app.context import Ctx
from app.db import Database, utcnow
from app.models.authority import Authority, AuthorityCreate
from app.models.child import ChildCreate
from app.models.conference import AttendeeCreate, ConferenceCreate
from app.principal import Principal
from app.profiles import all_profiles
from app.security import mint_token
from app.services import authorities, children, conferences
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
class DemoAuthority:
    code: str
    profile: str
    conference_id: str | None
    tokens: dict[str, str] = field(default_factory=dict)


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
                conference_id = None
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
                    conference_id = str(await _populate(Ctx(session, SYSTEM, authority, now, "demo")))
                    await session.commit()
            entry = DemoAuthority(code=code, profile=profile_code, conference_id=conference_id)
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
    profile = ctx.profile
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
