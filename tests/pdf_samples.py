"""Small PDFs made with pypdf for the attachment and bundle tests (and the bundle bench)."""

from __future__ import annotations

import io

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)


def _js_action() -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Action"),
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hello');"),
        }
    )


def make_pdf(
    pages: int = 1,
    *,
    javascript: str | None = None,
    encrypted: bool = False,
    padding: int = 0,
) -> bytes:
    """A PDF of `pages` blank A4 pages. `javascript`: where to hang a JavaScript action
    (`names`, `open_action`, `annotation` or `page`). `padding`: bytes of comment appended
    after the end so the file reaches a size (readers ignore what follows %%EOF)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if javascript == "names":
        tree = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("js"), writer._add_object(_js_action())])}
        )
        names = DictionaryObject({NameObject("/JavaScript"): writer._add_object(tree)})
        writer._root_object[NameObject("/Names")] = writer._add_object(names)
    elif javascript == "open_action":
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(_js_action())
    elif javascript == "annotation":
        annotation = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject([NumberObject(v) for v in (10, 10, 100, 100)]),
                NameObject("/A"): _js_action(),
            }
        )
        writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    elif javascript == "page":
        writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): _js_action()})
    if encrypted:
        writer.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    if padding:
        data += b"\n%" + b"x" * max(0, padding - len(data) - 3) + b"\n"
    return data
