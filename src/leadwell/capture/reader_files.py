"""Serving an asset's bytes: the type fixed by its kind (never the type an upload claimed), a safe
file name, private caching, and single byte ranges so that a video can seek."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from leadwell.db.models import Asset

CACHE = "private, max-age=3600"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
DEFAULT_NAMES = {"pdf": "document.pdf", "epub": "book.epub", "video": "video"}


def served_type(asset: Asset) -> str:
    """The Content-Type to serve ``asset``'s file with."""
    if asset.kind == "pdf":
        return "application/pdf"
    if asset.kind == "epub":
        return "application/epub+zip"
    claimed = (asset.content_type or "").split(";")[0].strip().lower()
    if asset.kind == "video" and re.fullmatch(r"video/[a-z0-9.+-]{1,60}", claimed):
        return claimed
    return "application/octet-stream"


def disposition(asset: Asset, attachment: bool) -> str:
    """A Content-Disposition with an ASCII fallback name and the real one (RFC 6266 / 8187)."""
    name = (asset.file_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = name or DEFAULT_NAMES.get(asset.kind, "file")
    fallback = _UNSAFE_NAME.sub("_", name).strip() or "file"
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """The (first, last) byte of a single satisfiable range; None for no (or an ignored) Range
    header; False for one that cannot be satisfied."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None  # multiple or odd ranges: the whole file is a valid answer
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # the last N bytes
        length = int(last_text)
        return (max(size - length, 0), size - 1) if length and size else False
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or last < first:
        return False
    return first, last


def file_response(request: Request, asset: Asset, content: bytes, attachment: bool) -> Response:
    """``content`` as the response to ``request`` (whole, or the one range it asked for)."""
    headers = {
        "Content-Disposition": disposition(asset, attachment),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": CACHE,
        "Accept-Ranges": "bytes",
    }
    if asset.sha256:
        headers["ETag"] = f'"{asset.sha256}"'
    size = len(content)
    wanted = _byte_range(request.headers.get("range"), size)
    if wanted is False:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    if isinstance(wanted, tuple):
        first, last = wanted
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        return Response(content[first : last + 1], 206, headers=headers, media_type=served_type(asset))
    return Response(content, headers=headers, media_type=served_type(asset))
