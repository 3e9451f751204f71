"""Where issued documents and attachments keep their bytes.

`BlobStore` is the whole interface: `put` bytes and get back their SHA-256 (the key),
`get` the bytes by key. The store is content-addressed, so the same bytes are stored once
and a key always means the same bytes.

`DatabaseBlobStore`, the one used now, writes into the `blob` table through the caller's
session, so the bytes commit or roll back with the request that issued them: an issued
document never points at bytes that were not stored, and a refused request stores nothing.
A deployment that wants object storage (S3 and the like) implements the same two methods
(put: upload under the key if absent; get: download) and returns it from `blob_store()`;
callers and the API do not change, because they only ever hold keys. Bytes written to an
object store outside the transaction can be orphaned by a rollback (never the reverse), so
such a store would want a periodic sweep of keys no row refers to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import utcnow
from app.models.base import table_of
from app.models.blob import Blob

_BLOBS = table_of(Blob)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StoredBlob:
    key: str  # the SHA-256 of the bytes, lower-case hex
    size: int
    media_type: str


class BlobStore(Protocol):
    async def put(self, session: AsyncSession, data: bytes, *, media_type: str) -> StoredBlob:
        """Store `data` (if not already stored) and return its key."""
        ...

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        """The bytes stored under `key`, or None."""
        ...


class DatabaseBlobStore:
    """Bytes in the `blob` table, written in the caller's transaction."""

    async def put(self, session: AsyncSession, data: bytes, *, media_type: str) -> StoredBlob:
        key = sha256_hex(data)
        values = {"sha256": key, "size": len(data), "media_type": media_type, "bytes": data}
        values["created_at"] = utcnow()
        connection = await session.connection()
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        # Same key, same bytes: a second put of identical content is a no-op.
        await connection.execute(
            insert(_BLOBS).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
        )
        return StoredBlob(key=key, size=len(data), media_type=media_type)

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        connection = await session.connection()
        data = (await connection.execute(sa.select(_BLOBS.c.bytes).where(_BLOBS.c.sha256 == key))).scalar()
        return None if data is None else bytes(data)


@lru_cache
def blob_store() -> BlobStore:
    """The process's blob store. Swap the implementation here to move bytes elsewhere."""
    return DatabaseBlobStore()


__all__ = ["BlobStore", "DatabaseBlobStore", "StoredBlob", "blob_store", "sha256_hex"]
