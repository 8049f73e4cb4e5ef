"""Markdown to HTML for the page, server-side with markdown-it-py (CommonMark and tables).

Raw HTML in a document is shown as text, never passed through: what a model read off a
photo is not trusted markup. The one exception is what our own notes documents wrap each
page's raw OCR in, `<details><summary>…</summary>` and `</details>` exactly (a summary's
text without any markup). Links keep markdown-it's own check (no `javascript:` and the
like) and open in a new tab without a referrer.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

# The raw-OCR fold of a notes document, and nothing else.
FOLD = re.compile(r"(?:\s*(?:<details>|</details>|<summary>[^<>&]*</summary>))+\s*")


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])

    def html_block(
        renderer: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        content = tokens[idx].content
        return content if FOLD.fullmatch(content) else escapeHtml(content)

    def html_inline(
        renderer: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return escapeHtml(tokens[idx].content)

    md.add_render_rule("html_block", html_block)
    md.add_render_rule("html_inline", html_inline)

    def link_open(
        renderer: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> Any:
        tokens[idx].attrSet("target", "_blank")
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def render_markdown(text: str) -> str:
    """HTML of `text` (safe to put in a page as it is)."""
    return str(_parser().render(text))
