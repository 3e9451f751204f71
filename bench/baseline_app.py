"""The baseline for bench/load_bench.py: a minimal FastAPI + SQLModel app of the common kind,
written the way the SQLModel tutorial writes it (sync `def` endpoints run in the thread pool,
a sync `Session` per request from `Depends(get_session)`, one table, the engine's default
pool). It has no authentication, scoping, audit, events or idempotency: it is the yardstick
the service's figures are divided by, measured in the same run on the same machine.

    BASELINE_DATABASE_URL=postgresql://... uvicorn --app-dir bench baseline_app:app --workers 2

Endpoints: `POST /heroes/` (insert, commit, refresh), `GET /heroes/{id}` (read by id),
`GET /heroes/?offset=&limit=` (a page, at most 100).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query
from sqlalchemy.engine import make_url
from sqlmodel import Field, Session, SQLModel, create_engine, select


class HeroBase(SQLModel):
    name: str = Field(index=True)
    age: int | None = Field(default=None, index=True)


class Hero(HeroBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    secret_name: str


class HeroCreate(HeroBase):
    secret_name: str


class HeroPublic(HeroBase):
    id: int


def make_engine(url: str):  # type: ignore[no-untyped-def]
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # As in the tutorial: one engine shared by the thread pool's threads.
        return create_engine(parsed.set(drivername="sqlite"), connect_args={"check_same_thread": False})
    return create_engine(parsed.set(drivername="postgresql+psycopg"))


engine = make_engine(os.environ.get("BASELINE_DATABASE_URL", "sqlite:///./data/baseline.db"))


def create_db_and_tables() -> None:
    SQLModel.metadata.create_all(engine)


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    create_db_and_tables()
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/heroes/", response_model=HeroPublic)
def create_hero(hero: HeroCreate, session: SessionDep) -> Hero:
    db_hero = Hero.model_validate(hero)
    session.add(db_hero)
    session.commit()
    session.refresh(db_hero)
    return db_hero


@app.get("/heroes/", response_model=list[HeroPublic])
def read_heroes(
    session: SessionDep, offset: int = 0, limit: Annotated[int, Query(le=100)] = 100
) -> list[Hero]:
    return list(session.exec(select(Hero).offset(offset).limit(limit)).all())


@app.get("/heroes/{hero_id}", response_model=HeroPublic)
def read_hero(hero_id: int, session: SessionDep) -> Hero:
    hero = session.get(Hero, hero_id)
    if not hero:
        raise HTTPException(status_code=404, detail="Hero not found")
    return hero
