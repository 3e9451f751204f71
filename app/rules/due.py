"""A case's next deadline (issue 15): the earliest of its deadlines that is neither met nor
cancelled, so a list can show "due in 2 days" without fetching every item."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, TypeVar


class _Deadline(Protocol):
    @property
    def due_at(self) -> datetime: ...
    @property
    def met_at(self) -> datetime | None: ...
    @property
    def cancelled_at(self) -> datetime | None: ...


D = TypeVar("D", bound=_Deadline)


def next_open(deadlines: Iterable[D]) -> D | None:
    """The open deadline due first; None when every step is done or cancelled."""
    open_ = [d for d in deadlines if d.met_at is None and d.cancelled_at is None]
    return min(open_, key=lambda d: d.due_at, default=None)
