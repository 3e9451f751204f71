"""The audit MAC keys by id (settings hold them; the rules seal with them). A leaf module, so
the settings can name the type without importing the rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

KEY_ID_PATTERN = r"^[A-Za-z0-9._-]{1,40}$"
MIN_KEY_LENGTH = 32


@dataclass(frozen=True)
class KeyRing:
    """The audit MAC keys by id; `current_id` seals, every key verifies."""

    current_id: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise ValueError(f"the current audit key id {self.current_id!r} has no key")

    @property
    def current(self) -> tuple[str, bytes]:
        return self.current_id, self.keys[self.current_id]

    def __repr__(self) -> str:  # never the keys themselves
        return f"KeyRing(current_id={self.current_id!r}, key_ids={sorted(self.keys)!r})"
