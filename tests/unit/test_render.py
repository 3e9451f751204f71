"""The document renderer: sandboxed templates and PDF/UA output that fetches nothing."""

from __future__ import annotations

import io
from typing import Any

import jinja2
import pytest
from jinja2.sandbox import SecurityError
from pypdf import PdfReader

from app.documents import render

HTML = """<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>T</title></head>
<body><h1>Heading</h1><p>Body text £ \u2013 \u201cquoted\u201d.</p>
<table><tr><th scope="col">A</th></tr><tr><td>1</td></tr></table>
{extra}</body></html>"""


def _pdf(extra: str = "") -> PdfReader:
    data = render.html_to_pdf(HTML.format(extra=extra), title="A title", lang="en-GB")
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def _embedded_fonts(reader: PdfReader) -> list[tuple[str, bool]]:
    found = []
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font: Any = ref.get_object()
            descendants = font.get("/DescendantFonts")
            base = descendants[0].get_object() if descendants else font
            descriptor = base["/FontDescriptor"].get_object()
            found.append(
                (
                    str(font["/BaseFont"]),
                    any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")),
                )
            )
    return found


def test_pdf_is_tagged_with_language_and_title_on_a4_with_embedded_fonts() -> None:
    reader = _pdf()
    root: Any = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert "/StructTreeRoot" in root
    assert bool(root["/MarkInfo"]["/Marked"])
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert reader.metadata is not None and reader.metadata.title == "A title"
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    fonts = _embedded_fonts(reader)
    assert fonts and all(embedded for _, embedded in fonts)
    assert all("Document-Sans" in name for name, _ in fonts)  # the packaged font, not the system's
    assert "Body text £ \u2013 \u201cquoted\u201d." in reader.pages[0].extract_text()


@pytest.mark.parametrize(
    "extra",
    [
        '<img src="http://127.0.0.1:9/x.png" alt="x">',
        '<link rel="stylesheet" href="file:///etc/passwd">',
        '<img src="../render.py" alt="x">',
        '<img src="fonts/../../render.py" alt="x">',
        '<style>@import url("https://example.org/x.css");</style>',
    ],
)
def test_the_renderer_fetches_nothing_but_its_own_assets(extra: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []
    real = render._fetcher

    def spy() -> Any:
        inner = real()
        original = inner.fetch

        def fetch(url: str, headers: Any = None) -> Any:
            try:
                response = original(url, headers)
            except PermissionError:
                fetched.append("refused " + url)
                raise
            fetched.append("served " + url)
            return response

        inner.fetch = fetch
        return inner

    monkeypatch.setattr(render, "_fetcher", spy)
    render._print_setup.cache_clear()
    try:
        _pdf(extra)
    finally:
        render._print_setup.cache_clear()
    served = [f for f in fetched if f.startswith("served")]
    assert all("/app/documents/assets/" in f for f in served)
    assert any(f.startswith("refused") for f in fetched)


def test_templates_are_sandboxed_and_autoescaped() -> None:
    env = render.environment()
    assert env.from_string("{{ v }}").render(v="<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"
    with pytest.raises(SecurityError):
        env.from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()
    with pytest.raises(SecurityError):
        env.from_string("{% set _ = items.append(1) %}").render(items=[])


def test_templates_load_only_from_the_templates_folder() -> None:
    with pytest.raises(jinja2.TemplateNotFound):
        render.render_html("../documents/render.py", {})
    with pytest.raises(jinja2.TemplateNotFound):
        render.render_html("/etc/passwd", {})


def test_filters() -> None:
    assert render.long_date("2025-12-29") == "Monday 29 December 2025"
    assert render.long_date("2025-12-29T10:00:00+00:00") == "Monday 29 December 2025"
    assert str(render.paragraphs("a <b>\nline\n\nnext")) == "<p>a &lt;b&gt;<br>line</p>\n<p>next</p>"
    assert render.yes_no(True) == "Yes"


def test_template_version_is_a_fingerprint_of_the_template_and_the_shared_layout() -> None:
    version = render.template_version("_shared/base.html.j2")
    assert len(version) == 16
    assert version == render.template_version("_shared/base.html.j2")
