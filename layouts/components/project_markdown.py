"""Markdown rendered safely: markdown-it-py parses (raw HTML disabled, unsafe links refused)
and the syntax tree becomes Dash components, so no HTML string ever reaches the page."""
from __future__ import annotations

from urllib.parse import urlparse

from dash import html
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")

SAFE_SCHEMES = {"http", "https", "mailto", ""}
BLOCK_TAGS = {
    "paragraph": html.P, "blockquote": html.Blockquote, "bullet_list": html.Ul, "ordered_list": html.Ol,
    "list_item": html.Li, "table": html.Table, "thead": html.Thead, "tbody": html.Tbody, "tr": html.Tr,
    "em": html.Em, "strong": html.Strong, "s": html.S,
}
HEADINGS = {"h1": html.H1, "h2": html.H2, "h3": html.H3, "h4": html.H4, "h5": html.H5, "h6": html.H6}


def safe_url(url: str | None) -> str | None:
    url = (url or "").strip()
    if not url or any(ord(c) < 32 for c in url):
        return None
    return url if urlparse(url).scheme.lower() in SAFE_SCHEMES else None


def _children(node: SyntaxTreeNode) -> list:
    out = []
    for child in node.children:
        rendered = _render(child)
        if isinstance(rendered, list):
            out.extend(rendered)
        elif rendered is not None:
            out.append(rendered)
    return out


def _render(node: SyntaxTreeNode):
    t = node.type
    if t in ("root", "inline"):
        return _children(node)
    if t == "text":
        return node.content
    if t == "softbreak":
        return " "
    if t == "hardbreak":
        return html.Br()
    if t == "code_inline":
        return html.Code(node.content)
    if t in ("fence", "code_block"):
        return html.Pre(html.Code(node.content))
    if t == "hr":
        return html.Hr()
    if t == "heading":
        return HEADINGS.get(node.tag, html.H6)(_children(node))
    if t in ("th", "td"):
        return (html.Th if t == "th" else html.Td)(_children(node))
    if t == "link":
        href = safe_url(node.attrGet("href"))
        if href is None:
            return html.Span(_children(node))
        return html.A(_children(node), href=href, target="_blank", rel="noopener noreferrer nofollow")
    if t == "image":
        src = safe_url(node.attrGet("src"))
        alt = "".join(c.content for c in node.children if c.type == "text")
        return html.Img(src=src, alt=alt, className="img-fluid") if src else html.Span(alt)
    if t in BLOCK_TAGS:
        return BLOCK_TAGS[t](_children(node))
    if node.children:
        return _children(node)
    return node.content or None


def render_markdown(text: str | None, id: str | None = None, empty: str = "Nothing here yet."):
    """The markdown as Dash components (all text escaped by React)."""
    body = _children(SyntaxTreeNode(_md.parse(text or ""))) if (text or "").strip() else [
        html.P(empty, className="text-muted")]
    kwargs = {"id": id} if id else {}
    return html.Div(body, className="project-markdown", **kwargs)
