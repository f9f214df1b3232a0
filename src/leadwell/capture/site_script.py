"""The tracking script a site embeds, with its settings filled in.

The script's text lives in ``web/static/tracker.js`` with placeholders; values go in as JSON with
``<``, ``>`` and ``&`` escaped, so nothing a site's settings hold can end the script or open a tag.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "web" / "static" / "tracker.js"


@lru_cache(maxsize=1)
def _template() -> str:
    return SCRIPT.read_text()


def js_literal(value: object) -> str:
    """``value`` as a JavaScript literal that is safe anywhere in a script."""
    text = json.dumps(value)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render(base_url: str, site_key: str, domains: list[str]) -> str:
    """The script for one site, talking to leadwell at ``base_url``."""
    # The placeholders are quoted in the template so that it stays valid JavaScript on its own;
    # each is replaced, quotes and all, by a complete literal.
    return (
        _template()
        .replace('"__LEADWELL_BASE__"', js_literal(base_url))
        .replace('"__LEADWELL_SITE__"', js_literal(site_key))
        .replace("__LEADWELL_DOMAINS__", js_literal(domains))
    )
