"""Fixtures for the API tests: the tenants the cross-cutting platform tests work in."""

from __future__ import annotations

import uuid

import pytest

from tests.support import Api, Meeting, create_authority, create_child, make_meeting


@pytest.fixture
def meeting(api: Api) -> Meeting:
    api.set_clock("2025-12-18T09:00:00Z")
    return make_meeting(api)


@pytest.fixture
def lite(api: Api) -> Meeting:
    """An authority with one child and no meeting (cheaper than `meeting`): for the tests that
    need a tenant and its callers only. `.url` names a conference that does not exist."""
    api.set_clock("2025-12-18T09:00:00Z")
    authority = create_authority(api, "england-cp-conference")
    return Meeting(api, authority, "england-cp-conference", str(uuid.uuid4()), [create_child(api, authority)])
