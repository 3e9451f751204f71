"""Pure integration rules: the audit hash chain (app/rules/audit_chain.py) and the webhook
rules (app/rules/webhooks.py): URL safety against server-side request forgery, the
`Webhook-Signature` header and exponential back-off."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.errors import RuleViolation
from app.rules.audit_chain import GENESIS, canonical, canonical_time, entry_hash, verify
from app.rules.webhooks import backoff_seconds, check_url, signature, signature_header

# ---- audit chain -----------------------------------------------------------------------------


def content(seq: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "chain": "la-1",
        "seq": seq,
        "authority": "la-1",
        "actor": f"person-{seq}",
        "roles": ["record_system"],
        "action": "child.read",
        "entity_kind": "child",
        "entity_id": f"child-{seq}",
        "request_id": f"req-{seq}",
        "occurred_at": "2025-12-18T10:00:00.000000Z",
        "detail": {"n": seq},
    }
    body.update(changes)
    return body


def build(n: int, *, start_seq: int = 1, start_hash: str = GENESIS) -> list[tuple[int, int, str, str, dict]]:
    """`(id, seq, prev_hash, hash, content)` rows as the service writes them."""
    rows, prev = [], start_hash
    for seq in range(start_seq, start_seq + n):
        body = content(seq)
        digest = entry_hash(prev, body)
        rows.append((100 + seq, seq, prev, digest, body))
        prev = digest
    return rows


def test_entry_hash_is_sha256_of_previous_hash_and_canonical_json():
    body = {"b": [1, 2], "a": "é", "c": None}
    expected_json = '{"a":"é","b":[1,2],"c":null}'
    assert canonical(body) == expected_json.encode()
    assert (
        entry_hash(GENESIS, body)
        == hashlib.sha256(GENESIS.encode() + b"\n" + expected_json.encode()).hexdigest()
    )
    # Key order does not matter; any value does.
    assert entry_hash(GENESIS, {"c": None, "a": "é", "b": [1, 2]}) == entry_hash(GENESIS, body)
    assert entry_hash(GENESIS, {**body, "b": [2, 1]}) != entry_hash(GENESIS, body)
    assert entry_hash("1" * 64, body) != entry_hash(GENESIS, body)


def test_canonical_time_is_utc_with_microseconds():
    local = datetime(2025, 6, 1, 11, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert canonical_time(local) == "2025-06-01T10:00:00.000005Z"
    assert canonical_time(datetime(2025, 12, 18, tzinfo=UTC)) == "2025-12-18T00:00:00.000000Z"


def test_an_intact_chain_verifies():
    rows = build(5)
    assert verify(rows) == (5, None)
    assert verify([]) == (0, None)


def test_a_chain_checked_in_batches_continues_from_the_last_hash():
    rows = build(6)
    first, second = rows[:3], rows[3:]
    assert verify(first) == (3, None)
    assert verify(second, start_seq=4, start_hash=first[-1][3]) == (3, None)
    # The second batch does not stand on its own from the genesis hash.
    checked, broken = verify(second, start_seq=4)
    assert checked == 0 and broken is not None and broken.seq == 4


def test_changed_content_is_found_at_that_entry():
    rows = build(5)
    entry_id, seq, prev, digest, body = rows[2]
    rows[2] = (entry_id, seq, prev, digest, {**body, "actor": "mallory"})
    checked, broken = verify(rows)
    assert checked == 2
    assert broken is not None
    assert (broken.seq, broken.entry_id) == (3, 103)
    assert "hash" in broken.reason


def test_changed_content_with_a_fresh_hash_breaks_the_next_link():
    rows = build(5)
    entry_id, seq, prev, _, body = rows[2]
    forged = {**body, "action": "child.deleted"}
    rows[2] = (entry_id, seq, prev, entry_hash(prev, forged), forged)
    checked, broken = verify(rows)
    assert checked == 3
    assert broken is not None and broken.seq == 4
    assert "link" in broken.reason


def test_a_missing_entry_is_found():
    rows = build(5)
    del rows[1]
    checked, broken = verify(rows)
    assert checked == 1
    assert broken is not None and broken.seq == 2
    assert broken.entry_id == 103  # the entry found where seq 2 should be
    assert "missing" in broken.reason


def test_a_missing_first_entry_is_found():
    checked, broken = verify(build(3)[1:])
    assert checked == 0
    assert broken is not None and broken.seq == 1


def test_reordered_entries_are_found():
    rows = build(5)
    rows[1], rows[2] = rows[2], rows[1]
    checked, broken = verify(rows)
    assert checked == 1
    assert broken is not None and broken.seq == 2


def test_renumbered_entries_are_found():
    """Swapping two entries and renumbering them to hide the swap still breaks the chain."""
    rows = build(5)
    (id2, _, prev2, hash2, body2), (id3, _, prev3, hash3, body3) = rows[1], rows[2]
    rows[1] = (id3, 2, prev3, hash3, body3)
    rows[2] = (id2, 3, prev2, hash2, body2)
    checked, broken = verify(rows)
    assert checked == 1
    assert broken is not None and broken.seq == 2


def test_a_replaced_previous_hash_is_found():
    rows = build(4)
    entry_id, seq, _, digest, body = rows[0]
    rows[0] = (entry_id, seq, "f" * 64, digest, body)
    checked, broken = verify(rows)
    assert checked == 0
    assert broken is not None and broken.seq == 1


# ---- webhook URLs ------------------------------------------------------------------------------

NONE: frozenset[str] = frozenset()
PUBLIC_V4 = ["93.184.215.14"]
PUBLIC_V6 = ["2606:4700:4700::1111"]


def refused(url: str, *, resolved: list[str], allowed: frozenset[str] = NONE) -> str:
    with pytest.raises(RuleViolation) as caught:
        check_url(url, allowed_hosts=allowed, resolved=resolved)
    assert caught.value.code == "webhook_url_not_allowed"
    return str(caught.value.detail)


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("https://hooks.example.org/dissent", PUBLIC_V4),
        ("https://hooks.example.org:8443/a?b=c", PUBLIC_V4),
        ("https://hooks.example.org/x", PUBLIC_V6),
        ("https://hooks.example.org/x", [*PUBLIC_V4, *PUBLIC_V6]),
        ("https://93.184.215.14/x", PUBLIC_V4),
    ],
)
def test_https_to_public_addresses_is_allowed(url, resolved):
    check_url(url, allowed_hosts=NONE, resolved=resolved)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.0.0.2",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "192.0.2.1",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "ff02::1",
    ],
)
def test_loopback_private_link_local_and_reserved_addresses_are_refused(address):
    detail = refused("https://hooks.example.org/x", resolved=[address])
    assert "loopback" in detail


def test_one_unsafe_address_among_public_ones_is_refused():
    refused("https://hooks.example.org/x", resolved=[*PUBLIC_V4, "10.1.2.3"])
    refused("https://hooks.example.org/x", resolved=["169.254.169.254", *PUBLIC_V6])


def test_a_host_that_does_not_resolve_is_refused():
    assert "resolve" in refused("https://nowhere.example.org/x", resolved=[])


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/x",
        "ftp://hooks.example.org/x",
        "file:///etc/passwd",
        "gopher://hooks.example.org/x",
        "https:///no-host",
        "https://user:secret@hooks.example.org/x",
        "https://user@hooks.example.org/x",
        "hooks.example.org/x",
        "https://[::1/x",
    ],
)
def test_urls_that_are_not_plain_https_are_refused(url):
    refused(url, resolved=PUBLIC_V4)


def test_allow_listed_hosts_skip_the_address_and_scheme_checks():
    allowed = frozenset({"127.0.0.1", "localhost", "hooks.internal"})
    check_url("http://127.0.0.1:8080/hook", allowed_hosts=allowed, resolved=[])
    check_url("http://LOCALHOST/hook", allowed_hosts=allowed, resolved=["127.0.0.1"])
    check_url("https://hooks.internal/x", allowed_hosts=allowed, resolved=["10.0.0.5"])
    # Only the hosts named, and never another scheme or credentials.
    refused("http://127.0.0.2/hook", resolved=["127.0.0.2"], allowed=allowed)
    refused("https://127.0.0.2/hook", resolved=["127.0.0.2"], allowed=allowed)
    refused("ftp://127.0.0.1/hook", resolved=[], allowed=allowed)
    refused("http://user:pw@127.0.0.1/hook", resolved=[], allowed=allowed)


# ---- signatures ---------------------------------------------------------------------------------


def hand_hmac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = json.dumps({"seq": 1, "type": "dissent.raised"}, separators=(",", ":")).encode()
    assert signature("whsec-abc", 1766052000, body) == hand_hmac("whsec-abc", 1766052000, body)
    # A fixed vector, computed independently.
    assert signature("secret", 1, b"{}") == hmac.new(b"secret", b"1.{}", hashlib.sha256).hexdigest()
    assert signature("secret", 1, b"{}") != signature("secret", 2, b"{}")
    assert signature("secret", 1, b"{}") != signature("secret", 1, b"{ }")
    assert signature("secret", 1, b"{}") != signature("other", 1, b"{}")


def test_signature_header_carries_one_v1_per_secret():
    body = b'{"seq":7}'
    assert signature_header(["new-secret"], 1700000000, body) == (
        f"t=1700000000,v1={hand_hmac('new-secret', 1700000000, body)}"
    )
    both = signature_header(["new-secret", "old-secret"], 1700000000, body)
    assert both == ",".join(
        [
            "t=1700000000",
            f"v1={hand_hmac('new-secret', 1700000000, body)}",
            f"v1={hand_hmac('old-secret', 1700000000, body)}",
        ]
    )


# ---- back-off --------------------------------------------------------------------------------------


def test_backoff_doubles_from_the_base_up_to_the_cap():
    waits = [backoff_seconds(n, base=5, cap=3600) for n in range(1, 12)]
    assert waits == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 2560.0, 3600.0]
    assert backoff_seconds(50, base=5, cap=3600) == 3600.0
    assert backoff_seconds(10_000, base=5, cap=3600) == 3600.0


def test_backoff_with_small_settings():
    assert [backoff_seconds(n, base=0.05, cap=0.5) for n in range(1, 7)] == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    assert backoff_seconds(0, base=0.05, cap=0.5) == 0.05
    assert isinstance(backoff_seconds(3, base=1, cap=10), float)
