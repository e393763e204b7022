"""Images and audio of an experiment, served inline for the experiment page (<img>, <audio>).

Only files whose bytes are a known raster image or audio format are served, with that exact
content type, ``nosniff`` and a sandboxing CSP; everything else stays download-only through the
assets route. Access: whoever may read the project (session, API key, share link, public).
"""
from __future__ import annotations

from flask import Response, send_file

from dashboard import context
from dashboard.api import public_route
from dashboard.errors import NotFound
from dashboard.services import experiment_page, experiments

MEDIA_TYPES = ("image", "audio")


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
    return None


@public_route("/experiments/<key>/media/<asset_id>", methods=["GET"])
def experiment_media(key: str, asset_id: str):
    actor = context.current_actor()
    assets_dir = context.settings().assets_dir
    with context.db().session() as s:
        exp = experiments.get_readable(s, actor, key)
        asset = experiment_page.get_asset(s, exp, asset_id)
        if asset.type not in MEDIA_TYPES:
            raise NotFound("No inline media for this asset")
        path = experiment_page.asset_file(assets_dir, asset)
    try:
        with open(path, "rb") as fh:
            mimetype = sniff(fh.read(16))
    except OSError as exc:
        raise NotFound("Asset file not found") from exc
    if mimetype is None:
        raise NotFound("No inline media for this asset")
    response: Response = send_file(path, mimetype=mimetype, conditional=True, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
