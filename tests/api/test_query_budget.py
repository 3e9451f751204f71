"""Statements per request on the hot read paths (issue 18): each statement through the async
ORM costs server CPU, so the count is held here and a change that adds one has to say why.
Counted on the app's own engine, for the request alone (the authority is cached by then)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.api.test_dissents import ENGLAND, unresolved
from tests.support import Api, expect


@contextmanager
def statements(client: TestClient) -> Iterator[list[str]]:
    engine = client.app.state.db.engine.sync_engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "test_clock" not in statement:  # the test clock is read only where it is enabled
            seen.append(statement.split(None, 1)[0].upper())

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_reading_a_dissent_takes_one_select_per_part(api: Api, client: TestClient) -> None:
    m, d = unresolved(api, ENGLAND)
    expect(m.reviewer.get(f"/v1/dissents/{d['id']}"), 200)  # the authority and token are cached now
    with statements(client) as seen:
        expect(m.reviewer.get(f"/v1/dissents/{d['id']}"), 200)
    # The dissent with its meeting (one statement; whether it lapses on this read comes from
    # the row itself), its deadlines, history and decisions; the audit entry of the read.
    assert seen.count("SELECT") == 4, seen
    assert seen.count("INSERT") == 1, seen
