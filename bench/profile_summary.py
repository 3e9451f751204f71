"""Where a server process spends its time, from a py-spy sampling profile.

`record(pid, seconds, out)` runs `py-spy record` on a live worker (collapsed stacks, the
"raw" format: one line per distinct stack, `frame;frame;...;frame count`), and
`summarise(path)` reads such a file into the figures bench/README.md shows: the share of
samples by layer (the leaf frame's package: the web framework, pydantic, SQLAlchemy, the
database driver, the service's own code, ...), and the functions with the most samples at
the leaf (self time) and anywhere on the stack (inclusive time). Idle samples (the event
loop waiting in epoll/select) are left out, so the shares are of busy time.

    .venv/bin/python bench/profile_summary.py FILE.txt   # summarise a py-spy raw profile
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# Layers by the path of the leaf frame, first match wins.
LAYERS: list[tuple[str, str]] = [
    ("uvicorn/httptools/uvloop (HTTP)", r"(^|/)(uvicorn|httptools|uvloop|h11)/"),
    ("starlette/fastapi (routing, dependencies, responses)", r"(^|/)(starlette|fastapi)/"),
    ("pydantic (validation, serialisation)", r"(^|/)(pydantic|pydantic_core)/"),
    ("sqlalchemy/sqlmodel (ORM, Core, pool)", r"(^|/)(sqlalchemy|sqlmodel)/"),
    ("psycopg/aiosqlite/sqlite3 (driver)", r"(^|/)(psycopg|psycopg_pool|aiosqlite|sqlite3)/"),
    ("jose/cryptography (tokens)", r"(^|/)(jose|cryptography|ecdsa|rsa)/"),
    ("service code (app/)", r"(^|/)app/"),
    ("asyncio (event loop, tasks)", r"(^|/)asyncio/"),
]
IDLE = re.compile(r"\b(select|epoll|_run_once|poll)\b.*\((selectors|asyncio/base_events)\.py")
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*):(?P<line>\d+)\)$")


def record(pid: int, seconds: float, out: Path, *, rate: int = 250) -> subprocess.Popen[bytes] | None:
    """Start sampling `pid` for `seconds` into `out` (raw collapsed stacks); None without py-spy."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(binary).exists():
        return None
    return subprocess.Popen(  # noqa: S603 - py-spy from this venv on our own server process
        [binary, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", str(rate),
         "--format", "raw", "--nonblocking", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _frames(stack: str) -> list[tuple[str, str]]:
    """(function, file) per frame, outermost first."""
    frames = []
    for raw in stack.split(";"):
        m = FRAME.match(raw.strip())
        frames.append((m["func"], m["file"]) if m else (raw.strip(), ""))
    return frames


def _short(func: str, file: str) -> str:
    tail = "/".join(Path(file).parts[-2:]) if file else "?"
    return f"{func} ({tail})"


def summarise(path: Path, top: int = 12) -> dict[str, Any]:
    """Busy samples by layer, and the top functions by self and by inclusive samples."""
    layers: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    busy = idle = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        leaf_func, leaf_file = frames[-1]
        if IDLE.search(f"{leaf_func} ({leaf_file})"):
            idle += count
            continue
        busy += count
        layer = next((name for name, pattern in LAYERS if re.search(pattern, leaf_file)), "other")
        layers[layer] += count
        own[_short(leaf_func, leaf_file)] += count
        for name in {
            _short(f, file)
            for f, file in frames
            if re.search(r"(^|/)(app|fastapi|starlette|sqlalchemy|sqlmodel|pydantic|psycopg)/", file)
        }:
            inclusive[name] += count

    def share(counter: Counter[str], n: int) -> list[list[Any]]:
        return [[name, round(100 * c / busy, 1)] for name, c in counter.most_common(n)] if busy else []

    return {
        "busy_samples": busy,
        "idle_samples": idle,
        "layers_pct": share(layers, len(LAYERS) + 1),
        "self_pct": share(own, top),
        "inclusive_pct": share(inclusive, top),
    }


def markdown(name: str, summary: dict[str, Any]) -> str:
    """A short section for bench/README.md."""
    lines = [f"**{name}** ({summary['busy_samples']:,} busy samples; idle left out)", ""]
    lines += ["| layer (leaf frame) | % of busy samples |", "|---|---:|"]
    lines += [f"| {layer} | {pct} |" for layer, pct in summary["layers_pct"]]
    lines += ["", "| function, inclusive | % |", "|---|---:|"]
    lines += [f"| `{func}` | {pct} |" for func, pct in summary["inclusive_pct"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(markdown(Path(arg).stem, summarise(Path(arg))))
