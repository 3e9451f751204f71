"""The HTTP server settings: uvicorn with uvloop and httptools (the fast C parser), with the
request head capped at MAX_HEADER_BYTES by the protocol itself.

httptools has no limit of its own on the request line and headers: it buffers a header
until the line ends, so a 32 MB header would be read whole into memory before the app's own
431 check saw it. `BoundedHttpToolsProtocol` counts the bytes of each request head as they
arrive and answers 431 and closes the connection once they pass the limit, so a head never
costs more than the limit plus one socket read."""

from __future__ import annotations

import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import get_settings

_MESSAGE = b"The request line and headers are too large.\n"
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_MESSAGE)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _MESSAGE
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on each request's head (line and headers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes = get_settings().max_header_bytes
        self._in_head = True  # between requests or inside a head: bytes count towards the cap
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Still inside a head after this read, and past the cap: refuse before reading more.
        if self._in_head and self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
            self.transport.write(_431)
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True


# What `dissent serve` gives uvicorn: an import string, so that each worker process loads it.
PROTOCOL = "app.server:BoundedHttpToolsProtocol"


def default_workers() -> int:
    """One worker process per core the process may use (WEB_CONCURRENCY overrides)."""
    configured = os.environ.get("WEB_CONCURRENCY", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, len(os.sched_getaffinity(0)))
