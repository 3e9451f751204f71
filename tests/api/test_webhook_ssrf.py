"""Webhook SSRF hardening (issue 16, item 10): IPv6 forms that embed a private IPv4 address
(NAT64 64:ff9b::/96, 6to4 2002::/16, IPv4-compatible ::a.b.c.d, IPv4-mapped, Teredo) are
refused like the address they carry; and a delivery resolves the host once, checks that
answer and connects to exactly that address (no second lookup for DNS to answer
differently), keeping the original Host."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.errors import RuleViolation
from app.main import create_app
from app.rules.webhooks import check_url, embedded_ipv4, is_public_address
from app.services import webhooks as webhook_service
from app.services.webhook_target import pin
from tests.api.test_events_webhooks import Receiver, deliver_once, subscribe
from tests.conftest import TEST_SECRET
from tests.support import Api, create_authority, create_child, expect

PRIVATE_IN_DISGUISE = [
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
    "64:ff9b:1::a00:1",  # local-use NAT64 prefix
    "::10.0.0.1",  # IPv4-compatible
    "::127.0.0.1",
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
]
PUBLIC = ["93.184.216.34", "2606:4700:4700::1111", "64:ff9b::5db8:d822", "2002:5db8:d822::1"]


@pytest.mark.parametrize("address", PRIVATE_IN_DISGUISE)
def test_ipv6_forms_embedding_a_private_ipv4_address_are_refused(address):
    assert not is_public_address(address)
    with pytest.raises(RuleViolation) as caught:
        check_url(f"https://[{address}]/hook", allowed_hosts=frozenset(), resolved=[address])
    assert caught.value.code == "webhook_url_not_allowed"
    # the same, when a name resolves to it
    with pytest.raises(RuleViolation):
        check_url("https://hooks.example.org/hook", allowed_hosts=frozenset(), resolved=[address])


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_and_public_embedded_ones_are_allowed(address):
    assert is_public_address(address)
    check_url("https://hooks.example.org/hook", allowed_hosts=frozenset(), resolved=[address])


def test_the_embedded_address_is_unpacked():
    import ipaddress

    assert [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("64:ff9b::a00:1"))] == ["10.0.0.1"]
    assert [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("2002:a00:1::1"))] == ["10.0.0.1"]


@pytest.mark.parametrize("address", ["64:ff9b::a00:1", "::10.0.0.1", "2002:a00:1::1"])
def test_the_api_refuses_such_a_webhook_url(api, address):
    authority = create_authority(api, "england-cp-conference")
    admin = api.as_("admin-1", "admin", authority=authority)
    body = {"url": f"https://[{address}]/hook", "event_types": ["*"], "secret": "s" * 32}
    expect(admin.post("/v1/webhooks", json=body), 422, "webhook_url_not_allowed")


# ---- the connection goes to the address that was checked ----------------------------------------

NAME = "hooks.invalid"  # never resolvable by real DNS


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every lookup the service makes; `hooks.invalid` answers 127.0.0.1 (only here)."""
    seen: list[str] = []
    real = webhook_service.resolve

    async def resolve(host: str) -> list[str]:
        seen.append(host)
        return ["127.0.0.1"] if host == NAME else await real(host)

    monkeypatch.setattr(webhook_service, "resolve", resolve)
    yield seen


def test_delivery_connects_to_the_checked_address_with_the_original_host(settings, lookups):
    pinned = settings.model_copy(update={"webhook_allowed_hosts": f"{NAME},127.0.0.1"})
    with (
        TestClient(create_app(pinned), raise_server_exceptions=False) as client,
        Receiver() as receiver,
    ):
        api = Api(client, TEST_SECRET)
        authority = create_authority(api, "england-cp-conference")
        subscribe(api.as_("admin-1", "admin", authority=authority), f"http://{NAME}:{receiver.port}/hook")
        create_child(api, authority)
        lookups.clear()
        result = deliver_once(pinned)
        received = receiver.snapshot()
    assert result.delivered >= 1 and result.failed == 0
    assert len(received) == result.delivered
    assert {r.headers["host"] for r in received} == {f"{NAME}:{receiver.port}"}
    # one lookup per delivery: the client must not resolve the name again
    assert lookups == [NAME] * result.delivered


def test_the_pinned_target_keeps_the_name_for_tls(settings, lookups):
    target = asyncio.run(
        pin(f"https://{NAME}:8443/a?b=1", settings.model_copy(update={"webhook_allowed_hosts": NAME}))
    )
    assert target.url == "https://127.0.0.1:8443/a?b=1"
    assert target.headers == {"Host": f"{NAME}:8443"}
    assert target.extensions == {"sni_hostname": NAME}


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery_time(settings, lookups):
    with pytest.raises(RuleViolation) as caught:
        asyncio.run(pin(f"https://{NAME}/hook", settings.model_copy(update={"webhook_allowed_hosts": ""})))
    assert caught.value.code == "webhook_url_not_allowed"
    assert lookups == [NAME]
