"""A round-robin HTTP proxy on loopback for the multi-server test: each request goes to the next
backend in turn (no stickiness), bodies stream through, and every request is recorded with the
backend that answered it."""
from __future__ import annotations

import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
CHUNK = 64 * 1024


class RoundRobinProxy:
    def __init__(self, backends: list[tuple[str, int]]):
        self.backends = backends
        self.served: list[tuple[str, str, int]] = []  # (method, path, backend index)
        turns = itertools.cycle(range(len(backends)))
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                with lock:
                    index = next(turns)
                    proxy.served.append((self.command, self.path, index))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(*proxy.backends[index], timeout=300)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    self.send_response(answer.status, answer.reason)
                    bodiless = self.command == "HEAD" or answer.status in (204, 304)
                    sized = bodiless or answer.getheader("Content-Length") is not None
                    for k, v in answer.getheaders():
                        if k.lower() not in HOP_BY_HOP:
                            self.send_header(k, v)
                    if not sized:
                        self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    while not bodiless and (chunk := answer.read1(CHUNK)):
                        self.wfile.write(chunk if sized else b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    if not sized:
                        self.wfile.write(b"0\r\n\r\n")
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def backends_of(self, fragment: str) -> set[int]:
        """The backends that answered requests whose path contains ``fragment``."""
        return {index for _, path, index in list(self.served) if fragment in path}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
