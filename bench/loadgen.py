"""A small HTTP/1.1 load generator, run as its own process by bench/load_bench.py.

    .venv/bin/python bench/loadgen.py < spec.json     # prints one JSON object on stdout

It opens `concurrency` keep-alive connections to `host:port` with asyncio (uvloop when it is
installed), and on each connection sends one request, reads the whole response, and sends
the next, for `warmup` seconds unrecorded and then `duration` seconds recorded. Requests are
rendered to bytes before the clock starts, so the loop only writes bytes, reads the status
line and headers, and reads `Content-Length` (or chunked) body bytes: a fraction of what an
HTTP client library costs per request, which matters when generator and server share two
cores.

The spec (JSON on stdin):

    {"host": "127.0.0.1", "port": 8000, "concurrency": 16, "duration": 10, "warmup": 2,
     "cycle": true,          # false: every request is sent at most once (writes), and the
                             # run ends early if they run out ("exhausted" in the result)
     "timeout": 30,          # seconds a single request may take before it counts as an error
     "requests": [{"method": "GET", "path": "/x", "headers": {"Authorization": "..."},
                   "body": null}, ...]}

A request is recorded when it is *sent* inside the recorded window; it is then followed to
its end (up to `timeout`), so a request slower than the window still shows in the latencies
instead of vanishing. No request is sent after the window closes.

The result: `requests` (recorded requests answered), `ok` (2xx among them), `errors` (non-2xx
responses + broken connections + timeouts), `status` (count per status code), `broken`,
`timeouts`, `requests_per_s` (2xx responses to recorded requests per second of the window),
`p50_ms` / `p90_ms` / `p99_ms` / `max_ms` / `mean_ms` (latency of those 2xx responses, first
byte sent to last byte read), `elapsed_s` (the window), `exhausted` (a one-shot pool ran out;
the window then ends there), `completed_total` (every response, warm-up included),
`sample_errors` (the first few error responses, truncated) and `cpu_s` (this process's own
CPU time).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_SAMPLE_ERRORS = 5


@dataclass
class Tally:
    measure_start: float = 0.0
    measure_end: float = 0.0
    latencies: list[float] = field(default_factory=list)
    status: dict[int, int] = field(default_factory=dict)
    requests: int = 0
    completed_total: int = 0  # every response, warm-up included (server CPU per request)
    broken: int = 0
    timeouts: int = 0
    sample_errors: list[str] = field(default_factory=list)
    exhausted_at: float | None = None

    def recorded(self, started: float) -> bool:
        return self.measure_start <= started < self.measure_end


def render(spec: dict[str, Any], request: dict[str, Any]) -> bytes:
    body = request.get("body")
    payload = b"" if body is None else (body if isinstance(body, bytes) else str(body).encode())
    lines = [
        f"{request.get('method', 'GET')} {request['path']} HTTP/1.1",
        f"Host: {spec['host']}:{spec['port']}",
    ]
    headers = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
    for name, value in headers.items():
        lines.append(f"{name}: {value}")
    if body is not None:
        if "content-type" not in headers:
            lines.append("content-type: application/json")
        lines.append(f"content-length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server will close the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    first, _, rest = head.partition(b"\r\n")
    status = int(first.split(b" ", 2)[1])
    length = None
    chunked = False
    close = False
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    elif length is not None:
        body = await reader.readexactly(length) if length else b""
    else:  # no length: the body runs to the end of the connection
        body = await reader.read()
        close = True
    return status, body, close


class Source:
    """The requests, cycled (reads) or each handed out once (writes)."""

    def __init__(self, rendered: list[bytes], cycle: bool) -> None:
        self.rendered = rendered
        self.cycle = cycle
        self.next = 0

    def take(self) -> bytes | None:
        if self.next >= len(self.rendered):
            if not self.cycle or not self.rendered:
                return None
            self.next = 0
        request = self.rendered[self.next]
        self.next += 1
        return request


async def connection(spec: dict[str, Any], source: Source, tally: Tally, stop_at: float) -> None:
    clock = time.perf_counter  # the loop's own clock can be as coarse as 1 ms (uvloop)
    timeout = float(spec.get("timeout", 30))
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while clock() < stop_at:
            request = source.take()
            if request is None:
                if tally.exhausted_at is None:
                    tally.exhausted_at = clock()
                return
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(spec["host"], spec["port"])
                except OSError as exc:
                    if tally.recorded(clock()):
                        tally.broken += 1
                        _sample(tally, f"connect: {exc!r}")
                    await asyncio.sleep(0.05)
                    continue
            assert reader is not None
            started = clock()
            try:
                writer.write(request)
                async with asyncio.timeout(timeout):
                    status, body, close = await read_response(reader)
            except TimeoutError:
                if tally.recorded(started):
                    tally.timeouts += 1
                    _sample(tally, f"timeout after {timeout} s")
                writer.close()
                reader = writer = None
                continue
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                if tally.recorded(started):
                    tally.broken += 1
                    _sample(tally, f"broken connection: {exc!r}")
                writer.close()
                reader = writer = None
                continue
            finished = clock()
            tally.completed_total += 1
            if tally.recorded(started):
                tally.requests += 1
                tally.status[status] = tally.status.get(status, 0) + 1
                if 200 <= status < 300:
                    tally.latencies.append(finished - started)
                else:
                    _sample(tally, f"{status}: {body[:300].decode('utf-8', 'replace')}")
            if close:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def _sample(tally: Tally, text: str) -> None:
    if len(tally.sample_errors) < MAX_SAMPLE_ERRORS:
        tally.sample_errors.append(text)


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), int(q * len(ordered) + 0.999999)))
    return ordered[rank - 1]


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rendered = [render(spec, r) for r in spec["requests"]]
    source = Source(rendered, bool(spec.get("cycle", True)))
    warmup = float(spec.get("warmup", 0))
    duration = float(spec["duration"])
    start = time.perf_counter()
    tally = Tally(measure_start=start + warmup, measure_end=start + warmup + duration)
    tasks = [
        asyncio.create_task(connection(spec, source, tally, tally.measure_end))
        for _ in range(int(spec["concurrency"]))
    ]
    grace = float(spec.get("timeout", 30)) + 5
    done, pending = await asyncio.wait(tasks, timeout=warmup + duration + grace)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            tally.broken += 1
            _sample(tally, f"connection task failed: {task.exception()!r}")
    end = tally.measure_end
    if tally.exhausted_at is not None and tally.exhausted_at < end:
        end = max(tally.exhausted_at, tally.measure_start)
    elapsed = max(end - tally.measure_start, 1e-9)
    ordered = sorted(tally.latencies)
    ok = len(ordered)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "requests": tally.requests,
        "completed_total": tally.completed_total,
        "ok": ok,
        "errors": tally.requests - ok + tally.broken + tally.timeouts + len(pending),
        "status": {str(k): v for k, v in sorted(tally.status.items())},
        "broken": tally.broken,
        "timeouts": tally.timeouts + len(pending),
        "requests_per_s": round(ok / elapsed, 1),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p90_ms": round(percentile(ordered, 0.90) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else 0.0,
        "mean_ms": round(sum(ordered) / ok * 1000, 2) if ok else 0.0,
        "elapsed_s": round(elapsed, 3),
        "exhausted": tally.exhausted_at is not None and tally.exhausted_at < tally.measure_end,
        "pool": len(rendered) if not spec.get("cycle", True) else None,
        "sample_errors": tally.sample_errors,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "loop": type(loop).__module__.split(".")[0],
        "started_at": round(time.time() - (time.perf_counter() - start), 3),
    }


def main() -> int:
    spec = json.loads(
        Path(sys.argv[1]).read_text(encoding="utf-8") if len(sys.argv) > 1 else sys.stdin.read()
    )
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # plain asyncio works too, a little slower
        runner = asyncio.run
    result = runner(run(spec))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
