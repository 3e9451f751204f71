"""The child's record (their timeline): the one place entries are written, from a meeting's
decisions, an amendment on review, a review's written note or an appeal's response."""

from __future__ import annotations

import uuid
from typing import Any

from app.context import Ctx
from app.models.dissent import ChildRecordEntry
from app.vocab import RecordEntryKind


def add_record_entry(
    ctx: Ctx,
    *,
    child_id: uuid.UUID,
    kind: RecordEntryKind,
    conference_id: uuid.UUID,
    source_id: uuid.UUID,
    summary: str,
    data: dict[str, Any],
    text: str | None = None,
) -> None:
    ctx.session.add(
        ChildRecordEntry(
            authority_id=ctx.authority.id,
            child_id=child_id,
            kind=kind,
            occurred_at=ctx.now,
            conference_id=conference_id,
            source_id=source_id,
            summary=summary,
            text=text,
            data=data,
        )
    )
