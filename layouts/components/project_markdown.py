"""Markdown rendered safely: markdown-it-py parses (raw HTML disabled, unsafe links refused)
and the syntax tree becomes Dash components, so no HTML string ever reaches the page.

Images show inline only from Halley itself (relative URLs) and from the hosts listed in
HALLEY_NOTE_IMAGE_HOSTS; any other image becomes a link with its alt text, so reading notes
makes the reader's browser call no other server.
"""
from __future__ import annotations

from urllib.parse import urlparse

from dash import html
from flask import has_app_context
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from dashboard import context

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


def shows_inline(src: str) -> bool:
    """Whether an image URL (already checked by ``safe_url``) is Halley's own or on an allowed host."""
    if "\\" in src:  # browsers read "\\" as "/": "/\\host" would be another server
        return False
    parsed = urlparse(src)
    if not parsed.scheme and not parsed.netloc and not src.startswith("//"):
        return True
    hosts = context.settings().note_image_hosts if has_app_context() else ()
    return any(host.serves(src) for host in hosts)


def _image(node: SyntaxTreeNode, in_link: bool):
    src = safe_url(node.attrGet("src"))
    alt = "".join(c.content for c in node.children if c.type == "text")
    if src and shows_inline(src):
        return html.Img(src=src, alt=alt, className="img-fluid")
    if not src or in_link:  # a link can't hold another link: its text stands for the image
        return html.Span(alt)
    return html.A([html.I(className="bi bi-image me-1"), alt or src], href=src, title=src, target="_blank",
                  rel="noopener noreferrer nofollow", className="project-markdown-image-link")


def _children(node: SyntaxTreeNode, in_link: bool = False) -> list:
    out = []
    for child in node.children:
        rendered = _render(child, in_link)
        if isinstance(rendered, list):
            out.extend(rendered)
        elif rendered is not None:
            out.append(rendered)
    return out


def _render(node: SyntaxTreeNode, in_link: bool = False):
    t = node.type
    if t in ("root", "inline"):
        return _children(node, in_link)
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
        return HEADINGS.get(node.tag, html.H6)(_children(node, in_link))
    if t in ("th", "td"):
        return (html.Th if t == "th" else html.Td)(_children(node, in_link))
    if t == "link":
        href = safe_url(node.attrGet("href"))
        if href is None:
            return html.Span(_children(node, in_link))
        return html.A(_children(node, True), href=href, target="_blank", rel="noopener noreferrer nofollow")
    if t == "image":
        return _image(node, in_link)
    if t in BLOCK_TAGS:
        return BLOCK_TAGS[t](_children(node, in_link))
    if node.children:
        return _children(node, in_link)
    return node.content or None


def render_markdown(text: str | None, id: str | None = None, empty: str = "Nothing here yet."):
    """The markdown as Dash components (all text escaped by React)."""
    body = _children(SyntaxTreeNode(_md.parse(text or ""))) if (text or "").strip() else [
        html.P(empty, className="text-muted")]
    kwargs = {"id": id} if id else {}
    return html.Div(body, className="project-markdown", **kwargs)
