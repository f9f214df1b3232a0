"""Small, valid PDF documents for the demo's lead magnets: a title page and pages of text.

The demo must run with no network and no PDF library, so the few PDF objects needed (catalog, page
tree, pages, one standard font, text streams and the cross-reference table) are written directly.
"""

from __future__ import annotations

import textwrap

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
MARGIN = 72
LINE = 16
WRAP = 84  # characters per line at 11 pt Helvetica inside the margins


def _escape(text: str) -> str:
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _page_stream(lines: list[tuple[int, str]]) -> bytes:
    """A content stream drawing ``(font size, text)`` lines from the top margin down."""
    parts = ["BT", f"{MARGIN} {PAGE_HEIGHT - MARGIN} Td"]
    for size, text in lines:
        parts += [f"/F1 {size} Tf", f"({_escape(text)}) Tj", f"0 -{LINE if size < 14 else 2 * LINE} Td"]
    parts.append("ET")
    return "\n".join(parts).encode("ascii")


def _layout(title: str, subtitle: str, sections: list[tuple[str, str]]) -> list[list[tuple[int, str]]]:
    """Lines per page: a title page, then each section's heading and wrapped text."""
    pages: list[list[tuple[int, str]]] = [[(24, title), (12, ""), (12, subtitle)]]
    per_page = (PAGE_HEIGHT - 2 * MARGIN) // LINE - 2
    for heading, body in sections:
        lines: list[tuple[int, str]] = [(16, heading)]
        for paragraph in body.split("\n\n"):
            lines += [(11, line) for line in textwrap.wrap(paragraph, WRAP)] + [(11, "")]
        for start in range(0, len(lines), per_page):
            pages.append(lines[start : start + per_page])
    return pages


def sample_pdf(title: str, subtitle: str, sections: list[tuple[str, str]]) -> bytes:
    """A PDF with a title page and one or more pages per ``(heading, text)`` section."""
    pages = _layout(title, subtitle, sections)
    first_page = 4  # objects 1-3: catalog, page tree, font; then (page, contents) pairs
    kids = " ".join(f"{first_page + 2 * index} 0 R" for index in range(len(pages)))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for index, lines in enumerate(pages):
        stream = _page_stream(lines)
        contents = first_page + 2 * index + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {contents} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return _assemble(objects)


def _assemble(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
