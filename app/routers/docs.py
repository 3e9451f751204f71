"""The API docs pages, served with no third party: Swagger UI 5 and ReDoc come from the
`fastapi-offline` package (its bundled assets, mounted at /docs/assets), and each page sets a
Content-Security-Policy that allows this service's own origin only. So /docs works on a
machine or network with no internet access, and no visit is reported to a CDN.

FastAPI's own pages put an inline script in the HTML; here the page loads its start-up code
from /docs/swagger-init.js, so the policy needs no 'unsafe-inline' for scripts.
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
_SELF_ONLY = (
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SWAGGER_CSP = f"default-src 'none'; script-src 'self'; style-src 'self'; {_SELF_ONLY}"
# ReDoc writes its styles into <style> elements and searches in a worker started from a blob.
REDOC_CSP = (
    f"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; worker-src blob:; {_SELF_ONLY}"
)


def _headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _swagger_page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)} - Swagger UI</title>
<link rel="icon" type="image/png" href="{ASSETS}/favicon.png">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body>
</html>
"""


def _swagger_init(openapi_url: str) -> str:
    options = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        "persistAuthorization": True,
        "displayOperationId": True,
        # The public validator badge would fetch an image from a third party on every visit.
        "validatorUrl": None,
    }
    return (
        f"window.ui = SwaggerUIBundle(Object.assign({json.dumps(options)}, {{\n"
        "  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],\n"
        '  layout: "BaseLayout"\n'
        "}));\n"
    )


def _redoc_page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)} - ReDoc</title>
<link rel="icon" type="image/png" href="{ASSETS}/favicon.png">
</head>
<body>
<redoc spec-url="{escape(openapi_url)}"></redoc>
<script src="{ASSETS}/redoc.standalone.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from the package's own assets (create the app with
    docs_url=None and redoc_url=None so FastAPI's CDN pages are not served)."""
    openapi_url = app.openapi_url or "/openapi.json"
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
    swagger_page, swagger_init = _swagger_page(app.title), _swagger_init(openapi_url)
    redoc_page = _redoc_page(app.title, openapi_url)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger_page, headers=_headers(SWAGGER_CSP))

    @app.get("/docs/swagger-init.js", include_in_schema=False)
    async def swagger_ui_init() -> Response:
        return Response(swagger_init, media_type="text/javascript", headers=_headers(SWAGGER_CSP))

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_page, headers=_headers(REDOC_CSP))
