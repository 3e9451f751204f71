"""Crash safety: the real service runs as a process (`dissent serve`) on the test database - a
SQLite file, or PostgreSQL - while client threads send writes, each with its own
`Idempotency-Key`, and the server is killed with SIGKILL at random moments and restarted on
the same database. Every write is retried with the same key and body until it is answered
2xx. Afterwards every acknowledged write is stored exactly once, a replay of it answers the
first response again, the audit chain verifies and the event feed has no gaps (SPEC §7, §8).

Three kinds of kill, in a seeded random order (CRASH_SEED replays another schedule): at a
random moment (requests in flight, a commit half done); the instant a client has read a 2xx
(when an answer sent before its commit would be lost); and right after a write is visibly
stored but before its client has read the answer (so the retry must be a replay)."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.security import mint_token
from tests.conftest import TEST_SECRET
from tests.real_server import free_port
from tests.support import rows

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("CRASH_SEED", "20251218"))
RUN_SECONDS_AFTER_LAST_KILL = 0.5
WRITE_DEADLINE_SECONDS = 60.0  # one write, across restarts (slow on a loaded machine), before giving up
IN_PROGRESS_GRACE_SECONDS = 5.0  # a killed attempt's transaction must be gone by then
STARTUP_SECONDS = 30.0
CHILD_WRITERS = 3
REPLAY_SAMPLE = 25
# The previous attempt is still being rolled back, or a commit lost a race: nothing was
# stored, so the same key may be sent again.
RETRYABLE = {(409, "idempotency_key_in_progress"), (409, "conflict")}


class Server:
    """`dissent serve` in its own process group (one worker, so the group is the server)."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "DATABASE_"))},
            "DATABASE_URL": database_url,
            "DATABASE_POOL_SIZE": "5",
            "AUTH_JWT_SECRET": TEST_SECRET,
            "ENVIRONMENT": "test",
            "TEST_CLOCK_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.closed = False
        self.pids: list[int] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        for _ in range(3):  # another process may take the free port before uvicorn binds it
            port = free_port()
            with self._lock, self.log_path.open("ab") as log:
                if self.closed:  # the test is over: start nothing it would leave behind
                    raise RuntimeError("the server was closed")
                proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                    # one worker process, as the class says: the default is one per core, and
                    # starting several again after each kill is slow on a loaded machine
                    [sys.executable, "-m", "app.cli", "serve", "--workers", "1", "--port", str(port)],
                    cwd=ROOT,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                self.proc = proc
                self.url = f"http://127.0.0.1:{port}"
            self.pids.append(proc.pid)
            if self._wait_ready(proc):
                return
            self.kill()
        raise AssertionError(f"the server did not start:\n{self.log_tail()}")

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        """SIGKILL the whole process group, at once, and reap it."""
        with self._lock:
            proc = self.proc
            if proc is None or proc.poll() is not None:
                return
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def close(self) -> None:
        with self._lock:
            self.closed = True
        self.kill()

    def wait_dead(self, timeout: float) -> bool:
        proc = self.proc
        if proc is None:
            return True
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Write:
    """One logical write: always sent with this key, this body and this token."""

    kind: str
    key: str
    path: str
    body: dict[str, Any]
    token: str
    attempts: int = 0
    retries: list[str] = field(default_factory=list)
    status: int | None = None
    response: dict[str, Any] | None = None
    replayed: bool = False
    failure: str | None = None
    committed_unanswered: bool = False  # stored, its answer never read, then the server killed

    @property
    def acked(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Run:
    """The ledger, the writers and the killer."""

    def __init__(self, server: Server, rng: random.Random) -> None:
        self.server = server
        self.rng = rng
        self.ledger: list[Write] = []
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.kill_request: str | None = None  # "after_ack" or "lost_answer", taken by a writer
        self.kills: list[str] = []
        self.killer_error: BaseException | None = None
        self._lock = threading.Lock()
        self.code = f"crash-{uuid.uuid4().hex[:8]}"

    def token(self, sub: str, *roles: str, agency: str | None = None) -> str:
        authority = None if "system_admin" in roles else self.code
        return mint_token(TEST_SECRET, sub=sub, roles=roles, authority=authority, agency=agency, name=sub)

    # ---- sending ------------------------------------------------------------------------

    def send(self, client: httpx.Client, write: Write) -> Write:
        """Send until 2xx, with the same key and body every time; a refusal is final."""
        with self._lock:
            self.ledger.append(write)
        started = time.monotonic()
        in_progress_since: float | None = None
        headers = {"Authorization": f"Bearer {write.token}", "Idempotency-Key": write.key}
        while True:
            now = time.monotonic()
            if now - started > WRITE_DEADLINE_SECONDS:
                write.failure = f"not acknowledged after {write.attempts} attempts: {write.retries[-5:]}"
                self.abort.set()
                return write
            write.attempts += 1
            try:
                response = client.post(self.server.url + write.path, json=write.body, headers=headers)
            except httpx.TransportError as exc:  # killed, restarting, or never reached
                write.retries.append(type(exc).__name__)
                if self.abort.is_set():  # the run already failed, or no server is coming back
                    write.failure = f"abandoned after {write.attempts} attempts"
                    return write
                in_progress_since = None
                time.sleep(0.02)
                continue
            if 200 <= response.status_code < 300:
                if self._take_kill_request("after_ack"):
                    self.server.kill()  # the instant the client holds the 2xx
                write.status = response.status_code
                write.response = response.json()
                write.replayed = response.headers.get("idempotent-replayed") == "true"
                return write
            code = _problem_code(response)
            if (response.status_code, code) in RETRYABLE:
                in_progress_since = in_progress_since or now
                if now - in_progress_since < IN_PROGRESS_GRACE_SECONDS:
                    write.retries.append(code)
                    time.sleep(0.05)
                    continue
            write.status = response.status_code
            write.failure = f"{response.status_code} {response.text[:300]}"
            self.abort.set()
            return write

    def _take_kill_request(self, mode: str | None = None) -> bool:
        with self._lock:
            if self.kill_request is None or mode not in (None, self.kill_request):
                return False
            self.kill_request = None
            return True

    def lose_answer_then_kill(self, client: httpx.Client, write: Write) -> None:
        """Send the write but walk away before its answer; once the write is visibly stored,
        kill the server. The retry that follows must replay the stored answer."""
        headers = {"Authorization": f"Bearer {write.token}", "Idempotency-Key": write.key}
        write.attempts += 1
        write.retries.append("answer not read")
        try:
            client.post(
                self.server.url + write.path,
                json=write.body,
                headers=headers,
                timeout=httpx.Timeout(10, read=0.001),
            )
        except httpx.TransportError:
            pass
        deadline = time.monotonic() + 10
        query = {"external_ref": write.body["external_ref"]}
        while time.monotonic() < deadline and not write.committed_unanswered:
            try:
                found = client.get(self.server.url + "/v1/children", params=query, headers=headers)
                write.committed_unanswered = found.status_code == 200 and bool(found.json()["items"])
            except httpx.TransportError:
                pass
            time.sleep(0.01)
        self.server.kill()

    # ---- the set-up, before any kill ----------------------------------------------------

    def set_up(self, client: httpx.Client) -> dict[str, Any]:
        sysadmin = self.token("sysadmin", "system_admin")
        record = self.token("record-system", "record_system")
        self._must(
            client,
            Write(
                "authority",
                "setup-authority",
                "/v1/authorities",
                {
                    "code": self.code,
                    "name": "Crash LA",
                    "profile": "england-cp-conference",
                    "jurisdiction": "england",
                },
                sysadmin,
            ),
        )
        child = self._must(client, self._child(record, "setup", 0))
        conference = self._must(
            client,
            Write(
                "conference",
                "setup-conference",
                "/v1/conferences",
                {
                    "meeting_type": "initial_conference",
                    "scheduled_start": "2025-12-18T10:00:00Z",
                    "chair_id": "chair-1",
                    "chair_name": "Sam Chair",
                    "child_ids": [child["id"]],
                },
                record,
            ),
        )
        url = f"/v1/conferences/{conference['id']}"
        professionals = ["prof-a", "prof-b", "prof-c"]
        for person in professionals:
            attendee = {
                "person_id": person,
                "name": person.title(),
                "role_title": "Worker",
                "agency": "NHS",
                "kind": "professional",
                "attended": True,
            }
            self._must(client, Write("attendee", f"setup-{person}", f"{url}/attendees", attendee, record))
        self._must(client, Write("start", "setup-start", f"{url}/start", {}, self.token("chair-1", "chair")))
        return {"conference_url": url, "professionals": professionals}

    def _must(self, client: httpx.Client, write: Write) -> dict[str, Any]:
        self.send(client, write)
        assert write.acked and write.response is not None, write.failure
        return write.response

    def _child(self, token: str, writer: str, n: int) -> Write:
        ref = f"CR-{writer}-{n}"
        body = {
            "external_ref": ref,
            "given_name": "Riley",
            "family_name": f"Crash{n}",
            "date_of_birth": "2019-05-14",
        }
        return Write("child", f"child-{writer}-{n}", "/v1/children", body, token)

    # ---- the writers and the killer -----------------------------------------------------

    def child_writer(self, writer: int) -> None:
        token = self.token("record-system", "record_system")
        with httpx.Client(timeout=10) as client:
            for n in itertools.count(1):
                if self.stop.is_set() or self.abort.is_set():
                    return
                write = self._child(token, str(writer), n)
                if self._take_kill_request("lost_answer"):
                    self.lose_answer_then_kill(client, write)
                self.send(client, write)

    def dissent_writer(self, setup: dict[str, Any]) -> None:
        """Raise a dissent, then have the chair resolve it, over and over: a lost answer
        replayed wrongly would show as `dissent_exists` or `invalid_transition`."""
        chair = self.token("chair-1", "chair")
        slots = [(p, s) for p in setup["professionals"] for s in ("plan", "category", "registration")]
        open_dissents: dict[tuple[str, str], str] = {}
        url = setup["conference_url"]
        with httpx.Client(timeout=10) as client:
            for n in itertools.count(1):
                if self.stop.is_set() or self.abort.is_set():
                    return
                person, subject = slots[n % len(slots)]
                dissent_id = open_dissents.pop((person, subject), None)
                if dissent_id is None:
                    token = self.token(person, "professional", agency="NHS")
                    body = {"subject": subject, "reasons": f"crash dissent {n}"}
                    write = self.send(client, Write("raise", f"raise-{n}", f"{url}/dissents", body, token))
                    if write.acked and write.response is not None:
                        open_dissents[(person, subject)] = write.response["id"]
                else:
                    body = {"summary": f"resolved in the room {n}"}
                    path = f"/v1/dissents/{dissent_id}/resolution"
                    self.send(client, Write("resolve", f"resolve-{n}", path, body, chair))

    def killer(self) -> None:
        kinds = ["timed", "after_ack", "lost_answer"]
        modes = [*kinds, *self.rng.choices(kinds, k=self.rng.randint(0, 2))]
        self.rng.shuffle(modes)
        try:
            for mode in modes:
                time.sleep(self.rng.uniform(0.3, 1.5))
                if self.abort.is_set():
                    return
                if mode in ("after_ack", "lost_answer"):
                    with self._lock:
                        self.kill_request = mode
                    if not self.server.wait_dead(timeout=20):  # no writer took it: kill anyway
                        self._take_kill_request()
                        self.server.kill()
                else:
                    self.server.kill()
                self.kills.append(mode)
                self.server.start()
            time.sleep(RUN_SECONDS_AFTER_LAST_KILL)
        except BaseException as exc:
            self.killer_error = exc
            self.abort.set()
        finally:
            self.stop.set()

    def summary(self) -> str:
        kinds = Counter(w.kind for w in self.ledger)
        retried = sum(1 for w in self.ledger if w.attempts > 1)
        replayed = sum(1 for w in self.ledger if w.replayed)
        unanswered = sum(1 for w in self.ledger if w.committed_unanswered)
        return (
            f"seed={SEED} kills={self.kills} writes={dict(kinds)} retried={retried} "
            f"acknowledged-by-replay={replayed} (stored-unanswered={unanswered}) "
            f"server pids={self.server.pids}"
        )


def _problem_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Any:
    srv = Server(database_url, tmp_path / "server.log")
    try:
        yield srv
    finally:
        srv.close()  # whatever happened: no orphan server


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(server: Server, db: sa.Connection) -> None:
    rng = random.Random(SEED)
    run = Run(server, rng)
    server.start()
    started = time.monotonic()
    with httpx.Client(timeout=10) as client:
        setup = run.set_up(client)

    threads = [
        threading.Thread(target=run.child_writer, args=(i,), daemon=True) for i in range(CHILD_WRITERS)
    ]
    threads.append(threading.Thread(target=run.dissent_writer, args=(setup,), daemon=True))
    killer = threading.Thread(target=run.killer, daemon=True)
    for thread in [*threads, killer]:
        thread.start()
    try:
        for thread in [killer, *threads]:
            thread.join(timeout=WRITE_DEADLINE_SECONDS + 60)
            assert not thread.is_alive(), f"a writer is stuck; {run.summary()}"
    finally:
        run.abort.set()  # on any failure here, the threads stop too
    elapsed = time.monotonic() - started

    # Every write was acknowledged in the end: no refusal (a replay gone wrong answers
    # 409 child_exists / dissent_exists / invalid_transition), and none given up.
    failed = sorted(
        ((w.key, w.failure) for w in run.ledger if not w.acked),
        key=lambda f: str(f[1]).startswith("abandoned"),
    )
    assert not failed, f"{failed[:5]}; {run.summary()}\n{server.log_tail()}"
    assert run.killer_error is None, f"{run.killer_error!r}; {run.summary()}"
    assert len(run.kills) >= 3, run.summary()
    assert any(w.attempts > 1 for w in run.ledger), f"no write was ever interrupted; {run.summary()}"
    # A write stored before the kill whose answer the client never read is answered, after
    # the restart, from the idempotency store - not done a second time.
    unanswered = [w for w in run.ledger if w.committed_unanswered]
    assert unanswered, f"no stored-but-unanswered write was retried; {run.summary()}"
    not_replayed = [(w.key, w.status) for w in unanswered if not w.replayed]
    assert not not_replayed, f"retries of stored writes were not replays: {not_replayed}; {run.summary()}"

    with httpx.Client(timeout=10) as client:
        _check_replays(run, client, rng)
        _check_audit_chain(run, client)
        feed = _read_feed(run, client)
    _check_stored_once(run, db, feed)
    print(f"\n{run.summary()} in {elapsed:.1f}s")


def _writes(run: Run, kind: str) -> list[Write]:
    return [w for w in run.ledger if w.kind == kind]


def _check_replays(run: Run, client: httpx.Client, rng: random.Random) -> None:
    """Sending an acknowledged write again (every retried one, and a sample of the rest)
    replays its answer from the idempotency store, which survived the kills."""
    retried = [w for w in run.ledger if w.attempts > 1]
    rest = [w for w in run.ledger if w.attempts == 1]
    for write in retried + rng.sample(rest, min(REPLAY_SAMPLE, len(rest))):
        headers = {"Authorization": f"Bearer {write.token}", "Idempotency-Key": write.key}
        response = client.post(run.server.url + write.path, json=write.body, headers=headers)
        history = f"{write.key} (attempts {write.attempts}: {write.retries[-5:]})"
        assert response.status_code == write.status, f"{history}: {response.status_code} {response.text}"
        assert response.headers.get("idempotent-replayed") == "true", f"{history} was not replayed"
        assert response.json() == write.response, f"{history}: the replay differs from the first answer"


def _check_audit_chain(run: Run, client: httpx.Client) -> None:
    admin = {"Authorization": f"Bearer {run.token('admin-1', 'admin')}"}
    verdict = client.get(f"{run.server.url}/v1/audit/verify", headers=admin).json()
    assert verdict["ok"] is True, f"audit chain broken after the crashes: {verdict}; {run.summary()}"
    assert verdict["first_broken"] is None
    assert verdict["checked"] == verdict["chain_length"] > 0, verdict


def _read_feed(run: Run, client: httpx.Client) -> list[dict[str, Any]]:
    record = {"Authorization": f"Bearer {run.token('record-system', 'record_system')}"}
    feed: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.get(
            f"{run.server.url}/v1/events", params={"after": after, "limit": 200}, headers=record
        )
        assert page.status_code == 200, page.text
        body = page.json()
        if not body["items"]:
            return feed
        feed.extend(body["items"])
        after = body["next_after"]


def _check_stored_once(run: Run, db: sa.Connection, feed: list[dict[str, Any]]) -> None:
    (authority_id, event_seq), *_ = rows(
        db, "SELECT id, event_seq FROM authority WHERE code = :c", c=run.code
    )

    # The event feed: 1..N with no gap, N being the authority's counter.
    assert [e["seq"] for e in feed] == list(range(1, event_seq + 1)), f"feed has gaps; {run.summary()}"

    # Children: exactly the acknowledged ones, each once, with the id the client was given.
    children = _writes(run, "child")
    expected = {w.body["external_ref"]: str(w.response["id"]) for w in children if w.response}
    stored = rows(db, "SELECT external_ref, id FROM child WHERE authority_id = :a", a=authority_id)
    refs = Counter(ref for ref, _ in stored)
    assert not [r for r, n in refs.items() if n > 1], f"duplicated children; {run.summary()}"
    missing = sorted(set(expected) - set(refs))
    assert not missing, f"acknowledged children missing after the crashes: {missing[:10]}; {run.summary()}"
    unknown = sorted(set(refs) - set(expected))
    assert not unknown, f"children nobody asked for: {unknown[:10]}; {run.summary()}"
    assert {ref: str(uuid.UUID(str(i))) for ref, i in stored} == expected

    # Dissents: one per acknowledged raise; resolved exactly when the resolution was acknowledged.
    raised = {str(w.response["id"]): w for w in _writes(run, "raise") if w.response}
    resolved = {str(w.response["id"]) for w in _writes(run, "resolve") if w.response}
    stored_dissents = {
        str(uuid.UUID(str(i))): (status, reasons)
        for i, status, reasons in rows(
            db, "SELECT id, status, reasons FROM dissent WHERE authority_id = :a", a=authority_id
        )
    }
    assert set(stored_dissents) == set(raised), f"dissents differ from the acknowledged ones; {run.summary()}"
    for dissent_id, (status, reasons) in stored_dissents.items():
        assert reasons == raised[dissent_id].body["reasons"]
        assert status == ("resolved" if dissent_id in resolved else "raised"), (dissent_id, status)
    assert len(set(raised)) == len(_writes(run, "raise")) and len(resolved) == len(_writes(run, "resolve"))

    # One event and one audit entry per change, never two.
    def once(kind: str, ids: set[str]) -> None:
        events = Counter(e["subject"]["id"] for e in feed if e["type"] == kind)
        assert events == Counter(ids), f"{kind} events are not one per change; {run.summary()}"
        entries = Counter(
            str(uuid.UUID(str(r[0])))
            for r in rows(
                db,
                "SELECT entity_id FROM audit_entry WHERE chain_key = :c AND action = :k",
                c=run.code,
                k=kind,
            )
        )
        assert entries == Counter(ids), f"{kind} audit entries are not one per change; {run.summary()}"

    once("child.created", set(expected.values()))
    once("dissent.raised", set(raised))
    once("dissent.resolved", resolved)
