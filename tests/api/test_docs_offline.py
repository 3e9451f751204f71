"""The docs pages are served from the package's own assets, never a CDN (issue 15). The real
browser check is .ci/docs-browser-check.sh (headless Chromium with no network beyond loopback);
these check what it relies on."""

from __future__ import annotations

import re

import pytest

from app.routers.docs import ASSETS

ORIGIN = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_name_no_other_origin_and_forbid_them(client, page):
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert ORIGIN.findall(r.text) == []
    policy = dict(
        part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";") if part.strip()
    )
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
    for directive, sources in policy.items():
        assert not ORIGIN.search(sources) and "*" not in sources, (directive, sources)
    assert r.headers["x-content-type-options"] == "nosniff"


def test_swagger_ui_starts_from_a_same_origin_script_with_no_validator(client):
    page = client.get("/docs").text
    assert '<script src="/docs/swagger-init.js"></script>' in page and "<script>" not in page
    init = client.get("/docs/swagger-init.js")
    assert init.status_code == 200 and init.headers["content-type"].startswith("text/javascript")
    assert '"url": "/openapi.json"' in init.text and '"validatorUrl": null' in init.text


def test_the_bundled_swagger_ui_is_version_5_which_renders_openapi_3_1(client):
    bundle = client.get(f"{ASSETS}/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javascript")
    [version] = set(re.findall(r'PACKAGE_VERSION:"(\d+\.\d+\.\d+)"', bundle.text))
    assert int(version.split(".")[0]) >= 5, version
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    for asset in ("swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        assert client.get(f"{ASSETS}/{asset}").status_code == 200
    assert client.get(f"{ASSETS}/../main.py").status_code == 404
