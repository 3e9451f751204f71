"""PDF handling beside the renderer: checking an uploaded attachment by its content, and
appending attachments' pages to a rendered document (the review bundle).

An attachment is accepted only if it is a PDF by its bytes (whatever its name or declared
type): it starts with `%PDF-`, pypdf parses it and its page tree, it is not encrypted, and
nothing reachable from its catalogue is JavaScript (a `/JavaScript` names tree, a `/JS`
entry or a `/S /JavaScript` action, wherever it hangs: the open action, document, page or
annotation actions, form fields). Both functions are blocking and CPU-bound: async callers
run them on a worker thread.

pypdf is imported by the functions that use it, not with the module: it adds about 17 MB to
every API worker, and only attachments and the review bundle need it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.errors import DomainError

if TYPE_CHECKING:
    from pypdf.generic import DictionaryObject

log = logging.getLogger(__name__)
PDF_MAGIC = b"%PDF-"
# A bound on the objects walked looking for JavaScript: a 10 MiB file has far fewer
# dictionaries and arrays than this unless it is built to make the walk slow.
_MAX_OBJECTS = 200_000


@dataclass(frozen=True)
class PdfFacts:
    pages: int


def _refuse(code: str, detail: str, status: int = 422) -> DomainError:
    return DomainError(detail, code=code, status=status)


def _has_javascript(root: DictionaryObject) -> bool:
    """Walk every dictionary and array reachable from the catalogue (streams' dictionaries,
    never their data) looking for a JavaScript action or a JavaScript names tree."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    names = root.get("/Names")
    if isinstance(names, IndirectObject):
        names = names.get_object()
    if isinstance(names, DictionaryObject) and "/JavaScript" in names:
        return True
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [root]
    walked = 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            ref = (node.idnum, node.generation)
            if ref in seen:
                continue
            seen.add(ref)
            node = node.get_object()
        walked += 1
        if walked > _MAX_OBJECTS:
            raise _refuse("attachment_unreadable", "the PDF has too many objects to check")
        if isinstance(node, DictionaryObject):
            if "/JS" in node or node.get("/S") == "/JavaScript" or "/JavaScript" in node:
                return True
            for key, value in node.items():
                if key != "/Parent":  # the page tree's back links: already on the way down
                    stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return False


def inspect_pdf(data: bytes) -> PdfFacts:
    """The attachment's facts if it is an acceptable PDF; a refusal with its code otherwise."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError
    from pypdf.generic import DictionaryObject

    if not data.startswith(PDF_MAGIC):
        raise _refuse("attachment_not_pdf", "the file is not a PDF (by its content)", status=415)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _refuse("attachment_encrypted", "the PDF is encrypted; attach it without a password")
        pages = len(reader.pages)
        root = reader.trailer["/Root"].get_object()
        if not isinstance(root, DictionaryObject) or pages < 1:
            raise _refuse("attachment_unreadable", "the PDF has no pages")
        javascript = _has_javascript(root)
    except DomainError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        log.info("an attachment could not be parsed", extra={"error": type(exc).__name__})
        raise _refuse("attachment_unreadable", "the PDF could not be read") from exc
    if javascript:
        raise _refuse("attachment_has_javascript", "the PDF contains JavaScript, which is not accepted")
    return PdfFacts(pages=pages)


def append_pages(document: bytes, attachments: Sequence[bytes]) -> bytes:
    """`document` with every page of each attachment appended, in order. The document's own
    catalogue is kept (its structure tree, language, mark info) and so is its metadata (the
    title); attachments bring their pages only (no outlines, forms or names)."""
    if not attachments:
        return document
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(document)))
    for data in attachments:
        writer.append(PdfReader(io.BytesIO(data)), import_outline=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


__all__ = ["PDF_MAGIC", "PdfFacts", "append_pages", "inspect_pdf"]
