"""The links inside an outgoing message: the signed one-click unsubscribe address, the open pixel
and click tracking.

Every http(s) link in the HTML part (``<a href>`` and ``<area href>``) and every http(s) address in
the text part becomes capture's click redirect (``/t/c/TOKEN``), which records the click and sends
the reader on to the original address; the open pixel (``/t/o/TOKEN.gif``) goes at the end of the
HTML. The unsubscribe link, ``mailto:`` and other schemes, and links already pointing at the
tracking endpoints are left as they are. The HTML is edited in place: only the rewritten tags
change, every other character stays as the template rendered it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

from leadwell.capture.tokens import TokenSigner
from leadwell.capture.tracking_routes import click_url, open_pixel_url

LINK_TAGS = frozenset({"a", "area"})
# An http(s) address in plain text ends at white space or a character that cannot be part of one.
_TEXT_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"]}>"
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class LinkMaker:
    """Makes the signed links of one installation (its secret and public address)."""

    signer: TokenSigner
    public_url: str

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/")

    def unsubscribe_url(self, workspace_id: int, contact_id: int, message_id: str) -> str:
        """The one-click unsubscribe address for one message to one contact."""
        token = self.signer.sign("unsubscribe", {"w": workspace_id, "c": contact_id, "m": message_id})
        return f"{self.base}/u/{token}"

    def is_own(self, url: str) -> bool:
        """Whether ``url`` is one of the links this installation makes for emails (never tracked)."""
        return url.startswith((f"{self.base}/u/", f"{self.base}/t/"))

    def for_message(self, workspace_id: int, contact_id: int, message_id: str) -> MessageLinks:
        return MessageLinks(self, workspace_id, contact_id, message_id)


@dataclass(frozen=True)
class MessageLinks:
    """The links of one message to one contact."""

    maker: LinkMaker
    workspace_id: int
    contact_id: int
    message_id: str

    def unsubscribe_url(self) -> str:
        return self.maker.unsubscribe_url(self.workspace_id, self.contact_id, self.message_id)

    def pixel_url(self) -> str:
        ids = (self.workspace_id, self.contact_id, self.message_id)
        return open_pixel_url(self.maker.signer, self.maker.base, *ids)

    def tracked(self, url: str) -> str | None:
        """The click redirect for ``url``, or None when it is not to be tracked."""
        if not url.lower().startswith(("http://", "https://")) or self.maker.is_own(url):
            return None
        try:
            ids = (self.workspace_id, self.contact_id, self.message_id)
            return click_url(self.maker.signer, self.maker.base, *ids, url)
        except ValueError:  # not a URL capture accepts (too long, spaces…): leave it alone
            return None


class _LinkTags(HTMLParser):
    """Finds the start tags whose link is to be rewritten, with their place in the source."""

    def __init__(self, rewrite: Callable[[str], str | None]) -> None:
        super().__init__(convert_charrefs=False)
        self.rewrite = rewrite
        self.edits: list[tuple[int, int, int, str]] = []  # (line, column, length, new tag)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._consider(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._consider(tag, attrs, closed=True)

    def _consider(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        if tag not in LINK_TAGS:
            return
        changed = False
        rebuilt: list[tuple[str, str | None]] = []
        for name, value in attrs:
            if name == "href" and value is not None and (target := self.rewrite(value.strip())):
                value, changed = target, True
            rebuilt.append((name, value))
        raw = self.get_starttag_text()
        if changed and raw is not None:
            line, column = self.getpos()
            self.edits.append((line, column, len(raw), _tag(tag, rebuilt, closed)))


def _tag(tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> str:
    parts = [tag] + [
        name if value is None else f'{name}="{html.escape(value, quote=True)}"' for name, value in attrs
    ]
    return "<" + " ".join(parts) + (" />" if closed else ">")


def _offsets(source: str) -> list[int]:
    """Where each line starts (HTMLParser counts lines by '\\n')."""
    starts = [0]
    starts.extend(index + 1 for index, char in enumerate(source) if char == "\n")
    return starts


def rewrite_html_links(source: str, rewrite: Callable[[str], str | None]) -> str:
    """``source`` with the href of each link tag replaced by ``rewrite(href)`` where that is not None."""
    finder = _LinkTags(rewrite)
    finder.feed(source)
    finder.close()
    if not finder.edits:
        return source
    starts = _offsets(source)
    pieces: list[str] = []
    position = 0
    for line, column, length, new in finder.edits:
        start = starts[line - 1] + column
        pieces.extend((source[position:start], new))
        position = start + length
    pieces.append(source[position:])
    return "".join(pieces)


def rewrite_text_links(text: str, rewrite: Callable[[str], str | None]) -> str:
    """``text`` with each http(s) address replaced by ``rewrite(address)`` where that is not None."""

    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        tail = ""
        while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count(")") > url.count("("))):
            url, tail = url[:-1], url[-1] + tail
        return (rewrite(url) or url) + tail

    return _TEXT_URL.sub(replace, text)


def with_pixel(source: str, pixel_url: str) -> str:
    """The HTML with the open pixel at its end (just before ``</body>`` when there is one)."""
    image = (
        f'<img src="{html.escape(pixel_url, quote=True)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0">'
    )
    ends = list(_BODY_END.finditer(source))
    if not ends:
        return source + image
    cut = ends[-1].start()
    return source[:cut] + image + source[cut:]


def track(html_part: str, text_part: str, links: MessageLinks) -> tuple[str, str]:
    """Both parts of a message with tracked links, and the pixel in the HTML (when there is HTML)."""
    tracked_html = rewrite_html_links(html_part, links.tracked)
    if tracked_html.strip():
        tracked_html = with_pixel(tracked_html, links.pixel_url())
    return tracked_html, rewrite_text_links(text_part, links.tracked)
