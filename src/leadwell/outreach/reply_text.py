"""The reply's own words: what someone wrote above the quoted history and their signature.

Best effort over the shapes mail programs give replies: Gmail's and Apple Mail's "On … wrote:"
line (also in French, German, Spanish, Italian, Dutch, Portuguese and Scandinavian languages),
Outlook's "-----Original Message-----" or underline followed by a "From: … Sent: …" block, lines
quoted with ">", and signatures after "-- " or "Sent from my iPhone". Interleaved answers inside
the quote are cut along with it; the snippet is a reminder of the reply, the message itself stays
in the mailbox.
"""

from __future__ import annotations

import re

SNIPPET_CHARS = 500
# "On Wed, 3 Dec 2025 at 10:15, Ada Lovelace <ada@example.com> wrote:" and its translations
# ("Am 03.12.2025 um 10:15 schrieb Ada <…>:"); Gmail may wrap it over two lines, so two joined
# lines are tried too.
ATTRIBUTION = re.compile(
    r"^\s*(?:on|le|am|el|il|op|em|den|på)\s.{0,300}?"
    r"(?:wrote|a écrit|schrieb|escribió|ha scritto|schreef|escreveu|skrev)(?:\s.{0,200})?:\s*$",
    re.IGNORECASE,
)
ORIGINAL_MESSAGE = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original)"
    r"\s*-{2,}|_{10,})\s*$",
    re.IGNORECASE,
)
HEADER_BLOCK_START = re.compile(r"^\s*\*?(?:from|von|de|da|van|från)\s*\*?\s*:\s*\S", re.IGNORECASE)
HEADER_BLOCK_NEXT = re.compile(
    r"^\s*\*?(?:sent|date|gesendet|envoyé|enviado|inviato|verzonden|skickat|to|an|à|para|a|aan)\s*\*?\s*:",
    re.IGNORECASE,
)
SIGNATURE = re.compile(
    r"^\s*(?:--\s*|sent from my \w.*|sent from (?:outlook|mail for windows|yahoo mail).*|"
    r"get outlook for \w.*|envoyé de mon \w.*|von meinem \w.* gesendet)$",
    re.IGNORECASE,
)


def own_text(text: str) -> str:
    """``text`` up to where the quoted history or the signature starts, quoted lines dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _history_starts(lines, index) or SIGNATURE.match(line):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _history_starts(lines: list[str], index: int) -> bool:
    line = lines[index]
    if ATTRIBUTION.match(line) or ORIGINAL_MESSAGE.match(line):
        return True
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if line.strip() and len(line) < 300 and ATTRIBUTION.match(f"{line.rstrip()} {following.strip()}"):
        return True
    if HEADER_BLOCK_START.match(line):
        return any(HEADER_BLOCK_NEXT.match(after) for after in lines[index + 1 : index + 5])
    return False


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The first words of the reply's own text, blank lines squeezed, at most ``limit`` characters."""
    lines = [" ".join(line.split()) for line in own_text(text).split("\n")]
    squeezed: list[str] = []
    for line in lines:
        if line or (squeezed and squeezed[-1]):
            squeezed.append(line)
    joined = "\n".join(squeezed).strip()
    if len(joined) <= limit:
        return joined
    return joined[: limit - 1].rstrip() + "…"
