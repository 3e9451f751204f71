"""The per-process authority cache: fresh copies only, never a miss remembered."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from app.context import AuthorityCache


def _authority(code: str) -> Any:
    return SimpleNamespace(code=code)


def test_a_cached_authority_is_reused_until_its_time_is_up(monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    cache = AuthorityCache(2.0)
    row = _authority("la-a")
    cache.put(row)
    assert cache.get("la-a") is row
    clock[0] += 1.9
    assert cache.get("la-a") is row
    clock[0] += 0.2
    assert cache.get("la-a") is None  # older than the setting: read again


def test_forget_drops_an_entry_at_once() -> None:
    cache = AuthorityCache(60.0)
    cache.put(_authority("la-a"))
    cache.forget("la-a")
    assert cache.get("la-a") is None
    cache.forget("la-unknown")  # forgetting what is not there is fine


def test_a_zero_setting_turns_the_cache_off() -> None:
    cache = AuthorityCache(0)
    cache.put(_authority("la-a"))
    assert cache.get("la-a") is None


def test_unknown_codes_are_not_remembered() -> None:
    assert AuthorityCache(60.0).get("la-missing") is None
