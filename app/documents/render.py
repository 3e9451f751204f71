"""Turning a document's structured content into HTML and PDF.

* Templates are data: they live beside the procedure profiles, in
  `app/profiles/templates/<profile-code>/<kind>.html.j2`, with a shared layout and partials
  in `app/profiles/templates/_shared/`. A profile names the template each of its documents
  uses, so a new procedure brings its own words. They are loaded from that folder only
  (Jinja2 refuses `..` in template names) into an immutable *sandboxed* environment with
  autoescaping on: a template can format what it is given and nothing else.
* `html_to_pdf` makes a tagged PDF/UA-1 (document language and title set, fonts embedded,
  A4 from the print stylesheet) with WeasyPrint. Its URL fetcher refuses everything except
  the renderer's own packaged fonts and stylesheet: nothing from the network, nothing else
  from the file system, whatever a template or a value in it asks for.
* WeasyPrint is CPU-bound and blocking: async callers use `render_pdf`, which runs it on a
  worker thread, one render at a time per process (Pango and fontconfig are not documented
  as thread-safe, and two cores gain nothing from more).
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import anyio.to_thread
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).resolve().parent.parent / "profiles" / "templates"
SHARED = "_shared"
ASSETS = Path(__file__).resolve().parent / "assets"
PRINT_CSS = ASSETS / "print.css"

log = logging.getLogger(__name__)
_render_lock = threading.Lock()


# ---- template helpers (filters) ---------------------------------------------------------------


def long_date(value: date | datetime | str | None) -> str:
    """`2025-12-29` → `Monday 29 December 2025` (dates in words, as letters write them)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return f"{value:%A} {value.day} {value:%B %Y}"


def paragraphs(value: str | None) -> Markup:
    """Free text as escaped paragraphs: a blank line starts a new one, a line break stays."""
    if not value:
        return Markup("")
    blocks = [b.strip() for b in str(value).replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in block.split("\n")))
        for block in blocks
    )


def yes_no(value: object) -> str:
    return "Yes" if value else "No"


@lru_cache
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATES, followlinks=False),
        autoescape=True,
        undefined=StrictUndefined,  # a missing field is a bug in the template, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(long_date=long_date, paragraphs=paragraphs, yes_no=yes_no)
    return env


def template_exists(name: str) -> bool:
    return name in environment().list_templates(extensions=["j2"])


def render_html(template: str, context: dict[str, Any]) -> str:
    """The document's HTML from its template (a path under the templates folder)."""
    return environment().get_template(template).render(context)


@lru_cache
def template_version(template: str) -> str:
    """A fingerprint of the words a document was rendered from: the named template and the
    shared layout and partials it may use. It changes whenever any of them changes, so an
    issued document says exactly which edition of its template produced it."""
    digest = hashlib.sha256()
    env = environment()
    names = [template, *sorted(n for n in env.list_templates() if n.startswith(f"{SHARED}/"))]
    loader = env.loader
    assert loader is not None
    for name in names:
        source, _, _ = loader.get_source(env, name)
        digest.update(name.encode() + b"\0" + source.encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


# ---- PDF ------------------------------------------------------------------------------------------


def _fetcher() -> Any:
    """A URL fetcher that serves files under the renderer's assets folder and refuses all
    else (network, other files, data: URLs included)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetsOnly(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type hints
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file://"):
                path = Path(url.removeprefix("file://").split("?")[0].split("#")[0]).resolve()
                if path.is_relative_to(ASSETS) and path.is_file():
                    media = "text/css" if path.suffix == ".css" else "font/ttf"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media})
            log.warning("document renderer refused to fetch a resource", extra={"scheme": url[:8]})
            raise PermissionError("the document renderer fetches only its own fonts and stylesheet")

    return AssetsOnly(fail_on_errors=False)


@lru_cache
def _print_setup() -> tuple[Any, Any, Any]:
    """The fetcher, font configuration and print stylesheet, made once per process: loading
    the packaged fonts is the slow part of a first render. Used under `_render_lock` only."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fetcher = _fetcher()
    fonts = FontConfiguration()
    stylesheet = CSS(filename=str(PRINT_CSS), base_url=_BASE_URL, url_fetcher=fetcher, font_config=fonts)
    return fetcher, fonts, stylesheet


_BASE_URL = ASSETS.as_uri() + "/"
# Drop the font configuration before the interpreter tears its modules down (its finaliser
# needs them).
atexit.register(_print_setup.cache_clear)


def html_to_pdf(html: str, *, title: str, lang: str) -> bytes:
    """A tagged PDF/UA-1 document, A4, fonts embedded, with its title and language set.
    Blocking and CPU-bound: call `render_pdf` from async code."""
    from weasyprint import HTML

    with _render_lock:
        fetcher, fonts, stylesheet = _print_setup()
        document = HTML(string=html, base_url=_BASE_URL, url_fetcher=fetcher).render(
            stylesheets=[stylesheet], font_config=fonts, pdf_variant="pdf/ua-1"
        )
        document.metadata.title = title
        document.metadata.lang = lang
        pdf: bytes = document.write_pdf(pdf_variant="pdf/ua-1")
    return pdf


async def render_pdf(html: str, *, title: str, lang: str) -> bytes:
    """`html_to_pdf` on a worker thread, off the event loop."""
    result: bytes = await anyio.to_thread.run_sync(partial(html_to_pdf, html, title=title, lang=lang))
    return result


__all__ = [
    "html_to_pdf",
    "long_date",
    "paragraphs",
    "render_html",
    "render_pdf",
    "template_exists",
    "template_version",
]
