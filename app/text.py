"""The one string type for text that callers send (request bodies and query parameters).

PostgreSQL cannot store NUL in text, and no control character other than tab, line feed and
carriage return belongs in a name, a reason or a letter (they only hide text from people
reading it, or break a log, a CSV or a terminal). So every free-text field of a request is a
`SafeText`: the pattern refuses NUL and the other C0 controls, with a 422 naming the field,
and the same pattern is published in the OpenAPI document so clients can check before they
send. Fields with a stricter pattern of their own (codes) keep that pattern instead: it
already leaves these characters out."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

NO_CONTROL_CHARACTERS = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F]*$"
CONTROL_CHARACTERS_MESSAGE = (
    "must not contain control characters (tab, line feed and carriage return are allowed)"
)

SafeText = Annotated[str, StringConstraints(pattern=NO_CONTROL_CHARACTERS)]
