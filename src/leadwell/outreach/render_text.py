"""The plain-text part of an email derived from its HTML, for templates written in HTML only.

Readable rather than faithful: paragraphs, headings and list items become blocks separated by a
blank line (items by a line break, with "- "), ``<br>`` a line break, a link "label (url)", and an
image its alt text. Scripts, styles and the head are dropped; runs of spaces collapse.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that start and end a paragraph of their own.
BLOCKS = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "table",
        "blockquote",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
        "address",
    }
)
LINES = frozenset({"li", "tr", "dt", "dd"})  # one line each inside their block
HIDDEN = frozenset({"script", "style", "head", "title", "template"})
SPACES = re.compile(r"[ \t\r\n\f\v]+")
LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.line: list[str] = []
        self.lines: list[str] = []
        self.hidden = 0
        self.links: list[tuple[str, int]] = []  # (href, where its label starts in self.line)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in HIDDEN:
            self.hidden += 1
        elif tag in BLOCKS:
            self.end_block()
        elif tag in LINES:
            self.end_line()
            if tag == "li":
                self.line.append("- ")
        elif tag == "br":
            self.end_line()
        elif tag == "a":
            self.links.append(((attributes.get("href") or "").strip(), len(self.line)))
        elif tag == "img" and attributes.get("alt"):
            self.line.append(f" {attributes['alt']} ")
        elif tag in ("td", "th"):
            self.line.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCKS:
            self.end_block()
        elif tag in LINES:
            self.end_line()
        elif tag == "a" and self.links:
            self._close_link(*self.links.pop())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.line.append(data)

    def _close_link(self, href: str, start: int) -> None:
        label = SPACES.sub(" ", "".join(self.line[start:])).strip()
        if not href.lower().startswith(LINK_SCHEMES):
            return  # anchors and javascript: links are not worth printing
        target = href.removeprefix("mailto:").removeprefix("tel:")
        if label and label not in (href, target):
            self.line.append(f" ({href.removeprefix('mailto:')})")
        elif not label:
            self.line.append(href)

    def end_line(self) -> None:
        text = SPACES.sub(" ", "".join(self.line)).strip()
        if text:
            self.lines.append(text)
        self.line = []
        self.links = [(href, 0) for href, _start in self.links]

    def end_block(self) -> None:
        self.end_line()
        if self.lines:
            self.blocks.append("\n".join(self.lines))
        self.lines = []


def html_to_text(html: str) -> str:
    """Readable plain text for an HTML body (see the module's description)."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    writer.end_block()
    text = "\n\n".join(writer.blocks)
    return f"{text}\n" if text else ""
