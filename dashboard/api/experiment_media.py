"""Images and audio of an experiment, served inline for the experiment page (<img>, <audio>).

Only files whose bytes are a known image (raster, or SVG as matplotlib and Plotly write it for
``log_figure``) or audio format are served, with that exact content type, ``nosniff`` and a
sandboxing CSP (an SVG opened on its own runs no script); everything else stays download-only
through the assets route. Access: whoever may read the project (session, API key, share link, public).
"""
from __future__ import annotations

import re

from flask import Response

from dashboard import context
from dashboard.api import public_route, stored_file
from dashboard.errors import NotFound
from dashboard.services import assets, experiment_page, experiments

MEDIA_TYPES = ("image", "audio")
SNIFF_BYTES = 4096
# An SVG document: an optional BOM, XML declaration, comments and doctype, then the svg element.
_SVG_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*"
                        rb"(?:<!DOCTYPE\s+svg[^>]*>\s*)?(?:<!--.*?-->\s*)*<svg[\s>]", re.DOTALL)


def sniff(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if _SVG_START.match(head):
        return "image/svg+xml"
    return None


@public_route("/experiments/<key>/media/<asset_id>", methods=["GET"])
def experiment_media(key: str, asset_id: str):
    actor = context.current_actor()
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        asset = experiment_page.get_asset(s, exp, asset_id)
        if asset.type not in MEDIA_TYPES:
            raise NotFound("No inline media for this asset")
        name = assets.stored_name(asset)
    mimetype = sniff(assets.store(context.settings()).read(name, SNIFF_BYTES))
    if mimetype is None:
        raise NotFound("No inline media for this asset")
    # streamed from the store, never redirected: the page's policy loads media from Halley
    # only, and these headers must reach the browser
    response: Response = stored_file(name, mimetype, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Nothing loads or runs; an SVG opened on its own may apply its own styles.
    response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; sandbox"
                                                   if mimetype == "image/svg+xml" else "default-src 'none'; sandbox")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
