"""The blob store: content-addressed bytes written in the caller's transaction."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.db import Database
from app.storage import DatabaseBlobStore, blob_store, sha256_hex


async def _put_then(settings: Settings, data: bytes, *, commit: bool) -> str:
    db = Database(settings)
    try:
        async with db.session() as session:
            stored = await blob_store().put(session, data, media_type="application/pdf")
            # Readable inside the same transaction, before commit.
            assert await blob_store().get(session, stored.key) == data
            if commit:
                await session.commit()
            else:
                await session.rollback()
        return stored.key
    finally:
        await db.dispose()


async def _get(settings: Settings, key: str) -> bytes | None:
    db = Database(settings)
    try:
        async with db.session() as session:
            return await DatabaseBlobStore().get(session, key)
    finally:
        await db.dispose()


def test_put_returns_the_sha256_and_get_returns_the_same_bytes(settings: Settings) -> None:
    data = b"%PDF-1.7 test bytes \x00\x01\xff"
    key = asyncio.run(_put_then(settings, data, commit=True))
    assert key == hashlib.sha256(data).hexdigest() == sha256_hex(data)
    assert asyncio.run(_get(settings, key)) == data


def test_the_same_bytes_are_stored_once(settings: Settings, db: sa.Connection) -> None:
    data = b"same bytes"
    first = asyncio.run(_put_then(settings, data, commit=True))
    second = asyncio.run(_put_then(settings, data, commit=True))
    assert first == second
    assert db.execute(sa.text("SELECT count(*) FROM blob")).scalar() == 1
    row = db.execute(sa.text("SELECT size, media_type FROM blob")).one()
    assert tuple(row) == (len(data), "application/pdf")


def test_a_rolled_back_transaction_stores_nothing(settings: Settings) -> None:
    key = asyncio.run(_put_then(settings, b"never committed", commit=False))
    assert asyncio.run(_get(settings, key)) is None


def test_an_unknown_key_is_none(settings: Settings) -> None:
    assert asyncio.run(_get(settings, "0" * 64)) is None


def test_stored_bytes_never_change(settings: Settings, db: sa.Connection) -> None:
    key = asyncio.run(_put_then(settings, b"original", commit=True))
    with pytest.raises(sa.exc.DatabaseError):
        with db.begin():
            db.execute(sa.text("UPDATE blob SET size = 1 WHERE sha256 = :k"), {"k": key})
