"""Markdown to HTML for the page, server-side with markdown-it-py (CommonMark and tables).

Raw HTML in a document is shown as text, never passed through: what a model read off a
photo is not trusted markup. Links keep markdown-it's own check (no `javascript:` and the
like) and open in a new tab without a referrer.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])

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
