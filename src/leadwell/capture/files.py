"""Checking uploaded files by what they contain, never by their name or the type the browser claims.

PDFs are opened with pypdf to count their pages (an encrypted or broken one is refused, since the
hosted reader could not show it); EPUBs must be zip archives whose ``mimetype`` entry says so;
videos and images are recognised by their first bytes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
import zipfile
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from leadwell.errors import InvalidInput

MAX_IMAGE_BYTES = 2 * 1024 * 1024
# pypdf logs its repairs of slightly damaged files as warnings; whether the pages count decides.
logging.getLogger("pypdf").setLevel(logging.ERROR)
EPUB_MIMETYPE = b"application/epub+zip"
IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


@dataclass(frozen=True)
class CheckedFile:
    """An accepted upload: its bytes, their type as found, size, digest and (documents) page count."""

    content: bytes
    content_type: str
    file_name: str
    sha256: str
    pages: int | None = None

    @property
    def size(self) -> int:
        return len(self.content)


def _checked(content: bytes, content_type: str, file_name: str, pages: int | None = None) -> CheckedFile:
    digest = hashlib.sha256(content).hexdigest()
    return CheckedFile(content, content_type, safe_file_name(file_name), digest, pages)


def safe_file_name(name: str) -> str:
    """The last part of an uploaded file's name, without control characters, at most 200 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(char for char in base if char.isprintable()).strip()
    return cleaned[-200:] or "upload"


def _check_size(content: bytes, limit: int, field: str) -> None:
    if not content:
        raise InvalidInput(f"{field}: the file is empty", field=field)
    if len(content) > limit:
        raise InvalidInput(
            f"{field}: the file is {len(content):,} bytes; the limit is {limit:,} bytes", field=field
        )


def pdf_page_count(content: bytes, field: str = "file") -> int:
    """The number of pages of a readable, unencrypted PDF; :class:`InvalidInput` saying why not."""
    if not content.startswith(b"%PDF-"):
        raise InvalidInput(f"{field}: not a PDF (a PDF starts with %PDF-)", field=field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(content))
            encrypted = reader.is_encrypted
            pages = 0 if encrypted else len(reader.pages)
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError):
        raise InvalidInput(f"{field}: the PDF is damaged and cannot be read", field=field) from None
    if encrypted:
        raise InvalidInput(
            f"{field}: the PDF is encrypted (password-protected); save an unprotected copy", field=field
        )
    if pages < 1:
        raise InvalidInput(f"{field}: the PDF has no pages", field=field)
    return pages


def check_pdf(content: bytes, file_name: str, limit: int, field: str = "file") -> CheckedFile:
    """An uploaded PDF, checked and with its page count."""
    _check_size(content, limit, field)
    return _checked(content, "application/pdf", file_name, pdf_page_count(content, field))


def check_epub(content: bytes, file_name: str, limit: int, field: str = "file") -> CheckedFile:
    """An uploaded EPUB: a zip archive whose ``mimetype`` entry is ``application/epub+zip``."""
    _check_size(content, limit, field)
    if not content.startswith(b"PK\x03\x04"):
        raise InvalidInput(f"{field}: not an EPUB (an EPUB is a zip archive)", field=field)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if "mimetype" not in archive.namelist():
                raise InvalidInput(f"{field}: not an EPUB: the archive has no mimetype entry", field=field)
            declared = archive.read("mimetype").strip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError):
        raise InvalidInput(f"{field}: the EPUB's zip archive is damaged", field=field) from None
    if declared != EPUB_MIMETYPE:
        raise InvalidInput(
            f"{field}: not an EPUB: its mimetype says {declared[:60].decode('latin-1')!r}", field=field
        )
    return _checked(content, "application/epub+zip", file_name)


def video_type(content: bytes) -> str | None:
    """``video/mp4`` or ``video/webm`` from the first bytes, else None."""
    if len(content) >= 12 and content[4:8] == b"ftyp":
        return "video/mp4"
    if content.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def check_video(content: bytes, file_name: str, limit: int, field: str = "file") -> CheckedFile:
    """An uploaded MP4 or WebM video."""
    _check_size(content, limit, field)
    found = video_type(content)
    if found is None:
        raise InvalidInput(f"{field}: not an MP4 or WebM video", field=field)
    return _checked(content, found, file_name)


def image_type(content: bytes) -> str | None:
    """The type of a PNG, JPEG, GIF or WebP image from its first bytes, else None."""
    for magic, found in IMAGE_TYPES.items():
        if content.startswith(magic):
            return found
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(content: bytes, file_name: str, field: str = "image") -> CheckedFile:
    """An uploaded landing page image: PNG, JPEG, WebP or GIF, at most 2 MiB."""
    _check_size(content, MAX_IMAGE_BYTES, field)
    found = image_type(content)
    if found is None:
        raise InvalidInput(f"{field}: not a PNG, JPEG, WebP or GIF image", field=field)
    return _checked(content, found, file_name)
