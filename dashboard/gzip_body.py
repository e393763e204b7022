"""WSGI middleware: accept ``Content-Encoding: gzip`` request bodies (the comet_ml SDK sends
them), decompressing with a cap so a small bomb can't exhaust memory."""
from __future__ import annotations

import io
import zlib


class GzipRequestBody:
    def __init__(self, wsgi_app, max_bytes: int):
        self.wsgi_app = wsgi_app
        self.max_bytes = max_bytes

    def __call__(self, environ, start_response):
        if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
            try:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                body = d.decompress(raw, self.max_bytes + 1)
                if len(body) > self.max_bytes or d.unconsumed_tail:
                    return self._reply(start_response, "413 Request Entity Too Large",
                                       b'{"error": "Decompressed body too large", "status": 413}')
            except zlib.error:
                return self._reply(start_response, "400 Bad Request",
                                   b'{"error": "Body is not valid gzip", "status": 400}')
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_CONTENT_ENCODING"]
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _reply(start_response, status: str, body: bytes):
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
