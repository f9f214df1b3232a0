"""Text out of untrusted mail: headers decoded, addresses and Message-IDs picked out, parts decoded
whatever their charset, HTML turned into readable lines. Nothing here raises on odd input; what
cannot be read comes back empty. Results are safe to store: no NUL characters, no lone surrogates."""

from __future__ import annotations

import re
from email.header import Header, decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from html.parser import HTMLParser

MAX_ID = 250
MAX_ADDRESS = 320
MAX_PART_BYTES = 2 * 1024 * 1024  # of one text part: a reply's words are in its first pages
ANGLE_ID = re.compile(r"<([^<>\s]{1,250})>")
ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9.\-\[\]:]{1,255}$")
# Markup whose content is never text to read, and blocks that quote an earlier message (Gmail's
# gmail_quote, Apple Mail's blockquote, Outlook's divRplyFwdMsg / appendonsend and what follows).
SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "blockquote"})
QUOTE_MARKERS = ("gmail_quote", "divrplyfwdmsg", "appendonsend", "moz-cite-prefix", "yahoo_quoted")
BLOCK_TAGS = frozenset(
    {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr", "pre"}
)


def clean(text: str) -> str:
    """``text`` safe to store: undecodable bytes (kept as surrogates by the parser) replaced, NULs gone."""
    safe = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    safe = safe.encode("utf-8", "replace").decode("utf-8")  # any lone surrogate left over
    return safe.replace("\x00", "")


def _chunk_text(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    try:
        return chunk.decode(charset if charset and charset != "unknown-8bit" else "utf-8", "replace")
    except LookupError:
        return chunk.decode("utf-8", "replace")


def header_text(value: object) -> str:
    """A header's value as readable text, RFC 2047 encoded words decoded ("" when absent). Raw
    8-bit bytes in a header (RFC 6532 mail) are read as UTF-8."""
    if value is None:
        return ""
    if isinstance(value, Header):  # the parser's wrapping of 8-bit bytes it could not decode
        try:
            value = "".join(_chunk_text(chunk, charset) for chunk, charset in decode_header(value))
        except (ValueError, LookupError, UnicodeError, TypeError, AssertionError):
            value = ""
    raw = clean(str(value))
    try:
        decoded = str(make_header(decode_header(raw)))
    except (ValueError, LookupError, UnicodeError, TypeError, AssertionError):
        decoded = raw
    return clean(" ".join(decoded.split()))


def plain_address(value: str | None) -> str | None:
    """The bare address in ``value`` (``Ada <ada@x.example>`` → ``ada@x.example``), lower-cased;
    None when there is no plausible one."""
    found = addresses(value)
    return found[0] if found else None


def addresses(value: str | None) -> list[str]:
    """Every plausible address in a header value, lower-cased, in order."""
    if not value:
        return []
    try:
        pairs = getaddresses([clean(value)])
    except (ValueError, TypeError, IndexError, AttributeError):
        return []
    found = []
    for _name, address in pairs:
        address = address.strip().strip("<>").lower()
        if len(address) <= MAX_ADDRESS and ADDRESS.match(address):
            found.append(address)
    return found


def message_ids(value: object) -> tuple[str, ...]:
    """The Message-IDs in an In-Reply-To, References or Message-ID value, without angle
    brackets, in order; a bare value without brackets counts as one."""
    if value is None:
        return ()
    text = clean(str(value))
    found = ANGLE_ID.findall(text)
    if found:
        return tuple(found)
    bare = text.strip()
    return (bare,) if bare and len(bare) <= MAX_ID and not any(c.isspace() for c in bare) else ()


def part_text(part: Message) -> str:
    """A leaf part's text, decoded from its transfer encoding and charset ("" when it has none)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a part the email package cannot take apart: there is no text to read
        return ""
    if not isinstance(payload, bytes):
        return ""
    payload = payload[:MAX_PART_BYTES]
    charset = "utf-8"
    try:
        charset = str(part.get_content_charset() or "utf-8")
        text = payload.decode(charset, "replace")
    except (LookupError, ValueError, TypeError):
        text = payload.decode("utf-8", "replace")
    return clean(text)


class _TextOfHtml(HTMLParser):
    """Collects the text of an HTML body, leaving out scripts, styles and quoted history."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0
        self.quoted = False  # Outlook's reply marker: everything after it is the earlier message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        marks = " ".join(value or "" for name, value in attrs if name in ("class", "id")).lower()
        if any(marker in marks for marker in QUOTE_MARKERS):
            self.quoted = True
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        if tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1
        if tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping and not self.quoted:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Readable lines from an HTML body, without what it quotes of earlier messages."""
    parser = _TextOfHtml()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read
        pass
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).splitlines())
    return clean("\n".join(lines))
