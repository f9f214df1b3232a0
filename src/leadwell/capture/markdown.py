"""Markdown for landing pages, rendered so that a page body can never carry script.

CommonMark with raw HTML switched off (a ``<script>`` in the body shows as text), links only to
http, https and mailto addresses or to paths on this site (anything else stays plain text), and
images only from the page itself: its own uploaded image. A picture from elsewhere would let the
page's author track its readers, and the page's security policy would block it anyway; it is shown
as its alternative text instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
# How an author refers to the page's own image in its body: ``![Cover](image)``.
OWN_IMAGE_NAMES = frozenset({"image", "./image"})


def safe_link(url: str) -> bool:
    """Whether ``url`` may be a link target: http(s), mailto, or a relative path or anchor."""
    text = url.strip()
    if not text or any(ord(char) < 32 for char in text):
        return False
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        return False
    # No scheme: a path or anchor relative to the page, which stays on this site.
    return scheme in LINK_SCHEMES or not scheme


class _PageMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        return safe_link(url)


def _image_rule(own_image: str | None) -> Any:
    """The image renderer: the page's own image, or the alternative text for anything else."""

    def render_image(
        renderer: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType
    ) -> str:
        token = tokens[index]
        source = str(token.attrGet("src") or "")
        if own_image is None or (source not in OWN_IMAGE_NAMES and source != own_image):
            return escapeHtml(renderer.renderInlineAsText(token.children or [], options, env))
        token.attrSet("src", own_image)
        return str(renderer.image(tokens, index, options, env))

    return render_image


def _link_rule(
    renderer: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType
) -> str:
    """Links leave with no referrer detail and no claim on the page's ranking."""
    token = tokens[index]
    href = str(token.attrGet("href") or "")
    if not href.startswith(("/", "#")):
        token.attrSet("rel", "nofollow noopener noreferrer")
    return renderer.renderToken(tokens, index, options, env)


def render_markdown(text: str, own_image: str | None = None) -> str:
    """``text`` as safe HTML; ``own_image`` is the URL of the page's image, when it has one."""
    parser = _PageMarkdown("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.add_render_rule("image", _image_rule(own_image))
    parser.add_render_rule("link_open", _link_rule)
    return str(parser.render(text))
