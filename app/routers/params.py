"""Path and query parameter types, each with a declared and enforced length (issue 15): a
parameter is compared or parsed, never stored, but nothing unbounded reaches the service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator, WithJsonSchema

ID_LENGTH = 36


def _short_id(value: Any) -> Any:
    # Pydantic also reads the braced and `urn:uuid:` forms; the contract promises the plain one.
    if isinstance(value, str) and len(value) > ID_LENGTH:
        raise ValueError(f"an id is at most {ID_LENGTH} characters")
    return value


Id = Annotated[
    uuid.UUID,
    BeforeValidator(_short_id),
    WithJsonSchema({"type": "string", "format": "uuid", "maxLength": ID_LENGTH}),
]
AuthorityCode = Annotated[str, Path(max_length=40, description="The authority's code")]
ProfileCode = Annotated[str, Path(max_length=60, description="A procedure profile's code")]
