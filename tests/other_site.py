"""Another web server on this machine, on its own port of 127.0.0.1: the page of another site
for cross-site tests, or a remote host that notes may point images at.

It serves fixed responses by path and records every request it gets, so a test can tell
that a browser called it (or never did).
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class OtherSite:
    def __init__(self):
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                site.hits.append(self.path)
                content_type, body = site.pages.get(self.path.split("?", 1)[0], ("text/plain", b"not found"))
                self.send_response(200 if self.path.split("?", 1)[0] in site.pages else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def serve(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8") -> str:
        self.pages[path] = (content_type, body.encode() if isinstance(body, str) else body)
        return self.url + path

    def __enter__(self) -> "OtherSite":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
